"""The cosmology plots draw the given data and fits: values read back from the returned figures."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pytest

from rediscovery.cosmo.cmb.io import BinnedSpectrum
from rediscovery.cosmo.cmb.plots import plot_emulator_errors, plot_spectrum_fit
from rediscovery.cosmo.mcmc import MCMCResult
from rediscovery.cosmo.plots import plot_om_ol_joint, plot_trace, triangle_plot
from rediscovery.cosmo.sn.hubble import fit_hubble
from rediscovery.cosmo.sn.io import HubbleTable
from rediscovery.cosmo.sn.plots import plot_hubble_diagram, plot_om_ol
from rediscovery.cosmo.sn.simulate import Truth, simulate_hubble_table


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _gaussian_result(n_steps: int = 200, n_walkers: int = 6) -> MCMCResult:
    rng = np.random.default_rng(0)
    chain = rng.normal([0.3, 0.7], [0.05, 0.1], size=(n_steps, n_walkers, 2))
    return MCMCResult(names=["Om", "OL"], chain=chain, log_prob_chain=np.zeros(chain.shape[:2]),
                      burn=50, thin=1, autocorr_tau=np.ones(2), rhat=np.ones(2), converged=True,
                      acceptance_fraction=np.full(n_walkers, 0.3),
                      labels=[r"\Omega_m", r"\Omega_\Lambda"])


@pytest.fixture(scope="module")
def flat_fit():
    df = simulate_hubble_table(40, Truth(H0=70.0, Om=0.3, OL=0.7), seed=8, mu_err=0.15)
    table = HubbleTable.from_frame(df, source="simulated")
    return fit_hubble(table, "flat-lcdm", seed=1, n_walkers=8, n_steps=300, progress=False)


def test_hubble_diagram_draws_the_data_and_the_best_fit(flat_fit):
    t = flat_fit.table
    ax, rax = plot_hubble_diagram(flat_fit).axes
    data = ax.containers[0].lines[0]
    np.testing.assert_allclose(data.get_xdata(), t.z)
    np.testing.assert_allclose(data.get_ydata(), t.mu)
    best = ax.get_lines()[1]
    assert best.get_label().startswith("best fit flat-lcdm: Om=")
    # residuals: data minus the best-fit curve at each redshift (the curve, interpolated)
    resid = rax.containers[0].lines[0].get_ydata()
    curve_at_z = np.interp(np.log(t.z), np.log(best.get_xdata()), best.get_ydata())
    np.testing.assert_allclose(resid, t.mu - curve_at_z, atol=2e-3)
    # the offset is marginalised analytically: the best fit leaves no weighted mean residual
    assert abs(np.sum(resid / t.mu_err**2) / np.sum(1 / t.mu_err**2)) < 1e-6
    assert "[mag]" in ax.get_ylabel() and "[mag]" in rax.get_ylabel()
    assert f"data ({t.n})" in [x.get_text() for x in ax.get_legend().get_texts()]


def test_om_ol_plane_draws_the_posterior_segments_and_the_truth(flat_fit):
    ax = plot_om_ol(flat_fit, truth={"Om": 0.3, "OL": 0.7})
    flat, q0, _zero, *segments, star = ax.get_lines()
    np.testing.assert_allclose(flat.get_ydata(), 1 - flat.get_xdata())
    np.testing.assert_allclose(q0.get_ydata(), q0.get_xdata() / 2)
    om = flat_fit.mcmc.get("Om")
    for seg, q in zip(segments, ((2.275, 97.725), (15.866, 84.134)), strict=True):
        np.testing.assert_allclose(seg.get_xdata(), np.percentile(om, q))  # 95% then 68%
        np.testing.assert_allclose(seg.get_ydata(), 1 - np.percentile(om, q))  # on the flat line
    np.testing.assert_allclose(star.get_xydata(), [[0.3, 0.7]])
    assert f"{flat_fit.p_lambda_positive:.4f}" in ax.get_title()


def test_triangle_plot_shows_the_samples_with_labels_and_truths():
    res = _gaussian_result()
    fig = triangle_plot(res, truths={"Om": 0.3, "OL": 0.7})
    axes = np.array(fig.axes).reshape(2, 2)
    assert axes[1, 0].get_xlabel() == r"$\Omega_m$"
    assert axes[1, 0].get_ylabel() == r"$\Omega_\Lambda$"
    for i, name in enumerate(("Om", "OL")):
        x = res.get(name)
        assert f"{np.median(x):.2f}" in axes[i, i].get_title()  # the 50% quantile as title
        vertical = {ln.get_xdata()[0] for ln in axes[i, i].get_lines()}
        assert (0.3, 0.7)[i] in vertical  # the truth line


def test_trace_plot_draws_every_walker():
    res = _gaussian_result(n_steps=100, n_walkers=4)
    fig = plot_trace(res)
    for j, ax in enumerate(fig.axes):
        lines = ax.get_lines()
        np.testing.assert_allclose([ln.get_ydata() for ln in lines[:4]], res.chain[:, :, j].T)
        assert lines[4].get_xdata()[0] == res.burn
        assert ax.get_ylabel() == f"${res.labels[j]}$"


def test_joint_om_ol_names_each_posterior():
    res = _gaussian_result()
    fig = plot_om_ol_joint({"SN": (res.get("Om"), res.get("OL"))}, truth={"Om": 0.3, "OL": 0.7})
    ax = fig.axes[0]
    legend = [x.get_text() for x in ax.get_legend().get_texts()]
    assert "SN (68/95%)" in legend and "truth" in legend
    star = next(ln for ln in ax.get_lines() if ln.get_marker() == "*")
    np.testing.assert_allclose(star.get_xydata(), [[0.3, 0.7]])


def test_spectrum_fit_draws_data_theory_and_pulls():
    ell_min, ell_max = np.array([30, 60, 90]), np.array([59, 89, 119])
    ell_eff = (ell_min + ell_max) / 2
    dl = np.array([1000.0, 2000.0, 3000.0])
    err = np.array([10.0, 20.0, 40.0])
    spec = BinnedSpectrum(ell_min, ell_max, ell_eff, dl, err, err, kind="TT")
    ell = np.arange(2, 200)
    binned = np.array([1010.0, 1980.0, 3000.0])
    ax, rax = plot_spectrum_fit(spec, ell, 25.0 * ell, binned, label="model").axes
    data = ax.containers[0].lines[0]
    np.testing.assert_allclose(data.get_xydata(), np.column_stack([ell_eff, dl]))
    theory = ax.get_lines()[1]
    np.testing.assert_array_equal(theory.get_xdata(), np.arange(30, 120))  # data range only
    np.testing.assert_allclose(theory.get_ydata(), 25.0 * np.arange(30, 120))
    np.testing.assert_allclose(rax.containers[0].lines[0].get_ydata(), [-1.0, 1.0, 0.0])
    assert "= 2.0 / 3 bins" in rax.texts[0].get_text()  # χ² = 1 + 1 + 0
    assert r"$\mu$K$^2$" in ax.get_ylabel()
    assert "model" in [x.get_text() for x in ax.get_legend().get_texts()]


def test_emulator_errors_draw_the_largest_error():
    ell = np.arange(30, 40)
    rel = np.vstack([np.full(10, 1e-3), np.linspace(-2e-3, 2e-3, 10)])
    ax = plot_emulator_errors(ell, rel)
    envelope = next(ln for ln in ax.get_lines() if ln.get_label() == "max |error|")
    np.testing.assert_allclose(envelope.get_ydata(), 100 * np.abs(rel).max(axis=0))
    assert "[%]" in ax.get_ylabel()
