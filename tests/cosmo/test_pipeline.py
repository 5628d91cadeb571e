"""The whole cosmology chain in a run directory (rediscovery.cosmo.pipeline, `cosmo run`)."""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path

import pytest

from rediscovery.cli import main
from rediscovery.core.errors import ConfigError
from rediscovery.cosmo.pipeline import CosmoRunConfig, read_cmb_priors, run_pipeline

# small and fast: 25 SNe, short chains (not converged: the flags must say so, nothing fails);
# no CMB-only illustration chain; the CMB as mock distance priors (the CMB branch from
# time-ordered data: test_pipeline_cmb.py)
SMALL = {"seed": 5, "n_sne": 25, "sn_steps": 600, "joint_steps": 600, "n_walkers": 16,
         "n_workers": 1, "cmb_only_in_figure": False, "progress": False, "cmb": "priors"}

STAGE_NAMES = ["simulate", "lightcurves", "sn_fit", "joint"]


@pytest.fixture(autouse=True)
def _restore_logging():
    """`main` re-configures the root logger onto the captured stderr; undo after each test."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("cosmo") / "run"
    results = run_pipeline(out, CosmoRunConfig(**SMALL))
    return out, results


def test_run_writes_the_results_contract(finished_run):
    out, results = finished_run
    assert json.loads((out / "results.json").read_text()) == results
    for name in ("H0", "Om", "OL", "Ok", "ombh2"):
        s = results["joint"][name]
        assert s["lo68"] < s["mean"] < s["hi68"] and s["std"] > 0, name
    for name in ("Om", "OL"):
        assert set(results["sn_only"][name]) == {"mean", "std", "lo68", "hi68"}
    assert 0.0 <= results["p_omega_lambda_positive"] <= 1.0
    for key in ("converged", "converged_joint", "converged_sn"):
        assert isinstance(results[key], bool), key
    assert results["n_sne"]["n_fitted"] == SMALL["n_sne"]
    # sense only (25 SNe, unconverged short chains; the closure test is `unblind` on the
    # default run): H0 = 100 sqrt(omega_m / Omega_m) stays within the prior's reach
    assert 30 < results["joint"]["H0"]["mean"] < 200
    html = (out / "report.html").read_text(encoding="utf-8")
    # every figure of the run is embedded in the self-contained report, once
    embedded = re.findall(r"<img src='data:image/png;base64,[^']+' alt='[^']+' "
                          r"data-source='([^']+)'", html)
    assert embedded and sorted(embedded) == sorted(p.relative_to(out).as_posix()
                                                   for p in out.rglob("*.png"))


def test_report_sections_in_order_without_raw_json(finished_run):
    from rediscovery.core.report import round_to_uncertainty
    from rediscovery.core.report_check import outline

    out, _ = finished_run
    o = outline((out / "report.html").read_text(encoding="utf-8"))
    assert not o.problems and not o.external, o.problems
    assert o.raw_json() == []
    assert o.sections == ["results", "figures", "sn-posterior", "details", "provenance"]
    assert o.collapsed == ["provenance"]
    # the first screen: the joint result with 68% intervals and P(Ω_Λ > 0), rounded to the
    # uncertainty (medians of the posterior files)
    post = json.loads((out / "joint" / "joint_posterior.json").read_text())
    head = o.headline
    assert head.startswith("Supernovae + CMB")
    for name, symbol in (("H0", "H0 = "), ("Om", "Ωm = "), ("OL", "ΩΛ = "), ("Ok", "Ωk = ")):
        s = post[name]
        med = round_to_uncertainty(s["median"], s["hi68"] - s["median"],
                                   s["median"] - s["lo68"])[0]
        assert f"{symbol}{med}" in head, (name, head)
    assert "km/s/Mpc" in head and "P(ΩΛ > 0)" in head and "68%" in head
    assert "NOT converged" in o.text  # short chains: the report says so on the first screen
    res_text = o.section_text["results"]
    for words in ("SN + CMB", "SN only", "[km/s/Mpc]", "Δχ²", "P(Ω Λ > 0)"):
        assert words in res_text, words
    sources = {im["section"]: [] for im in o.images}
    for im in o.images:
        sources[im["section"]].append(im["source"])
    assert sources["figures"] == ["joint/om_ol_joint.png", "sn_fit/hubble_diagram.png"]
    assert sources["sn-posterior"] == ["sn_fit/om_ol.png", "sn_fit/triangle.png"]
    for words in ("α (stretch", "β (colour", "walkers", "R̂"):
        assert words in o.section_text["details"], words
    assert "seed" in o.section_text["provenance"] and "SHA-256" in o.section_text["provenance"]


@pytest.mark.skipif(__import__("rediscovery.core.report_check", fromlist=["x"])
                    .chromium_binary() is None,
                    reason="no chromium binary on PATH (apt-get install chromium): the report "
                           "is not checked in a browser")
def test_report_renders_in_headless_chromium(finished_run):
    from rediscovery.core.report_check import browser_check

    out, _ = finished_run
    res = browser_check(out / "report.html")
    assert res.errors == [] and res.console == []
    assert len(res.images) == len(list(out.rglob("*.png"))) and not res.broken_images
    assert res.details == 1


def test_manifest_and_truth_is_never_an_input(finished_run):
    out, _ = finished_run
    manifest = json.loads((out / "manifest.json").read_text())
    assert list(manifest["stages"]) == STAGE_NAMES
    assert all(manifest["stages"][s]["status"] == "done" for s in STAGE_NAMES)
    assert manifest["seed"] == SMALL["seed"]
    truth = json.loads((out / "simulate" / "truth.json").read_text())
    assert {"H0", "Om", "OL", "ombh2", "Ok"} <= set(truth)
    assert truth["ombh2"] == pytest.approx(0.02236)  # Planck 2018 (Chen et al. 2019)
    for st in manifest["stages"].values():
        assert not any("truth" in p for p in st["inputs"])


def test_cmb_priors_round_trip(finished_run, tmp_path):
    from rediscovery.core.errors import InputError

    out, _ = finished_run
    like = read_cmb_priors(out / "simulate" / "cmb_distance_priors.json")
    assert like.mean.shape == (3,) and like.cov.shape == (3, 3)
    bad = tmp_path / "cmb.json"
    bad.write_text(json.dumps({"mean": [1.0, 2.0]}))
    with pytest.raises(InputError, match="cov"):
        read_cmb_priors(bad)


def test_rerun_skips_and_force_reruns_downstream(finished_run):
    out, _ = finished_run
    before = json.loads((out / "manifest.json").read_text())["stages"]
    run_pipeline(out, CosmoRunConfig(**{**SMALL, "progress": True}))  # presentation only
    after = json.loads((out / "manifest.json").read_text())["stages"]
    assert all(after[s]["started"] == before[s]["started"] for s in before)
    assert run_pipeline(out, CosmoRunConfig(**SMALL), until="lightcurves") == {}
    run_pipeline(out, CosmoRunConfig(**SMALL), force=["sn_fit"])
    again = json.loads((out / "manifest.json").read_text())["stages"]
    assert again["sn_fit"]["started"] != before["sn_fit"]["started"]
    assert again["joint"]["started"] != before["joint"]["started"]
    assert again["lightcurves"]["started"] == before["lightcurves"]["started"]


def test_unblind_the_run(finished_run, capsys):
    out, _ = finished_run
    assert main(["unblind", str(out)]) == 0
    printed = capsys.readouterr().out
    for name in ("H0", "Om", "OL"):
        assert name in printed


def test_bad_stage_names(tmp_path):
    with pytest.raises(ConfigError, match="unknown stage"):
        run_pipeline(tmp_path / "r", CosmoRunConfig(**SMALL), force=["fit"])
    with pytest.raises(ConfigError, match=r"package\.module:function"):
        run_pipeline(tmp_path / "r", CosmoRunConfig(**SMALL), replace={"joint": "no_colon"})
    assert not (tmp_path / "r").exists()  # rejected before anything is written


def test_cli_rejects_bad_configuration(tmp_path, capsys):
    assert main(["cosmo", "run", "--out", str(tmp_path / "r"), "--n-sne", "3"]) == 2
    err = capsys.readouterr().err
    assert "n_sne" in err and "10" in err and len(err.strip().splitlines()) == 1
    cfg = tmp_path / "c.yaml"
    cfg.write_text("cosmo:\n  n_snes: 30\n")
    assert main(["cosmo", "run", "--out", str(tmp_path / "r"), "--config", str(cfg)]) == 2
    assert "n_snes" in capsys.readouterr().err
    assert main(["cosmo", "run", "--out", str(tmp_path / "r"), "--stage", "joint"]) == 2
    assert "STAGE=package.module:function" in capsys.readouterr().err


def test_a_team_replaces_the_joint_stage(finished_run, monkeypatch):
    # last test on the shared run (it changes the joint outputs); in place, because a copied
    # run directory re-runs every stage (input paths enter the fingerprints)
    out, _ = finished_run
    monkeypatch.syspath_prepend(str(Path(__file__).parent))
    before = json.loads((out / "manifest.json").read_text())["stages"]
    results = run_pipeline(out, CosmoRunConfig(**SMALL),
                           replace={"joint": "_custom_cosmo_stage:fixed_joint"})
    assert results["joint"]["H0"]["mean"] == 70.0
    stages = json.loads((out / "manifest.json").read_text())["stages"]
    assert stages["joint"]["config"]["function"] == "_custom_cosmo_stage:fixed_joint"
    assert stages["joint"]["results"]["team"] == "fixed"
    assert stages["sn_fit"]["started"] == before["sn_fit"]["started"]
