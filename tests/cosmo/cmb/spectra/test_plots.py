"""The spectrum plots draw the band powers, errors and the Monte-Carlo/Knox ratio they are
given (checked on the returned axes' data)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np

from rediscovery.cosmo.cmb.spectra import make_binning
from rediscovery.cosmo.cmb.spectra.estimate import SpectrumResult
from rediscovery.cosmo.cmb.spectra.plots import plot_errors, plot_spectrum


def _result() -> SpectrumResult:
    b = make_binning(41, 10)
    sims = np.random.default_rng(0).normal(100.0, 5.0, size=(50, b.n_bins))
    return SpectrumResult(
        b,
        np.array([90.0, 100.0, 110.0, 120.0]),
        sims.std(axis=0, ddof=1),
        np.full(b.n_bins, 5.0),
        np.cov(sims, rowvar=False),
        sims,
        np.full(b.n_bins, 100.0),
        {"errors": "Monte-Carlo", "fsky_eff": 0.3},
    )


def test_plot_spectrum_data() -> None:
    res = _result()
    fig = plot_spectrum(res, theory=(np.arange(2, 42), np.full(40, 100.0)))
    ax = fig.axes[0]
    x, _y = ax.lines[0].get_data()
    assert len(x) == 40
    points = next(line for line in ax.lines if line.get_marker() == "o")
    np.testing.assert_array_equal(points.get_xdata(), res.binning.ell_eff)
    np.testing.assert_array_equal(points.get_ydata(), res.dl)
    assert "0.300" in ax.get_title()
    plt.close(fig)


def test_plot_errors_ratio() -> None:
    res = _result()
    fig = plot_errors(res)
    line = fig.axes[0].lines[0]
    np.testing.assert_allclose(line.get_ydata(), res.sims.std(axis=0, ddof=1) / 5.0)
    plt.close(fig)
