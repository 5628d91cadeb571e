"""The rendering primitives against formulas and published numbers."""

from __future__ import annotations

import numpy as np
import pytest

from rediscovery.cosmo.sn.images import render


@pytest.mark.parametrize("n", [1.0, 2.0, 4.0, 8.0])
def test_sersic_b_matches_the_asymptotic_expansion(n):
    # Ciotti & Bertin 1999 (A&A 352, 447), eq. 18: b_n = 2n - 1/3 + 4/(405 n) + 46/(25515 n²)
    # + O(n^-3); its error is below 1e-4 from n = 1 up (Graham & Driver 2005, Fig. 1)
    approx = 2 * n - 1 / 3 + 4 / (405 * n) + 46 / (25515 * n**2)
    assert render.sersic_b(n) == pytest.approx(approx, abs=1e-4)


def test_sersic_b_exact_values():
    # n = 1/2 is a Gaussian: exp(-b r²/R_e²) holds half its light inside R_e for b = ln 2;
    # n = 1 (exponential disc): (1 + b) e^-b = 1/2, b = 1.678347 (Graham & Driver 2005, §2.1)
    assert render.sersic_b(0.5) == pytest.approx(np.log(2.0), rel=1e-12)
    b1 = render.sersic_b(1.0)
    assert (1 + b1) * np.exp(-b1) == pytest.approx(0.5, rel=1e-12)
    assert b1 == pytest.approx(1.678347, abs=1e-6)


def test_sersic_half_light_radius():
    # a circular n = 4 profile: half of the flux within R_e (by definition of b_n)
    shape = (401, 401)
    img = render.sersic_image(shape, np.array([200.0]), np.array([200.0]), np.array([1.0]),
                              np.array([10.0]), np.array([1.0]), np.array([1.0]),
                              np.array([0.0]), radius_reff=19.0, subsample=5)
    yy, xx = np.mgrid[:401, :401]
    r = np.hypot(xx - 200, yy - 200)
    assert img.sum() == pytest.approx(1.0)
    # the truncation at 19 R_e (renormalised) holds ~1% of an exponential disc's light
    assert img[r <= 10.0].sum() == pytest.approx(0.5, abs=0.02)


@pytest.mark.parametrize(("fwhm", "beta"), [(2.0, 2.5), (4.0, 4.765)])
def test_moffat_stamp_is_normalised_with_the_right_width(fwhm, beta):
    stamp = render.moffat_stamp(fwhm, beta, subsample=8)
    assert stamp.sum() == pytest.approx(1.0)
    r = stamp.shape[0] // 2
    # the analytic profile at half maximum: I(FWHM/2)/I(0) = 1/2 (pixel-integrated: close)
    alpha = render.moffat_alpha(fwhm, beta)
    assert (1 + (fwhm / 2 / alpha) ** 2) ** (-beta) == pytest.approx(0.5)
    assert stamp[r, r] == stamp.max()


def test_point_sources_land_at_subpixel_positions_with_their_flux():
    shape = (render.odd_fast_len(100), render.odd_fast_len(100))
    psf = render.moffat_stamp(3.0, 3.0)
    x, y, f = np.array([30.25, 60.8]), np.array([40.6, 70.1]), np.array([1000.0, 500.0])
    img = render.render(shape, psf, x, y, f)
    yy, xx = np.mgrid[:shape[0], :shape[1]]
    for xk, yk, fk in zip(x, y, f, strict=True):
        box = (abs(xx - xk) < 20) & (abs(yy - yk) < 20)
        assert img[box].sum() == pytest.approx(fk, rel=2e-3)
        assert (img[box] * xx[box]).sum() / img[box].sum() == pytest.approx(xk, abs=0.02)
        assert (img[box] * yy[box]).sum() / img[box].sum() == pytest.approx(yk, abs=0.02)


def test_noise_is_poisson_plus_read_noise():
    rng = np.random.default_rng(3)
    sky, gain, rd = 200.0, 4.0, 7.0
    img = render.add_noise(np.full((200, 200), sky), gain, rd, rng)
    assert img.mean() == pytest.approx(sky, rel=2e-3)
    assert img.std() == pytest.approx(np.sqrt(sky * gain + rd**2) / gain, rel=0.02)


def test_cosmic_rays_are_sharp_tracks():
    img, info = render.cosmic_rays((200, 200), 20, np.random.default_rng(5))
    hit = img > 0
    assert hit.sum() >= 20
    # no PSF: a hit pixel's 8 neighbours hold at most the two track neighbours' deposit
    assert info["adu_per_pixel"].min() >= 300 and img.max() <= 3 * info["adu_per_pixel"].max()
    assert set(info) == {"x", "y", "length", "angle", "adu_per_pixel"}


def test_odd_fast_len():
    for n in (1, 100, 601, 1000):
        m = render.odd_fast_len(n)
        assert m >= n and m % 2 == 1
        k = m
        for p in (3, 5, 7):
            while k % p == 0:
                k //= p
        assert k == 1
