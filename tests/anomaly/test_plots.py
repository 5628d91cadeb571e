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


def test_spectrum_draws_counts_fit_and_window():
    from rediscovery.anomaly.bumphunt import BumpHuntConfig, bump_hunt
    from rediscovery.anomaly.plots import plot_spectrum

    rng = np.random.default_rng(0)
    res = bump_hunt(150.0 * (1.0 - rng.random(5000)) ** (-1.0 / 3.0), BumpHuntConfig(n_toys=0))
    ax = plot_spectrum(res)
    points = ax.containers[0].lines[0]
    np.testing.assert_allclose(points.get_ydata(), res.counts)
    w = res.windows.iloc[res.best]
    span = ax.patches[-1]  # the shaded window (a Rectangle in data x)
    assert np.isclose(span.get_x(), w["m_lo"])
    assert np.isclose(span.get_x() + span.get_width(), w["m_hi"])
    assert ax.get_xscale() == "log"
    plt.close("all")
