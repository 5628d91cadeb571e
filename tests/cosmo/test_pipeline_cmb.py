"""The CMB branch of `cosmo run` (rediscovery.cosmo.pipeline_cmb): tod → map → spectrum →
cmb_fit, and the joint fit with the spectrum likelihood, on tiny sizes."""

from __future__ import annotations

import json
import logging
import math

import numpy as np
import pytest

from rediscovery.cli import main
from rediscovery.cosmo.pipeline import CosmoRunConfig, run_pipeline, stages_for
from rediscovery.cosmo.pipeline_cmb import CMB_FIXED, beam_lmax

# tiny and fast (not converged: the flags say so): 25 SNe; a 2.4-hour scan of two detectors at
# nside 64 with a 60' beam (ℓ ≤ 128, six bands), four simulations for the errors
TINY = {
    "seed": 3,
    "n_sne": 25,
    "sn_steps": 400,
    "joint_steps": 300,
    "n_walkers": 16,
    "n_workers": 1,
    "progress": False,
    "cmb_nside": 64,
    "cmb_fwhm": 60.0,
    "cmb_days": 0.1,
    "cmb_detectors": 2,
    "cmb_n_sims": 4,
    "cmb_steps": 300,
}


@pytest.fixture(autouse=True)
def _restore_logging():
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.fixture(scope="module")
def cmb_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("cosmo_cmb") / "run"
    return out, run_pipeline(out, CosmoRunConfig(**TINY))


def test_beam_lmax_closed_form():
    # b_l^2 = exp(-l^2 sigma^2) = 0.1 at l = sqrt(ln 10)/sigma; 30' FWHM -> sigma = 0.003705 rad
    sigma = math.radians(0.5) / math.sqrt(8 * math.log(2))
    assert beam_lmax(30.0, 1024) == int(math.sqrt(math.log(10)) / sigma) == 409
    assert beam_lmax(30.0, 128) == 256  # the pixels limit first


def test_stage_list_and_switch():
    assert list(stages_for(CosmoRunConfig())) == [
        "simulate",
        "lightcurves",
        "sn_fit",
        "tod",
        "map",
        "spectrum",
        "cmb_fit",
        "joint",
    ]
    assert "tod" not in stages_for(CosmoRunConfig(cmb="priors"))


def test_cmb_branch_results_truth_and_report(cmb_run):
    out, results = cmb_run
    manifest = json.loads((out / "manifest.json").read_text())
    assert all(s["status"] == "done" for s in manifest["stages"].values())
    # the same hidden universe drives the SN and the CMB simulations
    sn_truth = json.loads((out / "simulate" / "truth.json").read_text())
    cmb_truth = json.loads((out / "tod" / "truth" / "truth.json").read_text())["cosmology"]
    for k in ("H0", "Om", "OL", "ombh2"):
        assert cmb_truth[k] == pytest.approx(sn_truth[k], rel=1e-12), k
    assert {k: cmb_truth[k] for k in CMB_FIXED} == CMB_FIXED
    # the truth is never a stage input
    for st in manifest["stages"].values():
        assert not any("truth" in str(p) for p in (st.get("inputs") or {}))
    # results: joint, SN-only and CMB-only rows; Ok derived, 1 - Om - OL - Omega_r
    for key, names in (
        ("joint", ("H0", "Om", "OL", "Ok")),
        ("cmb_only", ("H0", "Om", "OL", "Ok")),
        ("sn_only", ("Om", "OL")),
    ):
        for name in names:
            s = results[key][name]
            assert s["lo68"] < s["mean"] < s["hi68"] and s["std"] > 0, (key, name)
    post = json.loads((out / "joint" / "joint_posterior.json").read_text())
    assert post["cmb"] == "TT spectrum" and post["fixed"]["ns"] == CMB_FIXED["ns"]
    for flag in ("converged", "converged_cmb", "converged_joint", "converged_sn"):
        assert isinstance(results[flag], bool)
    # spectrum contract
    spec = np.genfromtxt(out / "spectrum" / "spectrum.csv", delimiter=",", names=True)
    assert list(spec.dtype.names)[:5] == ["ell_min", "ell_max", "ell_eff", "dl", "dl_err"]
    assert np.all(spec["dl_err"] > 0) and spec["ell_max"][-1] <= beam_lmax(60.0, 64)
    # the report shows the joint contours and the CMB branch's figures
    html = (out / "report.html").read_text(encoding="utf-8")
    for png in ("joint/om_ol_joint.png", "map/maps.png", "spectrum/spectrum.png"):
        assert (out / png).is_file() and png in html
    assert "CMB only (68% CI)" in html and "TT power spectrum" in html


def test_joint_contour_figure_data(cmb_run):
    """The (Ωm, ΩΛ) figure draws SN, CMB and joint regions and the flat line (plotted data)."""
    import matplotlib.pyplot as plt
    import pandas as pd

    from rediscovery.cosmo.plots import plot_om_ol_joint

    out, _ = cmb_run
    planes = {
        label: (c["Om"].to_numpy(), c["OL"].to_numpy())
        for label, c in (
            ("SN only", pd.read_parquet(out / "sn_fit" / "sn_chain.parquet")),
            ("CMB only", pd.read_parquet(out / "cmb_fit" / "cmb_chain.parquet")),
            ("SN + CMB", pd.read_parquet(out / "joint" / "joint_chain.parquet")),
        )
    }
    fig = plot_om_ol_joint(planes, title="t")
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any("flat" in t for t in labels)
    for label in planes:
        assert f"{label} (68/95%)" in labels
    x, y = ax.lines[0].get_data()
    np.testing.assert_allclose(y, 1 - x)
    plt.close(fig)


def test_unblind_compares_sn_cmb_and_joint(cmb_run, capsys):
    from rediscovery.core.unblind import unblind

    out, _ = cmb_run
    rows = {r["parameter"]: r for r in unblind(out)}
    for name in (
        "Om (joint)",
        "OL (joint)",
        "H0 (joint)",
        "Ok (joint)",
        "Om (cmb)",
        "OL (cmb)",
        "H0 (cmb)",
        "Ok (cmb)",
        "Om (sn)",
        "OL (sn)",
    ):
        assert name in rows, sorted(rows)
    truth = json.loads((out / "simulate" / "truth.json").read_text())
    assert rows["Om (cmb)"]["true"] == pytest.approx(truth["Om"])
    assert main(["unblind", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "Om (cmb)" in printed and "H0 (joint)" in printed
