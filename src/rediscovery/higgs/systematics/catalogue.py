"""The registry of inference methods and the common entry point :func:`calibrate`.

See :mod:`rediscovery.higgs.systematics.methods` for the interface; each method lives in its
own module (``methods`` for nominal/augmented, ``parameterised``, ``pivot``, ``inferno``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import pandas as pd

from rediscovery.core.errors import ConfigError
from rediscovery.higgs.systematics.inferno import calibrate_inferno
from rediscovery.higgs.systematics.methods import (
    CONTROL_OPTIONS,
    TemplateInference,
    calibrate_trained,
)
from rediscovery.higgs.systematics.parameterised import calibrate_parameterised
from rediscovery.higgs.systematics.pivot import calibrate_pivot
from rediscovery.higgs.systematics.variations import FAIR_UNIVERSE_PRIORS, NuisancePrior

__all__ = ["METHODS", "calibrate", "describe_methods"]

#: Method name → (one-line description, calibration function
#: ``f(train, template_events, *, seed, priors, **options) -> TemplateInference``).
METHODS: Mapping[str, tuple[str, Callable[..., TemplateInference]]] = {
    "nominal": (
        "classifier on nominal MC; templates + profiled nuisances",
        calibrate_trained("nominal", finish_options=CONTROL_OPTIONS),
    ),
    "augmented": (
        "classifier on MC altered with prior draws of the nuisances",
        calibrate_trained("augmented", finish_options=CONTROL_OPTIONS),
    ),
    "parameterised": (
        "f(x; α) (Baldi et al. 2016); templates on an α grid, data re-scored at the profiled α",
        calibrate_parameterised,
    ),
    "pivot": (
        "torch classifier with an adversary on the nuisances (Louppe et al. 2017), "
        "weight --pivot-lambda",
        calibrate_pivot,
    ),
    "inferno": (
        "torch network with a softmax over the bins trained on the expected profiled variance "
        "of μ (de Castro & Dorigo 2019)",
        calibrate_inferno,
    ),
}


def calibrate(
    method: str,
    train: pd.DataFrame,
    template_events: pd.DataFrame,
    *,
    seed: int = 0,
    priors: Mapping[str, NuisancePrior] = FAIR_UNIVERSE_PRIORS,
    **options: Any,
) -> TemplateInference:
    """Train, bin and build templates for ``method``: the common method interface.

    Parameters
    ----------
    method
        A name of :data:`METHODS`.
    train
        Nominal labelled training events (``Weight``, ``Label``, ``Process``, features).
    template_events
        Independent nominal labelled events for the binning and the templates.
    seed
        Seed of every random step (augmentation, training, soft-MET templates).
    priors
        Nuisance model (default: the Fair Universe test-time priors).
    **options
        Method options (``kind``, ``n_copies``, ``max_bins``, ``min_bkg``, ``weight_scale``,
        classifier hyper-parameters; ``control_channel``, ``control_bins``,
        ``control_score_bins`` for ``nominal`` and ``augmented``; ``pivot_lambda`` … for
        ``pivot``; ``alpha_points`` for ``parameterised``).

    Returns
    -------
    TemplateInference
        Calibrated inference: ``.interval(observed_events)``.
    """
    if method not in METHODS:
        raise ConfigError(f"unknown method {method!r}; choose among {', '.join(METHODS)}")
    return METHODS[method][1](train, template_events, seed=seed, priors=priors, **options)


def describe_methods() -> Sequence[str]:
    """``name: description`` lines of :data:`METHODS` (for ``--help``)."""
    return [f"{k}: {v[0]}" for k, v in METHODS.items()]
