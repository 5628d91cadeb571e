"""``rediscovery anomaly run`` on a small simulated file, and its refusals."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from rediscovery.higgs.events.io import write_events
from rediscovery.higgs.events.simulate import simulate_events


def test_anomaly_run_writes_scores_json_and_plot(tmp_path, run_cli, check_png):
    events = tmp_path / "events.parquet"
    df = simulate_events(500, seed=4)
    write_events(df, events)
    out = tmp_path / "an"
    code, err = run_cli(["anomaly", "run", events, "--out", out, "--trees", 50, "--seed", 2])
    assert code == 0, err
    scores = pd.read_parquet(out / "scores.parquet")
    assert len(scores) == 500 and set(scores["EventId"]) == set(df["EventId"])
    assert sorted(scores["rank"]) == list(range(1, 501))
    summary = json.loads((out / "anomaly.json").read_text())
    assert summary["method"] == "isolation-forest" and summary["settings"]["n_estimators"] == 50
    assert np.isclose(summary["score_max"], scores["anomaly_score"].max())
    check_png(out / "scores.png")


def test_anomaly_run_refusals(tmp_path, run_cli):
    code, err = run_cli(["anomaly", "run", tmp_path / "none.parquet", "--out", tmp_path / "o"])
    assert code == 2 and "none.parquet: file does not exist" in err
    code, err = run_cli(
        ["anomaly", "run", tmp_path / "x.parquet", "--out", tmp_path / "o", "--method", "magic"]
    )
    assert code == 2 and "--method 'magic'" in err
    code, err = run_cli(
        ["anomaly", "run", tmp_path / "x.parquet", "--out", tmp_path / "o", "--trees", 0]
    )
    assert code == 2 and "--trees 0" in err
