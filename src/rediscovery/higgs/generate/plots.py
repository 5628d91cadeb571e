"""Plots of generated against simulated events: one feature's distributions, their ratio.

Matplotlib is imported inside the functions; each takes ``ax=None`` and returns the artists.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

__all__ = ["plot_feature", "plot_features"]


def plot_feature(
    reference: pd.DataFrame,
    generated: pd.DataFrame,
    feature: str,
    *,
    bins: int = 40,
    ax: Any = None,
    label: str = "flow",
) -> dict[str, Any]:
    """Normalised histograms of ``feature`` (defined values) for the simulator and the
    generator, on common bins (1st–99th percentile of the reference).

    Returns ``{"edges", "reference", "generated"}``: the bin edges and the two densities.
    """
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots()
    a = reference[feature].to_numpy(dtype=float)
    b = generated[feature].to_numpy(dtype=float)
    a, b = a[np.isfinite(a)], b[np.isfinite(b)]
    lo, hi = np.percentile(a, [1, 99]) if len(a) else (0.0, 1.0)
    edges = np.linspace(lo, hi if hi > lo else lo + 1.0, bins + 1)
    ha, _ = np.histogram(a, edges, density=True)
    hb, _ = np.histogram(b, edges, density=True)
    ax.stairs(ha, edges, label=f"simulator ({len(a)})")
    ax.stairs(hb, edges, label=f"{label} ({len(b)})", linestyle="--")
    ax.set_xlabel(feature)
    ax.set_ylabel("density")
    ax.legend(fontsize="small")
    return {"edges": edges, "reference": ha, "generated": hb}


def plot_features(
    reference: pd.DataFrame,
    generated: pd.DataFrame,
    features: list[str],
    *,
    title: str = "",
    label: str = "generator",
    ncols: int = 4,
) -> Any:
    """A grid of :func:`plot_feature` panels (one per feature) under ``title``; returns the
    figure (its axes hold the plotted data)."""
    import matplotlib.pyplot as plt

    nrows = -(-len(features) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(3.2 * ncols, 2.5 * nrows), squeeze=False)
    for ax, feature in zip(axes.flat, features, strict=False):
        plot_feature(reference, generated, feature, ax=ax, label=label)
        ax.legend(fontsize="xx-small")
    for ax in axes.flat[len(features) :]:
        ax.set_visible(False)
    fig.suptitle(title)
    fig.tight_layout()
    return fig
