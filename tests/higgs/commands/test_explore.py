"""``rediscovery higgs explore`` run for real on a small simulated file, and its refusals."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from rediscovery.higgs.events.io import write_events
from rediscovery.higgs.events.simulate import simulate_events


@pytest.fixture(scope="module")
def events(tmp_path_factory):
    path = tmp_path_factory.mktemp("explore") / "events.parquet"
    write_events(simulate_events(600, seed=3), path)
    return path


def test_explore_writes_tables_json_and_plots(events, tmp_path, run_cli, check_png):
    out = tmp_path / "ex"
    code, err = run_cli(
        [
            "higgs",
            "explore",
            events,
            "--out",
            out,
            "--n-sample",
            150,
            "--no-umap",
            "--perplexity",
            10,
            "--seed",
            4,
        ]
    )
    assert code == 0, err
    summary = json.loads((out / "explore.json").read_text())
    assert summary["n_events"] == 600 and summary["n_sample"] == 150
    assert not any(f.endswith("_phi") for f in summary["features"])
    np.testing.assert_allclose(sum(summary["pca"]["explained_variance_ratio"]), 1.0)
    for name in ("kmeans", "hdbscan"):
        assert sum(summary["clusters"][name]["sizes"].values()) == 150
    assert summary["settings"]["seed"] == 4 and summary["settings"]["umap"] is False
    purity = pd.read_csv(out / "purity.csv")
    classes = sorted(summary["classes"])
    np.testing.assert_allclose(purity[classes].sum(axis=1), 1.0, atol=1e-5)
    sample = pd.read_csv(out / "sample.csv")
    assert len(sample) == 150 and {"tsne_1", "kmeans", "class"} <= set(sample.columns)
    assert "umap_1" not in sample.columns
    loadings = pd.read_csv(out / "loadings.csv", index_col=0)
    assert list(loadings.columns) == summary["features"]
    for png in ("pca_variance", "pca_loadings", "embeddings", "purity"):
        check_png(out / f"{png}.png")


@pytest.mark.parametrize(
    ("extra", "fragment"),
    [
        (["--n-sample", "5"], "--n-sample 5: expected at least 10"),
        (["--k", "1"], "--k 1: expected at least 2"),
        (["--tsne-iter", "100"], "--tsne-iter 100"),
        (["--features", "PRI_nope"], "'PRI_nope': feature not in the events table"),
        (["--features", " , "], "--features"),
    ],
)
def test_bad_options_are_refused(extra, fragment, events, tmp_path, run_cli):
    code, err = run_cli(["higgs", "explore", events, "--out", tmp_path / "ex", *extra])
    assert code == 2 and fragment in err, err
    assert not (tmp_path / "ex").exists()


def test_missing_file_and_table_without_features_are_refused(tmp_path, run_cli):
    code, err = run_cli(["higgs", "explore", tmp_path / "nope.parquet", "--out", tmp_path / "o"])
    assert code == 2 and "nope.parquet: file does not exist" in err
    bad = tmp_path / "words.csv"
    pd.DataFrame({"EventId": np.arange(20), "Process": ["a", "b"] * 10}).to_csv(bad, index=False)
    code, err = run_cli(["higgs", "explore", bad, "--out", tmp_path / "o"])
    assert code == 2 and "words.csv" in err and "no numeric feature columns" in err, err
