"""The simulated temperature sky: a Gaussian realisation of the CAMB TT spectrum at a hidden
cosmology, smoothed by a Gaussian beam.

The cosmology is drawn like every hidden universe of the package
(:func:`rediscovery.cosmo.sn.simulate.draw_truth`: H0 ~ U(60, 80), Ω_m ~ U(0.2, 0.4),
Ω_Λ ~ U(0.5, 0.9), curvature allowed), mapped to CAMB's parameters by
:func:`rediscovery.cosmo.cmb.theory.densities_to_physical` (ω_b, n_s, A_s, τ at the Planck
2018 best fit). The harmonic coefficients are drawn with a numpy ``Generator`` (healpy's
``synalm`` uses the global numpy state): a_ℓ0 ~ N(0, C_ℓ) real, and for m > 0 the real and
imaginary parts ~ N(0, C_ℓ/2); the beam is b_ℓ = exp(−ℓ(ℓ+1)σ_b²/2),
σ_b = FWHM/√(8 ln 2) (healpy ``gauss_beam``). Maps are in μK, HEALPix RING ordering.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from rediscovery.core.errors import ConfigError

__all__ = ["SkyTruth", "draw_sky_cosmology", "gaussian_sky", "gaussian_sky_iqu", "iqu_cl",
           "tt_cl"]


@dataclass(frozen=True)
class SkyTruth:
    """The hidden sky: cosmology, spectrum and maps (μK, RING).

    ``cl`` is C_ℓ^TT (μK², ℓ = 0 … lmax, zeros at ℓ < 2); ``sky`` the unsmoothed and
    ``sky_smoothed`` the beam-smoothed realisation at ``nside``.
    """

    cosmology: dict[str, float]
    cl: np.ndarray
    sky: np.ndarray
    sky_smoothed: np.ndarray
    nside: int
    fwhm_arcmin: float
    seed: int

    def to_dict(self) -> dict[str, Any]:
        """The content of ``truth.json`` (no maps)."""
        return {"cosmology": self.cosmology, "seed": self.seed, "nside": self.nside,
                "fwhm_arcmin": self.fwhm_arcmin, "lmax": len(self.cl) - 1,
                "units": "uK (thermodynamic), HEALPix RING, equatorial frame"}


def draw_sky_cosmology(seed: int) -> dict[str, float]:
    """The hidden cosmology (H0, Om, OL from ``draw_truth``) as CAMB parameters plus Om, OL."""
    from rediscovery.cosmo.cmb.theory import PLANCK2018_BEST_FIT, densities_to_physical
    from rediscovery.cosmo.sn.simulate import draw_truth

    truth = draw_truth(seed)
    phys = densities_to_physical(truth.H0 / 100.0, truth.Om, truth.OL)
    return {**{k: PLANCK2018_BEST_FIT[k] for k in ("ns", "ln10As", "tau")}, **phys,
            "Om": truth.Om, "OL": truth.OL}


def _camb_cl(params: dict[str, float], lmax: int, names: tuple[str, ...]) -> np.ndarray:
    """C_ℓ (μK², ℓ = 0 … ``lmax``, zeros at ℓ < 2) of CAMB's lensed spectra ``names``."""
    from rediscovery.cosmo.cmb.theory import camb_spectra

    camb_keys = ("H0", "ombh2", "omch2", "ns", "ln10As", "tau", "omk", "mnu")
    s = camb_spectra({k: params[k] for k in camb_keys if k in params}, lmax=max(lmax, 30))
    cl = np.zeros((len(names), lmax + 1))
    ell = s.ell[s.ell <= lmax]
    for row, name in zip(cl, names, strict=True):
        row[ell] = s[name][: len(ell)] * 2.0 * math.pi / (ell * (ell + 1.0))
    return cl


def tt_cl(params: dict[str, float], lmax: int) -> np.ndarray:
    """C_ℓ^TT in μK² for ℓ = 0 … ``lmax`` from CAMB (lensed; zeros at ℓ = 0, 1)."""
    return _camb_cl(params, lmax, ("tt",))[0]


def iqu_cl(params: dict[str, float], lmax: int) -> np.ndarray:
    """C_ℓ^TT, EE, BB, TE (rows, healpy's order; μK², ℓ = 0 … ``lmax``) from CAMB for
    :func:`gaussian_sky_iqu`: lensed TT, EE, TE; BB = 0 (the package's CAMB spectra have no
    B modes: no tensors, and lensing B, D_ℓ ≲ 0.1 μK², is left out)."""
    tt, ee, te = _camb_cl(params, lmax, ("tt", "ee", "te"))
    return np.array([tt, ee, np.zeros_like(tt), te])


def gaussian_sky(cl: np.ndarray, nside: int, fwhm_arcmin: float,
                 rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Unsmoothed and beam-smoothed Gaussian maps (μK, RING) of the spectrum ``cl`` (μK²).

    ``lmax = len(cl) - 1`` (use ≤ 3 nside − 1).

    Examples
    --------
    >>> cl = np.r_[0.0, 0.0, 1.0 / np.arange(2, 48) ** 2]
    >>> sky, smooth = gaussian_sky(cl, 16, 60.0, np.random.default_rng(0))
    >>> sky.shape, bool(smooth.std() < sky.std())
    ((3072,), True)
    """
    import healpy as hp

    lmax = len(cl) - 1
    ell, m = hp.Alm.getlm(lmax)
    sd = np.sqrt(np.asarray(cl, dtype=float)[ell])
    re = rng.standard_normal(ell.size)
    im = rng.standard_normal(ell.size)
    alm = np.where(m == 0, sd * re, sd * (re + 1j * im) / math.sqrt(2.0)).astype(complex)
    sky = hp.alm2map(alm, nside, lmax=lmax)
    beam = hp.gauss_beam(math.radians(fwhm_arcmin / 60.0), lmax=lmax)
    smooth = hp.alm2map(hp.almxfl(alm, beam), nside, lmax=lmax)
    return sky, smooth


def gaussian_sky_iqu(cl: np.ndarray, nside: int, fwhm_arcmin: float,
                     rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Unsmoothed and beam-smoothed Gaussian I, Q, U maps (μK, RING, shape (3, npix)).

    ``cl`` has rows C_ℓ^TT, C_ℓ^EE, C_ℓ^BB, C_ℓ^TE (μK², ℓ = 0 … lmax, healpy's order).
    The correlated harmonic coefficients are drawn from unit Gaussians g₁, g₂, g₃ (with the
    same real/imaginary convention as :func:`gaussian_sky`):
    a^T = √C^TT g₁, a^E = (C^TE/√C^TT) g₁ + √(C^EE − (C^TE)²/C^TT) g₂, a^B = √C^BB g₃
    (so ⟨a^T a^E*⟩ = C^TE); healpy's ``alm2map(pol=True)`` makes I, Q, U in its (COSMO)
    polarisation convention, and the beam is ``gauss_beam(pol=True)`` (T, E, B columns).

    Examples
    --------
    >>> ell = np.arange(48.0)
    >>> tt = np.r_[0.0, 0.0, 1.0 / ell[2:] ** 2]
    >>> cl = np.array([tt, 0.1 * tt, 0.0 * tt, 0.2 * tt])
    >>> iqu, smooth = gaussian_sky_iqu(cl, 16, 60.0, np.random.default_rng(0))
    >>> iqu.shape, bool(iqu[1].std() < iqu[0].std())
    ((3, 3072), True)
    """
    import healpy as hp

    cl = np.asarray(cl, dtype=float)
    if cl.ndim != 2 or cl.shape[0] != 4:
        raise ConfigError(f"cl of shape {cl.shape}: expected (4, lmax + 1) rows TT, EE, BB, TE")
    tt, ee, bb, te = cl
    lmax = cl.shape[1] - 1
    ell, m = hp.Alm.getlm(lmax)
    with np.errstate(divide="ignore", invalid="ignore"):
        s_tt = np.sqrt(tt)
        r_te = np.where(tt > 0, te / np.where(tt > 0, s_tt, 1.0), 0.0)
        s_ee = np.sqrt(np.clip(ee - r_te**2, 0.0, None))
    g = [rng.standard_normal(ell.size) + 1j * rng.standard_normal(ell.size) for _ in range(3)]
    g = [np.where(m == 0, x.real, x / math.sqrt(2.0)) for x in g]
    alm = np.array([s_tt[ell] * g[0], r_te[ell] * g[0] + s_ee[ell] * g[1], np.sqrt(bb)[ell] * g[2]])
    sky = np.asarray(hp.alm2map(alm, nside, lmax=lmax, pol=True))
    beam = hp.gauss_beam(math.radians(fwhm_arcmin / 60.0), lmax=lmax, pol=True)
    smooth = np.asarray(hp.alm2map(np.array([hp.almxfl(alm[k], beam[:, k]) for k in range(3)]),
                                   nside, lmax=lmax, pol=True))
    return sky, smooth
