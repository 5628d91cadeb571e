"""Pseudo-C_ℓ power spectra on the cut sky: the MASTER estimator (Hivon et al. 2002, ApJ 567,
2) with pspy's mode-coupling matrix and healpy's transforms.

For a map m (μK) seen through a window w, the pseudo-spectrum of the windowed map

.. math::

    \\tilde C_\\ell = \\frac{1}{2\\ell+1} \\sum_m |\\tilde a_{\\ell m}|^2, \\qquad
    \\tilde a_{\\ell m} = \\int w\\, m\\, Y^*_{\\ell m}\\, d\\Omega

has the expectation ⟨C̃_ℓ⟩ = Σ_ℓ' M_ℓℓ' F_ℓ'² C_ℓ' + Ñ_ℓ, with the coupling matrix
M_ℓℓ' = (2ℓ'+1)/4π Σ_ℓ₃ (2ℓ₃+1) W_ℓ₃ (ℓ ℓ' ℓ₃; 0 0 0)² of the window spectrum W_ℓ (Hivon et
al. eq. A31) and the transfer function F_ℓ = b_ℓ p_ℓ (Gaussian beam, HEALPix pixel window).
Band powers of D_ℓ = ℓ(ℓ+1)C_ℓ/2π are

.. math::

    \\hat D_b = \\sum_{b'} (\\mathcal{M}^{-1})_{bb'} \\sum_{\\ell \\in b'} P_{b'\\ell}
    (\\tilde C_\\ell - \\tilde N_\\ell), \\qquad
    P_{b\\ell} = \\frac{\\ell(\\ell+1)}{2\\pi\\, \\Delta\\ell_b},

with the binned coupling 𝓜 = P M F² Q (Q spreads a band power flat in D_ℓ over its band).
pspy (``so_mcm.mcm_and_bbl_spin0``, Fortran) computes 𝓜⁻¹ and the band-power window
B_bℓ (⟨D̂_b⟩ = Σ_ℓ B_bℓ D_ℓ); it receives the window's harmonic coefficients from healpy
(``input_alm=True``), so no pspy map object is needed.

The noise bias Ñ_ℓ is avoided with cross-spectra of maps with independent noise (data
splits): the mean over the n(n−1)/2 pairs, from |Σᵢ aᵢ|² − Σᵢ |aᵢ|², or subtracted from an
auto-spectrum (Monte-Carlo or :func:`white_noise_pseudo_cl`).
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass

import numpy as np

from rediscovery.core.errors import ConfigError, InputError
from rediscovery.cosmo.cmb.spectra.sht import map2alm
from rediscovery.cosmo.cmb.spectra.window import Window

__all__ = [
    "Binning",
    "Coupling",
    "bandpowers",
    "check_map",
    "coupling_matrix",
    "make_binning",
    "pseudo_alms",
    "pseudo_cl",
    "transfer_function",
    "white_noise_pseudo_cl",
]

#: Jacobi iterations of the analysis (healpy's ``map2alm`` ``iter``; healpy's own default is 3).
#: None: on a full nside-512 sky of CAMB's Planck 2018 spectrum (10′ beam, to ℓ = 1535) the
#: quadrature's C_ℓ agree with the input a_ℓm's to |δC/C| ≤ 3 × 10⁻⁶ for ℓ < 930, and the
#: 3 × 10⁻⁴ of the band 1050-1079 (aliasing of the power above ℓ_max) is the same with 1 or
#: 3 iterations (0.05 of a full-sky band's σ; measured, docs/cosmo-cmb-spectrum.md), while
#: each iteration costs two more transforms.
DEFAULT_NITER = 0

#: Jacobi iterations of the window's own transform (for the coupling matrix), done once per
#: window: on the full sky at nside 32 (ℓ ≤ 60) the band powers agree with ``anafast`` to
#: 10⁻⁵ with 3 (healpy's default), to 1.6 × 10⁻⁵ only without (measured).
WINDOW_NITER = 3


@dataclass(frozen=True)
class Binning:
    """Bands [ell_min, ell_max] (inclusive), ℓ_eff = their mid-point (pspy's convention), and
    the uniform D_ℓ average over each band."""

    ell_min: np.ndarray
    ell_max: np.ndarray

    @property
    def ell_eff(self) -> np.ndarray:
        return 0.5 * (self.ell_min + self.ell_max)

    @property
    def n_bins(self) -> int:
        return len(self.ell_min)

    @property
    def lmax(self) -> int:
        return int(self.ell_max[-1])

    @property
    def width(self) -> np.ndarray:
        return self.ell_max - self.ell_min + 1

    def matrix(self, lmax: int | None = None) -> np.ndarray:
        """(n_bins, lmax+1) matrix averaging an array indexed by ℓ = 0 … lmax over the bands."""
        lmax = self.lmax if lmax is None else lmax
        ell = np.arange(lmax + 1)
        inside = (ell >= self.ell_min[:, None]) & (ell <= self.ell_max[:, None])
        return inside / self.width[:, None]

    def pspy_file(self) -> io.StringIO:
        """The bands as pspy's binning file (``bin_low bin_high bin_centre``)."""
        rows = np.column_stack([self.ell_min, self.ell_max, self.ell_eff])
        return io.StringIO("\n".join(" ".join(f"{v:.2f}" for v in r) for r in rows))


def make_binning(lmax: int, delta_ell: int, ell_min: int = 2) -> Binning:
    """Bands of ``delta_ell`` multipoles from ``ell_min`` (≥ 2); the last band ends at or below
    ``lmax`` (pspy's ``create_binning_file`` layout).

    Examples
    --------
    >>> b = make_binning(50, 10)
    >>> b.ell_min.tolist(), b.ell_max.tolist()
    ([2, 12, 22, 32], [11, 21, 31, 41])
    """
    if delta_ell < 1:
        raise ConfigError(f"--delta-ell {delta_ell}: expected an integer >= 1")
    if ell_min < 2:
        raise ConfigError(f"ell_min {ell_min}: expected >= 2 (monopole and dipole excluded)")
    lo = np.arange(ell_min, lmax + 1, delta_ell)
    hi = lo + delta_ell - 1
    keep = hi <= lmax
    if not keep.any():
        raise ConfigError(
            f"--lmax {lmax} and --delta-ell {delta_ell}: no complete band "
            f"between ℓ = {ell_min} and {lmax}"
        )
    return Binning(lo[keep].astype(int), hi[keep].astype(int))


def transfer_function(lmax: int, fwhm_arcmin: float, nside: int | None) -> np.ndarray:
    """F_ℓ = b_ℓ p_ℓ for ℓ = 0 … lmax: Gaussian beam of ``fwhm_arcmin`` (healpy
    ``gauss_beam``) times the HEALPix pixel window of ``nside``
    (:func:`~rediscovery.cosmo.cmb.spectra.pixwin.pixel_window`; ``None``: no pixel window)."""
    import healpy as hp

    from rediscovery.cosmo.cmb.spectra.pixwin import pixel_window

    if not np.isfinite(fwhm_arcmin) or fwhm_arcmin < 0:
        raise ConfigError(f"--fwhm {fwhm_arcmin}: expected a beam FWHM >= 0 in arcmin")
    f = hp.gauss_beam(math.radians(fwhm_arcmin / 60.0), lmax=lmax)
    if nside is not None:
        f = f * pixel_window(nside, lmax)
    return np.asarray(f, dtype=float)


@dataclass(frozen=True)
class Coupling:
    """The binned MASTER operator of a window, binning and transfer function.

    Attributes
    ----------
    mbb_inv
        Inverse binned coupling 𝓜⁻¹, (n_bins, n_bins).
    bbl
        Band-power window B_bℓ for ℓ = 2 … lmax+2, (n_bins, lmax+1): ⟨D̂_b⟩ = B D_ℓ.
    binning
        The bands.
    transfer
        F_ℓ = b_ℓ p_ℓ, ℓ = 0 … lmax+3.
    """

    mbb_inv: np.ndarray
    bbl: np.ndarray
    binning: Binning
    transfer: np.ndarray

    def expected(self, dl: np.ndarray) -> np.ndarray:
        """⟨D̂_b⟩ for a theory D_ℓ (μK²) indexed by ℓ = 0 … (≥ lmax+2)."""
        n = self.bbl.shape[1]
        if len(dl) < n + 2:
            raise ConfigError(
                f"the theory spectrum stops at ℓ = {len(dl) - 1}; expected ℓ up to {n + 1}"
            )
        return self.bbl @ np.asarray(dl, dtype=float)[2 : n + 2]


def coupling_matrix(
    window: Window, binning: Binning, transfer: np.ndarray, *, niter: int = WINDOW_NITER
) -> Coupling:
    """Binned mode-coupling matrix (inverse) and band-power window by pspy.

    The window's a_ℓm go to ℓ ≤ min(2 ℓ_max + 4, 3 nside − 1) (the 3-j symbols couple ℓ to
    ℓ ± ℓ₃, so W_ℓ₃ is needed to 2 ℓ_max).
    """
    from pspy import so_mcm

    lmax = binning.lmax
    nside = window.nside
    if lmax > 3 * nside - 3:
        raise ConfigError(
            f"--lmax {lmax}: too high for nside {nside}; expected <= 3 nside - 3 = {3 * nside - 3}"
        )
    if len(transfer) < lmax + 4:
        raise ConfigError(
            f"the transfer function stops at ℓ = {len(transfer) - 1}; expected ℓ up to {lmax + 3}"
        )
    (wlm,) = map2alm(
        [window.weights],
        nside,
        min(2 * lmax + 4, 3 * nside - 1),
        niter=niter,
        support=window.weights > 0,
    )
    # pspy's matrices cover ℓ = 2 … L+1 and keep the bands with bin_high < L: L = lmax + 1
    mbb_inv, bbl = so_mcm.mcm_and_bbl_spin0(
        wlm,
        binning.pspy_file(),
        lmax + 1,
        niter,
        type="Dl",
        bl1=np.asarray(transfer, dtype=float),
        input_alm=True,
        binned_mcm=True,
    )
    if mbb_inv.shape[0] != binning.n_bins:  # pragma: no cover - guards the layout above
        raise RuntimeError(f"pspy kept {mbb_inv.shape[0]} of {binning.n_bins} bands")
    return Coupling(mbb_inv, bbl, binning, np.asarray(transfer[: lmax + 4], dtype=float))


def check_map(m: np.ndarray, window: Window, name: str) -> np.ndarray:
    """``m`` (RING, μK) zeroed outside the window, refusing a wrong size or NaN/UNSEEN pixels
    inside it (``name`` for the message)."""
    import healpy as hp

    m = np.asarray(m, dtype=float)
    if m.shape != window.weights.shape:
        raise InputError(
            f"{name} has {m.size} pixels (nside "
            f"{_nside_or_none(m.size)}); expected {window.weights.size} "
            f"(nside {window.nside}) like the mask/window"
        )
    inside = window.weights > 0
    bad = inside & (~np.isfinite(m) | (m == hp.UNSEEN))
    if bad.any():
        raise InputError(
            f"{name} has {int(bad.sum())} NaN/UNSEEN pixel(s) inside the window "
            "(first at RING pixel "
            f"{int(np.argmax(bad))}); expected finite μK values wherever the "
            "window is non-zero (mask those pixels or check the hit map)"
        )
    return np.where(inside, m, 0.0)


def _nside_or_none(npix: int) -> int | str:
    nside = math.isqrt(max(npix, 0) // 12)
    return nside if 12 * nside * nside == npix else "not HEALPix"


def pseudo_alms(
    maps: list[np.ndarray],
    window: Window,
    lmax: int,
    *,
    niter: int = DEFAULT_NITER,
    subtract_mean: bool = False,
    names: list[str] | None = None,
    nthreads: int = 0,
) -> list[np.ndarray]:
    """a_ℓm (ℓ ≤ ``lmax``) of each windowed map w m, or w (m − m̄) with m̄ the w-weighted mean
    when ``subtract_mean``.

    An offset c of the map adds c² W_ℓ (the window's spectrum) at low ℓ; the destriper's maps
    carry none worth removing (0.1 μK against the input sky, measured on the default
    ``cmb-simulate`` TOD). Subtracting the mean also removes part of the sky's own low-ℓ power,
    which MASTER does not model: −0.18σ in the band 2 ≤ ℓ ≤ 21 at f_sky = 0.1 (200
    simulations, nside 128), hence off by default.

    The transforms are :func:`~rediscovery.cosmo.cmb.spectra.sht.map2alm` (healpy's
    ``map2alm`` to rounding; without iterations only the rings crossing the window are
    transformed) with ``nthreads`` threads (0: all)."""
    names = names or [f"map {i + 1}" for i in range(len(maps))]
    w = window.weights
    windowed = []
    for m, name in zip(maps, names, strict=True):
        m = check_map(m, window, name)
        if subtract_mean:
            m = m - np.sum(w * m) / np.sum(w)
        windowed.append(w * m)
    return map2alm(windowed, window.nside, lmax, niter=niter, support=w > 0, nthreads=nthreads)


def pseudo_cl(alms: list[np.ndarray]) -> np.ndarray:
    """Pseudo-C_ℓ from a_ℓm: the auto-spectrum of one map, or the mean cross-spectrum over
    all pairs of several maps (no noise bias when their noise is independent)."""
    import healpy as hp

    n = len(alms)
    if n == 1:
        return hp.alm2cl(alms[0])
    total = hp.alm2cl(np.sum(alms, axis=0))
    autos = np.sum([hp.alm2cl(a) for a in alms], axis=0)
    return (total - autos) / (n * (n - 1))


def white_noise_pseudo_cl(window: Window, variance: np.ndarray) -> float:
    """Expected pseudo-C_ℓ of white pixel noise of variance σ_p² (μK²) under the window:
    Ñ = Ω_pix² Σ_p w_p² σ_p² / 4π, the same at every ℓ (addition theorem; exact for the
    quadrature of ``map2alm`` without iterations)."""
    w = window.weights
    var = np.where(w > 0, np.asarray(variance, dtype=float), 0.0)
    omega = 4.0 * math.pi / len(w)
    return float(omega**2 * np.sum(w**2 * var) / (4.0 * math.pi))


def bandpowers(
    pcl: np.ndarray, coupling: Coupling, noise_pcl: np.ndarray | float | None = None
) -> np.ndarray:
    """D̂_b (μK²) from pseudo-C_ℓ (ℓ = 0 … ≥ lmax on the last axis; several spectra as rows),
    after subtracting ``noise_pcl``; the beam and pixel window are deconvolved through the
    coupling matrix."""
    lmax = coupling.binning.lmax
    pcl = np.asarray(pcl, dtype=float)
    if pcl.shape[-1] < lmax + 1:
        raise ConfigError(f"the pseudo-spectrum stops at ℓ = {pcl.shape[-1] - 1}; expected {lmax}")
    cl = pcl[..., : lmax + 1]
    if noise_pcl is not None:
        noise = np.asarray(noise_pcl, dtype=float)
        cl = cl - (noise[: lmax + 1] if noise.ndim else noise)
    ell = np.arange(lmax + 1)
    binned = (ell * (ell + 1) / (2 * math.pi) * cl) @ coupling.binning.matrix(lmax).T
    return binned @ coupling.mbb_inv.T
