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
# without systematics: the statistics-only path (tests/higgs/test_pipeline_systematics.py runs
# the default, systematic one)
SMALL = {
    "seed": 3, "events": 20000, "template_events": 40000, "lumi_factor": 0.05, "n_bootstrap": 5,
    "model_params": {"n_estimators": 40, "max_depth": 3}, "max_bins": 8, "systematics": False,
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
    # every figure of the run is embedded in the self-contained report, once
    embedded = re.findall(r"<img src='data:image/png;base64,[^']+' alt='[^']+' "
                          r"data-source='([^']+)'", html)
    assert embedded and sorted(embedded) == sorted(p.relative_to(out).as_posix()
                                                   for p in out.rglob("*.png"))
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
    # the report shows the team's result and nothing of the built-in fit left in fit/
    from rediscovery.core.report_check import outline

    o = outline((copy / "report.html").read_text(encoding="utf-8"))
    assert not o.problems and o.raw_json() == []
    assert o.headline.replace("\u202f", " ").startswith("μ̂ = 1.00 ± 0.50")
    assert "_custom_stage:counting_fit" in o.text
    assert not [im for im in o.images if im["source"].startswith("fit/")]
    assert "yields" not in o.sections and "correlation" not in o.sections


def test_a_team_adds_a_feature(finished_run, tmp_path, monkeypatch):
    import shutil

    monkeypatch.syspath_prepend(str(Path(__file__).parent))
    out, _ = finished_run
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    results = run_pipeline(copy, HiggsRunConfig(**SMALL),
                           replace={"features": "_custom_stage:features_plus"})
    assert results["converged"]
    metrics = json.loads((copy / "train" / "metrics.json").read_text())
    assert "NEW_my_feature" in metrics["features"]


def test_cli_rejects_bad_configuration(tmp_path, capsys):
    assert main(["higgs", "run", "--out", str(tmp_path / "r"), "--events", "10"]) == 2
    err = capsys.readouterr().err
    assert "events" in err and "3000" in err
    cfg = tmp_path / "c.yaml"
    cfg.write_text("higgs:\n  model: perceptron\n")
    assert main(["higgs", "run", "--out", str(tmp_path / "r"), "--config", str(cfg)]) == 2
    assert "model" in capsys.readouterr().err


# -- the run directory's size ------------------------------------------------------------------
#: Bytes per event of a run directory's Parquet tables (simulate, features, train, evaluate):
#: about 118 for this small run and 115 for the default one. float64 features give ~177, a
#: table written twice (as the features stage once did) well over 200.
MAX_TABLE_BYTES_PER_EVENT = 140
#: Bound on what does not grow with the events: report.html, plots, model, JSON (~1 MB here).
FIXED_BYTES = 5_000_000


def test_run_directory_size_is_bounded_per_event(finished_run):
    out, results = finished_run
    n_events = SMALL["events"] + SMALL["template_events"] + results["n_observed"]
    files = [p for p in out.rglob("*") if p.is_file()]
    tables = sum(p.stat().st_size for p in files if p.suffix == ".parquet")
    assert tables < MAX_TABLE_BYTES_PER_EVENT * n_events, (tables, n_events)
    size = sum(p.stat().st_size for p in files)
    assert size < FIXED_BYTES + MAX_TABLE_BYTES_PER_EVENT * n_events, (size, n_events)
    # the features tables hold only the derived columns (the simulate tables the PRI_ ones)
    import pyarrow.parquet as pq

    names = pq.read_schema(out / "features" / "templates.parquet").names
    assert names[0] == "EventId" and not any(c.startswith("PRI_") for c in names[1:])


# -- own data in: --observed and --mc --------------------------------------------------------
def _sha256(path: Path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_observed_file_replaces_the_pseudo_data(tmp_path, caplog, capsys):
    """Pseudo-data saved as a HiggsML CSV (-999 sentinels) with Label/Weight columns."""
    import numpy as np

    from rediscovery.higgs.events.io import write_events
    from rediscovery.higgs.events.simulate import simulate_pseudo_data

    data, _ = simulate_pseudo_data(lumi_factor=0.05, mu=1.0, seed=np.random.default_rng(7))
    data["Label"] = np.int8(0)
    data["Weight"] = 2.5  # ignored: observed events enter with unit weights
    csv = tmp_path / "my_data.csv"
    write_events(data, csv)
    assert "-999" in csv.read_text()[:20000]
    out = tmp_path / "run"
    cfg = HiggsRunConfig(**SMALL, observed=str(csv))
    with caplog.at_level("WARNING", logger="rediscovery.higgs.pipeline"):
        results = run_pipeline(out, cfg)
    warned = [r.getMessage() for r in caplog.records if "ignored" in r.getMessage()]
    assert warned and "Label" in warned[0] and "Weight" in warned[0] and str(csv) in warned[0]
    assert results["converged"] and results["n_observed"] == len(data)
    block = json.loads((out / "results.json").read_text())["data"]
    assert block["observed"] == {"path": str(csv.resolve()), "sha256": _sha256(csv),
                                 "source": "file", "ignored_columns": ["Label", "Weight"],
                                 "events": len(data)}
    assert block["mc"]["source"] == "simulated"
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["data"] == block
    assert manifest["stages"]["simulate"]["inputs"][str(csv.resolve())] == _sha256(csv)
    # no hidden truth for real data: unblind says so
    assert not (out / "simulate" / "truth.json").exists()
    assert main(["unblind", str(out)]) != 0
    assert "no truth.json" in capsys.readouterr().err
    # the same file: skipped; a changed file: the stages re-run
    started = manifest["stages"]["simulate"]["started"]
    run_pipeline(out, cfg, until="features")
    assert json.loads((out / "manifest.json").read_text())["stages"]["simulate"]["started"] \
        == started
    write_events(data.iloc[:-10], csv)
    run_pipeline(out, cfg, until="features")
    stages = json.loads((out / "manifest.json").read_text())["stages"]
    assert stages["simulate"]["started"] != started
    assert stages["simulate"]["results"]["data"]["observed"]["sha256"] == _sha256(csv)
    assert stages["features"]["started"] > started


def test_mc_file_from_the_real_higgsml_sample(reference_data, tmp_path, caplog):
    """The 4,999 + 4,999 HiggsML events (CERN Open Data layout) as training and templates."""
    import pandas as pd

    from rediscovery.higgs.events.simulate import BACKGROUND_TOTAL

    folder = reference_data / "higgsml"
    sig, bkg = (pd.read_csv(folder / f"train_sml_{k}.csv") for k in ("sig", "bg"))
    mc = tmp_path / "higgsml_mc.csv"
    pd.concat([sig, bkg]).to_csv(mc, index=False)
    # the first events of the file carry a small part of the 2012 luminosity: scale them up
    scale = BACKGROUND_TOTAL / bkg["Weight"].sum()
    lumi = 0.02
    cfg = HiggsRunConfig(**{**SMALL, "lumi_factor": lumi}, mc=str(mc), mc_lumi_scale=scale)
    out = tmp_path / "run"
    with caplog.at_level("WARNING", logger="rediscovery.higgs.pipeline"):
        results = run_pipeline(out, cfg)
    # every event of the sample is in KaggleSet 't': a seeded random split instead
    assert any("KaggleSet" in r.getMessage() for r in caplog.records)
    assert results["converged"]
    info = results["data"]["mc"]
    assert info["path"] == str(mc.resolve()) and info["sha256"] == _sha256(mc)
    assert info["source"] == "file" and info["split"] == "random"
    assert info["training_events"] + info["template_events"] == len(sig) + len(bkg)
    assert abs(info["training_events"] - info["template_events"]) < 300
    assert results["data"]["observed"]["source"] == "simulated"
    metrics = json.loads((out / "train" / "metrics.json").read_text())
    assert metrics["n_train"] + metrics["n_valid"] + metrics["n_test"] \
        == info["training_events"]
    assert "DER_mass_MMC" not in metrics["features"]  # recomputed only with --mmc
    ev = out / "evaluate"
    halves = [pd.read_parquet(ev / f) for f in ("mc_scores.parquet", "binning_scores.parquet")]
    assert sum(map(len, halves)) == info["template_events"]
    for half in halves:  # each half stands for the data luminosity
        b = half.loc[half["Label"] == 0, "Weight"].sum()
        assert b == pytest.approx(BACKGROUND_TOTAL * lumi, rel=0.1)


def test_mc_file_split_column_and_weights(tmp_path):
    import numpy as np
    import pandas as pd

    from rediscovery.higgs.events.io import write_events
    from rediscovery.higgs.events.simulate import simulate_events
    from rediscovery.higgs.pipeline import read_mc_file

    ev = simulate_events(4000, seed=np.random.default_rng(2))
    ev["KaggleSet"] = np.where(np.arange(len(ev)) % 4 == 0, "t", "v")
    ev["DER_mass_MMC"] = 120.0
    path = tmp_path / "mc.parquet"
    write_events(ev, path)
    train, templates, info = read_mc_file(path, seed=1, lumi_scale=2.0)
    assert info["split"] == "KaggleSet" and len(train) == 1000 and len(templates) == 3000
    assert "DER_mass_MMC" not in train.columns and "KaggleSet" not in templates.columns
    for part in (train, templates):  # each part: the class totals of the file, scaled
        for cls in (0, 1):
            want = 2.0 * ev.loc[ev["Label"] == cls, "Weight"].sum()
            assert part.loc[part["Label"] == cls, "Weight"].sum() == pytest.approx(want)
    ev["Set"] = pd.Categorical(np.where(np.arange(len(ev)) % 2 == 0, "train", "test"))
    write_events(ev, path)
    _, templates, info = read_mc_file(path, seed=1)
    assert info["split"] == "Set" and len(templates) == 2000


def test_bad_input_files_are_named(tmp_path, capsys):
    import numpy as np

    from rediscovery.core.errors import InputError
    from rediscovery.higgs.events.io import write_events
    from rediscovery.higgs.events.simulate import simulate_events

    missing = tmp_path / "nowhere.csv"
    assert main(["higgs", "run", "--out", str(tmp_path / "r0"), "--observed",
                 str(missing)]) != 0
    err = capsys.readouterr().err
    assert "nowhere.csv" in err and "does not exist" in err
    ev = simulate_events(3000, seed=np.random.default_rng(3))
    no_met = tmp_path / "no_met.csv"
    write_events(ev.drop(columns=["PRI_met"]), no_met)
    with pytest.raises(InputError, match="PRI_met") as exc:
        run_pipeline(tmp_path / "r1", HiggsRunConfig(**SMALL, observed=str(no_met)))
    assert "no_met.csv" in str(exc.value)
    unlabelled = tmp_path / "unlabelled.parquet"
    write_events(ev.drop(columns=["Label"]), unlabelled)
    with pytest.raises(InputError, match="'Label'") as exc:
        run_pipeline(tmp_path / "r2", HiggsRunConfig(**SMALL, mc=str(unlabelled)))
    assert "unlabelled.parquet" in str(exc.value)
    assert not (tmp_path / "r2" / "simulate" / "mc.parquet").exists()


def test_features_tables_join_the_simulate_tables(finished_run, tmp_path):
    import numpy as np
    import pandas as pd

    from rediscovery.core.errors import InputError
    from rediscovery.higgs.events.io import read_events, write_events
    from rediscovery.higgs.pipeline import read_with_features, stage_features

    out, _ = finished_run
    raw = out / "simulate" / "mc.parquet"
    joined = read_with_features(raw, out / "features" / "mc.parquet")
    assert {"PRI_met", "DER_mass_vis", "NEW_x_tau", "Weight", "Label"} <= set(joined.columns)
    assert joined["DER_mass_vis"].dtype == np.float64  # float32 on disk, float64 in memory
    # float64 storage on request: the same values as computed
    stage_features({"mc": raw, "templates": raw, "observed": raw}, tmp_path,
                   HiggsRunConfig(**SMALL, feature_precision="float64"))
    exact = read_with_features(raw, tmp_path / "mc.parquet")
    # the default storage rounds to FEATURE_SIGNIFICAND_BITS (relative error <= 2**-(bits+1)),
    # float32 to float32's own precision
    from rediscovery.higgs.pipeline import FEATURE_SIGNIFICAND_BITS

    bound = 2.0 ** -(FEATURE_SIGNIFICAND_BITS + 1)
    rel = np.abs(joined["DER_mass_vis"] / exact["DER_mass_vis"] - 1).max()
    assert 2.0 ** -24 < rel <= bound * (1 + 1e-6)
    stage_features({"mc": raw, "templates": raw, "observed": raw}, tmp_path / "f32",
                   HiggsRunConfig(**SMALL, feature_precision="float32"))
    f32 = read_with_features(raw, tmp_path / "f32" / "mc.parquet")
    assert np.allclose(exact["DER_mass_vis"], f32["DER_mass_vis"], rtol=1e-7, equal_nan=True)
    assert np.isnan(joined["DER_mass_jet_jet"]).equals(np.isnan(exact["DER_mass_jet_jet"]))
    # a replacement features stage may write whole tables: its columns win
    full = exact.copy()
    full["PRI_met"] = full["PRI_met"] * 2
    write_events(full, tmp_path / "full.parquet")
    again = read_with_features(raw, tmp_path / "full.parquet")
    assert np.array_equal(again["PRI_met"], 2 * read_events(raw)["PRI_met"], equal_nan=True)
    # tables of different events are refused
    write_events(pd.DataFrame(exact.iloc[1:]), tmp_path / "short.parquet")
    with pytest.raises(InputError, match="row by row"):
        read_with_features(raw, tmp_path / "short.parquet")


# -- the fit stage's yields and correlations (fit/postfit.json) ------------------------------
def test_postfit_json_against_the_templates(finished_run):
    """Pre-fit yields are the histogram sums of the template weights; post-fit yields are the
    templates scaled by μ̂ and γ̂ of fit.json; the correlation matrix is the covariance's."""
    import numpy as np
    import pandas as pd

    out, results = finished_run
    post = json.loads((out / "fit" / "postfit.json").read_text())
    tpl = pd.read_parquet(out / "evaluate" / "mc_scores.parquet")
    edges = np.asarray(results["edges"])
    x = np.clip(tpl["score"].to_numpy(), edges[0], edges[-1])
    w = tpl["Weight"].to_numpy()
    sig = tpl["Label"].to_numpy() == 1
    groups = {"signal": sig, **{p: (~sig) & (tpl["Process"].astype(str) == p).to_numpy()
                                for p in tpl.loc[~sig, "Process"].astype(str).unique()}}
    assert set(post["processes"]) == set(groups)
    for name, m in groups.items():
        h = np.histogram(x[m], edges, weights=w[m])[0]
        h2 = np.histogram(x[m], edges, weights=w[m] ** 2)[0]
        e = post["prefit"][name]
        assert e["bins"] == pytest.approx(h, rel=1e-9)
        assert e["total"] == pytest.approx(w[m].sum(), rel=1e-9)
        assert e["error"] == pytest.approx(np.sqrt(h2.sum()), rel=1e-9)
    assert post["prefit"]["total"]["total"] == pytest.approx(w.sum(), rel=1e-9)
    obs = pd.read_parquet(out / "evaluate" / "observed_scores.parquet")["score"].to_numpy()
    counts = np.histogram(np.clip(obs, edges[0], edges[-1]), edges)[0]
    assert post["observed"]["bins"] == counts.tolist()
    assert post["observed"]["total"] == results["n_observed"]
    # post-fit: no α's here, so ν_p,b = (μ̂ if signal) · γ̂_b · template_p,b
    gam = np.array([results["nuisances"].get(f"gamma_stat_{i}", {"value": 1.0})["value"]
                    for i in range(results["n_bins"])])
    for name in groups:
        scale = results["mu_hat"] if name == "signal" else 1.0
        expect = scale * gam * np.asarray(post["prefit"][name]["bins"])
        assert post["postfit"][name]["bins"] == pytest.approx(expect, rel=1e-9)
    # a fit with a free normalisation per bin (γ) nearly saturates: totals agree within the
    # post-fit uncertainty plus the Poisson error of the data
    tot = post["postfit"]["total"]
    assert abs(tot["total"] - counts.sum()) < 3 * np.hypot(tot["error"], np.sqrt(counts.sum()))
    # correlation: symmetric, unit diagonal, the covariance normalised; errors = fit.json's
    c, cov = np.asarray(post["correlation"]), np.asarray(post["covariance"])
    assert np.allclose(c, c.T) and np.allclose(np.diag(c), 1.0) and np.all(np.abs(c) <= 1)
    sd = np.sqrt(np.diag(cov))
    assert np.allclose(c, cov / np.outer(sd, sd)) and np.allclose(sd, post["errors"])
    assert post["parameters"][0] == "mu"
    for name, err in zip(post["parameters"][1:], post["errors"][1:], strict=True):
        assert err == pytest.approx(results["nuisances"][name]["error"], rel=1e-6)
    # the parabolic error of μ is close to the profile-likelihood interval
    half = 0.5 * (results["mu_68"][1] - results["mu_68"][0])
    assert sd[0] == pytest.approx(half, rel=0.1)
    # the post-fit signal error is dominated by μ̂'s: σ_μ · S / μ̂ ... within MC-stat γ's
    s_post = post["postfit"]["signal"]
    assert s_post["error"] == pytest.approx(sd[0] * s_post["total"] / results["mu_hat"],
                                            rel=0.1)
    hs = post["high_score"]
    assert hs["score_min"] == pytest.approx(edges[-hs["n_bins"] - 1])
    assert hs["observed"] == counts[-hs["n_bins"]:].sum()
    assert hs["postfit"]["signal"]["total"] == pytest.approx(
        sum(s_post["bins"][-hs["n_bins"]:]), rel=1e-9)


def test_yields_one_bin_saturated_and_analytic():
    """One bin, μ only: μ̂ = (n − b)/s, σ_μ = √n/s, so the post-fit total is n ± √n."""
    import numpy as np

    from rediscovery.higgs.stats import BinnedModel, fit
    from rediscovery.higgs.stats.score_fit import yields_and_correlations

    model = BinnedModel(np.array([50.0]), {"bkg": np.array([400.0])})
    n = np.array([480.0])
    res = fit(model, n, limit=False, significance=False)
    out = yields_and_correlations(model, n, res)
    assert res.mu_hat == pytest.approx(80 / 50, rel=1e-5)
    assert out["postfit"]["total"]["total"] == pytest.approx(480.0, rel=1e-6)
    assert out["postfit"]["total"]["error"] == pytest.approx(np.sqrt(480.0), rel=1e-3)
    assert out["postfit"]["signal"]["error"] == pytest.approx(np.sqrt(480.0), rel=1e-3)
    assert out["postfit"]["bkg"]["error"] == 0.0
    assert out["prefit"]["signal"]["error"] == 0.0  # no MC statistics given
    assert out["correlation"] == [[1.0]] and out["parameters"] == ["mu"]


def test_postfit_errors_match_sampling_the_covariance():
    """With a normalisation systematic and MC-stat γ's, linear propagation of the covariance
    agrees with the spread of the yields over parameters drawn from N(θ̂, C)."""
    import numpy as np

    from rediscovery.higgs.stats import BinnedModel, NormSys, fit
    from rediscovery.higgs.stats.score_fit import yields_and_correlations

    x = np.linspace(0.1, 0.9, 5)
    model = BinnedModel(10 * x**2 + 1, {"a": 100 * (1 - x) + 5, "b": 50 * (1 - x) + 5},
                        background_sumw2={"a": 100 * (1 - x) + 5},
                        systematics=[NormSys("n", {"b": (0.9, 1.1)})],
                        edges=np.linspace(0, 1, 6))
    obs = np.random.default_rng(0).poisson(model.expected(1.0)).astype(float)
    res = fit(model, obs, limit=False, significance=False, impacts=False)
    out = yields_and_correlations(model, obs, res)
    names = out["parameters"]
    assert names == list(model.parameter_names)
    # small steps (ε² C): the linearisation itself is what is tested; with the full C the
    # spread differs by ~5% for the process with the normsys (its interpolation polynomial
    # is not linear over ±1σ of α), a known limit of linear propagation
    eps = 0.05
    draws = np.random.default_rng(1).multivariate_normal(
        out["bestfit"], eps**2 * np.asarray(out["covariance"]), size=20000)
    k = len(model.alpha_names)
    totals = {"signal": [], "b": [], "total": []}
    for t in draws:
        per = model.expected(t[0], {"n": t[1]}, t[1 + k:], per_sample=True)
        totals["signal"].append(per["signal"].sum())
        totals["b"].append(per["b"].sum())
        totals["total"].append(sum(v.sum() for v in per.values()))
    for key, vals in totals.items():
        assert out["postfit"][key]["error"] == pytest.approx(np.std(vals) / eps, rel=0.03), key
        assert abs(out["postfit"][key]["total"] - np.mean(vals)) < 0.1 * np.std(vals), key


# -- the report ---------------------------------------------------------------------------------
REPORT_SECTIONS = ["results", "yields", "postfit", "nuisances", "correlation", "scan",
                   "classifier", "provenance"]


def test_report_sections_in_order_without_raw_json(finished_run):
    from rediscovery.core.report_check import outline

    out, results = finished_run
    o = outline((out / "report.html").read_text(encoding="utf-8"))
    assert not o.problems, o.problems
    assert not o.external
    assert o.raw_json() == []
    assert o.sections == REPORT_SECTIONS
    assert o.collapsed == ["provenance"]
    # the first screen: one sentence with μ̂ (rounded to its uncertainty) and significances
    lo, hi = results["mu_68"]
    mu = results["mu_hat"]
    from rediscovery.core.report import round_to_uncertainty

    mu_text = round_to_uncertainty(mu, hi - mu, mu - lo)[0]
    assert o.headline.startswith(f"μ̂ = {mu_text}")
    # the stat/syst split; the "syst" part of this fit is the templates' MC statistics only
    assert "(stat " in o.headline and "template MC stat " in o.headline
    assert f"{results['z_discovery_observed']:.1f}σ" in o.headline
    assert f"{results['z_discovery_expected']:.1f}σ" in o.headline
    res_text = o.section_text["results"]
    for words in ("signal strength", "statistical", "systematic", "observed discovery",
                  "expected discovery", "95% CL upper limit", "AUC", "best AMS", "bins",
                  "observed events", "converged"):
        assert words in res_text, words
    yields = o.section_text["yields"]
    for label in ("H→ττ (signal)", "W+jets", "Z→ττ", "tt̄", "diboson", "total background",
                  "observed", "pre-fit", "post-fit"):
        assert label in yields, label
    by_section = {}
    for im in o.images:
        by_section.setdefault(im["section"], []).append(im["source"])
    assert by_section["postfit"][0] == "fit/postfit.png"
    assert {"fit/impacts.png", "fit/pulls.png"} <= set(by_section["nuisances"])
    assert by_section["correlation"] == ["fit/correlation.png"]
    assert by_section["scan"] == ["fit/likelihood_scan.png"]
    assert {"train/roc.png", "train/scores.png", "train/ams.png",
            "train/calibration.png"} <= set(by_section["classifier"])
    assert "MC-statistics" in o.section_text["nuisances"]
    prov = o.section_text["provenance"]
    for words in ("Configuration", "seed", "version: numpy", "SHA-256", "Stages", "time [s]"):
        assert words in prov, words


def test_report_builder_found_without_the_pipeline_registered(finished_run, tmp_path):
    """write_report on a finished run picks the Higgs builder from config.yaml even when no
    builder is registered (a fresh process that never imported the pipeline)."""
    from rediscovery.core import report as core_report
    from rediscovery.core.report_check import outline

    out, _ = finished_run
    saved = core_report._BUILDERS.pop("higgs")
    try:
        rep = core_report.build_report(out, title="again")
        assert core_report._BUILDERS["higgs"] is saved
    finally:
        core_report._BUILDERS["higgs"] = saved
    assert rep.headline.startswith("μ̂ = ")
    text = core_report.render_report(rep, out)
    assert outline(text).sections == REPORT_SECTIONS


@pytest.mark.skipif(__import__("rediscovery.core.report_check", fromlist=["x"])
                    .chromium_binary() is None,
                    reason="no chromium binary on PATH (apt-get install chromium): the report "
                           "is not checked in a browser")
def test_report_renders_in_headless_chromium(finished_run):
    from rediscovery.core.report_check import browser_check

    out, _ = finished_run
    res = browser_check(out / "report.html")
    assert res.errors == [] and res.console == []
    n_png = len(list(out.rglob("*.png")))
    assert len(res.images) == n_png and not res.broken_images, res.broken_images
    assert all(im["naturalWidth"] > 100 for im in res.images)
    assert res.details == 1


# -- closure on the run's own templates -----------------------------------------------------------
@pytest.mark.parametrize("mu", [0.0, 1.0, 3.0])
def test_asimov_data_from_the_runs_templates_return_mu(finished_run, mu):
    """Asimov data (the expected counts, CCGV sec. 3.2) built from the run's own template model
    at μ = 0, 1 and 3 give back μ̂ = μ to 1e-3, with the run's binning and the fit of the run
    (Barlow–Beeston-lite MC-statistics factors included)."""
    import pandas as pd

    from rediscovery.higgs.stats.histograms import model_from_scores
    from rediscovery.higgs.stats.inference import asimov_data, interval, mle

    out, results = finished_run
    mc = pd.read_parquet(out / "evaluate" / "mc_scores.parquet")
    model, _ = model_from_scores(mc, edges=results["edges"])
    assert model.n_bins == results["n_bins"]
    data = asimov_data(model, mu)
    fit = mle(model, data)
    assert fit.converged
    assert fit.mu_hat == pytest.approx(mu, abs=1e-3)
    iv = interval(model, data, mle_result=fit)
    assert iv.mu_lo < mu < iv.mu_hi


def test_results_split_the_uncertainty_into_stat_and_the_rest(finished_run):
    _, results = finished_run
    split = results["mu_uncertainty"]
    lo, hi = results["mu_68"]
    slo, shi = results["mu_stat_68"]
    mu = results["mu_hat"]
    assert split["total"] == pytest.approx([mu - lo, hi - mu], rel=1e-12)
    assert split["stat"] == pytest.approx([mu - slo, shi - mu], rel=1e-12)
    for t, s, y in zip(split["total"], split["stat"], split["syst"], strict=True):
        assert 0 < s <= t and t**2 == pytest.approx(s**2 + y**2, rel=1e-9)
    assert split["syst_source"] == "template MC statistics"  # only gamma_stat_* in this fit


# last in the module: it damages the shared run (and repairs it by re-running)
def test_truncated_output_of_the_run_is_not_trusted(finished_run, caplog):
    """A truncated simulate/mc.parquet re-runs simulate (its size and SHA-256 recorded in the
    manifest no longer match); it comes out byte-identical, so the later stages are skipped
    and results.json is as in the clean run."""
    import logging

    out, _ = finished_run
    clean = (out / "results.json").read_bytes()
    mc = out / "simulate" / "mc.parquet"
    mc.write_bytes(mc.read_bytes()[:1000])
    with caplog.at_level(logging.INFO, logger="rediscovery.core"):
        run_pipeline(out, HiggsRunConfig(**SMALL))
    assert f"its output {mc} has 1000 bytes" in caplog.text
    ran = [r.getMessage() for r in caplog.records if r.getMessage().endswith(": running")]
    assert ran == ["stage simulate: running"]
    assert (out / "results.json").read_bytes() == clean
    stages = json.loads((out / "manifest.json").read_text())["stages"]
    assert {s["status"] for s in stages.values()} == {"done"}


@pytest.mark.parametrize("mu_true", [0.0, 3.0])
def test_whole_chain_on_simulated_pseudo_data_finds_the_hidden_mu(tmp_path, mu_true):
    """The complete chain (new MC, templates, pseudo-data with a hidden μ, classifier,
    binning, fit) on a small configuration: the fit converges and μ̂ lies within 3 σ of the
    truth at "no Higgs" and at three times the Standard Model (benchmarks/higgs_linearity.py
    measures the calibration over many seeds)."""
    from rediscovery.core.unblind import unblind

    out = tmp_path / "run"
    run_pipeline(out, HiggsRunConfig(**{**SMALL, "seed": 11, "mu_true": mu_true}))
    row = next(r for r in unblind(out) if r["parameter"] == "mu")
    assert row["true"] == mu_true
    assert abs(row["pull"]) < 3.0, row
    assert row["lo68"] < row["estimate"] < row["hi68"]
