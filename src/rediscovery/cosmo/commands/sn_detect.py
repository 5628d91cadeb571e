"""``rediscovery cosmo sn-detect | sn-photometry``: survey images → candidates → light curves.

Thin wiring over :mod:`rediscovery.cosmo.sn.survey` (per-field work, spread over processes or
a dask cluster by :func:`rediscovery.core.executor.map_tasks`), the detection library
:mod:`rediscovery.cosmo.sn.detect` and the forced photometry
:mod:`rediscovery.cosmo.sn.photometry`. docs/cosmo-sn-detection.md and
docs/cosmo-sn-photometry.md describe the files.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import typer

from rediscovery.core.errors import ConfigError, InputError
from rediscovery.core.executor import check_scheduler
from rediscovery.core.files import check_output

app = typer.Typer()
log = logging.getLogger(__name__)


def _check_method(method: str) -> None:
    from rediscovery.cosmo.sn.detect import SUBTRACTIONS

    if method not in SUBTRACTIONS:
        raise ConfigError(f"--method {method!r} unknown; expected one of {list(SUBTRACTIONS)}")


@app.command("sn-detect")
def sn_detect(
    images: Path = typer.Argument(..., help="Survey folder (written by 'cosmo sn-images')."),
    out: Path = typer.Option(..., "--out", help="Output folder."),
    hosts: Path = typer.Option(None, "--hosts",
                               help="Host catalogue (host_id, ra, dec, z); default "
                                    "IMAGES/hosts.csv."),
    method: str = typer.Option("zogy", "--method", help="Image subtraction: zogy (proper "
                               "image subtraction) or alard-lupton (the kernel-fit baseline)."),
    psf: str = typer.Option("auto", "--psf", help="PSFs and offsets: auto (measured on the "
                            "stars of IMAGES/stars.csv where there are enough, else the "
                            "headers' SEEING, PSFBETA and the WCSs) or header."),
    threshold: float = typer.Option(5.0, "--threshold", help="Detection threshold on the "
                                    "significance image (ZOGY's S_corr), σ."),
    eps: float = typer.Option(1.5, "--eps", help="DBSCAN radius, pixels (all bands and epochs "
                              "of a field clustered together on the sky)."),
    min_samples: int = typer.Option(2, "--min-samples", min=1,
                                    help="Detections needed for a candidate."),
    host_radius: float = typer.Option(3.0, "--host-radius",
                                      help="Host match radius, arcsec."),
    plot: bool = typer.Option(True, "--plot/--no-plot",
                              help="Write cutouts.png (new, reference, difference, score)."),
    workers: int = typer.Option(None, "--workers", min=1, help="Local worker processes."),
    scheduler: str = typer.Option(None, "--scheduler", help="dask scheduler tcp://HOST:PORT."),
    progress: bool = typer.Option(True, "--progress/--no-progress"),
) -> None:
    """Difference imaging and detection on every field: candidates.csv (+ cutouts.png)."""
    from rediscovery.cosmo.sn.images import list_survey, read_hosts
    from rediscovery.cosmo.sn.io import write_csv
    from rediscovery.cosmo.sn.survey import DetectOptions, detect_survey

    _check_method(method)
    _check_psf(psf)
    for name, val in (("--threshold", threshold), ("--eps", eps), ("--host-radius", host_radius)):
        if not val > 0:
            raise ConfigError(f"{name} {val}: expected a positive number")
    check_scheduler(scheduler)
    check_output(out, "dir")
    survey = list_survey(images)
    hosts_path = hosts if hosts is not None else images / "hosts.csv"
    read_hosts(hosts_path)  # fail before any work
    _check_headers(survey)
    stars = _stars_path(images, psf)
    opts = DetectOptions(method=method, psf=psf, threshold=threshold, eps=eps,
                         min_samples=min_samples, host_radius_arcsec=host_radius)
    start = time.perf_counter()
    cands = detect_survey(survey, hosts_path, opts, stars=stars, n_workers=workers,
                          scheduler=scheduler, progress=progress)
    out.mkdir(parents=True, exist_ok=True)
    write_csv(cands, out / "candidates.csv")
    if plot:
        from rediscovery.core.plotting import savefig
        from rediscovery.cosmo.sn.survey import cutouts_figure

        fig = cutouts_figure(survey, cands, stars=stars, psf=psf)
        if fig is None:
            log.info("no candidate: no cutouts.png")
        else:
            savefig(fig, out / "cutouts.png", dpi=100)
    n_host = int((cands["host_id"].astype(str) != "-1").sum())
    typer.echo(f"{len(cands)} candidates ({n_host} with a host redshift) in {len(survey)} "
               f"fields in {time.perf_counter() - start:.1f} s -> {out}/candidates.csv")


def _check_psf(psf: str) -> None:
    from rediscovery.cosmo.sn.survey import PSF_SOURCES

    if psf not in PSF_SOURCES:
        raise ConfigError(f"--psf {psf!r} unknown; expected one of {list(PSF_SOURCES)}")


def _stars_path(images: Path, psf: str) -> Path | None:
    """IMAGES/stars.csv (read once here, so that a bad file stops the command at once), or
    None with ``--psf header`` or without the file (the PSFs then come from the headers)."""
    from rediscovery.cosmo.sn.images import read_stars

    path = images / "stars.csv"
    if psf == "header":
        return None
    if not path.is_file():
        log.info("%s not found: PSFs from the headers (SEEING, PSFBETA)", path)
        return None
    read_stars(path)
    return path


def _check_headers(survey: dict) -> None:
    """Read every image once before the work starts, so that a missing header key or a bad
    file stops the command at once with one line naming the file and the key."""
    from rediscovery.cosmo.sn.images import read_image

    for bands in survey.values():
        for files in bands.values():
            for path in (files.reference, *files.epochs):
                if "PSFBETA" not in read_image(path).header:
                    raise InputError("missing header key 'PSFBETA' (Moffat beta of the PSF; "
                                     "the PSFs are built from SEEING and PSFBETA)", path=path)


@app.command("sn-photometry")
def sn_photometry(
    images: Path = typer.Argument(..., help="Survey folder (written by 'cosmo sn-images')."),
    candidates: Path = typer.Option(..., "--candidates", help="candidates.csv of sn-detect."),
    out: Path = typer.Option(..., "--out", help="Output folder."),
    min_score: float = typer.Option(0.0, "--min-score",
                                    help="Keep candidates with real_bogus_score >= this in "
                                         "lightcurves.csv."),
    plot: bool = typer.Option(True, "--plot/--no-plot",
                              help="Write lightcurves.png (the best-measured candidates)."),
    psf: str = typer.Option("auto", "--psf", help="PSFs and offsets: auto (measured on the "
                            "stars of IMAGES/stars.csv where there are enough, else the "
                            "headers' SEEING, PSFBETA and the WCSs) or header."),
    workers: int = typer.Option(None, "--workers", min=1, help="Local worker processes."),
    scheduler: str = typer.Option(None, "--scheduler", help="dask scheduler tcp://HOST:PORT."),
    progress: bool = typer.Option(True, "--progress/--no-progress"),
) -> None:
    """Forced PSF photometry of every candidate on every difference image.

    Writes lightcurves.csv and redshifts.csv (candidates with a host redshift, the inputs of
    'cosmo sn-lightcurves'), lightcurves_all.csv (every candidate, with pixel positions and
    counts) and lightcurves.png.
    """
    from rediscovery.cosmo.sn.images import list_survey
    from rediscovery.cosmo.sn.io import write_csv
    from rediscovery.cosmo.sn.photometry.io import read_candidates
    from rediscovery.cosmo.sn.survey import lightcurve_tables, survey_photometry

    _check_psf(psf)
    check_scheduler(scheduler)
    check_output(out, "dir")
    cands = read_candidates(candidates)
    survey = list_survey(images)
    _check_headers(survey)
    stars = _stars_path(images, psf)
    start = time.perf_counter()
    lc = survey_photometry(survey, cands, stars=stars, psf=psf, n_workers=workers,
                           scheduler=scheduler,
                           progress=progress, source=str(candidates))
    out.mkdir(parents=True, exist_ok=True)
    write_csv(lc, out / "lightcurves_all.csv")
    lcs, zs = lightcurve_tables(lc, cands, min_score=min_score)
    write_csv(lcs, out / "lightcurves.csv")
    write_csv(zs, out / "redshifts.csv")
    if plot and len(lc):
        from rediscovery.core.plotting import savefig
        from rediscovery.cosmo.sn.photometry.plots import plot_lightcurves

        savefig(plot_lightcurves(lc, max_sne=6), out / "lightcurves.png", dpi=100)
    typer.echo(f"{len(lc)} points of {len(cands)} candidates in "
               f"{time.perf_counter() - start:.1f} s; {len(zs)} with a host redshift"
               f"{f' and real_bogus_score >= {min_score:g}' if min_score > 0 else ''} -> "
               f"{out}/lightcurves.csv, {out}/redshifts.csv")
