"""Figures of survey images (matplotlib imported inside; the core never draws)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["display_limits", "plot_thumbnails"]


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
