"""Shared by the whole-chain studies (higgs_run_coverage, higgs_linearity, higgs_syst_coverage):
the ``--seeds`` syntax, running (or reusing) one run, and the coverage / pull statistics of a
set of unblinded runs."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from rediscovery.higgs.pipeline import HiggsRunConfig, run_pipeline

#: Coverage probability of a 68.27 % interval; floors the binomial error of a measured coverage
#: (a sample of a few runs that all cover would otherwise claim zero error).
NOMINAL_COVERAGE = 0.68


def parse_seeds(text: str) -> list[int]:
    """``"1-20"``, ``"1,4,7"`` or a mix (``"1-3,10"``) → the list of seeds."""
    out: list[int] = []
    for part in text.split(","):
        lo, _, hi = part.partition("-")
        out.extend(range(int(lo), int(hi or lo) + 1))
    return out


def _finished(out: Path, cfg: HiggsRunConfig) -> bool:
    """A complete run of exactly this configuration is in ``out``."""
    try:
        stored = yaml.safe_load((out / "config.yaml").read_text())
    except (OSError, yaml.YAMLError):
        return False
    return ((out / "results.json").is_file() and (out / "simulate" / "truth.json").is_file()
            and isinstance(stored, dict) and stored.get("higgs") == cfg.model_dump(mode="json")
            and not stored.get("replace"))


def run_or_reuse(out: Path, cfg: HiggsRunConfig, *, keep_events: bool = False) -> dict[str, Any]:
    """``results.json`` of the run ``cfg`` in ``out``: read back when a complete run of exactly
    this configuration is there, run otherwise. The event tables (``simulate/``, ``features/``)
    are deleted after a run unless ``keep_events``: without them a re-run of the pipeline
    would simulate them again to re-check its stages, so a finished run is not re-run."""
    if _finished(out, cfg):
        return json.loads((out / "results.json").read_text())
    results = run_pipeline(out, cfg)
    if not keep_events:
        for stage in ("simulate", "features"):
            for f in (out / stage).glob("*.parquet"):
                f.unlink()
    return results


def pull_stats(pulls: Sequence[float], covered: Sequence[bool]) -> dict[str, float]:
    """Coverage (binomial error, floored at the nominal one), pull mean and width with their
    errors; ``nan`` errors for a single run."""
    p = np.asarray(pulls, dtype=float)
    n = p.size
    c = float(np.mean(np.asarray(covered, dtype=float)))
    width = float(p.std(ddof=1)) if n > 1 else np.nan
    return {
        "n": n,
        "coverage": c,
        "coverage_err": float(np.sqrt(max(c * (1 - c),
                                          NOMINAL_COVERAGE * (1 - NOMINAL_COVERAGE)) / n)),
        "pull_mean": float(p.mean()),
        "pull_mean_err": width / np.sqrt(n) if n > 1 else np.nan,
        "pull_width": width,
        "pull_width_err": width / np.sqrt(2 * (n - 1)) if n > 1 else np.nan,
    }
