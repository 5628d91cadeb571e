"""The parameterised supervised classifier against the hidden truth of small challenge sets."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from rediscovery.anomaly import BumpHuntConfig, ParameterisedMethod, simulate_signal_family
from rediscovery.anomaly.overdensity import cwola_features, cwola_region_scores
from rediscovery.anomaly.scoring import MASS_RESOLUTION, MMC_SCALE, sic_curve
from rediscovery.anomaly.supervised import HYPOTHESIS_COLUMN, PARAMETERISED_MASSES
from rediscovery.core.errors import ConfigError, InputError

NO_TOYS = BumpHuntConfig(n_toys=0)


@pytest.fixture(scope="module")
def family():
    """1,000 X → ττ events at each of the six masses 300-800 GeV."""
    return simulate_signal_family(PARAMETERISED_MASSES, 1000, seed=3)


def test_parameterised_beats_cwola_on_the_resonance(resonance_challenge, family):
    # the toy: X(500) at inclusive S/sqrt(B) = 5 in ~12,000 events, 2,000 reference events.
    # CWoLa is given its best case, the window holding the X's MMC peak against its flanks
    # (test_methods.test_cwola_ranks_the_resonance_first); both SICs over those events.
    # Measured: parameterised max SIC 4.4 (AUC 0.99 on all events), CWoLa 1.3; local Z 4.9
    # (the network trained on half of the 2,000 reference events, the other half measuring
    # its efficiency)
    ch = resonance_challenge
    y = ch.signal_mask()
    res = ParameterisedMethod(signal_family=family, bump=NO_TOYS).fit_score(ch.data, ch.reference)
    m = ch.data["DER_mass_MMC"].to_numpy()
    sr = (m >= 370) & (m < 625)
    sb = ((m >= 285) & (m < 370)) | ((m >= 625) & (m < 810))
    seen = sr | sb
    cwola = cwola_region_scores(cwola_features(ch.data, m), sr, sb, folds=3, max_iter=50)
    sic_param = sic_curve(res.scores[seen], y[seen]).sic_max
    sic_cwola = sic_curve(cwola[seen], y[seen]).sic_max
    assert sic_param > sic_cwola, (sic_param, sic_cwola)
    assert roc_auc_score(y, res.scores) > 0.9
    # the excess is found at the hidden mass (MMC units) within the resolution
    b = res.bump.summary()
    assert b["z_local"] > 3 and b["excess_claimed"]
    assert abs(b["mass"] - MMC_SCALE * 500) < MASS_RESOLUTION * 500
    assert [h["mass_hypothesis"] for h in res.summary["hypotheses"]] == list(PARAMETERISED_MASSES)
    assert res.summary["validation_loss"][-1] < res.summary["validation_loss"][0]


def test_parameterised_finds_nothing_without_signal(empty_challenge, family):
    ch = empty_challenge
    res = ParameterisedMethod(signal_family=family, bump=NO_TOYS).fit_score(ch.data, ch.reference)
    assert res.bump.p_global > 0.05 and not res.bump.summary()["excess_claimed"]
    # each hypothesis' selection matches the reference's expectation within its error
    for h in res.summary["hypotheses"]:
        assert abs(h["observed"] - h["expected"]) < 4 * np.sqrt(h["expected"]) + 2, h
    assert res.scores.shape == (len(ch.data),) and np.isfinite(res.scores).all()


def test_refusals(resonance_challenge, family):
    ch = resonance_challenge
    with pytest.raises(ConfigError, match="keep 1"):
        ParameterisedMethod(keep=1.0)
    with pytest.raises(ConfigError, match="masses"):
        ParameterisedMethod(masses=(-300.0,))
    with pytest.raises(ConfigError, match="give --reference"):
        ParameterisedMethod(signal_family=family).fit_score(ch.data, None)
    with pytest.raises(InputError, match=HYPOTHESIS_COLUMN):
        ParameterisedMethod(signal_family=family.drop(columns=[HYPOTHESIS_COLUMN])).fit_score(
            ch.data, ch.reference
        )
