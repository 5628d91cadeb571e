"""Plots of the systematics stage: templates, ranked impacts with pulls, challenge results.

Matplotlib is imported inside the functions; each takes ``ax=None`` (a new figure) and returns
the axes it drew on.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "plot_impacts",
    "plot_interval_widths",
    "plot_mu_hat_vs_true",
    "plot_templates",
]


def _axes(ax: Any, figsize: tuple[float, float] = (6.0, 4.5)) -> Any:
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    _, ax = plt.subplots(figsize=figsize)
    return ax


def plot_templates(templates: Any, nuisance: str, sample: str = "signal", ax: Any = None) -> Any:
    """Ratio of the shifted to the nominal score histogram of one sample, for every α."""
    ax = _axes(ax)
    edges = templates.edges
    nom = templates.nominal[sample]
    safe = np.where(nom > 0, nom, np.nan)
    alphas = sorted(templates.shifted[nuisance])
    import matplotlib.pyplot as plt

    cmap = plt.get_cmap("coolwarm")
    amax = max(abs(a) for a in alphas) or 1.0
    for a in alphas:
        ratio = templates.shifted[nuisance][a][sample] / safe
        ax.stairs(ratio, edges, color=cmap(0.5 + 0.5 * a / amax), label=f"α = {a:+g}")
    ax.axhline(1.0, color="k", lw=0.8)
    ax.set_xlabel("classifier score")
    ax.set_ylabel(f"{sample}: shifted / nominal yield")
    ax.set_title(f"templates of {nuisance}")
    ax.legend(fontsize="small", ncol=2)
    return ax


def plot_impacts(result: Mapping[str, Any], ax: Any = None, top: int = 20) -> Any:
    """Ranked impacts on μ (pre-fit hatched, post-fit filled) with the pulls on a twin axis.

    ``result`` is :meth:`~rediscovery.higgs.systematics.fit.SystFitResult.to_dict` output.
    """
    nuis = result["nuisances"]
    def size(n: str) -> float:
        vals = np.abs(np.array([*nuis[n]["impact_postfit"], *nuis[n]["impact_prefit"]],
                               dtype=float))
        vals = vals[np.isfinite(vals)]
        return float(vals.max()) if vals.size else 0.0

    names = sorted(nuis, key=size, reverse=True)
    names = names[:top][::-1]
    ax = _axes(ax, (7.0, 0.45 * len(names) + 1.5))
    y = np.arange(len(names))
    pre = np.array([nuis[n]["impact_prefit"] for n in names], dtype=float)
    post = np.array([nuis[n]["impact_postfit"] for n in names], dtype=float)
    for col, arr, kw in ((0, pre, {"fill": False, "hatch": "///"}), (1, post, {"alpha": 0.6})):
        ax.barh(y, arr[:, 1], color="tab:blue", edgecolor="tab:blue", height=0.6,
                label=("post-fit" if col else "pre-fit") + " +1σ", **kw)
        ax.barh(y, arr[:, 0], color="tab:red", edgecolor="tab:red", height=0.6,
                label=("post-fit" if col else "pre-fit") + " −1σ", **kw)
    ax.set_yticks(y, names)
    ax.set_xlabel("Δμ̂ (impact on the signal strength)")
    ax.axvline(0, color="k", lw=0.8)
    ax.legend(fontsize="small", loc="lower right")
    twin = ax.twiny()
    pulls = np.array([nuis[n]["pull"] for n in names], dtype=float)
    cons = np.array([nuis[n]["constraint"] for n in names], dtype=float)
    twin.errorbar(pulls, y, xerr=cons, fmt="ko", ms=4, label="pull (θ̂−θ₀)/σ")
    twin.set_xlim(-2.5, 2.5)
    for v, ls in ((0.0, ":"), (-1.0, "--"), (1.0, "--")):
        twin.axvline(v, color="grey", ls=ls, lw=0.7)
    twin.set_xlabel("pull (θ̂ − θ₀)/Δθ, bars: post-fit/pre-fit σ")
    return ax


def plot_mu_hat_vs_true(table: pd.DataFrame, tag: str = "syst", ax: Any = None) -> Any:
    """Fitted μ̂ with its 68.27% interval against the true μ of each pseudo-experiment."""
    ax = _axes(ax)
    mu = table["mu_true"].to_numpy()
    mh = table[f"{tag}_mu_hat"].to_numpy()
    lo = table[f"{tag}_lo"].to_numpy()
    hi = table[f"{tag}_hi"].to_numpy()
    cov = (mu >= lo) & (mu <= hi)
    for m, c, lab in ((cov, "tab:blue", "covers true μ"), (~cov, "tab:red", "misses")):
        ax.errorbar(mu[m], mh[m], yerr=[mh[m] - lo[m], hi[m] - mh[m]], fmt="o", ms=2,
                    color=c, elinewidth=0.5, alpha=0.6, label=lab)
    lim = (0.0, max(3.2, float(np.nanmax(hi)) if hi.size else 3.2))
    ax.plot(lim, lim, "k--", lw=1, label="μ̂ = μ")
    ax.set_xlabel("true μ")
    ax.set_ylabel("fitted μ̂ (68.27% interval)")
    ax.set_title(f"pseudo-experiments ({tag})")
    ax.legend(fontsize="small")
    return ax


def plot_interval_widths(tables: Mapping[str, pd.DataFrame] | pd.DataFrame, ax: Any = None,
                         tags: tuple[str, ...] = ("syst", "stat")) -> Any:
    """Histograms of the 68.27% interval widths (one per fit type and/or training)."""
    ax = _axes(ax)
    if isinstance(tables, pd.DataFrame):
        tables = {"": tables}
    for name, t in tables.items():
        for tag in tags:
            w = (t[f"{tag}_hi"] - t[f"{tag}_lo"]).to_numpy()
            w = w[np.isfinite(w)]
            lab = f"{name} {tag}".strip() + f" (mean {w.mean():.3f})" if w.size else tag
            if w.size:
                nb = 30 if np.ptp(w) > 1e-9 * np.abs(w).max() else 1
                ax.hist(w, bins=nb, histtype="step", lw=1.5, label=lab)
    ax.set_xlabel("68.27% interval width on μ")
    ax.set_ylabel("pseudo-experiments")
    ax.legend(fontsize="small")
    return ax
