"""The TOD file: round trip, chunk-size independence, and the reader's refusals; the Gaussian
sky against its input spectrum and beam."""

from __future__ import annotations

import math
from pathlib import Path

import h5py
import healpy as hp
import numpy as np
import pytest

from rediscovery.core.errors import InputError
from rediscovery.cosmo.cmb.tod import (
    Detector,
    TODConfig,
    TODFile,
    default_focal_plane,
    gaussian_sky,
    simulate_chunks,
    write_tod,
)

NSIDE = 32


def _config(**kw) -> TODConfig:
    base = {"detectors": tuple(default_focal_plane(2)), "days": 0.02, "chunk": 5000,
            "noise_block": 12_000}
    return TODConfig(**(base | kw))


def _sky() -> np.ndarray:
    cl = np.r_[0.0, 0.0, 1e3 / np.arange(2, 3 * NSIDE) ** 2]
    return gaussian_sky(cl, NSIDE, 120.0, np.random.default_rng(0))[1]


@pytest.fixture(scope="module")
def tod_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("tod") / "tod.h5"
    cfg = _config()
    write_tod(path, cfg, simulate_chunks(cfg, _sky(), seed=4))
    return path


def test_round_trip_and_chunking(tod_file: Path) -> None:
    cfg = _config()
    n = cfg.n_samples
    assert n == 17_280  # 0.02 day at 10 Hz
    with TODFile(tod_file) as f:
        assert f.n_samples == n and f.sample_rate == 10.0 and f.fwhm_arcmin == 30.0
        assert [d.name for d in f.detectors] == ["det000", "det001"]
        assert f.detectors[0].net == 300.0 and f.has_angles
        chunks = list(f.iter_chunks(chunk=7000, angles=True))
    assert [c.start for c in chunks[:3]] == [0, 7000, 14000]
    sig = np.concatenate([c.signal for c in chunks if c.detector == "det001"])
    # the stream does not depend on the chunk size (noise drawn per block, not per chunk)
    other = _config(chunk=999)
    ref = np.concatenate([c.signal for c in simulate_chunks(other, _sky(), seed=4)
                          if c.detector == "det001"])
    np.testing.assert_array_equal(sig, ref.astype(np.float64))
    th = np.concatenate([c.theta for c in chunks if c.detector == "det001"])
    ph = np.concatenate([c.phi for c in chunks if c.detector == "det001"])
    pix = np.concatenate([c.pixels for c in chunks if c.detector == "det001"])
    # pixel indices and angles agree (float32 angles: within one 0.43' pixel)
    back = hp.ang2pix(8192, th.astype(float), ph.astype(float), nest=True)
    v1 = np.array(hp.pix2vec(8192, back, nest=True))
    v2 = np.array(hp.pix2vec(8192, pix, nest=True))
    assert np.degrees(np.arccos(np.clip((v1 * v2).sum(0), -1, 1))).max() < 0.43 / 60 * 2


def test_noise_blocks_have_zero_mean() -> None:
    cfg = _config()
    sig = np.concatenate([c.signal for c in simulate_chunks(cfg, None, seed=1, angles=False)
                          if c.detector == "det000"]).astype(float)
    assert abs(sig[:12_000].mean()) < 1e-2 and abs(sig[12_000:].mean()) < 1e-2


def _copy(src: Path, dst: Path, edit) -> Path:
    with h5py.File(src, "r") as a, h5py.File(dst, "w") as b:
        for k, v in a.attrs.items():
            b.attrs[k] = v
        a.copy("detectors", b)
        edit(b)
    return dst


@pytest.mark.parametrize(("edit", "fragment"), [
    (lambda f: f["detectors/det000/signal"].__setitem__(5, np.nan),
     "'/detectors/det000/signal': 1 non-finite sample(s) (first at index 5)"),
    (lambda f: (f["detectors/det001"].__delitem__("pixels"),
                f["detectors/det001"].create_dataset("pixels", data=np.zeros(10, "i4"))),
     "'/detectors/det001/pixels': shape (10,), expected (17280,) (n_samples)"),
    (lambda f: f.attrs.__delitem__("sample_rate"), "missing root attribute(s) ['sample_rate']"),
    (lambda f: f["detectors/det000"].attrs.__delitem__("fknee_hz"),
     "missing attribute(s) ['fknee_hz']"),
    (lambda f: f["detectors/det000"].__delitem__("signal"), "missing dataset 'signal'"),
    (lambda f: f["detectors/det000/pixels"].__setitem__(3, -1), "pixel index outside"),
])
def test_reader_refusals(tod_file: Path, tmp_path: Path, edit, fragment: str) -> None:
    bad = _copy(tod_file, tmp_path / "bad.h5", edit)
    with pytest.raises(InputError) as err:
        with TODFile(bad) as f:
            for _ in f.iter_chunks():
                pass
    assert str(bad) in str(err.value) and fragment in str(err.value), str(err.value)


def test_not_hdf5(tmp_path: Path) -> None:
    p = tmp_path / "x.h5"
    p.write_text("hello")
    with pytest.raises(InputError, match="not a readable HDF5 file"):
        TODFile(p)


def test_gaussian_sky_spectrum_and_beam() -> None:
    nside, lmax = 64, 127
    cl = np.r_[0.0, 0.0, 1e4 / np.arange(2, lmax + 1) ** 2]
    sky, smooth = gaussian_sky(cl, nside, 90.0, np.random.default_rng(2))
    c_sky = hp.anafast(sky, lmax=lmax)
    c_smooth = hp.anafast(smooth, lmax=lmax)
    ell = np.arange(lmax + 1)
    sel = (ell >= 10) & (ell <= 100)
    # cosmic variance on the mean of 91 multipoles: ~ sqrt(2 / sum(2l+1)) ≈ 2 %
    assert np.mean(c_sky[sel] / cl[sel]) == pytest.approx(1.0, abs=0.06)
    beam = hp.gauss_beam(math.radians(1.5), lmax=lmax)
    np.testing.assert_allclose(c_smooth[sel] / c_sky[sel], beam[sel] ** 2, rtol=0.02)


def test_iter_pointing_matches_iter_chunks(tmp_path: Path) -> None:
    """The pointing passes of the iterative map-makers read the same pixels and angles as the
    full chunks (ψ as stored, float32; ``None`` for a temperature-only detector), in the same
    order, for a chunk size that divides nothing; a NaN angle is refused."""
    dets = (*default_focal_plane(2, polarised=True), Detector("t000"))
    cfg = _config(detectors=dets)
    path = tmp_path / "pol.h5"
    sky = np.stack([_sky(), 0.1 * _sky(), -0.1 * _sky()])
    write_tod(path, cfg, simulate_chunks(cfg, sky, seed=4, angles=False), angles=False)
    with TODFile(path) as f:
        full = list(f.iter_chunks(chunk=777))
        light = [(n, c0, pix.copy(), None if psi is None else psi.copy())
                 for n, c0, pix, psi in f.iter_pointing(chunk=777)]
        pixels_only = [(n, c0, pix.copy()) for n, c0, pix in f.iter_pixels(chunk=777)]
    assert [(c.detector, c.start) for c in full] == [(n, c0) for n, c0, _, _ in light]
    for c, (_, _, pix, psi), (_, _, pix2) in zip(full, light, pixels_only, strict=True):
        np.testing.assert_array_equal(c.pixels, pix)
        np.testing.assert_array_equal(pix, pix2)
        if c.detector == "t000":
            assert c.psi is None and psi is None
        else:
            assert psi.dtype == np.float32
            np.testing.assert_array_equal(c.psi, psi.astype(np.float64))
    bad = _copy(path, tmp_path / "bad.h5",
                lambda h: h["detectors/det001/psi"].__setitem__(9, np.nan))
    with TODFile(bad) as f, pytest.raises(InputError, match="non-finite polarisation"):
        list(f.iter_pointing())
