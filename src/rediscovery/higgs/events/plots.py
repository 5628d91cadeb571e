"""Plots of the Higgs pipeline (matplotlib is imported inside each function).

Every function takes an ``ax`` (or ``fig``) argument, draws on it and returns the artists or
the figure; the library's computations never draw.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from rediscovery.higgs.schema import LABEL, PRI_COLUMNS, WEIGHT

__all__ = ["FEATURE_AXIS", "plot_feature_comparison", "plot_validation_grid"]

#: x-axis labels with units, and the plotting range, of the primary features (+ visible mass).
FEATURE_AXIS: dict[str, tuple[str, tuple[float, float]]] = {
    "PRI_tau_pt": (r"$p_T(\tau_h)$ [GeV]", (20, 150)),
    "PRI_tau_eta": (r"$\eta(\tau_h)$", (-2.5, 2.5)),
    "PRI_tau_phi": (r"$\phi(\tau_h)$ [rad]", (-np.pi, np.pi)),
    "PRI_lep_pt": (r"$p_T(\ell)$ [GeV]", (26, 150)),
    "PRI_lep_eta": (r"$\eta(\ell)$", (-2.5, 2.5)),
    "PRI_lep_phi": (r"$\phi(\ell)$ [rad]", (-np.pi, np.pi)),
    "PRI_met": (r"$E_T^{miss}$ [GeV]", (0, 150)),
    "PRI_met_phi": (r"$\phi(E_T^{miss})$ [rad]", (-np.pi, np.pi)),
    "PRI_met_sumet": (r"$\Sigma E_T$ [GeV]", (0, 700)),
    "PRI_jet_num": ("number of jets ($p_T$ > 30 GeV; 3 = ≥3)", (-0.5, 3.5)),
    "PRI_jet_leading_pt": (r"leading jet $p_T$ [GeV]", (30, 300)),
    "PRI_jet_leading_eta": (r"leading jet $\eta$", (-4.5, 4.5)),
    "PRI_jet_leading_phi": (r"leading jet $\phi$ [rad]", (-np.pi, np.pi)),
    "PRI_jet_subleading_pt": (r"subleading jet $p_T$ [GeV]", (30, 200)),
    "PRI_jet_subleading_eta": (r"subleading jet $\eta$", (-4.5, 4.5)),
    "PRI_jet_subleading_phi": (r"subleading jet $\phi$ [rad]", (-np.pi, np.pi)),
    "PRI_jet_all_pt": (r"$\Sigma p_T$(jets) [GeV]", (0, 400)),
    "mass_vis": (r"$m_{vis}(\tau_h, \ell)$ [GeV]", (0, 250)),
}


def _values(df: pd.DataFrame, feature: str) -> np.ndarray:
    if feature == "mass_vis":
        from rediscovery.higgs.events.validation import visible_mass

        return visible_mass(df)
    return df[feature].to_numpy(float)


def plot_feature_comparison(
    sim: pd.DataFrame,
    ref: pd.DataFrame,
    feature: str,
    *,
    ax=None,
    bins: int = 30,
    ks: float | None = None,
    labels: tuple[str, str] = ("simulation", "HiggsML sample"),
):
    """Normalised weighted distributions of one feature: simulation (line) vs real (points).

    Both are normalised to their class's total weight (so jet panels show the fraction of all
    events that have the jet); values outside the range are put in the first/last bin.

    Parameters
    ----------
    sim, ref
        Events of one class each, with ``Weight``.
    feature
        A ``PRI_*`` column or ``"mass_vis"``.
    ks
        Kolmogorov–Smirnov distance to print in the panel.

    Returns
    -------
    matplotlib.axes.Axes
    """
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(4, 3))
    xs, xr = _values(sim, feature), _values(ref, feature)
    ws, wr = sim[WEIGHT].to_numpy(float), ref[WEIGHT].to_numpy(float)
    if feature in FEATURE_AXIS:
        xlabel, (lo, hi) = FEATURE_AXIS[feature]
    else:
        both = np.concatenate([xs[np.isfinite(xs)], xr[np.isfinite(xr)]])
        xlabel = feature
        lo, hi = np.percentile(both, [0.5, 99.5]) if both.size else (0.0, 1.0)
    edges = np.arange(-0.5, 4.0, 1.0) if feature == "PRI_jet_num" else np.linspace(lo, hi, bins + 1)
    widths = np.diff(edges)
    ms, mr = np.isfinite(xs), np.isfinite(xr)
    # normalise to the class total (undefined values included), so jet panels also show
    # the fraction of events that have the jet
    hs, _ = np.histogram(np.clip(xs[ms], edges[0], edges[-1]), bins=edges, weights=ws[ms])
    hr, _ = np.histogram(np.clip(xr[mr], edges[0], edges[-1]), bins=edges, weights=wr[mr])
    hr2, _ = np.histogram(np.clip(xr[mr], edges[0], edges[-1]), bins=edges, weights=wr[mr] ** 2)
    ns, nr = ws.sum() or 1.0, wr.sum() or 1.0
    ax.stairs(hs / ns / widths, edges, label=labels[0], color="tab:blue", linewidth=1.5)
    centres = 0.5 * (edges[1:] + edges[:-1])
    ax.errorbar(centres, hr / nr / widths, yerr=np.sqrt(hr2) / nr / widths, fmt="o",
                markersize=2.5, color="black", label=labels[1], linewidth=0.8)
    ax.set_xlabel(xlabel)
    unit = " / GeV" if "GeV" in xlabel and feature != "PRI_jet_num" else ""
    ax.set_ylabel(f"fraction{unit}" if feature == "PRI_jet_num" else f"normalised events{unit}")
    if ks is not None and np.isfinite(ks):
        ax.text(0.97, 0.95, f"KS = {ks:.3f}", transform=ax.transAxes, ha="right", va="top",
                fontsize=8)
    return ax


def plot_validation_grid(
    sim: pd.DataFrame,
    ref: pd.DataFrame,
    label: int,
    *,
    ks: Mapping[str, float] | None = None,
    fig=None,
    ncols: int = 5,
):
    """One panel per primary feature (+ visible mass) for one class (``label`` 1 or 0).

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    feats = [*PRI_COLUMNS, "mass_vis"]
    nrows = int(np.ceil(len(feats) / ncols))
    if fig is None:
        fig = plt.figure(figsize=(3.4 * ncols, 2.7 * nrows))
    axes = fig.subplots(nrows, ncols).ravel()
    s, r = sim[sim[LABEL] == label], ref[ref[LABEL] == label]
    for ax, feat in zip(axes, feats, strict=False):
        plot_feature_comparison(s, r, feat, ax=ax, ks=None if ks is None else ks.get(feat))
    for ax in axes[len(feats):]:
        ax.set_visible(False)
    axes[0].legend(fontsize=7, loc="upper right", bbox_to_anchor=(1.0, 0.85))
    name = "signal (H→ττ)" if label == 1 else "background"
    fig.suptitle(f"Simulation vs HiggsML sample, {name}: shapes normalised to unit area")
    # fixed spacing: tight_layout costs seconds on 18 panels
    fig.subplots_adjust(left=0.05, right=0.99, bottom=0.06, top=0.94, wspace=0.32, hspace=0.42)
    return fig
