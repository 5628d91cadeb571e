"""Train-and-evaluate workflow shared by the CLI, the pipeline stage and notebooks.

:func:`train_classifier` takes an events table, splits it (``Set`` column, or a seeded 1:1:1
split with :func:`rediscovery.higgs.events.io.split_events`), trains a model on ``train`` with early
stopping on ``valid`` and evaluates it on ``test`` with the physics weights:
:func:`evaluate_scores` gives the AUC and the best AMS with bootstrap uncertainties, the
train-vs-test overtraining KS test and the calibration curve.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from rediscovery.core.errors import InputError
from rediscovery.higgs.classifiers import metrics
from rediscovery.higgs.classifiers.base import Classifier, resolve_features, training_weights
from rediscovery.higgs.classifiers.registry import make_model
from rediscovery.higgs.schema import DER_COLUMNS, EVENT_ID, LABEL, PROCESS, SET, WEIGHT

__all__ = [
    "TrainingResult",
    "evaluate_scores",
    "prepare_features",
    "score_events",
    "split_if_needed",
    "train_classifier",
]

logger = logging.getLogger(__name__)


def prepare_features(df: pd.DataFrame, spec: str | list[str]) -> tuple[pd.DataFrame, list[str]]:
    """Resolve ``spec`` (``pri``, ``all`` or a list) on ``df``, computing ``DER_*`` if needed.

    With ``all`` or an explicit ``DER_*`` name and no ``DER_*`` column in ``df``, the derived
    features are computed with :func:`rediscovery.higgs.features.derived.add_derived_features` (the
    slow ``DER_mass_MMC`` only for ``all`` or when listed).
    """
    is_all = isinstance(spec, str) and spec.strip().lower() == "all"
    names = [] if is_all else [c.strip() for c in (spec.split(",") if isinstance(spec, str)
                                                   else spec)]
    wanted_der = is_all or any(c in DER_COLUMNS for c in names)
    if wanted_der and not any(c in df.columns for c in DER_COLUMNS):
        from rediscovery.higgs.features.derived import add_derived_features

        # the missing-mass estimator is the slow part: only when asked for
        mmc = is_all or "DER_mass_MMC" in names
        logger.info("computing the DER_ features (MMC: %s)", mmc)
        df = add_derived_features(df, mmc=mmc)
    return df, resolve_features(list(df.columns), spec)


def split_if_needed(df: pd.DataFrame, *, seed: int = 0) -> pd.DataFrame:
    """Keep the ``Set`` column if present (needs ``train``, ``valid``, ``test``); otherwise
    split 1:1:1 at random (weights renormalised per set, see ``split_events``)."""
    if SET in df.columns:
        have = set(df[SET].astype(str).unique())
        missing = {"train", "valid", "test"} - have
        if missing:
            raise InputError(f"the Set column lacks {sorted(missing)} events; expected "
                             "train, valid and test", column=SET)
        return df
    from rediscovery.higgs.events.io import split_events

    logger.info("no Set column: splitting 1:1:1 into train/valid/test with seed %d", seed)
    return split_events(df, seed=seed)


def evaluate_scores(
    scores: ArrayLike,
    weights: ArrayLike,
    labels: ArrayLike,
    *,
    n_bootstrap: int = 100,
    seed: int = 0,
) -> dict[str, Any]:
    """AUC and best AMS with bootstrap errors (physics weights).

    Returns
    -------
    dict
        ``auc``, ``auc_err``, ``ams_best``, ``ams_best_err``, ``ams_threshold`` (select
        ``score >= ams_threshold``), ``ams_s``, ``ams_b`` (selected weighted events),
        ``uncertainty`` (method description). The AMS error re-optimises the cut in each
        replica, so it includes the cut's own fluctuation.
    """
    s = np.asarray(scores, dtype=np.float64)
    w = np.asarray(weights, dtype=np.float64)
    y = np.asarray(labels)
    auc, auc_err = metrics.metric_uncertainty(metrics.weighted_auc, s, w, y, n=n_bootstrap,
                                              seed=seed)
    curve = metrics.ams_curve(s, w, y)
    _, ams_err = metrics.metric_uncertainty(lambda a, b, c: metrics.best_ams(a, b, c)[1],
                                            s, w, y, n=n_bootstrap, seed=seed + 1)
    return {
        "auc": auc,
        "auc_err": auc_err,
        "ams_best": curve.best_ams,
        "ams_best_err": ams_err,
        "ams_threshold": curve.best_threshold,
        "ams_s": curve.s,
        "ams_b": curve.b,
        "uncertainty": f"Poisson bootstrap, {n_bootstrap} replicas",
    }


@dataclass
class TrainingResult:
    """Output of :func:`train_classifier`.

    Attributes
    ----------
    model
        The fitted classifier.
    metrics
        JSON-ready summary (see :func:`train_classifier`).
    scores
        One row per event: ``EventId``, ``score``, ``Weight``, ``Label``, ``Set`` (and
        ``Process`` when present).
    """

    model: Classifier
    metrics: dict[str, Any]
    scores: pd.DataFrame = field(repr=False)


def score_events(model: Classifier, df: pd.DataFrame) -> pd.DataFrame:
    """Score every event: ``EventId`` (when present), ``score`` and the bookkeeping columns
    ``Weight``, ``Label``, ``Process``, ``Set`` that exist in ``df`` (the input of
    ``rediscovery higgs fit --scores``)."""
    out = pd.DataFrame(index=df.index)
    if EVENT_ID in df.columns:
        out[EVENT_ID] = df[EVENT_ID].to_numpy()
    out["score"] = model.predict(df)
    for c in (WEIGHT, LABEL, PROCESS, SET):
        if c in df.columns:
            out[c] = df[c].to_numpy() if c != SET else df[c].astype(str).to_numpy()
    return out.reset_index(drop=True)


def train_classifier(
    df: pd.DataFrame,
    kind: str,
    *,
    features: str | list[str] = "pri",
    params: dict[str, Any] | None = None,
    balance_classes: bool = True,
    seed: int = 0,
    n_bootstrap: int = 100,
    n_threads: int = 1,
) -> TrainingResult:
    """Split, train on ``train`` (early stopping on ``valid``), evaluate on ``test``.

    Parameters
    ----------
    df
        Labelled events (``Weight``, ``Label``; ``Set`` optional).
    kind
        ``xgboost``, ``lightgbm``, ``hgb`` or ``nn``.
    features
        ``pri``, ``all`` or a list (see :func:`prepare_features`).
    params
        Hyper-parameters (defaults of the model otherwise).
    balance_classes
        Class-balanced training weights.
    seed
        Seed of the split, the training and the bootstrap.
    n_bootstrap
        Bootstrap replicas for the uncertainties.
    n_threads
        CPU threads of the library.

    Returns
    -------
    TrainingResult
        ``metrics`` holds ``model``, ``features``, the set sizes, the test ``auc``/``auc_err``,
        ``ams_best``/``ams_best_err``/``ams_threshold``/``ams_s``/``ams_b``, ``auc_train``,
        ``overtraining`` (KS statistic and p-value per class), ``calibration`` (the curve
        with the training weighting) and the model's ``training`` summary.
    """
    for col in (WEIGHT, LABEL):
        if col not in df.columns:
            raise InputError("a labelled events table is needed to train", column=col)
    df, feats = prepare_features(df, features)
    df = split_if_needed(df, seed=seed)
    sets = {name: df[df[SET].astype(str) == name] for name in ("train", "valid", "test")}
    tr, va, te = sets["train"], sets["valid"], sets["test"]
    model = make_model(kind, feats, balance_classes=balance_classes, seed=seed,
                       n_threads=n_threads, **(params or {}))
    model.fit(tr, tr[LABEL], tr[WEIGHT], va, va[LABEL], va[WEIGHT])
    scores = score_events(model, df)
    sc = {name: scores[scores[SET] == name] for name in sets}
    test = sc["test"]
    summary: dict[str, Any] = {
        "model": kind,
        "features": feats,
        "params": model.params,
        "balance_classes": balance_classes,
        "seed": seed,
        "n_train": len(tr),
        "n_valid": len(va),
        "n_test": len(te),
    }
    summary.update(evaluate_scores(test["score"], test[WEIGHT], test[LABEL],
                                   n_bootstrap=n_bootstrap, seed=seed))
    summary["auc_train"] = metrics.weighted_auc(sc["train"]["score"], sc["train"][WEIGHT],
                                                sc["train"][LABEL])
    ks = metrics.overtraining_check(
        sc["train"]["score"], sc["train"][WEIGHT], sc["train"][LABEL],
        test["score"], test[WEIGHT], test[LABEL],
    )
    summary["overtraining"] = {k: {"ks_statistic": v.statistic, "pvalue": v.pvalue}
                               for k, v in ks.items()}
    cw = training_weights(test[LABEL].to_numpy(), test[WEIGHT].to_numpy(),
                          balance_classes=balance_classes)
    mean, frac, wsum = metrics.calibration_curve(test["score"], cw, test[LABEL])
    summary["calibration"] = {"mean_score": mean, "signal_fraction": frac, "weight": wsum}
    summary["training"] = model.training_info_
    logger.info("%s: test AUC %.4f ± %.4f, best AMS %.3f ± %.3f", kind, summary["auc"],
                summary["auc_err"], summary["ams_best"], summary["ams_best_err"])
    return TrainingResult(model=model, metrics=summary, scores=scores)
