"""``cosmo run --from images``: images → detect → photometry stages ahead of the light-curve
fits, in a run directory (tiny survey, stopped after the photometry)."""

from __future__ import annotations

import json

from rediscovery.cli import main
from rediscovery.cosmo.pipeline import STAGES, CosmoRunConfig, stages_for
from rediscovery.cosmo.sn.io import read_lightcurves, read_redshifts
from rediscovery.cosmo.sn.photometry.validation import run_summary

TINY = {"n_sne": 10, "image_fields": 1, "image_epochs": 5, "image_size": 192,
        "image_bands": "r", "sne_per_field": 4, "z_max": 0.4, "n_workers": 1}


def test_stage_lists():
    assert list(stages_for(CosmoRunConfig(cmb="priors"))) == list(STAGES)
    img = stages_for(CosmoRunConfig(sn_source="images", cmb="priors"))
    assert list(img) == ["simulate", "images", "detect", "photometry", "lightcurves", "sn_fit",
                         "joint"]
    # the CMB branch (default) runs after the SN fit, before the joint fit
    assert list(stages_for(CosmoRunConfig(sn_source="images")))[-5:] == [
        "tod", "map", "spectrum", "cmb_fit", "joint"]
    assert img["lightcurves"][1] == {"lightcurves": "photometry/lightcurves.csv",
                                     "redshifts": "photometry/redshifts.csv"}


def test_run_from_images_until_photometry(tmp_path, capsys):
    out = tmp_path / "run"
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text("cosmo:\n" + "".join(f"  {k}: {v}\n" for k, v in TINY.items()))
    assert main(["cosmo", "run", "--out", str(out), "--config", str(cfg), "--from", "images",
                 "--until", "photometry", "--no-progress", "--seed", "4"]) == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert list(manifest["stages"]) == ["simulate", "images", "detect", "photometry"]
    assert all(s["status"] == "done" for s in manifest["stages"].values())
    lc = read_lightcurves(out / "photometry" / "lightcurves.csv")
    zs = read_redshifts(out / "photometry" / "redshifts.csv")
    assert len(zs) >= 1 and set(lc["sn_id"]) == set(zs["sn_id"])
    assert (out / "images" / "truth.json").is_file()  # hidden, beside the images
    # the stages' figures are in the run's report
    report = (out / "report.html").read_text(encoding="utf-8")
    for png in ("detect/cutouts.png", "photometry/lightcurves.png"):
        assert (out / png).is_file() and png in report
    _check_unblind(out, capsys)
    # the image settings do not enter a default run's fingerprints; an unknown source fails
    assert main(["cosmo", "run", "--out", str(tmp_path / "r2"), "--from", "pixels"]) == 2
    assert "--from" in capsys.readouterr().err


def _check_unblind(out, capsys):
    """Detection efficiency and purity of the run against images/truth.json, as `rediscovery
    unblind` prints them."""
    assert run_summary(out.parent) is None  # not a run from images
    s = run_summary(out)
    truth = json.loads((out / "images" / "truth.json").read_text())
    assert s["n_sne"] == len(truth["sne"]) == 4 and s["n_field_epochs"] == 5
    for key in ("efficiency_vs_peak_mag", "efficiency_vs_z"):  # every SN in one bin
        assert sum(b["n"] for b in s[key]) == 4
        assert sum(b["found"] for b in s[key]) == s["n_found"]
    assert s["n_sn_ia"] + s["n_impostor"] + s["n_false"] == s["n_candidates"]
    assert s["n_found"] >= 2 and s["n_false"] == 0
    assert s["purity_ia"] == s["n_sn_ia"] / s["n_candidates"]
    pulls = {r["snr_bin"]: r for r in s["photometry"]}
    assert pulls["all"]["n"] == 5 * s["n_sn_ia"] and 0.6 < pulls["all"]["width"] < 1.5
    # `rediscovery unblind` prints the table beside the cosmology (a posterior stands in for
    # the fits that this run stopped before)
    post = {"Om": {"mean": 0.3, "std": 0.1, "median": 0.3, "lo68": 0.2, "hi68": 0.4}}
    (out / "sn_fit").mkdir()
    (out / "sn_fit" / "sn_posterior.json").write_text(json.dumps({"parameters": post}))
    capsys.readouterr()
    assert main(["unblind", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "SNe Ia found" in printed and f"{s['n_found']}/4" in printed
    assert "on SNe Ia (purity)" in printed and "false candidates per epoch image" in printed
