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
    KNNDensityMethod,
)
from rediscovery.anomaly.scoring import MMC_SCALE, score_method, sic_curve
from rediscovery.core.errors import ConfigError, InputError

FEW_TOYS = BumpHuntConfig(n_toys=50)


def test_cwola_ranks_the_resonance_first(resonance_challenge):
    ch = resonance_challenge
    res = CWoLaMethod(max_iter=50, folds=3, step=2, bump=FEW_TOYS).fit_score(ch.data, None)
    assert res.scores.shape == (len(ch.data),)
    assert roc_auc_score(ch.signal_mask(), res.scores) > 0.7


def test_bump_hunt_finds_the_resonance_at_its_mass(resonance_challenge):
    # formerly failing with a log-quartic from 160 GeV (local Z 2.9); the degree is now chosen
    # on the spectrum (a cubic here) and the X(500) window is found
    ch = resonance_challenge
    bump = BumpHuntMethod(bump=FEW_TOYS).fit_score(ch.data, None).bump.summary()
    row = score_method(np.zeros(len(ch.data)), ch.signal_mask(), {"bump": bump}, ch.truth)
    assert row["found"] and row["mass_in_window"]
    assert bump["p_global"] < 0.05


def test_cwola_claims_no_sculpted_window(resonance_challenge):
    # formerly: the best window 200-333 GeV at local Z 6.4 (global p 0.21), sculpted by the
    # mass dependence of the features. With the reference correcting the sculpting, a window
    # away from the X(500) is not claimed
    ch = resonance_challenge
    res = CWoLaMethod(max_iter=30, folds=2, step=2, bump=FEW_TOYS).fit_score(ch.data, ch.reference)
    b = res.bump.summary()
    assert res.summary["sculpting_corrected"]
    windows = res.summary["windows"]
    for w in windows:
        if not w["m_lo"] < MMC_SCALE * 500 < w["m_hi"]:
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
    # formerly global p 0.015 with a fixed log-quartic; the degree chosen on the spectrum
    # (and again on every pseudo-experiment) gives p 0.09. Over 60 such samples the rate is
    # measured in benchmarks/anomaly_challenge.py false-discovery
    res = BumpHuntMethod(bump=BumpHuntConfig(n_toys=200)).fit_score(empty_challenge.data, None)
    assert res.bump.p_global > 0.05
    assert not res.bump.summary()["excess_claimed"]
    # the score of the bump-hunt method is the window selection
    lo, hi = res.bump.summary()["window"]
    m = empty_challenge.data["DER_mass_MMC"].to_numpy()
    np.testing.assert_array_equal(res.scores == 1, (m >= lo) & (m < hi))


def test_every_method_scores_every_event(resonance_challenge):
    ch = resonance_challenge
    small = ch.data.iloc[:4000]
    for name, cls in METHODS.items():
        opts = {"bump": FEW_TOYS} if name != "isolation-forest" else {}
        if name == "cwola":
            opts.update(max_iter=10, folds=2, step=6)
        if name == "autoencoder":
            opts.update(epochs=1)
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
