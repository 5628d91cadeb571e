"""Plots of classifier performance: ROC, score distributions (overtraining), AMS, calibration.

Every function draws on ``ax`` (a new figure when ``None``) and returns the axes; matplotlib
is imported inside the functions. The numbers come from
:mod:`rediscovery.higgs.classifiers.metrics`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from rediscovery.higgs.classifiers import metrics

__all__ = [
    "plot_ams_curve",
    "plot_calibration",
    "plot_roc",
    "plot_score_distributions",
    "plot_training_history",
    "plot_training_summary",
]


def _axes(ax: Any) -> Any:
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    _, ax = plt.subplots(figsize=(6.4, 4.8))
    return ax


def plot_roc(
    curves: Mapping[str, tuple[ArrayLike, ArrayLike, ArrayLike]],
    *,
    ax: Any = None,
    log_background: bool = False,
) -> Any:
    """Weighted ROC curves.

    Parameters
    ----------
    curves
        ``{label: (scores, weights, labels)}``: one curve per entry, the AUC in the legend.
    log_background
        Plot the background rejection ``1 / eps_b`` on a log scale against the signal
        efficiency instead (the HEP convention for tight working points).
    """
    ax = _axes(ax)
    for name, (s, w, y) in curves.items():
        fpr, tpr, _ = metrics.weighted_roc(s, w, y)
        auc = metrics.weighted_auc(s, w, y)
        if log_background:
            ok = fpr > 0
            ax.plot(tpr[ok], 1.0 / fpr[ok], label=f"{name} (AUC = {auc:.4f})")
        else:
            ax.plot(fpr, tpr, label=f"{name} (AUC = {auc:.4f})")
    if log_background:
        ax.set_yscale("log")
        ax.set_xlabel("signal efficiency")
        ax.set_ylabel("background rejection 1/ε_b")
    else:
        ax.plot([0, 1], [0, 1], ls=":", color="grey", label="random")
        ax.set_xlabel("background efficiency ε_b (weighted)")
        ax.set_ylabel("signal efficiency ε_s (weighted)")
    ax.legend(loc="lower right" if not log_background else "upper right")
    return ax


def plot_score_distributions(
    train: tuple[ArrayLike, ArrayLike, ArrayLike],
    test: tuple[ArrayLike, ArrayLike, ArrayLike],
    *,
    bins: int = 40,
    ax: Any = None,
) -> Any:
    """Normalised score distributions of signal and background, train (filled) vs test (points).

    The legend gives the weighted Kolmogorov-Smirnov p-value of train vs test per class
    (:func:`rediscovery.higgs.classifiers.metrics.overtraining_check`).

    Parameters
    ----------
    train, test
        ``(scores, weights, labels)`` of the training and test sets.
    bins
        Number of equal bins on [0, 1].
    """
    ax = _axes(ax)
    ks = metrics.overtraining_check(*train, *test)
    edges = np.linspace(0.0, 1.0, bins + 1)
    centres = 0.5 * (edges[1:] + edges[:-1])
    width = np.diff(edges)
    for cls, name, color in ((1, "signal", "tab:red"), (0, "background", "tab:blue")):
        s_tr, w_tr, y_tr = (np.asarray(a) for a in train)
        s_te, w_te, y_te = (np.asarray(a) for a in test)
        m_tr, m_te = y_tr == cls, y_te == cls
        h_tr, _ = np.histogram(s_tr[m_tr], edges, weights=w_tr[m_tr])
        ax.stairs(h_tr / (h_tr.sum() * width), edges, fill=True, alpha=0.3, color=color,
                  label=f"{name} train")
        h_te, _ = np.histogram(s_te[m_te], edges, weights=w_te[m_te])
        v_te, _ = np.histogram(s_te[m_te], edges, weights=w_te[m_te] ** 2)
        norm = h_te.sum() * width
        ax.errorbar(centres, h_te / norm, yerr=np.sqrt(v_te) / norm, fmt="o", ms=3,
                    color=color,
                    label=f"{name} test (KS p = {ks[name].pvalue:.3g})")
    ax.set_xlabel("classifier score")
    ax.set_ylabel("normalised density (weighted)")
    ax.set_yscale("log")
    ax.legend(fontsize="small")
    return ax


def plot_ams_curve(
    scores: ArrayLike,
    weights: ArrayLike,
    labels: ArrayLike,
    *,
    b_reg: float = metrics.AMS_B_REG,
    ax: Any = None,
) -> Any:
    """AMS (HiggsML eq. 7) of the cut ``score >= t`` against ``t``, the best cut marked."""
    ax = _axes(ax)
    c = metrics.ams_curve(scores, weights, labels, b_reg=b_reg)
    ax.plot(c.threshold, c.ams, color="black")
    ax.axvline(c.best_threshold, ls="--", color="tab:red",
               label=f"best: t = {c.best_threshold:.3f}, AMS = {c.best_ams:.3f}\n"
                     f"s = {c.s:.1f}, b = {c.b:.1f} events")
    ax.set_xlabel("score threshold t (select score ≥ t)")
    ax.set_ylabel(f"AMS (b_reg = {b_reg:g})")
    ax.set_xlim(0, 1)
    ax.legend()
    return ax


def plot_calibration(
    scores: ArrayLike,
    weights: ArrayLike,
    labels: ArrayLike,
    *,
    n_bins: int = 10,
    ax: Any = None,
) -> Any:
    """Reliability diagram: weighted signal fraction against the mean score per bin."""
    ax = _axes(ax)
    mean, frac, _ = metrics.calibration_curve(scores, weights, labels, n_bins=n_bins)
    ax.plot([0, 1], [0, 1], ls=":", color="grey", label="perfect calibration")
    ax.plot(mean, frac, "o-", label="classifier")
    ax.set_xlabel("mean score in bin")
    ax.set_ylabel("signal fraction (training weighting)")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.legend()
    return ax


def plot_training_history(history: Sequence[Mapping[str, float]], *, ax: Any = None) -> Any:
    """Training and validation loss per epoch (the network's ``history_``)."""
    ax = _axes(ax)
    ep = [h["epoch"] for h in history]
    ax.plot(ep, [h["train_loss"] for h in history], label="train")
    if history and "val_loss" in history[0]:
        val = [h["val_loss"] for h in history]
        ax.plot(ep, val, label="validation")
        best = int(np.argmin(val))
        ax.axvline(ep[best], ls="--", color="grey", label=f"best epoch {ep[best]}")
    ax.set_xlabel("epoch")
    ax.set_ylabel("weighted binary cross-entropy")
    ax.legend()
    return ax


def plot_training_summary(result: Any, out: str | Path) -> dict[str, Path]:
    """Write the standard training plots of a
    :class:`~rediscovery.higgs.classifiers.workflow.TrainingResult` into ``out``.

    Files: ``roc.png``, ``scores.png`` (train vs test, KS p-values), ``ams.png``,
    ``calibration.png`` (training weighting) and, for the network, ``history.png``.
    Returns ``{name: path}``.
    """
    import matplotlib.pyplot as plt

    from rediscovery.core.plotting import savefig
    from rediscovery.higgs.classifiers.base import training_weights

    d = Path(out)
    sc = result.scores
    tr, te = sc[sc["Set"] == "train"], sc[sc["Set"] == "test"]
    test = (te["score"], te["Weight"], te["Label"])
    paths: dict[str, Path] = {}
    fig, ax = plt.subplots()
    plot_roc({f"{result.metrics['model']} (test)": test}, ax=ax)
    paths["roc"] = savefig(fig, d / "roc.png")
    fig, ax = plt.subplots()
    plot_score_distributions((tr["score"], tr["Weight"], tr["Label"]), test, ax=ax)
    paths["scores"] = savefig(fig, d / "scores.png")
    fig, ax = plt.subplots()
    plot_ams_curve(*test, ax=ax)
    paths["ams"] = savefig(fig, d / "ams.png")
    fig, ax = plt.subplots()
    cw = training_weights(te["Label"].to_numpy(), te["Weight"].to_numpy(),
                          balance_classes=result.metrics["balance_classes"])
    plot_calibration(te["score"], cw, te["Label"], ax=ax)
    paths["calibration"] = savefig(fig, d / "calibration.png")
    history = result.model.training_info_.get("history")
    if history:
        fig, ax = plt.subplots()
        plot_training_history(history, ax=ax)
        paths["history"] = savefig(fig, d / "history.png")
    return paths
