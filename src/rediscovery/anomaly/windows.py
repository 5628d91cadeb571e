"""Mass-window bookkeeping shared by the windowed methods (CWoLa, CATHODE, parameterised).

A signal region (SR) is a window of the bump-hunt binning (:class:`~rediscovery.anomaly.
bumphunt.BumpHuntConfig`: bins of equal width in ln m); each method tests the number of its
selected SR events against an expectation, and reports its best window as a
:class:`~rediscovery.anomaly.bumphunt.BumpHuntResult` with a Bonferroni global p over the
windows (conservative: the windows overlap).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from rediscovery.anomaly.bumphunt import BumpHuntResult, excess_weighted_mass

__all__ = [
    "bin_index",
    "flank_mask",
    "weighted_efficiency",
    "window_bump_result",
]


def bin_index(m: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Bin of each mass (−1 outside the range or undefined)."""
    b = np.full(len(m), -1)
    ok = np.isfinite(m) & (m >= edges[0]) & (m < edges[-1])
    b[ok] = np.searchsorted(edges, m[ok], side="right") - 1
    return b


def flank_mask(m: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """Events in the two bands flanking the SR [lo, hi), each half the SR's width in ln m."""
    half = np.sqrt(hi / lo)
    return ((m >= lo / half) & (m < lo)) | ((m >= hi) & (m < hi * half))


def weighted_efficiency(passed: np.ndarray, w: np.ndarray) -> tuple[float, float]:
    """Efficiency of weighted events and its relative variance (Kish's effective count
    n_eff = (Σw)² / Σw²: var(ε)/ε² = (1 − ε) / (ε n_eff))."""
    sw, sw2 = w.sum(), (w**2).sum()
    if sw <= 0:
        return float("nan"), float("inf")
    eff = float((w * passed).sum() / sw)
    n_eff = sw**2 / sw2
    return eff, (1.0 - eff) / max(eff * n_eff, 1e-12)


def window_bump_result(
    edges: np.ndarray,
    counts: np.ndarray,
    background: np.ndarray,
    rows: Sequence[dict[str, Any]],
    best: int,
    inside: np.ndarray,
    settings: dict[str, Any],
) -> BumpHuntResult:
    """The best window of a windowed method as a :class:`BumpHuntResult`.

    Parameters
    ----------
    edges
        (n_bins + 1,) bin edges (GeV).
    counts, background
        (n_bins,) selected events per bin and their expectation without signal.
    rows
        One dict per tested window with ``m_lo, m_hi, observed, expected, p_local, z_local``.
    best
        Index of the best window in ``rows``.
    inside
        (n_bins,) booleans: the bins of the best window (the mass estimate is the
        excess-weighted mean of their ln m).
    settings
        Stored in the result.
    """
    windows = pd.DataFrame(rows)
    p_local = float(windows["p_local"].iloc[best])
    return BumpHuntResult(
        edges=edges,
        counts=counts,
        background=background,
        windows=windows,
        best=best,
        z_local=float(windows["z_local"].iloc[best]),
        p_local=p_local,
        p_global=min(1.0, p_local * len(windows)),
        mass=excess_weighted_mass(edges, counts, background, inside),
        settings=settings,
    )
