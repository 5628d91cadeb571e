"""The challenge data: hidden signal recorded only in the truth, seeded, refusals."""

from __future__ import annotations

import numpy as np
import pytest

from rediscovery.anomaly.datasets import (
    RESONANCE_MASS_RANGE,
    ChallengeConfig,
    simulate_challenge,
)
from rediscovery.core.errors import ConfigError


def test_resonance_is_hidden_in_the_data(resonance_challenge):
    ch = resonance_challenge
    t = ch.truth
    assert "Label" not in ch.data.columns and "Process" not in ch.data.columns
    assert (ch.data["Weight"] == 1.0).all()
    assert list(ch.data["EventId"]) == list(range(len(ch.data)))
    assert t["n_signal"] == round(5.0 * np.sqrt(t["n_background"]))
    assert len(ch.data) == t["n_signal"] + t["n_background"]
    s = ch.signal_mask()
    assert s.sum() == t["n_signal"]
    # the injected events are spread through the file, not appended
    assert 0.2 < np.flatnonzero(s).mean() / len(s) < 0.8
    # MMC mass of the X events near the hidden mass (median 0.86-0.9 of it, resolution ~30 %)
    med = np.nanmedian(ch.data.loc[s, "DER_mass_MMC"])
    assert 0.75 * 500 < med < 1.05 * 500
    assert set(ch.reference["Label"]) == {0, 1} and "Process" in ch.reference.columns


def test_mass_is_drawn_in_range_and_seeded():
    cfg = ChallengeConfig(lumi_factor=0.005, n_reference=200, mmc_points=16, seed=3)
    a, b = simulate_challenge(cfg), simulate_challenge(cfg)
    lo, hi = RESONANCE_MASS_RANGE
    assert lo <= a.truth["mass"] <= hi and a.truth["mass"] == b.truth["mass"]
    np.testing.assert_array_equal(a.data["PRI_tau_pt"], b.data["PRI_tau_pt"])
    assert a.truth["signal_event_ids"] == b.truth["signal_event_ids"]


def test_no_signal(empty_challenge):
    assert empty_challenge.truth["n_signal"] == 0 and empty_challenge.truth["mass"] is None
    assert not empty_challenge.signal_mask().any()


def test_refusals():
    with pytest.raises(ConfigError, match="signal 'zprime'"):
        ChallengeConfig(signal="zprime")
    with pytest.raises(ConfigError, match="strength -1"):
        ChallengeConfig(strength=-1)
    with pytest.raises(ConfigError, match="mass 50"):
        ChallengeConfig(mass=50)
