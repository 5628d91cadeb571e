"""Fixtures of the systematics tests: small hand-made events (no simulator needed)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest


def _make_events(n: int = 4000, seed: int = 3) -> pd.DataFrame:
    """Hand-made events above the default thresholds (no simulator needed)."""
    rng = np.random.default_rng(seed)
    njet = rng.integers(0, 4, n).astype(float)
    j1 = 31.0 + rng.exponential(40.0, n)
    j2 = 30.5 + rng.uniform(0, 1, n) * (j1 - 30.5)
    extra = np.where(njet >= 3, rng.uniform(0, 25, n), 0.0)
    df = pd.DataFrame({
        "EventId": np.arange(n, dtype=np.int64),
        "PRI_tau_pt": 20.5 + rng.exponential(20.0, n),
        "PRI_tau_eta": rng.uniform(-2.4, 2.4, n),
        "PRI_tau_phi": rng.uniform(-np.pi, np.pi, n),
        "PRI_lep_pt": 26.5 + rng.exponential(20.0, n),
        "PRI_lep_eta": rng.uniform(-2.4, 2.4, n),
        "PRI_lep_phi": rng.uniform(-np.pi, np.pi, n),
        "PRI_met": rng.exponential(30.0, n),
        "PRI_met_phi": rng.uniform(-np.pi, np.pi, n),
        "PRI_met_sumet": 100 + rng.exponential(100.0, n),
        "PRI_jet_num": njet,
        "PRI_jet_leading_pt": np.where(njet >= 1, j1, np.nan),
        "PRI_jet_leading_eta": np.where(njet >= 1, rng.uniform(-4, 4, n), np.nan),
        "PRI_jet_leading_phi": np.where(njet >= 1, rng.uniform(-np.pi, np.pi, n), np.nan),
        "PRI_jet_subleading_pt": np.where(njet >= 2, j2, np.nan),
        "PRI_jet_subleading_eta": np.where(njet >= 2, rng.uniform(-4, 4, n), np.nan),
        "PRI_jet_subleading_phi": np.where(njet >= 2, rng.uniform(-np.pi, np.pi, n), np.nan),
        "PRI_jet_all_pt": np.where(njet >= 1, j1, 0) + np.where(njet >= 2, j2, 0) + extra,
    })
    proc = rng.choice(["htautau", "ztautau", "ttbar", "wjets", "diboson"], n)
    df["Weight"] = rng.uniform(0.5, 2.0, n)
    df["Label"] = (proc == "htautau").astype(np.int8)
    df["Process"] = proc
    return df


@pytest.fixture(scope="session")
def make_events() -> Callable[..., pd.DataFrame]:
    """Builder ``make_events(n=4000, seed=3)`` of hand-made events above the default thresholds."""
    return _make_events
