"""The validation plots draw the weighted, normalised distributions they are given."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from rediscovery.higgs.events.plots import plot_feature_comparison


def test_feature_comparison_draws_both_normalised_histograms():
    rng = np.random.default_rng(3)
    sim = pd.DataFrame({"PRI_tau_pt": rng.uniform(20, 150, 500), "Weight": rng.uniform(1, 2, 500)})
    ref = pd.DataFrame({"PRI_tau_pt": rng.uniform(20, 150, 300), "Weight": np.full(300, 0.5)})
    ref.loc[:9, "PRI_tau_pt"] = 500.0  # overflow: drawn in the last bin
    ax = plot_feature_comparison(sim, ref, "PRI_tau_pt", bins=13, ks=0.04)
    edges = np.linspace(20, 150, 14)  # the feature's range from FEATURE_AXIS
    values, stair_edges, _ = ax.patches[0].get_data()
    h, _ = np.histogram(sim["PRI_tau_pt"], edges, weights=sim["Weight"])
    np.testing.assert_allclose(stair_edges, edges)
    np.testing.assert_allclose(values, h / sim["Weight"].sum() / 10.0)  # per GeV, unit area
    points = ax.containers[0].lines[0]
    h, _ = np.histogram(ref["PRI_tau_pt"].clip(20, 150), edges, weights=ref["Weight"])
    np.testing.assert_allclose(points.get_ydata(), h / ref["Weight"].sum() / 10.0)
    assert points.get_ydata()[-1] * 10.0 >= 10 / 300  # the overflow is in the last bin
    assert ax.get_xlabel() == r"$p_T(\tau_h)$ [GeV]" and ax.get_ylabel().endswith("/ GeV")
    assert ax.texts[0].get_text() == "KS = 0.040"
    plt.close("all")
