"""The polarised sky (TT, EE, BB, TE → I, Q, U) and the polarisation angle of the scan."""

from __future__ import annotations

import healpy as hp
import numpy as np

from rediscovery.cosmo.cmb.tod import (
    ScanStrategy,
    default_focal_plane,
    detector_pointing_psi,
    gaussian_sky_iqu,
    parallactic_angle,
)


def test_gaussian_sky_iqu_spectra() -> None:
    """anafast of the unsmoothed maps recovers C^TT, C^EE, C^TE and no B, averaged over ℓ
    (Gaussian scatter of the mean over 40 < ℓ < 90: ~2 %)."""
    nside = 64
    ell = np.arange(3 * nside, dtype=float)
    tt = np.r_[0.0, 0.0, 1.0 / ell[2:] ** 2]
    cl = np.array([tt, 0.3 * tt, 0.0 * tt, 0.4 * tt])
    sky, _ = gaussian_sky_iqu(cl, nside, 30.0, np.random.default_rng(2))
    est = hp.anafast(sky, lmax=3 * nside - 1)  # TT EE BB TE EB TB
    sel = slice(40, 90)
    for k, row in ((0, 0), (1, 1), (3, 3)):
        assert abs(est[k][sel].sum() / cl[row][sel].sum() - 1) < 0.08
    assert est[2][sel].sum() < 1e-6 * est[1][sel].sum()  # pixelisation leakage only


def test_the_sky_rotation_turns_a_single_detectors_angle() -> None:
    """Without a half-wave plate one detector's ψ changes only with the parallactic angle:
    over a day its range on the sky is tens of degrees, and a pixel crossed rising and setting
    sees two angles."""
    det = default_focal_plane(1, polarised=True)[0]
    t = np.arange(0.0, 86400.0, 10.0)
    _, _, psi = detector_pointing_psi(t, ScanStrategy(), det)
    spread = np.degrees(np.ptp(np.unwrap(2 * psi) / 2))
    assert 20.0 < spread < 180.0


def test_parallactic_angle_against_vector_geometry() -> None:
    """q from the closed form against the angle between the directions to the pole and to
    the zenith computed with vectors (independent spherical geometry)."""
    rng = np.random.default_rng(4)
    lat = np.radians(-22.96)
    ha = rng.uniform(-np.pi, np.pi, 200)
    dec = rng.uniform(-np.radians(80), np.radians(80), 200)
    q = parallactic_angle(ha, dec, lat)
    # unit vectors in the (hour angle, declination) frame: x to H = 0 on the equator, z pole
    src = np.stack([np.cos(dec) * np.cos(ha), -np.cos(dec) * np.sin(ha), np.sin(dec)], -1)
    zen = np.array([np.cos(lat), 0.0, np.sin(lat)])
    pole = np.array([0.0, 0.0, 1.0])

    def tangent(v):  # direction from the source towards v, in the source's tangent plane
        t = v - (src @ v)[:, None] * src
        return t / np.linalg.norm(t, axis=1)[:, None]

    tp, tz = tangent(pole), tangent(zen)
    # angle from the pole direction to the zenith direction, positive North → East as the
    # observer sees the sky (inside the sphere: clockwise about the outward normal src)
    ang = -np.arctan2(np.einsum("ij,ij->i", np.cross(tp, tz), src),
                      np.einsum("ij,ij->i", tp, tz))
    np.testing.assert_allclose(np.abs(np.angle(np.exp(1j * (q - ang)))), 0.0, atol=1e-9)
    west = np.sin(ha) > 0.1
    assert np.all(q[west] > 0) and np.all(q[np.sin(ha) < -0.1] < 0)
