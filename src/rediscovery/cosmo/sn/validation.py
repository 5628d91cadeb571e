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

__all__ = ["coverage_study", "run_universe"]


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
                           "rhat_max": max(v for v in s["rhat"].values() if v is not None),
                           "tau_max": max(v for v in s["autocorr_tau"].values()
                                          if v is not None), **extra}
    for name, true in values.items():
        if name in s and isinstance(s[name], dict):
            out[name] = {k: s[name][k] for k in ("mean", "std", "lo68", "hi68")}
            out[name]["covered"] = bool(s[name]["lo68"] <= true <= s[name]["hi68"])
            out[name]["pull"] = (s[name]["mean"] - true) / s[name]["std"]
    return out


def coverage_study(n_universes: int = 50, *, seed: int = 0, mode: str = "hubble",
                   model: str = "lcdm", n_sne: int = 300, n_steps: int = 2000,
                   n_walkers: int = 16, n_workers: int | None = None,
                   progress: bool = True, cache: str | None = None,
                   ab_covariance: bool = True,
                   true_standardisation: bool = False,
                   hierarchical: bool = False) -> dict[str, Any]:
    """Run ``n_universes`` inject-and-recover fits; return per-parameter coverage and pulls.

    ``cache`` is a folder keeping each light-curve universe's SALT2 fits (reused when present);
    ``ab_covariance=False`` leaves the (α, β) term out of the Hubble covariance (the
    diagonal errors only, for comparison); ``true_standardisation=True`` standardises with the
    simulator's α, β and σ_int instead of the fitted ones (a diagnostic that isolates the
    Tripp fit's share of the miscoverage); ``hierarchical=True`` samples the standardisation
    with the cosmology (:func:`~rediscovery.cosmo.sn.hierarchical.fit_hierarchical`) instead of
    fitting a Hubble table.

    Returns
    -------
    dict
        ``{"universes": [...], "coverage": {param: fraction}, "coverage_err": {param:
        binomial error}, "pull_mean": ..., "pull_std": ..., "n_converged": int}``.
    """
    from rediscovery.core.errors import ConfigError
    from rediscovery.core.executor import map_tasks

    if mode not in ("hubble", "salt2", "lightcurves"):
        raise ConfigError(f"mode must be 'hubble', 'salt2' or 'lightcurves', got {mode!r}")
    if hierarchical and mode == "hubble":
        raise ConfigError("hierarchical=True needs SALT2 fits to sample: mode 'salt2' or "
                          "'lightcurves'")
    tasks = [_Task(seed * 100_003 + i, mode, model, n_sne, n_steps, n_walkers, cache,
                   ab_covariance, true_standardisation, hierarchical)
             for i in range(n_universes)]
    results = map_tasks(run_universe, tasks, n_workers=n_workers, progress=progress,
                        desc=f"universes ({mode})")
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
    for p in ("alpha", "beta"):  # the Tripp parameters (lightcurves mode)
        pulls = np.array([(r[p] - r[p + "_true"]) / r[p + "_err"] for r in results if p in r])
        if pulls.size > 1:
            summary["pull_mean"][p] = float(pulls.mean())
            summary["pull_std"][p] = float(pulls.std(ddof=1))
    summary["n_converged"] = int(sum(r["converged"] for r in results))
    summary["rhat_max"] = float(max(r["rhat_max"] for r in results))
    summary["tau_max"] = float(max(r["tau_max"] for r in results))
    return summary
