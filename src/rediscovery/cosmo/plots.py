"""Plots shared by the cosmology stages: posterior triangle plots and chain traces.

matplotlib (and corner) are imported inside the functions; each takes an optional figure/axes
and returns it. The computations they show live in :mod:`rediscovery.cosmo.mcmc`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

__all__ = ["plot_om_ol_joint", "plot_trace", "triangle_plot"]


def triangle_plot(result: Any, *, params: Sequence[str] | None = None,
                  truths: Mapping[str, float] | None = None, fig: Any = None,
                  labels: Sequence[str] | None = None, **corner_kwargs: Any) -> Any:
    """Corner (triangle) plot of an :class:`~rediscovery.cosmo.mcmc.MCMCResult` with corner.

    Parameters
    ----------
    result
        The MCMC result (its post-burn-in :attr:`samples` are shown).
    params
        Parameter names to show (default: all).
    truths
        Optional ``{name: value}`` lines (e.g. the simulation truth).
    fig
        An existing figure to draw into.
    labels
        Axis labels (LaTeX without ``$``); default: ``result.labels`` or the names.
    corner_kwargs
        Passed on to :func:`corner.corner` (default: 68% and 95% 2-D contours, 16/50/84
        quantiles, titles).

    Returns
    -------
    matplotlib.figure.Figure
    """
    import corner

    names = list(result.names)
    params = names if params is None else list(params)
    idx = [names.index(p) for p in params]
    x = result.samples[:, idx]
    if labels is None:
        lab_all = result.labels or names
        labels = [f"${lab_all[i]}$" if result.labels else names[i] for i in idx]
    opts: dict[str, Any] = {
        "labels": list(labels),
        "quantiles": [0.16, 0.5, 0.84],
        "show_titles": True,
        # 2-D contours at the 1σ and 2σ levels of a 2-D Gaussian: 1 − exp(−n²/2)
        "levels": (1 - np.exp(-0.5), 1 - np.exp(-2.0)),
        "smooth": 1.0,
        "fig": fig,
    }
    if truths is not None:
        opts["truths"] = [truths.get(p) for p in params]
    opts.update(corner_kwargs)
    return corner.corner(x, **opts)


def plot_trace(result: Any, *, fig: Any = None, max_walkers: int = 32) -> Any:
    """Walker traces per parameter with the burn-in marked; returns the figure."""
    import matplotlib.pyplot as plt

    nd = result.chain.shape[2]
    if fig is None:
        fig = plt.figure(figsize=(7, 1.8 * nd))
    axes = fig.subplots(nd, 1, sharex=True, squeeze=False)[:, 0]
    steps = np.arange(result.chain.shape[0])
    for j, ax in enumerate(axes):
        ax.plot(steps, result.chain[:, :max_walkers, j], lw=0.4, alpha=0.5, color="k")
        ax.axvline(result.burn, color="C3", ls="--", lw=1)
        ax.set_ylabel(f"${result.labels[j]}$" if result.labels else result.names[j])
    axes[-1].set_xlabel("step")
    return fig


def plot_om_ol_joint(results: Mapping[str, Any], *, ax: Any = None,
                     truth: Mapping[str, float] | None = None,
                     title: str = "SN Ia + CMB distance priors, curved ΛCDM") -> Any:
    """68%/95% contours of several (Ω_m, Ω_Λ) posteriors (e.g. SN only, CMB only, joint).

    Parameters
    ----------
    results
        ``{label: (om_samples, ol_samples)}``.
    ax
        Axes to draw into (default: a new figure).
    truth
        Optional ``{"Om", "OL"}`` marked with a star.
    title
        Axes title (which CMB data the joint fit used).

    Returns
    -------
    matplotlib.figure.Figure
        With the flat line Ω_Λ = 1 − Ω_m and the q0 = 0 (acceleration) line.
    """
    import corner
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    if ax is None:
        _, ax = plt.subplots(figsize=(5.5, 5))
    x = np.linspace(0, 1.5, 10)
    ax.plot(x, 1 - x, color="k", lw=1, label=r"flat: $\Omega_\Lambda = 1-\Omega_m$")
    ax.plot(x, x / 2, color="0.5", lw=1, ls="--", label=r"$q_0=0$")
    handles = []
    for i, (label, (om, ol)) in enumerate(results.items()):
        om, ol = np.asarray(om, dtype=float), np.asarray(ol, dtype=float)
        color = f"C{i}"
        corner.hist2d(om, ol, ax=ax, levels=(1 - np.exp(-0.5), 1 - np.exp(-2.0)),
                      plot_datapoints=False, plot_density=False, fill_contours=True,
                      smooth=1.0, color=color, bins=40,
                      range=[(om.min(), om.max()), (ol.min(), ol.max())])
        handles.append(Patch(color=color, label=f"{label} (68/95%)"))
    if truth is not None:
        ax.plot(truth["Om"], truth["OL"], "k*", ms=10, label="truth")
    ax.set_xlim(0, 1.0)
    ax.set_ylim(0, 1.4)
    ax.set_xlabel(r"$\Omega_m$")
    ax.set_ylabel(r"$\Omega_\Lambda$")
    h0, l0 = ax.get_legend_handles_labels()
    ax.legend(handles=h0 + handles, labels=l0 + [h.get_label() for h in handles],
              loc="upper right", fontsize=8)
    ax.set_title(title, fontsize=9)
    return ax.figure
