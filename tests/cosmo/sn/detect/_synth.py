"""Synthetic (new, reference) image pairs for the detection tests, built from the library's
Moffat PSF and injection: sky-subtracted images with Gaussian noise of the exact Poisson +
read-noise variance (a good approximation at the sky levels used), stars at known sub-pixel
positions, optional transients and cosmic rays. Independent of the survey simulator."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from rediscovery.cosmo.sn.detect import inject_point_sources, moffat_psf

PSF_SIZE = 31


@dataclass
class Pair:
    new: np.ndarray
    ref: np.ndarray
    psf_new: np.ndarray
    psf_ref: np.ndarray
    sigma_new: float
    sigma_ref: float
    var_new: np.ndarray
    var_ref: np.ndarray
    f_new: float
    stars: tuple[np.ndarray, np.ndarray, np.ndarray] = field(default=None)  # x, y, flux (ref)


def star_field(rng: np.random.Generator, shape: tuple[int, int], n: int, margin: int = 20,
               flux: tuple[float, float] = (2e4, 2e5)):
    """``n`` stars at random sub-pixel positions, log-uniform fluxes."""
    x = rng.uniform(margin, shape[1] - margin, n)
    y = rng.uniform(margin, shape[0] - margin, n)
    f = np.exp(rng.uniform(np.log(flux[0]), np.log(flux[1]), n))
    return x, y, f


def grid_field(rng: np.random.Generator, shape: tuple[int, int], spacing: float,
               margin: int = 25, flux: tuple[float, float] = (2e4, 2e5), jitter: float = 3.0):
    """Isolated stars: a grid of ``spacing`` pixels, each star moved by up to ±``jitter``
    pixels (sub-pixel positions), log-uniform fluxes."""
    g = np.arange(margin, min(shape) - margin, spacing, dtype=float)
    gx, gy = np.meshgrid(g, g)
    x = gx.ravel() + rng.uniform(-jitter, jitter, gx.size)
    y = gy.ravel() + rng.uniform(-jitter, jitter, gy.size)
    f = np.exp(rng.uniform(np.log(flux[0]), np.log(flux[1]), x.size))
    return x, y, f


def make_pair(rng: np.random.Generator, shape=(256, 256), *, fwhm_new=4.0, fwhm_ref=3.0,
              beta=3.5, sky_new=1000.0, sky_ref=4000.0, ref_depth=4.0, read_noise=5.0,
              f_new=1.0, stars=None, transients=None, source_noise=True,
              shift=(0.0, 0.0)) -> Pair:
    """A pair on one grid. New image: variance sky_new + read_noise² + sources (counts F_n ×
    the reference's). Reference (a deep stack): variance (sky_ref + read_noise² + sources) /
    ref_depth². ``stars`` (x, y, flux in reference units) are in both images, ``transients``
    only in the new one. ``shift = (dx, dy)``: the new image's sources sit at (x + dx, y + dy)
    (a misregistration).
    """
    dx, dy = shift
    psf_n = moffat_psf(fwhm_new, beta, PSF_SIZE)
    psf_r = moffat_psf(fwhm_ref, beta, PSF_SIZE)
    truth_n = np.zeros(shape)
    truth_r = np.zeros(shape)
    if stars is not None:
        x, y, f = stars
        truth_n = inject_point_sources(truth_n, psf_n, x + dx, y + dy, f_new * np.asarray(f))
        truth_r = inject_point_sources(truth_r, psf_r, x, y, f)
    if transients is not None:
        x, y, f = transients
        truth_n = inject_point_sources(truth_n, psf_n, x + dx, y + dy, f_new * np.asarray(f))
    src_n = np.maximum(truth_n, 0) if source_noise else 0.0
    src_r = np.maximum(truth_r, 0) if source_noise else 0.0
    var_n = sky_new + read_noise**2 + src_n + np.zeros(shape)
    var_r = (sky_ref + read_noise**2 + src_r) / ref_depth**2 + np.zeros(shape)
    new = truth_n + rng.normal(size=shape) * np.sqrt(var_n)
    ref = truth_r + rng.normal(size=shape) * np.sqrt(var_r)
    return Pair(new=new, ref=ref, psf_new=psf_n, psf_ref=psf_r,
                sigma_new=float(np.sqrt(sky_new + read_noise**2)),
                sigma_ref=float(np.sqrt(sky_ref + read_noise**2) / ref_depth),
                var_new=var_n, var_ref=var_r, f_new=f_new, stars=stars)
