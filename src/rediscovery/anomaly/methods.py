"""One interface for every anomaly method: fit on data (and the SM reference) → a score per event.

A method is an object with a ``name`` and ``fit_score(data, reference) -> MethodResult``;
:data:`METHODS` maps each name of ``rediscovery anomaly run --method`` to its class. Every
method's selected events (its top-scored fraction, or for CWoLa hunting its own selection)
go through the bump hunt of :mod:`rediscovery.anomaly.bumphunt`, so every method reports a
local significance and a mass estimate as well as per-event scores.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

import numpy as np
import pandas as pd

from rediscovery.anomaly.bumphunt import BumpHuntConfig, BumpHuntResult, bump_hunt
from rediscovery.anomaly.datasets import MASS_COLUMN
from rediscovery.anomaly.outliers import IsolationForestConfig, isolation_forest_scores
from rediscovery.core.errors import ConfigError, InputError
from rediscovery.higgs.explore.exploration import FeatureMatrix, feature_matrix

__all__ = [
    "AnomalyMethod",
    "BumpHuntMethod",
    "IsolationForestMethod",
    "KNNDensityMethod",
    "MethodResult",
    "ReferenceFeatures",
    "limited_threads",
    "need_reference",
    "require_mass",
    "selected_bump_hunt",
]


@dataclass
class MethodResult:
    """Outcome of :meth:`AnomalyMethod.fit_score`.

    Attributes
    ----------
    name
        Method name.
    scores
        One per event of the data, in input order; higher = more anomalous.
    bump
        Bump hunt of the method's selected events (``None`` if the mass is unavailable).
    summary
        Settings, seconds and method-specific figures (JSON-ready).
    """

    name: str
    scores: np.ndarray
    bump: BumpHuntResult | None = None
    summary: dict[str, Any] = field(default_factory=dict)


class AnomalyMethod(Protocol):
    """What every method provides."""

    name: str

    def fit_score(self, data: pd.DataFrame, reference: pd.DataFrame | None) -> MethodResult:
        """Fit on ``data`` (and the SM ``reference`` if the method uses one); score ``data``."""
        ...


@contextlib.contextmanager
def limited_threads(n: int = 1) -> Iterator[None]:
    """Limit OpenMP/BLAS (scikit-learn's boosting, k-NN) and torch to ``n`` threads.

    Many small fits on a shared machine: scikit-learn's OpenMP threads spin-wait when the
    cores are busy, which made one gradient-boosting fit 25x slower with 2 threads than with
    1 on the loaded 2-core test machine (0.84 s vs 22 s for 10k events, 100 trees).
    """
    import torch
    from threadpoolctl import threadpool_limits

    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        with threadpool_limits(limits=n):
            yield
    finally:
        torch.set_num_threads(before)


def require_mass(df: pd.DataFrame, column: str = MASS_COLUMN) -> np.ndarray:
    """The ττ mass column of ``df`` as floats (GeV), or a clear error."""
    if column not in df.columns:
        raise InputError(
            "is missing; expected the ττ mass (DER_* features, e.g. from "
            "`rediscovery anomaly simulate` or `higgs features`)",
            column=column,
        )
    return df[column].to_numpy(dtype=float)


def selected_bump_hunt(
    df: pd.DataFrame, scores: np.ndarray, keep: float, config: BumpHuntConfig | None
) -> BumpHuntResult | None:
    """Bump hunt of the events whose score is in the top ``keep`` fraction (None: no mass)."""
    if MASS_COLUMN not in df.columns:
        return None
    m = require_mass(df)
    cut = np.quantile(scores, 1.0 - keep)
    return bump_hunt(m[scores >= cut], config)


class ReferenceFeatures:
    """Features standardised with the reference sample's transformation, applied to any sample.

    The transformation (log of long tails, mean, scale; undefined values at 0) is that of
    :func:`rediscovery.higgs.explore.exploration.feature_matrix` fitted on the reference.
    """

    def __init__(self, reference: pd.DataFrame, features: Sequence[str] | None = None) -> None:
        self.fm_: FeatureMatrix = feature_matrix(reference, features)

    @property
    def features(self) -> list[str]:
        return list(self.fm_.features)

    def transform(self, df: pd.DataFrame) -> np.ndarray:
        """(n, n_features) standardised values of ``df``."""
        missing = [c for c in self.fm_.features if c not in df.columns]
        if missing:
            raise InputError(
                f"expected the reference's features; missing {missing[:5]}", column=missing[0]
            )
        x = df[self.fm_.features].to_numpy(dtype=np.float64)
        lg = np.isin(self.fm_.features, self.fm_.log_features)
        with np.errstate(invalid="ignore"):
            x[:, lg] = np.log1p(np.clip(x[:, lg], 0.0, None))
        z = (x - self.fm_.mean) / self.fm_.scale
        return np.where(np.isfinite(z), z, 0.0)


def need_reference(name: str, reference: pd.DataFrame | None) -> pd.DataFrame:
    if reference is None:
        raise ConfigError(
            f"method {name!r} learns the Standard Model from a reference "
            "sample; give --reference (e.g. reference.parquet of "
            "`rediscovery anomaly simulate`)"
        )
    return reference


@dataclass
class IsolationForestMethod:
    """Isolation forest grown on the data (:func:`~rediscovery.anomaly.outliers.
    isolation_forest_scores`); the top ``keep`` fraction goes to the bump hunt."""

    config: IsolationForestConfig = field(default_factory=IsolationForestConfig)
    keep: float = 0.1
    bump: BumpHuntConfig | None = None
    name: str = "isolation-forest"

    def fit_score(self, data: pd.DataFrame, reference: pd.DataFrame | None) -> MethodResult:
        t0 = time.perf_counter()
        res = isolation_forest_scores(data, self.config)
        s = res.scores["anomaly_score"].to_numpy()
        bump = selected_bump_hunt(data, s, self.keep, self.bump)
        summary = {**res.summary, "keep": self.keep, "seconds": time.perf_counter() - t0}
        return MethodResult(self.name, s, bump, summary)


@dataclass
class KNNDensityMethod:
    """k-nearest-neighbour density relative to the SM reference.

    Score = distance from a data event to its k-th nearest reference event, in the standardised
    features (a k-NN density estimate: ρ ∝ k / d_k^D, Loftsgaarden & Quesenberry, Ann. Math.
    Stat. 36 (1965) 1049): far from every SM event = anomalous. ``n_reference`` reference
    events are drawn (seeded) to bound the cost.
    """

    k: int = 10
    n_reference: int = 20_000
    keep: float = 0.1
    seed: int = 2019
    threads: int = 1
    bump: BumpHuntConfig | None = None
    name: str = "knn"

    def __post_init__(self) -> None:
        if self.k < 1:
            raise ConfigError(f"k {self.k}: expected at least 1 neighbour")
        if not 0 < self.keep <= 1:
            raise ConfigError(f"keep {self.keep}: expected a fraction in (0, 1]")

    def fit_score(self, data: pd.DataFrame, reference: pd.DataFrame | None) -> MethodResult:
        t0 = time.perf_counter()
        ref = need_reference(self.name, reference)
        rng = np.random.default_rng(self.seed)
        with limited_threads(self.threads):
            s, feats = self._scores(data, ref, rng)
        bump = selected_bump_hunt(data, s, self.keep, self.bump)
        summary = {
            "method": self.name,
            "features": feats.features,
            "settings": {k: v for k, v in asdict(self).items() if k != "bump"},
            "seconds": time.perf_counter() - t0,
        }
        return MethodResult(self.name, s, bump, summary)

    def _scores(self, data, ref, rng):
        from sklearn.neighbors import NearestNeighbors

        if len(ref) > self.n_reference:
            ref = ref.iloc[np.sort(rng.choice(len(ref), self.n_reference, replace=False))]
        feats = ReferenceFeatures(ref)
        nn = NearestNeighbors(n_neighbors=self.k).fit(feats.transform(ref))
        dist, _ = nn.kneighbors(feats.transform(data))
        return dist[:, -1], feats


@dataclass
class BumpHuntMethod:
    """The bump hunt alone on all events (no selection); score = in the best window (1) or not."""

    bump: BumpHuntConfig | None = None
    name: str = "bumphunt"

    def fit_score(self, data: pd.DataFrame, reference: pd.DataFrame | None) -> MethodResult:
        t0 = time.perf_counter()
        m = require_mass(data)
        res = bump_hunt(m, self.bump)
        lo, hi = res.summary()["window"]
        s = ((m >= lo) & (m < hi)).astype(float)
        summary = {"method": self.name, "seconds": time.perf_counter() - t0}
        return MethodResult(self.name, s, res, summary)
