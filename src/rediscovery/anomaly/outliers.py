"""Outlier detection: events unlike the bulk of the sample, found without labels.

The baseline is the isolation forest (F. T. Liu, K. M. Ting, Z.-H. Zhou, "Isolation forest",
ICDM 2008; scikit-learn's implementation): random axis-aligned splits isolate an event in
fewer steps the further it lies from the others; the anomaly score is the negated
``score_samples`` of scikit-learn, 2^(-E[h]/c(n)) in (0, 1], higher = more anomalous (eq. 2 of
the paper). The features are those of :func:`rediscovery.higgs.explore.feature_matrix`:
standardised, long tails log-transformed, undefined values at the mean, no azimuths.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from rediscovery.core.errors import ConfigError, InputError
from rediscovery.higgs.explore.exploration import MIN_SAMPLE, feature_matrix
from rediscovery.higgs.schema import EVENT_ID

__all__ = ["IsolationForestConfig", "OutlierResult", "isolation_forest_scores"]


@dataclass(frozen=True)
class IsolationForestConfig:
    """Settings of :func:`isolation_forest_scores`.

    Attributes
    ----------
    n_estimators
        Trees of the forest.
    max_samples
        Events drawn (without replacement) to grow each tree; the paper's default 256.
    log_transform
        log(1 + x) of non-negative long-tailed features (as in ``higgs explore``).
    seed
        Seed of the trees' subsamples and splits.
    """

    n_estimators: int = 200
    max_samples: int = 256
    log_transform: bool = True
    seed: int = 2019

    def __post_init__(self) -> None:
        if self.n_estimators < 1:
            raise ConfigError(f"n_estimators {self.n_estimators}: expected at least 1 tree")
        if self.max_samples < 2:
            raise ConfigError(f"max_samples {self.max_samples}: expected at least 2 events")


@dataclass
class OutlierResult:
    """Outcome of an outlier method.

    Attributes
    ----------
    scores
        One row per event, in input order: ``EventId`` (if present), ``anomaly_score``
        (higher = more anomalous) and ``rank`` (1 = most anomalous).
    summary
        Method, features, settings, score quantiles and seconds, for ``anomaly.json``.
    """

    scores: pd.DataFrame
    summary: dict[str, Any] = field(default_factory=dict)


def isolation_forest_scores(
    df: pd.DataFrame,
    config: IsolationForestConfig | None = None,
    *,
    features: Sequence[str] | None = None,
) -> OutlierResult:
    """Anomaly score of every event from an isolation forest grown on the same events.

    Parameters
    ----------
    df
        Events table (labels, if any, are not used).
    config
        :class:`IsolationForestConfig`.
    features
        Columns to use (default: PRI_/DER_/NEW_ without azimuths).

    Raises
    ------
    InputError
        Fewer than 10 events, or no usable numeric feature.
    """
    from sklearn.ensemble import IsolationForest

    cfg = config or IsolationForestConfig()
    t0 = time.perf_counter()
    if len(df) < MIN_SAMPLE:
        raise InputError(f"{len(df)} events; expected at least {MIN_SAMPLE} to score")
    fm = feature_matrix(df, features, log_transform=cfg.log_transform)
    forest = IsolationForest(
        n_estimators=cfg.n_estimators,
        max_samples=min(cfg.max_samples, len(df)),
        random_state=cfg.seed,
    ).fit(fm.x)
    score = -forest.score_samples(fm.x)
    scores = pd.DataFrame({"anomaly_score": score})
    if EVENT_ID in df.columns:
        scores.insert(0, EVENT_ID, df[EVENT_ID].to_numpy())
    order = np.argsort(-score, kind="stable")
    rank = np.empty(len(score), dtype=np.int64)
    rank[order] = np.arange(1, len(score) + 1)
    scores["rank"] = rank
    q = (0.5, 0.9, 0.99, 0.999)
    summary = {
        "method": "isolation-forest",
        "n_events": len(df),
        "features": fm.features,
        "log_features": fm.log_features,
        "dropped_features": fm.dropped,
        "score_quantiles": {str(p): float(np.quantile(score, p)) for p in q},
        "score_max": float(score.max()),
        "settings": asdict(cfg),
        "seconds": time.perf_counter() - t0,
    }
    return OutlierResult(scores=scores, summary=summary)
