"""CMB map-making, owned by the CMB map-making team.

Reads: a TOD file (``tod.h5``, :class:`rediscovery.cosmo.cmb.tod.TODFile`).
Writes: HEALPix FITS maps (``map.fits`` μK, ``hits.fits``, ``variance.fits`` μK²; RING,
``UNSEEN`` outside the observed pixels; I, Q, U in three fields for polarised detectors) and
``mapmaking.json`` (solver figures). Binned, destriped (MADAM-like, PCG; in memory, or
streamed from the file chunk by chunk for TODs that do not fit; also I, Q, U) and, for
small cases, exact GLS maps; residual spectra against a hidden input sky for validation
scripts.
"""

from __future__ import annotations

from rediscovery.cosmo.cmb.mapmaking.binned import (
    MapResult,
    TODData,
    bin_tod,
    detector_weights,
    load_tod,
)
from rediscovery.cosmo.cmb.mapmaking.cg import CGResult, pcg
from rediscovery.cosmo.cmb.mapmaking.destriper import destripe, destripe_iqu
from rediscovery.cosmo.cmb.mapmaking.gls import gls_map, gls_map_iqu
from rediscovery.cosmo.cmb.mapmaking.io import read_maps, write_maps
from rediscovery.cosmo.cmb.mapmaking.polarisation import IQUMapResult, bin_tod_iqu
from rediscovery.cosmo.cmb.mapmaking.streaming import (
    STREAM_ABOVE_SAMPLES,
    destripe_file,
    destripe_file_iqu,
)
from rediscovery.cosmo.cmb.mapmaking.validation import (
    ResidualSpectrum,
    residual_spectrum,
    white_noise_level,
)

__all__ = [
    "STREAM_ABOVE_SAMPLES",
    "CGResult",
    "IQUMapResult",
    "MapResult",
    "ResidualSpectrum",
    "TODData",
    "bin_tod",
    "bin_tod_iqu",
    "destripe",
    "destripe_file",
    "destripe_file_iqu",
    "destripe_iqu",
    "detector_weights",
    "gls_map",
    "gls_map_iqu",
    "load_tod",
    "pcg",
    "read_maps",
    "residual_spectrum",
    "white_noise_level",
    "write_maps",
]
