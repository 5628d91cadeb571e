"""CMB time-ordered data simulator, owned by the CMB map-making team.

Reads: nothing (draws a hidden cosmology, or takes C_ℓ / CAMB parameters).
Writes: ``tod.h5`` (HDF5: per detector samples in μK, HEALPix pointing, sample rate, beam and
noise parameters; chunked, see :mod:`rediscovery.cosmo.cmb.tod.io`) and the hidden
``truth/truth.json`` + ``truth/truth_sky.fits`` (input sky, never read by analysis stages).
"""

from __future__ import annotations

from rediscovery.cosmo.cmb.tod.io import TODFile, simulate_to_files, write_tod
from rediscovery.cosmo.cmb.tod.noise import noise_psd, simulate_noise
from rediscovery.cosmo.cmb.tod.scan import (
    Detector,
    ScanStrategy,
    default_focal_plane,
    detector_pointing,
    detector_pointing_psi,
    horizon_to_equatorial,
    parallactic_angle,
)
from rediscovery.cosmo.cmb.tod.simulate import TODChunk, TODConfig, simulate_chunks
from rediscovery.cosmo.cmb.tod.sky import (
    draw_sky_cosmology,
    gaussian_sky,
    gaussian_sky_iqu,
    iqu_cl,
    tt_cl,
)

__all__ = [
    "Detector",
    "ScanStrategy",
    "TODChunk",
    "TODConfig",
    "TODFile",
    "default_focal_plane",
    "detector_pointing",
    "detector_pointing_psi",
    "draw_sky_cosmology",
    "gaussian_sky",
    "gaussian_sky_iqu",
    "horizon_to_equatorial",
    "iqu_cl",
    "noise_psd",
    "parallactic_angle",
    "simulate_chunks",
    "simulate_noise",
    "simulate_to_files",
    "tt_cl",
    "write_tod",
]
