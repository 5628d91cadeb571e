"""The whole Higgs chain in a run directory (rediscovery.higgs.pipeline, `higgs run`)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from rediscovery.cli import main
from rediscovery.core.errors import ConfigError
from rediscovery.higgs.pipeline import HiggsRunConfig, run_pipeline

# small and fast: 20k MC events, 40k template events, pseudo-data at 5% of the HiggsML
# luminosity (~20k events)
SMALL = {
    "seed": 3, "events": 20000, "template_events": 40000, "lumi_factor": 0.05, "n_bootstrap": 5,
    "model_params": {"n_estimators": 40, "max_depth": 3}, "max_bins": 8,
}


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("higgs") / "run"
    results = run_pipeline(out, HiggsRunConfig(**SMALL))
    return out, results


def test_run_writes_the_results_contract(finished_run):
    out, results = finished_run
    on_disk = json.loads((out / "results.json").read_text())
    assert on_disk["mu_hat"] == results["mu_hat"]
    for key in ("mu_hat", "mu_68", "mu_stat_68", "z_discovery_observed",
                "z_discovery_expected", "auc", "ams_best"):
        assert key in results, key
    lo, hi = results["mu_68"]
    assert lo < results["mu_hat"] < hi
    assert results["converged"] is True
    assert 0.6 < results["auc"] <= 1.0
    html = (out / "report.html").read_text(encoding="utf-8")
    # every figure of the run is embedded in the self-contained report
    embedded = re.findall(r"<img alt='([^']+)' src='data:image/png;base64,", html)
    assert embedded and sorted(embedded) == sorted(p.name for p in out.rglob("*.png"))
    manifest = json.loads((out / "manifest.json").read_text())
    assert [manifest["stages"][s]["status"] for s in manifest["stages"]] == ["done"] * 5
    # the truth is written but analysis stages never list it as an input
    assert (out / "simulate" / "truth.json").exists()
    for st in manifest["stages"].values():
        assert not any("truth" in p for p in st["inputs"])


def test_templates_are_a_separate_yield_proportional_sample(finished_run):
    import numpy as np
    import pandas as pd

    from rediscovery.higgs.events.simulate import BACKGROUND_TOTAL, SIGNAL_TOTAL

    out, _ = finished_run
    ev = out / "evaluate"
    tpl, binning = (pd.read_parquet(ev / f) for f in ("mc_scores.parquet",
                                                        "binning_scores.parquet"))
    # two disjoint halves of the 40k-event template sample (not the training MC)
    assert len(tpl) + len(binning) == SMALL["template_events"]
    assert abs(len(tpl) - len(binning)) < 0.02 * SMALL["template_events"]
    assert not set(tpl["EventId"]) & set(binning["EventId"])
    lumi = SMALL["lumi_factor"]
    for half in (tpl, binning):  # each half alone describes the data luminosity
        sig = half["Label"] == 1
        assert half.loc[sig, "Weight"].sum() == pytest.approx(SIGNAL_TOTAL * lumi, rel=0.05)
        assert half.loc[~sig, "Weight"].sum() == pytest.approx(BACKGROUND_TOTAL * lumi,
                                                               rel=0.02)
        # background processes are sampled in proportion to their yields: one weight for all
        w = half.loc[~sig].groupby("Process", observed=True)["Weight"].mean()
        assert w.max() / w.min() < 1.2, w
    # 4 % signal events (binomial error on 20k events: 0.14 %)
    assert np.mean(tpl["Label"] == 1) == pytest.approx(0.04, abs=0.006)


def test_rerun_skips_and_force_reruns_downstream(finished_run, caplog):
    out, _ = finished_run
    before = json.loads((out / "manifest.json").read_text())["stages"]
    run_pipeline(out, HiggsRunConfig(**SMALL))
    after = json.loads((out / "manifest.json").read_text())["stages"]
    assert all(after[s]["started"] == before[s]["started"] for s in before)
    run_pipeline(out, HiggsRunConfig(**SMALL), force=["fit"])
    again = json.loads((out / "manifest.json").read_text())["stages"]
    assert again["fit"]["started"] != before["fit"]["started"]
    assert again["train"]["started"] == before["train"]["started"]


def test_unblind_the_run(finished_run, capsys):
    out, _ = finished_run
    assert main(["unblind", str(out)]) == 0
    assert "mu" in capsys.readouterr().out


def test_replacement_stage_and_bad_stage_names(finished_run, tmp_path):
    out, _ = finished_run
    with pytest.raises(ConfigError, match="unknown stage"):
        run_pipeline(out, HiggsRunConfig(**SMALL), force=["nonsense"])
    with pytest.raises(ConfigError, match=r"package\.module:function"):
        run_pipeline(out, HiggsRunConfig(**SMALL), replace={"fit": "no_colon"})
    with pytest.raises(ConfigError, match="cannot be imported"):
        run_pipeline(out, HiggsRunConfig(**SMALL), replace={"fit": "nowhere.mod:func"})


def test_a_team_replaces_the_fit_stage(finished_run, tmp_path, monkeypatch):
    import shutil

    monkeypatch.syspath_prepend(str(Path(__file__).parent))
    out, _ = finished_run
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    results = run_pipeline(copy, HiggsRunConfig(**SMALL),
                           replace={"fit": "_custom_stage:counting_fit"})
    assert results["team"] == "counting"
    stages = json.loads((copy / "manifest.json").read_text())["stages"]
    assert stages["fit"]["config"]["function"] == "_custom_stage:counting_fit"


def test_cli_rejects_bad_configuration(tmp_path, capsys):
    assert main(["higgs", "run", "--out", str(tmp_path / "r"), "--events", "10"]) == 2
    err = capsys.readouterr().err
    assert "events" in err and "3000" in err
    cfg = tmp_path / "c.yaml"
    cfg.write_text("higgs:\n  model: perceptron\n")
    assert main(["higgs", "run", "--out", str(tmp_path / "r"), "--config", str(cfg)]) == 2
    assert "model" in capsys.readouterr().err
