"""Tests of rediscovery.higgs.features.primaries: validation of the PRI_ columns, through every
entry point that reads them (DER_, NEW_ and missing-mass features)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from rediscovery.core.errors import InputError
from rediscovery.higgs.features.derived import (
    add_derived_features,
    derived_features,
    missing_mass,
)
from rediscovery.higgs.features.new import add_new_features
from rediscovery.higgs.features.primaries import ANGLE_TOLERANCE, validate_primaries


@pytest.mark.parametrize(
    ("change", "column"),
    [
        (lambda d: d.drop(columns="PRI_met"), "PRI_met"),
        (lambda d: d.assign(PRI_tau_pt=d["PRI_tau_pt"].astype(str)), "PRI_tau_pt"),
        (lambda d: d.assign(PRI_lep_phi=np.degrees(d["PRI_lep_phi"])), "PRI_lep_phi"),
        (lambda d: d.assign(PRI_met_phi=-np.pi - 0.01), "PRI_met_phi"),
        (lambda d: d.assign(PRI_jet_num=4.0), "PRI_jet_num"),
    ],
)
def test_bad_input_names_the_column(change, column, make_event):
    df = change(pd.DataFrame([make_event(), make_event(PRI_lep_phi=3.0)]))
    for func in (lambda x: add_derived_features(x, mmc=False), add_new_features, missing_mass):
        with pytest.raises(InputError, match=column) as info:
            func(df)
        assert info.value.column == column


def test_angle_rounded_to_three_decimals_is_accepted(make_event):
    df = pd.DataFrame([make_event(PRI_met_phi=-3.142), make_event(PRI_met_phi=np.pi)])
    assert np.isfinite(derived_features(df, mmc=False)["DER_pt_h"]).all()


def test_angle_tolerance_is_the_file_rounding(make_event):
    """-π written with 3 decimals (-3.142) is 4.1e-4 below -π: accepted; 2e-3 below is not."""
    assert -np.pi - ANGLE_TOLERANCE < -3.142 < -np.pi
    validate_primaries(pd.DataFrame([make_event(PRI_tau_phi=-3.142)]))
    with pytest.raises(InputError, match="PRI_tau_phi"):
        validate_primaries(pd.DataFrame([make_event(PRI_tau_phi=-np.pi - 2e-3)]))
