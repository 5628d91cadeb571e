"""One field and band end to end: the epochs against the reference → candidates.

:func:`detect_field` is the function the ``cosmo`` CLI stage will call once the image files
are read (arrays + header dicts); it chains PSF measurement, ZOGY, detection, real/bogus,
DBSCAN clustering and host matching.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from rediscovery.core.errors import ConfigError, InputError
from rediscovery.cosmo.sn.detect.difference import SUBTRACTIONS, subtract
from rediscovery.cosmo.sn.detect.psf import find_stars, measure_psf, measure_shift, resample_to
from rediscovery.cosmo.sn.detect.sources import (
    cluster_detections,
    detect_sources,
    match_hosts,
    real_bogus_features,
    real_bogus_score,
)
from rediscovery.cosmo.sn.detect.subtract import (
    variance_image,
    zeropoint_scale,
    zogy_photometry,
)
from rediscovery.cosmo.sn.detect.validation import check_image, check_psf, check_same_shape

__all__ = ["CANDIDATE_COLUMNS", "FieldResult", "detect_field", "noise_from_header"]

log = logging.getLogger(__name__)

#: Columns of ``candidates.csv`` (ARCHITECTURE.md, cosmology contracts), in order.
CANDIDATE_COLUMNS = ("cand_id", "field", "ra", "dec", "x", "y", "first_mjd", "n_detections",
                     "host_id", "z", "real_bogus_score")

#: Offsets (pixels) below which an epoch is not resampled onto the reference.
_ALIGN_TOLERANCE = 0.01

PixelToWorld = Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]


@dataclass(frozen=True)
class FieldResult:
    """What :func:`detect_field` found.

    Attributes
    ----------
    detections
        One row per detection and epoch: ``epoch, mjd, x, y, significance, flux, flux_err,
        npix``, the real/bogus features and ``real_bogus_score``, ``ra, dec`` (NaN without a
        pixel → sky transform) and ``cand_id`` (−1: in no candidate). ``flux`` is in the
        reference's counts (zero point ZP of the reference header).
    candidates
        The ``candidates.csv`` table (:data:`CANDIDATE_COLUMNS`) plus ``max_significance``.
    psf_ref, psfs_new
        The PSFs used.
    """

    detections: pd.DataFrame
    candidates: pd.DataFrame
    psf_ref: np.ndarray
    psfs_new: tuple[np.ndarray, ...]


def _header_value(header: Mapping[str, object], key: str, where: str) -> float:
    if key not in header:
        raise InputError(f"header has no {key}; expected MJD, ZP, GAIN, SKYLEVEL, RDNOISE",
                         column=f"{where}.{key}")
    v = float(header[key])  # type: ignore[arg-type]
    if not np.isfinite(v):
        raise InputError(f"{key} = {v}; expected a finite number", column=f"{where}.{key}")
    return v


def noise_from_header(image: np.ndarray, header: Mapping[str, object], where: str = "header",
                      *, image_name: str = "image", subtract_sky: bool = True
                      ) -> tuple[np.ndarray, float, np.ndarray]:
    """Background-subtracted image, background σ and variance image from the header's
    SKYLEVEL (ADU per pixel), GAIN (e⁻/ADU) and RDNOISE (e⁻):
    σ² = SKYLEVEL / GAIN + (RDNOISE / GAIN)². ``where`` and ``image_name`` name the header
    and the image in error messages."""
    img = check_image(image, image_name)
    sky = _header_value(header, "SKYLEVEL", where)
    gain = _header_value(header, "GAIN", where)
    rn = _header_value(header, "RDNOISE", where)
    sub = img - sky if subtract_sky else img
    var = variance_image(sub, sky, gain, rn)
    return sub, float(np.sqrt(sky / gain + (rn / gain) ** 2)), var


def detect_field(new_images: Sequence[np.ndarray], new_headers: Sequence[Mapping[str, object]],
                 reference: np.ndarray, reference_header: Mapping[str, object], *,
                 field: str = "", psf_ref: np.ndarray | None = None,
                 psfs_new: Sequence[np.ndarray] | None = None,
                 star_x: np.ndarray | None = None, star_y: np.ndarray | None = None,
                 psf_size: int = 25, subtract_sky: bool = True, align: bool = True,
                 threshold: float = 5.0,
                 eps: float = 1.5, min_samples: int = 2,
                 pixel_to_world: PixelToWorld | None = None, hosts: pd.DataFrame | None = None,
                 host_radius_arcsec: float = 2.0, method: str = "zogy",
                 workers: int | None = None) -> FieldResult:
    """Find transient candidates in the epochs of one field and band.

    For each epoch: measure its offset from the reference on the stars and resample it onto
    the reference's grid (``align``; Fourier shift, :func:`~.measure_shift`,
    :func:`~.resample_to`; the offset's error enters ZOGY's astrometric noise term), subtract
    the sky (header SKYLEVEL), build the variance image (GAIN,
    RDNOISE), measure the PSF on the stars (or use the given one), subtract the reference with
    ``method`` (:func:`~.subtract`: ZOGY, or the Alard–Lupton baseline) with F_n from the zero
    points (F_r = 1), detect on the significance image (ZOGY's S_corr) above ``threshold`` σ,
    and score each detection's morphology (:func:`~.real_bogus_score`).
    Then group the detections of all epochs with DBSCAN (``eps`` pixels, ``min_samples``
    detections) into candidates, convert positions to (ra, dec) and match hosts.

    Parameters
    ----------
    new_images, new_headers
        The epochs (ADU, sky included unless ``subtract_sky=False``) on the reference's pixel
        grid up to a small offset (a few pixels at most; corrected when ``align``) and their
        headers (MJD, ZP, GAIN, SKYLEVEL, RDNOISE).
    reference, reference_header
        The deep reference image and its header (ZP, GAIN, SKYLEVEL, RDNOISE).
    psf_ref, psfs_new
        PSFs if known; otherwise measured from ``star_x, star_y`` (pixels; also used for
        ``align``) or from stars found by ``sep`` in the reference.
    pixel_to_world
        ``f(x, y) -> (ra, dec)`` in degrees (e.g. ``lambda x, y: wcs.all_pix2world(x, y,
        0)`` for an astropy WCS); without it ra, dec, host_id and z are left empty.
    hosts
        ``hosts.csv`` as a DataFrame (host_id, ra, dec, z), matched within
        ``host_radius_arcsec``.
    method
        ``"zogy"`` (default) or ``"alard-lupton"`` (:data:`~.SUBTRACTIONS`); Alard–Lupton fits
        its kernel on stamps around ``star_x, star_y`` (or stars it finds).

    Returns
    -------
    FieldResult
    """
    if len(new_images) != len(new_headers):
        raise InputError(f"{len(new_images)} images but {len(new_headers)} headers; expected "
                         "one header per image", column="new_headers")
    if len(new_images) == 0:
        raise InputError("no new image; expected at least one epoch", column="new_images")
    if method not in SUBTRACTIONS:
        raise ConfigError(f"method {method!r} unknown; expected one of {list(SUBTRACTIONS)}")
    if psfs_new is not None and len(psfs_new) != len(new_images):
        raise ConfigError(f"psfs_new: expected one PSF per epoch ({len(new_images)}), got "
                          f"{len(psfs_new)}")
    ref, sigma_r, var_r = noise_from_header(reference, reference_header, "reference_header",
                                            image_name="reference",
                                            subtract_sky=subtract_sky)
    zp_r = _header_value(reference_header, "ZP", "reference_header")
    if (psf_ref is None or psfs_new is None or align) and (star_x is None or star_y is None):
        star_x, star_y = find_stars(ref, size=psf_size // 2 + 5)
    pr = (check_psf(psf_ref, "psf_ref") if psf_ref is not None
          else measure_psf(ref, star_x, star_y, size=psf_size, workers=workers).psf)
    tables, used = [], []
    for i, (img, hdr) in enumerate(zip(new_images, new_headers, strict=True)):
        where = f"new_headers[{i}]"
        check_same_shape([ref, check_image(img, f"new_images[{i}]")],
                         ["reference", f"new_images[{i}]"])
        astrometric = (0.0, 0.0)
        if align and star_x is not None and star_y is not None and np.size(star_x) > 0:
            dx, dy, ex, ey = measure_shift(img, ref, star_x, star_y)
            if max(abs(dx), abs(dy)) > _ALIGN_TOLERANCE:
                img = resample_to(img, (-dx, -dy), workers=workers)
                log.info("epoch %d: resampled by (%.3f, %.3f) px onto the reference", i, -dx,
                         -dy)
                astrometric = (ex, ey)
            else:
                astrometric = (float(np.hypot(dx, ex)), float(np.hypot(dy, ey)))
        new, sigma_n, var_n = noise_from_header(img, hdr, where, image_name=f"new_images[{i}]",
                                                subtract_sky=subtract_sky)
        mjd = _header_value(hdr, "MJD", where)
        f_n = zeropoint_scale(_header_value(hdr, "ZP", where), zp_r)
        pn = (check_psf(psfs_new[i], f"psfs_new[{i}]") if psfs_new is not None
              else measure_psf(new, star_x, star_y, size=psf_size, workers=workers).psf)
        used.append(pn)
        z = subtract(method, new, ref, pn, pr, sigma_n, sigma_r, f_new=f_n, var_new=var_n,
                     var_ref=var_r, astrometric_rms=astrometric, star_x=star_x, star_y=star_y,
                     workers=workers)
        det = detect_sources(z.score, threshold, flux=z.flux, flux_err=z.flux_err,
                             border=max(pn.shape[0], pr.shape[0]) // 2)
        if len(det):  # PSF-fit flux at the sub-pixel position rather than the peak pixel
            det["flux"], det["flux_err"] = zogy_photometry(z, det["x"], det["y"])
        feats = real_bogus_features(z.D, z.P_D, z.cr_kernel, det["x"], det["y"])
        det = pd.concat([det, feats], axis=1)
        det["real_bogus_score"] = real_bogus_score(feats)
        det.insert(0, "mjd", mjd)
        det.insert(0, "epoch", i)
        tables.append(det)
        log.info("epoch %d (MJD %.3f): %d detections", i, mjd, len(det))
    detections = pd.concat(tables, ignore_index=True)
    if pixel_to_world is not None and len(detections):
        ra, dec = pixel_to_world(detections["x"].to_numpy(), detections["y"].to_numpy())
        detections["ra"] = np.asarray(ra, float)
        detections["dec"] = np.asarray(dec, float)
    else:
        detections["ra"] = np.nan
        detections["dec"] = np.nan
    labels, cands = cluster_detections(detections, eps=eps, min_samples=min_samples)
    detections["cand_id"] = labels
    cands.insert(1, "field", field)
    if hosts is not None and pixel_to_world is not None and len(cands):
        m = match_hosts(cands["ra"], cands["dec"], hosts, radius_arcsec=host_radius_arcsec)
        cands["host_id"] = m["host_id"].to_numpy()
        cands["z"] = m["z"].to_numpy()
    else:
        cands["host_id"] = -1
        cands["z"] = np.nan
    extra = [c for c in cands.columns if c not in CANDIDATE_COLUMNS]
    cands = cands[[*CANDIDATE_COLUMNS, *extra]]
    return FieldResult(detections=detections, candidates=cands, psf_ref=pr,
                       psfs_new=tuple(used))
