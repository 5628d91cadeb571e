r"""Vectorised image rendering: Moffat PSF, Sérsic profiles, Fourier placement, noise, defects.

Every function is pure (arrays in, arrays out; randomness only through a passed
:class:`numpy.random.Generator`); no Python loop runs over pixels.

**PSF** (Moffat 1969, A&A 3, 455): :math:`I(r) \propto (1 + r^2/\alpha^2)^{-\beta}` with
:math:`\mathrm{FWHM} = 2\alpha\sqrt{2^{1/\beta} - 1}`; β = 4.765 is the value that matches
Kolmogorov turbulence (Trujillo et al. 2001, MNRAS 328, 977), smaller β gives the broader
wings of real telescopes. The PSF is integrated over each pixel (mean of
``SUBSAMPLE``² sub-pixel samples), truncated at ``PSF_RADIUS_FWHM`` FWHM and normalised to
sum 1, so a point source puts exactly its flux into the (unclipped) image.

**Point sources** are placed at sub-pixel positions in Fourier space: the sum of shifted
delta functions :math:`\sum_k f_k e^{-2\pi i (u x_k + v y_k)}` factorises into one matrix
product of a (v × source) and a (source × u) phase matrix; multiplied by the PSF's transfer
function and transformed back, it gives every source's pixel-integrated PSF at its exact
position in one FFT. Extended sources (galaxies) rendered once on the field grid are shifted
by the pointing offset with a Fourier phase ramp in the same transform. Grids are padded by
the PSF radius and have odd sizes (no Nyquist term, so sub-pixel shifts stay exact).

**Sérsic profiles** (Sérsic 1963, Bol. Asoc. Argentina Astron. 6, 41):
:math:`I(R) = I_e \exp\{-b_n[(R/R_e)^{1/n} - 1]\}` with :math:`b_n` solving
:math:`\gamma(2n, b_n) = \Gamma(2n)/2` so that R_e encloses half the light (Graham & Driver
2005, PASA 22, 118, eq. 4), computed exactly with :func:`scipy.special.gammaincinv`.

**Noise**: counts (ADU) × gain are Poisson-distributed electrons, plus Gaussian read noise
(electrons), divided back by the gain: the variance of an empty pixel is
(sky·gain + RDNOISE²)/gain² ADU².
"""

from __future__ import annotations

import numpy as np
import scipy.fft
from scipy.special import gammaincinv

__all__ = [
    "MOFFAT_BETA_RANGE",
    "PSF_RADIUS_FWHM",
    "SUBSAMPLE",
    "add_noise",
    "cosmic_rays",
    "fourier_grid",
    "moffat_alpha",
    "moffat_stamp",
    "odd_fast_len",
    "point_spectrum",
    "render",
    "sersic_b",
    "sersic_image",
]

#: Moffat β accepted: 2.5 (broad wings of real telescope PSFs) to 4.765 (Kolmogorov
#: turbulence, Trujillo et al. 2001).
MOFFAT_BETA_RANGE = (2.5, 4.765)
#: Radius of the rendered PSF stamp in units of its FWHM. Beyond it a β = 2.5 Moffat holds
#: (1 + (8·FWHM/α)²)^(1-β) ≈ 0.15% of its flux, which the normalisation puts back inside.
PSF_RADIUS_FWHM = 8.0
#: Sub-pixel samples per axis for pixel integration of the PSF.
SUBSAMPLE = 4


def moffat_alpha(fwhm: float | np.ndarray, beta: float | np.ndarray) -> np.ndarray:
    """Moffat core width α (same unit as ``fwhm``): FWHM / (2 sqrt(2^(1/β) − 1))."""
    return np.asarray(fwhm) / (2.0 * np.sqrt(2.0 ** (1.0 / np.asarray(beta)) - 1.0))


def _subpixel_axis(radius: int, subsample: int, offset: float = 0.0) -> np.ndarray:
    """Sub-pixel sample coordinates, shape (2·radius+1, subsample), pixel centres at integers."""
    sub = (np.arange(subsample) + 0.5) / subsample - 0.5
    return np.arange(-radius, radius + 1)[:, None] + sub[None, :] - offset


def moffat_stamp(fwhm: float, beta: float, *, radius: int | None = None,
                 subsample: int = SUBSAMPLE) -> np.ndarray:
    """Pixel-integrated Moffat PSF centred on the central pixel, normalised to sum 1.

    Parameters
    ----------
    fwhm
        Full width at half maximum, pixels.
    beta
        Moffat β.
    radius
        Half-size of the stamp, pixels (default ``ceil(PSF_RADIUS_FWHM · fwhm)``).

    Returns
    -------
    ndarray, shape (2·radius+1, 2·radius+1)
    """
    if radius is None:
        radius = int(np.ceil(PSF_RADIUS_FWHM * fwhm))
    alpha = float(moffat_alpha(fwhm, beta))
    ax = _subpixel_axis(radius, subsample).ravel() / alpha
    prof = (1.0 + ax[:, None] ** 2 + ax[None, :] ** 2) ** (-beta)
    n = 2 * radius + 1
    stamp = prof.reshape(n, subsample, n, subsample).mean(axis=(1, 3))
    return stamp / stamp.sum()


def sersic_b(n: float | np.ndarray) -> np.ndarray:
    """b_n of the Sérsic profile: γ(2n, b_n) = Γ(2n)/2 (Graham & Driver 2005, eq. 4)."""
    return gammaincinv(2.0 * np.asarray(n, dtype=float), 0.5)


def sersic_image(shape: tuple[int, int], x: np.ndarray, y: np.ndarray, flux: np.ndarray,
                 r_eff: np.ndarray, n: np.ndarray, q: np.ndarray, theta: np.ndarray, *,
                 radius_reff: float = 8.0, subsample: int = 3) -> np.ndarray:
    """Sum of Sérsic profiles on a grid (no PSF), each normalised to its ``flux``.

    Each galaxy is evaluated on its own stamp (radius ``radius_reff`` R_e, at least 3 pixels)
    with ``subsample``² samples per pixel, truncated there and renormalised so that the stamp
    holds ``flux``; the part of a stamp outside the grid is dropped.

    Parameters
    ----------
    shape
        (ny, nx) of the grid.
    x, y
        Centres, 0-based pixel coordinates (pixel centres at integers).
    flux
        Total counts per galaxy.
    r_eff
        Half-light radius along the major axis, pixels.
    n, q, theta
        Sérsic index, axis ratio b/a, position angle of the major axis (radians from +x).
    """
    img = np.zeros(shape)
    ny, nx = shape
    bn = sersic_b(n)
    for k in range(len(x)):  # one small numpy stamp per galaxy
        rad = int(np.ceil(max(radius_reff * r_eff[k], 3.0)))
        ix, iy = int(np.rint(x[k])), int(np.rint(y[k]))
        gx = _subpixel_axis(rad, subsample, x[k] - ix).ravel()
        gy = _subpixel_axis(rad, subsample, y[k] - iy).ravel()
        c, s = np.cos(theta[k]), np.sin(theta[k])
        xr = gx[None, :] * c + gy[:, None] * s
        yr = -gx[None, :] * s + gy[:, None] * c
        r = np.sqrt(xr**2 + (yr / q[k]) ** 2) / r_eff[k]
        prof = np.exp(-bn[k] * (r ** (1.0 / n[k]) - 1.0))
        m = 2 * rad + 1
        stamp = prof.reshape(m, subsample, m, subsample).mean(axis=(1, 3))
        stamp *= flux[k] / stamp.sum()
        y0, x0 = iy - rad, ix - rad
        ys, xs = slice(max(y0, 0), min(y0 + m, ny)), slice(max(x0, 0), min(x0 + m, nx))
        if ys.start >= ys.stop or xs.start >= xs.stop:
            continue
        img[ys, xs] += stamp[ys.start - y0:ys.stop - y0, xs.start - x0:xs.stop - x0]
    return img


def odd_fast_len(n: int) -> int:
    """Smallest odd m ≥ n whose prime factors are 3, 5 and 7 (fast FFT, no Nyquist term)."""
    m = n if n % 2 else n + 1
    while True:
        k = m
        for p in (3, 5, 7):
            while k % p == 0:
                k //= p
        if k == 1:
            return m
        m += 2


def fourier_grid(shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """(v, u) frequencies (cycles per pixel) of :func:`scipy.fft.rfft2` on ``shape``:
    v of shape (ny, 1), u of shape (1, nx//2+1)."""
    ny, nx = shape
    return scipy.fft.fftfreq(ny)[:, None], scipy.fft.rfftfreq(nx)[None, :]


def point_spectrum(shape: tuple[int, int], x: np.ndarray, y: np.ndarray,
                   flux: np.ndarray) -> np.ndarray:
    """rfft2 of Σ_k flux_k δ(x − x_k, y − y_k) at sub-pixel positions: one matrix product."""
    v, u = fourier_grid(shape)
    x, y, flux = (np.asarray(a, dtype=float) for a in (x, y, flux))
    a = np.exp(-2j * np.pi * v * y[None, :])                      # (ny, K)
    b = flux[:, None] * np.exp(-2j * np.pi * x[:, None] * u)      # (K, nx//2+1)
    return a @ b


def render(shape: tuple[int, int], psf: np.ndarray, x: np.ndarray, y: np.ndarray,
           flux: np.ndarray, extended_fft: np.ndarray | None = None,
           shift: tuple[float, float] = (0.0, 0.0)) -> np.ndarray:
    """Noiseless image: point sources and a shifted extended image convolved with ``psf``.

    Parameters
    ----------
    shape
        (ny, nx) of the (padded, odd-sized) grid.
    psf
        Odd-sized normalised PSF stamp (:func:`moffat_stamp`), centred on its middle pixel.
    x, y, flux
        Point sources (0-based pixel coordinates on this grid, counts).
    extended_fft
        rfft2 of an image already on this grid (e.g. galaxies), or ``None``.
    shift
        (dx, dy): the extended image's content at (x, y) moves to (x − dx, y − dy) (the
        pointing offset of the exposure).

    Returns
    -------
    ndarray, shape ``shape``; circular convolution (pad the grid by the PSF radius).
    """
    r = psf.shape[0] // 2
    big = np.zeros(shape)
    big[:psf.shape[0], :psf.shape[1]] = psf
    otf = scipy.fft.rfft2(np.roll(big, (-r, -r), axis=(0, 1)))
    spec = point_spectrum(shape, x, y, flux)
    if extended_fft is not None:
        v, u = fourier_grid(shape)
        spec = spec + extended_fft * np.exp(2j * np.pi * (u * shift[0] + v * shift[1]))
    return scipy.fft.irfft2(spec * otf, s=shape)


def add_noise(model: np.ndarray, gain: float, rdnoise: float,
              rng: np.random.Generator) -> np.ndarray:
    """Noisy image (ADU) of a noiseless ``model`` (ADU, sky included): Poisson electrons
    (``model · gain``) plus Gaussian read noise ``rdnoise`` (electrons), divided by ``gain``."""
    electrons = rng.poisson(np.clip(model, 0.0, None) * gain).astype(float)
    electrons += rng.normal(0.0, rdnoise, model.shape)
    return electrons / gain


def cosmic_rays(shape: tuple[int, int], n: int, rng: np.random.Generator, *,
                mean_length: float = 4.0, adu_range: tuple[float, float] = (300.0, 5000.0)
                ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Cosmic-ray hits: straight sharp tracks (and single-pixel hits), not PSF-shaped.

    Track lengths are exponential (mean ``mean_length`` pixels; a length below 0.5 pixel is a
    single-pixel hit); each track deposits a log-uniform ``adu_range`` per pixel crossed.

    Returns
    -------
    image
        The added counts (ADU), shape ``shape``.
    info
        ``x, y, length, angle, adu_per_pixel`` of each ray (start point, 0-based pixels).
    """
    ny, nx = shape
    x0 = rng.uniform(-0.5, nx - 0.5, n)
    y0 = rng.uniform(-0.5, ny - 0.5, n)
    length = rng.exponential(mean_length, n)
    angle = rng.uniform(0.0, np.pi, n)
    adu = np.exp(rng.uniform(*np.log(adu_range), n))
    step = 0.5
    n_steps = int(np.ceil(length.max() / step)) + 1 if n else 1
    t = np.arange(n_steps) * step                                 # (S,)
    keep = t[None, :] <= length[:, None]                          # (n, S)
    xs = np.rint(x0[:, None] + t[None, :] * np.cos(angle)[:, None]).astype(int)
    ys = np.rint(y0[:, None] + t[None, :] * np.sin(angle)[:, None]).astype(int)
    keep &= (xs >= 0) & (xs < nx) & (ys >= 0) & (ys < ny)
    img = np.zeros(shape)
    weight = np.where(length[:, None] < step, 1.0, step) * adu[:, None]
    np.add.at(img, (ys[keep], xs[keep]), np.broadcast_to(weight, keep.shape)[keep])
    return img, {"x": x0, "y": y0, "length": length, "angle": angle, "adu_per_pixel": adu}
