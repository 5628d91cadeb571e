"""The real commands: cmb-simulate → cmb-mapmake (binned, destriped, gls) → cmb-map-check on
a tiny TOD (2 detectors, 0.02 day, nside 32), and their refusals."""

from __future__ import annotations

import json
from pathlib import Path

import healpy as hp
import numpy as np
import pytest

MAPMAKE = "rediscovery.cosmo.cmb.mapmaking:load_tod"


@pytest.fixture(scope="module")
def simulated(tmp_path_factory) -> Path:
    from rediscovery.cli import main

    out = tmp_path_factory.mktemp("cmbtod") / "sim"
    code = main(["-q", "cosmo", "cmb-simulate", "--out", str(out), "--seed", "3", "--nside",
                 "32", "--days", "0.02", "--detectors", "2", "--no-progress"])
    assert code == 0
    return out


def test_simulate_writes_tod_and_hidden_truth(simulated: Path) -> None:
    from rediscovery.cosmo.cmb.tod import TODFile

    with TODFile(simulated / "tod.h5") as f:
        assert f.n_samples == 17_280 and len(f.detectors) == 2
    truth = json.loads((simulated / "truth" / "truth.json").read_text())
    assert truth["hidden"] and truth["seed"] == 3 and 60 <= truth["cosmology"]["H0"] <= 80
    sky = hp.read_map(str(simulated / "truth" / "truth_sky.fits"), field=(0, 1))
    assert sky.shape == (2, 12 * 32**2) and sky[0].std() < sky[1].std()


@pytest.mark.parametrize("method", ["binned", "destriped", "gls"])
def test_mapmake_and_check(simulated: Path, tmp_path: Path, method: str, run_cli) -> None:
    out = tmp_path / method
    code, err = run_cli(["cosmo", "cmb-mapmake", simulated / "tod.h5", "--out", out,
                         "--nside", "32", "--method", method, "--no-plots"])
    assert code == 0, err
    m = hp.read_map(str(out / "map.fits"))
    hits = hp.read_map(str(out / "hits.fits"))
    assert np.all(m[hits == 0] == hp.UNSEEN) and hits.sum() == 2 * 17_280
    info = json.loads((out / "mapmaking.json").read_text())
    assert info["method"] == method and info["nside"] == 32
    code, err = run_cli(["cosmo", "cmb-map-check", out, "--truth", simulated / "truth",
                         "--out", tmp_path / "check"])
    assert code == 0, err
    res = json.loads((tmp_path / "check" / "residuals.json").read_text())
    assert len(res) == 1 and (tmp_path / "check" / "residuals.png").is_file()


def test_mapmake_streamed_equals_in_memory(simulated: Path, tmp_path: Path, run_cli) -> None:
    """--stream reads the TOD chunk by chunk (destripe_file): the same map as --in-memory."""
    maps = {}
    for flag in ("--stream", "--in-memory"):
        out = tmp_path / flag
        code, err = run_cli(["cosmo", "cmb-mapmake", simulated / "tod.h5", "--out", out,
                             "--nside", "32", "--no-plots", "--tol", "1e-10", flag])
        assert code == 0, err
        maps[flag] = hp.read_map(str(out / "map.fits"))
        info = json.loads((out / "mapmaking.json").read_text())
        assert info.get("streamed", False) is (flag == "--stream")
    seen = maps["--in-memory"] != hp.UNSEEN
    np.testing.assert_array_equal(maps["--stream"] != hp.UNSEEN, seen)
    diff = maps["--stream"][seen] - maps["--in-memory"][seen]
    assert np.abs(diff).max() < 1e-8 * maps["--in-memory"][seen].std()


def test_mapmake_writes_plots(simulated: Path, tmp_path: Path, run_cli) -> None:
    code, err = run_cli(["cosmo", "cmb-mapmake", simulated / "tod.h5", "--out", tmp_path,
                         "--nside", "32", "--baseline-seconds", "2"])
    assert code == 0, err
    assert (tmp_path / "maps.png").is_file() and (tmp_path / "cg.png").is_file()


@pytest.mark.parametrize(("argv", "fragment"), [
    (["--nside", "48"], "--nside 48: expected a power of 2"),
    (["--method", "madam"], "--method 'madam': expected one of binned, destriped, gls"),
])
def test_mapmake_refusals(simulated: Path, tmp_path: Path, run_cli, forbid, argv,
                          fragment) -> None:
    forbid(MAPMAKE)
    code, err = run_cli(["cosmo", "cmb-mapmake", simulated / "tod.h5", "--out", tmp_path / "m",
                         *argv])
    assert code == 2 and fragment in err, err


def test_mapmake_refuses_a_non_tod(tmp_path: Path, run_cli) -> None:
    bad = tmp_path / "x.h5"
    bad.write_bytes(b"\x00" * 100)
    code, err = run_cli(["cosmo", "cmb-mapmake", bad, "--out", tmp_path / "m"])
    assert code == 2 and "not a readable HDF5 file" in err and str(bad) in err, err
