"""Classifiers behind one interface: BDTs (xgboost, lightgbm, sklearn) and a torch MLP.

>>> from rediscovery.higgs.classifiers import make_model, load_model
>>> model = make_model("xgboost", n_estimators=50)       # doctest: +SKIP
>>> model.fit(X, y, w, X_val, y_val, w_val).save("out/model")  # doctest: +SKIP
>>> scores = load_model("out/model").predict(df)           # doctest: +SKIP

See :mod:`rediscovery.higgs.classifiers.base` for the interface and the saved-model layout.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rediscovery.higgs.classifiers.base import (
    Classifier,
    get_model_class,
    resolve_features,
    training_weights,
)
from rediscovery.higgs.classifiers.bdt import HGBClassifier, LightGBMClassifier, XGBoostClassifier
from rediscovery.higgs.classifiers.nn import MLPClassifier

__all__ = [
    "MODEL_KINDS",
    "Classifier",
    "HGBClassifier",
    "LightGBMClassifier",
    "MLPClassifier",
    "XGBoostClassifier",
    "get_model_class",
    "load_model",
    "make_model",
    "resolve_features",
    "training_weights",
]

#: Model names accepted by :func:`make_model` and the CLI.
MODEL_KINDS: tuple[str, ...] = ("xgboost", "lightgbm", "hgb", "nn")


def make_model(
    kind: str,
    features: Sequence[str] | None = None,
    *,
    balance_classes: bool = True,
    seed: int = 0,
    n_threads: int = 1,
    **params: Any,
) -> Classifier:
    """A new, unfitted classifier of the given kind (``xgboost``, ``lightgbm``, ``hgb``,
    ``nn``) with hyper-parameters ``params`` (defaults otherwise)."""
    return get_model_class(kind)(features, balance_classes=balance_classes, seed=seed,
                                 n_threads=n_threads, **params)


def load_model(
    directory: str | Path, *, features: Sequence[str] | None = None, n_threads: int = 1
) -> Classifier:
    """Load any saved classifier (see :meth:`Classifier.load`)."""
    return Classifier.load(directory, features=features, n_threads=n_threads)
