"""The streaming destriper against the in-memory one on the same small TOD file: the same
equation solved by the same CG, only the order of the sums differs, so the maps and offsets
agree to round-off (amplified by CG's ~10² iterations: 10⁻⁹ of the map's rms); temperature
and I, Q, U."""

from __future__ import annotations

from pathlib import Path

import healpy as hp
import numpy as np
import pytest

from rediscovery.core.errors import ConfigError, InputError
from rediscovery.cosmo.cmb.mapmaking import (
    destripe,
    destripe_file,
    destripe_file_iqu,
    destripe_iqu,
    load_tod,
)
from rediscovery.cosmo.cmb.tod import (
    Detector,
    TODConfig,
    TODFile,
    default_focal_plane,
    gaussian_sky,
    gaussian_sky_iqu,
    simulate_chunks,
    write_tod,
)

NSIDE = 32
# 3 detectors × 0.02 days at 10 Hz = 17280 samples each, in 3 noise blocks of 6000 (the last
# 5280): baselines restart at the block edges; the file's HDF5 chunk is 2000
CFG = TODConfig(detectors=tuple(default_focal_plane(3)), days=0.02, noise_block=6000,
                chunk=2000)
TOL = 1e-11


@pytest.fixture(scope="module")
def tod_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    cl = np.r_[0.0, 0.0, 2e4 / np.arange(2, 3 * NSIDE) ** 2]
    sky = gaussian_sky(cl, NSIDE, 60.0, np.random.default_rng(3))[1]
    path = tmp_path_factory.mktemp("stream") / "tod.h5"
    write_tod(path, CFG, simulate_chunks(CFG, sky, 4, angles=False), angles=False)
    return path


def _in_memory(f: TODFile, names: list[str], baseline: int, prior: bool,
               destriper=destripe):
    """The in-memory destriper (``destripe`` or ``destripe_iqu``) of the file's TOD, read by
    noise blocks (6000 samples in both test files)."""
    data = load_tod(f.iter_chunks(chunk=int(f.attrs["noise_block"]), detectors=names), NSIDE,
                    f.nside_pointing, f.detectors, f.sample_rate)
    return destriper(data, baseline, noise_prior=prior, tol=TOL, maxiter=1000)


def _assert_same(streamed, memory) -> None:
    (s, a_s), (m, a_m) = streamed, memory
    assert s.info["cg_converged"] and m.info["cg_converged"]
    np.testing.assert_array_equal(s.hits, m.hits)
    np.testing.assert_allclose(s.variance, m.variance, rtol=1e-12)
    seen = m.seen
    rms = float(np.std(m.map[seen]))
    assert np.abs(s.map[seen] - m.map[seen]).max() < 1e-9 * rms
    assert np.all(s.map[~seen] == hp.UNSEEN)
    assert a_s.shape == a_m.shape
    assert np.abs(a_s - a_m).max() < 1e-9 * np.std(a_m)


@pytest.mark.parametrize("chunk", [777, 7001, None])
def test_streamed_equals_in_memory(tod_path: Path, chunk: int | None) -> None:
    """Chunks of 777 samples (dividing neither the length, the noise block nor the 10-sample
    baselines), one larger than a block, and the file's own."""
    with TODFile(tod_path) as f:
        names = [d.name for d in f.detectors]
        streamed = destripe_file(f, NSIDE, 10, chunk=chunk, tol=TOL, maxiter=1000)
        memory = _in_memory(f, names, 10, True)
    _assert_same(streamed, memory)
    # setup + rhs + 2 per CG iteration + final map
    assert streamed[0].info["passes"] == 3 + 2 * streamed[0].info["cg_iterations"]


def test_streamed_split_without_prior(tod_path: Path) -> None:
    """A data split (detectors 1 and 3) and 7-sample baselines without the 1/f prior."""
    with TODFile(tod_path) as f:
        names = [f.detectors[0].name, f.detectors[2].name]
        streamed = destripe_file(f, NSIDE, 7, detectors=names, chunk=333, noise_prior=False,
                                 tol=TOL, maxiter=1000)
        memory = _in_memory(f, names, 7, False)
    _assert_same(streamed, memory)
    assert streamed[0].info["n_samples"] == 2 * CFG.n_samples


def test_streamed_bad_arguments(tod_path: Path) -> None:
    with TODFile(tod_path) as f:
        with pytest.raises(ConfigError, match="nosuch"):
            destripe_file(f, NSIDE, 10, detectors=["nosuch"])
        with pytest.raises(ConfigError, match="chunk 0"):
            destripe_file(f, NSIDE, 10, chunk=0)
        with pytest.raises(ConfigError, match="baseline length 0"):
            destripe_file(f, NSIDE, 0)


# -- I, Q, U ------------------------------------------------------------------------------
# 4 polarised detectors (0°, 45°, 90°, 135°) and one temperature-only detector: the
# temperature kernels run inside the I, Q, U destriper, and the edge pixels with too few
# angles are ill-conditioned (their samples get weight 0: the extra pass)
POL_CFG = TODConfig(detectors=(*default_focal_plane(4, polarised=True),
                               Detector("t000", net=200.0, fknee=0.5)),
                    days=0.02, noise_block=6000, chunk=2000)


@pytest.fixture(scope="module")
def pol_tod_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    ell = np.arange(3 * NSIDE, dtype=float)
    tt = np.r_[0.0, 0.0, 2e4 / ell[2:] ** 2]
    sky = gaussian_sky_iqu(np.array([tt, 0.1 * tt, 0.0 * tt, 0.2 * tt]), NSIDE, 60.0,
                           np.random.default_rng(21))[1]
    path = tmp_path_factory.mktemp("stream_iqu") / "tod.h5"
    write_tod(path, POL_CFG, simulate_chunks(POL_CFG, sky, 4, angles=False), angles=False)
    return path


def _assert_same_iqu(streamed, memory) -> None:
    (s, a_s), (m, a_m) = streamed, memory
    assert s.info["cg_converged"] and m.info["cg_converged"]
    np.testing.assert_array_equal(s.hits, m.hits)
    np.testing.assert_array_equal(s.good, m.good)
    good = m.good
    var = np.abs(s.variance[:, good] / m.variance[:, good] - 1).max()
    rms = np.std(m.maps[:, good], axis=1)
    maps = (np.abs(s.maps[:, good] - m.maps[:, good]).max(axis=1) / rms).max()
    offsets = np.abs(a_s - a_m).max() / np.std(a_m)
    assert var < 1e-6 and maps < 1e-5 and offsets < 1e-5, (var, maps, offsets)
    assert np.all(s.maps[:, ~good] == hp.UNSEEN)
    assert a_s.shape == a_m.shape
    for key in ("n_pixels_seen", "n_pixels_solved", "n_samples", "n_samples_polarised"):
        assert s.info[key] == m.info[key], key


@pytest.mark.parametrize("chunk", [777, None])
def test_streamed_iqu_equals_in_memory(pol_tod_path: Path, chunk: int | None) -> None:
    """The streaming I, Q, U destriper (numba loops over pointing and angles read from the
    file) against the in-memory one (scipy sparse matrices): the same maps and offsets to
    10⁻⁵ of their rms, the variances to 10⁻⁶, with ill-conditioned pixels present. Not
    10⁻⁹ as for temperature: the streamer takes cos 2ψ, sin 2ψ in float32 (float64 there
    gave 3 × 10⁻¹¹; float32: maps ≤ 1.7 × 10⁻⁶, offsets ≤ 8 × 10⁻⁷, variances ≤ 5 × 10⁻⁸
    over the three cases; a wrong term in an operator gives O(1))."""
    with TODFile(pol_tod_path) as f:
        names = [d.name for d in f.detectors]
        streamed = destripe_file_iqu(f, NSIDE, 10, chunk=chunk, tol=TOL, maxiter=1000)
        memory = _in_memory(f, names, 10, True, destripe_iqu)
    _assert_same_iqu(streamed, memory)
    info = streamed[0].info
    assert info["n_pixels_ill_conditioned"] > 0 and info["method"] == "destriped-iqu"
    # setup + flagged-sample pass + rhs + 2 per CG iteration + final maps
    assert info["passes"] == 4 + 2 * info["cg_iterations"]


def test_streamed_iqu_split_without_prior(pol_tod_path: Path) -> None:
    """A split of three detectors (at 0° and 45°, and the temperature one), 7-sample
    baselines, no 1/f prior, chunks of 333."""
    with TODFile(pol_tod_path) as f:
        names = [f.detectors[k].name for k in (0, 1, 4)]
        streamed = destripe_file_iqu(f, NSIDE, 7, detectors=names, chunk=333,
                                     noise_prior=False, tol=TOL, maxiter=1000)
        memory = _in_memory(f, names, 7, False, destripe_iqu)
    _assert_same_iqu(streamed, memory)


def test_streamed_iqu_refuses_temperature_only(tod_path: Path, pol_tod_path: Path) -> None:
    """No polarised detector, or angles that cannot separate Q from U (0° and 90° only: the
    best pixel's reciprocal condition number is 0.018, below the 0.5 asked for): one clear
    error each, for the streamed and the in-memory destriper."""
    with TODFile(tod_path) as f, pytest.raises(InputError, match="polarisation"):
        destripe_file_iqu(f, NSIDE, 10)
    with TODFile(pol_tod_path) as f:
        names = [f.detectors[k].name for k in (0, 2)]
        with pytest.raises(InputError, match="do not separate Q from U"):
            destripe_file_iqu(f, NSIDE, 10, detectors=names, rcond_min=0.5)
        data = load_tod(f.iter_chunks(detectors=names), NSIDE, f.nside_pointing, f.detectors,
                        f.sample_rate)
        with pytest.raises(InputError, match="do not separate Q from U"):
            destripe_iqu(data, 10, rcond_min=0.5)
