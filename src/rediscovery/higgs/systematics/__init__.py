"""Systematic uncertainties: shifted events, score templates, fits with nuisances (team SYST).

Reads labelled MC events, a classifier scorer and observed counts; varies detector nuisances.
Writes Templates (templates.json), fits with pulls/impacts/breakdown (fit.json), challenge scores.
Inference methods (nominal, augmented, parameterised, pivot, inferno) share one interface,
:func:`calibrate` → ``inference.interval(observed_events)`` (:mod:`.methods`).
"""

from rediscovery.higgs.systematics.catalogue import METHODS, calibrate
from rediscovery.higgs.systematics.challenge import (
    ChallengeResult,
    ChallengeSetup,
    challenge_score,
    expected_breakdown,
    prepare_setup,
    run_challenge,
    run_pseudo_experiment,
    simulated_sets,
)
from rediscovery.higgs.systematics.fit import (
    SystFitResult,
    best_start,
    build_model,
    fit_with_systematics,
)
from rediscovery.higgs.systematics.methods import Interval, TemplateInference
from rediscovery.higgs.systematics.templates import (
    DEFAULT_GRID,
    NORM_NUISANCES,
    SHAPE_NUISANCES,
    SIGNAL_SAMPLE,
    Templates,
    TemplateWarning,
    build_template_family,
    build_templates,
    check_templates,
    histogram_samples,
    nuisance_kwargs,
    shape_modifier,
)
from rediscovery.higgs.systematics.training import (
    TRAINING_MODES,
    ClassifierScorer,
    augment,
    train_classifier,
)
from rediscovery.higgs.systematics.variations import (
    FAIR_UNIVERSE_PRIORS,
    NuisancePrior,
    SelectionThresholds,
    apply_systematics,
    draw_nuisances,
)

__all__ = [
    "DEFAULT_GRID",
    "FAIR_UNIVERSE_PRIORS",
    "METHODS",
    "NORM_NUISANCES",
    "SHAPE_NUISANCES",
    "SIGNAL_SAMPLE",
    "TRAINING_MODES",
    "ChallengeResult",
    "ChallengeSetup",
    "ClassifierScorer",
    "Interval",
    "NuisancePrior",
    "SelectionThresholds",
    "SystFitResult",
    "TemplateInference",
    "TemplateWarning",
    "Templates",
    "apply_systematics",
    "augment",
    "best_start",
    "build_model",
    "build_template_family",
    "build_templates",
    "calibrate",
    "challenge_score",
    "check_templates",
    "draw_nuisances",
    "expected_breakdown",
    "fit_with_systematics",
    "histogram_samples",
    "nuisance_kwargs",
    "prepare_setup",
    "run_challenge",
    "run_pseudo_experiment",
    "shape_modifier",
    "simulated_sets",
    "train_classifier",
]
