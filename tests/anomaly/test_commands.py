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


def test_simulate_run_score_chain(tmp_path, run_cli, check_png):
    ch = tmp_path / "challenge"
    code, err = run_cli(
        [
            "anomaly",
            "simulate",
            "--out",
            ch,
            "--seed",
            5,
            "--strength",
            6,
            "--mass",
            450,
            "--lumi-factor",
            0.02,
            "--reference-events",
            500,
        ]
    )
    assert code == 0, err
    truth = json.loads((ch / "truth.json").read_text())
    data = pd.read_parquet(ch / "data.parquet")
    assert truth["mass"] == 450 and truth["n_signal"] == len(truth["signal_event_ids"]) > 0
    assert "Label" not in data.columns and "DER_mass_MMC" in data.columns
    assert set(pd.read_parquet(ch / "reference.parquet")["Label"]) == {0, 1}
    for method in ("bumphunt", "knn"):
        out = tmp_path / method
        code, err = run_cli(
            [
                "anomaly",
                "run",
                ch / "data.parquet",
                "--out",
                out,
                "--method",
                method,
                "--reference",
                ch / "reference.parquet",
            ]
        )
        assert code == 0, err
        summary = json.loads((out / "anomaly.json").read_text())
        assert summary["method"] == method and 0 < summary["bump"]["p_global"] <= 1
        check_png(out / "spectrum.png")
    table = tmp_path / "table.csv"
    code, err = run_cli(
        [
            "anomaly",
            "score",
            tmp_path / "bumphunt",
            tmp_path / "knn",
            "--data",
            ch / "data.parquet",
            "--truth",
            ch / "truth.json",
            "--out",
            table,
        ]
    )
    assert code == 0, err
    rows = pd.read_csv(table)
    assert list(rows["method"]) == ["idealised (supervised)", "bumphunt", "knn"]
    # the supervised detector with the truth labels is the best ranking
    assert rows["auc"].iloc[0] > 0.9 and rows["auc"].iloc[0] >= rows["auc"].max() - 1e-9


def test_challenge_refusals(tmp_path, run_cli):
    code, err = run_cli(["anomaly", "simulate", "--out", tmp_path / "c", "--signal", "zprime"])
    assert code == 2 and "signal 'zprime'" in err
    code, err = run_cli(
        ["anomaly", "run", tmp_path / "x.parquet", "--out", tmp_path / "o", "--method", "knn"]
    )
    assert code == 2 and "--reference" in err
    code, err = run_cli(
        [
            "anomaly",
            "run",
            tmp_path / "x.parquet",
            "--out",
            tmp_path / "o",
            "--method",
            "parameterised",
        ]
    )
    assert code == 2 and "--method parameterised" in err and "--reference" in err
    code, err = run_cli(
        [
            "anomaly",
            "score",
            tmp_path / "r",
            "--data",
            tmp_path / "d.parquet",
            "--truth",
            tmp_path / "none.json",
        ]
    )
    assert code == 2 and "none.json" in err


def test_anomaly_simulate_dijet(tmp_path, run_cli):
    out = tmp_path / "dijet"
    code, err = run_cli(
        ["anomaly", "simulate", "--dataset", "dijet", "--out", out, "--background-events", 5000]
    )
    assert code == 0, err
    data = pd.read_parquet(out / "data.parquet")
    truth = json.loads((out / "truth.json").read_text())
    assert {"mjj", "mj1", "delta_mj", "tau21_1", "tau21_2"} <= set(data.columns)
    assert "Label" not in data.columns and len(data) == 5000 + truth["n_signal"]
    assert truth["dataset"] == "dijet" and truth["signal_region"] == [3300.0, 3700.0]
    code, err = run_cli(["anomaly", "simulate", "--dataset", "lhc", "--out", tmp_path / "x"])
    assert code == 2 and "--dataset 'lhc'" in err
    code, err = run_cli(
        ["anomaly", "simulate", "--dataset", "dijet", "--out", tmp_path / "y", "--s-over-b", 3]
    )
    assert code == 2 and "--s-over-b" in err
