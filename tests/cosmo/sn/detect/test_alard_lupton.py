"""Alard & Lupton (1998) baseline: a known Gaussian convolution kernel and photometric ratio
are recovered, and the difference is noise at the expected level."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from rediscovery.cosmo.sn.detect import (
    alard_lupton,
    alard_lupton_basis,
    detect_sources,
    inject_point_sources,
    moffat_psf,
)

SHAPE = (256, 256)


def test_basis_has_the_published_size():
    # Gaussians σ = 0.7, 1.5, 3 px times polynomials of degree 6, 4, 2: 28 + 15 + 6 terms
    assert alard_lupton_basis(10).shape == (49, 21, 21)


def test_recovers_a_known_gaussian_kernel(synth):
    rng = np.random.default_rng(5)
    x, y, f = synth.star_field(rng, SHAPE, 60, margin=30)
    psf_r = moffat_psf(3.0, 3.5, 31)
    truth_r = inject_point_sources(np.zeros(SHAPE), psf_r, x, y, f)
    ratio, sig_k = 1.25, 1.5
    truth_n = ratio * ndimage.gaussian_filter(truth_r, sig_k, mode="wrap", truncate=6.0)
    sn, sr = 30.0, 8.0
    new = truth_n + 7.0 + rng.normal(0, sn, SHAPE)  # + a background offset of 7
    ref = truth_r + rng.normal(0, sr, SHAPE)
    res = alard_lupton(new, ref, x=x, y=y)
    k = res.kernel
    # the kernel's sum is the photometric ratio (specification: within 1 %)
    assert k.sum() == pytest.approx(ratio, rel=0.01)
    # its width: second moment of a Gaussian of σ = 1.5 px
    off = np.arange(-10, 11)
    var_x = np.sum(k * off[None, :] ** 2) / k.sum()
    var_y = np.sum(k * off[:, None] ** 2) / k.sum()
    assert np.sqrt(var_x) == pytest.approx(sig_k, rel=0.05)
    assert np.sqrt(var_y) == pytest.approx(sig_k, rel=0.05)
    assert res.background == pytest.approx(7.0, abs=1.0)
    # the difference is white noise of σ² = σ_n² + σ_r² Σ K² (background-limited)
    expected = np.sqrt(sn**2 + sr**2 * np.sum(k**2))
    assert res.diff.std() / expected == pytest.approx(1.0, abs=0.03)


def test_score_detects_a_transient_and_not_the_stars(synth):
    rng = np.random.default_rng(6)
    stars = synth.star_field(rng, SHAPE, 40, margin=30)
    p = synth.make_pair(rng, SHAPE, fwhm_new=4.0, fwhm_ref=3.0, stars=stars,
                        transients=(np.array([128.3]), np.array([131.7]), np.array([6000.0])))
    res = alard_lupton(p.new, p.ref, x=stars[0], y=stars[1], psf_new=p.psf_new,
                       sigma_new=p.sigma_new, sigma_ref=p.sigma_ref)
    det = detect_sources(res.score, 5.0, flux=res.flux, flux_err=res.flux_err)
    d = np.hypot(det.x - 128.3, det.y - 131.7)
    assert d.min() < 1.0
    assert det.significance[d.argmin()] > 10
