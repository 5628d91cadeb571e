"""Difference imaging and transient detection, owned by the SN detection team.

Reads: background-subtracted images as arrays on one pixel grid (the new epochs and the deep
reference of a field and band), their PSFs or the stars to measure them from, the noise and
zero points (the FITS header values MJD, BAND, ZP, SEEING, GAIN, SKYLEVEL, RDNOISE as dicts),
a pixel → sky transform and the hosts table (host_id, ra, dec, z).
Writes (returns): difference and score images (:class:`ZogyResult`,
:class:`AlardLuptonResult`, and for detection with either method :class:`DifferenceImage`
via :func:`subtract`), per-epoch detection tables and the candidates table of the
cosmology contract (cand_id, field, ra, dec, x, y, first_mjd, n_detections, host_id, z,
real_bogus_score) via :func:`detect_field`. Pure computation on arrays: file I/O belongs to
the caller.
"""

from __future__ import annotations

from rediscovery.cosmo.sn.detect.difference import SUBTRACTIONS, DifferenceImage, subtract
from rediscovery.cosmo.sn.detect.field import CANDIDATE_COLUMNS, FieldResult, detect_field
from rediscovery.cosmo.sn.detect.inject import (
    add_cosmic_rays,
    flux_for_snr,
    inject_point_sources,
    match_injections,
    optimal_snr,
)
from rediscovery.cosmo.sn.detect.psf import (
    MeasuredPSF,
    find_stars,
    fit_moffat_psf,
    fourier_shift,
    measure_psf,
    measure_shift,
    moffat_psf,
    psf_fwhm,
    resample_to,
    window_centroids,
)
from rediscovery.cosmo.sn.detect.sources import (
    cluster_detections,
    detect_sources,
    match_hosts,
    real_bogus_features,
    real_bogus_score,
)
from rediscovery.cosmo.sn.detect.subtract import (
    AlardLuptonResult,
    ZogyResult,
    alard_lupton,
    alard_lupton_basis,
    variance_image,
    zeropoint_scale,
    zogy,
    zogy_flux_normalisation,
    zogy_photometry,
)

__all__ = [
    "CANDIDATE_COLUMNS",
    "SUBTRACTIONS",
    "AlardLuptonResult",
    "DifferenceImage",
    "FieldResult",
    "MeasuredPSF",
    "ZogyResult",
    "add_cosmic_rays",
    "alard_lupton",
    "alard_lupton_basis",
    "cluster_detections",
    "detect_field",
    "detect_sources",
    "find_stars",
    "fit_moffat_psf",
    "flux_for_snr",
    "fourier_shift",
    "inject_point_sources",
    "match_hosts",
    "match_injections",
    "measure_psf",
    "measure_shift",
    "moffat_psf",
    "optimal_snr",
    "psf_fwhm",
    "real_bogus_features",
    "real_bogus_score",
    "resample_to",
    "subtract",
    "variance_image",
    "window_centroids",
    "zeropoint_scale",
    "zogy",
    "zogy_flux_normalisation",
    "zogy_photometry",
]
