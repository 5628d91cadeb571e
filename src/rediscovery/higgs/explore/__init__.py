"""Exploration, owned by the unsupervised-learning team: PCA, t-SNE, UMAP, k-means, HDBSCAN.
Reads: an events table (any file :func:`rediscovery.higgs.events.io.read_events` reads, or a
DataFrame with numeric PRI_/DER_/NEW_ columns; ``Process``/``Label`` when present).
Writes: ``explore.json`` (explained variance, silhouettes, cluster sizes, settings),
``purity.csv``, ``pca.csv``, ``loadings.csv``, ``sample.csv`` and PNG plots
(``rediscovery higgs explore``).
"""

from __future__ import annotations

from rediscovery.higgs.explore.exploration import (
    ExploreConfig,
    ExploreResult,
    FeatureMatrix,
    class_labels,
    explore_events,
    feature_matrix,
    purity_table,
    select_features,
    silhouette,
)
from rediscovery.higgs.explore.io import write_exploration

__all__ = [
    "ExploreConfig",
    "ExploreResult",
    "FeatureMatrix",
    "class_labels",
    "explore_events",
    "feature_matrix",
    "purity_table",
    "select_features",
    "silhouette",
    "write_exploration",
]
