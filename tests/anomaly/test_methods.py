"""Each method against the hidden truth of small challenge data sets."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from rediscovery.anomaly import (
    METHODS,
    AutoencoderMethod,
    BumpHuntConfig,
    BumpHuntMethod,
    CWoLaMethod,
    FlowSettings,
    KNNDensityMethod,
)
from rediscovery.anomaly.datasets import ChallengeConfig, simulate_challenge
from rediscovery.anomaly.scoring import MASS_RESOLUTION, MMC_SCALE, score_method, sic_curve
from rediscovery.core.errors import ConfigError, InputError

FEW_TOYS = BumpHuntConfig(n_toys=50)


def test_cwola_ranks_the_resonance_first(resonance_challenge):
    # the classifier of the window holding the X(500) MMC peak (0.88 x 500 GeV) against its
    # flanks ranks the X events first among the events it sees (SR and flanks; inside the SR
    # alone its AUC was 0.65 at this size). (Which window the hunt picks depends on
    # the sculpting correction: test_cwola_claims_no_sculpted_window)
    from rediscovery.anomaly.overdensity import cwola_features, cwola_region_scores

    ch = resonance_challenge
    m = ch.data["DER_mass_MMC"].to_numpy()
    sr = (m >= 370) & (m < 625)
    sb = ((m >= 285) & (m < 370)) | ((m >= 625) & (m < 810))
    s = cwola_region_scores(cwola_features(ch.data, m), sr, sb, folds=3, max_iter=50)
    assert np.isnan(s[~(sr | sb)]).all()
    seen = sr | sb
    assert roc_auc_score(ch.signal_mask()[seen], s[seen]) > 0.7


def test_bump_hunt_points_at_the_resonance(resonance_challenge):
    # formerly failing (a log-quartic from 160 GeV: the best window 200-333 GeV). From 200 GeV
    # with the degree chosen on the spectrum, the best window holds the X(500) MMC peak and the
    # mass estimate is within the resolution; its local Z (1.2 here) is low: the flexible
    # background (degree 6 on this spectrum) takes part of the excess (docs/anomaly.md)
    ch = resonance_challenge
    bump = BumpHuntMethod(bump=FEW_TOYS).fit_score(ch.data, None).bump.summary()
    row = score_method(np.zeros(len(ch.data)), ch.signal_mask(), {"bump": bump}, ch.truth)
    assert row["mass_in_window"]
    assert abs(bump["mass"] - MMC_SCALE * 500) < MASS_RESOLUTION * 500


def test_cwola_claims_no_sculpted_window(resonance_challenge):
    # formerly: the best window 200-333 GeV at local Z 6.4 (global p 0.21), sculpted by the
    # mass dependence of the features. With the reference correcting the sculpting, no window
    # clear of the X(500)'s MMC peak +- its resolution (286-594 GeV) reaches Z 3 (measured:
    # 510-814 GeV, which holds the X's upper tail, at Z 5.6 with 50 selected for 6.8 expected)
    ch = resonance_challenge
    res = CWoLaMethod(max_iter=30, folds=2, step=2, bump=FEW_TOYS).fit_score(ch.data, ch.reference)
    b = res.bump.summary()
    assert res.summary["sculpting_corrected"]
    windows = res.summary["windows"]
    for w in windows:
        peak = MMC_SCALE * 500
        if w["m_hi"] < peak * (1 - MASS_RESOLUTION) or w["m_lo"] > peak * (1 + MASS_RESOLUTION):
            assert w["z_local"] < 3.0, w
    assert b["excess_claimed"] == (b["p_global"] < 0.05)


def test_autoencoder_and_knn_rank_the_outliers_first(outlier_challenge):
    ch = outlier_challenge
    s = ch.signal_mask()
    ae = AutoencoderMethod(epochs=5, bump=FEW_TOYS).fit_score(ch.data, ch.reference)
    assert roc_auc_score(s, ae.scores) > 0.7
    knn = KNNDensityMethod(bump=FEW_TOYS).fit_score(ch.data, ch.reference)
    assert roc_auc_score(s, knn.scores) > 0.7
    assert ae.summary["train_loss"][-1] < ae.summary["train_loss"][0]


def test_no_excess_is_claimed_on_signal_free_data(empty_challenge):
    # formerly global p 0.015 on one signal-free sample. Calibrated: 97 % of 60 samples of
    # this size above 0.05 (benchmarks/anomaly_challenge.py false-discovery); here 8 fresh
    # ones of which at least 7 must claim nothing (P(<= 6 | 0.95) = 0.6 %)
    p = []
    for seed in range(8):
        ch = simulate_challenge(
            ChallengeConfig(signal="none", seed=500 + seed, lumi_factor=0.03, n_reference=100)
        )
        res = BumpHuntMethod(bump=BumpHuntConfig(n_toys=100, seed=seed)).fit_score(ch.data, None)
        p.append(res.bump.p_global)
        assert res.bump.summary()["excess_claimed"] == (res.bump.p_global < 0.05)
    assert sum(v > 0.05 for v in p) >= 7, p
    # the score of the bump-hunt method is the window selection
    lo, hi = res.bump.summary()["window"]
    m = ch.data["DER_mass_MMC"].to_numpy()
    np.testing.assert_array_equal(res.scores == 1, (m >= lo) & (m < hi))


def test_every_method_scores_every_event(resonance_challenge):
    ch = resonance_challenge
    small = ch.data.iloc[:4000]
    for name, cls in METHODS.items():
        opts = {"bump": FEW_TOYS} if name != "isolation-forest" else {}
        if name == "cwola":
            opts.update(max_iter=10, folds=2, step=6)
        if name == "cathode":
            opts.update(max_iter=10, folds=2, step=6, flow=FlowSettings(epochs=1, max_train=500))
        if name == "autoencoder":
            opts.update(epochs=1)
        if name == "parameterised":
            opts.update(n_signal=100, epochs=1, masses=(400.0, 600.0))
        res = cls(**opts).fit_score(small, ch.reference)
        assert res.scores.shape == (4000,) and np.isfinite(res.scores).all(), name
        assert res.name == name


def test_refusals(resonance_challenge):
    ch = resonance_challenge
    with pytest.raises(ConfigError, match="give --reference"):
        KNNDensityMethod().fit_score(ch.data, None)
    with pytest.raises(InputError, match="DER_mass_MMC"):
        BumpHuntMethod().fit_score(ch.data.drop(columns=["DER_mass_MMC"]), None)
    with pytest.raises(ConfigError, match="folds 1"):
        CWoLaMethod(folds=1)
    with pytest.raises(InputError, match="no signal or no background"):
        sic_curve(np.ones(5), np.zeros(5, bool))
