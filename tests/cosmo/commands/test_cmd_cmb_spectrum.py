"""The real commands: cmb-simulate → cmb-mapmake (two detector splits and the coadd) →
cmb-spectrum on a tiny TOD (4 detectors, 0.05 day, nside 32), and its refusals."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import healpy as hp
import numpy as np
import pytest


@pytest.fixture(scope="module")
def maps(tmp_path_factory) -> Path:
    from rediscovery.cli import main

    root = tmp_path_factory.mktemp("cmbspec")
    assert (
        main(
            [
                "-q",
                "cosmo",
                "cmb-simulate",
                "--out",
                str(root / "sim"),
                "--seed",
                "4",
                "--nside",
                "32",
                "--days",
                "0.05",
                "--detectors",
                "4",
                "--fknee",
                "0",
                "--no-progress",
            ]
        )
        == 0
    )
    for name, extra in (("map", []), ("s1", ["--split", "1/2"]), ("s2", ["--split", "2/2"])):
        assert (
            main(
                [
                    "-q",
                    "cosmo",
                    "cmb-mapmake",
                    str(root / "sim" / "tod.h5"),
                    "--out",
                    str(root / name),
                    "--nside",
                    "32",
                    "--method",
                    "binned",
                    "--no-plots",
                    *extra,
                ]
            )
            == 0
        )
    return root


def test_split_maps_partition_the_detectors(maps: Path) -> None:
    infos = [json.loads((maps / n / "mapmaking.json").read_text()) for n in ("map", "s1", "s2")]
    assert infos[1]["detectors"] == ["det000", "det002"]
    assert infos[2]["detectors"] == ["det001", "det003"]
    assert all(i["beam_fwhm_arcmin"] == 30.0 for i in infos)
    hits = [hp.read_map(str(maps / n / "hits.fits")) for n in ("map", "s1", "s2")]
    np.testing.assert_array_equal(hits[0], hits[1] + hits[2])


def test_spectrum_of_splits(maps: Path, tmp_path: Path, run_cli, check_png) -> None:
    from rediscovery.cosmo.cmb import read_covariance, read_spectrum

    out = tmp_path / "spec"
    code, err = run_cli(
        [
            "cosmo",
            "cmb-spectrum",
            maps / "map",
            "--out",
            out,
            "--splits",
            f"{maps / 's1'},{maps / 's2'}",
            "--no-pixwin",
            "--lmax",
            "60",
            "--delta-ell",
            "15",
            "--apod-deg",
            "5",
            "--n-sims",
            "6",
            "--workers",
            "1",
            "--no-progress",
        ]
    )
    assert code == 0, err
    spec = read_spectrum(out / "spectrum.csv", "csv")
    assert spec.ell_min.tolist() == [2, 17, 32] and spec.ell_max.tolist() == [16, 31, 46]
    cov = read_covariance(out / "covariance.npy", spec.n_bins)
    np.testing.assert_allclose(np.sqrt(np.diag(cov)), spec.dl_err, rtol=1e-6)
    info = json.loads((out / "spectrum.json").read_text())
    assert info["n_maps"] == 2 and info["noise_bias"] == "cross-spectra of splits"
    assert info["fwhm_arcmin"] == 30.0 and info["pixwin"] is False
    assert 0 < info["fsky_eff"] < info["fsky"] < 0.2
    bpw = np.load(out / "bandpower_window.npy")
    bands = np.genfromtxt(out / "bands.csv", delimiter=",", names=True)
    assert bpw.shape[0] == spec.n_bins and np.all(bpw[:, :2] == 0)
    # each band's window integrates to ≈ 1 (a flat D_ℓ is returned unchanged)
    np.testing.assert_allclose(bpw.sum(axis=1), 1.0, atol=0.05)
    assert np.isfinite(bands["expected"]).all()
    check_png(out / "spectrum.png")


def test_spectrum_single_map_knox(maps: Path, tmp_path: Path, run_cli) -> None:
    out = tmp_path / "spec"
    code, err = run_cli(
        [
            "cosmo",
            "cmb-spectrum",
            maps / "map" / "map.fits",
            "--out",
            out,
            "--lmax",
            "40",
            "--delta-ell",
            "10",
            "--n-sims",
            "0",
            "--no-plots",
            "--fwhm",
            "30",
            "--no-progress",
        ]
    )
    assert code == 0, err
    info = json.loads((out / "spectrum.json").read_text())
    assert info["errors"] == "Knox" and info["noise_bias"].startswith("analytic")
    assert not (out / "covariance.npy").exists()


def test_refusals(maps: Path, tmp_path: Path, run_cli) -> None:
    common = ["--lmax", "40", "--n-sims", "0", "--no-plots", "--no-progress"]
    mask = tmp_path / "mask16.fits"
    hp.write_map(str(mask), np.ones(12 * 16**2), dtype=np.float64)
    code, err = run_cli(
        ["cosmo", "cmb-spectrum", maps / "map", "--out", tmp_path / "a", "--mask", mask, *common]
    )
    assert code == 2 and "mask has nside 16" in err and "map has nside 32" in err
    bad = tmp_path / "bad"
    bad.mkdir()
    m = hp.read_map(str(maps / "map" / "map.fits"))
    h = hp.read_map(str(maps / "map" / "hits.fits"))
    v = hp.read_map(str(maps / "map" / "variance.fits"))
    m[np.argmax(h > 0)] = np.nan
    for name, arr in (("map", m), ("hits", h), ("variance", v)):
        hp.write_map(str(bad / f"{name}.fits"), arr, dtype=np.float64)
    code, err = run_cli(
        ["cosmo", "cmb-spectrum", bad, "--out", tmp_path / "b", "--fwhm", "30", *common]
    )
    assert code == 2 and "1 NaN pixel" in err and "map.fits" in err
    h[0] = -1
    hp.write_map(str(bad / "hits.fits"), h, overwrite=True, dtype=np.float64)
    code, err = run_cli(
        ["cosmo", "cmb-spectrum", bad, "--out", tmp_path / "c", "--fwhm", "30", *common]
    )
    assert code == 2 and "negative" in err and "hits.fits" in err
    plain = tmp_path / "plain"  # the maps without mapmaking.json: no beam recorded
    plain.mkdir()
    for name in ("map", "hits", "variance"):
        shutil.copy(maps / "map" / f"{name}.fits", plain)
    code, err = run_cli(["cosmo", "cmb-spectrum", plain, "--out", tmp_path / "d", *common])
    assert code == 2 and "--fwhm" in err
    code, err = run_cli(
        [
            "cosmo",
            "cmb-mapmake",
            maps / "sim" / "tod.h5",
            "--out",
            tmp_path / "e",
            "--nside",
            "32",
            "--split",
            "3/2",
        ]
    )
    assert code == 2 and "--split" in err


def test_noise_model_needs_splits(maps: Path, tmp_path: Path, run_cli) -> None:
    code, err = run_cli(
        [
            "cosmo",
            "cmb-spectrum",
            maps / "map",
            "--out",
            tmp_path / "a",
            "--noise-model",
            "splits",
            "--lmax",
            "40",
            "--n-sims",
            "2",
            "--no-plots",
            "--no-progress",
        ]
    )
    assert code == 2 and "--splits" in err
    code, err = run_cli(
        [
            "cosmo",
            "cmb-spectrum",
            maps / "map",
            "--out",
            tmp_path / "b",
            "--noise-model",
            "pink",
            "--lmax",
            "40",
            "--n-sims",
            "0",
            "--no-plots",
            "--no-progress",
        ]
    )
    assert code == 2 and "white or splits" in err


def test_spectrum_of_iqu_maps(maps: Path, tmp_path: Path, run_cli) -> None:
    """I, Q, U maps (binned from 4 polarised detectors, white noise): spectrum.csv is the TT
    of I, the same as for I written alone as a temperature map; spectrum_te.csv and
    spectrum_ee.csv have its columns; an I, Q, U map with temperature splits is refused."""
    from rediscovery.cosmo.cmb.mapmaking import (
        MapResult,
        bin_tod_iqu,
        detector_weights,
        read_maps,
        write_maps,
    )
    from rediscovery.cosmo.cmb.tod import (
        TODConfig,
        default_focal_plane,
        gaussian_sky_iqu,
        simulate_chunks,
    )

    ell = np.arange(96.0)
    tt = np.r_[0.0, 0.0, 2e4 / ell[2:] ** 2]
    sky = gaussian_sky_iqu(np.array([tt, 0.1 * tt, 0 * tt, 0.2 * tt]), 32, 30.0,
                           np.random.default_rng(5))[1]
    cfg = TODConfig(detectors=tuple(default_focal_plane(4, fknee=0.0, polarised=True)),
                    days=0.05)
    iqu = tmp_path / "iqu"
    binned = bin_tod_iqu(simulate_chunks(cfg, sky, 5, angles=False), 32, cfg.nside_pointing,
                         detector_weights(cfg.detectors))
    write_maps(iqu, binned)
    res = read_maps(iqu)
    temperature = tmp_path / "t"
    i_map = res.stokes(0)
    info = {**res.info, "beam_fwhm_arcmin": 30.0}
    write_maps(temperature, MapResult(32, i_map.map, i_map.hits, i_map.variance, info))
    common = ["--no-plots", "--no-progress", "--lmax", "60", "--delta-ell", "10", "--n-sims", "0",
              "--fwhm", "30"]
    for src, out in ((iqu, tmp_path / "spec_iqu"), (temperature, tmp_path / "spec_t")):
        code, err = run_cli(["cosmo", "cmb-spectrum", src, "--out", out, *common])
        assert code == 0, err
    tt = np.loadtxt(tmp_path / "spec_iqu" / "spectrum.csv", delimiter=",", skiprows=1)
    np.testing.assert_allclose(
        tt, np.loadtxt(tmp_path / "spec_t" / "spectrum.csv", delimiter=",", skiprows=1)
    )
    header = (tmp_path / "spec_iqu" / "spectrum.csv").read_text().splitlines()[0]
    for kind in ("te", "ee"):
        lines = (tmp_path / "spec_iqu" / f"spectrum_{kind}.csv").read_text().splitlines()
        assert lines[0] == header and len(lines) == len(tt) + 1
    assert not (tmp_path / "spec_t" / "spectrum_te.csv").exists()
    info = json.loads((tmp_path / "spec_iqu" / "spectrum.json").read_text())
    assert set(info["polarisation"]) == {"te", "ee"}
    assert info["polarisation"]["ee"]["errors"] == "Knox"
    # with simulations: TE and EE errors and covariances from I, Q, U simulations
    mc = tmp_path / "spec_mc"
    code, err = run_cli(["cosmo", "cmb-spectrum", iqu, "--out", mc, *common[:-4], "--n-sims",
                         "6", "--workers", "1", "--fwhm", "30"])
    assert code == 0, err
    pol = json.loads((mc / "spectrum.json").read_text())["polarisation"]
    for kind in ("te", "ee"):
        assert pol[kind]["errors"] == "Monte Carlo (6 simulations)"
        cov = np.load(mc / f"covariance_{kind}.npy")
        csv = np.loadtxt(mc / f"spectrum_{kind}.csv", delimiter=",", skiprows=1)
        np.testing.assert_allclose(csv[:, 4], np.sqrt(np.diag(cov)), rtol=1e-8)
        assert not np.allclose(csv[:, 4], pol[kind]["dl_err_knox"])
    code, err = run_cli(["cosmo", "cmb-spectrum", iqu, "--splits", f"{iqu},{maps / 's1'}",
                         "--out", tmp_path / "mixed", *common])
    assert code == 2 and "some maps are I, Q, U and some temperature only" in err, err
