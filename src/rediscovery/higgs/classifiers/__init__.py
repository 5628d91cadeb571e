"""Classifiers, owned by teams BDT and NN: boosted trees and a torch MLP behind one interface.
Reads: events (DataFrame or Parquet) with Label, Weight and PRI_/DER_/NEW_ feature columns.
Writes: model dirs (model.json + library file), scores.parquet; Classifier, TrainingResult objects.
"""

from __future__ import annotations

from rediscovery.higgs.classifiers.base import Classifier, resolve_features, training_weights
from rediscovery.higgs.classifiers.bdt import HGBClassifier, LightGBMClassifier, XGBoostClassifier
from rediscovery.higgs.classifiers.metrics import ams, best_ams, weighted_auc
from rediscovery.higgs.classifiers.nn import MLPClassifier
from rediscovery.higgs.classifiers.registry import (
    MODEL_KINDS,
    get_model_class,
    load_model,
    make_model,
)
from rediscovery.higgs.classifiers.workflow import TrainingResult, score_events, train_classifier

__all__ = [
    "MODEL_KINDS",
    "Classifier",
    "HGBClassifier",
    "LightGBMClassifier",
    "MLPClassifier",
    "TrainingResult",
    "XGBoostClassifier",
    "ams",
    "best_ams",
    "get_model_class",
    "load_model",
    "make_model",
    "resolve_features",
    "score_events",
    "train_classifier",
    "training_weights",
    "weighted_auc",
]
