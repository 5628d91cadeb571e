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


# -- polarisation: cmb-simulate --polarised → I, Q, U maps ------------------------------------

@pytest.fixture(scope="module")
def simulated_pol(tmp_path_factory) -> Path:
    """4 polarised detectors × 0.05 day (4.3 × 10⁴ samples each), sky at nside 32."""
    from rediscovery.cli import main

    out = tmp_path_factory.mktemp("cmbpol") / "sim"
    code = main(["-q", "cosmo", "cmb-simulate", "--out", str(out), "--seed", "4", "--nside",
                 "32", "--days", "0.05", "--detectors", "4", "--polarised", "--no-progress"])
    assert code == 0
    return out


def test_simulate_polarised_writes_psi_and_the_iqu_truth(simulated_pol: Path,
                                                         simulated: Path) -> None:
    from rediscovery.cosmo.cmb.tod import TODFile

    with TODFile(simulated_pol / "tod.h5") as f:
        assert all(d.polarised for d in f.detectors)
        assert next(f.iter_chunks()).psi is not None
    with TODFile(simulated / "tod.h5") as f:  # the default stays temperature only
        assert not any(d.polarised for d in f.detectors)
    truth = json.loads((simulated_pol / "truth" / "truth.json").read_text())
    assert truth["polarised"] and truth["hidden"]
    ee, te = np.array(truth["cl_ee_uK2"]), np.array(truth["cl_te_uK2"])
    # CAMB: EE ~ 1 % of TT at ℓ ~ 50, TE changes sign
    assert 0 < ee[50] < 0.05 * truth["cl_tt_uK2"][50] and te.min() < 0 < te.max()
    sky = hp.read_map(str(simulated_pol / "truth" / "truth_sky.fits"), field=None)
    assert sky.shape == (6, 12 * 32**2)
    assert 0 < sky[2].std() < 0.2 * sky[0].std()  # Q_SMOOTHED ≪ I


@pytest.mark.parametrize("method", ["binned", "destriped", "streamed", "gls"])
def test_mapmake_polarised_writes_iqu_maps(simulated_pol: Path, tmp_path: Path, method: str,
                                           run_cli) -> None:
    """Every method makes I, Q, U maps of a polarised TOD, equal to the library's."""
    from rediscovery.cosmo.cmb.mapmaking import (
        IQUMapResult,
        bin_tod_iqu,
        destripe_file_iqu,
        destripe_iqu,
        detector_weights,
        gls_map_iqu,
        load_tod,
        read_maps,
    )
    from rediscovery.cosmo.cmb.tod import TODFile

    out = tmp_path / method
    plots = ["--plots"] if method == "binned" else ["--no-plots"]
    argv = (["--method", "destriped", "--stream"] if method == "streamed"
            else ["--method", method])
    code, err = run_cli(["cosmo", "cmb-mapmake", simulated_pol / "tod.h5", "--out", out,
                         "--nside", "32", *argv, *plots])
    assert code == 0, err
    res = read_maps(out)
    assert isinstance(res, IQUMapResult) and res.maps.shape == (3, 12 * 32**2)
    assert res.variance.shape == (3, 12 * 32**2) and res.hits.sum() == 4 * 43_200
    assert res.info["stokes"] == "IQU" and res.good.sum() > 100
    assert res.info.get("streamed", False) is (method == "streamed")
    header = dict(hp.read_map(str(out / "map.fits"), h=True, field=None)[1])
    assert header["TTYPE2"] == "Q_STOKES" and header["POLCCONV"] == "COSMO"
    with TODFile(simulated_pol / "tod.h5") as f:  # the command = the library
        data = load_tod(f.iter_chunks(chunk=int(f.attrs["noise_block"])), 32,
                        f.nside_pointing, f.detectors, f.sample_rate)
        if method == "binned":
            ref = bin_tod_iqu(f.iter_chunks(), 32, f.nside_pointing,
                              detector_weights(f.detectors))
        elif method == "streamed":
            ref = destripe_file_iqu(f, 32, 10)[0]
            # and the in-memory destriper's maps, to CG's tolerance (10⁻⁶)
            memory = destripe_iqu(data, 10)[0]
            good = memory.good
            assert np.abs(res.maps[:, good] - memory.maps[:, good]).max() < (
                1e-4 * np.abs(memory.maps[:, good]).max())
        elif method == "gls":
            ref = gls_map_iqu(data, tol=1e-6, maxiter=300)
        else:
            ref = destripe_iqu(data, 10)[0]
    np.testing.assert_allclose(res.maps, ref.maps, rtol=1e-12)
    for png in ("maps.png", "maps_q.png", "maps_u.png"):
        assert (out / png).is_file() is (method == "binned")
    code, err = run_cli(["cosmo", "cmb-map-check", out, "--truth", simulated_pol / "truth",
                         "--out", tmp_path / "check"])
    assert code == 0, err
    checked = json.loads((tmp_path / "check" / "residuals.json").read_text())
    assert [k[-1] for k in checked] == ["I", "Q", "U"]


def test_map_check_needs_a_polarised_truth(simulated_pol: Path, simulated: Path,
                                           tmp_path: Path, run_cli) -> None:
    out = tmp_path / "m"
    code, err = run_cli(["cosmo", "cmb-mapmake", simulated_pol / "tod.h5", "--out", out,
                         "--nside", "32", "--method", "binned", "--no-plots"])
    assert code == 0, err
    code, err = run_cli(["cosmo", "cmb-map-check", out, "--truth", simulated / "truth",
                         "--out", tmp_path / "check"])
    assert code == 2 and "no column Q_SMOOTHED" in err and "--polarised" in err, err
