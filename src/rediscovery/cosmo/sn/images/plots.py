"""Figures of survey images (matplotlib imported inside; the core never draws)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["display_limits", "naive_difference", "plot_field_epoch", "plot_thumbnails"]


def display_limits(data: np.ndarray, *, low: float = 1.0, high: float = 99.5
                   ) -> tuple[float, float]:
    """Grey-scale limits: the ``low`` and ``high`` percentiles of the finite pixels."""
    finite = data[np.isfinite(data)]
    lo, hi = np.percentile(finite, [low, high]) if finite.size else (0.0, 1.0)
    return float(lo), float(hi if hi > lo else lo + 1.0)


def plot_thumbnails(images: Sequence[Any], *, titles: Sequence[str] | None = None,
                    marks: Sequence[tuple[float, float]] | None = None, ncols: int = 3,
                    axes: Sequence[Any] | None = None) -> tuple[Any, list[Any]]:
    """A labelled grid of images (e.g. a field's reference, one epoch and their difference).

    Parameters
    ----------
    images
        :class:`~rediscovery.cosmo.sn.images.io.SurveyImage` objects or 2-D arrays.
    titles
        One label per panel (default: ``BAND MJD`` from the image).
    marks
        (ra, dec) positions (deg) circled on every panel that has a WCS (e.g. candidates).
    ncols
        Panels per row when ``axes`` is not given.
    axes
        Existing axes, one per image.

    Returns
    -------
    (figure, list of the ``AxesImage`` artists)
    """
    import matplotlib.pyplot as plt

    n = len(images)
    if axes is None:
        nrows = int(np.ceil(n / ncols))
        fig, grid = plt.subplots(nrows, min(ncols, n), figsize=(3.2 * min(ncols, n),
                                                                 3.2 * nrows), squeeze=False)
        axes = list(grid.ravel())
        for ax in axes[n:]:
            ax.set_visible(False)
    fig = axes[0].figure
    artists = []
    for k, (img, ax) in enumerate(zip(images, axes, strict=False)):
        data = np.asarray(getattr(img, "data", img))
        lo, hi = display_limits(data)
        artists.append(ax.imshow(data, origin="lower", cmap="gray", vmin=lo, vmax=hi,
                                 interpolation="nearest"))
        if titles is not None:
            label = titles[k]
        elif hasattr(img, "band"):
            label = f"{img.band} MJD {img.mjd:.2f} seeing {img.seeing:.2f}\""
        else:
            label = f"panel {k}"
        ax.set_title(label, fontsize=8)
        ax.set_xticks([])
        ax.set_yticks([])
        wcs = getattr(img, "wcs", None)
        if marks and wcs is not None:
            ra, dec = np.array(marks, dtype=float).T
            x, y = wcs.wcs_world2pix(ra, dec, 0)
            ax.scatter(x, y, s=120, facecolors="none", edgecolors="tab:red", linewidths=0.8)
    return fig, artists


def naive_difference(epoch: Any, reference: Any) -> np.ndarray:
    """epoch − reference, sky-subtracted and scaled to the epoch's ZP, without PSF matching or
    resampling: for a first look only (stars leave residuals where the seeing differs, and
    dipoles from the sub-pixel pointing offset)."""
    scale = 10 ** (0.4 * (epoch.zp - reference.zp))
    return (epoch.data - epoch.skylevel) - scale * (reference.data - reference.skylevel)


def plot_field_epoch(reference: Any, epoch: Any, *, marks: Sequence[tuple[float, float]]
                     | None = None) -> tuple[Any, list[Any]]:
    """Three labelled thumbnails: a field's reference, one epoch and their
    :func:`naive_difference`. Returns (figure, artists)."""
    diff = naive_difference(epoch, reference)
    name = reference.header.get("FIELD", "")
    titles = [f"{name} {reference.band} reference (x{reference.header.get('NCOMBINE', 1)})",
              f"{epoch.band} MJD {epoch.mjd:.2f}, seeing {epoch.seeing:.2f}\"",
              "epoch - reference (no PSF matching)"]
    fig, artists = plot_thumbnails([reference, epoch, diff], titles=titles, marks=marks)
    return fig, artists
