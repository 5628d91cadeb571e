"""Survey-level wiring of the SN detection and photometry stages: FITS images in, tables out.

The detection library (:mod:`rediscovery.cosmo.sn.detect`) and the forced photometry
(:mod:`rediscovery.cosmo.sn.photometry`) work on arrays; this module reads one field's images
(:func:`~rediscovery.cosmo.sn.images.read_image`), measures each image's PSF (a Moffat's FWHM and
β) and each epoch's offset from the reference on the stars of ``stars.csv`` when there are
enough of them (:class:`BandPSFs`; otherwise the headers' SEEING and PSFBETA and the offset
between the two WCSs), puts every epoch on its reference's grid, and returns tables. One call
per field, so that ``core.executor.map_tasks`` can spread fields over processes or a dask
cluster (:class:`FieldTask` is picklable).

- :func:`detect_survey_field` → the field's candidates (``candidates.csv`` columns): the
  detections of all bands and epochs clustered on the sky, matched to ``hosts.csv``;
- :func:`photometry_survey_field` → forced-photometry light-curve rows at the candidates'
  fixed positions, every band and epoch.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from rediscovery.core.errors import ConfigError, InputError

__all__ = [
    "CANDIDATE_ID_FORMAT",
    "MIN_PSF_STARS",
    "PSF_SOURCES",
    "BandPSFs",
    "DetectOptions",
    "FieldTask",
    "band_psfs",
    "band_psfs_measured",
    "clean_epoch",
    "cutouts_figure",
    "detect_survey",
    "detect_survey_field",
    "difference_for_plot",
    "header_values",
    "lightcurve_tables",
    "match_hosts_sky",
    "photometry_survey_field",
    "psf_stars",
    "survey_photometry",
    "wcs_shift",
]

log = logging.getLogger(__name__)

#: ``cand_id`` of the k-th candidate of a field (unique over the survey).
CANDIDATE_ID_FORMAT = "{field}_C{k:03d}"
_ARCSEC = np.pi / 180.0 / 3600.0
#: Fewest stars on which a PSF and an offset are measured; with fewer, the headers' SEEING and
#: PSFBETA and the WCS offset are used. On the simulator's 512² fields 5-10 stars give the FWHM
#: within 0.5-1 % and the offset within 0.01-0.02 px of the truth (docs/cosmo-sn-detection.md).
MIN_PSF_STARS = 5
#: Where the PSFs come from: ``auto`` (stars when enough, else headers) or ``header``.
PSF_SOURCES = ("auto", "header")
#: Side (pixels) of the stacked star stamp the Moffat is fitted to.
_PSF_STAMP = 25
#: A ``sep`` source is a star when a ``stars.csv`` star lies within this many pixels.
_STAR_MATCH_PX = 2.0
#: Peaks above this fraction of SATURATE are not used for the PSF.
_SATURATION_MARGIN = 0.9


@dataclass(frozen=True)
class DetectOptions:
    """Detection settings (see :func:`rediscovery.cosmo.sn.detect.detect_field`).

    The detections of all bands and epochs are clustered together on the sky (``eps`` pixels,
    ``min_samples`` detections); the nearest ``hosts.csv`` galaxy within
    ``host_radius_arcsec`` is the host. ``method`` is the subtraction (``"zogy"`` or
    ``"alard-lupton"``, :data:`rediscovery.cosmo.sn.detect.SUBTRACTIONS`); ``psf`` where the
    PSFs and offsets come from (:data:`PSF_SOURCES`, :class:`BandPSFs`).
    """

    method: str = "zogy"
    threshold: float = 5.0
    psf: str = "auto"
    eps: float = 1.5
    min_samples: int = 2
    host_radius_arcsec: float = 3.0


@dataclass(frozen=True)
class FieldTask:
    """One field's work: its images per band (``{band: BandImages}``), the hosts and stars
    table paths (without ``stars`` the PSFs come from the headers), the detection options, and
    for photometry the candidates of the field."""

    field: str
    bands: dict[str, Any]
    hosts: Path | None = None
    stars: Path | None = None
    options: DetectOptions = field(default_factory=DetectOptions)
    candidates: pd.DataFrame | None = None
    workers: int | None = None


def header_values(img: Any) -> dict[str, float]:
    """The header values the detection library needs, from a ``SurveyImage``."""
    return {"MJD": img.mjd, "ZP": img.zp, "GAIN": img.gain, "SKYLEVEL": img.skylevel,
            "RDNOISE": img.rdnoise}


def wcs_shift(reference: Any, image: Any) -> tuple[float, float]:
    """``(dx, dy)``: the reference's central pixel falls at ``(x + dx, y + dy)`` in ``image``
    (both WCSs; exact for a pure pointing offset, which is what a survey field's exposures
    differ by)."""
    ny, nx = reference.data.shape
    x0, y0 = (nx - 1) / 2.0, (ny - 1) / 2.0
    ra, dec = reference.wcs.all_pix2world(x0, y0, 0)
    x1, y1 = image.wcs.all_world2pix(ra, dec, 0)
    return float(x1) - x0, float(y1) - y0


def clean_epoch(img: Any) -> tuple[np.ndarray, np.ndarray]:
    """The epoch's pixels with hot pixels and cosmic rays replaced, ready to be resampled, and
    the variance of the replacements (:func:`~rediscovery.cosmo.sn.photometry.repair_spikes`).
    """
    from rediscovery.cosmo.sn.photometry.forced import repair_spikes

    data, mask, extra = repair_spikes(img.data, img.skylevel, img.gain, img.rdnoise)
    if mask.any():
        log.debug("%s: %d spike pixels repaired", img.path, int(mask.sum()))
    return data, extra


def _difference(epoch: Any, cleaned: tuple[np.ndarray, np.ndarray], ref: Any,
                psf_new: np.ndarray, psf_ref: np.ndarray, shift: tuple[float, float],
                workers: int | None) -> Any:
    """The repaired epoch (``cleaned``: :func:`clean_epoch`) against the reference (with the
    repairs' variance)."""
    from rediscovery.cosmo.sn.photometry.forced import difference_epoch

    data, extra = cleaned
    return difference_epoch(data, header_values(epoch), ref.data, header_values(ref), psf_new,
                            psf_ref, shift=shift, extra_var=extra, workers=workers)


def _stars(task: FieldTask) -> pd.DataFrame | None:
    """The field's stars of ``task.stars`` (None without a catalogue)."""
    if task.stars is None:
        return None
    from rediscovery.cosmo.sn.images import read_stars

    stars = read_stars(task.stars)
    return stars[stars["field"].astype(str) == task.field]


def band_psfs(reference: Any, epochs: Sequence[Any]) -> tuple[np.ndarray, list[np.ndarray]]:
    """Moffat PSFs of the reference and the epochs from their headers: FWHM = SEEING / pixel
    scale, β = PSFBETA (:func:`~rediscovery.cosmo.sn.photometry.moffat_from_seeing`)."""
    from rediscovery.cosmo.sn.photometry.forced import moffat_from_seeing

    def one(img: Any) -> np.ndarray:
        if "PSFBETA" not in img.header:
            raise InputError("missing header key 'PSFBETA' (Moffat beta of the PSF); the "
                             "PSF is built from SEEING and PSFBETA", path=img.path)
        return moffat_from_seeing(img.seeing / img.pixel_scale, float(img.header["PSFBETA"]))

    return one(reference), [one(e) for e in epochs]


def psf_stars(reference: Any, stars: pd.DataFrame | None) -> tuple[np.ndarray, np.ndarray]:
    """Pixel positions (reference grid) of the stars to measure PSFs and offsets on: the
    bright, isolated, unsaturated sources that ``sep`` finds in the reference
    (:func:`~rediscovery.cosmo.sn.detect.find_stars`), kept when a star of ``stars``
    (``stars.csv``: ra, dec) lies within 2 pixels, so that compact galaxies are not taken for
    stars. Empty without a catalogue."""
    from rediscovery.cosmo.sn.detect import find_stars

    if stars is None or len(stars) == 0:
        return np.empty(0), np.empty(0)
    x, y = find_stars(reference.data, size=_PSF_STAMP // 2 + 5,
                      saturation=_SATURATION_MARGIN * reference.saturate)
    sx, sy = reference.wcs.all_world2pix(stars["ra"].to_numpy(float),
                                         stars["dec"].to_numpy(float), 0)
    if x.size == 0:
        return x, y
    d = np.hypot(x[:, None] - np.asarray(sx)[None], y[:, None] - np.asarray(sy)[None])
    keep = d.min(axis=1) <= _STAR_MATCH_PX
    return x[keep], y[keep]


@dataclass(frozen=True)
class BandPSFs:
    """The PSFs and offsets of one field and band.

    With at least :data:`MIN_PSF_STARS` stars (:func:`psf_stars`), each image's PSF is
    measured: the stars' stamps are stacked (:func:`~rediscovery.cosmo.sn.detect.measure_psf`)
    and a Moffat fitted to the stack (:func:`~rediscovery.cosmo.sn.detect.fit_moffat_psf`),
    whose FWHM and β give the PSF on a ±6 FWHM stamp (a pixel-by-pixel stack would be noisy in
    the wings that must cancel on bright hosts); each epoch's offset from the reference is the
    median offset of the stars' windowed centroids
    (:func:`~rediscovery.cosmo.sn.detect.measure_shift`). Otherwise, or for an image whose
    measurement fails, the header's SEEING and PSFBETA and the WCS offset, with the reason
    (``reasons``, also logged).

    Attributes
    ----------
    reference, epochs
        PSF stamps (odd, unit sum).
    shifts
        Per epoch ``(dx, dy)``: a reference pixel ``(x, y)`` is at ``(x + dx, y + dy)`` in the
        epoch.
    fwhm, beta
        The Moffat FWHM (pixels) and β of each PSF, reference first.
    sources
        ``"stars"`` or ``"header"`` per image, reference first.
    n_stars
        Stars used on the reference.
    reasons
        Why a header value was used, per image (empty when measured).
    """

    reference: np.ndarray
    epochs: list[np.ndarray]
    shifts: list[tuple[float, float]]
    fwhm: list[float]
    beta: list[float]
    sources: list[str]
    n_stars: int
    reasons: list[str]


def _measure_one(data: np.ndarray, img: Any, x: np.ndarray, y: np.ndarray,
                 fwhm_guess: float) -> tuple[float, float, int, str]:
    """(FWHM, β, stars used, reason) of one image's stars (sky-subtracted stack + Moffat fit);
    reason is empty on success."""
    from rediscovery.cosmo.sn.detect import fit_moffat_psf, measure_psf

    try:
        m = measure_psf(data - img.skylevel, x, y, size=_PSF_STAMP, fwhm_guess=fwhm_guess,
                        saturation=_SATURATION_MARGIN * img.saturate - img.skylevel)
    except InputError as exc:
        return np.nan, np.nan, 0, f"no PSF from the stars ({exc.args[0]})"
    if m.n_stars < MIN_PSF_STARS:
        return np.nan, np.nan, m.n_stars, (f"{m.n_stars} usable star(s), {MIN_PSF_STARS} "
                                           "needed")
    fwhm, beta, ok = fit_moffat_psf(m.psf)
    if not ok:
        return fwhm, beta, m.n_stars, (f"the Moffat fit of the stars' PSF failed (FWHM "
                                       f"{fwhm:.2f} px, beta {beta:.2f})")
    return fwhm, beta, m.n_stars, ""


def band_psfs_measured(reference: Any, epochs: Sequence[Any], data: Sequence[np.ndarray],
                       stars: pd.DataFrame | None, *, source: str = "auto",
                       where: str = "") -> BandPSFs:
    """:class:`BandPSFs` of a reference and its epochs (``data``: the epochs' pixels after
    :func:`clean_epoch`); ``source="header"`` skips the measurement; ``where`` names the
    field and band in the log."""
    from rediscovery.cosmo.sn.detect import measure_shift
    from rediscovery.cosmo.sn.photometry.forced import moffat_from_seeing

    if source not in PSF_SOURCES:
        raise ConfigError(f"psf {source!r} unknown; expected one of {list(PSF_SOURCES)}")
    hdr_ref, hdr_epochs = band_psfs(reference, epochs)

    def header(img: Any) -> tuple[float, float]:
        return img.seeing / img.pixel_scale, float(img.header["PSFBETA"])

    fwhm, beta, sources, reasons = [], [], [], []
    x, y = (psf_stars(reference, stars) if source == "auto" else (np.empty(0), np.empty(0)))
    if source == "header":
        why = "header PSFs requested"
    elif x.size < MIN_PSF_STARS:
        why = (f"{x.size} star(s) of stars.csv found isolated and unsaturated in the "
               f"reference, {MIN_PSF_STARS} needed" if stars is not None else
               "no star catalogue (stars.csv)")
    else:
        f_r, b_r, n_ref, why = _measure_one(reference.data, reference, x, y, 4.0)
    if why:
        log.info("%s: PSFs from the headers (SEEING, PSFBETA) and offsets from the WCSs: %s",
                 where, why)
        n = len(epochs)
        return BandPSFs(reference=hdr_ref, epochs=hdr_epochs,
                        shifts=[wcs_shift(reference, e) for e in epochs],
                        fwhm=[header(i)[0] for i in (reference, *epochs)],
                        beta=[header(i)[1] for i in (reference, *epochs)],
                        sources=["header"] * (n + 1), n_stars=int(x.size),
                        reasons=[why] * (n + 1))
    psf_ref = moffat_from_seeing(f_r, b_r)
    fwhm.append(f_r)
    beta.append(b_r)
    sources.append("stars")
    reasons.append("")
    psfs, shifts = [], []
    for e, d, hdr_psf in zip(epochs, data, hdr_epochs, strict=True):
        wx, wy = wcs_shift(reference, e)
        f_e, b_e, _, why = _measure_one(d, e, x + wx, y + wy, f_r)
        if why:
            log.info("%s %s: PSF from the header and offset from the WCS: %s", where,
                     Path(e.path).name, why)
            psfs.append(hdr_psf)
            shifts.append((wx, wy))
            f_e, b_e = header(e)
        else:
            dx, dy, _, _ = measure_shift(d, reference.data, x, y, fwhm=0.5 * (f_r + f_e))
            psfs.append(moffat_from_seeing(f_e, b_e))
            shifts.append((dx, dy))
        fwhm.append(f_e)
        beta.append(b_e)
        sources.append("header" if why else "stars")
        reasons.append(why)
    log.info("%s: PSFs and offsets measured on %d stars (%d of %d epochs)", where, n_ref,
             sources.count("stars") - 1, len(epochs))
    return BandPSFs(reference=psf_ref, epochs=psfs, shifts=shifts, fwhm=fwhm, beta=beta,
                    sources=sources, n_stars=n_ref, reasons=reasons)


def match_hosts_sky(ra: object, dec: object, hosts: pd.DataFrame,
                    radius_arcsec: float) -> pd.DataFrame:
    """Nearest host within ``radius_arcsec`` (exact great-circle separation, KD-tree of unit
    vectors). Returns ``host_id`` (the catalogue's id as text, ``"-1"`` when none), ``z``
    (NaN when none) and ``host_sep_arcsec``."""
    from scipy.spatial import cKDTree

    def unit(a: object, d: object) -> np.ndarray:
        a_r, d_r = np.radians(np.asarray(a, float)), np.radians(np.asarray(d, float))
        return np.column_stack([np.cos(d_r) * np.cos(a_r), np.cos(d_r) * np.sin(a_r),
                                np.sin(d_r)])

    ra_a = np.atleast_1d(np.asarray(ra, float))
    out = pd.DataFrame({"host_id": ["-1"] * ra_a.size, "z": np.nan,
                        "host_sep_arcsec": np.nan})
    if ra_a.size == 0 or len(hosts) == 0:
        return out
    tree = cKDTree(unit(hosts["ra"], hosts["dec"]))
    chord, idx = tree.query(unit(ra_a, dec))
    sep = 2.0 * np.arcsin(np.clip(chord / 2.0, 0.0, 1.0)) / _ARCSEC
    ok = sep <= radius_arcsec
    out.loc[ok, "host_id"] = hosts["host_id"].astype(str).to_numpy()[idx[ok]]
    out.loc[ok, "z"] = hosts["z"].to_numpy(float)[idx[ok]]
    out.loc[ok, "host_sep_arcsec"] = sep[ok]
    return out


def _read_band(files: Any) -> tuple[Any, list[Any]]:
    from rediscovery.cosmo.sn.images import read_image

    ref = read_image(files.reference)
    epochs = [read_image(p) for p in files.epochs]
    if not epochs:
        raise InputError("a reference but no epoch image; expected epochEEE.fits files",
                         path=Path(files.reference).parent)
    return ref, epochs


def detect_survey_field(task: FieldTask) -> pd.DataFrame:
    """The candidates of one field (all bands): ``candidates.csv`` columns plus
    ``max_significance`` and ``bands``."""
    from rediscovery.cosmo.sn.detect import (
        CANDIDATE_COLUMNS,
        cluster_detections,
        detect_field,
        resample_to,
    )
    from rediscovery.cosmo.sn.images import read_hosts

    opt = task.options
    stars = _stars(task) if opt.psf != "header" else None
    per_band = []
    pixel_scale = np.nan
    for band, files in task.bands.items():
        ref, epochs = _read_band(files)
        pixel_scale = ref.pixel_scale
        cleaned = [clean_epoch(e)[0] for e in epochs]
        psfs = band_psfs_measured(ref, epochs, cleaned, stars, source=opt.psf,
                                  where=f"{task.field} {band}")
        aligned = []
        for data, (dx, dy) in zip(cleaned, psfs.shifts, strict=True):
            aligned.append(resample_to(data, (-dx, -dy), workers=task.workers)
                           if max(abs(dx), abs(dy)) > 1e-3 else data)
        del cleaned
        wcs = ref.wcs
        res = detect_field(aligned, [header_values(e) for e in epochs], ref.data,
                           header_values(ref), field=task.field, psf_ref=psfs.reference,
                           psfs_new=psfs.epochs, align=False, threshold=opt.threshold,
                           eps=opt.eps, min_samples=1, method=opt.method,
                           pixel_to_world=lambda x, y, w=wcs: w.all_pix2world(x, y, 0),
                           workers=task.workers)
        log.info("%s %s: %d detections", task.field, band, len(res.detections))
        per_band.append(res.detections.assign(band=band))
    det = pd.concat(per_band, ignore_index=True)
    # one source seen in several bands is one candidate: cluster all bands' detections on the sky
    labels, merged = cluster_detections(det, eps=opt.eps * pixel_scale,
                                        min_samples=opt.min_samples, coords="sky")
    bands = pd.Series(det["band"].to_numpy()[labels >= 0]).groupby(labels[labels >= 0]).agg(
        lambda b: "".join(sorted(set(b), key="griz".find)))
    merged = merged.assign(bands=bands.reindex(np.arange(len(merged))).to_numpy())
    merged = merged.sort_values("first_mjd", kind="stable").reset_index(drop=True)
    merged["field"] = task.field
    merged["cand_id"] = [CANDIDATE_ID_FORMAT.format(field=task.field, k=k)
                         for k in range(len(merged))]
    if task.hosts is not None:
        hosts = read_hosts(task.hosts)
        m = match_hosts_sky(merged["ra"], merged["dec"], hosts, opt.host_radius_arcsec)
        merged["host_id"] = m["host_id"].to_numpy()
        merged["z"] = m["z"].to_numpy()
    else:
        merged["host_id"] = "-1"
        merged["z"] = np.nan
    return merged[[*CANDIDATE_COLUMNS, "max_significance", "bands"]]


def photometry_survey_field(task: FieldTask) -> pd.DataFrame:
    """Forced photometry of the field's candidates (``task.candidates``: cand_id, ra, dec)
    on every band's difference images. Returns light-curve rows ``sn_id, time, band, flux,
    fluxerr, zp, zpsys`` plus ``x, y`` (reference pixels), ``counts, counts_err``
    (reference ADU), ``image``, ``seeing`` and ``seeing_ref`` (FWHM, arcsec)."""
    from rediscovery.cosmo.sn.photometry.forced import LIGHTCURVE_ZPSYS, forced_photometry

    cands = task.candidates
    if cands is None or len(cands) == 0:
        raise ConfigError(f"field {task.field}: no candidates to measure")
    stars = _stars(task) if task.options.psf != "header" else None
    out = []
    for _band, files in task.bands.items():
        ref, epochs = _read_band(files)
        ny, nx = ref.data.shape
        x, y = ref.wcs.all_world2pix(cands["ra"].to_numpy(float), cands["dec"].to_numpy(float), 0)
        x, y = np.asarray(x, float), np.asarray(y, float)
        inside = (x >= -0.5) & (y >= -0.5) & (x <= nx - 0.5) & (y <= ny - 0.5)
        if not inside.any():
            continue
        cleaned = [clean_epoch(e) for e in epochs]
        psfs = band_psfs_measured(ref, epochs, [c[0] for c in cleaned], stars,
                                  source=task.options.psf, where=f"{task.field} {_band}")
        # a generator: one difference image in memory at a time
        diffs = (_difference(e, c, ref, pn, psfs.reference, sh, task.workers)
                 for e, c, pn, sh in zip(epochs, cleaned, psfs.epochs, psfs.shifts,
                                         strict=True))
        ids = cands["cand_id"].astype(str).to_numpy()[inside]
        lc = forced_photometry(diffs, x[inside], y[inside])
        lc.insert(0, "sn_id", ids[lc["source"].to_numpy()])
        lc.insert(2, "band", [epochs[i].band for i in lc["epoch"]])
        lc["zpsys"] = LIGHTCURVE_ZPSYS
        lc["x"] = x[inside][lc["source"].to_numpy()]
        lc["y"] = y[inside][lc["source"].to_numpy()]
        lc["image"] = [str(epochs[i].path) for i in lc["epoch"]]
        lc["seeing"] = [epochs[i].seeing for i in lc["epoch"]]
        lc["seeing_ref"] = ref.seeing
        out.append(lc.drop(columns=["source", "epoch"]))
    if not out:
        return pd.DataFrame(columns=["sn_id", "time", "band", "flux", "fluxerr", "zp", "zpsys"])
    return pd.concat(out, ignore_index=True)


def difference_for_plot(task: FieldTask, band: str, mjd: float
                        ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(new, reference, D, S_corr)`` of the epoch of ``band`` nearest ``mjd`` (new aligned
    on the reference grid, both sky-subtracted): the images of a cut-out plot."""
    ref, epochs = _read_band(task.bands[band])
    i = int(np.argmin([abs(e.mjd - mjd) for e in epochs]))
    cleaned = clean_epoch(epochs[i])
    psfs = band_psfs_measured(ref, [epochs[i]], [cleaned[0]], _stars(task),
                              source=task.options.psf, where=f"{task.field} {band}")
    d = _difference(epochs[i], cleaned, ref, psfs.epochs[0], psfs.reference, psfs.shifts[0],
                    task.workers)
    return d.new, ref.data - ref.skylevel, d.zogy.D, d.zogy.S_corr


def survey_photometry(survey: dict[str, dict[str, Any]], candidates: pd.DataFrame, *,
                      stars: Path | None = None, psf: str = "auto",
                      n_workers: int | None = None, scheduler: Any = None,
                      progress: bool = True, source: str | None = None) -> pd.DataFrame:
    """Forced photometry of ``candidates`` (cand_id, field, ra, dec) on every image of
    ``survey`` (:func:`~rediscovery.cosmo.sn.images.list_survey`), one task per field through
    :func:`rediscovery.core.executor.map_tasks`. PSFs and offsets are measured on the stars of
    ``stars`` (``stars.csv``) where there are enough (:class:`BandPSFs`; ``psf="header"`` or no
    ``stars``: the headers' SEEING and PSFBETA and the WCSs).

    Raises
    ------
    InputError
        A candidate's field is not in the survey, or a candidate lies outside every image of
        its field (naming ``source``, the candidates file, and the column ``field`` / ``ra``).
    """
    from rediscovery.core.executor import map_tasks

    if len(candidates) == 0:
        raise InputError("no candidates to measure; expected at least one row", path=source)
    unknown = sorted(set(candidates["field"].astype(str)) - set(survey))
    if unknown:
        raise InputError(f"field(s) {unknown[:3]} not in the survey (fields "
                         f"{sorted(survey)[:5]})", path=source, column="field")
    if psf not in PSF_SOURCES:
        raise ConfigError(f"psf {psf!r} unknown; expected one of {list(PSF_SOURCES)}")
    tasks = [FieldTask(field=f, bands=survey[f], candidates=g.reset_index(drop=True),
                       stars=stars, options=DetectOptions(psf=psf), workers=1)
             for f, g in candidates.groupby(candidates["field"].astype(str), sort=True)]
    lc = pd.concat(map_tasks(photometry_survey_field, tasks, n_workers=n_workers,
                             scheduler=scheduler, progress=progress, desc="fields"),
                   ignore_index=True)
    outside = sorted(set(candidates["cand_id"].astype(str)) - set(lc["sn_id"]))
    if outside:
        raise InputError(f"candidate(s) {outside[:3]} outside every image of their field; "
                         "expected ra, dec within the field", path=source, column="ra")
    return lc


def lightcurve_tables(lc: pd.DataFrame, candidates: pd.DataFrame, *, min_score: float = 0.0
                      ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(lightcurves, redshifts)`` for ``cosmo sn-lightcurves``: the candidates with a host
    redshift (finite z > 0) and ``real_bogus_score >= min_score``; light curves in the
    contract's columns (``sn_id, time, band, flux, fluxerr, zp, zpsys``)."""
    from rediscovery.cosmo.sn.io import LIGHTCURVE_COLUMNS

    z = pd.to_numeric(candidates["z"], errors="coerce").to_numpy(float)
    score = (pd.to_numeric(candidates["real_bogus_score"], errors="coerce").to_numpy(float)
             if "real_bogus_score" in candidates else np.ones(len(candidates)))
    keep = np.isfinite(z) & (z > 0) & (np.nan_to_num(score, nan=0.0) >= min_score)
    ids = candidates["cand_id"].astype(str).to_numpy()[keep]
    lcs = lc[lc["sn_id"].isin(set(ids))][list(LIGHTCURVE_COLUMNS)].reset_index(drop=True)
    return lcs, pd.DataFrame({"sn_id": ids, "z": z[keep]})


def detect_survey(survey: dict[str, dict[str, Any]], hosts: Path | None,
                  options: DetectOptions | None = None, *, stars: Path | None = None,
                  n_workers: int | None = None, scheduler: Any = None,
                  progress: bool = True) -> pd.DataFrame:
    """:func:`detect_survey_field` on every field of ``survey`` through
    :func:`rediscovery.core.executor.map_tasks`; the candidates of all fields in one table.
    PSFs and offsets as in :func:`survey_photometry` (``options.psf``, ``stars``)."""
    from rediscovery.core.executor import map_tasks

    opts = options or DetectOptions()
    if opts.psf not in PSF_SOURCES:
        raise ConfigError(f"psf {opts.psf!r} unknown; expected one of {list(PSF_SOURCES)}")
    tasks = [FieldTask(field=f, bands=b, hosts=hosts, stars=stars, options=opts, workers=1)
             for f, b in survey.items()]
    return pd.concat(map_tasks(detect_survey_field, tasks, n_workers=n_workers,
                               scheduler=scheduler, progress=progress, desc="fields"),
                     ignore_index=True)


def cutouts_figure(survey: dict[str, dict[str, Any]], candidates: pd.DataFrame, *,
                   stars: Path | None = None, psf: str = "auto") -> Any:
    """Cut-outs (new, reference, difference, score; :func:`~rediscovery.cosmo.sn.detect.plots.
    plot_cutouts`) of the most point-like candidates of the first field that has any, on the
    epoch nearest 15 days after the best one's first detection, in its first band; ``None``
    without candidates. PSFs as in :func:`survey_photometry`."""
    from rediscovery.cosmo.sn.detect.plots import plot_cutouts

    for fld, bands in survey.items():
        c = candidates[candidates["field"].astype(str) == fld]
        if len(c) == 0:
            continue
        c = c.sort_values(["real_bogus_score", "max_significance"], ascending=False)
        best = c.iloc[0]
        band = str(best["bands"])[0]
        task = FieldTask(field=fld, bands=bands, stars=stars, options=DetectOptions(psf=psf))
        new, ref, diff, score = difference_for_plot(task, band, float(best["first_mjd"]) + 15.0)
        fig = plot_cutouts(new, ref, diff, score, c)
        fig.suptitle(f"{fld}, band {band}", fontsize=9)
        return fig
    return None
