"""Plots of the anomaly methods. matplotlib is imported inside; ``ax=None``; returns the axes."""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["plot_score_distribution"]


def plot_score_distribution(scores: Any, *, bins: int = 60, ax: Any = None) -> Any:
    """Histogram of the anomaly scores (log-scale counts), the 99th percentile marked.

    Parameters
    ----------
    scores
        Anomaly scores, higher = more anomalous.
    """
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(6.4, 4.8))
    s = np.asarray(scores, dtype=float)
    ax.hist(s, bins=bins, histtype="step", color="C0", label=f"{s.size} events")
    ax.axvline(np.quantile(s, 0.99), color="C3", ls="--", label="99th percentile")
    ax.set_yscale("log")
    ax.set_xlabel("anomaly score (higher = more anomalous)")
    ax.set_ylabel("events")
    ax.legend(fontsize=8)
    return ax
