"""Tests of rediscovery.higgs.features.new (the NEW_ features)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from rediscovery.core.errors import InputError
from rediscovery.higgs.features.new import NEW_FEATURES, add_new_features
from rediscovery.higgs.schema import PRI_COLUMNS


def test_new_features_registry_and_invariance(make_event):
    df = pd.DataFrame([make_event(PRI_jet_num=2.0, PRI_jet_leading_pt=60.0, PRI_jet_leading_eta=2.0,
                              PRI_jet_leading_phi=-2.0, PRI_jet_subleading_pt=35.0,
                              PRI_jet_subleading_eta=-1.5, PRI_jet_subleading_phi=3.0,
                              PRI_jet_all_pt=95.0)] * 2)
    out = add_new_features(df)
    for name, feat in NEW_FEATURES.items():
        assert name.startswith("NEW_") and name in out.columns
        assert isinstance(feat.formula, str) and "\n" not in feat.formula
    # every NEW_ feature is invariant under a global rotation of the event in φ
    rot = df.copy()
    for c in [c for c in PRI_COLUMNS if c.endswith("_phi")]:
        rot[c] = (rot[c] + 1.234 + np.pi) % (2 * np.pi) - np.pi
    out_rot = add_new_features(rot)
    for name in NEW_FEATURES:
        np.testing.assert_allclose(out_rot[name], out[name], rtol=1e-10, err_msg=name)

def test_unknown_new_feature(make_event):
    with pytest.raises(InputError, match="NEW_nope"):
        add_new_features(pd.DataFrame([make_event()]), ["NEW_nope"])


def test_empty_table(make_event):
    assert len(add_new_features(pd.DataFrame([make_event()]).iloc[:0])) == 0
