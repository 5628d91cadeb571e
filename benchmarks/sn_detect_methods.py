"""ZOGY against the Alard-Lupton baseline on the same survey images, side by side.

Run:  PYTHONPATH=src python benchmarks/sn_detect_methods.py [--survey DIR | --fields 4
          --epochs 24 --size 512 --bands griz --sne-per-field 10 --seed 1] [--workers 2]
          [--psf auto|header]

Writes the survey (``cosmo sn-images`` machinery) unless ``--survey`` names one, runs
:func:`rediscovery.cosmo.sn.survey.detect_survey` (what ``cosmo sn-detect`` runs) with
``method="zogy"`` and ``method="alard-lupton"``, and prints for each the detection summary
against the hidden truth (:func:`~rediscovery.cosmo.sn.photometry.validation.
detection_summary`): SNe Ia found by peak magnitude, candidates on SNe Ia, on other variable
sources and on nothing (false), false candidates per epoch image before and after a
``real_bogus_score >= 0.5`` cut, and the wall time.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from rediscovery.cosmo.sn.photometry.validation import detection_summary
from rediscovery.cosmo.sn.survey import DetectOptions, detect_survey
from survey_setup import add_survey_args, open_survey

#: real/bogus cut of the second column of false candidates
SCORE_CUT = 0.5


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_survey_args(ap)
    ap.add_argument("--psf", default="auto", choices=["auto", "header"])
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        s_ = open_survey(a, Path(tmp))
        survey, root, truth, tf, n_epochs = (s_.survey, s_.root, s_.truth, s_.truth_fluxes,
                                             s_.n_epoch_images)
        print(f"survey {root}: {len(survey)} fields, {n_epochs} epoch images, --psf {a.psf}")
        for method in ("zogy", "alard-lupton"):
            start = time.perf_counter()
            cands = detect_survey(
                survey,
                root / "hosts.csv",
                DetectOptions(method=method, psf=a.psf),
                stars=root / "stars.csv",
                n_workers=a.workers,
                progress=False,
            )
            sec = time.perf_counter() - start
            s = detection_summary(cands, truth, tf, n_epochs)
            good = detection_summary(
                cands[cands["real_bogus_score"] >= SCORE_CUT], truth, tf, n_epochs
            )
            bins = ", ".join(
                f"{b['lo']:g}-{b['hi']:g}: {b['found']}/{b['n']}"
                for b in s["efficiency_vs_peak_mag"]
                if b["n"]
            )
            print(f"\n{method}: {sec:.0f} s")
            print(f"  SNe Ia found {s['n_found']}/{s['n_sne']} (by peak mag {bins})")
            print(
                f"  candidates {s['n_candidates']}: {s['n_sn_ia']} on SNe Ia, "
                f"{s['n_impostor']} on other variable sources, {s['n_false']} false "
                f"({s['false_per_field_epoch']:.3f} per epoch image)"
            )
            print(
                f"  with real_bogus_score >= {SCORE_CUT}: SNe Ia found {good['n_found']}, "
                f"candidates {good['n_candidates']}, false {good['n_false']} "
                f"({good['false_per_field_epoch']:.3f} per epoch image)"
            )


if __name__ == "__main__":
    main()
