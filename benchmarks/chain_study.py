"""Shared by the whole-chain studies (higgs_run_coverage, higgs_linearity, higgs_syst_coverage):
the ``--seeds`` syntax and the coverage / pull statistics of a set of unblinded runs."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

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
