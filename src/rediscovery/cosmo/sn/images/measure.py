"""Measurements on survey images: a star's centre, flux and FWHM by a Moffat fit.

Independent of the renderer (:mod:`~rediscovery.cosmo.sn.images.render`): the model is
evaluated here from the Moffat formula, integrated over pixels by sub-sampling, and fitted by
least squares (:func:`scipy.optimize.least_squares`) with the sky fixed. Used to check the
simulated images (tests, ``benchmarks/sn_images.py``) and usable as a first PSF measurement.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["fit_moffat", "pixel_moffat", "star_stamp"]


def pixel_moffat(shape: tuple[int, int], x0: float, y0: float, flux: float, alpha: float,
                 beta: float, sky: float = 0.0, *, sub: int = 5) -> np.ndarray:
    r"""Pixel-integrated Moffat image: sky + flux (β−1)/(πα²) (1 + r²/α²)^(−β), averaged over
    ``sub``² samples per pixel; centre (x0, y0) in 0-based pixel coordinates of ``shape``."""
    ny, nx = shape
    off = (np.arange(sub) + 0.5) / sub - 0.5
    xs = (np.arange(nx)[:, None] + off[None, :]).ravel() - x0
    ys = (np.arange(ny)[:, None] + off[None, :]).ravel() - y0
    prof = (1 + (xs[None, :] ** 2 + ys[:, None] ** 2) / alpha**2) ** (-beta)
    prof = prof.reshape(ny, sub, nx, sub).mean(axis=(1, 3))
    return sky + flux * (beta - 1) / (np.pi * alpha**2) * prof


def star_stamp(data: np.ndarray, x: float, y: float, half: int = 10
               ) -> tuple[np.ndarray, int, int]:
    """A (2·half+1)² cut-out of ``data`` around pixel (x, y) and the (x, y) of its corner."""
    ix, iy = int(np.rint(x)), int(np.rint(y))
    cut = np.asarray(data[iy - half:iy + half + 1, ix - half:ix + half + 1], dtype=float)
    return cut, ix - half, iy - half


def fit_moffat(stamp: np.ndarray, sky: float) -> dict[str, Any]:
    """Least-squares Moffat fit of a star stamp: free centre, flux, α and β; sky fixed.

    Returns ``x, y`` (stamp pixels), ``flux`` (counts), ``fwhm`` (pixels,
    2α sqrt(2^(1/β) − 1)), ``beta`` and ``success``.
    """
    from scipy.optimize import least_squares

    ny, nx = stamp.shape
    peak = np.unravel_index(np.argmax(stamp), stamp.shape)
    p0 = [peak[1], peak[0], max((stamp - sky).sum(), 1.0), 2.0, 3.0]

    def resid(p: np.ndarray) -> np.ndarray:
        return (pixel_moffat(stamp.shape, *p, sky) - stamp).ravel()

    res = least_squares(resid, p0, bounds=([0, 0, 0, 0.3, 1.2], [nx, ny, np.inf, 20, 10]))
    x0, y0, flux, alpha, beta = res.x
    return {"x": float(x0), "y": float(y0), "flux": float(flux),
            "fwhm": float(2 * alpha * np.sqrt(2 ** (1 / beta) - 1)), "beta": float(beta),
            "success": bool(res.success)}
