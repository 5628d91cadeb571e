"""The exploration plots draw the given numbers (read back from the axes)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from rediscovery.higgs.explore.plots import (
    plot_embedding,
    plot_explained_variance,
    plot_loadings,
    plot_purity,
)


def test_explained_variance_bars_and_cumulative_line():
    ratio = np.array([0.5, 0.3, 0.2])
    ax = plot_explained_variance(ratio)
    np.testing.assert_allclose([p.get_height() for p in ax.patches], ratio)
    np.testing.assert_allclose(ax.get_lines()[0].get_ydata(), [0.5, 0.8, 1.0])
    assert ax.get_xlabel() == "principal component"
    plt.close("all")


def test_loadings_heat_map_shows_features_by_components():
    load = pd.DataFrame([[0.6, -0.8], [0.8, 0.6]], index=["PC1", "PC2"], columns=["a", "b"])
    ax = plot_loadings(load)
    np.testing.assert_allclose(ax.images[0].get_array(), load.T.to_numpy())
    assert [t.get_text() for t in ax.get_yticklabels()] == ["a", "b"]
    plt.close("all")


def test_embedding_draws_one_group_per_category_and_noise_in_grey():
    xy = np.arange(12, dtype=float).reshape(6, 2)
    ax = plot_embedding(xy, [0, 0, 1, 1, -1, -1], title="UMAP", legend_title="cluster")
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["0", "1", "noise"]
    np.testing.assert_allclose(ax.collections[0].get_offsets(), xy[:2])
    np.testing.assert_allclose(ax.collections[2].get_offsets(), xy[4:])
    assert ax.get_xlabel() == "UMAP 1"
    plt.close("all")


def test_purity_bars_stack_the_class_fractions():
    p = pd.DataFrame(
        {
            "clustering": "kmeans",
            "cluster": [0, 1],
            "n_events": [10, 5],
            "a": [0.2, 1.0],
            "b": [0.8, 0.0],
            "majority": ["b", "a"],
            "purity": [0.8, 1.0],
        }
    )
    ax = plot_purity(p, "kmeans")
    np.testing.assert_allclose([r.get_height() for r in ax.patches], [0.2, 1.0, 0.8, 0.0])
    np.testing.assert_allclose([r.get_y() for r in ax.patches], [0, 0, 0.2, 1.0])
    plt.close("all")
