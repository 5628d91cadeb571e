"""Map residuals against the (hidden) input sky: for validation scripts, never for the map-maker.

The residual r = m − s_B (map minus the beam-smoothed input sky) is set to zero outside the
observed pixels and its monopole over the observed pixels removed (a scanning instrument does
not measure it). Its pseudo power spectrum divided by the observed fraction of the sky,
C_ℓ^res = C̃_ℓ(r) / f_sky, is compared with the white-noise level of the map,

.. math::

    N_\\ell^{\\rm white} = \\Omega_{\\rm pix} \\langle \\sigma_p^2 \\rangle_{\\rm seen},

the expected pseudo-C_ℓ / f_sky of uncorrelated pixel noise with variances σ²_p (Ω_pix =
4π/N_pix). With only white noise, C_ℓ^res/N_ℓ^white = 1 up to sampling scatter; 1/f noise
left in the map shows as an excess at low ℓ.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from rediscovery.cosmo.cmb.mapmaking.binned import MapResult

__all__ = ["ResidualSpectrum", "band_average", "residual_spectrum", "white_noise_level"]


@dataclass(frozen=True)
class ResidualSpectrum:
    """``ell``, residual ``cl`` (C_ℓ^res, μK²), ``white`` (N_ℓ^white, μK², a number) and
    ``fsky`` (observed fraction)."""

    ell: np.ndarray
    cl: np.ndarray
    white: float
    fsky: float

    def excess(self, lmin: int, lmax: int) -> float:
        """Mean of C_ℓ^res/N^white − 1 for lmin ≤ ℓ ≤ lmax."""
        sel = (self.ell >= lmin) & (self.ell <= lmax)
        return float(np.mean(self.cl[sel]) / self.white - 1.0)


def white_noise_level(result: MapResult) -> float:
    """N^white = Ω_pix ⟨σ²_p⟩ over the observed pixels (μK²)."""
    npix = len(result.map)
    return float(4.0 * np.pi / npix * np.mean(result.variance[result.seen]))


def residual_spectrum(result: MapResult, sky_smoothed: np.ndarray, *,
                      lmax: int | None = None) -> ResidualSpectrum:
    """Pseudo-C_ℓ / f_sky of map − beam-smoothed sky (RING maps, same nside), monopole of the
    observed pixels removed."""
    import healpy as hp

    seen = result.seen
    if len(sky_smoothed) != len(result.map):
        sky_smoothed = hp.ud_grade(sky_smoothed, result.nside)
    r = np.zeros(len(result.map))
    r[seen] = result.map[seen] - sky_smoothed[seen]
    r[seen] -= r[seen].mean()
    lmax = lmax if lmax is not None else 3 * result.nside - 1
    fsky = float(seen.mean())
    cl = hp.anafast(r, lmax=lmax, use_pixel_weights=False) / fsky
    return ResidualSpectrum(np.arange(lmax + 1), cl, white_noise_level(result), fsky)


def band_average(spec: ResidualSpectrum, edges: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Bin centres and mean C_ℓ^res/N^white in bins [edges[i], edges[i+1])."""
    centres, ratio = [], []
    for lo, hi in itertools.pairwise(edges):
        sel = (spec.ell >= lo) & (spec.ell < hi)
        centres.append(0.5 * (lo + hi - 1))
        ratio.append(np.mean(spec.cl[sel]) / spec.white)
    return np.asarray(centres), np.asarray(ratio)
