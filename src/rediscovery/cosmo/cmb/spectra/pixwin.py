"""The HEALPix pixel window function, computed here (healpy's ``pixwin`` downloads its tables
from the network at run time, which this package does not do).

Definition (Górski et al. 2005, ApJ 622, 759, §4.2 and eq. 10 of the HEALPix primer): the
window of pixel p is w_ℓm(p) = Ω_p⁻¹ ∫_p Y*_ℓm dΩ, and

.. math::

    w_\\ell^2 = \\frac{1}{N_{\\rm pix}} \\sum_p \\frac{4\\pi}{2\\ell+1} \\sum_m |w_{\\ell m}(p)|^2
              = \\frac{1}{N_{\\rm pix}} \\sum_p \\frac{1}{\\Omega_p^2} \\int_p\\int_p
                P_\\ell(\\hat x \\cdot \\hat y)\\, d\\Omega_x\\, d\\Omega_y

by the addition theorem. The double integral is the mean of P_ℓ over the pairs of the
4^k sub-pixel centres of each pixel (NESTED children at nside 2^k N, all of equal area);
pixels of one iso-latitude ring are rotations of one another, so one pixel per ring is enough,
weighted by the number of pixels of its ring, with every ``ring_step``-th ring of the northern
half (the southern half is its mirror image).
"""

from __future__ import annotations

import numpy as np

from rediscovery.core.errors import ConfigError

__all__ = ["pixel_window"]


def pixel_window(nside: int, lmax: int, *, sub_level: int = 3, max_rings: int = 96) -> np.ndarray:
    """w_ℓ for ℓ = 0 … ``lmax`` of HEALPix pixels at ``nside``.

    The midpoint rule over sub-pixels has an error ∝ (sub-pixel size)², removed by Richardson
    extrapolation from ``sub_level`` − 1 and ``sub_level``: w² = (4 w²₍ₖ₎ − w²₍ₖ₋₁₎)/3.

    Parameters
    ----------
    sub_level
        Each pixel is sampled by 4**sub_level sub-pixel centres (8 × 8 by default).
    max_rings
        Largest number of rings of the northern half used (evenly spaced, weighted by their
        pixel counts).
    """
    if nside < 1 or nside & (nside - 1):
        raise ConfigError(f"nside {nside}: expected a power of 2")
    if sub_level < 2:
        raise ConfigError(f"sub_level {sub_level}: expected >= 2")
    fine = _window_squared(nside, lmax, sub_level, max_rings)
    coarse = _window_squared(nside, lmax, sub_level - 1, max_rings)
    return np.sqrt(np.clip((4.0 * fine - coarse) / 3.0, 0.0, None))


def _window_squared(nside: int, lmax: int, sub_level: int, max_rings: int) -> np.ndarray:
    import healpy as hp

    n_rings = 2 * nside  # rings 1 … 2 nside (the equator included) in the northern half
    step = max(1, -(-n_rings // max_rings))
    rings = np.arange(1, n_rings + 1, step)
    # first pixel of ring i (RING scheme) and the pixels in it
    npix_ring = np.where(rings < nside, 4 * rings, 4 * nside)
    first = np.where(
        rings < nside,
        2 * rings * (rings - 1),
        2 * nside * (nside - 1) + (rings - nside) * 4 * nside,
    )
    weight = npix_ring.astype(float)
    weight[rings == n_rings] /= 2.0  # the equator ring is not mirrored
    weight /= weight.sum()
    k = 4**sub_level
    children = (hp.ring2nest(nside, first)[:, None] * k + np.arange(k)).ravel()
    vec = np.stack(hp.pix2vec(nside << sub_level, children, nest=True), axis=-1)
    vec = vec.reshape(len(rings), k, 3)
    cosg = np.clip(np.einsum("rid,rjd->rij", vec, vec), -1.0, 1.0).reshape(len(rings), -1)
    out = np.empty(lmax + 1)
    p_prev, p_cur = np.ones_like(cosg), cosg.copy()
    out[0] = 1.0
    if lmax >= 1:
        out[1] = weight @ p_cur.mean(axis=1)
    for ell in range(1, lmax):  # Bonnet's recurrence, vectorised over rings and pairs
        p_prev, p_cur = p_cur, ((2 * ell + 1) * cosg * p_cur - ell * p_prev) / (ell + 1)
        out[ell + 1] = weight @ p_cur.mean(axis=1)
    return out
