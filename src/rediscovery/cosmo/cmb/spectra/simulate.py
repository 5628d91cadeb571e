"""Monte-Carlo simulations through the same pipeline as the data, and the Knox formula.

A simulation draws a Gaussian sky of the fiducial spectrum C_ℓ (μK², no beam), convolves it
with the transfer function F_ℓ = b_ℓ p_ℓ, evaluates it at the pixel centres, adds white noise
of the per-pixel variance σ_p² of each data split (independent between splits), and measures
the pseudo-spectrum exactly as the data's (:mod:`rediscovery.cosmo.cmb.spectra.master`).
Each simulation has its own random generator, ``SeedSequence(seed, spawn_key=(i,))``, so the
results do not depend on how the simulations are grouped into tasks or where they run
(:func:`rediscovery.core.executor.map_tasks`: local processes or a dask cluster).

Knox formula (Knox 1995, PRD 52, 4307) on the cut sky, with ν_ℓ = (2ℓ+1) f_sky,eff modes and
f_sky,eff = w₂²/w₄ (Hivon et al. 2002): for the mean X̄ of the cross-spectra of the pairs
P = {(i, j)} of n splits with noise N_i (one pair (0, 0) for a single noise-debiased map),

.. math::

    \\mathrm{Var}(\\bar X_\\ell) = \\frac{1}{|P|^2 \\nu_\\ell} \\sum_{(ij),(kl) \\in P}
      (C_{ik} C_{jl} + C_{il} C_{jk}), \\qquad C_{ik} = C_\\ell + \\delta_{ik} N_{i,\\ell},

(for one map 2(C+N)²/ν; for two splits (2C² + 2CN + N²)/ν), and a band's variance is the
mean over its ℓ, Var(D_b) = Σ_{ℓ∈b} Var(D_ℓ)/Δℓ². White noise of pixel variance σ_p² under
the window has N_ℓ = Ω_pix Σ w_p² σ_p² / Σ w_p² / F_ℓ².
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import combinations

import numpy as np

from rediscovery.core.errors import ConfigError
from rediscovery.cosmo.cmb.spectra.master import Binning, pseudo_alms, pseudo_cl
from rediscovery.cosmo.cmb.spectra.sht import alm2map, map2alm
from rediscovery.cosmo.cmb.spectra.window import Window

__all__ = [
    "SimulationSetup",
    "knox_errors",
    "noise_cl",
    "noise_colour_from_splits",
    "run_simulations",
    "simulate_batch",
    "simulation_batches",
    "unit_gaussian_alm",
]


@dataclass(frozen=True)
class SimulationSetup:
    """Everything a simulation needs (picklable: sent to the workers).

    Attributes
    ----------
    cl
        Fiducial C_ℓ in μK², ℓ = 0 … lsim (no beam).
    transfer
        F_ℓ for ℓ = 0 … lsim.
    window
        The analysis window.
    variances
        Per-pixel white-noise variance (μK²) of each split (one array for a single map).
    noise_colour
        Optional amplitude filter f_ℓ (ℓ = 0 … lsim) applied to the white noise,
        n = n_w + alm2map((f_ℓ − 1) a_ℓm(n_w)): noise with the spectrum shape of the data
        (:func:`noise_colour_from_splits`); ``None`` for white noise.
    lmax, niter, subtract_mean
        As for the data (:func:`~rediscovery.cosmo.cmb.spectra.master.pseudo_alms`).
    """

    cl: np.ndarray
    transfer: np.ndarray
    window: Window
    variances: tuple[np.ndarray, ...]
    lmax: int
    niter: int
    subtract_mean: bool
    noise_colour: np.ndarray | None = None

    @property
    def nside(self) -> int:
        return self.window.nside


#: Threads of each simulation's transforms: the parallelism is across simulations (workers).
_SIM_THREADS = 1


def unit_gaussian_alm(m: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Complex a_ℓm of unit variance in healpy's order (``m`` from ``hp.Alm.getlm``): real
    for m = 0, (re + i im)/√2 otherwise; draws the real parts, then the imaginary parts."""
    re = rng.standard_normal(m.size)
    im = rng.standard_normal(m.size)
    return np.where(m == 0, re, (re + 1j * im) / math.sqrt(2.0)).astype(complex)


def simulation_batches(n_sims: int, n_workers: int | None,
                       batch_size: int | None = None) -> list[list[int]]:
    """Indices 0 … n_sims − 1 in tasks of ``batch_size`` (default: about 4 tasks per
    worker)."""
    from rediscovery.core.executor import default_workers

    if n_sims < 1:
        raise ConfigError(f"--n-sims {n_sims}: expected >= 1")
    if batch_size is None:
        workers = default_workers() if n_workers is None else max(1, n_workers)
        batch_size = max(1, -(-n_sims // (4 * workers)))
    return [list(range(i, min(i + batch_size, n_sims))) for i in range(0, n_sims, batch_size)]


def _signal_map(setup: SimulationSetup, rng: np.random.Generator) -> np.ndarray:
    import healpy as hp

    lsim = len(setup.cl) - 1
    ell, m = hp.Alm.getlm(lsim)
    sd = np.sqrt(np.asarray(setup.cl)[ell]) * np.asarray(setup.transfer)[ell]
    return alm2map(sd * unit_gaussian_alm(m, rng), setup.nside, lsim, nthreads=_SIM_THREADS)


def simulate_batch(task: tuple[SimulationSetup, int, Sequence[int]]) -> dict[str, np.ndarray]:
    """Run the simulations ``indices`` of ``(setup, seed, indices)``: for each, the
    pseudo-spectrum of signal + noise (cross-spectrum of the splits, or the auto-spectrum
    of one map) and, for one map, the pseudo-spectrum of its noise alone (the Monte-Carlo
    noise bias). Module-level so that worker processes and dask can import it."""
    import healpy  # noqa: F401  (loads its OpenMP runtime before the limit below)
    from threadpoolctl import threadpool_limits

    setup, seed, indices = task
    # one thread per worker: the parallelism is across simulations, and healpy's OpenMP
    # threads, busy-waiting on a loaded machine, made a simulation 10× slower (measured)
    with threadpool_limits(limits=1, user_api="openmp"):
        return _simulate(setup, seed, indices)


def _colour(setup: SimulationSetup, white: np.ndarray) -> np.ndarray:
    import healpy as hp

    if setup.noise_colour is None:
        return white
    lsim = len(setup.noise_colour) - 1
    (alm,) = map2alm(
        [white], setup.nside, lsim, support=setup.window.weights > 0, nthreads=_SIM_THREADS
    )
    filtered = hp.almxfl(alm, setup.noise_colour - 1.0)
    return white + alm2map(filtered, setup.nside, lsim, nthreads=_SIM_THREADS)


def noise_colour_from_splits(
    maps: Sequence[np.ndarray],
    variances: Sequence[np.ndarray],
    window: Window,
    lmax: int,
    delta_ell: int,
) -> np.ndarray:
    """Amplitude filter f_ℓ (ℓ = 0 … ``lmax``) that turns white noise of the per-pixel
    variances into noise with the spectrum of the data: f_ℓ² is the pseudo-spectrum of the
    half-difference of the first two splits, d = (m₁ − m₂)/2 (signal-free), over that of white
    noise of variance (σ₁² + σ₂²)/4 (:func:`~rediscovery.cosmo.cmb.spectra.master.
    white_noise_pseudo_cl`), averaged in bands of ``delta_ell`` and interpolated; 1 at ℓ < 2.
    Residual 1/f noise of a destriped map makes it > 1 at low ℓ."""
    from rediscovery.cosmo.cmb.spectra.master import white_noise_pseudo_cl

    if len(maps) < 2:
        raise ConfigError("--noise-model splits needs at least two split maps (--splits)")
    inside = window.weights > 0
    d = np.where(inside, 0.5 * (np.asarray(maps[0]) - np.asarray(maps[1])), 0.0)
    var = 0.25 * (np.asarray(variances[0]) + np.asarray(variances[1]))
    pcl = pseudo_cl(pseudo_alms([d], window, lmax, niter=0))
    ratio = pcl / white_noise_pseudo_cl(window, var)
    ell = np.arange(lmax + 1)
    starts = np.arange(2, lmax + 1, max(1, delta_ell))
    centres = np.array([ell[a : a + delta_ell].mean() for a in starts])
    means = np.array([ratio[a : a + delta_ell].mean() for a in starts])
    colour = np.ones(lmax + 1)
    colour[2:] = np.sqrt(np.clip(np.interp(ell[2:], centres, means), 0.0, None))
    return colour


def _simulate(setup: SimulationSetup, seed: int, indices: Sequence[int]) -> dict[str, np.ndarray]:
    inside = setup.window.weights > 0
    sigmas = [np.sqrt(np.where(inside, v, 0.0)) for v in setup.variances]
    total, noise = [], []
    for i in indices:
        rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(int(i),)))
        sky = _signal_map(setup, rng)
        noises = [_colour(setup, rng.standard_normal(sky.size) * sd) for sd in sigmas]
        alms = pseudo_alms(
            [sky + n for n in noises],
            setup.window,
            setup.lmax,
            niter=setup.niter,
            subtract_mean=setup.subtract_mean,
            nthreads=_SIM_THREADS,
        )
        total.append(pseudo_cl(alms))
        if len(noises) == 1:
            noise.append(
                pseudo_cl(
                    pseudo_alms(
                        noises,
                        setup.window,
                        setup.lmax,
                        niter=setup.niter,
                        subtract_mean=setup.subtract_mean,
                        nthreads=_SIM_THREADS,
                    )
                )
            )
    out = {"total": np.array(total)}
    if noise:
        out["noise"] = np.array(noise)
    return out


def run_simulations(
    setup: SimulationSetup,
    n_sims: int,
    seed: int,
    *,
    scheduler: object | None = None,
    n_workers: int | None = None,
    batch_size: int | None = None,
    progress: bool = True,
) -> dict[str, np.ndarray]:
    """``n_sims`` simulations through :func:`rediscovery.core.executor.map_tasks`.

    Returns ``{"total": (n_sims, lmax+1)}`` pseudo-spectra, plus ``"noise"`` for one map.
    ``batch_size`` simulations per task (default: about 4 tasks per worker).
    """
    from rediscovery.core.executor import map_tasks

    batches = simulation_batches(n_sims, n_workers, batch_size)
    results = map_tasks(
        simulate_batch,
        [(setup, seed, b) for b in batches],
        scheduler=scheduler,
        n_workers=n_workers,
        progress=progress,
        desc=f"{n_sims} simulations",
        start_method="spawn",
    )  # healpy's OpenMP hangs in forked children
    out = {"total": np.concatenate([r["total"] for r in results])}
    if "noise" in results[0]:
        out["noise"] = np.concatenate([r["noise"] for r in results])
    return out


def noise_cl(window: Window, variance: np.ndarray) -> float:
    """White-noise power N = Ω_pix Σ w² σ² / Σ w² (μK² sr) of a map under the window (before
    the transfer function)."""
    w2 = window.weights**2
    var = np.where(window.weights > 0, np.asarray(variance, dtype=float), 0.0)
    return float(4.0 * math.pi / len(w2) * np.sum(w2 * var) / np.sum(w2))


def knox_errors(
    cl: np.ndarray, noise: Sequence[float], transfer: np.ndarray, fsky_eff: float, binning: Binning
) -> np.ndarray:
    """Knox σ(D_b) (μK²) of the band powers for the fiducial C_ℓ (μK², ℓ = 0 … ≥ lmax), noise
    levels ``noise`` of the splits (:func:`noise_cl`, a number for white noise or an array
    over ℓ = 0 … ≥ lmax; one entry for a single map) and the transfer function; see the module
    docstring."""
    lmax = binning.lmax
    ell = np.arange(lmax + 1)
    c = np.asarray(cl, dtype=float)[: lmax + 1]
    f2 = np.asarray(transfer, dtype=float)[: lmax + 1] ** 2
    n_split = len(noise)
    nl = [
        (np.asarray(n, dtype=float)[: lmax + 1] if np.ndim(n) else float(n))
        / np.where(f2 > 0, f2, np.inf)
        for n in noise
    ]
    pairs = list(combinations(range(n_split), 2)) if n_split > 1 else [(0, 0)]

    def cov(a: int, b: int) -> np.ndarray:
        return c + (nl[a] if a == b else 0.0)

    var = np.zeros(lmax + 1)
    for i, j in pairs:
        for k, m in pairs:
            var += cov(i, k) * cov(j, m) + cov(i, m) * cov(j, k)
    var /= len(pairs) ** 2 * np.maximum(2 * ell + 1, 1) * fsky_eff
    dfac = (ell * (ell + 1) / (2 * math.pi)) ** 2
    return np.sqrt(binning.matrix(lmax) ** 2 @ (dfac * var))
