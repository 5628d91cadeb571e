"""Plots of the CMB stage: binned data against the best-fit theory, and emulator accuracy.

matplotlib is imported inside each function; each takes an optional figure/axes and returns
it. Triangle plots of the posterior are :func:`rediscovery.cosmo.plots.triangle_plot`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rediscovery.cosmo.cmb.io import BinnedSpectrum

__all__ = ["plot_emulator_errors", "plot_spectrum_fit"]


def plot_spectrum_fit(spectrum: BinnedSpectrum, ell: np.ndarray, dl_theory: np.ndarray,
                      binned_theory: np.ndarray, *, fig: Any = None,
                      label: str = "best fit") -> Any:
    """Binned data with errors and the unbinned best-fit D_ℓ, with normalised residuals below.

    Parameters
    ----------
    spectrum
        The binned data (μK²).
    ell, dl_theory
        Unbinned theory multipoles and D_ℓ (μK²).
    binned_theory
        The theory binned like the data (μK²), for the residuals.
    fig
        Figure to draw into (default: a new 7×6 in figure).
    label
        Legend label of the theory.

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    if fig is None:
        fig = plt.figure(figsize=(7, 6))
    ax, axr = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 1], "hspace": 0.05})
    yerr = np.vstack([spectrum.dl_err_lo, spectrum.dl_err_hi])
    ax.errorbar(spectrum.ell_eff, spectrum.dl, yerr=yerr, fmt="o", ms=3, color="k", lw=1,
                label=f"data ({spectrum.kind}, {spectrum.n_bins} bins)")
    m = (ell >= spectrum.ell_min.min()) & (ell <= spectrum.ell_max.max())
    ax.plot(ell[m], dl_theory[m], color="C3", lw=1.2, label=label)
    ax.set_ylabel(rf"$D_\ell^{{{spectrum.kind}}} = \ell(\ell+1)C_\ell/2\pi$ [$\mu$K$^2$]")
    ax.legend(frameon=False)
    pull = (spectrum.dl - binned_theory) / spectrum.dl_err
    axr.axhline(0, color="C3", lw=1)
    axr.errorbar(spectrum.ell_eff, pull, yerr=1.0, fmt="o", ms=3, color="k", lw=1)
    axr.set_ylabel(r"(data$-$model)/$\sigma$")
    axr.set_xlabel(r"multipole $\ell$")
    chi2 = float(np.sum(pull**2))
    axr.text(0.01, 0.95, rf"$\chi^2$ (diag.) = {chi2:.1f} / {spectrum.n_bins} bins",
             transform=axr.transAxes, va="top", fontsize=8)
    return fig


def plot_emulator_errors(ell: np.ndarray, rel_err: np.ndarray, *, ax: Any = None,
                         target: float = 3e-3) -> Any:
    """Relative emulator error (emulator/CAMB − 1) of held-out spectra against ℓ.

    Parameters
    ----------
    ell
        Multipoles (n_ell,).
    rel_err
        Relative errors (n_spectra, n_ell).
    ax
        Axes to draw into.
    target
        Accuracy target drawn as dashed lines (default ±0.3 %).
    """
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(7, 4))
    ax.plot(ell, 100 * rel_err.T, color="C0", lw=0.3, alpha=0.4)
    ax.plot(ell, 100 * np.abs(rel_err).max(axis=0), color="k", lw=1, label="max |error|")
    for s in (-1, 1):
        ax.axhline(100 * s * target, color="C3", ls="--", lw=1)
    ax.set_xscale("log")
    ax.set_xlabel(r"multipole $\ell$")
    ax.set_ylabel(r"emulator / CAMB $- 1$ [%]")
    ax.legend(frameon=False)
    return ax
