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
from scipy import stats

from rediscovery.anomaly.bumphunt import BumpHuntResult, excess_weighted_mass
from rediscovery.core.errors import ConfigError, InputError

__all__ = [
    "EfficiencyFitTest",
    "ReferenceCorrection",
    "bin_index",
    "efficiency_fit_test",
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
class EfficiencyFitTest:
    """Outcome of :func:`efficiency_fit_test`.

    Attributes
    ----------
    expected, expected_error
        Selected SR events expected without signal, and the standard deviation of that
        expectation from the fit's parameters.
    pull, z
        (observed − expected) / σ with σ² the binomial variance plus ``expected_error``²;
        ``z`` = max(0, ``pull``), the one-sided local significance of an excess.
    degree
        Degree of the fitted polynomial in ln m.
    """

    expected: float
    expected_error: float
    pull: float
    z: float
    degree: int


#: Newton iterations of the binomial fit (the log-likelihood is concave: a few suffice).
_NEWTON_ITERATIONS = 50


def _logit_poly_fit(
    u: np.ndarray, k: np.ndarray, n: np.ndarray, degree: int
) -> tuple[np.ndarray, np.ndarray, float]:
    """Binomial regression logit ε(u) = Σ β_j u^j of k selected of n per bin (bins with
    n > 0), by Newton's method. Returns β, its covariance (the inverse Fisher information)
    and the log-likelihood (up to a constant)."""
    x = np.vander(u, degree + 1, increasing=True)
    eff = np.clip(k.sum() / n.sum(), 1e-9, 1 - 1e-9)
    beta = np.zeros(degree + 1)
    beta[0] = np.log(eff / (1.0 - eff))
    for _ in range(_NEWTON_ITERATIONS):
        p = 1.0 / (1.0 + np.exp(-np.clip(x @ beta, -50.0, 50.0)))
        info = (x.T * (n * p * (1.0 - p))) @ x + 1e-12 * np.eye(degree + 1)
        step = np.linalg.solve(info, x.T @ (k - n * p))
        beta = beta + np.clip(step, -5.0, 5.0)
        if np.max(np.abs(step)) < 1e-10:
            break
    p = np.clip(1.0 / (1.0 + np.exp(-np.clip(x @ beta, -50.0, 50.0))), 1e-300, 1.0 - 1e-16)
    info = (x.T * (n * p * (1.0 - p))) @ x + 1e-12 * np.eye(degree + 1)
    loglike = float((k * np.log(p) + (n - k) * np.log1p(-p)).sum())
    return beta, np.linalg.inv(info), loglike


def efficiency_fit_test(
    passed: np.ndarray,
    mass: np.ndarray,
    sr: np.ndarray,
    sb: np.ndarray,
    *,
    n_bins: int = 40,
    min_degree: int = 1,
    max_degree: int = 3,
    degree_test_p: float = 0.05,
) -> EfficiencyFitTest:
    r"""Selected SR events against the selection's efficiency fitted on the sidebands.

    A selection on features that change with the resonant mass m (jet masses grow with
    m_jj; momenta over m_ττ depend on it through p_T thresholds) keeps a fraction ε(m) of the
    background that changes with m even without signal. The test therefore interpolates ε
    into the SR: the sideband events are binned in ``n_bins`` bins of equal width in ln m,
    and logit ε is fitted as a polynomial in ln m (binomial likelihood, each bin at its
    events' mean ln m), its degree chosen from ``min_degree`` by adding a coefficient while
    the likelihood-ratio test rejects the lower degree at ``degree_test_p`` (the "F-test" of
    :func:`~rediscovery.anomaly.bumphunt.choose_degree`, up to ``max_degree``). The expected
    selected SR events are :math:`e = \sum_{i \in SR} ε(m_i)`, and

    .. math:: Z = \max\Big(0, rac{k_{SR} - e}{\sqrt{\sum_i ε_i (1 - ε_i) + g^T C g}}\Big),

    with C the fit's covariance and g = ∂e/∂β (the fit's uncertainty propagated to e). The
    efficiency's smoothness in m is the assumption of the sideband fits of CWoLa hunting
    (J. Collins, K. Howe, B. Nachman, Phys. Rev. D 99 (2019) 014038). A constant efficiency
    (the SR against its flanks alone, :func:`flank_mask`) is the degree-0 case, and it is
    biased where ε changes with m: on 10⁶ signal-free dijet events a CATHODE selection kept
    9.2 % of the lower flank, 10.6 % of the SR and 11.4 % of the upper flank, and the flanks
    (three quarters of their events below the SR on the falling spectrum) gave Z 7.2.

    statsmodels' binomial GLM would give the fit and its covariance; it is not a dependency,
    so the few lines of Newton's method are here.

    Parameters
    ----------
    passed, mass, sr, sb
        (n,) selected or not, resonant mass (GeV), booleans of the signal region and of the
        sidebands the efficiency is fitted on (disjoint).
    n_bins, min_degree, max_degree, degree_test_p
        The sidebands' binning in ln m and the choice of the degree.
    """
    if not 0 <= min_degree <= max_degree:
        raise ConfigError(
            f"min_degree {min_degree}, max_degree {max_degree}: expected 0 <= min <= max"
        )
    if not 0 < degree_test_p < 1:
        raise ConfigError(f"degree_test_p {degree_test_p}: expected a probability in (0, 1)")
    if n_bins < max_degree + 2:
        raise ConfigError(f"n_bins {n_bins}: expected at least max_degree + 2")
    sr, sb = np.asarray(sr, bool), np.asarray(sb, bool)
    if (sr & sb).any():
        raise InputError("overlap; expected disjoint signal region and sidebands", column="mass")
    if sr.sum() == 0 or sb.sum() < 10 * (max_degree + 1):
        raise InputError(
            f"{int(sr.sum())} signal-region and {int(sb.sum())} sideband events; expected at "
            f"least 1 and {10 * (max_degree + 1)}",
            column="mass",
        )
    t = np.log(np.asarray(mass, float))
    passed = np.asarray(passed, bool)
    t_sb = t[sb]
    lo, hi = t_sb.min(), t_sb.max()
    centre, half = 0.5 * (lo + hi), max(0.5 * (hi - lo), 1e-12)
    edges = np.linspace(lo, hi, n_bins + 1)
    b = np.clip(np.searchsorted(edges, t_sb, side="right") - 1, 0, n_bins - 1)
    n = np.bincount(b, minlength=n_bins).astype(float)
    k = np.bincount(b, weights=passed[sb].astype(float), minlength=n_bins)
    t_mean = np.bincount(b, weights=t_sb, minlength=n_bins)
    use = n > 0
    u = (t_mean[use] / n[use] - centre) / half
    n, k = n[use], k[use]
    top = min(max_degree, int(use.sum()) - 2)
    fits = [_logit_poly_fit(u, k, n, d) for d in range(min(min_degree, top), top + 1)]
    threshold = stats.chi2.isf(degree_test_p, 1)
    j = 0
    while j + 1 < len(fits) and 2.0 * (fits[j + 1][2] - fits[j][2]) > threshold:
        j += 1
    beta, cov, _ = fits[j]
    x_sr = np.vander((t[sr] - centre) / half, beta.size, increasing=True)
    eff = 1.0 / (1.0 + np.exp(-np.clip(x_sr @ beta, -50.0, 50.0)))
    expected = float(eff.sum())
    grad = (eff * (1.0 - eff)) @ x_sr
    var_fit = float(grad @ cov @ grad)
    var = float((eff * (1.0 - eff)).sum()) + var_fit
    pull = float((passed[sr].sum() - expected) / np.sqrt(max(var, 1e-12)))
    return EfficiencyFitTest(
        expected=expected,
        expected_error=float(np.sqrt(max(var_fit, 0.0))),
        pull=pull,
        z=max(pull, 0.0),
        degree=beta.size - 1,
    )


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
