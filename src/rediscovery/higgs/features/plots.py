"""Plots of the feature stage: selection curves and the missing-mass distribution.

matplotlib is imported inside the functions; each takes ``ax=None`` and returns the axes.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

__all__ = ["plot_mass_comparison", "plot_selection_curves"]


def plot_selection_curves(table: pd.DataFrame, *, ax: Any = None) -> Any:
    """ROC AUC and AMS (± k-fold standard error) against the number of features, per method.

    Parameters
    ----------
    table
        :attr:`rediscovery.higgs.features.selection.StudyResult.table`.
    ax
        A pair of matplotlib axes (AUC, AMS); created side by side if ``None``.
    """
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(1, 2, figsize=(12, 4.8))
    ax_auc, ax_ams = ax
    curves = table[~table["method"].str.startswith("set:")]
    for method, grp in curves.groupby("method", sort=False):
        grp = grp.sort_values("n_features")
        style = {"ls": "--", "color": "grey"} if method == "random" else {}
        for a, col in ((ax_auc, "auc"), (ax_ams, "ams")):
            a.errorbar(grp["n_features"], grp[col], yerr=grp[f"{col}_err"], marker="o", ms=3,
                       capsize=2, label=str(method), **style)
    sets = table[table["method"].str.startswith("set:")]
    for _, row in sets.iterrows():
        for a, col in ((ax_auc, "auc"), (ax_ams, "ams")):
            a.axhline(row[col], lw=0.8, ls=":", color="k")
            a.annotate(row["method"][4:], (1, row[col]), xycoords=("axes fraction", "data"),
                       ha="right", va="bottom", fontsize=7)
    for a, lab in ((ax_auc, "weighted ROC AUC"), (ax_ams, "best AMS (b_reg = 10)")):
        a.set_xscale("log")
        a.set_xlabel("number of features (top-k of each ranking)")
        a.set_ylabel(lab)
    ax_auc.legend(fontsize=7, ncol=2)
    return ax


def plot_mass_comparison(ours: np.ndarray, official: np.ndarray, label: np.ndarray, *,
                         ax: Any = None, bins: Any = None) -> Any:
    """Signal and background m_ττ distributions: our missing mass vs the official DER_mass_MMC.

    Parameters
    ----------
    ours, official
        Masses in GeV (NaN = undefined, not drawn).
    label
        1 for signal, 0 for background.
    """
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(6.4, 4.8))
    bins = np.arange(0, 300, 5) if bins is None else bins
    sig = np.asarray(label) == 1
    for values, name, ls in ((ours, "this MMC", "-"), (official, "official MMC", "--")):
        for sel, proc, color in ((sig, "signal", "C3"), (~sig, "background", "C0")):
            v = np.asarray(values)[sel]
            ax.hist(v[np.isfinite(v)], bins=bins, histtype="step", ls=ls, color=color,
                    density=True, label=f"{name}, {proc}")
    ax.axvline(125.0, color="k", lw=0.7)
    ax.set_xlabel(r"$m_{\tau\tau}$ [GeV]")
    ax.set_ylabel("normalised events / 5 GeV")
    ax.legend(fontsize=8)
    return ax
