"""TE and EE band powers of I, Q, U maps: MASTER with pspy's spin-0 and spin-2 mode coupling.

The windowed maps w I, w Q, w U are transformed to pseudo-a_ℓm of T (spin 0) and of E, B
(spin 2; healpy's ``map2alm(pol=True)``, HEALPix/COSMO convention, the map-maker's). The
pseudo-spectra C̃^XY_ℓ (XY in pspy's order TT, TE, TB, ET, BT, EE, EB, BE, BB) of a window
couple as

.. math::

    \\langle \\tilde C^{TT} \\rangle = M^{00} C^{TT}, \\quad
    \\langle \\tilde C^{TE} \\rangle = M^{02} C^{TE}, \\quad
    \\begin{pmatrix} \\langle \\tilde C^{EE} \\rangle \\\\ \\langle \\tilde C^{BB} \\rangle
    \\end{pmatrix} = \\begin{pmatrix} M^{++} & M^{--} \\\\ M^{--} & M^{++} \\end{pmatrix}
    \\begin{pmatrix} C^{EE} \\\\ C^{BB} \\end{pmatrix}

(Kogut et al. 2003, ApJS 148, 161, appendix; Brown, Castro & Taylor 2005, MNRAS 360, 1262:
the cut sky leaks E into B and back through M^{--}). pspy (``so_mcm.mcm_and_bbl_spin0and2``)
computes these blocks, binned in D_ℓ and with the transfer functions F^T_ℓ, F^P_ℓ, inverts
them and gives the band-power windows; ``so_spectra.bin_spectra`` bins the pseudo-spectra and
applies the inverse. The window is the temperature one (:mod:`~rediscovery.cosmo.cmb.spectra
.window`), used for T and for P.

Transfer functions: F^T_ℓ = b_ℓ p_ℓ as for TT; F^P_ℓ = b^P_ℓ p_ℓ with the Gaussian beam of
spin 2, b^P_ℓ = b_ℓ exp(2σ_b²) (healpy ``gauss_beam(pol=True)``, the simulator's), and the
temperature pixel window p_ℓ (the HEALPix spin-2 pixel window differs from it by much less
than the band-power errors here, but is not computed by the package).

Noise bias: cross-spectra of data splits have none. The auto-spectra of one map lose the
white-noise pseudo-spectra Ω_pix² Σ_p w_p² σ_p² / 4π of I (TT) and of (σ_Q² + σ_U²)/2 (EE and
BB); TE keeps the pixels' I × Q, U noise correlation, which the variance files do not hold
(use splits for TE).

Errors: Monte-Carlo simulations through the same pipeline (``n_sims`` ≥ 2): Gaussian T, E, B
skies of the fiducial spectra (T and E correlated, a_ℓm^E = (C^TE/C^TT) a_ℓm^T + an independent
part of variance C^EE − (C^TE)²/C^TT), convolved with F^T, F^P, with white noise of each split's
I, Q, U pixel variances (independent between Stokes parameters and splits), measured exactly as
the data; σ and the band-power covariance are those of the simulations, each with its own
generator ``SeedSequence(seed, spawn_key=(i,))``, run through
:func:`rediscovery.core.executor.map_tasks`. Without simulations, Knox:
σ²(C^EE_ℓ) = 2 (C^EE + N^P/F_P²)² / ((2ℓ+1) f_sky,eff) and
σ²(C^TE_ℓ) = ((C^TE)² + (C^TT + N^T/F_T²)(C^EE + N^P/F_P²)) / ((2ℓ+1) f_sky,eff) for one map,
with the split-pair sums of :func:`~rediscovery.cosmo.cmb.spectra.knox_errors` for splits.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import combinations
from typing import Any

import numpy as np

from rediscovery.core.errors import ConfigError
from rediscovery.cosmo.cmb.spectra.estimate import SpectrumResult, band_layout
from rediscovery.cosmo.cmb.spectra.master import (
    DEFAULT_NITER,
    WINDOW_NITER,
    Binning,
    check_map,
    transfer_function,
    white_noise_pseudo_cl,
)
from rediscovery.cosmo.cmb.spectra.sht import map2alm
from rediscovery.cosmo.cmb.spectra.simulate import (
    knox_errors,
    noise_cl,
    simulation_batches,
    unit_gaussian_alm,
)
from rediscovery.cosmo.cmb.spectra.window import Window

__all__ = ["SPECTRA", "PolSetup", "PolSimulationSetup", "measure_pol_spectra", "prepare_pol",
           "pseudo_alms_iqu", "pseudo_cl_pol", "run_pol_simulations", "simulate_pol_batch"]

#: The nine spectra of a spin-0 and a spin-2 field, in pspy's order.
SPECTRA = ("TT", "TE", "TB", "ET", "BT", "EE", "EB", "BE", "BB")


@dataclass(frozen=True)
class PolSetup:
    """Window, bands and pspy's spin-0 and spin-2 coupling (inverse blocks ``mbb_inv`` and
    band-power windows ``bbl``, pspy's dictionaries) on the work bands ``work``; the
    requested bands are the first ``binning.n_bins``. ``transfer`` rows: F^T, F^P."""

    window: Window
    binning: Binning
    work: Binning
    mbb_inv: dict[str, np.ndarray]
    bbl: dict[str, np.ndarray]
    transfer: np.ndarray
    niter: int
    coupling_seconds: float

    @property
    def lmax_work(self) -> int:
        return self.work.lmax

    def bandpowers(self, pcl: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """D̂_b (μK², requested bands) of the nine pseudo-spectra (ℓ = 0 … ≥ ``lmax_work``)."""
        from pspy import so_spectra

        n = min(len(v) for v in pcl.values())
        if n < self.lmax_work + 1:
            raise ConfigError(f"the pseudo-spectra stop at ℓ = {n - 1}; expected "
                              f"{self.lmax_work}")
        ps = {k: np.asarray(pcl[k], dtype=float) for k in SPECTRA}
        _, out = so_spectra.bin_spectra(np.arange(n), ps, self.work.pspy_file(),
                                        self.lmax_work + 1, "Dl", spectra=list(SPECTRA),
                                        mbb_inv=self.mbb_inv, binned_mcm=True)
        return {k: np.asarray(out[k])[: self.binning.n_bins] for k in SPECTRA}

    def expected(self, dl: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """⟨D̂_b⟩ of the requested bands for theory D_ℓ^XY (μK², ℓ = 0 … ≥ lmax_work + 2;
        missing spectra are zero)."""
        from pspy import so_mcm

        n = self.bbl["spin0xspin0"].shape[1]
        vec = {}
        for k in SPECTRA:
            v = np.zeros(n)
            if k in dl:
                d = np.asarray(dl[k], dtype=float)
                if len(d) < n + 2:
                    raise ConfigError(f"the theory D_ℓ^{k} stops at ℓ = {len(d) - 1}; "
                                      f"expected ℓ up to {n + 1}")
                v = d[2 : n + 2]
            vec[k] = v
        out = so_mcm.apply_Bbl(self.bbl, vec, spectra=list(SPECTRA))
        return {k: np.asarray(out[k])[: self.binning.n_bins] for k in SPECTRA}


def _transfer_pol(nside: int, fwhm_arcmin: float, pixwin: bool) -> np.ndarray:
    import healpy as hp

    lmax = 3 * nside - 1
    f_t = transfer_function(lmax, fwhm_arcmin, nside if pixwin else None)
    beams = hp.gauss_beam(math.radians(fwhm_arcmin / 60.0), lmax=lmax, pol=True)
    return np.array([f_t, f_t * beams[:, 1] / beams[:, 0]])


def prepare_pol(window: Window, *, lmax: int, delta_ell: int, fwhm_arcmin: float,
                pixwin: bool = True, niter: int = DEFAULT_NITER) -> PolSetup:
    """Bands (as :func:`~rediscovery.cosmo.cmb.spectra.prepare`), transfer functions and
    pspy's spin-0 and spin-2 coupling of ``window``."""
    from pspy import so_mcm

    nside = window.nside
    binning, work = band_layout(lmax, delta_ell, nside)
    transfer = _transfer_pol(nside, fwhm_arcmin, pixwin)
    t0 = time.perf_counter()
    (wlm,) = map2alm([window.weights], nside, min(2 * work.lmax + 4, 3 * nside - 1),
                     niter=WINDOW_NITER, support=window.weights > 0)
    # pspy's matrices cover ℓ = 2 … L+1 and keep the bands with bin_high < L: L = lmax + 1
    mbb_inv, bbl = so_mcm.mcm_and_bbl_spin0and2(
        (wlm, wlm), work.pspy_file(), work.lmax + 1, WINDOW_NITER, type="Dl",
        bl1=(transfer[0], transfer[1]), input_alm=True, binned_mcm=True)
    return PolSetup(window, binning, work, mbb_inv, bbl, transfer, niter,
                    time.perf_counter() - t0)


def pseudo_alms_iqu(maps: np.ndarray, window: Window, lmax: int, *,
                    niter: int = DEFAULT_NITER, name: str = "map") -> np.ndarray:
    """Pseudo-a_ℓm (3, n_alm) of T, E, B of the windowed I, Q, U maps (3, npix) (RING, μK)."""
    import healpy as hp

    maps = np.asarray(maps, dtype=float)
    if maps.ndim != 2 or maps.shape[0] != 3:
        raise ConfigError(f"{name} of shape {maps.shape}: expected (3, npix) I, Q, U")
    w = window.weights
    windowed = [w * check_map(m, window, f"{name} {s}") for m, s in zip(maps, "IQU",
                                                                         strict=True)]
    return np.asarray(hp.map2alm(windowed, lmax=lmax, iter=niter, pol=True, use_weights=False))


def pseudo_cl_pol(alms: list[np.ndarray]) -> dict[str, np.ndarray]:
    """The nine pseudo-spectra (pspy's ``get_spectra``): of one map, or the mean over the
    pairs i < j of the cross-spectra of splits (XY = X_i Y_j, YX = Y_i X_j: no noise bias)."""
    from pspy import so_spectra

    if len(alms) == 1:
        return so_spectra.get_spectra(alms[0], spectra=list(SPECTRA))[1]
    pairs = list(combinations(range(len(alms)), 2))
    total = {k: 0.0 for k in SPECTRA}
    for i, j in pairs:
        cl = so_spectra.get_spectra(alms[i], alms[j], spectra=list(SPECTRA))[1]
        for k in SPECTRA:
            total[k] = total[k] + cl[k]
    return {k: v / len(pairs) for k, v in total.items()}


def _knox_te(cl_tt: np.ndarray, cl_ee: np.ndarray, cl_te: np.ndarray, noise_t: list[float],
             noise_p: list[float], transfer: np.ndarray, fsky_eff: float,
             binning: Binning) -> np.ndarray:
    """Knox σ(D_b^TE) (module notes): for splits, the covariance of the mean of the
    cross-spectra T_i E_j over the ordered pairs i ≠ j."""
    lmax = binning.lmax
    ell = np.arange(lmax + 1)
    sl = slice(0, lmax + 1)
    f2 = transfer[:, sl] ** 2
    nt = [n / np.where(f2[0] > 0, f2[0], np.inf) for n in noise_t]
    npol = [n / np.where(f2[1] > 0, f2[1], np.inf) for n in noise_p]
    n = len(noise_t)
    pairs = [(i, j) for i in range(n) for j in range(n) if i != j] if n > 1 else [(0, 0)]
    var = np.zeros(lmax + 1)
    for i, j in pairs:
        for k, m in pairs:
            c_tt = cl_tt[sl] + (nt[i] if i == k else 0.0)
            c_ee = cl_ee[sl] + (npol[j] if j == m else 0.0)
            var += c_tt * c_ee + cl_te[sl] ** 2
    var /= len(pairs) ** 2 * np.maximum(2 * ell + 1, 1) * fsky_eff
    dfac = (ell * (ell + 1) / (2 * math.pi)) ** 2
    return np.sqrt(binning.matrix(lmax) ** 2 @ (dfac * var))


def _pol_bandpowers(maps: list[np.ndarray], variances: list[np.ndarray], setup: PolSetup,
                    names: list[str] | None = None) -> tuple[dict[str, np.ndarray], str]:
    """D̂_b of the nine spectra of I, Q, U maps: one map, its auto-spectra minus the white-noise
    bias; several, the mean cross-spectra of the splits. Returns (D̂_b, the bias method)."""
    w = setup.window
    names = names or [f"map {i + 1}" for i in range(len(maps))]
    alms = [pseudo_alms_iqu(m, w, setup.lmax_work, niter=setup.niter, name=nm)
            for m, nm in zip(maps, names, strict=True)]
    pcl = pseudo_cl_pol(alms)
    if len(maps) == 1:
        var = np.asarray(variances[0], dtype=float)
        n_t = white_noise_pseudo_cl(w, var[0])
        n_p = white_noise_pseudo_cl(w, 0.5 * (var[1] + var[2]))
        pcl = {**pcl, "TT": pcl["TT"] - n_t, "EE": pcl["EE"] - n_p, "BB": pcl["BB"] - n_p}
        bias = "analytic white noise subtracted from TT, EE, BB (none from TE)"
    else:
        bias = "cross-spectra of splits"
    return setup.bandpowers(pcl), bias


@dataclass(frozen=True)
class PolSimulationSetup:
    """What a polarised simulation needs (picklable: sent to the workers): the estimator's
    ``setup``, the fiducial ``cl`` (rows TT, EE, BB, TE, μK², ℓ = 0 …, no beam) and the
    per-pixel I, Q, U white-noise variances (3, npix) of each split."""

    setup: PolSetup
    cl: np.ndarray
    variances: tuple[np.ndarray, ...]


def _iqu_sky(sim: PolSimulationSetup, rng: np.random.Generator) -> np.ndarray:
    """A Gaussian I, Q, U sky (3, npix) of the fiducial spectra, convolved with F^T, F^P."""
    import healpy as hp

    nside = sim.setup.window.nside
    lsim = min(sim.cl.shape[1] - 1, 3 * nside - 1)
    ell, m = hp.Alm.getlm(lsim)
    tt, ee, bb, te = (np.asarray(sim.cl[k], dtype=float)[ell] for k in range(4))
    z = [unit_gaussian_alm(m, rng) for _ in range(3)]
    root_tt = np.sqrt(np.clip(tt, 0.0, None))
    te_part = np.divide(te, root_tt, out=np.zeros_like(te), where=root_tt > 0)
    t = root_tt * z[0]
    e = te_part * z[0] + np.sqrt(np.clip(ee - te_part**2, 0.0, None)) * z[1]
    b = np.sqrt(np.clip(bb, 0.0, None)) * z[2]
    f_t, f_p = (np.asarray(f)[ell] for f in sim.setup.transfer)
    alms = [(t * f_t).astype(complex), (e * f_p).astype(complex), (b * f_p).astype(complex)]
    return np.asarray(hp.alm2map(alms, nside, lmax=lsim, pol=True))


def simulate_pol_batch(task: tuple[PolSimulationSetup, int, Sequence[int]]
                       ) -> dict[str, np.ndarray]:
    """TE and EE band powers (n, n_bins) of the simulations ``indices`` of ``(sim, seed,
    indices)``. Module-level so that worker processes and dask can import it."""
    import healpy  # noqa: F401  (loads its OpenMP runtime before the limit below)
    from threadpoolctl import threadpool_limits

    sim, seed, indices = task
    inside = sim.setup.window.weights > 0
    sigmas = [np.sqrt(np.where(inside, np.asarray(v, dtype=float), 0.0)) for v in sim.variances]
    te, ee = [], []
    # one thread per worker: the parallelism is across simulations
    with threadpool_limits(limits=1, user_api="openmp"):
        for i in indices:
            rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(int(i),)))
            sky = _iqu_sky(sim, rng)
            maps = [sky + rng.standard_normal(sky.shape) * sd for sd in sigmas]
            dl, _ = _pol_bandpowers(maps, list(sim.variances), sim.setup)
            te.append(0.5 * (dl["TE"] + dl["ET"]))
            ee.append(dl["EE"])
    return {"te": np.array(te), "ee": np.array(ee)}


def run_pol_simulations(sim: PolSimulationSetup, n_sims: int, seed: int, *,
                        scheduler: object | None = None, n_workers: int | None = None,
                        progress: bool = True) -> dict[str, np.ndarray]:
    """``n_sims`` polarised simulations through :func:`rediscovery.core.executor.map_tasks`:
    ``{"te": (n_sims, n_bins), "ee": (n_sims, n_bins)}`` band powers."""
    from rediscovery.core.executor import map_tasks

    batches = simulation_batches(n_sims, n_workers)
    results = map_tasks(simulate_pol_batch, [(sim, seed, b) for b in batches],
                        scheduler=scheduler, n_workers=n_workers, progress=progress,
                        desc=f"{n_sims} I, Q, U simulations",
                        start_method="spawn")  # healpy's OpenMP hangs in forked children
    return {k: np.concatenate([r[k] for r in results]) for k in ("te", "ee")}


def measure_pol_spectra(maps: list[np.ndarray], variances: list[np.ndarray], setup: PolSetup,
                        fiducial_cl: np.ndarray, *, n_sims: int = 0, seed: int = 0,
                        scheduler: object | None = None, n_workers: int | None = None,
                        progress: bool = False) -> dict[str, SpectrumResult]:
    """TE and EE band powers of I, Q, U maps (one map: auto-spectra minus the white-noise
    bias; several: mean cross-spectra of the splits) with Monte-Carlo errors (``n_sims`` ≥ 2)
    or Knox errors.

    Parameters
    ----------
    maps, variances
        (3, npix) I, Q, U maps (μK) and their white-noise variances (μK²), RING, one per
        split (inside the window: finite maps, variances ≥ 0).
    setup
        From :func:`prepare_pol`.
    fiducial_cl
        Rows C_ℓ^TT, EE, BB, TE (μK², ℓ = 0 …, no beam) for the simulations, the Knox errors
        and ``expected``.
    n_sims, seed, scheduler, n_workers, progress
        Simulations through the same pipeline (:func:`run_pol_simulations`); 0 for Knox
        errors only.

    Returns
    -------
    dict
        ``"te"`` and ``"ee"``: :class:`~rediscovery.cosmo.cmb.spectra.SpectrumResult`
        (``kind`` TE / EE; TE is the mean of the TE and ET estimates; ``sims`` and ``cov``
        with simulations).
    """
    if len(maps) != len(variances) or not maps:
        raise ConfigError(f"{len(maps)} I, Q, U map(s) and {len(variances)} variance set(s): "
                          "expected the same number, at least one")
    if n_sims == 1 or n_sims < 0:
        raise ConfigError(f"--n-sims {n_sims}: expected 0 (Knox errors) or >= 2")
    fid = np.asarray(fiducial_cl, dtype=float)
    if fid.ndim != 2 or fid.shape[0] != 4 or fid.shape[1] < setup.binning.lmax + 1:
        raise ConfigError(f"fiducial C_ℓ of shape {fid.shape}: expected (4, > lmax) rows TT, "
                          "EE, BB, TE")
    w = setup.window
    t0 = time.perf_counter()
    names = [f"map {i + 1}" for i in range(len(maps))] if len(maps) > 1 else ["map"]
    var = [np.asarray(v, dtype=float) for v in variances]
    dl, bias = _pol_bandpowers(maps, var, setup, names)
    t_spec = time.perf_counter() - t0
    lfid = fid.shape[1] - 1
    ell = np.arange(lfid + 1)
    dfac = ell * (ell + 1) / (2 * math.pi)
    theory = {"TT": dfac * fid[0], "EE": dfac * fid[1], "BB": dfac * fid[2], "TE": dfac * fid[3],
              "ET": dfac * fid[3]}
    need = setup.bbl["spin0xspin0"].shape[1] + 2
    if lfid + 1 < need:
        theory = {k: np.r_[v, np.zeros(need - lfid - 1)] for k, v in theory.items()}
    expected = setup.expected(theory)
    noise_t = [noise_cl(w, v[0]) for v in var]
    noise_p = [noise_cl(w, 0.5 * (v[1] + v[2])) for v in var]
    err_ee = knox_errors(fid[1], noise_p, setup.transfer[1], w.fsky_eff, setup.binning)
    err_te = _knox_te(fid[0], fid[1], fid[3], noise_t, noise_p, setup.transfer, w.fsky_eff,
                      setup.binning)
    sims: dict[str, np.ndarray] = {}
    t_sims = 0.0
    if n_sims >= 2:
        t1 = time.perf_counter()
        sims = run_pol_simulations(PolSimulationSetup(setup, fid, tuple(var)), n_sims, seed,
                                   scheduler=scheduler, n_workers=n_workers, progress=progress)
        t_sims = time.perf_counter() - t1
    info: dict[str, Any] = {
        "estimator": "MASTER pseudo-C_ell, spin 0 and 2 (pspy coupling, healpy transforms)",
        "n_maps": len(maps), "noise_bias": bias,
        "errors": f"Monte Carlo ({n_sims} simulations)" if sims else "Knox",
        "n_sims": n_sims if sims else 0, "seed": seed if sims else None,
        "noise_white_T_uK2_sr": noise_t, "noise_white_P_uK2_sr": noise_p,
        "coupling_seconds": setup.coupling_seconds, "spectrum_seconds": t_spec,
        "simulation_seconds": t_sims, "lmax_work": setup.lmax_work, "niter": setup.niter}
    out = {}
    nb = setup.binning.n_bins
    window_te = np.hstack([np.zeros((nb, 2)), setup.bbl["spin0xspin2"][:nb]])
    window_ee = np.hstack([np.zeros((nb, 2)), setup.bbl["spin2xspin2"][:nb, : window_te.shape[1]
                                                                       - 2]])
    for kind, d, knox, exp, win in (
            ("TE", 0.5 * (dl["TE"] + dl["ET"]), err_te, 0.5 * (expected["TE"] + expected["ET"]),
             window_te),
            ("EE", dl["EE"], err_ee, expected["EE"], window_ee)):
        s = sims.get(kind.lower())
        err = s.std(axis=0, ddof=1) if s is not None else knox
        cov = np.cov(s, rowvar=False) if s is not None else None
        out[kind.lower()] = SpectrumResult(setup.binning, d, err, knox, cov, s, exp,
                                           {**info, "spectrum": kind}, win, kind)
    return out
