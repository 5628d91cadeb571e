"""The detection plots draw the given data: values read back from the returned figures."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from rediscovery.cosmo.sn.detect.plots import cutout, plot_cutouts, plot_efficiency


def test_cutout_grid_shows_the_stamps_and_labels():
    rng = np.random.default_rng(0)
    imgs = [rng.normal(size=(64, 64)) for _ in range(4)]
    cands = pd.DataFrame({"x": [10.2, 40.0], "y": [20.0, 60.4], "ra": [150.1, 150.2],
                          "dec": [2.1, -2.2], "max_significance": [7.5, 12.0]})
    fig = plot_cutouts(*imgs, cands, size=15)
    axes = np.array(fig.axes).reshape(2, 4)
    for col in range(4):
        np.testing.assert_array_equal(axes[0, col].images[0].get_array().filled(np.nan),
                                      cutout(imgs[col], 10.2, 20.0, 15))
    # the second candidate is 3 px from the top edge: the stamp is padded with NaN
    assert np.isnan(axes[1, 0].images[0].get_array().filled(np.nan)[-4:]).all()
    assert "x=10.2 y=20.0" in axes[0, 0].get_ylabel()
    assert "dec=-2.20000" in axes[1, 0].get_ylabel() and "12.0 σ" in axes[1, 0].get_ylabel()
    assert [a.get_title() for a in axes[0]] == ["new", "reference", "difference", "score [σ]"]
    plt.close(fig)


def test_efficiency_curve_draws_each_method():
    ax = plot_efficiency([4, 6, 10], {"ZOGY": [0.2, 0.8, 1.0], "AL": [0.1, 0.7, 1.0]},
                         n_injected=100, threshold=5.0)
    lines = ax.get_lines()
    ys = [list(line.get_ydata()) for line in lines if len(line.get_ydata()) == 3]
    assert [0.2, 0.8, 1.0] in ys and [0.1, 0.7, 1.0] in ys
    labels = ax.get_legend_handles_labels()[1]
    assert sorted(labels) == ["AL", "ZOGY", "ideal matched filter, 5 σ"]
    plt.close(ax.figure)
