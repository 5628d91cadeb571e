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
import json
import tempfile
import time
from pathlib import Path

import pandas as pd

from rediscovery.cosmo.sn.images import ImageSurvey, draw_scene, list_survey, write_survey
from rediscovery.cosmo.sn.photometry.validation import detection_summary
from rediscovery.cosmo.sn.simulate import draw_truth
from rediscovery.cosmo.sn.survey import DetectOptions, detect_survey

#: real/bogus cut of the second column of false candidates
SCORE_CUT = 0.5


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--survey", type=Path, help="an existing survey folder")
    ap.add_argument("--fields", type=int, default=4)
    ap.add_argument("--epochs", type=int, default=24)
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--bands", default="griz")
    ap.add_argument("--sne-per-field", type=int, default=10)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--psf", default="auto", choices=["auto", "header"])
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = a.survey
        if root is None:
            root = Path(tmp) / "survey"
            cfg = ImageSurvey(
                n_fields=a.fields,
                bands=a.bands,
                n_epochs=a.epochs,
                size=a.size,
                sne_per_field=a.sne_per_field,
            )
            write_survey(root, draw_scene(cfg, draw_truth(a.seed), seed=a.seed), progress=False)
        survey = list_survey(root)
        truth = json.loads((root / "truth.json").read_text())
        tf = pd.read_csv(root / "truth_fluxes.csv")
        n_epochs = sum(len(b.epochs) for bands in survey.values() for b in bands.values())
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
