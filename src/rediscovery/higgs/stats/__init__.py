"""Statistical inference on the classifier score: binned model, fits, limits, toys (team STAT).

Reads per-event classifier scores (MC: weights, labels; observed data) or a BinnedModel.
Writes fit results (μ̂, intervals, significances, limits, impacts), fit.json, workspace.json.
"""

from rediscovery.higgs.stats.backends.registry import BACKENDS, make_engine
from rediscovery.higgs.stats.binning import BinningResult, choose_binning
from rediscovery.higgs.stats.histograms import histogram_observed, model_from_scores
from rediscovery.higgs.stats.inference import (
    CL_68,
    CL_95_45,
    CLS_ALPHA,
    asimov_data,
    asimov_significance,
    cls,
    expected_significance,
    fit,
    interval,
    likelihood_scan,
    mle,
    nuisance_summary,
    significance,
    upper_limit,
    workspace,
)
from rediscovery.higgs.stats.model import SIGNAL, BinnedModel, HistoSys, NormSys
from rediscovery.higgs.stats.results import (
    FitResult,
    IntervalResult,
    LikelihoodScan,
    MLEResult,
    NuisanceSummary,
    SignificanceResult,
    UpperLimitResult,
)
from rediscovery.higgs.stats.score_fit import ScoreFit, fit_scores, write_fit
from rediscovery.higgs.stats.toys import ToyResult, generate_toy, run_toys

__all__ = [
    "BACKENDS",
    "CLS_ALPHA",
    "CL_68",
    "CL_95_45",
    "SIGNAL",
    "BinnedModel",
    "BinningResult",
    "FitResult",
    "HistoSys",
    "IntervalResult",
    "LikelihoodScan",
    "MLEResult",
    "NormSys",
    "NuisanceSummary",
    "ScoreFit",
    "SignificanceResult",
    "ToyResult",
    "UpperLimitResult",
    "asimov_data",
    "asimov_significance",
    "choose_binning",
    "cls",
    "expected_significance",
    "fit",
    "fit_scores",
    "generate_toy",
    "histogram_observed",
    "interval",
    "likelihood_scan",
    "make_engine",
    "mle",
    "model_from_scores",
    "nuisance_summary",
    "run_toys",
    "significance",
    "upper_limit",
    "workspace",
    "write_fit",
]
