"""The hypothetical X → ττ resonance of the anomaly challenge, through the same simulator."""

from __future__ import annotations

import numpy as np
import pytest

from rediscovery.constants import TAU_MASS
from rediscovery.core.errors import ConfigError
from rediscovery.higgs.events.generator import resonance_subprocess
from rediscovery.higgs.events.simulate import simulate_resonance
from rediscovery.higgs.features.primaries import invariant_mass


def _mvis(df):
    cols = ["PRI_tau_pt", "PRI_tau_eta", "PRI_tau_phi", "PRI_lep_pt", "PRI_lep_eta", "PRI_lep_phi"]
    return invariant_mass(*(df[c].to_numpy() for c in cols))


@pytest.mark.parametrize("mass", [300.0, 800.0])
def test_visible_mass_scales_with_the_pole_mass(mass):
    df = simulate_resonance(2000, mass=mass, seed=1)
    assert len(df) == 2000 and (df["Label"] == 1).all() and (df["Weight"] == 1.0).all()
    assert df["PRI_tau_pt"].min() >= 20.0 and df["PRI_lep_pt"].min() >= 26.0
    m = _mvis(df)
    # the visible pair carries part of the X mass: below it (up to resolution), and its median
    # ~ half of it (two τ's losing neutrinos; the H(125) sample gives the same ratio)
    assert np.quantile(m, 0.99) < 1.1 * mass
    assert 0.35 * mass < np.median(m) < 0.65 * mass
    # back-to-back τ's from a heavy scalar: |Δφ(τ, ℓ)| near π for most events
    dphi = np.abs(np.angle(np.exp(1j * (df["PRI_tau_phi"] - df["PRI_lep_phi"]))))
    assert np.median(dphi) > 2.5


def test_vbf_production_adds_forward_jets_and_is_seeded():
    a = simulate_resonance(1000, mass=1200.0, seed=2, vbf=True)
    b = simulate_resonance(1000, mass=1200.0, seed=2, vbf=True)
    np.testing.assert_array_equal(a["PRI_tau_pt"], b["PRI_tau_pt"])
    ggf = simulate_resonance(1000, mass=1200.0, seed=2)
    assert (a["PRI_jet_num"] >= 2).mean() > (ggf["PRI_jet_num"] >= 2).mean() + 0.2


def test_refusals():
    with pytest.raises(ConfigError, match="mass"):
        resonance_subprocess(2 * TAU_MASS)
    with pytest.raises(ConfigError, match="width -1"):
        resonance_subprocess(500.0, -1.0)
    with pytest.raises(ConfigError, match="n_events"):
        simulate_resonance(0, mass=500.0, seed=1)
