"""One interface over the two subtraction methods, for detection: ZOGY and Alard–Lupton.

:func:`subtract` runs the method named ``"zogy"`` or ``"alard-lupton"`` (the keys of
:data:`SUBTRACTIONS`) on one (new, reference) pair and returns a :class:`DifferenceImage`:
what :func:`~rediscovery.cosmo.sn.detect.detect_field` needs whatever the method (a
significance image to detect on, per-pixel fluxes in the reference's counts, the difference
normalised to unit background noise with the shape of a point source and of a cosmic ray in
it). :func:`~rediscovery.cosmo.sn.detect.zogy_photometry` works on it as on a
:class:`~rediscovery.cosmo.sn.detect.ZogyResult`.

References
----------
ZOGY16, AL98
    See :mod:`.subtract`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from rediscovery.core.errors import ConfigError
from rediscovery.cosmo.sn.detect.subtract import alard_lupton, zogy

__all__ = ["SUBTRACTIONS", "DifferenceImage", "subtract"]


@dataclass(frozen=True)
class DifferenceImage:
    """A difference image ready for detection, in the same terms for every method.

    Attributes
    ----------
    method
        ``"zogy"`` or ``"alard-lupton"``.
    D
        The difference divided by its background noise (unit variance on empty sky).
    P_D
        The shape of a point source in ``D``: odd unit-sum stamp.
    F_D
        A point source of flux α (reference counts) is α F_D P_D in ``D``.
    score
        Significance of a point source at each pixel, σ (ZOGY's S_corr; Alard–Lupton's
        matched-filter score).
    flux, flux_err
        Per pixel: PSF-fit flux of a point source there and its error, reference counts.
    cr_kernel
        The shape of a single hot pixel of the new image in ``D`` (odd stamp).
    """

    method: str
    D: np.ndarray
    P_D: np.ndarray
    F_D: float
    score: np.ndarray
    flux: np.ndarray
    flux_err: np.ndarray
    cr_kernel: np.ndarray


def _zogy(
    new: np.ndarray,
    ref: np.ndarray,
    psf_new: np.ndarray,
    psf_ref: np.ndarray,
    sigma_new: float,
    sigma_ref: float,
    *,
    f_new: float,
    var_new: np.ndarray | None,
    var_ref: np.ndarray | None,
    astrometric_rms: tuple[float, float],
    star_x: np.ndarray | None,
    star_y: np.ndarray | None,
    workers: int | None,
) -> DifferenceImage:
    """ZOGY16 with F_r = 1: D, P_D, F_D and S_corr as they are."""
    z = zogy(
        new,
        ref,
        psf_new,
        psf_ref,
        sigma_new,
        sigma_ref,
        f_new=f_new,
        var_new=var_new,
        var_ref=var_ref,
        astrometric_rms=astrometric_rms,
        workers=workers,
    )
    return DifferenceImage(
        method="zogy",
        D=z.D,
        P_D=z.P_D,
        F_D=z.F_D,
        score=z.S_corr,
        flux=z.flux,
        flux_err=z.flux_err,
        cr_kernel=z.cr_kernel,
    )


def _delta(size: int = 3) -> np.ndarray:
    k = np.zeros((size, size))
    k[size // 2, size // 2] = 1.0
    return k


def _alard_lupton(
    new: np.ndarray,
    ref: np.ndarray,
    psf_new: np.ndarray,
    psf_ref: np.ndarray,
    sigma_new: float,
    sigma_ref: float,
    *,
    f_new: float,
    var_new: np.ndarray | None,
    var_ref: np.ndarray | None,
    astrometric_rms: tuple[float, float],
    star_x: np.ndarray | None,
    star_y: np.ndarray | None,
    workers: int | None,
) -> DifferenceImage:
    """AL98 with a spatially constant kernel fitted on stamps around the stars, convolving the
    image of better seeing (the PSFs' second moments decide), as AL98 advise: a kernel that
    sharpens can only approximate a deconvolution.

    - New image blurrier: diff = N − K ⊗ R − b; a point source of reference flux α is
      α F_n P_n, σ_D² = σ_n² + σ_r² Σ K²; the score is the P_n-matched filter.
    - Reference blurrier: K ⊗ N is fitted to R and diff = K ⊗ N + b − R (sign kept: a new
      source is positive); a point source is α P_r (Σ K = 1 / F_n), σ_D² = σ_n² Σ K² + σ_r²;
      the score is the P_r-matched filter, and a hot pixel of N appears as K.

    Variance images and the registration noise are not used: the baseline's score has no
    source-noise or astrometric term (the difference from ZOGY that the benchmarks show).
    """
    del var_new, var_ref, astrometric_rms
    if _second_moment(psf_new) >= _second_moment(psf_ref):
        al = alard_lupton(
            new,
            ref,
            x=star_x,
            y=star_y,
            psf_new=psf_new,
            sigma_new=sigma_new,
            sigma_ref=sigma_ref,
            workers=workers,
        )
        sigma_d = float(np.sqrt(sigma_new**2 + sigma_ref**2 * np.sum(al.kernel**2)))
        return DifferenceImage(
            method="alard-lupton",
            D=al.diff / sigma_d,
            P_D=psf_new,
            F_D=f_new / sigma_d,
            score=al.score,
            flux=al.flux / f_new,
            flux_err=np.broadcast_to(al.flux_err / f_new, new.shape),
            cr_kernel=_delta(),
        )
    al = alard_lupton(
        ref,
        new,
        x=star_x,
        y=star_y,
        psf_new=psf_ref,
        sigma_new=sigma_ref,
        sigma_ref=sigma_new,
        workers=workers,
    )
    sigma_d = float(np.sqrt(sigma_ref**2 + sigma_new**2 * np.sum(al.kernel**2)))
    return DifferenceImage(
        method="alard-lupton",
        D=-al.diff / sigma_d,
        P_D=psf_ref,
        F_D=1.0 / sigma_d,
        score=-al.score,
        flux=-al.flux,
        flux_err=np.broadcast_to(al.flux_err, new.shape),
        cr_kernel=al.kernel / np.abs(al.kernel).sum(),
    )


def _second_moment(psf: np.ndarray) -> float:
    """⟨r²⟩ of a centred PSF stamp (pixels²): a width that needs no profile fit."""
    h = psf.shape[0] // 2
    off = np.arange(-h, h + 1)
    r2 = off[:, None] ** 2 + off[None, :] ** 2
    return float(np.sum(psf * r2) / np.sum(psf))


Subtraction = Callable[..., DifferenceImage]

#: The subtraction methods by name (``cosmo sn-detect --method``).
SUBTRACTIONS: dict[str, Subtraction] = {"zogy": _zogy, "alard-lupton": _alard_lupton}


def subtract(
    method: str,
    new: np.ndarray,
    ref: np.ndarray,
    psf_new: np.ndarray,
    psf_ref: np.ndarray,
    sigma_new: float,
    sigma_ref: float,
    *,
    f_new: float = 1.0,
    var_new: np.ndarray | None = None,
    var_ref: np.ndarray | None = None,
    astrometric_rms: tuple[float, float] = (0.0, 0.0),
    star_x: np.ndarray | None = None,
    star_y: np.ndarray | None = None,
    workers: int | None = None,
) -> DifferenceImage:
    """Subtract ``ref`` from ``new`` with ``method`` (a key of :data:`SUBTRACTIONS`).

    Parameters are those of :func:`~rediscovery.cosmo.sn.detect.zogy` (F_r = 1, so fluxes are
    in the reference's counts); ``star_x, star_y`` are the stamps of the Alard–Lupton kernel
    fit (found with ``sep`` in the image it convolves when omitted). ZOGY uses the variance
    images and the registration noise; Alard–Lupton ignores them.
    """
    if method not in SUBTRACTIONS:
        raise ConfigError(f"method {method!r} unknown; expected one of {list(SUBTRACTIONS)}")
    return SUBTRACTIONS[method](
        new,
        ref,
        psf_new,
        psf_ref,
        sigma_new,
        sigma_ref,
        f_new=f_new,
        var_new=var_new,
        var_ref=var_ref,
        astrometric_rms=astrometric_rms,
        star_x=star_x,
        star_y=star_y,
        workers=workers,
    )
