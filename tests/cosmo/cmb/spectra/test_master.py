"""MASTER band powers against independent references: healpy's anafast on the full sky, the
closed-form white-noise pseudo-spectrum, the HEALPix pixel window measured by averaging a
finer map, and simulations on a cut sky (bias against σ, Monte-Carlo σ against Knox)."""

from __future__ import annotations

import math

import healpy as hp
import numpy as np
import pytest

from rediscovery.core.errors import ConfigError, InputError
from rediscovery.cosmo.cmb.spectra import (
    bandpowers,
    coupling_matrix,
    knox_errors,
    make_binning,
    measure_spectrum,
    pixel_window,
    prepare,
    pseudo_alms,
    pseudo_cl,
    transfer_function,
    white_noise_pseudo_cl,
    window_from_hits,
)

NSIDE = 32


def _power_law_cl(lmax: int) -> np.ndarray:
    ell = np.arange(lmax + 1)
    return np.where(ell >= 2, 1e3 / np.maximum(ell, 1.0) ** 1.5, 0.0)


def _sky(cl: np.ndarray, transfer: np.ndarray, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    lmax = len(cl) - 1
    ell, m = hp.Alm.getlm(lmax)
    sd = np.sqrt(cl[ell]) * transfer[ell]
    re, im = rng.standard_normal((2, ell.size))
    alm = np.where(m == 0, sd * re, sd * (re + 1j * im) / math.sqrt(2)).astype(complex)
    return hp.alm2map(alm, NSIDE, lmax=lmax)


def _binning_matrices(binning, lmax):
    """P (D-band average) and Q (flat D over a band) built here, independently of the code."""
    ell = np.arange(lmax + 1)
    p = np.zeros((binning.n_bins, lmax + 1))
    q = np.zeros((lmax + 1, binning.n_bins))
    for b, (lo, hi) in enumerate(zip(binning.ell_min, binning.ell_max, strict=True)):
        band = ell[lo : hi + 1]
        p[b, lo : hi + 1] = band * (band + 1) / (2 * math.pi) / (hi - lo + 1)
        q[lo : hi + 1, b] = 2 * math.pi / (band * (band + 1))
    return p, q


@pytest.mark.parametrize(("fwhm", "niter"), [(0.0, 0), (90.0, 0), (0.0, 3)])
def test_full_sky_equals_anafast(fwhm: float, niter: int) -> None:
    lmax = 3 * NSIDE - 1
    transfer = transfer_function(lmax, fwhm, None)
    m = _sky(_power_law_cl(lmax), transfer, seed=1)
    full = window_from_hits(np.ones(12 * NSIDE**2), 5.0)
    assert full.weights.min() == 1.0  # nothing to apodise
    binning = make_binning(60, 10)
    coupling = coupling_matrix(full, binning, transfer)
    alms = pseudo_alms([m], full, binning.lmax, niter=niter, subtract_mean=False)
    db = bandpowers(pseudo_cl(alms), coupling)
    ana = hp.anafast(m, lmax=binning.lmax, iter=niter)
    p, q = _binning_matrices(binning, binning.lmax)
    # binned deconvolution of the transfer function, as MASTER does: (P F² Q)⁻¹ P C_ℓ
    f2 = transfer[: binning.lmax + 1] ** 2
    ref = np.linalg.solve(p @ (f2[:, None] * q), p @ ana)
    # the coupling matrix comes from the window's own transform: healpy's quadrature of the
    # constant map at nside 32, ℓ ≤ 95 gives a_00 = √(4π)(1 − 2.8×10⁻⁶) (measured): the tolerance
    np.testing.assert_allclose(db, ref, rtol=1e-5)
    if fwhm == 0:
        np.testing.assert_allclose(db, p @ ana, rtol=1e-5)


def test_white_noise_pseudo_cl_matches_noise_maps() -> None:
    hits = np.zeros(12 * NSIDE**2)
    theta, _ = hp.pix2ang(NSIDE, np.arange(hits.size))
    hits[theta < 1.2] = 1 + (theta[theta < 1.2] * 10).astype(int)
    window = window_from_hits(hits, 10.0)
    var = np.where(hits > 0, 100.0 / np.maximum(hits, 1), 0.0)
    rng = np.random.default_rng(2)
    pcls = [
        pseudo_cl(
            pseudo_alms(
                [rng.standard_normal(hits.size) * np.sqrt(var)],
                window,
                2 * NSIDE,
                niter=0,
                subtract_mean=False,
            )
        )
        for _ in range(40)
    ]
    measured = np.mean(pcls, axis=0)[2:].mean()
    # 40 maps × ~60 multipoles × ~(2ℓ+1) f_sky modes: ≲ 1 % statistical error
    assert measured == pytest.approx(white_noise_pseudo_cl(window, var), rel=0.03)


def test_pixel_window_matches_averaging_a_finer_map() -> None:
    """p_ℓ measured as the cross-spectrum of a map averaged from nside 8N (64 sub-pixels,
    healpy ud_grade) with the field itself, over its power. That measures the mean over
    pixels of w_ℓ(p), the computed window is √⟨w_ℓ(p)²⟩ (HEALPix's definition): equal to first
    order in (ℓ × pixel size)², 1.2 % apart at ℓ = 2N (measured), hence the tolerance."""
    nside, lmax = 16, 32
    ratios = []
    for seed in range(6):
        alm = _alm(np.ones(lmax + 1), seed)
        coarse = hp.ud_grade(hp.alm2map(alm, nside * 8, lmax=lmax), nside)
        ratios.append(hp.alm2cl(hp.map2alm(coarse, lmax=lmax, iter=10), alm) / hp.alm2cl(alm))
    measured = np.mean(ratios, axis=0)
    computed = pixel_window(nside, lmax)
    # plus the scatter of 6 realisations (≈ 1 % at ℓ = 2)
    np.testing.assert_allclose(measured[2:], computed[2:], rtol=0.015)
    # converged in the number of sub-pixels (Richardson-extrapolated midpoint rule)
    np.testing.assert_allclose(pixel_window(nside, lmax, sub_level=4), computed, atol=2e-4)


def _alm(cl: np.ndarray, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    ell, m = hp.Alm.getlm(len(cl) - 1)
    re, im = rng.standard_normal((2, ell.size))
    return np.where(m == 0, re, (re + 1j * im) / math.sqrt(2)).astype(complex)


def test_knox_closed_forms() -> None:
    binning = make_binning(40, 1)
    ell = np.arange(41)
    cl = _power_law_cl(40)
    f = np.ones(41)
    nu = (2 * ell + 1) * 0.3
    dfac = ell * (ell + 1) / (2 * math.pi)
    one = knox_errors(cl, [2.0], f, 0.3, binning)
    np.testing.assert_allclose(one, (dfac * np.sqrt(2 / nu) * (cl + 2.0))[2:41])
    two = knox_errors(cl, [2.0, 2.0], f, 0.3, binning)
    np.testing.assert_allclose(two, (dfac * np.sqrt((2 * cl**2 + 4 * cl + 4) / nu))[2:41])


def _cut_sky_case(n_sims: int, **kwargs):
    theta, _ = hp.pix2ang(NSIDE, np.arange(12 * NSIDE**2))
    hits = np.where(theta < np.radians(100), 50, 0)
    var = np.where(hits > 0, 20.0 / np.maximum(hits, 1), 0.0)
    window = window_from_hits(hits, 8.0)
    setup = prepare(window, lmax=2 * NSIDE, delta_ell=12, fwhm_arcmin=60.0)
    cl = _power_law_cl(3 * NSIDE - 1)
    data = _sky(cl, setup.transfer, seed=99)
    res = measure_spectrum(
        [data + np.sqrt(var) * np.random.default_rng(5).standard_normal(data.size)],
        [var],
        setup,
        cl,
        n_sims=n_sims,
        seed=7,
        progress=False,
        **kwargs,
    )
    return res, window


def test_cut_sky_simulations_unbiased_and_knox() -> None:
    n = 150
    res, window = _cut_sky_case(n, n_workers=1)
    assert 0.55 < window.fsky_eff < window.fsky < 0.7
    assert res.info["errors"] == "Monte-Carlo" and res.cov.shape == (res.binning.n_bins,) * 2
    bos = res.bias_over_sigma
    # the mean of n sims scatters by σ/√n: |bias|/σ < 4/√n is a 4σ bound
    assert np.all(np.abs(bos) < 4 / np.sqrt(n)), bos
    ratio = res.dl_err / res.knox_err
    # σ of a std from n sims is 1/√(2n) = 6 %; Knox itself is approximate on the cut sky
    assert np.all(np.abs(ratio - 1) < 0.25), ratio
    assert abs(ratio.mean() - 1) < 0.1, ratio
    # the data band powers agree with the fiducial within their errors
    pulls = (res.dl - res.expected) / res.dl_err
    assert np.all(np.abs(pulls) < 4) and abs(pulls.mean()) < 1.5


def test_simulations_same_on_dask_cluster() -> None:
    distributed = pytest.importorskip("distributed")
    local, _ = _cut_sky_case(4, n_workers=1)
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        remote, _ = _cut_sky_case(4, scheduler=client)
    np.testing.assert_array_equal(local.sims, remote.sims)
    np.testing.assert_array_equal(local.dl, remote.dl)


def test_bad_inputs() -> None:
    window = window_from_hits(np.ones(12 * NSIDE**2), 0.0)
    with pytest.raises(InputError, match=r"nside 16.*expected 12288"):
        pseudo_alms([np.zeros(12 * 16**2)], window, 30)
    bad = np.zeros(12 * NSIDE**2)
    bad[5] = np.nan
    with pytest.raises(InputError, match="1 NaN/UNSEEN pixel"):
        pseudo_alms([bad], window, 30)
    with pytest.raises(ConfigError, match="--lmax 200"):
        prepare(window, lmax=200, delta_ell=10, fwhm_arcmin=0)
    with pytest.raises(ConfigError, match="--delta-ell 0"):
        make_binning(50, 0)
    with pytest.raises(InputError, match="no observed pixel"):
        window_from_hits(np.zeros(12 * NSIDE**2), 1.0)
    with pytest.raises(ConfigError, match="--fwhm -1"):
        transfer_function(10, -1.0, None)


def test_noise_colour_from_splits() -> None:
    """White split noise gives f_ℓ ≈ 1; adding an independent large-scale field to each split
    (σ_ℓ ∝ ℓ⁻², like residual 1/f stripes) gives f_ℓ² ≈ 1 + its power over the white level."""
    from rediscovery.cosmo.cmb.spectra import noise_colour_from_splits

    theta, _ = hp.pix2ang(NSIDE, np.arange(12 * NSIDE**2))
    hits = np.where(theta < np.radians(100), 10, 0)
    var = np.where(hits > 0, 4.0, 0.0)
    window = window_from_hits(hits, 8.0)
    rng = np.random.default_rng(3)
    white = [rng.standard_normal(hits.size) * 2.0 for _ in range(2)]
    f = noise_colour_from_splits(white, [var, var], window, 80, 10)
    assert f[0] == f[1] == 1.0 and np.all(np.abs(f[2:] - 1) < 0.15), f
    lmax = 3 * NSIDE - 1
    ell = np.arange(lmax + 1)
    pix = 4 * math.pi / hits.size
    red_cl = np.where(ell >= 2, 4.0 * pix * 20.0 * (10.0 / np.maximum(ell, 1)) ** 4, 0.0)
    red = [w + _sky(red_cl, np.ones(lmax + 1), seed=10 + i) for i, w in enumerate(white)]
    f_red = noise_colour_from_splits(red, [var, var], window, 80, 10)
    # white level Ω_pix σ² = 4 Ω_pix; the red field adds 20 (10/ℓ)⁴ times that: ×~1000 at ℓ = 2
    assert f_red[5] ** 2 > 50 and abs(f_red[60] ** 2 - 1) < 0.2, f_red[[5, 60]]
    with pytest.raises(ConfigError, match="--splits"):
        noise_colour_from_splits(white[:1], [var], window, 80, 10)
