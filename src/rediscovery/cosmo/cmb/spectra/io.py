"""Reading the map-maker's HEALPix FITS files and writing the spectrum stage's outputs.

Inputs (the files of ``rediscovery cosmo cmb-mapmake``, :mod:`rediscovery.cosmo.cmb.mapmaking.io`):
a folder holding ``map.fits`` (μK), ``hits.fits`` and ``variance.fits`` (μK²) and
``mapmaking.json``, or a map FITS file with its hits and variance given separately or found
beside it under those names. The temperature is the first column (I of an I, Q, U file); a
pixel that is ``UNSEEN`` in the map counts as unobserved whatever its hit count (the I, Q, U
map-maker leaves pixels whose Q and U are not separable ``UNSEEN``). A mask is any HEALPix
FITS map (0 = masked, > 0 kept).

Outputs (``write_outputs``):

===============  ============================================================  =======
file             content                                                       unit
===============  ============================================================  =======
spectrum.csv     ``ell_min, ell_max, ell_eff, dl, dl_err`` (the CMB contract)  μK²
covariance.npy   band-power covariance of the simulations (n_bins × n_bins)    μK⁴
bandpower_window.npy  B_bℓ (n_bins × L, column ℓ from 0): ⟨D_b⟩ = B @ D_ℓ[:L]  --
bands.csv        per band: dl, dl_err_mc, dl_err_knox, expected (fiducial      μK²
                 through the band-power window), mc_mean, bias_over_sigma
spectrum.json    method, window figures (f_sky, w₂, w₄, f_sky,eff), noise,     --
                 timings, inputs
window.fits      the apodised window (RING)                                    --
spectrum_te.csv  I, Q, U maps only (``write_pol_outputs``): TE and EE band     μK²
spectrum_ee.csv  powers, the columns of spectrum.csv (errors of the I, Q, U
                 simulations; Knox without simulations)
covariance_te.npy, covariance_ee.npy  their covariances (with simulations)    μK⁴
===============  ============================================================  =======
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from rediscovery.core.errors import InputError
from rediscovery.core.files import atomic_path, read_json, write_json

__all__ = ["MapSet", "read_map_set", "read_mask", "write_outputs", "write_pol_outputs"]

_MAP, _HITS, _VAR = "map.fits", "hits.fits", "variance.fits"


@dataclass(frozen=True)
class MapSet:
    """A map with its hit counts and white-noise variance (RING, full sky); for an I, Q, U
    file also ``qu`` (2, npix) and ``qu_variance`` (2, npix) (0 outside the observed pixels;
    ``map`` and ``variance`` are I's)."""

    map: np.ndarray
    hits: np.ndarray
    variance: np.ndarray
    source: str
    info: dict[str, Any] = field(default_factory=dict)
    qu: np.ndarray | None = None
    qu_variance: np.ndarray | None = None

    @property
    def nside(self) -> int:
        import healpy as hp

        return int(hp.npix2nside(len(self.map)))

    @property
    def polarised(self) -> bool:
        return self.qu is not None

    def iqu(self) -> tuple[np.ndarray, np.ndarray]:
        """(3, npix) I, Q, U maps and their variances (polarised map sets only)."""
        if self.qu is None or self.qu_variance is None:
            raise InputError("not an I, Q, U map (map.fits has one column)", path=self.source)
        return np.vstack([self.map, self.qu]), np.vstack([self.variance, self.qu_variance])


#: Column names of an I, Q, U map file (the map-maker's, healpy's defaults).
_IQU_COLUMNS = ("I_STOKES", "Q_STOKES", "U_STOKES")


def _read_healpix(path: Path, what: str, iqu: bool = False) -> np.ndarray:
    """Column 0 of a HEALPix FITS map, or (3, npix) I, Q, U when ``iqu``."""
    import healpy as hp

    if not path.is_file():
        raise InputError(f"{what} not found; expected a HEALPix FITS map", path=path)
    try:
        m = hp.read_map(str(path), field=(0, 1, 2) if iqu else 0, nest=False)
    except Exception as exc:  # astropy/healpy raise many types on a bad file
        raise InputError(
            f"cannot read the {what} as a HEALPix FITS map: {exc}", path=path
        ) from None
    return np.asarray(m, dtype=float)


def _is_iqu(path: Path) -> bool:
    """Whether a FITS map file holds the map-maker's three I, Q, U columns."""
    from astropy.io import fits

    try:
        with fits.open(path) as hdul:
            names = tuple(c.name for c in hdul[1].columns) if len(hdul) > 1 else ()
    except Exception:  # unreadable: _read_healpix reports it
        return False
    return names == _IQU_COLUMNS


def read_map_set(
    path: str | os.PathLike[str],
    *,
    hits: str | os.PathLike[str] | None = None,
    variance: str | os.PathLike[str] | None = None,
) -> MapSet:
    """Read a map-maker output folder, or a map file (hits/variance beside it or given);
    an I, Q, U file (columns ``I_STOKES, Q_STOKES, U_STOKES``) also gives Q, U."""
    import healpy as hp

    p = Path(path)
    folder = p if p.is_dir() else p.parent
    map_file = p / _MAP if p.is_dir() else p
    hits_file = Path(hits) if hits is not None else folder / _HITS
    var_file = Path(variance) if variance is not None else folder / _VAR
    iqu = map_file.is_file() and _is_iqu(map_file)
    maps = _read_healpix(map_file, "map", iqu)
    m = maps[0] if iqu else maps
    h = _read_healpix(hits_file, "hit map")
    if iqu and not _is_iqu_variance(var_file):
        raise InputError("the map is I, Q, U but the variance map has not the three "
                         "columns II, QQ, UU of the map-maker", path=var_file)
    vs = _read_healpix(var_file, "variance map", iqu)
    v = vs[0] if iqu else vs
    for arr, f, what in ((h, hits_file, "hit map"), (v, var_file, "variance map")):
        if arr.size != m.size:
            raise InputError(
                f"the {what} has nside {hp.npix2nside(arr.size)}; the map "
                f"{map_file} has nside {hp.npix2nside(m.size)}; expected the same",
                path=f,
            )
    bad = ~np.isfinite(h) | (h < 0)
    if bad.any():
        raise InputError(
            f"{int(bad.sum())} hit count(s) negative or NaN (first at RING pixel "
            f"{int(np.argmax(bad))}); expected counts >= 0",
            path=hits_file,
        )
    # a pixel the map-maker left UNSEEN although hit (I, Q, U maps: Q and U not separable
    # there) is not part of the map
    h = np.where(m == hp.UNSEEN, 0.0, h)
    seen = h > 0
    for k, arr in enumerate(maps if iqu else [m]):
        nan = seen & (~np.isfinite(arr) | (arr == hp.UNSEEN))
        if nan.any():
            raise InputError(
                f"{int(nan.sum())} NaN pixel(s) in column {k + 1} where the hit map says "
                f"observed (first at RING pixel {int(np.argmax(nan))}); expected finite μK",
                path=map_file,
            )
    for k, arr in enumerate(vs if iqu else [v]):
        badv = seen & (~np.isfinite(arr) | (arr < 0) | (arr == hp.UNSEEN))
        if badv.any():
            raise InputError(
                f"{int(badv.sum())} observed pixel(s) with a negative, NaN or UNSEEN "
                f"variance in column {k + 1} (first at RING pixel {int(np.argmax(badv))}); "
                "expected μK² >= 0",
                path=var_file,
            )
    info_file = folder / "mapmaking.json"
    info = read_json(info_file) if info_file.is_file() else {}
    qu = np.where(seen, maps[1:], 0.0) if iqu else None
    qu_var = np.where(seen, vs[1:], 0.0) if iqu else None
    return MapSet(np.where(seen, m, 0.0), h, np.where(seen, v, 0.0), str(map_file), info,
                  qu, qu_var)


def _is_iqu_variance(path: Path) -> bool:
    from astropy.io import fits

    try:
        with fits.open(path) as hdul:
            return len(hdul) > 1 and len(hdul[1].columns) == 3
    except Exception:  # unreadable: _read_healpix reports it
        return False


def read_mask(path: str | os.PathLike[str], nside: int) -> np.ndarray:
    """A mask FITS map (0 masked, > 0 kept) at ``nside``."""
    import healpy as hp

    p = Path(path)
    mask = _read_healpix(p, "mask")
    if mask.size != 12 * nside * nside:
        raise InputError(
            f"the mask has nside {hp.npix2nside(mask.size)}; the map has nside "
            f"{nside}; expected the same (ud_grade one of them)",
            path=p,
        )
    bad = ~np.isfinite(mask) | ((mask < 0) & (mask != hp.UNSEEN))
    if bad.any():
        raise InputError(
            f"{int(bad.sum())} negative or NaN mask value(s); expected 0 (masked) or > 0 (kept)",
            path=p,
        )
    return np.where(mask == hp.UNSEEN, 0.0, mask)


def write_outputs(
    out: str | os.PathLike[str], result: Any, window: Any, meta: dict[str, Any]
) -> dict[str, Path]:
    """Write the files of the module docstring; ``result`` is a
    :class:`~rediscovery.cosmo.cmb.spectra.estimate.SpectrumResult`."""
    import healpy as hp
    import pandas as pd

    from rediscovery.cosmo.cmb.io import write_spectrum_csv

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"spectrum": write_spectrum_csv(result.to_binned_spectrum(), out / "spectrum.csv")}
    b = result.binning
    bands = pd.DataFrame(
        {
            "ell_min": b.ell_min,
            "ell_max": b.ell_max,
            "ell_eff": b.ell_eff,
            "dl": result.dl,
            "dl_err": result.dl_err,
            "dl_err_knox": result.knox_err,
            "expected": result.expected,
        }
    )
    if result.sims is not None:
        bands["mc_mean"] = result.mc_mean
        bands["dl_err_mc"] = result.sims.std(axis=0, ddof=1) if len(result.sims) > 1 else np.nan
        bos = result.bias_over_sigma
        bands["bias_over_sigma"] = bos if bos is not None else np.nan
    with atomic_path(out / "bands.csv") as tmp:
        bands.to_csv(tmp, index=False, float_format="%.10g")
    paths["bands"] = out / "bands.csv"
    if result.cov is not None:
        with atomic_path(out / "covariance.npy") as tmp, open(tmp, "wb") as fh:
            np.save(fh, result.cov)
        paths["covariance"] = out / "covariance.npy"
    if result.window_function is not None:
        with atomic_path(out / "bandpower_window.npy") as tmp, open(tmp, "wb") as fh:
            np.save(fh, result.window_function)
        paths["bandpower_window"] = out / "bandpower_window.npy"
    with atomic_path(out / "window.fits") as tmp:
        hp.write_map(
            str(tmp),
            window.weights,
            nest=False,
            coord="C",
            column_names=["WINDOW"],
            dtype=np.float64,
            overwrite=True,
        )
    paths["window"] = out / "window.fits"
    info = {**result.info, **meta, "files": {k: v.name for k, v in paths.items()}}
    write_json(out / "spectrum.json", info)
    paths["info"] = out / "spectrum.json"
    return paths


def write_pol_outputs(out: str | os.PathLike[str], results: dict[str, Any]) -> dict[str, Path]:
    """Write ``spectrum_te.csv`` and ``spectrum_ee.csv`` (the columns of ``spectrum.csv``)
    and, with simulations, ``covariance_te.npy`` and ``covariance_ee.npy`` from
    :func:`~rediscovery.cosmo.cmb.spectra.measure_pol_spectra`'s results."""
    from rediscovery.cosmo.cmb.io import write_spectrum_csv

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths = {f"spectrum_{k}": write_spectrum_csv(r.to_binned_spectrum(),
                                                 out / f"spectrum_{k}.csv")
             for k, r in results.items()}
    for k, r in results.items():
        if r.cov is not None:
            with atomic_path(out / f"covariance_{k}.npy") as tmp, open(tmp, "wb") as fh:
                np.save(fh, r.cov)
            paths[f"covariance_{k}"] = out / f"covariance_{k}.npy"
    return paths
