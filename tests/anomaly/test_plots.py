"""The anomaly plots draw the given scores (read back from the axes)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from rediscovery.anomaly.plots import plot_score_distribution


def test_score_histogram_and_percentile_line():
    s = np.linspace(0.3, 0.8, 1000)
    ax = plot_score_distribution(s, bins=10)
    counts = ax.patches[0].get_xy()[1:-1:2, 1]  # step outline: one height per bin
    np.testing.assert_allclose(counts, np.histogram(s, bins=10)[0])
    assert ax.get_lines()[0].get_xdata()[0] == np.quantile(s, 0.99)
    assert ax.get_yscale() == "log"
    plt.close("all")
