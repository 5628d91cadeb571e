"""Smoke tests of the statistics plots: they draw, label their axes and return figures."""

from __future__ import annotations

import matplotlib
import numpy as np

from rediscovery.higgs import stats as stat
from rediscovery.higgs.stats import plots as plots_stat

matplotlib.use("Agg")


def _model() -> stat.BinnedModel:
    x = np.linspace(0.1, 0.9, 5)
    return stat.BinnedModel(10 * x**2 + 1, {"a": 100 * (1 - x) + 5, "b": 50 * (1 - x) + 5},
                            background_sumw2={"a": 100 * (1 - x) + 5},
                            systematics=[stat.NormSys("n", {"b": (0.9, 1.1)})],
                            edges=np.linspace(0, 1, 6))


def test_plots_draw() -> None:
    import matplotlib.pyplot as plt

    m = _model()
    obs = np.random.default_rng(0).poisson(m.expected(1.0)).astype(float)
    res = stat.fit(m, obs, limit=False)
    scan = stat.likelihood_scan(m, obs, np.linspace(res.mu_lo - 1, res.mu_hi + 1, 21))
    fig = plots_stat.plot_likelihood_scan(scan)
    assert "mu" in fig.axes[0].get_xlabel()
    fig2 = plots_stat.plot_stacked(m, obs, mu=res.mu_hat, title="post-fit")
    assert len(fig2.axes) == 2 and fig2.axes[1].get_ylabel() == "data / pred."
    fig3 = plots_stat.plot_pulls(res.pulls, res.constraints)
    fig4 = plots_stat.plot_impacts(res.impacts)
    toys = stat.run_toys(m, 1.0, 20, seed=1, n_workers=1, progress=False)
    fig5 = plots_stat.plot_toy_pulls(toys)
    for f in (fig, fig2, fig3, fig4, fig5):
        plt.close(f)


def test_postfit_plot_uses_the_fitted_parameters(monkeypatch) -> None:
    m = _model()
    obs = np.random.default_rng(1).poisson(m.expected(1.5)).astype(float)
    res = stat.fit(m, obs, limit=False)
    seen = {}
    monkeypatch.setattr(plots_stat, "plot_stacked", lambda *a, **kw: seen.update(kw))
    plots_stat.plot_postfit(m, obs, res)
    assert seen["mu"] == res.mu_hat and seen["title"] == "post-fit"
    assert seen["alphas"] == {"n": res.parameters["n"]}
    gammas = [v for k, v in res.parameters.items() if k.startswith("gamma")]
    np.testing.assert_array_equal(seen["gammas"], gammas)
    assert len(gammas) == m.n_bins
