"""Systematics-aware inference methods behind one interface (``higgs challenge --method``).

The registry of methods and :func:`calibrate` are in
:mod:`rediscovery.higgs.systematics.catalogue`.

A *method* turns training MC and a nuisance model (the priors) into a **calibrated inference**:
an object whose :meth:`TemplateInference.interval` gives the 68.27% profile-likelihood
interval of μ for one observed data set (events with their observed counts in ``Weight``).
:func:`calibrate` is the common entry point::

    inference = calibrate("parameterised", train, template_events, seed=1)
    iv = inference.interval(observed_events)   # Interval(mu_hat, lo, hi, converged, ...)

The methods (:data:`METHODS`):

``nominal``
    classifier trained on nominal simulation; score templates with HistoSys/NormSys
    nuisances; fit with every nuisance profiled (:class:`TemplateInference`).
``augmented``
    the same with a classifier trained on copies altered with prior draws of the nuisances
    (:func:`~rediscovery.higgs.systematics.training.augment`).
``parameterised``
    a classifier f(x; α) with the shape nuisances' α as inputs (Baldi et al. 2016), used
    with templates on a grid of classifier α's and the data re-scored at the profiled α
    (:class:`~rediscovery.higgs.systematics.parameterised.ParameterisedInference`).
``pivot``
    a torch classifier trained against an adversary that predicts the nuisances from its
    output (Louppe, Kagan & Cranmer 2017), then used like ``nominal``
    (:mod:`rediscovery.higgs.systematics.pivot`).
``inferno``
    a torch network with a softmax over the bins trained on the expected variance of μ̂ with
    the nuisances profiled (de Castro & Dorigo 2019), its bins used like ``nominal``'s
    (:mod:`rediscovery.higgs.systematics.inferno`).

Every calibrated inference is picklable (it is shipped to executor workers) and also gives
the statistics-only interval of the same data (:meth:`TemplateInference.stat_interval`) for
the width ratio.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from rediscovery.core.errors import InputError
from rediscovery.higgs.schema import LABEL, WEIGHT
from rediscovery.higgs.stats.binning import choose_binning
from rediscovery.higgs.stats.inference import interval, mle
from rediscovery.higgs.stats.model import BinnedModel
from rediscovery.higgs.systematics.control import control_region_scorer
from rediscovery.higgs.systematics.fit import best_start, build_model
from rediscovery.higgs.systematics.templates import Scorer, Templates, build_templates
from rediscovery.higgs.systematics.variations import NuisancePrior

__all__ = [
    "CONTROL_OPTIONS",
    "MU_FIT_BOUNDS",
    "Interval",
    "TemplateInference",
    "calibrate_trained",
    "choose_edges",
    "event_features",
    "fit_interval",
    "observed_counts",
    "template_inference",
]

log = logging.getLogger(__name__)

#: Options of :func:`template_inference` that add a control channel to the fit.
CONTROL_OPTIONS: tuple[str, ...] = ("control_channel", "control_bins", "control_score_bins")
#: Fit range of μ in the challenge fits (wide enough never to bind for μ_true in [0.1, 3]).
MU_FIT_BOUNDS: tuple[float, float] = (-5.0, 15.0)


@dataclass
class Interval:
    """The 68.27% interval of one data set.

    Attributes
    ----------
    mu_hat, lo, hi
        Best fit and interval ends (``nan`` when the fit failed).
    converged
        MIGRAD and MINOS both reported success.
    alphas
        Best-fit nuisance α's (name → value); for the parameterised method, also the
        classifier's α inputs used (``clf_<name>``).
    iterations
        Fits made (more than one for the parameterised method's re-scoring).
    """

    mu_hat: float
    lo: float
    hi: float
    converged: bool
    alphas: dict[str, float] = field(default_factory=dict)
    iterations: int = 1


def fit_interval(model: BinnedModel, observed: np.ndarray) -> Interval:
    """MLE (multistart for models with nuisances) and the MINOS interval of μ.

    A failed fit gives ``nan`` ends and ``converged=False`` (with a log warning), never an
    exception: pseudo-experiment loops count it as a miss.
    """
    try:
        init = best_start(model, observed) if model.alpha_names else None
        best = mle(model, observed, "minuit", init=init, errors=False)
        iv = interval(model, observed, stat_only=False, mle_result=best)
        alphas = {n: float(best.parameters[n]) for n in model.alpha_names}
        return Interval(
            best.mu_hat, iv.mu_lo, iv.mu_hi, bool(best.converged and iv.converged), alphas
        )
    except Exception as exc:  # a failed fit is recorded, never dropped silently
        log.warning("fit failed: %s", exc)
        return Interval(math.nan, math.nan, math.nan, False)


def observed_counts(events: pd.DataFrame, scores: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Observed counts per score bin: the sum of ``Weight`` (the events' observed counts).

    Labels are not read: observed data have none. Scores outside ``edges`` go to the first or
    last bin, as in the templates
    (:func:`~rediscovery.higgs.systematics.templates.histogram_samples`).
    """
    if WEIGHT not in events.columns:
        raise InputError("observed events need a Weight column (their counts)", column=WEIGHT)
    s = np.asarray(scores, dtype=float)
    if s.shape != (len(events),):
        raise InputError(f"scores have shape {s.shape}, expected ({len(events)},)")
    idx = np.clip(np.searchsorted(edges, s, side="right") - 1, 0, edges.size - 2)
    return np.bincount(idx, weights=events[WEIGHT].to_numpy(dtype=float), minlength=edges.size - 1)


@dataclass
class TemplateInference:
    """A fixed scorer and its templates: histogram the data, fit with nuisances profiled.

    The calibrated inference of the ``nominal``, ``augmented`` and ``pivot`` methods.

    Parameters
    ----------
    scorer
        ``scorer(df) -> scores``.
    templates
        Templates of that scorer (binning, nominal and shifted yields).
    nuisances
        Nuisances in the fitted model (default: those of the templates).
    extra_sumw2
        Extra MC-statistics variance per sample and bin (see
        :func:`~rediscovery.higgs.systematics.fit.build_model`).
    mc_stat
        Carry the templates' MC statistics (Barlow–Beeston-lite γ's). Switch off only when
        the data are drawn from the template events themselves (toy studies).
    shape_interpolation
        Morphing of the shape nuisances (``"code4p"``: linear beyond ±1σ; ``"code4"``:
        exponential beyond ±1σ, per bin); see
        :func:`~rediscovery.higgs.systematics.fit.build_model`.
    """

    scorer: Scorer
    templates: Templates
    nuisances: tuple[str, ...] | None = None
    extra_sumw2: Mapping[str, np.ndarray] | None = None
    mc_stat: bool = True
    shape_interpolation: str = "code4p"
    _cache: dict[Any, BinnedModel] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_cache"] = {}  # models are rebuilt in the worker, not shipped
        return state

    def model(
        self, templates: Templates | None = None, *, stat_only: bool = False, key: Any = None
    ) -> BinnedModel:
        """The fit model of ``templates`` (default: this inference's), cached under ``key``."""
        ck = (key, stat_only)
        if ck not in self._cache:
            t = self.templates if templates is None else templates
            if stat_only:
                self._cache[ck] = build_model(
                    t, nuisances=(), mc_stat=False, mu_bounds=MU_FIT_BOUNDS
                )
            else:
                self._cache[ck] = build_model(
                    t,
                    nuisances=self.nuisances,
                    mc_stat=self.mc_stat,
                    mu_bounds=MU_FIT_BOUNDS,
                    extra_sumw2=self.extra_sumw2,
                    shape_interpolation=self.shape_interpolation,
                )
        return self._cache[ck]

    def histogram(self, events: pd.DataFrame) -> np.ndarray:
        """Observed counts per bin of ``events`` with this inference's scorer."""
        return observed_counts(
            events, np.asarray(self.scorer(events), dtype=float), self.templates.edges
        )

    def interval(self, events: pd.DataFrame) -> Interval:
        """The 68.27% interval of μ with every nuisance profiled."""
        return fit_interval(self.model(), self.histogram(events))

    def stat_interval(self, events: pd.DataFrame) -> Interval:
        """The statistics-only interval of the same data (no nuisances, no MC statistics)."""
        return fit_interval(self.model(stat_only=True), self.histogram(events))


def event_features(df: pd.DataFrame) -> list[str]:
    """The classifier inputs used here: the 17 primaries and the closed-form ``DER_*``."""
    return [c for c in df.columns if str(c).startswith(("PRI_", "DER_")) and c != "DER_mass_MMC"]


def choose_edges(
    scores: np.ndarray, events: pd.DataFrame, *, max_bins: int = 10, min_bkg: float = 100.0
) -> np.ndarray:
    """Score bin edges maximising the expected significance (no systematics) on ``events``
    (:func:`~rediscovery.higgs.stats.binning.choose_binning`, scores in [0, 1])."""
    sig = events[LABEL].to_numpy() == 1
    w = events[WEIGHT].to_numpy()
    binning = choose_binning(
        scores[sig],
        w[sig],
        scores[~sig],
        w[~sig],
        min_bkg=min_bkg,
        max_bins=max_bins,
        score_range=(0.0, 1.0),
    )
    log.info("binning: %d bins, expected Z (no systematics) %.2f", binning.n_bins, binning.z_asimov)
    return np.asarray(binning.edges, dtype=float)


def template_inference(
    scorer: Scorer,
    template_events: pd.DataFrame,
    *,
    seed: int,
    priors: Mapping[str, NuisancePrior],
    max_bins: int = 10,
    min_bkg: float = 100.0,
    weight_scale: float = 1.0,
    control_channel: str | Sequence[str] | None = None,
    control_bins: int = 10,
    control_score_bins: int = 1,
) -> TemplateInference:
    """Bin a trained ``scorer`` on the template events (:func:`choose_edges`) and build its
    templates: the calibration step shared by every fixed-scorer method.

    ``control_channel``: a feature column, or several; the events of the lowest
    ``control_score_bins`` score bins are then histogrammed in it (``control_bins`` bins per
    feature, a grid for several) and fitted with the other score bins, nuisances shared
    (:func:`~rediscovery.higgs.systematics.control.control_region_scorer`).
    """
    edges = choose_edges(
        scorer(template_events), template_events, max_bins=max_bins, min_bkg=min_bkg
    )
    if control_channel is not None:
        scorer, edges = control_region_scorer(
            scorer,
            edges,
            template_events,
            control_channel,
            n_bins=control_bins,
            n_score_bins=control_score_bins,
        )
    t = build_templates(
        template_events, scorer, edges, priors=priors, seed=seed, weight_scale=weight_scale
    )
    return TemplateInference(scorer=scorer, templates=t)


def calibrate_trained(
    mode: str,
    finish: Callable[..., TemplateInference] = template_inference,
    finish_options: tuple[str, ...] = (),
) -> Callable[..., TemplateInference]:
    """The calibration of a method that trains a classifier of ``mode``
    (:func:`~rediscovery.higgs.systematics.training.train_classifier`) and then calls
    ``finish(scorer, template_events, seed=, priors=, max_bins=, min_bkg=, weight_scale=,
    **options)``; the keyword options named in ``finish_options`` go to ``finish``, the
    others to the classifier."""

    def run(
        train: pd.DataFrame,
        template_events: pd.DataFrame,
        *,
        seed: int,
        priors: Mapping[str, NuisancePrior],
        kind: str = "xgboost",
        n_copies: int = 5,
        max_bins: int = 10,
        min_bkg: float = 100.0,
        weight_scale: float = 1.0,
        **params: Any,
    ) -> TemplateInference:
        from rediscovery.higgs.systematics.training import train_classifier

        extra = {k: params.pop(k) for k in finish_options if k in params}
        scorer = train_classifier(
            train,
            event_features(train),
            mode=mode,
            kind=kind,
            seed=seed,
            n_copies=n_copies,
            priors=priors,
            **params,
        )
        return finish(
            scorer,
            template_events,
            seed=seed,
            priors=priors,
            max_bins=max_bins,
            min_bkg=min_bkg,
            weight_scale=weight_scale,
            **extra,
        )

    run.__doc__ = f"Calibrate the ``{mode}`` method (train, bin, build templates)."
    return run
