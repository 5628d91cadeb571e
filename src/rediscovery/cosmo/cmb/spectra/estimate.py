"""The power-spectrum stage: band powers of a map (or of its data splits), Monte-Carlo errors
and covariance from simulations through the same pipeline, and the Knox comparison.

The coupling matrix is computed for bands beyond the requested ℓ_max (a margin of
max(2 Δℓ, ℓ_max/10) multipoles, within 3 nside − 4) and the extra bands are dropped: MASTER
ignores the power above its last band, which the window couples into the bands just below.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from rediscovery.core.errors import ConfigError, InputError
from rediscovery.cosmo.cmb.spectra.master import (
    DEFAULT_NITER,
    Binning,
    Coupling,
    bandpowers,
    coupling_matrix,
    make_binning,
    pseudo_alms,
    pseudo_cl,
    transfer_function,
    white_noise_pseudo_cl,
)
from rediscovery.cosmo.cmb.spectra.simulate import (
    SimulationSetup,
    knox_errors,
    noise_cl,
    noise_colour_from_splits,
    run_simulations,
)
from rediscovery.cosmo.cmb.spectra.window import Window

__all__ = ["SpectrumResult", "SpectrumSetup", "band_layout", "measure_spectrum", "prepare"]


@dataclass(frozen=True)
class SpectrumSetup:
    """The data-independent part of the estimator: window, bands, transfer function and
    coupling matrix (reuse it for many maps and simulations)."""

    window: Window
    binning: Binning
    coupling: Coupling
    transfer: np.ndarray
    lmax_work: int
    niter: int
    subtract_mean: bool
    coupling_seconds: float

    @property
    def n_bins(self) -> int:
        return self.binning.n_bins

    def bandpowers(
        self, pcl: np.ndarray, noise_pcl: np.ndarray | float | None = None
    ) -> np.ndarray:
        """Band powers (μK², the requested bands) of pseudo-spectra up to ``lmax_work``."""
        return bandpowers(pcl, self.coupling, noise_pcl)[..., : self.n_bins]

    def window_function(self) -> np.ndarray:
        """Band-power window (n_bins, lmax_work + 3), column ℓ from 0 (zeros at ℓ = 0, 1)."""
        bbl = self.coupling.bbl[: self.n_bins]
        return np.hstack([np.zeros((self.n_bins, 2)), bbl])

    def expected(self, dl: np.ndarray) -> np.ndarray:
        """⟨D̂_b⟩ of the requested bands for a theory D_ℓ (ℓ = 0 … ≥ lmax_work + 2)."""
        return self.coupling.expected(dl)[: self.n_bins]


def band_layout(lmax: int, delta_ell: int, nside: int) -> tuple[Binning, Binning]:
    """The requested bands to ``lmax`` and the bands of the coupling matrix, which go on to
    ``lmax`` + max(2 Δℓ, ``lmax``/10) within 3 nside − 4 (module notes)."""
    top = 3 * nside - 4
    if lmax < 2 or lmax > top:
        raise ConfigError(
            f"--lmax {lmax}: expected 2 <= lmax <= 3 nside - 4 = {top} for the map's nside {nside}"
        )
    lmax_work = min(top, lmax + max(2 * delta_ell, lmax // 10))
    return make_binning(lmax, delta_ell), make_binning(lmax_work, delta_ell)


def prepare(
    window: Window,
    *,
    lmax: int,
    delta_ell: int,
    fwhm_arcmin: float,
    pixwin: bool = True,
    niter: int = DEFAULT_NITER,
    subtract_mean: bool = False,
) -> SpectrumSetup:
    """Bands, transfer function (beam ``fwhm_arcmin``, pixel window if ``pixwin``) and the
    pspy coupling matrix for ``window``; ``niter``: Jacobi iterations of the maps' transforms
    (the window's own transform uses :data:`~rediscovery.cosmo.cmb.spectra.master.WINDOW_NITER`)."""
    nside = window.nside
    binning, work = band_layout(lmax, delta_ell, nside)
    transfer = transfer_function(3 * nside - 1, fwhm_arcmin, nside if pixwin else None)
    t0 = time.perf_counter()
    coupling = coupling_matrix(window, work, transfer)
    seconds = time.perf_counter() - t0
    return SpectrumSetup(
        window, binning, coupling, transfer, work.lmax, niter, subtract_mean, seconds
    )


@dataclass(frozen=True)
class SpectrumResult:
    """Band powers with their errors.

    Attributes
    ----------
    binning
        The bands.
    dl
        D̂_b in μK².
    dl_err
        1σ: the standard deviation of the simulations (≥ 2), else Knox.
    knox_err
        Knox σ for the fiducial spectrum.
    cov
        Band-power covariance of the simulations (μK⁴), ``None`` with fewer than 2.
    sims
        Band powers of the simulations (n_sims, n_bins).
    expected
        ⟨D̂_b⟩ of the fiducial spectrum through the band-power window.
    info
        Method, sizes, timings, f_sky figures (JSON-able).
    window_function
        Band-power window B_bℓ (n_bins, L) with column ℓ = 0 … L − 1: ⟨D̂_b⟩ = B @ D_ℓ[:L].
    kind
        ``"TT"``, ``"TE"`` or ``"EE"``.
    """

    binning: Binning
    dl: np.ndarray
    dl_err: np.ndarray
    knox_err: np.ndarray
    cov: np.ndarray | None
    sims: np.ndarray | None
    expected: np.ndarray
    info: dict[str, Any] = field(default_factory=dict)
    window_function: np.ndarray | None = None
    kind: str = "TT"

    @property
    def mc_mean(self) -> np.ndarray | None:
        return None if self.sims is None else self.sims.mean(axis=0)

    @property
    def bias_over_sigma(self) -> np.ndarray | None:
        """(mean of the simulations − expected) / σ per band."""
        if self.sims is None or len(self.sims) < 2:
            return None
        return (self.sims.mean(axis=0) - self.expected) / self.sims.std(axis=0, ddof=1)

    def to_binned_spectrum(self, source: str = ""):
        """The result as the package's :class:`~rediscovery.cosmo.cmb.io.BinnedSpectrum`."""
        from rediscovery.cosmo.cmb.io import BinnedSpectrum

        b = self.binning
        return BinnedSpectrum(
            b.ell_min,
            b.ell_max,
            b.ell_eff,
            self.dl,
            self.dl_err,
            self.dl_err,
            self.cov,
            self.kind,
            source,
        )


def _fiducial(cl: np.ndarray, lsim: int) -> np.ndarray:
    cl = np.asarray(cl, dtype=float)
    if cl.ndim != 1 or len(cl) < 3 or not np.isfinite(cl).all() or (cl < 0).any():
        raise ConfigError("the fiducial C_ℓ must be a finite, non-negative 1-D array from ℓ = 0")
    out = np.zeros(lsim + 1)
    n = min(len(cl), lsim + 1)
    out[:n] = cl[:n]
    out[:2] = 0.0
    return out


def measure_spectrum(
    maps: list[np.ndarray],
    variances: list[np.ndarray],
    setup: SpectrumSetup,
    fiducial_cl: np.ndarray,
    *,
    n_sims: int = 0,
    seed: int = 0,
    scheduler: Any = None,
    n_workers: int | None = None,
    progress: bool = True,
    noise_model: str = "white",
) -> SpectrumResult:
    """Band powers of ``maps`` (one map: auto-spectrum minus the noise bias; several: mean
    cross-spectrum of the splits), with ``n_sims`` simulations of ``fiducial_cl`` (C_ℓ, μK²,
    no beam, ℓ = 0 …) for the errors and covariance.

    Parameters
    ----------
    maps, variances
        Maps (μK) and their per-pixel white-noise variances (μK²), RING, one per split.
    setup
        From :func:`prepare`.
    n_sims
        Simulations (0: Knox errors and the analytic white-noise bias).
    seed
        Seed of the simulations.
    scheduler, n_workers
        Where the simulations run (:func:`rediscovery.core.executor.map_tasks`).
    noise_model
        ``"white"``: the simulations' noise is white with the per-pixel variances;
        ``"splits"``: that noise coloured to the spectrum of the splits' half-difference
        (:func:`~rediscovery.cosmo.cmb.spectra.simulate.noise_colour_from_splits`; residual
        1/f noise of destriped maps), also used in Knox.
    """
    if len(maps) != len(variances):
        raise ConfigError(f"{len(maps)} map(s) but {len(variances)} variance map(s)")
    if len(maps) < 1:
        raise ConfigError("no map given")
    if noise_model not in ("white", "splits"):
        raise ConfigError(f"--noise-model {noise_model!r}: expected white or splits")
    if noise_model == "splits" and len(maps) < 2:
        raise ConfigError("--noise-model splits needs at least two split maps (--splits)")
    w = setup.window
    inside = w.weights > 0
    for i, v in enumerate(variances):
        v = np.asarray(v, dtype=float)
        if v.shape != w.weights.shape:
            raise InputError(
                f"variance map {i + 1} has {v.size} pixels; expected "
                f"{w.weights.size} (nside {w.nside})"
            )
        bad = inside & (~np.isfinite(v) | (v < 0))
        if bad.any():
            raise InputError(
                f"variance map {i + 1} has {int(bad.sum())} negative, NaN or "
                "UNSEEN pixel(s) inside the window; expected variances >= 0 μK²"
            )
    names = [f"map {i + 1}" for i in range(len(maps))] if len(maps) > 1 else ["map"]
    lw = setup.lmax_work
    t0 = time.perf_counter()
    alms = pseudo_alms(
        maps, w, lw, niter=setup.niter, subtract_mean=setup.subtract_mean, names=names
    )
    pcl = pseudo_cl(alms)
    t_spec = time.perf_counter() - t0
    lsim = min(3 * w.nside - 1, 2 * lw)
    cl = _fiducial(fiducial_cl, lsim)
    ell = np.arange(lsim + 1)
    dl_fid = ell * (ell + 1) / (2 * math.pi) * cl
    expected = setup.expected(dl_fid)
    colour = None
    white_levels = [noise_cl(w, v) for v in variances]
    noise_levels: list[Any] = list(white_levels)
    if noise_model == "splits":
        colour = noise_colour_from_splits(maps, variances, w, lsim, int(setup.binning.width[0]))
        noise_levels = [n * colour**2 for n in noise_levels]
    knox = knox_errors(cl, noise_levels, setup.transfer, w.fsky_eff, setup.binning)
    info: dict[str, Any] = {
        "estimator": "MASTER pseudo-C_ell (pspy coupling matrix, healpy transforms)",
        "n_maps": len(maps),
        "noise_bias": "cross-spectra of splits" if len(maps) > 1 else "",
        "nside": w.nside,
        "lmax": setup.binning.lmax,
        "lmax_work": lw,
        "delta_ell": int(setup.binning.width[0]),
        "niter": setup.niter,
        "subtract_mean": setup.subtract_mean,
        "apod_deg": w.apod_deg,
        "apod_type": w.apod_type,
        "fsky": w.fsky,
        "fsky_eff": w.fsky_eff,
        "noise_model": noise_model,
        "w2": w.moment(2),
        "w4": w.moment(4),
        "noise_white_uK2_sr": white_levels,
        "n_sims": n_sims,
        "seed": seed,
        "lmax_sim": lsim,
        "coupling_seconds": setup.coupling_seconds,
        "spectrum_seconds": t_spec,
    }
    noise_bias: np.ndarray | float | None = None
    sims = cov = None
    if n_sims > 0:
        sim_setup = SimulationSetup(
            cl,
            setup.transfer[: lsim + 1],
            w,
            tuple(np.asarray(v, dtype=float) for v in variances),
            lw,
            setup.niter,
            setup.subtract_mean,
            colour,
        )
        t0 = time.perf_counter()
        raw = run_simulations(
            sim_setup, n_sims, seed, scheduler=scheduler, n_workers=n_workers, progress=progress
        )
        info["simulation_seconds"] = time.perf_counter() - t0
        if len(maps) == 1:
            noise_bias = raw["noise"].mean(axis=0)
            info["noise_bias"] = f"Monte-Carlo: mean noise pseudo-spectrum of {n_sims} sims"
        sims = setup.bandpowers(raw["total"], noise_bias)
        if n_sims >= 2:
            cov = np.cov(sims, rowvar=False)
    elif len(maps) == 1:
        noise_bias = white_noise_pseudo_cl(w, variances[0])
        info["noise_bias"] = "analytic white noise: Ω_pix² Σ w² σ² / 4π"
    dl = setup.bandpowers(pcl, noise_bias)
    dl_err = np.sqrt(np.diag(cov)) if cov is not None else knox
    info["errors"] = "Monte-Carlo" if cov is not None else "Knox"
    return SpectrumResult(
        setup.binning, dl, dl_err, knox, cov, sims, expected, info, setup.window_function()
    )
