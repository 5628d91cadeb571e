"""Plots of the exploration: PCA spectrum and loadings, 2-D embeddings coloured by class/cluster.

matplotlib is imported inside the functions; each takes ``ax=None`` and returns the axes.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

__all__ = ["plot_embedding", "plot_explained_variance", "plot_loadings", "plot_purity"]

#: Most categories drawn with their own legend entry; the rest share one grey entry.
_MAX_LEGEND = 12


def plot_explained_variance(ratio: Any, *, ax: Any = None) -> Any:
    """PCA explained-variance ratio per component (bars) and its cumulative sum (line).

    Parameters
    ----------
    ratio
        Fractions of the total variance, in component order
        (:attr:`~rediscovery.higgs.explore.exploration.ExploreResult.explained_variance_ratio`).
    """
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(6.4, 4.8))
    r = np.asarray(ratio, dtype=float)
    comp = np.arange(1, r.size + 1)
    ax.bar(comp, r, color="C0", label="per component")
    ax.plot(comp, np.cumsum(r), "o-", color="C3", ms=3, label="cumulative")
    ax.axhline(0.9, color="grey", lw=0.8, ls=":")
    ax.set_xlabel("principal component")
    ax.set_ylabel("fraction of the variance (standardised features)")
    ax.set_ylim(0, 1.02)
    ax.legend(fontsize=8)
    return ax


def plot_loadings(loadings: pd.DataFrame, *, n_components: int = 6, ax: Any = None) -> Any:
    """Heat map of the PCA loadings: features (rows) × the first ``n_components`` components.

    Parameters
    ----------
    loadings
        Components × features (:attr:`ExploreResult.loadings`).
    """
    import matplotlib.pyplot as plt

    load = loadings.iloc[:n_components].T
    if ax is None:
        _, ax = plt.subplots(figsize=(1.0 + 0.9 * load.shape[1], 1.2 + 0.3 * load.shape[0]))
    im = ax.imshow(load.to_numpy(), cmap="RdBu_r", vmin=-1, vmax=1, aspect="auto")
    ax.set_xticks(np.arange(load.shape[1]), load.columns)
    ax.set_yticks(np.arange(load.shape[0]), load.index, fontsize=7)
    ax.set_xlabel("principal component")
    ax.figure.colorbar(im, ax=ax, label="loading")
    return ax


def plot_embedding(
    xy: Any,
    labels: Any,
    *,
    ax: Any = None,
    title: str = "",
    axis_names: tuple[str, str] = ("1", "2"),
    legend_title: str = "",
    caption: str = "",
) -> Any:
    """Scatter of a 2-D embedding, one colour per category (cluster or class).

    Parameters
    ----------
    xy
        (n, 2) coordinates.
    labels
        (n,) category of each point; -1 (HDBSCAN noise) is drawn in light grey.
    title, axis_names, legend_title
        Texts of the axes (axis labels: ``title`` followed by each of ``axis_names``).
    caption
        Title above the axes (default ``title``).
    """
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(5.5, 5.0))
    xy = np.asarray(xy, dtype=float)
    lab = pd.Series(np.asarray(labels))
    counts = lab.value_counts()
    cats = sorted(counts.index, key=lambda c: (str(c) in ("-1",), str(c)))
    shown = list(counts.index[:_MAX_LEGEND])
    cmap = plt.get_cmap("tab10" if len(shown) <= 10 else "tab20")
    colour_i = 0
    for c in cats:
        sel = (lab == c).to_numpy()
        kw: dict[str, Any]
        if str(c) == "-1":
            kw = {"color": "lightgrey", "label": "noise"}
        elif c in shown:
            kw = {"color": cmap(colour_i % cmap.N), "label": str(c)}
            colour_i += 1
        else:
            kw = {"color": "grey", "label": None}
        ax.scatter(xy[sel, 0], xy[sel, 1], s=3, alpha=0.6, linewidths=0, **kw)
    ax.set_title(caption or title, fontsize=10)
    ax.set_xlabel(f"{title} {axis_names[0]}".strip())
    ax.set_ylabel(f"{title} {axis_names[1]}".strip())
    ax.legend(title=legend_title or None, fontsize=7, markerscale=3, loc="best")
    return ax


def plot_purity(purity: pd.DataFrame, clustering: str, *, ax: Any = None) -> Any:
    """Stacked bars: the class fractions of each cluster of one clustering.

    Parameters
    ----------
    purity
        :attr:`ExploreResult.purity` (with class columns).
    clustering
        ``"kmeans"`` or ``"hdbscan"``.
    """
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(6.4, 4.8))
    rows = purity[purity["clustering"] == clustering]
    fixed = {"clustering", "cluster", "n_events", "majority", "purity"}
    classes = [c for c in purity.columns if c not in fixed]
    pos = np.arange(len(rows))
    bottom = np.zeros(len(rows))
    for i, c in enumerate(classes):
        v = rows[c].fillna(0.0).to_numpy()
        ax.bar(pos, v, bottom=bottom, color=plt.get_cmap("tab10")(i % 10), label=c)
        bottom += v
    ax.set_xticks(
        pos,
        [
            f"{int(k)}\n({int(n)})" if k != -1 else f"noise\n({int(n)})"
            for k, n in zip(rows["cluster"], rows["n_events"], strict=True)
        ],
        fontsize=7,
    )
    ax.set_xlabel(f"{clustering} cluster (events)")
    ax.set_ylabel("fraction of the cluster's events")
    ax.set_ylim(0, 1)
    ax.legend(fontsize=7)
    return ax


def write_figures(result: Any, out: Any) -> list[Any]:
    """Draw and save the exploration's figures in the folder ``out``; returns their paths.

    ``pca_variance.png`` (spectrum), ``pca_loadings.png``, ``embeddings.png`` (rows: PCA, t-SNE,
    UMAP as computed; columns: coloured by class when known, by k-means, by HDBSCAN) and
    ``purity.png`` (class fractions per cluster, when classes are known).

    Parameters
    ----------
    result
        An :class:`~rediscovery.higgs.explore.exploration.ExploreResult`.
    out
        Existing folder.
    """
    from pathlib import Path

    import matplotlib.pyplot as plt

    from rediscovery.core.plotting import savefig

    out = Path(out)
    paths = []
    fig, ax = plt.subplots(figsize=(6.4, 4.8))
    plot_explained_variance(result.explained_variance_ratio, ax=ax)
    paths.append(savefig(fig, out / "pca_variance.png"))

    n_feat = result.loadings.shape[1]
    fig, ax = plt.subplots(figsize=(7.5, 1.5 + 0.3 * n_feat))
    plot_loadings(result.loadings, ax=ax)
    paths.append(savefig(fig, out / "pca_loadings.png"))

    s = result.sample
    names = {"pca": "PCA", "tsne": "t-SNE", "umap": "UMAP"}
    rows = [e for e in names if f"{e}_1" in s.columns]
    colourings = [c for c in ("class", "kmeans", "hdbscan") if c in s.columns]
    titles = {"class": "process / label", "kmeans": "k-means cluster", "hdbscan": "HDBSCAN cluster"}
    fig, axes = plt.subplots(
        len(rows),
        len(colourings),
        squeeze=False,
        figsize=(4.6 * len(colourings), 4.3 * len(rows)),
        layout="constrained",
    )
    for i, emb in enumerate(rows):
        for j, col in enumerate(colourings):
            plot_embedding(
                s[[f"{emb}_1", f"{emb}_2"]].to_numpy(),
                s[col],
                ax=axes[i, j],
                title=names[emb],
                legend_title=titles[col],
                caption=f"{names[emb]}, coloured by {titles[col]}",
            )
    fig.suptitle(f"{len(s)} sampled events")
    paths.append(savefig(fig, out / "embeddings.png"))

    p = result.purity
    if "purity" in p.columns:
        groups = list(dict.fromkeys(p["clustering"]))
        fig, axes = plt.subplots(1, len(groups), squeeze=False, figsize=(6.4 * len(groups), 4.8))
        for ax, g in zip(axes[0], groups, strict=True):
            plot_purity(p, g, ax=ax)
        paths.append(savefig(fig, out / "purity.png"))
    return paths
