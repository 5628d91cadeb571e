"""Map files: HEALPix FITS (healpy) with the map, hit counts and white-noise variance.

``write_maps(out, result)`` writes, in RING ordering, equatorial coordinates (COORDSYS C):

============  ===================================================  ==========
file          content                                              unit
============  ===================================================  ==========
map.fits      temperature, ``hp.UNSEEN`` outside the observed       μK
              pixels; for I, Q, U maps three columns ``I_STOKES``,
              ``Q_STOKES``, ``U_STOKES`` (header ``POLAR = T``,
              HEALPix/COSMO polarisation convention, ``POLCCONV``),
              ``UNSEEN`` also where Q, U are not separable
hits.fits     samples per pixel (0 outside)                         --
variance.fits white-noise variance per pixel (Σ_i σ_i⁻²)⁻¹,         μK²
              = σ²/hits for equal detectors; ``UNSEEN`` outside;
              for I, Q, U the diagonal of the pixel's A_p⁻¹ in
              three columns ``II``, ``QQ``, ``UU``
mapmaking.json method, nside, solver figures (CG iterations, final   --
              relative residual, tolerance), samples, seconds
============  ===================================================  ==========

The header keys ``METHOD`` and, for the destriper, ``BASELINE`` (seconds) say how the map was
made. A reader of temperature maps that takes the first column (``hp.read_map(field=0)``, e.g.
the spectrum stage) reads I from an I, Q, U file.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from rediscovery.core.errors import InputError
from rediscovery.core.files import atomic_path, write_json
from rediscovery.cosmo.cmb.mapmaking.binned import MapResult
from rediscovery.cosmo.cmb.mapmaking.polarisation import IQUMapResult

__all__ = ["MAP_FILES", "read_maps", "write_maps"]

#: File names of :func:`write_maps`.
MAP_FILES = {"map": "map.fits", "hits": "hits.fits", "variance": "variance.fits"}
_UNITS = {"map": "uK", "hits": "", "variance": "uK^2"}
#: Column names of the I, Q, U files (healpy's default names for the maps).
_IQU_COLUMNS = {"map": ["I_STOKES", "Q_STOKES", "U_STOKES"], "variance": ["II", "QQ", "UU"]}


def write_maps(out: str | os.PathLike[str], result: MapResult | IQUMapResult) -> dict[str, Path]:
    """Write ``map.fits``, ``hits.fits``, ``variance.fits`` and ``mapmaking.json`` in ``out``
    (three columns in ``map.fits`` and ``variance.fits`` for an :class:`IQUMapResult`)."""
    import healpy as hp

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    iqu = isinstance(result, IQUMapResult)
    header = [("METHOD", str(result.info.get("method", "")))]
    if "baseline_seconds" in result.info:
        header.append(("BASELINE", float(result.info["baseline_seconds"])))
    arrays = {"map": result.maps if iqu else result.map, "hits": result.hits,
              "variance": result.variance}
    paths = {}
    for key, name in MAP_FILES.items():
        arr = arrays[key]
        dtype = np.int32 if key == "hits" else np.float64
        polar = iqu and key != "hits"
        columns = _IQU_COLUMNS[key] if polar else [key.upper()]
        extra = [*header, ("POLAR", True), ("POLCCONV", "COSMO")] if polar else header
        with atomic_path(out / name) as tmp:
            hp.write_map(str(tmp), arr.astype(dtype), nest=False, coord="C",
                         column_names=columns, column_units=_UNITS[key], dtype=dtype,
                         extra_header=extra, overwrite=True)
        paths[key] = out / name
    info = {k: v for k, v in result.info.items()}
    info["nside"] = result.nside
    info["stokes"] = "IQU" if iqu else "T"
    info["files"] = {k: v.name for k, v in paths.items()}
    write_json(out / "mapmaking.json", info)
    paths["info"] = out / "mapmaking.json"
    return paths


def read_maps(folder: str | os.PathLike[str]) -> MapResult | IQUMapResult:
    """Read the files of :func:`write_maps` back (RING): an :class:`IQUMapResult` when
    ``map.fits`` has three columns, else a :class:`MapResult`."""
    import healpy as hp
    from astropy.io import fits

    from rediscovery.core.files import read_json

    folder = Path(folder)
    arrs = {}
    for key, name in MAP_FILES.items():
        p = folder / name
        if not p.is_file():
            raise InputError(f"missing {name}; expected the output folder of `rediscovery "
                             "cosmo cmb-mapmake`", path=folder)
        try:
            with fits.open(p) as hdul:
                ncol = len(hdul[1].columns) if len(hdul) > 1 else 0
        except (OSError, AttributeError) as exc:
            raise InputError(f"cannot read {name} as a HEALPix FITS map: {exc}", path=p) from None
        if ncol not in (1, 3) or (key == "hits" and ncol != 1):
            raise InputError(f"{ncol} columns in {name}; expected 1 (temperature) or 3 "
                             "(I, Q, U; hits: 1)", path=p)
        arrs[key] = np.asarray(hp.read_map(str(p), nest=False,
                                           field=0 if ncol == 1 else (0, 1, 2)))
    if arrs["map"].ndim != arrs["variance"].ndim:
        raise InputError(f"map.fits has {len(np.atleast_2d(arrs['map']))} column(s), "
                         f"variance.fits {len(np.atleast_2d(arrs['variance']))}; expected "
                         "the same", path=folder)
    info = read_json(folder / "mapmaking.json") if (folder / "mapmaking.json").is_file() else {}
    hits = arrs["hits"].astype(np.int64)
    if arrs["map"].ndim == 1:
        nside = hp.npix2nside(len(arrs["map"]))
        return MapResult(nside, arrs["map"], hits, arrs["variance"], info)
    nside = hp.npix2nside(arrs["map"].shape[1])
    # rcond is not stored: 1 where Q, U were solved, 0 elsewhere
    rcond = np.where(arrs["map"][1] != hp.UNSEEN, 1.0, 0.0)
    return IQUMapResult(nside, arrs["map"], hits, arrs["variance"], rcond, info)
