"""Tests of rediscovery.higgs.classifiers.metrics against hand computations and independent
libraries."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats
from sklearn.calibration import calibration_curve as sk_calibration_curve
from sklearn.metrics import roc_auc_score

from rediscovery.core.errors import ConfigError, InputError
from rediscovery.higgs.classifiers import metrics as m


def _toy(n: int = 2000, seed: int = 1, sep: float = 1.0):
    """Gaussian scores squashed to (0, 1), physics-like weights (rare heavy signal)."""
    rng = np.random.default_rng(seed)
    y = rng.random(n) < 0.4
    x = rng.normal(np.where(y, sep, 0.0), 1.0)
    scores = 1.0 / (1.0 + np.exp(-x))
    w = np.where(y, rng.uniform(0.001, 0.01, n), rng.uniform(0.5, 2.0, n))
    return scores, w, y.astype(np.int8)


# ------------------------------------------------------------------------------------- AMS


def test_ams_hand_computed():
    # HiggsML documentation v1.8 eq. (7) by hand: s=10, b=90, b_reg=10 -> b+b_reg = 100,
    # AMS = sqrt(2 (110 ln 1.1 - 10)) = sqrt(2 * 0.4841197783) = 0.983991
    assert m.ams(10.0, 90.0) == pytest.approx(0.9839916, abs=1e-6)
    assert m.ams(10.0, 90.0) == pytest.approx(math.sqrt(2 * (110 * math.log(1.1) - 10)), rel=1e-14)
    # no signal -> zero significance
    assert m.ams(0.0, 50.0) == 0.0
    # b_reg = 0: the Asimov formula of Cowan et al. 2011 eq. 97
    s, b = 25.0, 400.0
    z = math.sqrt(2 * ((s + b) * math.log(1 + s / b) - s))
    assert m.ams(s, b, b_reg=0.0) == pytest.approx(z, rel=1e-13)


def test_ams_small_signal_limit_and_vectorised():
    # s << b: AMS -> s / sqrt(b + b_reg) (first order of the expansion of eq. 7)
    s, b = 1e-3, 1e6
    assert m.ams(s, b) == pytest.approx(s / math.sqrt(b + 10.0), rel=1e-6)
    sv = np.array([1.0, 10.0, 100.0])
    bv = np.array([100.0, 1000.0, 1e4])
    out = m.ams(sv, bv)
    assert isinstance(out, np.ndarray) and out.shape == (3,)
    for si, bi, oi in zip(sv, bv, out, strict=True):
        assert oi == pytest.approx(m.ams(float(si), float(bi)), rel=1e-15)


@pytest.mark.parametrize(
    ("s", "b", "b_reg"), [(-1.0, 10.0, 10.0), (1.0, -2.0, 10.0), (np.nan, 1.0, 10.0),
                          (1.0, 0.0, 0.0), (1.0, 1.0, -1.0)]
)
def test_ams_bad_input(s, b, b_reg):
    with pytest.raises(InputError):
        m.ams(s, b, b_reg=b_reg)


def test_ams_curve_hand_example():
    scores = [0.9, 0.8, 0.7, 0.6]
    labels = [1, 0, 1, 0]
    weights = [5.0, 100.0, 3.0, 50.0]
    c = m.ams_curve(scores, weights, labels)
    t, a = c  # unpacks as (thresholds, ams)
    np.testing.assert_array_equal(t, [0.9, 0.8, 0.7, 0.6])
    expect = [m.ams(5, 0), m.ams(5, 100), m.ams(8, 100), m.ams(8, 150)]
    np.testing.assert_allclose(a, expect, rtol=1e-14)
    assert c.best_threshold == 0.9 and c.best_ams == pytest.approx(max(expect))
    assert (c.s, c.b) == (5.0, 0.0)
    assert m.best_ams(scores, weights, labels) == (c.best_threshold, c.best_ams)


def test_ams_curve_matches_brute_force_with_ties():
    s, w, y = _toy(600, seed=3)
    s = np.round(s, 2)  # many ties: all tied events are in or out together
    c = m.ams_curve(s, w, y)
    for t, a in zip(c.threshold, c.ams, strict=True):
        sel = s >= t
        ref = m.ams(w[sel & (y == 1)].sum(), w[sel & (y == 0)].sum())
        assert a == pytest.approx(ref, rel=1e-10, abs=1e-12)
    assert len(c.threshold) == len(np.unique(s))


def test_significance_curve_consistent():
    s, w, y = _toy(500, seed=4)
    c = m.significance_curve(s, w, y)
    assert c.signal_efficiency[-1] == pytest.approx(1.0)
    assert c.background_efficiency[-1] == pytest.approx(1.0)
    assert np.all(np.diff(c.s) >= -1e-12) and np.all(np.diff(c.b) >= -1e-12)
    pos = c.b > 0
    np.testing.assert_allclose(c.s_over_sqrt_b[pos], c.s[pos] / np.sqrt(c.b[pos]))
    # Asimov Z -> s / sqrt(b) for s << b
    small = pos & (c.s < 1e-3 * c.b)
    np.testing.assert_allclose(c.z_asimov[small], c.s_over_sqrt_b[small], rtol=1e-3)


# ------------------------------------------------------------------------------------- ROC


@pytest.mark.parametrize("ties", [False, True])
def test_weighted_auc_matches_sklearn(ties):
    s, w, y = _toy(3000, seed=5)
    if ties:
        s = np.round(s, 1)
    assert m.weighted_auc(s, w, y) == pytest.approx(
        roc_auc_score(y, s, sample_weight=w), rel=1e-12
    )


def test_weighted_auc_equals_replicated_events():
    # integer weights == repeating events (AUC is a ratio of weighted pair counts)
    rng = np.random.default_rng(6)
    s = rng.random(200)
    y = (rng.random(200) < 0.5).astype(int)
    k = rng.integers(1, 4, 200)
    assert m.weighted_auc(s, k.astype(float), y) == pytest.approx(
        roc_auc_score(np.repeat(y, k), np.repeat(s, k)), rel=1e-12
    )


def test_weighted_roc_endpoints():
    s, w, y = _toy(300)
    fpr, tpr, thr = m.weighted_roc(s, w, y)
    assert (fpr[0], tpr[0], thr[0]) == (0.0, 0.0, np.inf)
    assert fpr[-1] == pytest.approx(1.0) and tpr[-1] == pytest.approx(1.0)
    assert np.all(np.diff(fpr) >= -1e-15)


def test_perfect_and_random_auc():
    y = np.r_[np.zeros(100), np.ones(100)]
    assert m.weighted_auc(np.r_[np.zeros(100), np.ones(100)], np.ones(200), y) == 1.0
    assert m.weighted_auc(np.full(200, 0.5), np.ones(200), y) == 0.5


@pytest.mark.parametrize(
    "bad",
    [
        dict(scores=[], weights=[], labels=[]),
        dict(scores=[0.1, 0.2], weights=[1.0], labels=[0, 1]),
        dict(scores=[0.1, 0.2], weights=[1.0, np.nan], labels=[0, 1]),
        dict(scores=[0.1, np.nan], weights=[1.0, 1.0], labels=[0, 1]),
        dict(scores=[0.1, 0.2], weights=[1.0, 1.0], labels=[0, 2]),
        dict(scores=[0.1, 0.2], weights=[1.0, 1.0], labels=[1, 1]),
    ],
)
def test_bad_inputs_raise(bad):
    with pytest.raises(InputError):
        m.weighted_auc(**bad)


# ----------------------------------------------------------------------------- overtraining


def test_weighted_ks_unit_weights_equals_scipy():
    rng = np.random.default_rng(7)
    a, b = rng.normal(0, 1, 400), rng.normal(0.2, 1, 500)
    r = m.weighted_ks(a, np.ones(400), b, np.ones(500))
    ref = stats.ks_2samp(a, b, method="asymp")
    assert r.statistic == pytest.approx(ref.statistic, rel=1e-12)
    assert r.pvalue == pytest.approx(ref.pvalue, rel=1e-6)
    assert (r.n_eff1, r.n_eff2) == (pytest.approx(400), pytest.approx(500))


def test_weighted_ks_integer_weights_equal_replication():
    rng = np.random.default_rng(8)
    a, b = rng.random(100), rng.random(120)
    ka, kb = rng.integers(1, 4, 100), rng.integers(1, 4, 120)
    r = m.weighted_ks(a, ka, b, kb)
    assert r.statistic == pytest.approx(
        stats.ks_2samp(np.repeat(a, ka), np.repeat(b, kb)).statistic, rel=1e-12
    )


def test_overtraining_check_same_and_shifted():
    s1, w1, y1 = _toy(2000, seed=9)
    s2, w2, y2 = _toy(2000, seed=10)
    same = m.overtraining_check(s1, w1, y1, s2, w2, y2)
    assert same["signal"].pvalue > 0.001 and same["background"].pvalue > 0.001
    shifted = m.overtraining_check(np.clip(s1 + 0.1 * y1, 0, 1), w1, y1, s2, w2, y2)
    assert shifted["signal"].pvalue < 1e-6


# ----------------------------------------------------------------------------- calibration


def test_calibration_unit_weights_equals_sklearn():
    s, _, y = _toy(3000, seed=11)
    mean_s, frac, wsum = m.calibration_curve(s, np.ones_like(s), y, n_bins=8)
    ref_frac, ref_mean = sk_calibration_curve(y, s, n_bins=8, strategy="uniform")
    np.testing.assert_allclose(mean_s, ref_mean, rtol=1e-12)
    np.testing.assert_allclose(frac, ref_frac, rtol=1e-12)
    assert wsum.sum() == pytest.approx(3000)


def test_calibration_of_calibrated_scores():
    # labels drawn as Bernoulli(score) -> signal fraction equals the mean score in each bin
    rng = np.random.default_rng(12)
    s = rng.random(40_000)
    y = (rng.random(40_000) < s).astype(int)
    mean_s, frac, wsum = m.calibration_curve(s, np.ones_like(s), y, n_bins=10)
    sigma = np.sqrt(frac * (1 - frac) / wsum)
    assert np.all(np.abs(frac - mean_s) < 5 * sigma + 1e-3)


# ---------------------------------------------------------------------------- uncertainties


def _delong_se(s, y):
    """DeLong et al., Biometrics 44 (1988) 837: non-parametric standard error of the AUC."""
    pos, neg = s[y == 1], s[y == 0]
    cmp = (pos[:, None] > neg[None, :]) + 0.5 * (pos[:, None] == neg[None, :])
    v10, v01 = cmp.mean(axis=1), cmp.mean(axis=0)
    return math.sqrt(v10.var(ddof=1) / pos.size + v01.var(ddof=1) / neg.size)


def test_bootstrap_auc_error_matches_delong():
    s, _, y = _toy(1500, seed=13)
    w = np.ones_like(s)
    value, err = m.metric_uncertainty(m.weighted_auc, s, w, y, n=200, seed=1)
    assert value == pytest.approx(roc_auc_score(y, s))
    # 200 replicas -> the bootstrap std is itself known to ~5 %
    assert err == pytest.approx(_delong_se(s, y), rel=0.2)
    value_k, err_k = m.metric_uncertainty(m.weighted_auc, s, w, y, method="kfold", n=10, seed=1)
    assert value_k == value
    assert err_k == pytest.approx(_delong_se(s, y), rel=0.5)  # 10 folds: error known to ~25 %


def test_bootstrap_ams_error_matches_propagation():
    # AMS at a fixed cut: linear propagation of the Poisson-weight variances sum(w^2)
    s, w, y = _toy(4000, seed=14)
    w = np.where(y == 1, w * 50, w)  # a visible signal
    cut = 0.75
    sel = s >= cut
    S, B = w[sel & (y == 1)].sum(), w[sel & (y == 0)].sum()
    vs, vb = (w[sel & (y == 1)] ** 2).sum(), (w[sel & (y == 0)] ** 2).sum()
    h = 1e-6
    dS = (m.ams(S * (1 + h), B) - m.ams(S * (1 - h), B)) / (2 * S * h)
    dB = (m.ams(S, B * (1 + h)) - m.ams(S, B * (1 - h))) / (2 * B * h)
    expected = math.sqrt(dS**2 * vs + dB**2 * vb)

    def ams_at_cut(sc, wt, lab):
        k = sc >= cut
        return m.ams(wt[k & lab].sum(), wt[k & ~lab].sum())

    value, err = m.metric_uncertainty(ams_at_cut, s, w, y, n=300, seed=2)
    assert value == pytest.approx(m.ams(S, B))
    assert err == pytest.approx(expected, rel=0.15)


def test_metric_uncertainty_bad_args():
    s, w, y = _toy(100)
    with pytest.raises(ConfigError, match="at least 2"):
        m.metric_uncertainty(m.weighted_auc, s, w, y, n=1)
    with pytest.raises(InputError):
        m.metric_uncertainty(m.weighted_auc, s, w, y, method="jackknife")  # type: ignore[arg-type]
