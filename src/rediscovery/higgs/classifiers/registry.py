"""Classifiers by name: :func:`make_model` builds a new one, :func:`load_model` reads a saved
one, whatever its kind.

The kinds are the :class:`~rediscovery.higgs.classifiers.base.Classifier` subclasses of
:mod:`~rediscovery.higgs.classifiers.bdt` and :mod:`~rediscovery.higgs.classifiers.nn`, which
this module imports (each subclass registers itself under its ``kind``).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rediscovery.core.errors import ConfigError
from rediscovery.higgs.classifiers.base import Classifier, registered_classes
from rediscovery.higgs.classifiers.bdt import HGBClassifier, LightGBMClassifier, XGBoostClassifier
from rediscovery.higgs.classifiers.nn import MLPClassifier

__all__ = ["MODEL_KINDS", "get_model_class", "load_model", "make_model"]

#: Model names accepted by :func:`make_model` and the CLI.
MODEL_KINDS: tuple[str, ...] = tuple(
    c.kind for c in (XGBoostClassifier, LightGBMClassifier, HGBClassifier, MLPClassifier))


def get_model_class(kind: str) -> type[Classifier]:
    """The classifier class registered under ``kind`` (``xgboost``, ``lightgbm``, ``hgb``,
    ``nn``)."""
    classes = registered_classes()
    try:
        return classes[kind]
    except KeyError:
        raise ConfigError(f"unknown model {kind!r}; choose one of {sorted(classes)}") from None


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
