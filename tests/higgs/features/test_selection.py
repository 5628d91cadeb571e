"""Tests of rediscovery.higgs.features.selection (feature importance and selection study) and its
CLI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from rediscovery.core.errors import ConfigError, InputError
from rediscovery.higgs.events.io import read_events, write_events
from rediscovery.higgs.features.selection import (
    METHODS,
    StudyConfig,
    feature_study,
    separation,
)

TINY = StudyConfig(n_events=3000, n_folds=2, n_estimators=8, num_leaves=7, k_grid=(1, 3),
                   n_random=2, search_events=1500, n_candidates=2, max_forward=2,
                   backward_start=4, permutation_repeats=1, mmc_points=32)


def test_separation_limits():
    rng = np.random.default_rng(3)
    x = rng.normal(size=4000)
    y = rng.integers(0, 2, 4000)
    w = np.ones(4000)
    assert separation(x, y, w) < 0.02  # same distribution
    # disjoint: 1 up to the one quantile bin that straddles the gap
    assert separation(np.where(y == 1, 5.0, -5.0) + 0.01 * x, y, w) > 0.95
    nan_sig = np.where(y == 1, np.nan, x)  # undefined only for signal: fully separated
    assert separation(nan_sig, y, w) == pytest.approx(1.0)


@pytest.fixture(scope="module")
def real(reference_data: Path) -> pd.DataFrame:
    folder = reference_data / "higgsml"
    return pd.concat([read_events(folder / "train_sml_sig.csv"),
                      read_events(folder / "train_sml_bg.csv")], ignore_index=True)


@pytest.fixture(scope="module")
def study(real: pd.DataFrame):
    return feature_study(real, TINY, progress=False)


def test_study_table_and_rankings(study):
    t = study.table
    assert set(t.columns) == {"method", "n_features", "features", "auc", "auc_err", "ams",
                              "ams_err"}
    assert set(METHODS) <= set(t["method"])
    assert {"set:PRI", "set:PRI+DER", "set:PRI+DER+NEW"} <= set(t["method"])
    assert (t["auc_err"] >= 0).all() and (t["ams_err"] >= 0).all()
    assert t["auc"].between(0.5, 1.0).all()
    r = study.rankings
    assert len(r) == 45 and {"rank_gain", "rank_forward", "score_separation"} <= set(r.columns)
    for m in METHODS[:-1]:
        assert sorted(r[f"rank_{m}"]) == list(range(1, 46)), m


def test_study_shows_what_der_adds(study):
    """On the real sample the official DER_ features (incl. the ATLAS MMC) add AUC over PRI_
    only, significantly even with a tiny model (measured +0.05 with the default settings)."""
    s = study.summary
    assert s["der_gain_auc"] > 3 * s["der_gain_auc_err"]
    assert s["PRI+DER"]["ams"] > s["PRI"]["ams"]


def test_ranked_features_beat_random(study):
    """The single best feature of the informed rankings beats a random single feature."""
    t = study.table
    one = t[t["n_features"] == 1].set_index("method")["auc"]
    assert one["gain"] > one["random"]
    assert one["separation"] > one["random"]
    assert study.rankings.set_index("feature")["rank_separation"].idxmin() == "DER_mass_MMC"


def test_study_bad_input(real):
    with pytest.raises(InputError, match="Weight"):
        feature_study(real.drop(columns="Weight"), TINY, progress=False)
    with pytest.raises(InputError, match="NEW_nope"):
        feature_study(real, TINY, features=["PRI_met", "NEW_nope"], progress=False)
    with pytest.raises(ConfigError):
        feature_study(real, StudyConfig(n_folds=1), progress=False)


def test_cli_feature_study_and_features(real, tmp_path, capsys, check_png):
    from rediscovery.cli import main

    data = tmp_path / "events.parquet"
    write_events(real.iloc[::5], data)
    out = tmp_path / "study"
    code = main(["higgs", "feature-study", "--data", str(data), "--out", str(out),
                 "--n-events", "2000", "--n-folds", "2", "--n-estimators", "5",
                 "--n-random", "1"])
    assert code == 0, capsys.readouterr().err
    check_png(out / "feature_study.png")
    table = pd.read_csv(out / "feature_study.csv")
    assert "set:PRI" in set(table["method"])
    assert "der_gain_auc" in json.loads((out / "feature_study.json").read_text())

    dest = tmp_path / "with_der.parquet"
    code = main(["higgs", "features", str(data), str(dest), "--n-points", "64"])
    assert code == 0, capsys.readouterr().err
    got = read_events(dest)
    assert {"DER_mass_MMC", "NEW_mass_collinear"} <= set(got.columns)
    assert len(got) == len(real.iloc[::5])

    code = main(["higgs", "feature-study", "--out", str(out)])
    assert code != 0
    assert "--data" in capsys.readouterr().err

    bad = tmp_path / "bad.parquet"
    write_events(real.iloc[:50].assign(PRI_tau_phi=10.0), bad)
    code = main(["higgs", "features", str(bad), str(tmp_path / "x.parquet")])
    assert code != 0
    assert "PRI_tau_phi" in capsys.readouterr().err
