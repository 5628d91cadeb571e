"""The Higgs boson in H→ττ (lepton–hadron) events, ATLAS HiggsML schema.

Five stage folders, one per school team: ``events/`` (simulator and readers), ``features/``
(team FE), ``classifiers/`` (teams BDT and NN), ``stats/`` (team STAT), ``systematics/``
(team SYST); ``pipeline`` chains them in a run directory (``rediscovery higgs run``).

This facade holds the names a student uses most; everything else lives in the stage folders.
The names are imported on first use, so ``import rediscovery.higgs`` stays fast.

>>> import rediscovery.higgs as higgs
>>> round(float(higgs.ams(10.0, 100.0)), 4)  # HiggsML documentation v1.8, eq. (7)
0.9395
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__all__ = [
    "BinnedModel",
    "HiggsRunConfig",
    "add_derived_features",
    "add_new_features",
    "ams",
    "apply_systematics",
    "fit",
    "fit_scores",
    "load_model",
    "model_from_scores",
    "read_events",
    "run_pipeline",
    "simulate_events",
    "simulate_pseudo_data",
    "train_classifier",
    "write_events",
]

#: facade name -> the module that defines it
_HOME = {
    "read_events": "rediscovery.higgs.events.io",
    "write_events": "rediscovery.higgs.events.io",
    "simulate_events": "rediscovery.higgs.events.simulate",
    "simulate_pseudo_data": "rediscovery.higgs.events.simulate",
    "add_derived_features": "rediscovery.higgs.features.derived",
    "add_new_features": "rediscovery.higgs.features.new",
    "ams": "rediscovery.higgs.classifiers.metrics",
    "train_classifier": "rediscovery.higgs.classifiers.workflow",
    "load_model": "rediscovery.higgs.classifiers",
    "BinnedModel": "rediscovery.higgs.stats.model",
    "model_from_scores": "rediscovery.higgs.stats.histograms",
    "fit": "rediscovery.higgs.stats.inference",
    "fit_scores": "rediscovery.higgs.stats.score_fit",
    "apply_systematics": "rediscovery.higgs.systematics.variations",
    "run_pipeline": "rediscovery.higgs.pipeline",
    "HiggsRunConfig": "rediscovery.higgs.pipeline",
}


def __getattr__(name: str) -> Any:
    # PEP 562 lazy attributes: the stage modules pull in pandas, xgboost, torch, pyhf, ...
    try:
        home = _HOME[name]
    except KeyError:
        raise AttributeError(f"module 'rediscovery.higgs' has no attribute {name!r}") from None
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


if TYPE_CHECKING:  # static analysers and IDEs see the real objects
    from rediscovery.higgs.classifiers import load_model
    from rediscovery.higgs.classifiers.metrics import ams
    from rediscovery.higgs.classifiers.workflow import train_classifier
    from rediscovery.higgs.events.io import read_events, write_events
    from rediscovery.higgs.events.simulate import simulate_events, simulate_pseudo_data
    from rediscovery.higgs.features.derived import add_derived_features
    from rediscovery.higgs.features.new import add_new_features
    from rediscovery.higgs.pipeline import HiggsRunConfig, run_pipeline
    from rediscovery.higgs.stats.histograms import model_from_scores
    from rediscovery.higgs.stats.inference import fit
    from rediscovery.higgs.stats.model import BinnedModel
    from rediscovery.higgs.stats.score_fit import fit_scores
    from rediscovery.higgs.systematics.variations import apply_systematics
