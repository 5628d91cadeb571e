"""Map files: HEALPix FITS (healpy) with the map, hit counts and white-noise variance.

``write_maps(out, result)`` writes, in RING ordering, equatorial coordinates (COORDSYS C):

============  ===================================================  ==========
file          content                                              unit
============  ===================================================  ==========
map.fits      temperature, ``hp.UNSEEN`` outside the observed       μK
              pixels
hits.fits     samples per pixel (0 outside)                         --
variance.fits white-noise variance per pixel (Σ_i σ_i⁻²)⁻¹,         μK²
              = σ²/hits for equal detectors; ``UNSEEN`` outside
mapmaking.json method, nside, solver figures (CG iterations, final   --
              relative residual, tolerance), samples, seconds
============  ===================================================  ==========

The header keys ``METHOD`` and, for the destriper, ``BASELINE`` (seconds) say how the map was
made.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from rediscovery.core.errors import InputError
from rediscovery.core.files import atomic_path, write_json
from rediscovery.cosmo.cmb.mapmaking.binned import MapResult

__all__ = ["MAP_FILES", "read_maps", "write_maps"]

#: File names of :func:`write_maps`.
MAP_FILES = {"map": "map.fits", "hits": "hits.fits", "variance": "variance.fits"}
_UNITS = {"map": "uK", "hits": "", "variance": "uK^2"}


def write_maps(out: str | os.PathLike[str], result: MapResult) -> dict[str, Path]:
    """Write ``map.fits``, ``hits.fits``, ``variance.fits`` and ``mapmaking.json`` in ``out``."""
    import healpy as hp

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    header = [("METHOD", str(result.info.get("method", "")))]
    if "baseline_seconds" in result.info:
        header.append(("BASELINE", float(result.info["baseline_seconds"])))
    paths = {}
    for key, name in MAP_FILES.items():
        arr = getattr(result, key)
        dtype = np.int32 if key == "hits" else np.float64
        with atomic_path(out / name) as tmp:
            hp.write_map(str(tmp), arr.astype(dtype), nest=False, coord="C",
                         column_names=[key.upper()], column_units=_UNITS[key], dtype=dtype,
                         extra_header=header, overwrite=True)
        paths[key] = out / name
    info = {k: v for k, v in result.info.items()}
    info["nside"] = result.nside
    info["files"] = {k: v.name for k, v in paths.items()}
    write_json(out / "mapmaking.json", info)
    paths["info"] = out / "mapmaking.json"
    return paths


def read_maps(folder: str | os.PathLike[str]) -> MapResult:
    """Read the files of :func:`write_maps` back (RING)."""
    import healpy as hp

    from rediscovery.core.files import read_json

    folder = Path(folder)
    arrs = {}
    for key, name in MAP_FILES.items():
        p = folder / name
        if not p.is_file():
            raise InputError(f"missing {name}; expected the output folder of `rediscovery "
                             "cosmo cmb-mapmake`", path=folder)
        arrs[key] = hp.read_map(str(p), nest=False)
    info = read_json(folder / "mapmaking.json") if (folder / "mapmaking.json").is_file() else {}
    nside = hp.npix2nside(len(arrs["map"]))
    return MapResult(nside, arrs["map"], arrs["hits"].astype(np.int64), arrs["variance"], info)
