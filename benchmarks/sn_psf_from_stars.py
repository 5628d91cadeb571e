"""PSFs and offsets measured on the stars against the headers' (simulation truth), and what
they do to detection and photometry.

Run:  PYTHONPATH=src python benchmarks/sn_psf_from_stars.py [--survey DIR | --fields 4
          --epochs 24 --size 512 --bands griz --sne-per-field 10 --seed 1] [--workers 2]

Writes the survey (``cosmo sn-images`` machinery) unless ``--survey`` names one, then prints

1. for every image of the survey, the Moffat FWHM and β measured on the stars of
   ``stars.csv`` (:func:`rediscovery.cosmo.sn.survey.band_psfs_measured`) against the header's
   SEEING and PSFBETA, which the simulator renders exactly, and each epoch's measured offset
   from the reference against the offset between the two WCSs (also exact here);
2. detection (:func:`~rediscovery.cosmo.sn.photometry.validation.detection_summary`) and the
   forced-photometry pulls against ``truth_fluxes.csv`` at the candidate nearest each SN Ia,
   with ``psf="header"`` and with ``psf="auto"`` (the stars), side by side.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from rediscovery.core.executor import map_tasks
from rediscovery.cosmo.sn.images import (
    read_image,
    read_stars,
)
from rediscovery.cosmo.sn.photometry.validation import (
    detection_summary,
    match_candidates,
    photometry_pulls,
    pull_summary,
    truth_sources,
)
from rediscovery.cosmo.sn.survey import (
    DetectOptions,
    band_psfs_measured,
    clean_epoch,
    detect_survey,
    survey_photometry,
    wcs_shift,
)
from survey_setup import OpenSurvey, add_survey_args, open_survey


def _psf_rows(args: tuple) -> list[dict]:
    """Measured against header values for every image of one field."""
    field, bands, stars_path = args
    stars = read_stars(stars_path)
    stars = stars[stars["field"] == field]
    rows = []
    for band, files in bands.items():
        ref = read_image(files.reference)
        epochs = [read_image(p) for p in files.epochs]
        data = [clean_epoch(e)[0] for e in epochs]
        m = band_psfs_measured(ref, epochs, data, stars, where=f"{field} {band}")
        for k, img in enumerate((ref, *epochs)):
            shift = wcs_shift(ref, img) if k else (0.0, 0.0)
            mshift = m.shifts[k - 1] if k else (0.0, 0.0)
            rows.append(
                {
                    "field": field,
                    "band": band,
                    "image": k - 1,
                    "source": m.sources[k],
                    "n_stars": m.n_stars,
                    "fwhm_ratio": m.fwhm[k] / (img.seeing / img.pixel_scale),
                    "beta_ratio": m.beta[k] / float(img.header["PSFBETA"]),
                    "dx": mshift[0] - shift[0],
                    "dy": mshift[1] - shift[1],
                }
            )
    return rows


def _chain(opened: OpenSurvey, psf: str, workers: int) -> tuple[dict, pd.DataFrame, float]:
    survey, root = opened.survey, opened.root
    start = time.perf_counter()
    cands = detect_survey(
        survey,
        root / "hosts.csv",
        DetectOptions(psf=psf),
        stars=root / "stars.csv",
        n_workers=workers,
        progress=False,
    )
    lc = survey_photometry(
        survey, cands, stars=root / "stars.csv", psf=psf, n_workers=workers, progress=False
    )
    seconds = time.perf_counter() - start
    tf = opened.truth_fluxes
    det = detection_summary(cands, opened.truth, tf, opened.n_epoch_images)
    m = match_candidates(cands, truth_sources(opened.truth))
    on_ia = m[m["kind"] == "sn_ia"].sort_values("sep_arcsec").drop_duplicates("source_id")
    pulls = photometry_pulls(lc, tf, dict(zip(on_ia["cand_id"], on_ia["source_id"], strict=True)))
    return det, pull_summary(pulls), seconds


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_survey_args(ap)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        opened = open_survey(a, Path(tmp))
        root, survey = opened.root, opened.survey
        rows = pd.DataFrame(
            [
                r
                for part in map_tasks(
                    _psf_rows,
                    [(f, b, root / "stars.csv") for f, b in survey.items()],
                    n_workers=a.workers,
                    progress=False,
                )
                for r in part
            ]
        )
        print(f"survey {root}: {len(rows)} images")
        for src, g in rows.groupby("source"):

            def q(col: str, g: pd.DataFrame = g) -> str:
                v = g[col].to_numpy()
                return (
                    f"median {np.median(v):.4f}, 1-99% {np.percentile(v, 1):.4f}-"
                    f"{np.percentile(v, 99):.4f}"
                )

            print(
                f"PSF from {src}: {len(g)} images ({g.groupby(['field', 'band']).ngroups} "
                f"field-bands, {g['n_stars'].min()}-{g['n_stars'].max()} stars)"
            )
            print(f"  FWHM / SEEING   {q('fwhm_ratio')}")
            print(f"  beta / PSFBETA  {q('beta_ratio')}")
            ep = g[g["image"] >= 0]
            print(
                f"  offset - WCS offset (px): rms dx {np.sqrt(np.mean(ep['dx'] ** 2)):.4f}, "
                f"dy {np.sqrt(np.mean(ep['dy'] ** 2)):.4f}, max "
                f"{np.max(np.hypot(ep['dx'], ep['dy'])):.4f}"
            )
        for psf in ("header", "auto"):
            det, ps, sec = _chain(opened, psf, a.workers)
            print(
                f"\n--psf {psf}: detection + photometry {sec:.0f} s; SNe Ia found "
                f"{det['n_found']}/{det['n_sne']}, candidates {det['n_candidates']} "
                f"({det['n_sn_ia']} on SNe Ia, {det['n_impostor']} on other variables, "
                f"{det['n_false']} false)"
            )
            print(ps.round(3).to_string(index=False))


if __name__ == "__main__":
    main()
