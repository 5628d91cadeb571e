"""Difference imaging: ZOGY's proper image subtraction and the Alard–Lupton baseline.

Both take background-subtracted images on the same pixel grid (see
:func:`~rediscovery.cosmo.sn.detect.psf.resample_to`) and work on whole arrays with FFTs
(``scipy.fft``, ``workers`` threads; the convolutions are circular, so sources within a PSF
width of one edge see the opposite edge).

References
----------
ZOGY16
    B. Zackay, E.O. Ofek, A. Gal-Yam, "Proper image subtraction - optimal transient detection,
    photometry and hypothesis testing", ApJ 830 (2016) 27, arXiv:1601.02655. The equation
    numbers cited here (12-15, 17, 25-33, 42-43) are those with which the authors' own
    implementation (E.O. Ofek's MATLAB code, ``imUtil.properSub`` of AstroPack) labels its
    steps; the paper's text itself was not available to check them.
AL98
    C. Alard, R.H. Lupton, "A method for optimal image subtraction", ApJ 503 (1998) 325.
Alard00
    C. Alard, "Image subtraction using a space-varying kernel", A&AS 144 (2000) 363.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import scipy.fft as sfft

from rediscovery.core.errors import ConfigError, InputError
from rediscovery.cosmo.sn.detect.psf import find_stars, fourier_shift, psf_transfer
from rediscovery.cosmo.sn.detect.validation import (
    check_image,
    check_positive,
    check_psf,
    check_same_shape,
    check_variance,
)

__all__ = [
    "AlardLuptonResult",
    "PSFDifference",
    "ZogyResult",
    "alard_lupton",
    "alard_lupton_basis",
    "variance_image",
    "zeropoint_scale",
    "zogy",
    "zogy_flux_normalisation",
    "zogy_photometry",
]


def zeropoint_scale(zp_new: float, zp_ref: float) -> float:
    """ZOGY's flux zero-point ratio F_n for F_r = 1: counts of the new image per count of the
    reference for the same source, 10^(0.4 (ZP_new − ZP_ref)) (ZP: AB magnitude of one
    count)."""
    zn, zr = float(zp_new), float(zp_ref)
    if not (np.isfinite(zn) and np.isfinite(zr)):
        raise ConfigError(f"zp_new, zp_ref: expected finite magnitude zero points, got {zn}, "
                          f"{zr}")
    return float(10.0 ** (0.4 * (zn - zr)))


def variance_image(image: np.ndarray, sky: float, gain: float,
                   read_noise: float = 0.0) -> np.ndarray:
    """Per-pixel variance (image units²) of a background-subtracted image in ADU: Poisson
    noise of sky and sources plus read noise, ``(max(image, 0) + sky) / gain + (read_noise /
    gain)²`` with ``gain`` in e⁻/ADU and ``read_noise`` in e⁻."""
    img = check_image(image, "image")
    sky = float(sky)
    if not np.isfinite(sky) or sky < 0:
        raise ConfigError(f"sky: expected a sky level >= 0 (ADU per pixel), got {sky}")
    gain = check_positive(gain, "gain")
    rn = float(read_noise)
    if not np.isfinite(rn) or rn < 0:
        raise ConfigError(f"read_noise: expected a read noise >= 0 (e-), got {rn}")
    var = (np.maximum(img, 0.0) + sky) / gain + (rn / gain) ** 2
    if np.any(var <= 0):
        raise ConfigError("sky and read_noise are both 0: the variance would vanish; expected "
                          "a positive sky level or read noise")
    return var


def _crop_centred(full: np.ndarray, size: int) -> np.ndarray:
    """The ``size × size`` stamp around pixel ``(0, 0)`` of a circular image."""
    h = size // 2
    return np.roll(full, (h, h), axis=(0, 1))[:size, :size]


def _fit_stamp(k: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """A centred odd stamp cropped to fit in an image of ``shape``."""
    lim = min(shape)
    if k.shape[0] <= lim:
        return k
    c, h = k.shape[0] // 2, (lim - 1) // 2
    return k[c - h:c + h + 1, c - h:c + h + 1]


@dataclass(frozen=True)
class ZogyResult:
    """ZOGY's products for one (new, reference) pair.

    Attributes
    ----------
    D
        Proper difference image (ZOGY16 eq. 13): white noise of unit variance on source-free
        sky (background-limited noise); a point source of flux α appears as α F_D P_D.
    P_D
        Its PSF (eq. 14), an odd stamp centred on the central pixel, unit sum.
    F_D
        Its flux zero-point (eq. 15).
    S
        Score image S = F_D D ⊗ P̄_D (eqs. 12, 17; P̄_D is P_D reversed): the matched filter of
        D, the log-likelihood ratio of a point source at each pixel.
    S_corr
        S / √V_S (eq. 25), V_S = V(S_N) + V(S_R) [+ V_ast] (eqs. 26-33): the significance in σ
        including the source noise of both images; N(0, 1) on empty sky.
    F_S
        Flux normalisation of S (sum over frequencies of F_n²F_r²|P̂_n|²|P̂_r|² / (σ_n²F_r²|P̂_r|²
        + σ_r²F_n²|P̂_n|²), ZOGY16 eq. 42): a point source of flux α peaks at S = α F_S, and
        the background noise of S is √F_S.
    flux, flux_err
        S / F_S and √V_S / F_S (eq. 43): at a point source's position, its PSF-fit flux and
        standard error, in units of the reference's counts when F_r = 1 (the reference's zero
        point).
    cr_kernel
        D's response to a unit-count single pixel of the new image, k = F_r P_r / √(σ_n²F_r²
        |P̂_r|² + σ_r²F_n²|P̂_n|²) in Fourier space, centred stamp: the shape of a cosmic ray in
        D (used by the real/bogus test).
    """

    D: np.ndarray
    P_D: np.ndarray
    F_D: float
    S: np.ndarray
    S_corr: np.ndarray
    F_S: float
    flux: np.ndarray
    flux_err: np.ndarray
    cr_kernel: np.ndarray


def _zogy_inputs(new: object, ref: object, psf_new: object, psf_ref: object, sigma_new: object,
                 sigma_ref: object, f_new: object, f_ref: object):
    n = check_image(new, "new")
    r = check_image(ref, "reference")
    check_same_shape([n, r], ["new", "reference"])
    pn = check_psf(psf_new, "psf_new", max_shape=n.shape)
    pr = check_psf(psf_ref, "psf_ref", max_shape=n.shape)
    return (n, r, pn, pr, check_positive(sigma_new, "sigma_new"),
            check_positive(sigma_ref, "sigma_ref"), check_positive(f_new, "f_new"),
            check_positive(f_ref, "f_ref"))


def _small_grid_products(pn: np.ndarray, pr: np.ndarray, sn: float, sr: float, fn: float,
                         fr: float) -> dict[str, Any]:
    """F_D, F_S and the compact kernels (P_D, the cosmic-ray kernel, k_n and k_r of eqs.
    28-29) computed on a grid of 4 × the PSF side: they depend on the PSFs and noise only and
    are compact, so this is the full image's result without its cost."""
    size = max(*pn.shape, *pr.shape)
    side = sfft.next_fast_len(4 * size)
    pnh = psf_transfer(pn, (side, side))
    prh = psf_transfer(pr, (side, side))
    den2 = np.maximum(sn**2 * fr**2 * np.abs(prh) ** 2 + sr**2 * fn**2 * np.abs(pnh) ** 2,
                      np.finfo(float).tiny)
    den = np.sqrt(den2)
    f_d = fr * fn / np.sqrt(sn**2 * fr**2 + sr**2 * fn**2)  # eq. 15
    p_d = sfft.irfft2(fr * fn * prh * pnh / (f_d * den), s=(side, side))  # eq. 14
    f_s = float(f_d**2 * np.sum(p_d**2))  # = Σ_k F_n²F_r²|P̂_n|²|P̂_r|²/den² (Parseval)
    cr = sfft.irfft2(fr * prh / den, s=(side, side))
    # eqs. 28-29: k̂_n = F_n F_r² conj(P̂_n) |P̂_r|² / den², k̂_r = F_r F_n² conj(P̂_r) |P̂_n|²
    # / den²  (S = k_n ⊗ N − k_r ⊗ R)
    kn = sfft.irfft2(fn * fr**2 * np.conj(pnh) * np.abs(prh) ** 2 / den2, s=(side, side))
    kr = sfft.irfft2(fr * fn**2 * np.conj(prh) * np.abs(pnh) ** 2 / den2, s=(side, side))
    ksize = min(2 * size + 1, side - 1 + side % 2)
    p_d = _crop_centred(p_d, size)
    return {"F_D": float(f_d), "F_S": f_s, "P_D": p_d / p_d.sum(),
            "cr": _crop_centred(cr, size), "k_n": _crop_centred(kn, ksize),
            "k_r": _crop_centred(kr, ksize)}


def zogy_flux_normalisation(psf_new: np.ndarray, psf_ref: np.ndarray, sigma_new: float,
                            sigma_ref: float, f_new: float = 1.0, f_ref: float = 1.0) -> float:
    """F_S of :class:`ZogyResult` from the PSFs and noise alone (no image needed).

    The optimal (matched-filter) S/N of a point source of flux α detected in the pair is
    α √F_S; with a noiseless reference it tends to α F_n √(Σ P_n²) / σ_n, the single-image
    matched filter.
    """
    pn = check_psf(psf_new, "psf_new")
    pr = check_psf(psf_ref, "psf_ref")
    sn, sr = check_positive(sigma_new, "sigma_new"), check_positive(sigma_ref, "sigma_ref")
    fn, fr = check_positive(f_new, "f_new"), check_positive(f_ref, "f_ref")
    return float(_small_grid_products(pn, pr, sn, sr, fn, fr)["F_S"])


def zogy(new: np.ndarray, ref: np.ndarray, psf_new: np.ndarray, psf_ref: np.ndarray,
         sigma_new: float, sigma_ref: float, *, f_new: float | None = None,
         f_ref: float = 1.0, zp_new: float | None = None, zp_ref: float | None = None,
         var_new: np.ndarray | float | None = None, var_ref: np.ndarray | float | None = None,
         astrometric_rms: tuple[float, float] = (0.0, 0.0),
         workers: int | None = None) -> ZogyResult:
    """Proper image subtraction (ZOGY16), closed form in Fourier space.

    Parameters
    ----------
    new, ref
        Background-subtracted new image N and reference R on the same pixel grid.
    psf_new, psf_ref
        Their PSFs P_n, P_r: odd-sided unit-sum stamps centred on the central pixel.
    sigma_new, sigma_ref
        Background noise σ_n, σ_r (standard deviation per pixel, image units).
    f_new, f_ref
        Flux zero points F_n, F_r (counts per unit flux; only their ratio matters for D and S).
        Default F_r = 1 and F_n = 1, or F_n = F_r 10^(0.4 (zp_new − zp_ref)) when the
        magnitude zero points ``zp_new``, ``zp_ref`` are given (:func:`zeropoint_scale`).
    var_new, var_ref
        Per-pixel variances of N and R including the sources' Poisson noise
        (:func:`variance_image`); default σ_n², σ_r² (background only).
    astrometric_rms
        (σ_x, σ_y) registration noise in pixels, adding ZOGY16's V_ast (eqs. 30-33) to V_S.
    workers
        Threads of ``scipy.fft`` (None: one).

    Returns
    -------
    ZogyResult
    """
    if zp_new is not None or zp_ref is not None:
        if zp_new is None or zp_ref is None or f_new is not None:
            raise ConfigError("zp_new, zp_ref: give both magnitude zero points (and no f_new), "
                              "or f_new alone")
        f_new = f_ref * zeropoint_scale(zp_new, zp_ref)
    n, r, pn, pr, sn, sr, fn, fr = _zogy_inputs(new, ref, psf_new, psf_ref, sigma_new,
                                                 sigma_ref, 1.0 if f_new is None else f_new,
                                                 f_ref)
    shape = n.shape
    fft_kw = {"workers": workers}
    nh = sfft.rfft2(n, **fft_kw)
    rh = sfft.rfft2(r, **fft_kw)
    pnh = psf_transfer(pn, shape, **fft_kw)
    prh = psf_transfer(pr, shape, **fft_kw)
    # denominator of eqs. 13-14 squared: σ_n² F_r² |P̂_r|² + σ_r² F_n² |P̂_n|²
    den2 = sn**2 * fr**2 * (prh.real**2 + prh.imag**2) + sr**2 * fn**2 * (
        pnh.real**2 + pnh.imag**2)
    den2 = np.maximum(den2, np.finfo(float).tiny)  # both PSFs exactly 0: no information
    den = np.sqrt(den2)
    # eq. 15: F_D = F_r F_n / √(σ_n² F_r² + σ_r² F_n²)
    f_d = fr * fn / np.sqrt(sn**2 * fr**2 + sr**2 * fn**2)
    # eq. 13: D̂ = (F_r P̂_r N̂ − F_n P̂_n R̂) / den
    dh = (fr * prh * nh - fn * pnh * rh) / den
    # eq. 14: P̂_D = F_r F_n P̂_r P̂_n / (F_D den)
    pdh = fr * fn * prh * pnh / (f_d * den)
    d = sfft.irfft2(dh, s=shape, **fft_kw)
    # eq. 17: Ŝ = F_D D̂ conj(P̂_D)  (S = F_D D ⊗ P_D reversed)
    dh *= f_d * np.conj(pdh)
    s = sfft.irfft2(dh, s=shape, **fft_kw)
    del dh, pdh
    small = _small_grid_products(pn, pr, sn, sr, fn, fr)
    f_s = float(small["F_S"])
    p_d, cr = small["P_D"], small["cr"]
    k_n, k_r = (_fit_stamp(np.asarray(small[k]), shape) for k in ("k_n", "k_r"))

    sx, sy = (float(a) for a in astrometric_rms)
    if not (np.isfinite(sx) and np.isfinite(sy) and sx >= 0 and sy >= 0):
        raise ConfigError(f"astrometric_rms: expected two values >= 0 (pixels), got "
                          f"{astrometric_rms}")
    if var_new is None and var_ref is None and sx == 0 and sy == 0:
        v_s: np.ndarray | float = f_s  # background only: V_S = F_S everywhere
    else:
        vn = check_variance(sn**2 if var_new is None else var_new, "var_new", shape)
        vr = check_variance(sr**2 if var_ref is None else var_ref, "var_ref", shape)
        # eqs. 26-27: V(S_N) = V(N) ⊗ k_n², V(S_R) = V(R) ⊗ k_r² (k_n, k_r of eqs. 28-29 are
        # compact: built on the small grid, embedded here)
        v_s = sfft.irfft2(sfft.rfft2(vn, **fft_kw) * psf_transfer(k_n**2, shape, **fft_kw)
                          + sfft.rfft2(vr, **fft_kw) * psf_transfer(k_r**2, shape, **fft_kw),
                          s=shape, **fft_kw)
        if sx > 0 or sy > 0:
            # eqs. 30-33: V_ast = σ_x² (∂S_N/∂x)² + σ_y² (∂S_N/∂y)² + the same for S_R
            ky = 2j * np.pi * sfft.fftfreq(shape[0])[:, None]
            kx = 2j * np.pi * sfft.rfftfreq(shape[1])[None, :]
            for part in (psf_transfer(k_n, shape, **fft_kw) * nh,
                         psf_transfer(k_r, shape, **fft_kw) * rh):
                gx = sfft.irfft2(kx * part, s=shape, **fft_kw)
                gy = sfft.irfft2(ky * part, s=shape, **fft_kw)
                v_s = v_s + sx**2 * gx**2 + sy**2 * gy**2
        # round-off can leave tiny negative values far from any pixel's support
        v_s = np.maximum(v_s, 1e-12 * f_s)
    sqrt_vs = np.sqrt(v_s)
    s_corr = s / sqrt_vs
    flux = s / f_s
    flux_err = np.broadcast_to(sqrt_vs / f_s, shape)  # a read-only view when constant
    return ZogyResult(D=d, P_D=p_d, F_D=float(f_d), S=s, S_corr=s_corr, F_S=f_s, flux=flux,
                      flux_err=flux_err, cr_kernel=cr)


class PSFDifference(Protocol):
    """What :func:`zogy_photometry` reads: a difference ``D`` with unit background noise, the
    shape ``P_D`` and flux scale ``F_D`` of a point source in it, and per-pixel flux errors
    (:class:`ZogyResult`, or :class:`~rediscovery.cosmo.sn.detect.difference.DifferenceImage`
    of either method)."""

    D: np.ndarray
    P_D: np.ndarray
    F_D: float
    flux_err: np.ndarray


def zogy_photometry(result: PSFDifference, x: object, y: object
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Forced PSF-fit photometry on D at sub-pixel positions ``(x, y)``.

    The least-squares amplitude of α F_D P_D (P_D moved to each position by a Fourier shift)
    fitted to D on the P_D stamp, α = Σ D P_D / (F_D Σ P_D²): the value of S / F_S (ZOGY16)
    at the sub-pixel position rather than at the nearest pixel. The error is √V_S / F_S at
    the nearest pixel (background and source noise). Units as :attr:`ZogyResult.flux`.
    """
    xs = np.atleast_1d(np.asarray(x, float))
    ys = np.atleast_1d(np.asarray(y, float))
    ny, nx = result.D.shape
    if not (np.all(np.isfinite(xs)) and np.all(np.isfinite(ys))):
        raise InputError("expected finite positions", column="x, y")
    if np.any((xs < -0.5) | (ys < -0.5) | (xs > nx - 0.5) | (ys > ny - 0.5)):
        raise InputError(f"positions outside the image ({nx} x {ny} px)", column="x, y")
    p = result.P_D
    h = p.shape[0] // 2
    xi, yi = np.round(xs).astype(int), np.round(ys).astype(int)
    pp = np.pad(p, 2)
    model = fourier_shift(np.broadcast_to(pp, (xs.size, *pp.shape)), xs - xi, ys - yi)
    model = model[:, 2:-2, 2:-2]
    off = np.arange(-h, h + 1)
    # circular indexing, like the FFT products
    st = result.D[(yi[:, None, None] + off[None, :, None]) % ny,
                  (xi[:, None, None] + off[None, None, :]) % nx]
    flux = np.sum(st * model, axis=(1, 2)) / (result.F_D * np.sum(model**2, axis=(1, 2)))
    err = np.asarray(result.flux_err)[np.clip(yi, 0, ny - 1), np.clip(xi, 0, nx - 1)]
    return flux, err


# ---------------------------------------------------------------------------------------------
# Alard-Lupton
# ---------------------------------------------------------------------------------------------
def alard_lupton_basis(half_width: int = 10, sigmas: Sequence[float] = (0.7, 1.5, 3.0),
                       degrees: Sequence[int] = (6, 4, 2)) -> np.ndarray:
    """The kernel basis of AL98: Gaussians exp(−(u² + v²) / 2σ²) times monomials u^p v^q,
    p + q ≤ degree of that Gaussian, on a ``(2 half_width + 1)²`` stamp (u, v in units of
    ``half_width`` to keep the basis well conditioned).

    Returns
    -------
    ndarray
        Shape ``(n_basis, 2 half_width + 1, 2 half_width + 1)``; 49 kernels for the defaults
        (28 + 15 + 6).
    """
    if len(sigmas) != len(degrees) or len(sigmas) == 0:
        raise ConfigError(f"sigmas and degrees: expected two non-empty lists of one length, got "
                          f"{list(sigmas)} and {list(degrees)}")
    if half_width < 1:
        raise ConfigError(f"half_width: expected >= 1 pixel, got {half_width}")
    off = np.arange(-half_width, half_width + 1, dtype=float)
    v, u = np.meshgrid(off, off, indexing="ij")
    out = []
    for sig, deg in zip(sigmas, degrees, strict=True):
        g = np.exp(-(u**2 + v**2) / (2 * check_positive(sig, "sigmas") ** 2))
        if int(deg) < 0:
            raise ConfigError(f"degrees: expected polynomial degrees >= 0, got {deg}")
        for p in range(int(deg) + 1):
            for q in range(int(deg) + 1 - p):
                out.append(g * (u / half_width) ** p * (v / half_width) ** q)
    return np.array(out)


@dataclass(frozen=True)
class AlardLuptonResult:
    """The Alard–Lupton difference.

    Attributes
    ----------
    diff
        N − K ⊗ R − b: the difference in the new image's units and PSF.
    kernel
        The fitted convolution kernel K (stamp); its sum is the photometric ratio
        N / R (= F_n / F_r).
    background
        The fitted constant background difference b.
    coefficients
        The basis coefficients (order of :func:`alard_lupton_basis`).
    score, flux, flux_err
        When the new PSF and the noise levels are given: the matched-filter significance of a
        point source at each pixel, (P̄_n ⊗ diff) / σ_filter with σ_filter² = σ_n² Σ P_n² +
        σ_r² Σ (P_n ⊗ K)² (background-limited, exact for white input noise), and the PSF-fit
        flux (P̄_n ⊗ diff) / Σ P_n² (new-image counts) with its error; otherwise None.
    n_fit_pixels
        Number of pixels used in the fit.
    """

    diff: np.ndarray
    kernel: np.ndarray
    background: float
    coefficients: np.ndarray
    score: np.ndarray | None
    flux: np.ndarray | None
    flux_err: float | None
    n_fit_pixels: int


def alard_lupton(new: np.ndarray, ref: np.ndarray, *, x: np.ndarray | None = None,
                 y: np.ndarray | None = None, stamp_half_width: int = 15,
                 half_width: int = 10, sigmas: Sequence[float] = (0.7, 1.5, 3.0),
                 degrees: Sequence[int] = (6, 4, 2), psf_new: np.ndarray | None = None,
                 sigma_new: float | None = None, sigma_ref: float | None = None,
                 workers: int | None = None) -> AlardLuptonResult:
    """Alard–Lupton image subtraction (AL98; Alard00) with a spatially constant kernel.

    Fits N ≈ K ⊗ R + b by linear least squares on stamps around stars, K = Σ a_j K_j on the
    Gaussian × polynomial basis of :func:`alard_lupton_basis` and b a constant; then returns
    N − K ⊗ R − b on the whole image. The kernel does not vary across the image (Alard00's
    spatial polynomial of the coefficients is not modelled): enough for images whose PSFs are
    constant across the field, as in the survey simulator. The reference should have the
    better seeing (K then blurs it); with a sharper new image the fitted K can only
    approximate a deconvolution.

    Parameters
    ----------
    new, ref
        Background-subtracted images on one grid.
    x, y
        Star positions (pixels) for the fit stamps; found with ``sep`` in the reference
        (:func:`~rediscovery.cosmo.sn.detect.psf.find_stars`) when omitted.
    stamp_half_width
        Half side of the fit stamps (pixels).
    half_width
        Half side of the kernel stamp (pixels).
    psf_new, sigma_new, sigma_ref
        Optional, for the matched-filter ``score`` and ``flux`` (see
        :class:`AlardLuptonResult`).
    """
    n = check_image(new, "new")
    r = check_image(ref, "reference")
    check_same_shape([n, r], ["new", "reference"])
    basis = alard_lupton_basis(half_width, sigmas, degrees)
    if x is None or y is None:
        x, y = find_stars(r, size=stamp_half_width + half_width + 1, threshold=20.0, n_max=100)
    x = np.atleast_1d(np.asarray(x, float))
    y = np.atleast_1d(np.asarray(y, float))
    big = stamp_half_width + half_width
    ny, nx = n.shape
    xi, yi = np.round(x).astype(int), np.round(y).astype(int)
    inside = (xi >= big) & (yi >= big) & (xi < nx - big) & (yi < ny - big)
    xi, yi = xi[inside], yi[inside]
    n_coef = basis.shape[0] + 1
    if xi.size * (2 * stamp_half_width + 1) ** 2 < 4 * n_coef:
        raise InputError(f"{xi.size} star stamp(s) inside the image; expected enough stars to "
                         f"fit {n_coef} coefficients (pass x, y of bright stars)", column="x, y")
    off_big = np.arange(-big, big + 1)
    r_st = r[yi[:, None, None] + off_big[None, :, None], xi[:, None, None] + off_big[None, None, :]]
    off = np.arange(-stamp_half_width, stamp_half_width + 1)
    n_st = n[yi[:, None, None] + off[None, :, None], xi[:, None, None] + off[None, None, :]]
    # basis images on the stamps: K_j ⊗ R_stamp (FFT on the padded stamp, 'valid' part)
    side = r_st.shape[-1]
    kh = _transfer_stack(basis, side, workers=workers)
    conv = sfft.irfft2(sfft.rfft2(r_st, workers=workers)[:, None] * kh[None], s=(side, side),
                       workers=workers)
    conv = conv[..., half_width:side - half_width, half_width:side - half_width]
    a = conv.transpose(1, 0, 2, 3).reshape(basis.shape[0], -1).T
    a = np.column_stack([a, np.ones(a.shape[0])])
    scale = np.sqrt(np.sum(a**2, axis=0))
    scale[scale == 0] = 1.0
    a /= scale
    # normal equations (AᵀA) c = Aᵀ n, columns scaled to unit norm; lstsq on the small
    # matrix copes with a rank-deficient basis (too few or too faint stars)
    coef, *_ = np.linalg.lstsq(a.T @ a, a.T @ n_st.ravel(), rcond=1e-12)
    coef = coef / scale
    kernel = np.tensordot(coef[:-1], basis, axes=1)
    bkg = float(coef[-1])
    model = sfft.irfft2(sfft.rfft2(r, workers=workers) * psf_transfer(kernel, r.shape,
                                                                          workers=workers),
                        s=r.shape, workers=workers)
    diff = n - model - bkg
    score = flux = None
    flux_err = None
    if psf_new is not None:
        pn = check_psf(psf_new, "psf_new", max_shape=n.shape)
        sn = check_positive(sigma_new, "sigma_new")
        sr = check_positive(sigma_ref, "sigma_ref")
        pnh = psf_transfer(pn, n.shape, workers=workers)
        filt = sfft.irfft2(sfft.rfft2(diff, workers=workers) * np.conj(pnh), s=n.shape,
                           workers=workers)
        pk = _convolve_stamps(pn, kernel)  # P_n ⊗ K: the reference noise's filter
        var = sn**2 * np.sum(pn**2) + sr**2 * np.sum(pk**2)
        score = filt / np.sqrt(var)
        flux = filt / np.sum(pn**2)
        flux_err = float(np.sqrt(var) / np.sum(pn**2))
    return AlardLuptonResult(diff=diff, kernel=kernel, background=bkg, coefficients=coef,
                             score=score, flux=flux, flux_err=flux_err,
                             n_fit_pixels=int(n_st.size))


def _transfer_stack(stamps: np.ndarray, side: int, *, workers: int | None = None) -> np.ndarray:
    """``rfft2`` of each centred stamp of a stack embedded in a ``side × side`` image with its
    centre at pixel ``(0, 0)`` (the stack version of ``psf_transfer``)."""
    k, py, px = stamps.shape
    full = np.zeros((k, side, side))
    full[:, :py, :px] = stamps
    full = np.roll(full, (-(py // 2), -(px // 2)), axis=(1, 2))
    return sfft.rfft2(full, workers=workers)


def _convolve_stamps(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Full linear convolution of two small stamps (zero-padded FFT)."""
    shape = (a.shape[0] + b.shape[0] - 1, a.shape[1] + b.shape[1] - 1)
    return sfft.irfft2(sfft.rfft2(a, s=shape) * sfft.rfft2(b, s=shape), s=shape)
