"""Plots of map-making: the maps, the residual power against the white-noise level, and the
CG convergence. matplotlib is imported inside the functions; each returns its figure."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from rediscovery.cosmo.cmb.mapmaking.binned import MapResult
from rediscovery.cosmo.cmb.mapmaking.validation import ResidualSpectrum

__all__ = ["plot_cg_convergence", "plot_maps", "plot_residual_spectra"]


def plot_maps(result: MapResult, *, fig: Any = None) -> Any:
    """Cartesian views of the map (μK), the hits and the white-noise σ (μK) of the observed
    region (equatorial coordinates)."""
    import healpy as hp
    import matplotlib.pyplot as plt

    fig = fig or plt.figure(figsize=(12, 8))
    seen = result.seen
    theta, _ = hp.pix2ang(result.nside, np.flatnonzero(seen))
    dec = 90.0 - np.degrees(theta)
    lat = (float(dec.min()) - 1, float(dec.max()) + 1)
    sigma = np.where(seen, np.sqrt(np.where(seen, result.variance, 1.0)), hp.UNSEEN)
    for k, (arr, title, unit) in enumerate(((result.map, "map", r"$\mu$K"),
                                             (np.where(seen, result.hits, hp.UNSEEN), "hits",
                                              "samples"),
                                             (sigma, r"white-noise $\sigma$ per pixel",
                                              r"$\mu$K"))):
        hp.cartview(arr, fig=fig.number, sub=(3, 1, k + 1), latra=lat, coord="C",
                    title=f"{title} ({result.info.get('method', '')}, nside {result.nside})",
                    unit=unit, cmap="coolwarm" if k == 0 else "viridis")
    return fig


def plot_residual_spectra(spectra: Mapping[str, ResidualSpectrum], *, ax: Any = None) -> Any:
    """C_ℓ of map − beam-smoothed input sky per method, with the white-noise level (μK²)."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(7, 4.5))
    white = None
    for name, s in spectra.items():
        ax.loglog(s.ell[2:], s.cl[2:], lw=1, label=name)
        white = s.white
    if white is not None:
        ax.axhline(white, color="k", ls="--", lw=1,
                   label=r"white noise $\Omega_{\rm pix}\langle\sigma_p^2\rangle$")
    ax.set_xlabel(r"multipole $\ell$")
    ax.set_ylabel(r"residual $C_\ell$ / $f_{\rm sky}$ [$\mu$K$^2$ sr]")
    ax.legend(frameon=False, fontsize=8)
    return ax.figure


def plot_cg_convergence(infos: Mapping[str, Mapping[str, Any]], *, ax: Any = None) -> Any:
    """Relative CG residual ‖r‖/‖b‖ against iteration for each solver run."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(6, 4))
    for name, info in infos.items():
        h = info.get("cg_history", [])
        ax.semilogy(np.arange(1, len(h) + 1), h, label=name)
        if "cg_tol" in info:
            ax.axhline(info["cg_tol"], color="gray", ls=":", lw=1)
    ax.set_xlabel("CG iteration")
    ax.set_ylabel(r"relative residual $\|r\|/\|b\|$")
    ax.legend(frameon=False)
    return ax.figure
