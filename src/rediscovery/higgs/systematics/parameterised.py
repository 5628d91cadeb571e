"""The parameterised classifier f(x; α) used with the α it is parameterised in.

Baldi, Cranmer, Faucett, Sadowski & Whiteson, "Parameterized neural networks for high-energy
physics", Eur. Phys. J. C 76 (2016) 235, arXiv:1601.07913: a classifier that takes the
nuisance parameters α of the shape systematics (``tes``, ``jes``, ``soft_met``) as inputs
approximates, at each α, the best classifier for data with that detector response.

Using it for inference means evaluating it at the α of the data, which the fit does not know
before it is made. We do it on a grid (the classifier's α inputs ``a`` on a grid
:data:`DEFAULT_ALPHA_POINTS` per nuisance, 3³ = 27 settings by default):

1. for every grid setting ``a``, templates of the score ``f(x; a)`` at the nominal and the
   ±1σ detector shifts are built from the same shifted events
   (:func:`~rediscovery.higgs.systematics.templates.build_template_family`), each a complete
   HistFactory model in which the detector α's are still profiled;
2. the data are scored at ``a = 0`` and fitted; the classifier setting is moved to the grid
   point nearest to the profiled α̂, the data re-scored and re-fitted, until the setting no
   longer changes (at most ``max_iter`` fits).

Every fit is a valid HistFactory fit (data and templates scored with the same function), so
the interval is calibrated whichever setting is chosen; the re-scoring only chooses the most
sensitive of the 27 classifiers for these data. Choosing it with the data is a (mild)
look-elsewhere effect; the coverage measured by the challenge includes it.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from rediscovery.core.errors import ConfigError
from rediscovery.higgs.systematics.methods import (
    Interval,
    TemplateInference,
    calibrate_trained,
    choose_edges,
    fit_interval,
    observed_counts,
)
from rediscovery.higgs.systematics.templates import Templates, build_template_family
from rediscovery.higgs.systematics.training import PARAMETERISED_NUISANCES, ClassifierScorer
from rediscovery.higgs.systematics.variations import NuisancePrior

__all__ = [
    "DEFAULT_ALPHA_POINTS",
    "ParameterisedInference",
    "calibrate_parameterised",
    "parameterised_inference",
]

log = logging.getLogger(__name__)

#: Classifier α inputs per nuisance at which templates are built (prior σ).
DEFAULT_ALPHA_POINTS: tuple[float, ...] = (-1.0, 0.0, 1.0)


@dataclass
class ParameterisedInference(TemplateInference):
    """Templates on a grid of classifier α's; data re-scored at the profiled α.

    ``scorer``/``templates`` (the base class's) are those at α = 0 (the start, and the
    statistics-only fit).

    Parameters
    ----------
    family
        Grid setting (tuple of α per nuisance of ``names``) → templates of ``f(x; setting)``.
    names
        The nuisances that are classifier inputs.
    points
        Grid values of α per nuisance.
    max_iter
        Maximum number of fits (re-scorings + 1).
    """

    family: dict[tuple[float, ...], Templates] | None = None
    names: tuple[str, ...] = PARAMETERISED_NUISANCES
    points: tuple[float, ...] = DEFAULT_ALPHA_POINTS
    max_iter: int = 3

    def scorer_at(self, setting: tuple[float, ...]) -> ClassifierScorer:
        base = self.scorer
        if not isinstance(base, ClassifierScorer):
            raise ConfigError("the parameterised inference needs a ClassifierScorer")
        return replace(base, alphas=dict(zip(self.names, setting, strict=True)))

    def nearest(self, alphas: Mapping[str, float]) -> tuple[float, ...]:
        """Grid setting nearest (per nuisance) to the profiled ``alphas``."""
        pts = np.asarray(self.points, dtype=float)
        return tuple(float(pts[np.argmin(np.abs(pts - alphas.get(n, 0.0)))]) for n in self.names)

    def interval(self, events: pd.DataFrame) -> Interval:
        assert self.family is not None
        setting = tuple(0.0 for _ in self.names)
        seen: list[tuple[float, ...]] = []
        iv: Interval | None = None
        for _ in range(self.max_iter):
            seen.append(setting)
            t = self.family[setting]
            obs = observed_counts(events, self.scorer_at(setting)(events), t.edges)
            iv = fit_interval(self.model(t, key=setting), obs)
            if not np.isfinite(iv.mu_hat):
                break
            nxt = self.nearest(iv.alphas)
            if nxt in seen:
                break
            setting = nxt
        assert iv is not None
        iv.alphas.update({f"clf_{n}": a for n, a in zip(self.names, setting, strict=True)})
        iv.iterations = len(seen)
        return iv


def parameterised_inference(
    scorer: ClassifierScorer,
    template_events: pd.DataFrame,
    *,
    seed: int,
    priors: Mapping[str, NuisancePrior],
    max_bins: int = 10,
    min_bkg: float = 100.0,
    weight_scale: float = 1.0,
    alpha_points: Sequence[float] = DEFAULT_ALPHA_POINTS,
    max_iter: int = 3,
) -> ParameterisedInference:
    """Bin the trained f(x; α) at α = 0 and build templates at every grid setting."""
    pts = _alpha_points(alpha_points)
    names = tuple(scorer.alphas)
    zero = tuple(0.0 for _ in names)
    base = replace(scorer, alphas=dict.fromkeys(names, 0.0))
    edges = choose_edges(base(template_events), template_events, max_bins=max_bins, min_bkg=min_bkg)
    settings = list(itertools.product(pts, repeat=len(names)))
    scorers = {s: replace(scorer, alphas=dict(zip(names, s, strict=True))) for s in settings}
    family = build_template_family(
        template_events,
        scorers,
        edges,
        grid=(-1.0, 1.0),
        priors=priors,
        seed=seed,
        weight_scale=weight_scale,
        check=False,
    )
    log.info("parameterised: templates at %d classifier settings", len(settings))
    return ParameterisedInference(
        scorer=base,
        templates=family[zero],
        family=family,
        names=names,
        points=pts,
        max_iter=max_iter,
    )


def _alpha_points(alpha_points: Sequence[float]) -> tuple[float, ...]:
    pts = tuple(sorted({float(a) for a in alpha_points}))
    if 0.0 not in pts:
        raise ConfigError(f"alpha_points must contain 0 (the starting setting), got {pts}")
    return pts


_train_and_calibrate = calibrate_trained(
    "parameterised", finish=parameterised_inference, finish_options=("alpha_points", "max_iter")
)


def calibrate_parameterised(
    train: pd.DataFrame,
    template_events: pd.DataFrame,
    *,
    alpha_points: Sequence[float] = DEFAULT_ALPHA_POINTS,
    **options: Any,
) -> ParameterisedInference:
    """Train f(x; α), bin at α = 0, build templates at every grid setting.

    Options as the other trained methods
    (:func:`~rediscovery.higgs.systematics.methods.calibrate_trained`: ``seed``, ``priors``,
    ``kind``, ``n_copies``, ``max_bins``, ``min_bkg``, ``weight_scale``, classifier
    hyper-parameters), plus ``n_groups`` (independent nuisance draws per training copy,
    :func:`~rediscovery.higgs.systematics.training.augment`), ``alpha_points`` (grid per
    nuisance, must contain 0; checked before training) and ``max_iter``.
    """
    pts = _alpha_points(alpha_points)
    return _train_and_calibrate(train, template_events, alpha_points=pts, **options)  # type: ignore[return-value]
