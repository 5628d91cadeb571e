"""Inject-and-recover: how often do the 68% intervals cover the hidden truth?

Each pseudo-universe draws hidden (H0, Ω_m, Ω_Λ)
(:func:`~rediscovery.cosmo.sn.simulate.draw_truth`),
simulates data, fits it, and records whether the truth lies inside the central 68.27%
credible interval of each parameter. Two modes:

``"hubble"``
    The cheap variant: the Hubble table is drawn directly from the truth
    (μ ~ N(μ_true, σ_μ²), :func:`~rediscovery.cosmo.sn.simulate.simulate_hubble_table`). It
    tests the cosmology fit (likelihood, offset marginalisation, MCMC) alone.
``"lightcurves"``
    The full chain: SALT2 light curves → SALT2 fits → hierarchical Tripp fit → cosmology
    fit, with M calibrated at the simulator's value (so H0 is tested too).

Universes run in parallel through :func:`rediscovery.core.executor.map_tasks`; each carries
its own seed.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from rediscovery.core.errors import ConfigError

__all__ = ["coverage_study", "grid_posterior_summary", "run_universe", "summarise_universes"]


@dataclass(frozen=True)
class _Task:
    seed: int
    mode: str
    model: str
    n_sne: int
    n_steps: int
    n_walkers: int
    cache: str | None = None
    ab_covariance: bool = True
    true_standardisation: bool = False
    hierarchical: bool = False
    grid: bool = False


#: Cells of the exact grid posterior (``grid=True``): Ω_m for flat-lcdm; Ω_m × Ω_Λ for lcdm
#: (over the fit's prior box, cells of 0.005 × 0.01: the posterior's width is ≥ 0.05).
_GRID_CELLS = {"flat-lcdm": (2000,), "lcdm": (300, 350)}
#: Posterior samples drawn from the grid for the summaries.
_GRID_SAMPLES = 40_000


def grid_posterior_summary(table: Any, model: str, *, seed: int) -> dict[str, Any]:
    """The posterior of a Hubble table evaluated exactly on a grid instead of sampled by MCMC:
    an independent check of the sampler (no chain, no convergence question) in the summary
    format of :meth:`~rediscovery.cosmo.mcmc.MCMCResult.summary` (``Om``, ``OL``,
    ``H0_if_calibrated``; ``converged`` True, no R̂ or τ).

    Flat priors of :data:`~rediscovery.cosmo.sn.hubble.MODELS` (cell midpoints; samples are
    spread uniformly within their cell), the offset marginalised analytically as in
    :func:`~rediscovery.cosmo.sn.hubble.fit_hubble`, which also gives H0 per sample.
    """
    from rediscovery.core.errors import ConfigError
    from rediscovery.cosmo.mcmc import interval_summary
    from rediscovery.cosmo.sn.hubble import H0_REF, MODELS, HubbleLikelihood

    if model not in _GRID_CELLS:
        raise ConfigError(f"grid posterior: model must be one of {sorted(_GRID_CELLS)}, got "
                          f"{model!r}")
    axes, widths = [], []
    for prior, n in zip(MODELS[model]["priors"], _GRID_CELLS[model], strict=True):
        edges = np.linspace(prior.lo, prior.hi, n + 1)
        axes.append(0.5 * (edges[1:] + edges[:-1]))
        widths.append(edges[1] - edges[0])
    mesh = [a.ravel() for a in np.meshgrid(*axes, indexing="ij")]
    om = mesh[0]
    ol = mesh[1] if model == "lcdm" else 1.0 - om
    like = HubbleLikelihood(table)
    chi2 = like.chi2(om, ol)
    prob = np.exp(-0.5 * (chi2 - np.min(chi2)))
    prob /= prob.sum()
    rng = np.random.default_rng([seed, 3])
    idx = rng.choice(prob.size, _GRID_SAMPLES, p=prob)
    om_s = om[idx] + widths[0] * (rng.random(idx.size) - 0.5)
    ol_s = (ol[idx] + widths[1] * (rng.random(idx.size) - 0.5) if model == "lcdm"
            else 1.0 - om_s)
    mean_off, sd_off = like.offset(om_s, ol_s)
    h0 = H0_REF * 10.0 ** (-(mean_off + sd_off * rng.standard_normal(idx.size)) / 5.0)
    out: dict[str, Any] = {"Om": interval_summary(om_s), "OL": interval_summary(ol_s),
                           "H0_if_calibrated": interval_summary(h0), "converged": True,
                           "rhat": {}, "autocorr_tau": {}}
    # profile-likelihood intervals from the grid: the smallest χ² over the other axis, the
    # set where it is within 1 of the minimum (to the cell edges)
    chi2 = chi2.reshape(tuple(a.size for a in axes))
    names = ["Om", "OL"] if model == "lcdm" else ["Om"]
    for i, name in enumerate(names):
        prof = chi2.min(axis=1 - i) if model == "lcdm" else chi2
        inside = axes[i][prof - prof.min() <= 1.0]
        out[name]["profile_lo68"] = float(inside.min() - 0.5 * widths[i])
        out[name]["profile_hi68"] = float(inside.max() + 0.5 * widths[i])
    return out


def _salt2_fits(task: _Task, truth: Any) -> tuple[pd.DataFrame, pd.DataFrame]:
    """SALT2 fits and true parameters of one universe's simulated SNe (the costly step), read
    from / written to ``task.cache`` (one Parquet pair per seed and size) when given."""
    from rediscovery.core.files import write_parquet
    from rediscovery.cosmo.sn.lightcurves import fit_lightcurves
    from rediscovery.cosmo.sn.simulate import simulate_lightcurves

    paths = None
    if task.cache is not None:
        stem = Path(task.cache) / f"universe{task.seed}_{task.n_sne}sne"
        paths = (stem.with_name(stem.name + "_salt2.parquet"),
                 stem.with_name(stem.name + "_truth.parquet"))
        if all(p.exists() for p in paths):
            return pd.read_parquet(paths[0]), pd.read_parquet(paths[1])
    lcs, zs, params = simulate_lightcurves(task.n_sne, truth, seed=task.seed)
    fits = fit_lightcurves(lcs, zs, n_workers=1, progress=False)
    if paths is not None:
        paths[0].parent.mkdir(parents=True, exist_ok=True)
        write_parquet(fits, paths[0])
        write_parquet(params, paths[1])
    return fits, params


def run_universe(task: _Task) -> dict[str, Any]:
    """Simulate and fit one universe; return truth, posterior summary and coverage flags."""
    from rediscovery.cosmo.sn.hubble import (
        fit_hubble,
        fit_tripp,
        standardise,
        standardised_covariance,
    )
    from rediscovery.cosmo.sn.io import HubbleTable
    from rediscovery.cosmo.sn.simulate import (
        SNPopulation,
        draw_truth,
        simulate_hubble_table,
        simulate_salt2_table,
    )

    # a flat model is tested on flat universes (on curved ones it is simply misspecified)
    truth = draw_truth(task.seed, flat=task.model.startswith("flat"))
    if task.mode == "hubble":
        df = simulate_hubble_table(task.n_sne, truth, seed=task.seed)
        cov = None
        extra: dict[str, Any] = {}
    else:
        if task.mode == "salt2":
            fits, _ = simulate_salt2_table(task.n_sne, truth, seed=task.seed)
        else:
            fits, _ = _salt2_fits(task, truth)
        good = fits[fits["quality"]].reset_index(drop=True)
        tr = fit_tripp(good)
        pop = SNPopulation()
        if task.hierarchical:
            return _hierarchical_universe(task, truth, good, tr, pop)
        if task.true_standardisation:  # diagnostic: the simulator's α, β, σ_int, no (α, β) error
            std = replace(tr, alpha=pop.alpha, beta=pop.beta, sigma_int=pop.sigma_int,
                          cov_alpha_beta=np.zeros((2, 2)))
        else:
            std = tr
        df = standardise(good, std, pop.abs_mag)
        cov = standardised_covariance(good, std) if task.ab_covariance else None
        extra = {"alpha": tr.alpha, "alpha_err": tr.errors["alpha"], "beta": tr.beta,
                 "beta_err": tr.errors["beta"], "alpha_true": pop.alpha, "beta_true": pop.beta}
    table = HubbleTable.from_frame(df[["sn_id", "z", "mu", "mu_err"]], cov=cov,
                                  source=f"universe {task.seed}")
    if task.grid:
        return _coverage_row(task, truth, grid_posterior_summary(table, task.model,
                                                                 seed=task.seed), extra)
    res = fit_hubble(table, task.model, seed=task.seed, n_steps=task.n_steps,
                     n_walkers=task.n_walkers, progress=False)
    return _coverage_row(task, truth, res.summary(), extra)


def _hierarchical_universe(task: _Task, truth: Any, good: pd.DataFrame, tr: Any,
                           pop: Any) -> dict[str, Any]:
    """The standardisation sampled with the cosmology (:mod:`~rediscovery.cosmo.sn
    .hierarchical`), started at the Tripp fit ``tr``; α and β reported from the chain."""
    from rediscovery.cosmo.sn.hierarchical import fit_hierarchical

    res = fit_hierarchical(good, task.model, abs_mag=pop.abs_mag, seed=task.seed,
                           n_steps=task.n_steps, n_walkers=task.n_walkers, progress=False,
                           tripp=tr)
    s = res.summary()
    extra = {"alpha_true": pop.alpha, "beta_true": pop.beta}
    for p in ("alpha", "beta"):
        extra[p], extra[p + "_err"] = s[p]["mean"], s[p]["std"]
    return _coverage_row(task, truth, s, extra)


def _coverage_row(task: _Task, truth: Any, s: dict[str, Any],
                  extra: dict[str, Any]) -> dict[str, Any]:
    values = {"Om": truth.Om, "OL": truth.OL, "H0_if_calibrated": truth.H0}
    out: dict[str, Any] = {"seed": task.seed, "truth": values, "converged": s["converged"],
                           "rhat_max": max((v for v in s["rhat"].values() if v is not None),
                                           default=float("nan")),
                           "tau_max": max((v for v in s["autocorr_tau"].values()
                                           if v is not None), default=float("nan")),
                           **extra}
    for name, true in values.items():
        if name in s and isinstance(s[name], dict):
            out[name] = {k: s[name][k] for k in ("mean", "std", "lo68", "hi68")}
            out[name]["covered"] = bool(s[name]["lo68"] <= true <= s[name]["hi68"])
            out[name]["pull"] = (s[name]["mean"] - true) / s[name]["std"]
            if "profile_lo68" in s[name]:
                lo, hi = s[name]["profile_lo68"], s[name]["profile_hi68"]
                out[name]["profile68"] = [lo, hi]
                out[name]["profile_covered"] = bool(lo <= true <= hi)
    return out


def coverage_study(n_universes: int = 50, *, seed: int = 0, mode: str = "hubble",
                   model: str = "lcdm", n_sne: int = 300, n_steps: int = 2000,
                   n_walkers: int = 16, n_workers: int | None = None,
                   progress: bool = True, cache: str | None = None,
                   ab_covariance: bool = True,
                   true_standardisation: bool = False,
                   hierarchical: bool = False, grid: bool = False) -> dict[str, Any]:
    """Run ``n_universes`` inject-and-recover fits; return per-parameter coverage and pulls.

    ``cache`` is a folder keeping each light-curve universe's SALT2 fits (reused when present);
    ``ab_covariance=False`` leaves the (α, β) term out of the Hubble covariance (the
    diagonal errors only, for comparison); ``true_standardisation=True`` standardises with the
    simulator's α, β and σ_int instead of the fitted ones (a diagnostic that isolates the
    Tripp fit's share of the miscoverage); ``hierarchical=True`` samples the standardisation
    with the cosmology (:func:`~rediscovery.cosmo.sn.hierarchical.fit_hierarchical`) instead of
    fitting a Hubble table; ``grid=True`` evaluates the Hubble table's posterior exactly on a
    grid (:func:`grid_posterior_summary`) instead of running the MCMC.

    Returns
    -------
    dict
        ``{"universes": [...], "coverage": {param: fraction}, "coverage_err": {param:
        binomial error}, "pull_mean": ..., "pull_std": ..., "n_converged": int}``, and
        ``profile_coverage`` / ``profile_coverage_err`` for the parameters whose fits report
        profile-likelihood intervals (:mod:`rediscovery.cosmo.profile`).
    """
    from rediscovery.core.executor import map_tasks

    if mode not in ("hubble", "salt2", "lightcurves"):
        raise ConfigError(f"mode must be 'hubble', 'salt2' or 'lightcurves', got {mode!r}")
    if grid and hierarchical:
        raise ConfigError("grid=True evaluates a Hubble table's posterior; it cannot be "
                          "combined with hierarchical=True")
    if hierarchical and mode == "hubble":
        raise ConfigError("hierarchical=True needs SALT2 fits to sample: mode 'salt2' or "
                          "'lightcurves'")
    tasks = [_Task(seed * 100_003 + i, mode, model, n_sne, n_steps, n_walkers, cache,
                   ab_covariance, true_standardisation, hierarchical, grid)
             for i in range(n_universes)]
    results = map_tasks(run_universe, tasks, n_workers=n_workers, progress=progress,
                        desc=f"universes ({mode})")
    return summarise_universes(results, mode=mode, model=model, n_sne=n_sne)


def summarise_universes(results: list[dict[str, Any]], *, mode: str, model: str,
                        n_sne: int) -> dict[str, Any]:
    """Coverage, binomial errors, pulls and convergence of per-universe rows
    (:func:`run_universe`'s results): the summary of :func:`coverage_study`, also for rows
    pooled from several studies (``benchmarks/sn_coverage.py --pool``)."""
    if not results:
        raise ConfigError("no universes to summarise")
    n_universes = len(results)
    summary: dict[str, Any] = {"mode": mode, "model": model, "n_universes": n_universes,
                               "n_sne": n_sne, "universes": results, "coverage": {},
                               "coverage_err": {}, "pull_mean": {}, "pull_std": {}}
    for p in ("Om", "OL", "H0_if_calibrated"):
        rows = [r[p] for r in results if p in r]
        if not rows:
            continue
        cov = float(np.mean([r["covered"] for r in rows]))
        pulls = np.array([r["pull"] for r in rows])
        summary["coverage"][p] = cov
        summary["coverage_err"][p] = float(np.sqrt(cov * (1 - cov) / len(rows)))
        summary["pull_mean"][p] = float(pulls.mean())
        summary["pull_std"][p] = float(pulls.std(ddof=1))
        prof = [r["profile_covered"] for r in rows if "profile_covered" in r]
        if prof:
            c = float(np.mean(prof))
            summary.setdefault("profile_coverage", {})[p] = c
            summary.setdefault("profile_coverage_err", {})[p] = float(
                np.sqrt(c * (1 - c) / len(prof)))
    for p in ("alpha", "beta"):  # the Tripp parameters (lightcurves mode)
        pulls = np.array([(r[p] - r[p + "_true"]) / r[p + "_err"] for r in results if p in r])
        if pulls.size > 1:
            summary["pull_mean"][p] = float(pulls.mean())
            summary["pull_std"][p] = float(pulls.std(ddof=1))
    summary["n_converged"] = int(sum(r["converged"] for r in results))
    for key in ("rhat_max", "tau_max"):  # nan when no universe ran a chain (grid=True)
        vals = [r[key] for r in results if np.isfinite(r[key])]
        summary[key] = float(max(vals)) if vals else float("nan")
    return summary
