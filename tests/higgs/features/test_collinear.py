"""Tests of rediscovery.higgs.features.collinear (the collinear approximation)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from rediscovery.higgs.features.collinear import collinear_fractions, collinear_mass
from rediscovery.higgs.features.derived import derived_features
from rediscovery.higgs.features.new import add_new_features


def test_collinear_mass_recovers_truth_for_collinear_neutrinos(make_event):
    """Build an event whose neutrinos are exactly collinear with the visible taus (x = 0.4, 0.7)
    from a 125 GeV resonance: the collinear mass must return it exactly."""
    x_t, x_l = 0.4, 0.7
    ev = make_event()
    t = np.array([40.0, 0.5, 0.3])
    lp = np.array([30.0, -0.2, 2.5])
    mx = t[0] * (1 / x_t - 1) * np.cos(t[2]) + lp[0] * (1 / x_l - 1) * np.cos(lp[2])
    my = t[0] * (1 / x_t - 1) * np.sin(t[2]) + lp[0] * (1 / x_l - 1) * np.sin(lp[2])
    ev.update(PRI_met=np.hypot(mx, my), PRI_met_phi=np.arctan2(my, mx))
    df = pd.DataFrame([ev])
    m_vis = derived_features(df, mmc=False)["DER_mass_vis"].iloc[0]
    (x_tau,), (x_lep,) = collinear_fractions(df)
    assert x_tau == pytest.approx(x_t)
    assert x_lep == pytest.approx(x_l)
    assert collinear_mass(df)[0] == pytest.approx(m_vis / np.sqrt(x_t * x_l))
    # the NEW_ features are these functions
    out = add_new_features(df, ["NEW_mass_collinear", "NEW_x_tau", "NEW_x_lep"])
    assert out[["NEW_x_tau", "NEW_x_lep", "NEW_mass_collinear"]].iloc[0].tolist() == [
        x_tau, x_lep, collinear_mass(df)[0]]


def test_collinear_mass_undefined_for_unphysical_fractions(make_event):
    """MET pointing away from both visible taus gives x > 1 or x < 0: no collinear solution."""
    df = pd.DataFrame([make_event(PRI_met=200.0, PRI_met_phi=-1.8)])
    x_tau, x_lep = collinear_fractions(df)
    assert not ((0 < x_tau[0] <= 1) and (0 < x_lep[0] <= 1))
    assert np.isnan(collinear_mass(df)[0])
