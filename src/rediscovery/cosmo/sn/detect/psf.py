"""Point-spread functions: an analytic Moffat maker, sub-pixel shifts, and the PSF measured from
the bright isolated stars of an image.

Conventions: images are indexed ``image[y, x]``; pixel ``(x, y)`` covers ``[x - 0.5, x + 0.5)``;
a PSF is an odd-sided stamp with unit sum whose centre pixel is the star's position.

References
----------
Moffat 1969
    A.F.J. Moffat, "A theoretical investigation of focal stellar images in the photographic
    emulsion", A&A 3 (1969) 455: I(r) ∝ [1 + (r/α)²]^(−β), FWHM = 2α √(2^(1/β) − 1).
Bertin & Arnouts 1996
    E. Bertin, S. Arnouts, "SExtractor", A&AS 117 (1996) 393; the windowed centroid (XWIN) of
    the SExtractor manual: x ← x + 2 Σ w I (x_i − x) / Σ w I, w Gaussian of the star's σ.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import scipy.fft as sfft
from scipy import ndimage

from rediscovery.core.errors import InputError
from rediscovery.cosmo.sn.detect.validation import check_image, check_positive, check_psf

__all__ = [
    "FWHM_PER_SIGMA",
    "MeasuredPSF",
    "find_stars",
    "fit_moffat_psf",
    "fourier_shift",
    "measure_psf",
    "measure_shift",
    "moffat_psf",
    "psf_fwhm",
    "psf_transfer",
    "resample_to",
    "window_centroids",
]

log = logging.getLogger(__name__)

#: FWHM of a Gaussian in units of its σ: 2 √(2 ln 2).
FWHM_PER_SIGMA = 2.0 * np.sqrt(2.0 * np.log(2.0))
#: Sub-pixels per pixel side used to integrate the Moffat profile over pixels.
_SUBPIX = 5


def moffat_psf(fwhm: float, beta: float = 3.5, size: int | None = None,
               dx: float | np.ndarray = 0.0, dy: float | np.ndarray = 0.0) -> np.ndarray:
    """A pixel-integrated Moffat PSF (Moffat 1969), normalised to unit sum on its stamp.

    Parameters
    ----------
    fwhm
        Full width at half maximum in pixels.
    beta
        Moffat index β (> 1; 2.5-4.8 for ground-based seeing; large β tends to a Gaussian).
    size
        Odd side of the stamp in pixels; default the odd number ≥ 6 FWHM (at least 15).
    dx, dy
        Sub-pixel offsets of the centre from the stamp's central pixel (scalars, or arrays of
        one shape for a stack of stamps).

    Returns
    -------
    ndarray
        Shape ``(size, size)``, or ``dx.shape + (size, size)`` for array offsets.

    Examples
    --------
    >>> p = moffat_psf(4.0, 3.5, 21)
    >>> p.shape, round(float(p.sum()), 12), bool(p[10, 10] == p.max())
    ((21, 21), 1.0, True)
    """
    fwhm = check_positive(fwhm, "fwhm")
    beta = check_positive(beta, "beta")
    if beta <= 1:
        raise InputError(f"expected beta > 1 (a normalisable profile), got {beta}",
                         column="beta")
    if size is None:
        size = max(15, int(np.ceil(6 * fwhm)) | 1)
    if size % 2 == 0 or size < 3:
        raise InputError(f"expected an odd stamp size >= 3, got {size}", column="size")
    alpha = fwhm / (2.0 * np.sqrt(2.0 ** (1.0 / beta) - 1.0))
    dx_arr, dy_arr = np.broadcast_arrays(np.asarray(dx, float), np.asarray(dy, float))
    half = size // 2
    sub = (np.arange(size * _SUBPIX) + 0.5) / _SUBPIX - 0.5 - half  # sub-pixel centres
    u = sub - dx_arr[..., None]
    v = sub - dy_arr[..., None]
    r2 = v[..., :, None] ** 2 + u[..., None, :] ** 2
    fine = (1.0 + r2 / alpha**2) ** (-beta)
    img = fine.reshape((*fine.shape[:-2], size, _SUBPIX, size, _SUBPIX)).sum(axis=(-3, -1))
    return img / img.sum(axis=(-2, -1), keepdims=True)


def fit_moffat_psf(psf: np.ndarray) -> tuple[float, float, bool]:
    """``(fwhm, beta, success)`` of the pixel-integrated Moffat (:func:`moffat_psf`) nearest a
    measured PSF stamp in least squares.

    The model is a·M(FWHM, β, dx, dy) + b: the sub-pixel centre, the amplitude a and the
    constant b are free, so that a stamp whose local background was taken from its outer ring
    (:func:`measure_psf` subtracts the wings' light there and renormalises) or whose wings
    were cut by the stamp still gives the profile's FWHM and β. ``success`` is False when the
    fit did not converge or stopped at a bound (FWHM 0.5-stamp side, β 1.1-20).
    """
    from scipy.optimize import least_squares

    p = check_image(psf, "psf")
    size = p.shape[0]
    if p.shape[1] != size or size % 2 == 0:
        raise InputError(f"expected an odd square stamp, got shape {p.shape}", column="psf")
    scale = float(p.max())
    if not scale > 0:
        raise InputError("the PSF stamp has no positive pixel", column="psf")
    target = (p / scale).ravel()
    lo, hi = [0.5, 1.1, -1.0, -1.0, 0.0, -0.5], [float(size), 20.0, 1.0, 1.0, np.inf, 0.5]

    def resid(q: np.ndarray) -> np.ndarray:
        fwhm, beta, dx, dy, a, b = q
        return (a * moffat_psf(fwhm, beta, size, dx, dy) + b).ravel() - target

    f0 = min(max(psf_fwhm(p), 1.0), size / 2.0)
    start = [f0, 3.0, 0.0, 0.0, 1.0 / float(moffat_psf(f0, 3.0, size).max()), 0.0]
    res = least_squares(resid, start, bounds=(lo, hi), x_scale=[1.0, 1.0, 0.1, 0.1, 10.0,
                                                                  0.01])
    fwhm, beta = float(res.x[0]), float(res.x[1])
    at_bound = any(np.isclose(res.x[i], b, rtol=1e-3) for i, b in ((0, lo[0]), (0, hi[0]),
                                                                  (1, lo[1]), (1, hi[1])))
    return fwhm, beta, bool(res.success and not at_bound)


def fourier_shift(images: np.ndarray, dx: float | np.ndarray, dy: float | np.ndarray,
                  *, workers: int | None = None) -> np.ndarray:
    """Shift images (last two axes) by ``(dx, dy)`` pixels with a Fourier phase ramp.

    Positive ``dx`` moves the content towards larger ``x``. The shift is circular (what leaves
    one edge enters the other): pad images whose edges are not near zero. ``dx``/``dy`` may be
    arrays broadcasting against the leading axes of ``images`` (one shift per stamp).
    """
    a = np.asarray(images, dtype=np.float64)
    ny, nx = a.shape[-2:]
    ky = sfft.fftfreq(ny)[:, None]
    kx = sfft.rfftfreq(nx)[None, :]
    dxa = np.asarray(dx, float)[..., None, None]
    dya = np.asarray(dy, float)[..., None, None]
    ramp = np.exp(-2j * np.pi * (kx * dxa + ky * dya))
    if nx % 2 == 0:
        # the Nyquist column of a real signal cannot carry an odd phase: keep it real
        ramp[..., -1] = ramp[..., -1].real
    if ny % 2 == 0:
        ramp[..., ny // 2, :] = ramp[..., ny // 2, :].real
    spec = sfft.rfft2(a, workers=workers)
    return sfft.irfft2(spec * ramp, s=(ny, nx), workers=workers)


def resample_to(image: np.ndarray, shift: tuple[float, float], *,
                workers: int | None = None) -> np.ndarray:
    """``image`` moved by ``shift = (dx, dy)`` pixels (integer and sub-pixel parts at once).

    Use it to put a new image on the reference's grid: if a star at ``(x, y)`` in the
    reference is at ``(x + dx, y + dy)`` in the new image, ``resample_to(new, (-dx, -dy))``.
    Fourier interpolation keeps the noise white and the flux exact; the shift is circular, so
    a band of ``|dx|``, ``|dy|`` pixels at the edges wraps around (mask it).
    """
    img = check_image(image, "image")
    dx, dy = (float(s) for s in shift)
    return fourier_shift(img, dx, dy, workers=workers)


def psf_transfer(psf: np.ndarray, shape: tuple[int, int], *,
                 workers: int | None = None) -> np.ndarray:
    """The optical transfer function: ``rfft2`` of the PSF embedded in an image of ``shape``
    with its centre pixel at ``(0, 0)`` (so that multiplying by it convolves without shift)."""
    ny, nx = shape
    py, px = psf.shape
    if py > ny or px > nx:
        raise InputError(f"PSF stamp {psf.shape} larger than the image {shape}; expected a "
                         "smaller stamp", column="psf")
    full = np.zeros(shape)
    full[:py, :px] = psf
    full = np.roll(full, (-(py // 2), -(px // 2)), axis=(0, 1))
    return sfft.rfft2(full, workers=workers)


def _stamps(image: np.ndarray, xi: np.ndarray, yi: np.ndarray, half: int) -> np.ndarray:
    """Stamps ``(n, 2 half + 1, 2 half + 1)`` centred on integer pixels (must be inside)."""
    off = np.arange(-half, half + 1)
    return image[yi[:, None, None] + off[None, :, None], xi[:, None, None] + off[None, None, :]]


def window_centroids(image: np.ndarray, x: np.ndarray, y: np.ndarray, sigma: float, *,
                     n_iter: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """Windowed (Gaussian-weighted) centroids of stars near ``(x, y)`` (Bertin & Arnouts
    1996, XWIN), all stars at once; background must already be subtracted.

    Parameters
    ----------
    sigma
        Gaussian σ of the window in pixels (the star's σ, FWHM / 2.355).
    """
    img = check_image(image, "image")
    x = np.asarray(x, float).copy()
    y = np.asarray(y, float).copy()
    half = int(np.ceil(4 * sigma))
    xi = np.round(x).astype(int)
    yi = np.round(y).astype(int)
    ny, nx = img.shape
    if np.any((xi < half) | (yi < half) | (xi >= nx - half) | (yi >= ny - half)):
        raise InputError(f"star positions within {half} px of the edge; expected stars inside",
                         column="x, y")
    st = _stamps(img, xi, yi, half)
    off = np.arange(-half, half + 1, dtype=float)
    gx = xi[:, None, None] + off[None, None, :]
    gy = yi[:, None, None] + off[None, :, None]
    for _ in range(n_iter):
        w = np.exp(-((gx - x[:, None, None]) ** 2 + (gy - y[:, None, None]) ** 2)
                   / (2 * sigma**2)) * st
        norm = w.sum(axis=(1, 2))
        ok = norm > 0
        x = np.where(ok, x + 2 * (w * (gx - x[:, None, None])).sum(axis=(1, 2))
                     / np.where(ok, norm, 1), x)
        y = np.where(ok, y + 2 * (w * (gy - y[:, None, None])).sum(axis=(1, 2))
                     / np.where(ok, norm, 1), y)
        # a centroid that wanders off its stamp is not a star: keep it where it was found
        bad = (np.abs(x - xi) > half / 2) | (np.abs(y - yi) > half / 2)
        x[bad] = xi[bad]
        y[bad] = yi[bad]
    return x, y


def measure_shift(image: np.ndarray, reference: np.ndarray, x: np.ndarray, y: np.ndarray, *,
                  fwhm: float = 4.0) -> tuple[float, float, float, float]:
    """Offset of ``image`` relative to ``reference`` measured on stars.

    The median over the stars near ``(x, y)`` of the difference of their windowed centroids
    (each image's median subtracted first). ``resample_to(image, (-dx, -dy))`` puts
    ``image`` on the reference's grid.

    Returns
    -------
    dx, dy, err_x, err_y
        The offset in pixels and its standard errors (1.2533 × the scatter of the stars'
        offsets / √n, the median's error for Gaussian scatter; 0 for a single star): the
        registration noise σ_x, σ_y of ZOGY's astrometric term.
    """
    img = check_image(image, "image")
    ref = check_image(reference, "reference")
    sigma = check_positive(fwhm, "fwhm") / FWHM_PER_SIGMA
    xi, yi = window_centroids(img - np.median(img), x, y, sigma)
    xr, yr = window_centroids(ref - np.median(ref), x, y, sigma)
    ox, oy = xi - xr, yi - yr
    n = ox.size
    ex = float(1.2533 * np.std(ox, ddof=1) / np.sqrt(n)) if n > 1 else 0.0
    ey = float(1.2533 * np.std(oy, ddof=1) / np.sqrt(n)) if n > 1 else 0.0
    return float(np.median(ox)), float(np.median(oy)), ex, ey


def psf_fwhm(psf: np.ndarray, *, oversample: int = 4) -> float:
    """FWHM in pixels of a centred PSF stamp: the area above half maximum of the PSF
    interpolated on a grid ``oversample`` times finer (cubic spline), as a circle's diameter."""
    p = check_image(psf, "psf")
    fine = ndimage.zoom(p, oversample, order=3, grid_mode=True, mode="grid-constant")
    area = np.count_nonzero(fine >= 0.5 * fine.max()) / oversample**2
    return float(2.0 * np.sqrt(area / np.pi))


def find_stars(image: np.ndarray, *, size: int = 25, threshold: float = 50.0,
               saturation: float | None = None, n_max: int = 50) -> tuple[np.ndarray, np.ndarray]:
    """Bright, isolated, unsaturated point sources found by ``sep`` (SExtractor's algorithm).

    Keeps sources detected at ``threshold`` times the background RMS, unflagged, at least
    ``size`` px from the edges and from any other detection, with a peak below
    ``saturation`` (image units, background included); returns the ``n_max`` brightest
    ``(x, y)``.
    """
    import sep

    img = np.ascontiguousarray(check_image(image, "image"))
    bkg = sep.Background(img)
    sub = img - bkg.back()
    objs = sep.extract(sub, threshold, err=bkg.globalrms, minarea=5)
    if len(objs) == 0:
        return np.empty(0), np.empty(0)
    x, y, flag = objs["x"], objs["y"], objs["flag"]
    peak = objs["peak"] + bkg.globalback
    ny, nx = img.shape
    d2 = (x[:, None] - x[None, :]) ** 2 + (y[:, None] - y[None, :]) ** 2
    np.fill_diagonal(d2, np.inf)
    keep = ((flag == 0) & (x > size) & (y > size) & (x < nx - 1 - size) & (y < ny - 1 - size)
            & (d2.min(axis=1) > size**2))
    if saturation is not None:
        keep &= peak < saturation
    order = np.argsort(-objs["flux"][keep])[:n_max]
    return x[keep][order], y[keep][order]


@dataclass(frozen=True)
class MeasuredPSF:
    """A PSF measured from stars.

    Attributes
    ----------
    psf
        Odd-sided, unit-sum stamp centred on its central pixel.
    fwhm
        Its FWHM in pixels (:func:`psf_fwhm`).
    x, y
        The stars' windowed centroids (pixels) that were averaged.
    """

    psf: np.ndarray
    fwhm: float
    x: np.ndarray
    y: np.ndarray

    @property
    def n_stars(self) -> int:
        """Number of stars averaged."""
        return int(self.x.size)


def measure_psf(image: np.ndarray, x: np.ndarray | None = None, y: np.ndarray | None = None,
                *, size: int = 25, fwhm_guess: float = 4.0, saturation: float | None = None,
                n_max: int = 50, workers: int | None = None) -> MeasuredPSF:
    """Measure an image's PSF from bright, isolated, unsaturated stars.

    Each star's stamp has its local background (median of the stamp's outer ring of 2 px)
    subtracted, is recentred on its windowed centroid by a Fourier shift, and normalised to
    unit sum; the stamps are averaged pixel by pixel, each star weighted by the inverse of its
    mean squared deviation from the median stamp, with outliers beyond 4 robust σ removed
    (neighbours, cosmic rays), and the average is renormalised to unit sum.

    Parameters
    ----------
    image
        The image (background included or not; only local differences matter).
    x, y
        Approximate star positions in pixels; found with :func:`find_stars` when omitted.
        Stars with another of the given stars on their stamp are not used.
    size
        Odd side of the returned stamp (pixels).
    fwhm_guess
        Approximate FWHM (pixels) for the centroid window.
    saturation
        Peak level above which a star is not used (image units).
    """
    img = check_image(image, "image")
    if size % 2 == 0 or size < 5:
        raise InputError(f"expected an odd stamp size >= 5, got {size}", column="size")
    half = size // 2
    pad = 3
    if x is None or y is None:
        x, y = find_stars(img, size=half + pad + 2, saturation=saturation, n_max=n_max)
    x = np.atleast_1d(np.asarray(x, float))
    y = np.atleast_1d(np.asarray(y, float))
    ny, nx = img.shape
    inside = (x >= half + pad + 1) & (y >= half + pad + 1) & (x < nx - half - pad - 2) & (
        y < ny - half - pad - 2)
    x, y = x[inside], y[inside]
    if x.size > 1:  # isolated: no other given star on the stamp
        d2 = (x[:, None] - x[None, :]) ** 2 + (y[:, None] - y[None, :]) ** 2
        np.fill_diagonal(d2, np.inf)
        iso = d2.min(axis=1) > (half + pad) ** 2
        x, y = x[iso], y[iso]
    if x.size == 0:
        raise InputError("no usable star (bright, isolated, unsaturated, away from the "
                         "edges); expected at least one", column="x, y")
    if saturation is not None:
        xi, yi = np.round(x).astype(int), np.round(y).astype(int)
        ok = _stamps(img, xi, yi, 2).max(axis=(1, 2)) < saturation
        x, y = x[ok], y[ok]
        if x.size == 0:
            raise InputError("all stars are saturated; expected unsaturated stars",
                             column="saturation")
    big = half + pad
    xi, yi = np.round(x).astype(int), np.round(y).astype(int)
    st = _stamps(img, xi, yi, big)
    ring = np.ones(st.shape[1:], bool)
    ring[2:-2, 2:-2] = False
    st = st - np.median(st[:, ring], axis=1)[:, None, None]
    xc, yc = window_centroids(img - np.median(img), x, y, fwhm_guess / FWHM_PER_SIGMA)
    centred = fourier_shift(st, -(xc - xi), -(yc - yi), workers=workers)[:, pad:-pad, pad:-pad]
    norm = centred.sum(axis=(1, 2))
    good = norm > 0
    centred = centred[good] / norm[good, None, None]
    xc, yc = xc[good], yc[good]
    if centred.shape[0] == 0:
        raise InputError("no star has a positive flux; expected bright stars", column="x, y")
    med = np.median(centred, axis=0)
    mad = 1.4826 * np.median(np.abs(centred - med), axis=0)
    use = np.abs(centred - med) <= 4 * np.maximum(mad, 1e-12) if centred.shape[0] >= 3 else (
        np.ones(centred.shape, bool))
    # inverse-variance weights per star, from its scatter about the median stamp (background
    # and Poisson noise alike: bright stars count more)
    resid2 = np.mean((centred - med) ** 2, axis=(1, 2))
    w = 1.0 / np.maximum(resid2, 1e-30 + 1e-12 * resid2.max())
    wu = np.where(use, w[:, None, None], 0.0)
    psf = (wu * centred).sum(axis=0) / np.maximum(wu.sum(axis=0), 1e-300)
    psf /= psf.sum()
    check_psf(psf, "measured psf")
    log.debug("PSF from %d stars", centred.shape[0])
    return MeasuredPSF(psf=psf, fwhm=psf_fwhm(psf), x=xc, y=yc)
