"""The feature plots draw the given curves and histograms (data read back from the axes)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from rediscovery.higgs.features.plots import plot_mass_comparison, plot_selection_curves


def test_selection_curves_draw_each_ranking_and_the_fixed_sets():
    table = pd.DataFrame({
        "method": ["gain", "gain", "random", "random", "set:PRI"],
        "n_features": [2, 1, 1, 2, 17],
        "auc": [0.85, 0.80, 0.60, 0.65, 0.88], "auc_err": [0.01, 0.01, 0.02, 0.02, 0.01],
        "ams": [2.0, 1.5, 0.8, 1.0, 2.2], "ams_err": [0.1, 0.1, 0.1, 0.1, 0.1],
    })
    ax_auc, ax_ams = plot_selection_curves(table)
    gain, random = (c.lines[0] for c in ax_auc.containers)
    np.testing.assert_allclose(gain.get_xydata(), [[1, 0.80], [2, 0.85]])  # sorted by size
    np.testing.assert_allclose(random.get_xydata(), [[1, 0.60], [2, 0.65]])
    np.testing.assert_allclose(ax_ams.containers[0].lines[0].get_ydata().astype(float), [1.5, 2.0])
    assert [ln.get_ydata()[0] for ln in ax_ams.get_lines()[-1:]] == [2.2]  # the PRI set
    assert [t.get_text() for t in ax_auc.get_legend().get_texts()] == ["gain", "random"]
    assert ax_auc.get_ylabel() == "weighted ROC AUC" and "b_reg" in ax_ams.get_ylabel()
    plt.close("all")


def test_mass_comparison_draws_normalised_histograms_of_the_defined_masses():
    rng = np.random.default_rng(0)
    m = rng.normal(120, 20, 200)
    m[:5] = np.nan
    label = np.repeat([0, 1], 100)
    bins = np.arange(0, 300, 10)
    ax = plot_mass_comparison(m, m + 1, label, bins=bins)
    names = [t.get_text() for t in ax.get_legend().get_texts()]
    assert names == ["this MMC, signal", "this MMC, background", "official MMC, signal",
                     "official MMC, background"]
    sig = m[100:]
    density, _ = np.histogram(sig, bins=bins, density=True)
    heights = ax.patches[0].get_xy()[1:-1:2, 1]  # step outline: one height per bin
    np.testing.assert_allclose(heights, density)
    bkg = m[:100][np.isfinite(m[:100])]  # NaN = undefined: left out, not counted
    density, _ = np.histogram(bkg, bins=bins, density=True)
    np.testing.assert_allclose(ax.patches[1].get_xy()[1:-1:2, 1], density)
    assert ax.get_xlabel() == r"$m_{\tau\tau}$ [GeV]"
    plt.close("all")
