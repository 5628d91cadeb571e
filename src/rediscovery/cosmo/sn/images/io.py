"""FITS images and catalogues of a simulated SN survey: writing, reading, validation.

Layout of a survey folder (``rediscovery cosmo sn-images --out DIR``)::

    DIR/survey.json                  fields (centre ra/dec, size), bands, epoch MJDs, pixel scale
    DIR/stars.csv                    star_id, field, ra, dec, mag_<band> (mean AB magnitudes)
    DIR/hosts.csv                    host_id, field, ra, dec, z (spectroscopic catalogue)
    DIR/fieldNN/<band>/reference.fits   deep reference (stack) per field and band
    DIR/fieldNN/<band>/epochEEE.fits    one exposure per epoch, EEE in time order
    DIR/truth.json                   hidden: cosmology, SNe (SALT2 t0, x0, x1, c), impostors
    DIR/truth_fluxes.csv             hidden: sn_id, time, band, flux, zp, zpsys (+ field, image,
                                     counts): noiseless SN fluxes at each epoch

Each FITS file holds one float32 image (ADU) in its primary HDU and the header keys of
:data:`REQUIRED_KEYS` plus a TAN WCS (``CTYPE``, ``CRVAL``, ``CRPIX``, ``CD`` matrix).
:func:`read_image` and :func:`list_survey` are the readers the detection and photometry
stages use; their errors name the file and the missing or bad key.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from rediscovery.core.errors import InputError
from rediscovery.core.files import atomic_path

__all__ = [
    "HOST_COLUMNS",
    "REQUIRED_KEYS",
    "STAR_COLUMNS",
    "BandImages",
    "SurveyImage",
    "list_survey",
    "read_hosts",
    "read_image",
    "read_stars",
    "remove_stale_images",
    "survey_description",
    "write_image",
    "write_survey",
]

#: Header keys every image carries: key -> (meaning and unit, check, expected).
REQUIRED_KEYS: dict[str, str] = {
    "MJD": "mid-exposure date, MJD days",
    "BAND": "sncosmo bandpass name, e.g. sdssg",
    "ZP": "AB zero point: m = ZP - 2.5 log10(counts in ADU)",
    "SEEING": "PSF FWHM, arcsec",
    "GAIN": "electrons per ADU",
    "SKYLEVEL": "sky background, ADU per pixel",
    "RDNOISE": "read noise, electrons",
}
_POSITIVE = {"SEEING", "GAIN"}
_NON_NEGATIVE = {"SKYLEVEL", "RDNOISE"}
_WCS_KEYS = ("CTYPE1", "CTYPE2", "CRVAL1", "CRVAL2", "CRPIX1", "CRPIX2")
#: Columns of ``stars.csv`` besides one ``mag_<band>`` per band.
STAR_COLUMNS = ("star_id", "field", "ra", "dec")
#: Columns of ``hosts.csv``.
HOST_COLUMNS = ("host_id", "field", "ra", "dec", "z")


@dataclass
class SurveyImage:
    """An image read by :func:`read_image`.

    Attributes
    ----------
    data
        float32 array, shape (ny, nx), ADU; ``data[y, x]`` with 0-based pixel coordinates.
    mjd, band, zp, seeing, gain, skylevel, rdnoise
        The header values of :data:`REQUIRED_KEYS` (units there).
    saturate
        ``SATURATE`` (ADU), ``inf`` if absent.
    wcs
        :class:`astropy.wcs.WCS` (celestial, 2-D).
    header
        The full :class:`astropy.io.fits.Header`.
    path
        The file.
    """

    data: np.ndarray
    mjd: float
    band: str
    zp: float
    seeing: float
    gain: float
    skylevel: float
    rdnoise: float
    saturate: float
    wcs: Any
    header: Any
    path: Path

    @property
    def pixel_scale(self) -> float:
        """arcsec per pixel (from the WCS)."""
        from astropy.wcs.utils import proj_plane_pixel_scales

        return float(np.mean(proj_plane_pixel_scales(self.wcs)) * 3600.0)


@dataclass
class BandImages:
    """The files of one field and band: the deep ``reference`` and the ``epochs`` in time
    order (file-name order, ``epoch000.fits`` first)."""

    reference: Path
    epochs: list[Path] = field(default_factory=list)


def _wcs_cards(wcs: Any) -> list[tuple[str, Any, str]]:
    w = wcs.wcs
    cd = w.cd if w.has_cd() else w.get_pc() * w.cdelt[:, None]
    return [
        ("CTYPE1", w.ctype[0], "RA, gnomonic projection"),
        ("CTYPE2", w.ctype[1], "Dec, gnomonic projection"),
        ("CUNIT1", "deg", ""), ("CUNIT2", "deg", ""),
        ("CRVAL1", float(w.crval[0]), "[deg] RA at CRPIX (field centre)"),
        ("CRVAL2", float(w.crval[1]), "[deg] Dec at CRPIX (field centre)"),
        ("CRPIX1", float(w.crpix[0]), "1-based; includes the pointing offset"),
        ("CRPIX2", float(w.crpix[1]), "1-based; includes the pointing offset"),
        ("CD1_1", float(cd[0, 0]), "[deg/pixel]"), ("CD1_2", float(cd[0, 1]), "[deg/pixel]"),
        ("CD2_1", float(cd[1, 0]), "[deg/pixel]"), ("CD2_2", float(cd[1, 1]), "[deg/pixel]"),
        ("RADESYS", "ICRS", ""), ("EQUINOX", 2000.0, ""),
    ]


def write_image(path: str | os.PathLike[str], data: np.ndarray, header: dict[str, Any],
                wcs: Any) -> Path:
    """Write one image atomically as a FITS primary HDU (float32).

    ``header`` maps keys to values or ``(value, comment)``; the WCS is written as a CD
    matrix.
    """
    from astropy.io import fits

    hdr = fits.Header()
    for key, val in header.items():
        hdr[key] = val
    for key, val, comment in _wcs_cards(wcs):
        hdr[key] = (val, comment)
    hdu = fits.PrimaryHDU(np.asarray(data, dtype=np.float32), header=hdr)
    with atomic_path(path) as tmp:
        hdu.writeto(tmp, overwrite=True)
    return Path(path)


def _number(header: Any, key: str, path: Path) -> float:
    val = header[key]
    if isinstance(val, bool) or not isinstance(val, int | float) or not np.isfinite(val):
        raise InputError(f"header key {key!r} = {val!r}: expected a finite number "
                         f"({REQUIRED_KEYS.get(key, key)})", path=path)
    return float(val)


def read_image(path: str | os.PathLike[str]) -> SurveyImage:
    """Read and validate one survey image.

    Raises
    ------
    InputError
        Naming the file when it is missing, not FITS, has no 2-D image, misses a key of
        :data:`REQUIRED_KEYS` or a WCS key, or holds an impossible value (SEEING or GAIN
        <= 0, SKYLEVEL or RDNOISE < 0, a non-finite number).
    """
    from astropy.io import fits
    from astropy.wcs import WCS

    p = Path(path)
    if not p.is_file():
        raise InputError("image not found" if not p.exists() else
                         "is a folder, expected a FITS image", path=p)
    try:
        with fits.open(p, memmap=False) as hdul:
            header = hdul[0].header.copy()
            data = hdul[0].data
            data = None if data is None else np.asarray(data, dtype=np.float32)
    except (OSError, ValueError, TypeError) as exc:
        raise InputError(f"cannot be read as FITS ({str(exc).splitlines()[0]})",
                         path=p) from None
    if data is None or data.ndim != 2:
        raise InputError("expected a 2-D image in the primary HDU, found "
                         f"{'none' if data is None else f'{data.ndim}-D data'}", path=p)
    for key, meaning in REQUIRED_KEYS.items():
        if key not in header:
            raise InputError(f"missing header key {key!r} ({meaning})", path=p)
    for key in _WCS_KEYS:
        if key not in header:
            raise InputError(f"missing WCS header key {key!r}: expected a celestial TAN WCS "
                             "(CTYPE1/2, CRVAL1/2, CRPIX1/2, CD matrix)", path=p)
    vals = {k: _number(header, k, p) for k in REQUIRED_KEYS if k != "BAND"}
    for k in _POSITIVE:
        if vals[k] <= 0:
            raise InputError(f"header key {k!r} = {vals[k]}: expected > 0 "
                             f"({REQUIRED_KEYS[k]})", path=p)
    for k in _NON_NEGATIVE:
        if vals[k] < 0:
            raise InputError(f"header key {k!r} = {vals[k]}: expected >= 0 "
                             f"({REQUIRED_KEYS[k]})", path=p)
    band = header["BAND"]
    if not isinstance(band, str) or not band.strip():
        raise InputError(f"header key 'BAND' = {band!r}: expected a bandpass name", path=p)
    try:
        wcs = WCS(header, naxis=2)
    except Exception as exc:  # astropy raises several kinds for a bad WCS
        raise InputError(f"invalid WCS ({str(exc).splitlines()[0]})", path=p) from None
    if not wcs.has_celestial:
        raise InputError(f"no celestial WCS (CTYPE1/2 = {header['CTYPE1']!r}, "
                         f"{header['CTYPE2']!r}); expected RA---TAN / DEC--TAN", path=p)
    sat = header.get("SATURATE", np.inf)
    return SurveyImage(data=data, mjd=vals["MJD"], band=band.strip(), zp=vals["ZP"],
                       seeing=vals["SEEING"], gain=vals["GAIN"], skylevel=vals["SKYLEVEL"],
                       rdnoise=vals["RDNOISE"], saturate=float(sat), wcs=wcs, header=header,
                       path=p)


def _image_shape(path: Path) -> tuple[int, int]:
    from astropy.io import fits

    try:
        hdr = fits.getheader(path, 0)
    except (OSError, ValueError, TypeError) as exc:
        raise InputError(f"cannot be read as FITS ({str(exc).splitlines()[0]})",
                         path=path) from None
    if hdr.get("NAXIS") != 2:
        raise InputError(f"expected a 2-D image, NAXIS = {hdr.get('NAXIS')}", path=path)
    return int(hdr["NAXIS2"]), int(hdr["NAXIS1"])


def _band_order(folder: Path) -> tuple[int, str]:
    """Band folders blue to red (g, r, i, z), other names after them alphabetically."""
    from rediscovery.cosmo.sn.images.bands import BANDPASSES

    order = list(BANDPASSES)
    return (order.index(folder.name) if folder.name in order else len(order), folder.name)


def list_survey(root: str | os.PathLike[str]) -> dict[str, dict[str, BandImages]]:
    """The images of a survey folder: ``{field: {band: BandImages(reference, epochs)}}``.

    Fields are the sub-folders holding band folders with FITS files (sorted by name); bands
    the folder names (filter letters, in g, r, i, z order). Only headers are read
    (``NAXIS1``/``NAXIS2``).

    Raises
    ------
    InputError
        When the folder is missing or holds no images, a band folder has epochs but no
        ``reference.fits``, or the images of one field differ in size (names two files and
        their sizes).
    """
    base = Path(root)
    if not base.is_dir():
        raise InputError("survey folder not found" if not base.exists() else
                         "is a file, expected a survey folder (written by 'rediscovery cosmo "
                         "sn-images')", path=base)
    out: dict[str, dict[str, BandImages]] = {}
    for fdir in sorted(p for p in base.iterdir() if p.is_dir()):
        bands: dict[str, BandImages] = {}
        shapes: dict[tuple[int, int], Path] = {}
        for bdir in sorted((p for p in fdir.iterdir() if p.is_dir()), key=_band_order):
            epochs = sorted(bdir.glob("epoch*.fits"))
            ref = bdir / "reference.fits"
            if not epochs and not ref.is_file():
                continue
            if not ref.is_file():
                raise InputError(f"{len(epochs)} epoch images but no reference.fits; every "
                                 "field and band needs its deep reference", path=bdir)
            for img in (ref, *epochs):
                shapes.setdefault(_image_shape(img), img)
                if len(shapes) > 1:
                    (s1, f1), (s2, f2) = list(shapes.items())[:2]
                    raise InputError(f"images of field {fdir.name!r} differ in size: {f1} is "
                                     f"{s1[1]}x{s1[0]} pixels, {f2} is {s2[1]}x{s2[0]}; all "
                                     "images of one field must share the CCD size",
                                     path=fdir)
            bands[bdir.name] = BandImages(reference=ref, epochs=epochs)
        if bands:
            out[fdir.name] = bands
    if not out:
        raise InputError("no images found (expected fieldNN/<band>/reference.fits and "
                         "epochEEE.fits)", path=base)
    return out


def _read_catalogue(path: str | os.PathLike[str], columns: tuple[str, ...], what: str) -> Any:
    from rediscovery.core.files import read_table

    df = read_table(path, what=what, format="csv")
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise InputError(f"missing columns {missing}; expected {list(columns)}", path=path)
    return df


def read_stars(path: str | os.PathLike[str]) -> Any:
    """``stars.csv``: star_id, field, ra, dec (deg) and ``mag_<band>`` (AB, mean)."""
    return _read_catalogue(path, STAR_COLUMNS, "star catalogue")


def read_hosts(path: str | os.PathLike[str]) -> Any:
    """``hosts.csv``: host_id, field, ra, dec (deg), z (spectroscopic)."""
    return _read_catalogue(path, HOST_COLUMNS, "host catalogue")


def survey_description(scene: Any) -> dict[str, Any]:
    """The content of ``survey.json`` (nothing hidden): fields, bands, epochs, pixel scale."""
    from rediscovery.cosmo.sn.images.bands import BANDPASSES

    cfg = scene.config
    imgs = scene.images
    epochs: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for (f, b), grp in imgs[imgs["kind"] == "epoch"].groupby(["field", "band"], sort=False):
        epochs.setdefault(f, {})[b] = [{"epoch": int(r.epoch), "mjd": float(r.mjd),
                                        "path": r.path} for r in grp.itertuples()]
    refs = imgs[imgs["kind"] == "reference"]
    return {
        "layout": "fieldNN/<band>/reference.fits (deep stack) and fieldNN/<band>/epochEEE.fits "
                  "(EEE in time order); FITS primary HDU float32 ADU, keys MJD, BAND, ZP, "
                  "SEEING, GAIN, SKYLEVEL, RDNOISE, SATURATE and a TAN WCS",
        "seed": scene.seed,
        "pixel_scale_arcsec": cfg.pixel_scale,
        "size_pixels": [cfg.size, cfg.size],
        "bands": {b: BANDPASSES[b] for b in cfg.bands},
        "zpsys": "ab",
        "season": {"start_mjd": cfg.season_start, "length_days": cfg.season_length},
        "reference": {"n_combine": cfg.n_stack,
                      "mjd": float(refs["mjd"].iloc[0]) if len(refs) else None,
                      "paths": {f: {b: g["path"].iloc[0] for b, g in grp.groupby("band")}
                                for f, grp in refs.groupby("field")}},
        "fields": [{"field": r.field, "ra": float(r.ra), "dec": float(r.dec)}
                   for r in scene.fields.itertuples()],
        "epochs": epochs,
        "catalogues": {"stars": "stars.csv", "hosts": "hosts.csv"},
    }


def write_survey(out: str | os.PathLike[str], scene: Any, *, progress: bool = True
                 ) -> dict[str, Any]:
    """Render every image of ``scene`` and write the survey folder (module notes).

    Images are rendered and written one at a time; the hidden ``truth.json`` and
    ``truth_fluxes.csv`` are written last. Returns a small summary
    (``n_images``, ``n_sne``, ``n_stars``, ``n_hosts``, ``n_impostors``).
    """
    from rediscovery.core.files import write_json
    from rediscovery.core.progress import progress_bar
    from rediscovery.cosmo.sn.images.simulate import render_images
    from rediscovery.cosmo.sn.io import write_csv

    root = Path(out)
    root.mkdir(parents=True, exist_ok=True)
    cfg = scene.config
    n_cr: dict[str, int] = {}
    with progress_bar(enabled=progress) as bar:
        task = bar.add_task("images", total=len(scene.images))
        for im in render_images(scene):
            write_image(root / im.path, im.data, im.header, im.wcs)
            n_cr[im.path] = im.n_cosmic_rays
            bar.advance(task)
    mags = [f"mag_{b}" for b in cfg.bands]
    write_csv(scene.stars[[*STAR_COLUMNS, *mags]], root / "stars.csv")
    write_csv(scene.galaxies[list(HOST_COLUMNS)], root / "hosts.csv")
    write_json(root / "survey.json", survey_description(scene))
    write_csv(scene.sn_fluxes, root / "truth_fluxes.csv")
    truth = scene.truth_dict()
    truth["images"] = [{"path": r.path, "dx": float(r.dx), "dy": float(r.dy),
                        "n_cosmic_rays": n_cr.get(r.path, 0)}
                       for r in scene.images.itertuples()]
    write_json(root / "truth.json", truth)
    return {"n_images": len(n_cr), "n_sne": len(scene.sne), "n_stars": len(scene.stars),
            "n_hosts": len(scene.galaxies), "n_impostors": len(truth["impostors"])}


def remove_stale_images(root: str | os.PathLike[str], keep: set[str]) -> list[Path]:
    """Delete the images of an earlier survey in ``root`` that the new one did not write.

    Only ``fieldNN/<band>/epochEEE.fits`` and ``reference.fits`` files whose relative path is
    not in ``keep`` are removed (then empty band and field folders); returns them.
    """
    base = Path(root)
    removed = []
    for p in sorted(base.glob("field*/*/*.fits")):
        rel = p.relative_to(base).as_posix()
        if rel not in keep and (p.name == "reference.fits" or p.name.startswith("epoch")):
            p.unlink()
            removed.append(p)
    for d in sorted(base.glob("field*/*"), reverse=True) + sorted(base.glob("field*")):
        if d.is_dir() and not any(d.iterdir()):
            d.rmdir()
    return removed
