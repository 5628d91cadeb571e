"""Fixtures of the feature tests: the real HiggsML sample and a hand-made event."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from rediscovery.higgs.events.io import read_events
from rediscovery.higgs.schema import PRI_COLUMNS


@pytest.fixture(scope="session")
def real(reference_data: Path) -> pd.DataFrame:
    """The real sample ``higgsml/train_sml_{sig,bg}.csv`` with its official DER_ columns."""
    folder = reference_data / "higgsml"
    return pd.concat([read_events(folder / "train_sml_sig.csv"),
                      read_events(folder / "train_sml_bg.csv")], ignore_index=True)


def _event(**kw: float) -> dict[str, float]:
    row = dict.fromkeys(PRI_COLUMNS, np.nan)
    row.update(PRI_tau_pt=40.0, PRI_tau_eta=0.5, PRI_tau_phi=0.3, PRI_lep_pt=30.0,
               PRI_lep_eta=-0.2, PRI_lep_phi=2.5, PRI_met=20.0, PRI_met_phi=1.4,
               PRI_met_sumet=150.0, PRI_jet_num=0.0, PRI_jet_all_pt=0.0)
    row.update(kw)
    return row



@pytest.fixture
def make_event() -> Callable[..., dict[str, float]]:
    """Factory of one event's PRI_ values (0 jets), any column overridden by keyword."""
    return _event
