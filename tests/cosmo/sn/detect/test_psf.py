"""PSF measurement from stars against the Moffat PSF the stars were drawn with."""

from __future__ import annotations

import numpy as np
import pytest

from rediscovery.cosmo.sn.detect import (
    fourier_shift,
    inject_point_sources,
    measure_psf,
    moffat_psf,
    psf_fwhm,
    resample_to,
    window_centroids,
)

SHAPE = (256, 256)


def test_moffat_fwhm_is_the_requested_one():
    # a wide pixel-integrated Moffat: pixelisation broadens the FWHM by < 1 % at 8 px
    assert psf_fwhm(moffat_psf(8.0, 3.5, 61)) == pytest.approx(8.0, rel=0.01)


def test_fourier_shift_moves_the_centroid_and_keeps_the_flux():
    p = np.pad(moffat_psf(4.0, 3.5, 31), 8)
    s = fourier_shift(p, 0.3, -1.7)
    yy, xx = np.indices(p.shape)
    assert s.sum() == pytest.approx(1.0)
    assert np.sum(s * xx) - np.sum(p * xx) == pytest.approx(0.3, abs=1e-3)
    assert np.sum(s * yy) - np.sum(p * yy) == pytest.approx(-1.7, abs=1e-3)
    np.testing.assert_allclose(resample_to(s, (-0.3, 1.7)), p, atol=1e-12)


@pytest.mark.parametrize("given_positions", [True, False])
def test_measured_psf_matches_the_true_one(synth, given_positions):
    rng = np.random.default_rng(7)
    x, y, f = synth.grid_field(rng, SHAPE, 40.0, flux=(5e4, 3e5))
    true = moffat_psf(4.0, 3.5, 25)
    img = inject_point_sources(np.zeros(SHAPE), moffat_psf(4.0, 3.5, 31), x, y, f)
    img += 100.0 + rng.normal(0, 10.0, SHAPE)
    m = (measure_psf(img, x + rng.normal(0, 0.3, x.size), y + rng.normal(0, 0.3, y.size),
                     size=25) if given_positions else measure_psf(img, size=25))
    assert m.psf.shape == (25, 25) and m.psf.sum() == pytest.approx(1.0)
    assert np.unravel_index(m.psf.argmax(), m.psf.shape) == (12, 12)
    assert np.abs(m.psf - true).max() < 0.03 * true.max()
    assert m.fwhm == pytest.approx(psf_fwhm(true), rel=0.03)
    assert m.n_stars >= 5


def test_window_centroids_are_unbiased(synth):
    rng = np.random.default_rng(8)
    x, y, f = synth.grid_field(rng, SHAPE, 30.0, flux=(5e4, 3e5))
    img = inject_point_sources(np.zeros(SHAPE), moffat_psf(4.0, 3.5, 31), x, y, f)
    img += rng.normal(0, 10.0, SHAPE)
    xc, yc = window_centroids(img, np.round(x), np.round(y), 4.0 / 2.3548)
    assert np.sqrt(np.mean((xc - x) ** 2 + (yc - y) ** 2)) < 0.03


@pytest.mark.parametrize(("fwhm", "beta"), [(3.0, 2.5), (5.0, 2.5), (3.5, 4.7), (2.2, 3.0)])
def test_fit_moffat_psf_recovers_the_profile_of_a_ring_subtracted_stamp(fwhm, beta):
    """Noise-free closure: a 25² cut of a wide, off-centre Moffat, its outer-ring median
    subtracted and renormalised as measure_psf does (which removes up to 7 % of the light for
    FWHM 5, β 2.5), gives back FWHM and β (the constant and amplitude of the fit absorb the
    ring). The check against independently rendered stars is tests/cosmo/sn/
    test_sn_survey_psf.py (the image simulator's renderer and headers)."""
    from rediscovery.cosmo.sn.detect import fit_moffat_psf

    big = moffat_psf(fwhm, beta, 101, 0.3, -0.2)
    st = big[38:63, 38:63].copy()
    ring = np.ones(st.shape, bool)
    ring[2:-2, 2:-2] = False
    st = st - np.median(st[ring])
    got_fwhm, got_beta, ok = fit_moffat_psf(st / st.sum())
    assert ok
    assert got_fwhm == pytest.approx(fwhm, rel=1e-4)
    assert got_beta == pytest.approx(beta, rel=1e-3)
