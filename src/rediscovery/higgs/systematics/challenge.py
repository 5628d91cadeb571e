"""Evaluation as the Fair Universe HiggsML Uncertainty Challenge does it.

Each pseudo-experiment draws a true signal strength ``μ ~ U(0.1, 3)`` and the nuisance
parameters from their priors
(:data:`~rediscovery.higgs.systematics.variations.FAIR_UNIVERSE_PRIORS`),
alters an independent pool of simulated events with them
(:func:`~rediscovery.higgs.systematics.variations.apply_systematics`), scores it with the
classifier, histograms it with the analysis binning, Poisson-fluctuates every bin of the expectation
``μ s_b + Σ_p b_pb`` (the histogram-level equivalent of drawing Poisson numbers of events), and
fits it with the model built from templates (:mod:`rediscovery.higgs.systematics.fit`; global fit
started from the best of several points, :func:`~rediscovery.higgs.systematics.fit.best_start`).
The same data are also fitted with a statistics-only model (no nuisances, no MC-statistics
terms) for comparison.

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
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from rediscovery.core.errors import ConfigError
from rediscovery.higgs.stats.binning import choose_binning
from rediscovery.higgs.stats.inference import asimov_data, interval, mle
from rediscovery.higgs.systematics.fit import best_start, build_model, fit_with_systematics
from rediscovery.higgs.systematics.templates import (
    SIGNAL_SAMPLE,
    Templates,
    build_templates,
    histogram_samples,
)
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
    "run_challenge",
    "run_pseudo_experiment",
    "simulated_sets",
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
        ``scorer(df) -> scores`` of the classifier.
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
    """

    pool: pd.DataFrame
    scorer: Any
    templates: Templates
    priors: Mapping[str, NuisancePrior] = field(default_factory=lambda: dict(FAIR_UNIVERSE_PRIORS))
    nuisances: tuple[str, ...] | None = None
    lumi_factor: float = 1.0
    pool_mc_stat: bool = False


def run_pseudo_experiment(setup: ChallengeSetup, seed: int,
                          models: tuple[Any, Any] | None = None) -> dict[str, Any]:
    """One pseudo-experiment: draw truth, make pseudo-data, fit with and without nuisances.

    Returns
    -------
    dict
        ``seed``, ``mu_true``, the true nuisances, ``n_events``, and for the fits with
        systematics (``syst_*``) and statistics only (``stat_*``): ``mu_hat``, ``lo``, ``hi``,
        ``converged``.
    """
    rng = np.random.default_rng(seed)
    mu = float(rng.uniform(*MU_RANGE))
    truth = draw_nuisances(rng, setup.priors)
    t = setup.templates
    shifted = apply_systematics(setup.pool, tes=truth.get("tes", 1.0),
                                jes=truth.get("jes", 1.0), soft_met=truth.get("soft_met", 0.0),
                                ttbar_scale=truth.get("ttbar_scale"),
                                diboson_scale=truth.get("diboson_scale"),
                                bkg_scale=truth.get("bkg_scale"), seed=rng, mmc=False)
    y, _ = histogram_samples(shifted, np.asarray(setup.scorer(shifted), dtype=float), t.edges,
                             processes=list(t.backgrounds), weight_scale=setup.lumi_factor)
    expected = mu * y[SIGNAL_SAMPLE] + sum(y[b] for b in t.backgrounds)
    observed = rng.poisson(expected).astype(float)
    if models is None:
        models = _models(setup)
    out: dict[str, Any] = {"seed": int(seed), "mu_true": mu, **{f"true_{k}": v for k, v in
                                                                   truth.items()},
                           "n_events": float(observed.sum())}
    for tag, model in zip(("syst", "stat"), models, strict=True):
        try:
            init = best_start(model, observed) if model.alpha_names else None
            best = mle(model, observed, "minuit", init=init, errors=False)
            iv = interval(model, observed, stat_only=False, mle_result=best)
            mh, lo, hi = best.mu_hat, iv.mu_lo, iv.mu_hi
            ok = best.converged and iv.converged
        except Exception as exc:  # a failed fit is recorded, never dropped silently
            log.warning("pseudo-experiment %d, %s fit failed: %s", seed, tag, exc)
            mh, lo, hi, ok = math.nan, math.nan, math.nan, False
        out.update({f"{tag}_mu_hat": mh, f"{tag}_lo": lo, f"{tag}_hi": hi,
                    f"{tag}_converged": ok})
    return out


def _models(setup: ChallengeSetup) -> tuple[Any, Any]:
    extra = None
    if setup.pool_mc_stat:
        t = setup.templates
        _, extra = histogram_samples(setup.pool, np.asarray(setup.scorer(setup.pool), float),
                                     t.edges, processes=list(t.backgrounds),
                                     weight_scale=setup.lumi_factor)
    syst = build_model(setup.templates, nuisances=setup.nuisances, mc_stat=True,
                       mu_bounds=(-5.0, 15.0), extra_sumw2=extra)
    stat = build_model(setup.templates, nuisances=(), mc_stat=False, mu_bounds=(-5.0, 15.0))
    return syst, stat


def _run_chunk(task: tuple[ChallengeSetup, Sequence[int]]) -> list[dict[str, Any]]:
    setup, seeds = task
    models = _models(setup)
    return [run_pseudo_experiment(setup, int(s), models) for s in seeds]


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
            "bias_mean": float(np.nanmean(mh - mu)),
            "pull_mean": float(np.nanmean(pull)),
            "pull_std": float(np.nanstd(pull)),
        })
        out[tag] = s
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
    model = _models(setup)[0]
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


def event_features(df: pd.DataFrame) -> list[str]:
    """The classifier inputs used here: the 17 primaries and the closed-form ``DER_*``."""
    return [c for c in df.columns if str(c).startswith(("PRI_", "DER_"))
            and c != "DER_mass_MMC"]


def prepare_setup(train: pd.DataFrame, template_events: pd.DataFrame, pool: pd.DataFrame, *,
                  mode: str = "nominal", seed: int = 0, kind: str = "xgboost",
                  max_bins: int = 10, min_bkg: float = 100.0,
                  priors: Mapping[str, NuisancePrior] = FAIR_UNIVERSE_PRIORS,
                  n_copies: int = 5, **params: Any) -> ChallengeSetup:
    """Train a classifier (``mode`` of
    :func:`~rediscovery.higgs.systematics.training.train_classifier`),
    choose the binning on the template events, build the templates and return the setup."""
    from rediscovery.higgs.systematics.training import train_classifier

    feats = event_features(train)
    scorer = train_classifier(train, feats, mode=mode, kind=kind, seed=seed, n_copies=n_copies,
                              priors=priors, **params)
    s = scorer(template_events)
    sig = template_events["Label"].to_numpy() == 1
    w = template_events["Weight"].to_numpy()
    binning = choose_binning(s[sig], w[sig], s[~sig], w[~sig], min_bkg=min_bkg,
                             max_bins=max_bins, score_range=(0.0, 1.0))
    log.info("binning: %d bins, expected Z (no systematics) %.2f", binning.n_bins,
             binning.z_asimov)
    templates = build_templates(template_events, scorer, binning.edges, priors=priors,
                                seed=seed)
    return ChallengeSetup(pool=pool, scorer=scorer, templates=templates, priors=dict(priors))
