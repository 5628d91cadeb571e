"""Evaluation as the Fair Universe HiggsML Uncertainty Challenge does it.

Each pseudo-experiment draws a true signal strength ``μ ~ U(0.1, 3)`` and the nuisance
parameters from their priors
(:data:`~rediscovery.higgs.systematics.variations.FAIR_UNIVERSE_PRIORS`),
alters an independent pool of simulated events with them
(:func:`~rediscovery.higgs.systematics.variations.apply_systematics`), draws a Poisson count
per event (:func:`pseudo_data`: every histogram of the result has Poisson counts with mean
``μ s_b + Σ_p b_pb``) and hands the data to the calibrated inference of the method under test
(:mod:`rediscovery.higgs.systematics.methods`: score, histogram, fit with the model built from
templates, global fit started from the best of several points,
:func:`~rediscovery.higgs.systematics.fit.best_start`). The same data are also fitted with a
statistics-only model (no nuisances, no MC-statistics terms) for comparison.

The score is the challenge's "quantiles score" (FAIR-Universe/HEP-Challenge,
``scoring_program/score.py``, ``Quantiles_Score``; Bhimji et al. 2024, arXiv:2410.02867):
with ``w`` the mean width of the 68.27% intervals and ``c`` their coverage over ``N``
pseudo-experiments,

.. math:: \\mathrm{score} = -\\ln\\big((w + ε)\\, f(c)\\big), \\qquad ε = 10^{-3},

.. math:: f(c) = \\begin{cases} 1 & |c - 0.6827| ≤ 2σ_{68} \\\\
          1 + \\left|\\frac{c - (0.6827 - 2σ_{68})}{σ_{68}}\\right|^4 & c < 0.6827 - 2σ_{68} \\\\
          1 + \\left|\\frac{c - (0.6827 + 2σ_{68})}{σ_{68}}\\right|^3 & c > 0.6827 + 2σ_{68}
          \\end{cases}

with ``σ_68 = sqrt(0.6827 (1 − 0.6827) / N)`` (the binomial standard error of the coverage).
Higher is better; under-coverage is punished harder than over-coverage.

Pseudo-experiments run through :func:`rediscovery.core.executor.map_tasks` (local processes or
dask), in chunks so that the event pool is shipped once per chunk.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from rediscovery.core.errors import ConfigError
from rediscovery.higgs.schema import LABEL, PROCESS, WEIGHT
from rediscovery.higgs.stats.inference import asimov_data
from rediscovery.higgs.systematics.catalogue import calibrate
from rediscovery.higgs.systematics.fit import fit_with_systematics
from rediscovery.higgs.systematics.methods import TemplateInference
from rediscovery.higgs.systematics.templates import Templates, histogram_samples
from rediscovery.higgs.systematics.variations import (
    FAIR_UNIVERSE_PRIORS,
    NuisancePrior,
    apply_systematics,
    draw_nuisances,
)

__all__ = [
    "CHALLENGE_EPSILON",
    "CHALLENGE_ONE_SIGMA",
    "MU_RANGE",
    "ChallengeResult",
    "ChallengeSetup",
    "challenge_score",
    "coverage_penalty",
    "expected_breakdown",
    "prepare_setup",
    "pseudo_data",
    "run_challenge",
    "run_pseudo_experiment",
    "simulated_sets",
    "with_pool_mc_stat",
]

log = logging.getLogger(__name__)

#: Range of the uniform draw of the true μ (Fair Universe test sets).
MU_RANGE: tuple[float, float] = (0.1, 3.0)
#: The challenge's target coverage, typed as in its scoring program (Φ(1) − Φ(−1) = 0.68269).
CHALLENGE_ONE_SIGMA = 0.6827
#: ε of the challenge score.
CHALLENGE_EPSILON = 1e-3


def coverage_penalty(coverage: float, n: int, one_sigma: float = CHALLENGE_ONE_SIGMA) -> float:
    """The challenge's coverage penalty ``f(c)`` (1 inside ±2σ_68 of the target)."""
    if n < 1:
        raise ConfigError(f"need at least one pseudo-experiment, got n={n}")
    s68 = math.sqrt((1.0 - one_sigma) * one_sigma * n) / n
    lo, hi = one_sigma - 2 * s68, one_sigma + 2 * s68
    if coverage < lo:
        return 1.0 + abs((coverage - lo) / s68) ** 4
    if coverage > hi:
        return 1.0 + abs((coverage - hi) / s68) ** 3
    return 1.0


def challenge_score(mu_true: np.ndarray, lo: np.ndarray, hi: np.ndarray,
                    eps: float = CHALLENGE_EPSILON) -> dict[str, float]:
    """Mean interval width, coverage and the challenge score ``−ln((w + ε) f(c))``.

    Parameters
    ----------
    mu_true, lo, hi
        True μ and the interval ends of every pseudo-experiment.

    Returns
    -------
    dict
        ``width``, ``coverage``, ``coverage_err`` (binomial), ``penalty`` f(c), ``score``, ``n``.
    """
    mu = np.asarray(mu_true, dtype=float)
    lo = np.asarray(lo, dtype=float)
    hi = np.asarray(hi, dtype=float)
    n = mu.size
    width = float(np.mean(np.abs(hi - lo)))
    cov = float(np.mean((mu >= lo) & (mu <= hi)))
    pen = coverage_penalty(cov, n)
    return {"n": n, "width": width, "coverage": cov,
            "coverage_err": math.sqrt(max(cov * (1 - cov), 1e-12) / n), "penalty": pen,
            "score": -math.log((width + eps) * pen)}


@dataclass
class ChallengeSetup:
    """Everything a pseudo-experiment needs (picklable, shipped to the workers).

    Attributes
    ----------
    pool
        Nominal labelled events from which pseudo-data are made (weights in expected events
        at the analysis luminosity); independent of the template events.
    scorer
        ``scorer(df) -> scores`` of the classifier (with ``templates``: a
        :class:`~rediscovery.higgs.systematics.methods.TemplateInference` is made of them
        when ``inference`` is not given).
    templates
        Templates of the analysis (binning, nominal and shifted yields).
    priors
        Priors from which the true nuisances are drawn.
    nuisances
        Nuisances in the fitted model (default: those of the templates).
    lumi_factor
        Scale of the pseudo-data expectation (1 = the pool's weights).
    pool_mc_stat
        Also add the pool's own MC-statistics variance (nominal, ``lumi_factor²``-scaled sums
        of squared weights) to the model's Barlow–Beeston terms. Default ``False``: as in the
        challenge, the pool *defines* the truth (its MC noise is not an error of the
        analysis), and only the templates' MC noise is modelled. ``True`` treats the pool as
        one draw from an infinite-MC truth; intervals then cover on average over MC
        realisations, which one fixed pool cannot show (it over-covers when its realised
        offset happens to be small, see docs/higgs-systematics.md).
    inference
        The calibrated method (:func:`rediscovery.higgs.systematics.methods.calibrate`);
        default: a template fit of ``scorer`` and ``templates``.
    method
        Name of the method (for the tables).
    pool_seed
        ``None`` (default): the soft-MET terms of the pseudo-data are drawn afresh in every
        pseudo-experiment. An integer: they use this fixed seed, i.e. the same random numbers
        as templates built with it (common random numbers). For toy studies whose pool *is*
        the template sample, so that the pseudo-data follow the model exactly at the template
        points.
    """

    pool: pd.DataFrame
    scorer: Any = None
    templates: Templates | None = None
    priors: Mapping[str, NuisancePrior] = field(default_factory=lambda: dict(FAIR_UNIVERSE_PRIORS))
    nuisances: tuple[str, ...] | None = None
    lumi_factor: float = 1.0
    pool_mc_stat: bool = False
    inference: TemplateInference | None = None
    method: str = "nominal"
    pool_seed: int | None = None

    def __post_init__(self) -> None:
        if self.inference is None:
            if self.scorer is None or self.templates is None:
                raise ConfigError("ChallengeSetup needs an inference or a scorer and templates")
            self.inference = TemplateInference(self.scorer, self.templates, self.nuisances)
        else:
            self.scorer = self.inference.scorer
            self.templates = self.inference.templates


def pseudo_data(setup: ChallengeSetup, rng: np.random.Generator, mu: float,
                truth: Mapping[str, float]) -> pd.DataFrame:
    """One pseudo-data set: the pool altered with ``truth``, one Poisson count per event.

    Event ``i`` is observed ``n_i ~ Poisson(λ_i)`` times, ``λ_i = lumi_factor · w_i`` (``· μ``
    for signal): the counts of any histogram of the result are Poisson with mean
    ``μ s_b + Σ_p b_pb`` whatever the binning or the score, so a method that re-scores the
    data (the parameterised classifier) sees one consistent data set. Events seen zero times
    are dropped; ``Weight`` holds the counts.
    """
    shifted = apply_systematics(setup.pool, tes=truth.get("tes", 1.0),
                                jes=truth.get("jes", 1.0), soft_met=truth.get("soft_met", 0.0),
                                ttbar_scale=truth.get("ttbar_scale"),
                                diboson_scale=truth.get("diboson_scale"),
                                bkg_scale=truth.get("bkg_scale"),
                                seed=rng if setup.pool_seed is None else setup.pool_seed,
                                mmc=False)
    w = shifted[WEIGHT].to_numpy(dtype=float) * setup.lumi_factor
    lam = np.where(shifted[LABEL].to_numpy() == 1, mu * w, w)
    n = rng.poisson(lam)
    keep = n > 0
    out = shifted.loc[keep].drop(columns=[LABEL, PROCESS], errors="ignore")
    out[WEIGHT] = n[keep].astype(float)
    return out


def run_pseudo_experiment(setup: ChallengeSetup, seed: int) -> dict[str, Any]:
    """One pseudo-experiment: draw truth, make pseudo-data, fit with and without nuisances.

    Returns
    -------
    dict
        ``seed``, ``mu_true``, the true nuisances, ``n_events``, and for the fits with
        systematics (``syst_*``) and statistics only (``stat_*``): ``mu_hat``, ``lo``, ``hi``,
        ``converged``; ``syst_iterations`` and the fitted ``syst_alpha_*`` (``clf_*``: the
        parameterised classifier's inputs used); ``cpu_s``, the process CPU time of it.
    """
    t0 = time.process_time()
    rng = np.random.default_rng(seed)
    mu = float(rng.uniform(*MU_RANGE))
    truth = draw_nuisances(rng, setup.priors)
    data = pseudo_data(setup, rng, mu, truth)
    inf = setup.inference
    assert inf is not None
    out: dict[str, Any] = {"seed": int(seed), "mu_true": mu, **{f"true_{k}": v for k, v in
                                                                   truth.items()},
                           "n_events": float(data[WEIGHT].sum())}
    for tag, iv in (("syst", inf.interval(data)), ("stat", inf.stat_interval(data))):
        out.update({f"{tag}_mu_hat": iv.mu_hat, f"{tag}_lo": iv.lo, f"{tag}_hi": iv.hi,
                    f"{tag}_converged": iv.converged})
        if tag == "syst":
            out["syst_iterations"] = iv.iterations
            out.update({f"syst_alpha_{k}": v for k, v in iv.alphas.items()})
    out["cpu_s"] = time.process_time() - t0
    return out


def with_pool_mc_stat(setup: ChallengeSetup) -> ChallengeSetup:
    """``setup`` whose template inference also carries the pool's Σw² (``pool_mc_stat``)."""
    inf = setup.inference
    if not setup.pool_mc_stat or inf is None:
        return setup
    if type(inf) is not TemplateInference:
        raise ConfigError(f"--pool-mc-stat is implemented for template methods only, not "
                          f"{setup.method!r}")
    t = inf.templates
    _, extra = histogram_samples(setup.pool, np.asarray(inf.scorer(setup.pool), float),
                                 t.edges, processes=list(t.backgrounds),
                                 weight_scale=setup.lumi_factor)
    new = TemplateInference(inf.scorer, t, inf.nuisances, extra_sumw2=extra)
    return replace(setup, inference=new)


def _run_chunk(task: tuple[ChallengeSetup, Sequence[int]]) -> list[dict[str, Any]]:
    setup, seeds = task
    setup = with_pool_mc_stat(setup)
    return [run_pseudo_experiment(setup, int(s)) for s in seeds]


@dataclass
class ChallengeResult:
    """Pseudo-experiments and their summary.

    Attributes
    ----------
    table
        One row per pseudo-experiment (see :func:`run_pseudo_experiment`).
    summary
        ``syst`` and ``stat``: :func:`challenge_score` of each fit type, plus ``n_failed``
        (non-converged fits, counted as they are: an interval that failed is not dropped),
        bias and pull statistics of μ̂.
    """

    table: pd.DataFrame
    summary: dict[str, Any]


def summarise(table: pd.DataFrame) -> dict[str, Any]:
    """Width, coverage, score, bias and pull spread for the ``syst`` and ``stat`` fits."""
    out: dict[str, Any] = {"n_pseudo": len(table)}
    mu = table["mu_true"].to_numpy()
    for tag in ("syst", "stat"):
        lo = table[f"{tag}_lo"].to_numpy()
        hi = table[f"{tag}_hi"].to_numpy()
        mh = table[f"{tag}_mu_hat"].to_numpy()
        bad = ~(np.isfinite(lo) & np.isfinite(hi))
        lo_f = np.where(bad, mu + 1.0, lo)  # a missing interval never covers ...
        hi_f = np.where(bad, mu + 1.0, hi)  # ... and has zero width: counted, not dropped
        s = challenge_score(mu, lo_f, hi_f)
        sig = np.where(mh >= mu, mh - lo, hi - mh)
        pull = (mh - mu) / np.where(sig > 0, sig, np.nan)
        s.update({
            "n_failed": int((~table[f"{tag}_converged"].to_numpy(bool)).sum()),
            "width_err": float(np.std(np.abs(hi_f - lo_f)) / math.sqrt(max(len(mu), 1))),
            "bias_mean": float(np.nanmean(mh - mu)),
            "pull_mean": float(np.nanmean(pull)),
            "pull_std": float(np.nanstd(pull)),
        })
        out[tag] = s
    out["width_ratio"] = out["syst"]["width"] / out["stat"]["width"]
    if "cpu_s" in table.columns:
        out["cpu_s_per_pseudo"] = float(table["cpu_s"].mean())
    return out


def run_challenge(setup: ChallengeSetup, n_pseudo: int, *, seed: int = 0,
                  scheduler: Any = None, n_workers: int | None = None, progress: bool = True,
                  chunk_size: int | None = None) -> ChallengeResult:
    """Run ``n_pseudo`` pseudo-experiments through the executor and score them.

    Parameters
    ----------
    setup
        :class:`ChallengeSetup`.
    n_pseudo
        Number of pseudo-experiments.
    seed
        Base seed; pseudo-experiment ``i`` uses the seed ``seed * 1_000_003 + i`` (stable for
        any scheduler and chunking).
    scheduler, n_workers, progress
        Passed to :func:`rediscovery.core.executor.map_tasks`.
    chunk_size
        Pseudo-experiments per task (default: ``n_pseudo / (4 × workers)``).
    """
    from rediscovery.core.executor import default_workers, map_tasks

    if n_pseudo < 1:
        raise ConfigError(f"n_pseudo must be >= 1, got {n_pseudo}")
    seeds = [seed * 1_000_003 + i for i in range(n_pseudo)]
    workers = n_workers or default_workers()
    size = chunk_size or max(1, math.ceil(n_pseudo / (4 * workers)))
    chunks = [(setup, seeds[i:i + size]) for i in range(0, n_pseudo, size)]
    rows = map_tasks(_run_chunk, chunks, scheduler=scheduler, n_workers=n_workers,
                     progress=progress, desc="pseudo-experiments")
    table = pd.DataFrame([r for chunk in rows for r in chunk])
    return ChallengeResult(table=table, summary=summarise(table))


def expected_breakdown(setup: ChallengeSetup, mu: float = 1.0) -> dict[str, float]:
    """Breakdown of the expected μ uncertainty (Asimov data at ``mu``, nominal nuisances).

    Half-widths of the 68.27% interval: ``total``, ``stat``, ``mc_stat`` and each nuisance
    (:func:`~rediscovery.higgs.systematics.fit.fit_with_systematics`), for the model of ``setup``.
    """
    inf = with_pool_mc_stat(setup).inference
    assert inf is not None
    model = inf.model()
    res = fit_with_systematics(model, asimov_data(model, mu), prefit_impacts=False,
                               significance=False)
    return dict(res.breakdown)


def simulated_sets(n_train: int, n_templates: int, n_pool: int, *,
                   seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Three independent simulated samples (training, templates, pseudo-data pool).

    Each comes from :func:`rediscovery.higgs.events.simulate.simulate_events` with its own seed and
    carries the 12 closed-form ``DER_*`` features (no ``DER_mass_MMC``: recomputing it after
    every shift would dominate the cost). Weights are expected events at the HiggsML
    luminosity whatever the sample size.
    """
    from rediscovery.higgs.events.simulate import simulate_events
    from rediscovery.higgs.features.derived import add_derived_features

    ss = np.random.SeedSequence(seed).spawn(3)
    out = []
    for n, s in zip((n_train, n_templates, n_pool), ss, strict=True):
        df = simulate_events(int(n), seed=np.random.default_rng(s))
        out.append(add_derived_features(df, mmc=False))
    return out[0], out[1], out[2]


def prepare_setup(train: pd.DataFrame, template_events: pd.DataFrame, pool: pd.DataFrame, *,
                  method: str = "nominal", seed: int = 0,
                  priors: Mapping[str, NuisancePrior] = FAIR_UNIVERSE_PRIORS,
                  lumi_factor: float = 1.0, **options: Any) -> ChallengeSetup:
    """Calibrate ``method`` (:func:`rediscovery.higgs.systematics.methods.calibrate`: train,
    bin on the template events, build templates) and return the challenge set-up.

    ``lumi_factor`` scales the templates and the pseudo-data alike; ``options`` go to the
    method (``kind``, ``n_copies``, ``max_bins``, ``min_bkg``, hyper-parameters, …).
    """
    inf = calibrate(method, train, template_events, seed=seed, priors=priors,
                    weight_scale=lumi_factor, **options)
    return ChallengeSetup(pool=pool, inference=inf, priors=dict(priors),
                          lumi_factor=lumi_factor, method=method)
