"""Plots of the power-spectrum stage: band powers with errors against the fiducial, and the
Monte-Carlo σ against Knox. matplotlib is imported inside the functions; each returns its
figure."""

from __future__ import annotations

from typing import Any

import numpy as np

from rediscovery.cosmo.cmb.spectra.estimate import SpectrumResult

__all__ = ["plot_errors", "plot_spectrum"]


def plot_spectrum(
    result: SpectrumResult,
    *,
    theory: tuple[np.ndarray, np.ndarray] | None = None,
    label: str = "measured",
    ax: Any = None,
) -> Any:
    """D_b with 1σ errors (μK²) against ℓ, the fiducial through the band-power window
    (points) and, if given, a theory curve ``(ell, dl)``."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(7.5, 4.5))
    b = result.binning
    if theory is not None:
        ax.plot(theory[0], theory[1], color="0.3", lw=1, label="fiducial $D_\\ell$")
    ax.plot(
        b.ell_eff,
        result.expected,
        "s",
        ms=3,
        mfc="none",
        color="C1",
        label="fiducial, band-power window",
    )
    ax.errorbar(
        b.ell_eff,
        result.dl,
        yerr=result.dl_err,
        fmt="o",
        ms=3,
        color="C0",
        label=f"{label} ({result.info.get('errors', '')} errors)",
    )
    ax.set_xlabel(r"multipole $\ell$")
    ax.set_ylabel(r"$D_\ell = \ell(\ell+1)C_\ell/2\pi$ [$\mu$K$^2$]")
    fsky = result.info.get("fsky_eff")
    if fsky is not None:
        ax.set_title(f"TT pseudo-$C_\\ell$ (MASTER), $f_{{\\rm sky,eff}}$ = {fsky:.3f}")
    ax.legend(frameon=False, fontsize=8)
    return ax.figure


def plot_errors(result: SpectrumResult, *, ax: Any = None) -> Any:
    """Monte-Carlo σ over Knox σ per band (needs ≥ 2 simulations)."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(7, 3.5))
    b = result.binning
    if result.sims is not None and len(result.sims) > 1:
        ratio = result.sims.std(axis=0, ddof=1) / result.knox_err
        n = len(result.sims)
        ax.errorbar(
            b.ell_eff,
            ratio,
            yerr=ratio / np.sqrt(2 * (n - 1)),
            fmt="o",
            ms=3,
            label=f"{n} simulations",
        )
    ax.axhline(1.0, color="k", lw=1)
    ax.set_xlabel(r"multipole $\ell$")
    ax.set_ylabel(r"$\sigma_{\rm MC} / \sigma_{\rm Knox}$")
    ax.legend(frameon=False, fontsize=8)
    return ax.figure
