"""Mass-window bookkeeping shared by the windowed methods (CWoLa, CATHODE, parameterised).

A signal region (SR) is a window of the bump-hunt binning (:class:`~rediscovery.anomaly.
bumphunt.BumpHuntConfig`: bins of equal width in ln m); each method tests the number of its
selected SR events against an expectation, and reports its best window as a
:class:`~rediscovery.anomaly.bumphunt.BumpHuntResult` with a Bonferroni global p over the
windows (conservative: the windows overlap).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from rediscovery.anomaly.bumphunt import BumpHuntResult, excess_weighted_mass

__all__ = [
    "ReferenceCorrection",
    "bin_index",
    "flank_mask",
    "reference_corrected_test",
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


@dataclass
class ReferenceCorrection:
    """Outcome of :func:`reference_corrected_test`: the expected selected SR events, the
    one-sided Z of the observed ones, and ``scale`` = data / reference efficiency in the
    control region (multiplies the reference's efficiency in any bin)."""

    expected: float
    z: float
    scale: float


def reference_corrected_test(
    k_sr: float,
    n_sr: float,
    k_cr: float,
    n_cr: float,
    pass_ref_sr: np.ndarray,
    w_ref_sr: np.ndarray,
    pass_ref_cr: np.ndarray,
    w_ref_cr: np.ndarray,
) -> ReferenceCorrection:
    r"""Selected SR events against the expectation from the SM reference and a control region.

    A selection whose efficiency depends on the mass (features that change with it) keeps a
    different fraction of the SR's background than of the control region's (CR: sidebands or
    flanks). The reference Monte Carlo measures that change: the expected selected SR events
    are :math:`e = n_{SR}\,ε^{ref}_{SR} \cdot k_{CR} / (n_{CR}\,ε^{ref}_{CR})`, the data's SR
    events times the reference's SR efficiency, normalised to the data's selected CR events
    (the idea of simulation-assisted CWoLa, K. Benkendorfer, L. Le Pottier, B. Nachman,
    Phys. Rev. D 104 (2021) 035003), and
    :math:`Z = \max(0, (k_{SR} - e)/\sqrt{e + e^2 (σ^2_{SR} + σ^2_{CR} + 1/k_{CR})})` with the
    relative variances σ² of both reference efficiencies (:func:`weighted_efficiency`).

    Parameters
    ----------
    k_sr, n_sr, k_cr, n_cr
        Selected and all data events in the SR and the control region.
    pass_ref_sr, w_ref_sr, pass_ref_cr, w_ref_cr
        The reference's SR and CR events: selected or not, and their weights.
    """
    eff_sr, var_sr = weighted_efficiency(pass_ref_sr, w_ref_sr)
    eff_cr, var_cr = weighted_efficiency(pass_ref_cr, w_ref_cr)
    scale = k_cr / max(n_cr * eff_cr, 1e-12)
    expected = float(n_sr * eff_sr * scale)
    var = expected + expected**2 * (var_sr + var_cr + 1.0 / max(k_cr, 1.0))
    z = float(max((k_sr - expected) / np.sqrt(max(var, 1e-12)), 0.0))
    return ReferenceCorrection(expected=expected, z=z, scale=float(scale))


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
