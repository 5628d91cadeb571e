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


# --- what is drawn: the plotted data read back from the returned figures -------------------

def test_likelihood_scan_draws_the_scan_and_its_crossings() -> None:
    import matplotlib.pyplot as plt
    from scipy import stats as sps

    mu = np.linspace(-0.5, 2.5, 61)
    scan = stat.LikelihoodScan(mu=mu, q=((mu - 1.0) / 0.5) ** 2, mu_hat=1.0, nll_min=0.0,
                               backend="test")
    ax = plots_stat.plot_likelihood_scan(scan).axes[0]
    curve = ax.get_lines()[0]
    np.testing.assert_allclose(curve.get_xdata(), mu)
    np.testing.assert_allclose(curve.get_ydata(), scan.q)
    # horizontal: the 1σ and 2σ levels of χ²(1 dof); vertical: the crossings μ̂ ± σ, μ̂ ± 2σ
    lev = [sps.chi2.ppf(sps.norm.cdf(k) - sps.norm.cdf(-k), 1) for k in (1, 2)]
    levels = [ln.get_ydata()[0] for ln in ax.get_lines()[1:]
              if ln.get_ydata()[0] == ln.get_ydata()[1] and ln.get_transform() != ln.axes.transData]
    xs = [ln.get_xdata()[0] for ln in ax.get_lines()[1:] if ln.get_xdata()[0] == ln.get_xdata()[1]]
    np.testing.assert_allclose(sorted(levels), lev)
    np.testing.assert_allclose(sorted(xs), [0.0, 0.5, 1.5, 2.0], atol=2e-3)
    assert ax.get_xlabel() == r"signal strength $\mu$"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["profile likelihood (test)"]
    plt.close("all")


def test_stacked_plot_draws_data_prediction_and_ratio() -> None:
    import matplotlib.pyplot as plt

    m = _model()
    obs = np.array([90.0, 70.0, 50.0, 40.0, 30.0])
    fig = plots_stat.plot_stacked(m, obs, mu=1.0)
    ax, rax = fig.axes
    edges = np.linspace(0, 1, 6)
    width, centres = np.diff(edges), 0.5 * (edges[1:] + edges[:-1])
    total = m.expected(1.0)
    data = ax.containers[-1].lines[0]  # the data points: events per unit score
    np.testing.assert_allclose(data.get_xdata(), centres)
    np.testing.assert_allclose(data.get_ydata(), obs / width)
    band = next(p for p in ax.patches if p.get_label() == "MC stat. unc.")
    hi, band_edges, lo = band.get_data()
    np.testing.assert_allclose(band_edges, edges)
    np.testing.assert_allclose((hi + lo) / 2, total / width)  # centred on the prediction
    ratio = rax.containers[0].lines[0]
    np.testing.assert_allclose(ratio.get_ydata(), obs / total)
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert {"a", "b", "data", "MC stat. unc."} <= set(legend)
    assert any("H" in t and "mu" in t for t in legend)
    plt.close(fig)


def test_pulls_and_impacts_draw_the_given_values() -> None:
    import matplotlib.pyplot as plt

    pulls, constraints = {"a": 0.5, "b": -1.2}, {"a": 0.8, "b": 0.4}
    ax = plots_stat.plot_pulls(pulls, constraints).axes[0]
    points = ax.containers[0]
    np.testing.assert_allclose(points.lines[0].get_xdata().astype(float), [0.5, -1.2])
    segments = points.lines[2][0].get_segments()
    np.testing.assert_allclose([s[:, 0] for s in segments], [[-0.3, 1.3], [-1.6, -0.8]])
    assert [t.get_text() for t in ax.get_yticklabels()] == ["a", "b"]

    impacts = {"small": (-0.01, 0.02), "large": (-0.2, 0.1)}
    ax = plots_stat.plot_impacts(impacts).axes[0]
    widths = [p.get_width() for p in ax.patches]
    np.testing.assert_allclose(widths, [0.1, 0.02, -0.2, -0.01])  # +1σ then −1σ, ranked
    assert [t.get_text() for t in ax.get_yticklabels()] == ["large", "small"]
    assert "Delta\\mu" in ax.get_xlabel()
    plt.close("all")


def test_toy_pulls_histogram_and_unit_gaussian() -> None:
    from types import SimpleNamespace

    import matplotlib.pyplot as plt
    from scipy import stats as sps

    p = np.random.default_rng(2).normal(0.1, 1.1, 400)
    toys = SimpleNamespace(pulls=p, pull_mean=(0.1, 0.05), pull_width=(1.1, 0.04),
                           coverage=(0.65, 0.02))
    ax = plots_stat.plot_toy_pulls(toys, bins=16).axes[0]
    density, _ = np.histogram(p, bins=16, range=(-4, 4), density=True)
    heights = ax.patches[0].get_xy()[1:-1:2, 1]  # step outline: one height per bin
    np.testing.assert_allclose(heights, density)
    gauss = ax.get_lines()[0]
    np.testing.assert_allclose(gauss.get_ydata(), sps.norm.pdf(gauss.get_xdata()))
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["400 toys", "N(0, 1)"]
    assert "mean 0.100 ± 0.050" in ax.texts[0].get_text()
    plt.close("all")
