"""Plots of the anomaly methods. matplotlib is imported inside; ``ax=None``; returns the axes."""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["plot_score_distribution", "plot_spectrum"]


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


def plot_spectrum(result: Any, *, ax: Any = None) -> Any:
    """The bump hunt's mass spectrum: observed counts (points), the background fitted to all
    bins (line) and the best window (shaded).

    Parameters
    ----------
    result
        :class:`rediscovery.anomaly.bumphunt.BumpHuntResult`.
    """
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(6.4, 4.8))
    edges = result.edges
    centres = np.sqrt(edges[:-1] * edges[1:])
    ax.errorbar(
        centres,
        result.counts,
        yerr=np.sqrt(result.counts),
        fmt="o",
        ms=3,
        color="k",
        label="selected events",
    )
    ax.stairs(result.background, edges, color="C0", label="background fit")
    w = result.windows.iloc[result.best]
    ax.axvspan(
        w["m_lo"],
        w["m_hi"],
        color="C3",
        alpha=0.15,
        label=f"best window: Z = {result.z_local:.1f} (local)",
    )
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(r"$m_{\tau\tau}$ (MMC) [GeV]")
    ax.set_ylabel("events per bin")
    ax.legend(fontsize=8)
    return ax
