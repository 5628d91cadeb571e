"""Anomaly detection, owned by the anomaly-challenge team: outlier methods on events.
Reads: an events table (any file :func:`rediscovery.higgs.events.io.read_events` reads).
Writes: ``scores.parquet`` (``EventId, anomaly_score, rank``), ``anomaly.json`` and
``scores.png`` (``rediscovery anomaly run``).
"""

from __future__ import annotations

from rediscovery.anomaly.outliers import (
    IsolationForestConfig,
    OutlierResult,
    isolation_forest_scores,
)

__all__ = ["IsolationForestConfig", "OutlierResult", "isolation_forest_scores"]
