"""Unsupervised exploration of an events table: PCA, t-SNE, UMAP, k-means and HDBSCAN.

What it computes (:func:`explore_events`):

* **Features.** By default the ``PRI_``, ``DER_`` and ``NEW_`` columns present, without the
  azimuthal angles ``*_phi`` (the physics is invariant under a common rotation in φ, so an
  absolute azimuth only adds noise) and without columns that are constant or never defined.
  Non-negative columns with a long right tail (sample skewness > :data:`LOG_SKEWNESS`, e.g.
  transverse momenta, ``PRI_met_sumet``, masses) are replaced by log(1 + x): otherwise a few
  hard events dominate the variance.
* **Standardisation and undefined values.** Each feature is centred and scaled with the mean
  and standard deviation of its *defined* values; an undefined value (NaN: the jet columns
  without jets, ``DER_mass_MMC`` without a solution) is then set to 0, the mean. The jet
  multiplicity itself stays a feature (``PRI_jet_num``), so events without jets are still told
  apart. Event weights are not used: every event counts once.
* **PCA** on all events (scikit-learn, full SVD): explained-variance ratios and loadings
  (components × features).
* On a seeded random **subsample** of ``n_sample`` events: the t-SNE (van der Maaten & Hinton,
  JMLR 9 (2008) 2579) and UMAP (McInnes, Healy & Melville, arXiv:1802.03426) embeddings in 2-D,
  k-means (k = the number of processes present, or ``n_clusters``) and HDBSCAN (Campello,
  Moulavi & Sander, PAKDD 2013; scikit-learn's implementation) clusters in the standardised
  feature space, the silhouette score of each clustering (Rousseeuw, J. Comput. Appl. Math. 20
  (1987) 53; HDBSCAN's noise points left out) and, where the table has ``Process`` (or
  ``Label``), the purity table and the adjusted Rand index of each clustering against it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from rediscovery.core.errors import ConfigError, InputError
from rediscovery.core.progress import progress_bar
from rediscovery.higgs.schema import EVENT_ID, LABEL, PHI_COLUMNS, PROCESS

__all__ = [
    "CLUSTERINGS",
    "EMBEDDINGS",
    "LOG_SKEWNESS",
    "MIN_SAMPLE",
    "ExploreConfig",
    "ExploreResult",
    "FeatureMatrix",
    "class_labels",
    "explore_events",
    "feature_matrix",
    "purity_table",
    "select_features",
    "silhouette",
]

log = logging.getLogger(__name__)

Array = NDArray[np.float64]

#: A non-negative feature whose sample skewness exceeds this is log(1 + x) transformed.
LOG_SKEWNESS = 2.0
#: Fewest events a subsample may hold (t-SNE, HDBSCAN and the silhouette need a few).
MIN_SAMPLE = 10
#: The 2-D embeddings, in the order of the plots.
EMBEDDINGS: tuple[str, ...] = ("pca", "tsne", "umap")
#: The clusterings, in the order of the tables.
CLUSTERINGS: tuple[str, ...] = ("kmeans", "hdbscan")
#: Label of HDBSCAN's noise points (scikit-learn's convention).
NOISE = -1


@dataclass(frozen=True)
class ExploreConfig:
    """Settings of :func:`explore_events`.

    Attributes
    ----------
    n_sample
        Events in the subsample for the embeddings and clusterings (seeded, without
        replacement; all events when the table is smaller). The default keeps
        ``rediscovery higgs explore`` of 100k events under 2 minutes on 2 cores.
    n_clusters
        k of k-means; ``None``: the number of classes (processes) present, or 5 without labels.
    min_cluster_size
        HDBSCAN's smallest cluster; ``None``: max(10, n_sample // 100).
    perplexity
        t-SNE perplexity (capped below the subsample size).
    tsne_iter
        t-SNE gradient-descent iterations (the first 250 with early exaggeration); half
        scikit-learn's default of 1000, which halves the slowest step at the default size.
    n_neighbors, min_dist
        UMAP's neighbourhood size and minimum distance in the embedding.
    tsne, umap
        Compute these embeddings (the slow steps).
    log_transform
        log(1 + x) of non-negative, long-tailed features (see :data:`LOG_SKEWNESS`).
    seed
        Seed of the subsample, k-means, t-SNE and UMAP.
    """

    n_sample: int = 2000
    n_clusters: int | None = None
    min_cluster_size: int | None = None
    perplexity: float = 30.0
    tsne_iter: int = 500
    n_neighbors: int = 15
    min_dist: float = 0.1
    tsne: bool = True
    umap: bool = True
    log_transform: bool = True
    seed: int = 2019

    def __post_init__(self) -> None:
        if self.n_sample < MIN_SAMPLE:
            raise ConfigError(f"n_sample {self.n_sample}: expected at least {MIN_SAMPLE} events")
        if self.n_clusters is not None and self.n_clusters < 2:
            raise ConfigError(f"n_clusters {self.n_clusters}: expected at least 2 clusters")
        if self.min_cluster_size is not None and self.min_cluster_size < 2:
            raise ConfigError(f"min_cluster_size {self.min_cluster_size}: expected >= 2")
        if self.tsne_iter < 250:
            raise ConfigError(f"tsne_iter {self.tsne_iter}: expected at least 250 iterations")
        if not self.perplexity > 0:
            raise ConfigError(f"perplexity {self.perplexity}: expected a positive number")
        if self.n_neighbors < 2:
            raise ConfigError(f"n_neighbors {self.n_neighbors}: expected >= 2")
        if not 0 <= self.min_dist <= 1:
            raise ConfigError(f"min_dist {self.min_dist}: expected a number in [0, 1]")


@dataclass
class FeatureMatrix:
    """Standardised features (:func:`feature_matrix`).

    Attributes
    ----------
    x
        (n_events, n_features) standardised values, undefined values at 0.
    features
        The column names of ``x``.
    mean, scale
        Per feature, the mean and standard deviation of the defined (transformed) values.
    log_features
        Features that were log(1 + x) transformed before standardising.
    dropped
        Requested features left out, with the reason.
    nan_fraction
        Per feature, the fraction of undefined values (set to 0).
    """

    x: Array
    features: list[str]
    mean: Array
    scale: Array
    log_features: list[str]
    dropped: dict[str, str]
    nan_fraction: dict[str, float]


@dataclass
class ExploreResult:
    """Outcome of :func:`explore_events`.

    Attributes
    ----------
    explained_variance_ratio
        PCA: the fraction of the total variance along each component (all events).
    loadings
        PCA components: rows ``PC1…``, columns the features.
    sample
        One row per subsampled event: ``EventId`` (if present), ``class`` (process or label,
        if present), ``pca_1, pca_2, tsne_1, tsne_2, umap_1, umap_2`` (those computed),
        ``kmeans``, ``hdbscan`` (cluster numbers; -1 = HDBSCAN noise).
    purity
        One row per (clustering, cluster): ``clustering, cluster, n_events``, the fraction of
        each class, ``majority`` and ``purity`` (the majority's fraction); only the first three
        columns without classes.
    summary
        Headline numbers for ``explore.json``: silhouettes (``None`` when a clustering has
        fewer than 2 clusters), cluster sizes, adjusted Rand indices, features, settings,
        timings.
    """

    explained_variance_ratio: Array
    loadings: pd.DataFrame
    sample: pd.DataFrame
    purity: pd.DataFrame
    summary: dict[str, Any] = field(default_factory=dict)


# ---------------------------------------------------------------------------------------------
# features
# ---------------------------------------------------------------------------------------------
def select_features(df: pd.DataFrame, features: Sequence[str] | None = None) -> list[str]:
    """The feature columns to explore.

    Parameters
    ----------
    df
        Events table.
    features
        Explicit column names (any numeric columns); ``None``: every ``PRI_``, ``DER_`` and
        ``NEW_`` column except the azimuthal angles (:data:`rediscovery.higgs.schema.PHI_COLUMNS`
        and any other ``*_phi``).

    Raises
    ------
    InputError
        A requested column is missing or not numeric, or no feature column is found.
    """
    if features is not None:
        cols = list(dict.fromkeys(features))
        for c in cols:
            if c not in df.columns:
                raise InputError(
                    "feature not in the events table; expected one of "
                    f"{', '.join(map(str, df.columns[:40]))}",
                    column=c,
                )
            if not pd.api.types.is_numeric_dtype(df[c]) or pd.api.types.is_bool_dtype(df[c]):
                raise InputError(f"feature is not numeric (dtype {df[c].dtype})", column=c)
    else:
        cols = [
            c
            for c in df.columns
            if isinstance(c, str)
            and c.startswith(("PRI_", "DER_", "NEW_"))
            and not (c in PHI_COLUMNS or c.endswith("_phi"))
            and pd.api.types.is_numeric_dtype(df[c])
            and not pd.api.types.is_bool_dtype(df[c])
        ]
    if not cols:
        raise InputError(
            "no numeric feature columns: expected PRI_, DER_ or NEW_ columns "
            "(or name the columns to use)"
        )
    return cols


def _finite_or_none(value: float) -> float | None:
    """``value``, or ``None`` (JSON null) when it is NaN (e.g. a silhouette of < 2 clusters)."""
    return value if np.isfinite(value) else None


def _skewness(v: Array) -> float:
    sd = v.std()
    return float(np.mean(((v - v.mean()) / sd) ** 3)) if sd > 0 else 0.0


def feature_matrix(
    df: pd.DataFrame, features: Sequence[str] | None = None, *, log_transform: bool = True
) -> FeatureMatrix:
    """Transform and standardise the features of ``df`` (see the module docstring).

    Parameters
    ----------
    df
        Events table (NaN = undefined).
    features
        Passed to :func:`select_features`.
    log_transform
        log(1 + x) of non-negative features with skewness > :data:`LOG_SKEWNESS`.

    Raises
    ------
    InputError
        No usable feature is left (every one constant or undefined), or a feature holds ±inf.
    """
    cols = select_features(df, features)
    raw = df[cols].to_numpy(dtype=np.float64)
    if np.isinf(raw).any():
        bad = cols[int(np.argmax(np.isinf(raw).any(axis=0)))]
        raise InputError(
            "holds infinite values; expected finite numbers or NaN (undefined)", column=bad
        )
    defined = ~np.isnan(raw)
    keep, dropped, logs = [], {}, []
    cols_out, means, scales = [], [], []
    for j, c in enumerate(cols):
        v = raw[defined[:, j], j]
        if v.size == 0:
            dropped[c] = "never defined"
            continue
        if log_transform and v.min() >= 0 and _skewness(v) > LOG_SKEWNESS:
            v = np.log1p(v)
            logs.append(c)
        sd = float(v.std())
        if not sd > 0:
            dropped[c] = "constant"
            continue
        keep.append(j)
        cols_out.append(c)
        means.append(float(v.mean()))
        scales.append(sd)
    if not keep:
        raise InputError(
            f"no usable feature: every candidate is constant or undefined "
            f"({', '.join(f'{k} ({v})' for k, v in list(dropped.items())[:5])})"
        )
    x = raw[:, keep]
    lg = np.isin(cols_out, logs)
    x[:, lg] = np.log1p(x[:, lg])
    mean, scale = np.array(means), np.array(scales)
    z = (x - mean) / scale
    nan = np.isnan(z)
    z[nan] = 0.0
    return FeatureMatrix(
        x=z,
        features=cols_out,
        mean=mean,
        scale=scale,
        log_features=logs,
        dropped=dropped,
        nan_fraction={c: float(f) for c, f in zip(cols_out, nan.mean(axis=0), strict=True)},
    )


def class_labels(df: pd.DataFrame) -> pd.Series | None:
    """The known class of each event: ``Process`` if present, else ``Label`` as
    ``"signal"``/``"background"``, else ``None`` (pseudo-data)."""
    if PROCESS in df.columns:
        return df[PROCESS].astype(str).rename("class")
    if LABEL in df.columns:
        return pd.Series(
            np.where(df[LABEL].to_numpy() == 1, "signal", "background"),
            index=df.index,
            name="class",
        )
    return None


# ---------------------------------------------------------------------------------------------
# cluster summaries
# ---------------------------------------------------------------------------------------------
def silhouette(
    x: Array, labels: NDArray[np.int64], *, ignore: int | None = NOISE, chunk: int = 1024
) -> float:
    """Mean silhouette coefficient s = (b - a) / max(a, b) over the points (Euclidean).

    a is a point's mean distance to the other points of its cluster, b the smallest mean
    distance to the points of another cluster (Rousseeuw 1987); a point alone in its cluster
    has s = 0. Computed in blocks of ``chunk`` rows, memory O(chunk × n).

    Parameters
    ----------
    x
        (n, d) coordinates.
    labels
        (n,) cluster numbers.
    ignore
        Points with this label (HDBSCAN noise, -1) are left out; ``None`` keeps all.

    Returns
    -------
    float
        The mean silhouette, or NaN when fewer than 2 clusters (or fewer than 3 points) remain.
    """
    x = np.asarray(x, dtype=np.float64)
    labels = np.asarray(labels)
    if ignore is not None:
        keep = labels != ignore
        x, labels = x[keep], labels[keep]
    uniq, inv = np.unique(labels, return_inverse=True)
    n, k = len(labels), len(uniq)
    if k < 2 or n < 3 or k >= n:
        return float("nan")
    counts = np.bincount(inv, minlength=k).astype(np.float64)
    onehot = np.zeros((n, k))
    onehot[np.arange(n), inv] = 1.0
    sq = np.einsum("ij,ij->i", x, x)
    s = np.empty(n)
    for start in range(0, n, chunk):
        stop = min(start + chunk, n)
        d2 = sq[start:stop, None] + sq[None, :] - 2.0 * x[start:stop] @ x.T
        d = np.sqrt(np.maximum(d2, 0.0))
        d[np.arange(stop - start), np.arange(start, stop)] = 0.0
        sums = d @ onehot  # (block, k): summed distance to each cluster
        own = inv[start:stop]
        rows = np.arange(stop - start)
        n_own = counts[own] - 1.0
        a = np.divide(sums[rows, own], n_own, out=np.zeros(stop - start), where=n_own > 0)
        mean_other = sums / counts
        mean_other[rows, own] = np.inf
        b = mean_other.min(axis=1)
        denom = np.maximum(a, b)
        s[start:stop] = np.where(
            n_own > 0, np.divide(b - a, denom, out=np.zeros_like(a), where=denom > 0), 0.0
        )
    return float(s.mean())


def purity_table(clusters: Any, classes: Any | None, *, clustering: str = "") -> pd.DataFrame:
    """Which classes each cluster holds.

    Parameters
    ----------
    clusters
        (n,) cluster number of each event.
    classes
        (n,) class (process) of each event, or ``None``.
    clustering
        Name written in the ``clustering`` column.

    Returns
    -------
    DataFrame
        One row per cluster (ascending): ``clustering, cluster, n_events``; with classes also
        one column per class (sorted) with its fraction of the cluster's events (each row sums
        to 1), ``majority`` (the most frequent class) and ``purity`` (its fraction).
    """
    c = pd.Series(np.asarray(clusters), name="cluster")
    if classes is None:
        sizes = c.value_counts().sort_index()
        return pd.DataFrame(
            {
                "clustering": clustering,
                "cluster": sizes.index.astype(int),
                "n_events": sizes.to_numpy(),
            }
        )
    cls = pd.Series(np.asarray(classes).astype(str), name="class")
    if len(cls) != len(c):
        raise InputError(f"{len(c)} cluster labels but {len(cls)} classes", column="class")
    counts = pd.crosstab(c, cls).sort_index()
    counts = counts[sorted(counts.columns)]
    n = counts.sum(axis=1)
    frac = counts.div(n, axis=0)
    out = frac.reset_index(drop=True)
    out.insert(0, "n_events", n.to_numpy())
    out.insert(0, "cluster", counts.index.astype(int))
    out.insert(0, "clustering", clustering)
    out["majority"] = frac.idxmax(axis=1).to_numpy()
    out["purity"] = frac.max(axis=1).to_numpy()
    out.columns.name = None
    return out


# ---------------------------------------------------------------------------------------------
# the exploration
# ---------------------------------------------------------------------------------------------
def explore_events(
    df: pd.DataFrame,
    config: ExploreConfig | None = None,
    *,
    features: Sequence[str] | None = None,
    progress: bool = True,
) -> ExploreResult:
    """PCA of all events; t-SNE, UMAP, k-means and HDBSCAN on a subsample (module docstring).

    Parameters
    ----------
    df
        Events table (any table :func:`rediscovery.higgs.events.io.read_events` returns, or a
        DataFrame with numeric feature columns); ``Process`` or ``Label`` colour the plots and
        fill the purity table when present.
    config
        :class:`ExploreConfig` (default: 2000 sampled events, seed 2019).
    features
        Columns to use (:func:`select_features`; default PRI_/DER_/NEW_ without φ).
    progress
        Show a progress bar over the steps.

    Returns
    -------
    ExploreResult

    Raises
    ------
    InputError
        Fewer than :data:`MIN_SAMPLE` events, or no usable numeric feature.
    """
    from sklearn.cluster import HDBSCAN, KMeans
    from sklearn.decomposition import PCA
    from sklearn.metrics import adjusted_rand_score

    cfg = config or ExploreConfig()
    t0 = time.perf_counter()
    if len(df) < MIN_SAMPLE:
        raise InputError(f"{len(df)} events; expected at least {MIN_SAMPLE} to explore")
    fm = feature_matrix(df, features, log_transform=cfg.log_transform)
    classes_all = class_labels(df)
    rng = np.random.default_rng(cfg.seed)
    n = min(cfg.n_sample, len(df))
    idx = np.sort(rng.choice(len(df), size=n, replace=False)) if n < len(df) else np.arange(len(df))
    xs = fm.x[idx]
    classes = None if classes_all is None else classes_all.to_numpy()[idx]
    n_classes = None if classes is None else len(np.unique(classes))
    k = cfg.n_clusters or (n_classes if n_classes and n_classes >= 2 else 5)
    k = min(k, n - 1)
    mcs = cfg.min_cluster_size or max(10, n // 100)
    mcs = min(mcs, n)
    seconds: dict[str, float] = {}
    steps = [
        "pca",
        "kmeans",
        "hdbscan",
        *(["tsne"] if cfg.tsne else []),
        *(["umap"] if cfg.umap else []),
        "silhouette",
    ]
    sample = pd.DataFrame(index=np.arange(n))
    if EVENT_ID in df.columns:
        sample[EVENT_ID] = df[EVENT_ID].to_numpy()[idx]
    if classes is not None:
        sample["class"] = classes
    with progress_bar(enabled=progress) as bar:
        task = bar.add_task("explore", total=len(steps))

        def done(step: str, t: float) -> None:
            seconds[step] = time.perf_counter() - t
            log.info("explore: %s in %.1f s", step, seconds[step])
            bar.advance(task)

        t = time.perf_counter()
        pca = PCA(svd_solver="full").fit(fm.x)
        evr = pca.explained_variance_ratio_.astype(np.float64)
        loadings = pd.DataFrame(
            pca.components_, columns=fm.features, index=[f"PC{i + 1}" for i in range(len(evr))]
        )
        proj = pca.transform(xs)
        sample["pca_1"] = proj[:, 0]
        sample["pca_2"] = proj[:, 1] if proj.shape[1] > 1 else 0.0
        done("pca", t)

        t = time.perf_counter()
        km = KMeans(n_clusters=k, n_init=4, random_state=cfg.seed).fit(xs)
        sample["kmeans"] = km.labels_.astype(np.int64)
        done("kmeans", t)

        t = time.perf_counter()
        hd = HDBSCAN(min_cluster_size=mcs, copy=True).fit(xs)
        sample["hdbscan"] = hd.labels_.astype(np.int64)
        done("hdbscan", t)

        if cfg.tsne:
            from sklearn.manifold import TSNE

            t = time.perf_counter()
            perp = min(cfg.perplexity, (n - 1) / 3.0)
            emb = TSNE(
                n_components=2,
                perplexity=perp,
                init="pca",
                max_iter=cfg.tsne_iter,
                random_state=cfg.seed,
            ).fit_transform(xs)
            sample["tsne_1"], sample["tsne_2"] = emb[:, 0], emb[:, 1]
            done("tsne", t)
        if cfg.umap:
            import warnings

            t = time.perf_counter()
            with warnings.catch_warnings():
                # umap warns that a fixed random_state disables its parallel optimisation
                # (chosen: reproducible embeddings) and about scikit-learn renames it follows
                warnings.simplefilter("ignore", UserWarning)
                warnings.simplefilter("ignore", FutureWarning)
                warnings.simplefilter("ignore", DeprecationWarning)
                warnings.simplefilter("ignore", ImportWarning)  # no TensorFlow: no parametric UMAP
                import umap

                emb = umap.UMAP(
                    n_components=2,
                    n_neighbors=min(cfg.n_neighbors, n - 1),
                    min_dist=cfg.min_dist,
                    random_state=cfg.seed,
                    n_jobs=1,
                ).fit_transform(xs)
            sample["umap_1"], sample["umap_2"] = emb[:, 0], emb[:, 1]
            done("umap", t)

        t = time.perf_counter()
        summary_clusters: dict[str, Any] = {}
        purity_parts = []
        for name in CLUSTERINGS:
            lab = sample[name].to_numpy()
            sizes = pd.Series(lab).value_counts().sort_index()
            entry: dict[str, Any] = {
                "n_clusters": int(np.sum(sizes.index != NOISE)),
                "sizes": {str(int(c)): int(s) for c, s in sizes.items()},
                "silhouette": _finite_or_none(
                    silhouette(xs, lab, ignore=NOISE if name == "hdbscan" else None)
                ),
            }
            if name == "hdbscan":
                entry["noise_fraction"] = float(np.mean(lab == NOISE))
            if classes is not None:
                entry["adjusted_rand_index"] = float(adjusted_rand_score(classes, lab))
            summary_clusters[name] = entry
            purity_parts.append(purity_table(lab, classes, clustering=name))
        done("silhouette", t)
    purity = pd.concat(purity_parts, ignore_index=True)
    if classes is not None:
        cls_cols = sorted(set(np.asarray(classes).astype(str)))
        purity[cls_cols] = purity[cls_cols].fillna(0.0)
    summary: dict[str, Any] = {
        "n_events": len(df),
        "n_sample": n,
        "features": fm.features,
        "log_features": fm.log_features,
        "dropped_features": fm.dropped,
        "undefined_fraction": fm.nan_fraction,
        "undefined_values": "standardised with the defined values' mean and std, then set to 0",
        "classes": None
        if classes is None
        else {str(c): int(v) for c, v in pd.Series(classes).value_counts().sort_index().items()},
        "pca": {
            "explained_variance_ratio": evr.tolist(),
            "cumulative": np.cumsum(evr).tolist(),
            "n_components_90": int(np.searchsorted(np.cumsum(evr), 0.9) + 1),
        },
        "clusters": summary_clusters,
        "settings": {**asdict(cfg), "n_clusters_used": int(k), "min_cluster_size_used": int(mcs)},
        "seconds": {**seconds, "total": time.perf_counter() - t0},
    }
    log.info(
        "explore: %d of %d events, %d features, %.0f s",
        n,
        len(df),
        len(fm.features),
        summary["seconds"]["total"],
    )
    return ExploreResult(
        explained_variance_ratio=evr,
        loadings=loadings,
        sample=sample,
        purity=purity,
        summary=summary,
    )
