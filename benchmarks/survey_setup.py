"""Command-line options and set-up shared by the supernova image benchmarks: an existing survey
folder (``--survey``) or a new one written by the ``cosmo sn-images`` machinery.

Imported by the ``sn_*.py`` scripts of this folder (run them from the repository root with
``PYTHONPATH=src``), as ``chain_study`` is by the Higgs chain studies.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from rediscovery.cosmo.sn.images import ImageSurvey, draw_scene, list_survey, write_survey
from rediscovery.cosmo.sn.simulate import draw_truth


def add_survey_args(ap: argparse.ArgumentParser, *, epochs: int = 24, seed: int = 1,
                    workers: int = 2) -> None:
    """``--survey`` or the size of a new survey, its seed and the number of workers."""
    ap.add_argument("--survey", type=Path, help="an existing survey folder")
    ap.add_argument("--fields", type=int, default=4)
    ap.add_argument("--epochs", type=int, default=epochs)
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--bands", default="griz")
    ap.add_argument("--sne-per-field", type=int, default=10)
    ap.add_argument("--seed", type=int, default=seed)
    ap.add_argument("--workers", type=int, default=workers)


@dataclass
class OpenSurvey:
    """A survey folder with what the benchmarks compare against: its truth and noiseless
    fluxes, and the number of epoch images."""

    root: Path
    survey: dict[str, Any]
    truth: dict[str, Any]
    truth_fluxes: pd.DataFrame
    n_epoch_images: int


def open_survey(args: argparse.Namespace, scratch: Path) -> OpenSurvey:
    """The survey of ``args.survey``, or a new one (``args``' size and seed) written in
    ``scratch/survey``; prints one line saying which."""
    root = args.survey
    if root is None:
        t0 = time.perf_counter()
        root = Path(scratch) / "survey"
        cfg = ImageSurvey(n_fields=args.fields, bands=args.bands, n_epochs=args.epochs,
                          size=args.size, sne_per_field=args.sne_per_field)
        write_survey(root, draw_scene(cfg, draw_truth(args.seed), seed=args.seed),
                     progress=False)
        print(f"survey {root}: {args.fields} fields x {args.bands} x {args.epochs} epochs, "
              f"{args.size}^2, {args.sne_per_field} SNe/field, seed {args.seed} "
              f"({time.perf_counter() - t0:.0f} s)")
    survey = list_survey(root)
    n_epochs = sum(len(b.epochs) for bands in survey.values() for b in bands.values())
    return OpenSurvey(root=Path(root), survey=survey,
                      truth=json.loads((Path(root) / "truth.json").read_text()),
                      truth_fluxes=pd.read_csv(Path(root) / "truth_fluxes.csv"),
                      n_epoch_images=n_epochs)
