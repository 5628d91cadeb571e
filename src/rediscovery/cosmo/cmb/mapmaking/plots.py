"""Plots of map-making: the maps, the residual power against the white-noise level, and the
CG convergence. matplotlib is imported inside the functions; each returns its figure."""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np

from rediscovery.cosmo.cmb.mapmaking.binned import MapResult
from rediscovery.cosmo.cmb.mapmaking.validation import ResidualSpectrum

__all__ = ["plot_cg_convergence", "plot_maps", "plot_residual_spectra"]


def plot_maps(result: MapResult, *, fig: Any = None) -> Any:
    """Orthographic views, centred on the observed region, of the map (μK), the hits and the
    white-noise σ per pixel (μK); colour scales clipped at the 1st and 99th percentiles."""
    import healpy as hp
    import matplotlib.pyplot as plt

    fig = fig or plt.figure(figsize=(13, 4.5))
    seen = result.seen
    lon, lat = hp.pix2ang(result.nside, np.flatnonzero(seen), lonlat=True)
    centre = (float(np.degrees(np.angle(np.mean(np.exp(1j * np.radians(lon)))))),
              float(np.clip(np.median(lat), -90, 90)))
    if abs(centre[1]) > 30:  # a band around a pole: look from the pole
        centre = (0.0, 90.0 * np.sign(centre[1]))
    sigma = np.full(len(result.map), hp.UNSEEN)
    sigma[seen] = np.sqrt(result.variance[seen])
    hits = np.where(seen, result.hits.astype(float), hp.UNSEEN)
    method = result.info.get("method", "")
    for k, (arr, title, unit, cmap) in enumerate((
            (result.map, f"map {result.info.get('stokes', '')}".strip(), r"$\mu$K", "coolwarm"),
            (hits, "hits", "samples", "viridis"),
            (sigma, r"white-noise $\sigma$ per pixel", r"$\mu$K", "viridis"))):
        lo, hi = np.percentile(arr[seen], [1, 99])
        with warnings.catch_warnings():  # healpy's colour maps use matplotlib's set_over
            warnings.filterwarnings("ignore", message=".*set_(over|under|bad).*")
            hp.orthview(arr, fig=fig.number, sub=(1, 3, k + 1), rot=(*centre, 0),
                        half_sky=True, min=lo, max=hi,
                        title=f"{title} ({method}, nside {result.nside})", unit=unit,
                        cmap=cmap, coord="C")
    hp.graticule(dpar=15, dmer=30)
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
