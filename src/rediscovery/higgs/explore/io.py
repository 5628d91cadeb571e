"""Files of the exploration: ``explore.json``, ``purity.csv``, ``pca.csv``, ``loadings.csv``,
``sample.csv`` (see :func:`write_exploration`)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from rediscovery.core.files import atomic_path, write_json
from rediscovery.higgs.explore.exploration import ExploreResult

__all__ = ["write_exploration"]


def _csv(table: pd.DataFrame, path: Path, *, index: bool = False) -> Path:
    with atomic_path(path) as tmp:
        table.to_csv(tmp, index=index, float_format="%.6g")
    return path


def write_exploration(result: ExploreResult, out: str | os.PathLike[str]) -> list[Path]:
    """Write the tables and the summary of an exploration into the folder ``out`` (created).

    * ``explore.json``: :attr:`ExploreResult.summary` (explained variance, silhouettes, cluster
      sizes, adjusted Rand indices, features, settings, seconds per step);
    * ``purity.csv``: :attr:`ExploreResult.purity` (class fractions per cluster);
    * ``pca.csv``: ``component, explained_variance_ratio, cumulative``;
    * ``loadings.csv``: one row per component, one column per feature;
    * ``sample.csv``: the subsampled events' embeddings and cluster numbers.

    Returns the paths written.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    evr = result.explained_variance_ratio
    pca = pd.DataFrame(
        {
            "component": np.arange(1, evr.size + 1),
            "explained_variance_ratio": evr,
            "cumulative": np.cumsum(evr),
        }
    )
    loadings = result.loadings.rename_axis("component")
    return [
        write_json(out / "explore.json", result.summary),
        _csv(result.purity, out / "purity.csv"),
        _csv(pca, out / "pca.csv"),
        _csv(loadings, out / "loadings.csv", index=True),
        _csv(result.sample, out / "sample.csv"),
    ]
