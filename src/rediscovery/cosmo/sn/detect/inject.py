"""Fake-source injection and recovery, for detection efficiencies and real/bogus tests.

Injecting PSF-shaped fakes of known flux at known sub-pixel positions into real (or
simulated) images and counting how many come back is how a survey measures its detection
efficiency; :func:`optimal_snr` gives each fake's best achievable S/N so that efficiencies are
quoted against it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from rediscovery.core.errors import InputError
from rediscovery.cosmo.sn.detect.psf import fourier_shift
from rediscovery.cosmo.sn.detect.subtract import zogy_flux_normalisation
from rediscovery.cosmo.sn.detect.validation import check_image, check_psf

__all__ = [
    "add_cosmic_rays",
    "flux_for_snr",
    "inject_point_sources",
    "match_injections",
    "optimal_snr",
]


def _positions(x: object, y: object, values: object,
               name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    x_arr, y_arr, v = np.broadcast_arrays(np.atleast_1d(np.asarray(x, float)),
                                          np.atleast_1d(np.asarray(y, float)),
                                          np.atleast_1d(np.asarray(values, float)))
    if not (np.all(np.isfinite(x_arr)) and np.all(np.isfinite(y_arr))
            and np.all(np.isfinite(v))):
        raise InputError("expected finite positions and values", column=name)
    return x_arr.ravel(), y_arr.ravel(), v.ravel()


def inject_point_sources(image: np.ndarray, psf: np.ndarray, x: object, y: object,
                         flux: object, *, workers: int | None = None) -> np.ndarray:
    """A copy of ``image`` with point sources of total ``flux`` (image units) centred at
    sub-pixel positions ``(x, y)``: the PSF stamp is moved by a Fourier shift to each position
    (all at once) and added; parts of a stamp outside the image are dropped."""
    img = check_image(image, "image").copy()
    p = check_psf(psf, "psf")
    xs, ys, fl = _positions(x, y, flux, "x, y, flux")
    if xs.size == 0:
        return img
    pad = 2
    ps = np.pad(p, pad)
    xi, yi = np.round(xs).astype(int), np.round(ys).astype(int)
    st = fourier_shift(np.broadcast_to(ps, (xs.size, *ps.shape)), xs - xi, ys - yi,
                       workers=workers) * fl[:, None, None]
    hy, hx = ps.shape[0] // 2, ps.shape[1] // 2
    gy = yi[:, None, None] + np.arange(-hy, hy + 1)[None, :, None]
    gx = xi[:, None, None] + np.arange(-hx, hx + 1)[None, None, :]
    gy, gx = np.broadcast_arrays(gy, gx)
    ok = (gy >= 0) & (gy < img.shape[0]) & (gx >= 0) & (gx < img.shape[1])
    np.add.at(img, (gy[ok], gx[ok]), st[ok])
    return img


def add_cosmic_rays(image: np.ndarray, x: object, y: object, amplitude: object) -> np.ndarray:
    """A copy of ``image`` with single-pixel cosmic-ray hits of ``amplitude`` (image units) at
    the integer pixels nearest to ``(x, y)``."""
    img = check_image(image, "image").copy()
    xs, ys, amp = _positions(x, y, amplitude, "x, y, amplitude")
    xi, yi = np.round(xs).astype(int), np.round(ys).astype(int)
    ok = (xi >= 0) & (yi >= 0) & (xi < img.shape[1]) & (yi < img.shape[0])
    np.add.at(img, (yi[ok], xi[ok]), amp[ok])
    return img


def optimal_snr(flux: object, psf_new: np.ndarray, psf_ref: np.ndarray, sigma_new: float,
                sigma_ref: float, *, f_new: float = 1.0, f_ref: float = 1.0) -> np.ndarray:
    """The optimal (matched-filter) S/N α √F_S of a point source of flux α (reference units
    when F_r = 1) in a (new, reference) pair with background-limited noise (ZOGY16: the score
    S is the optimal statistic, so no detector can do better). With a noiseless reference it
    is α F_n √(Σ P_n²) / σ_n."""
    f_s = zogy_flux_normalisation(psf_new, psf_ref, sigma_new, sigma_ref, f_new, f_ref)
    return np.asarray(flux, float) * np.sqrt(f_s)


def flux_for_snr(snr: object, psf_new: np.ndarray, psf_ref: np.ndarray, sigma_new: float,
                 sigma_ref: float, *, f_new: float = 1.0, f_ref: float = 1.0) -> np.ndarray:
    """The flux (reference units when F_r = 1) whose :func:`optimal_snr` is ``snr``."""
    f_s = zogy_flux_normalisation(psf_new, psf_ref, sigma_new, sigma_ref, f_new, f_ref)
    return np.asarray(snr, float) / np.sqrt(f_s)


def match_injections(detections: pd.DataFrame, x: object, y: object,
                     radius: float = 2.0) -> np.ndarray:
    """For each injected position, the index (row label) of the nearest detection within
    ``radius`` pixels, or -1: ``>= 0`` marks a recovered fake."""
    xs = np.atleast_1d(np.asarray(x, float))
    ys = np.atleast_1d(np.asarray(y, float))
    if len(detections) == 0:
        return np.full(xs.size, -1)
    tree = cKDTree(np.column_stack([detections["x"].to_numpy(), detections["y"].to_numpy()]))
    dist, idx = tree.query(np.column_stack([xs, ys]), distance_upper_bound=radius)
    labels = np.asarray(detections.index)
    found = np.isfinite(dist)
    out = np.full(xs.size, -1, dtype=np.int64)
    out[found] = labels[idx[found]]
    return out
