"""Smoke tests of rediscovery.higgs.systematics.plots (labelled axes, returns the axes)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from rediscovery.higgs.systematics import plots as plots_syst
from rediscovery.higgs.systematics.templates import Templates


def test_plots_draw_with_labels():
    import matplotlib.pyplot as plt

    edges = np.array([0.0, 0.5, 1.0])
    t = Templates(edges=edges, nominal={"signal": np.array([1.0, 2.0])},
                  sumw2={"signal": np.array([0.1, 0.1])},
                  shifted={"tes": {-1.0: {"signal": np.array([1.1, 1.8])},
                                   1.0: {"signal": np.array([0.9, 2.2])}}})
    ax = plots_syst.plot_templates(t, "tes")
    assert "score" in ax.get_xlabel()
    res = {"nuisances": {"tes": {"impact_prefit": [-0.1, 0.12], "impact_postfit": [-0.05, 0.06],
                                 "pull": 0.3, "constraint": 0.5},
                         "jes": {"impact_prefit": [0.01, -0.02], "impact_postfit": [0.01, -0.01],
                                 "pull": -0.1, "constraint": 0.9}}}
    ax = plots_syst.plot_impacts(res)
    assert [t.get_text() for t in ax.get_yticklabels()] == ["jes", "tes"]  # ranked, top last
    table = pd.DataFrame({"mu_true": [1.0, 2.0], "syst_mu_hat": [1.1, 1.7],
                          "syst_lo": [0.8, 1.2], "syst_hi": [1.4, 1.9],
                          "stat_lo": [0.9, 1.5], "stat_hi": [1.3, 1.9]})
    ax = plots_syst.plot_mu_hat_vs_true(table)
    assert ax.get_xlabel() == "true μ"
    ax = plots_syst.plot_interval_widths({"nominal": table})
    assert "width" in ax.get_xlabel()
    plt.close("all")


def test_plots_draw_the_given_numbers():
    import matplotlib.pyplot as plt

    edges = np.array([0.0, 0.5, 1.0])
    t = Templates(edges=edges, nominal={"signal": np.array([1.0, 2.0])},
                  sumw2={"signal": np.array([0.1, 0.1])},
                  shifted={"tes": {-1.0: {"signal": np.array([1.1, 1.8])},
                                   1.0: {"signal": np.array([0.9, 2.2])}}})
    ax = plots_syst.plot_templates(t, "tes")
    ratios = [p.get_data() for p in ax.patches]  # one stairs per α: shifted / nominal
    np.testing.assert_allclose([r.values for r in ratios], [[1.1, 0.9], [0.9, 1.1]])
    np.testing.assert_allclose(ratios[0].edges, edges)
    assert [x.get_text() for x in ax.get_legend().get_texts()] == ["α = -1", "α = +1"]

    table = pd.DataFrame({"mu_true": [1.0, 2.0], "syst_mu_hat": [1.1, 1.7],
                          "syst_lo": [0.8, 1.2], "syst_hi": [1.4, 1.9]})
    ax = plots_syst.plot_mu_hat_vs_true(table)
    covers, misses = (c.lines[0] for c in ax.containers)
    np.testing.assert_allclose(covers.get_xydata(), [[1.0, 1.1]])  # 0.8 ≤ 1 ≤ 1.4
    np.testing.assert_allclose(misses.get_xydata(), [[2.0, 1.7]])  # 1.9 < 2
    ax = plots_syst.plot_interval_widths({"nominal": table}, tags=("syst",))
    assert [x.get_text() for x in ax.get_legend().get_texts()] == ["nominal syst (mean 0.650)"]
    plt.close("all")
