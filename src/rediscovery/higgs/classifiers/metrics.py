"""Figures of merit of a signal/background classifier, as high-energy physics uses them.

Every function takes the classifier ``scores`` (higher = more signal-like), the per-event
physics ``weights`` (expected events at the analysed luminosity, so that sums of weights are
event counts) and the ``labels`` (1 signal, 0 background), always in that order.

* :func:`ams` -- the approximate median significance of the HiggsML challenge, eq. (7) of
  C. Adam-Bourdarios et al., "Learning to discover: the Higgs boson machine learning
  challenge", documentation v1.8 (2014)::

      AMS = sqrt( 2 * ( (s + b + b_reg) * ln(1 + s / (b + b_reg)) - s ) ),  b_reg = 10

* :func:`ams_curve`, :func:`best_ams` -- the AMS of the selection ``score >= t`` for every
  threshold ``t``, and the best cut;
* :func:`significance_curve` -- selected signal and background, efficiencies, ``s/sqrt(b)``,
  the Asimov significance (the AMS with ``b_reg = 0``; Cowan et al., Eur. Phys. J. C 71 (2011)
  1554, eq. 97) and the AMS against the threshold;
* :func:`weighted_roc`, :func:`weighted_auc` -- the ROC curve and its area with event weights;
* :func:`overtraining_check` -- weighted two-sample Kolmogorov-Smirnov test of train against
  test score distributions, per class;
* :func:`calibration_curve` -- weighted fraction of signal against the mean score, per bin;
* :func:`metric_uncertainty` -- bootstrap (Poisson weights) or k-fold statistical uncertainty
  of any of the above scalar metrics.

All of them share one sort of the scores (``O(n log n)``, no Python loop over events).
The ROC and AUC are written here rather than taken from :mod:`sklearn.metrics` because the
same cumulative sums also give the AMS and significance curves; the tests check them against
:func:`sklearn.metrics.roc_auc_score` with ``sample_weight``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import stats

from rediscovery.core.errors import ConfigError, InputError

__all__ = [
    "AMS_B_REG",
    "AMSCurve",
    "KSResult",
    "SignificanceCurve",
    "ams",
    "ams_curve",
    "best_ams",
    "calibration_curve",
    "effective_entries",
    "metric_uncertainty",
    "overtraining_check",
    "significance_curve",
    "weighted_auc",
    "weighted_ks",
    "weighted_roc",
]

#: Regularisation term of the AMS (expected background events), HiggsML documentation v1.8,
#: section 4.1, eq. (7).
AMS_B_REG = 10.0


# --------------------------------------------------------------------------------------------
# input checks


def _as_inputs(
    scores: ArrayLike, weights: ArrayLike, labels: ArrayLike
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.bool_]]:
    s = np.asarray(scores, dtype=np.float64).ravel()
    w = np.asarray(weights, dtype=np.float64).ravel()
    y = np.asarray(labels).ravel()
    if not (s.shape == w.shape == y.shape):
        raise InputError(
            f"scores, weights and labels must have the same length, got {s.size}, {w.size}, "
            f"{y.size}"
        )
    if s.size == 0:
        raise InputError("no events: scores, weights and labels are empty")
    if not np.all(np.isfinite(s)):
        raise InputError(f"{int(np.sum(~np.isfinite(s)))} scores are NaN or infinite",
                         column="score")
    if not np.all(np.isfinite(w)):
        raise InputError(f"{int(np.sum(~np.isfinite(w)))} weights are NaN or infinite",
                         column="Weight")
    yu = np.unique(y)
    if not np.all(np.isin(yu, (0, 1))):
        raise InputError(f"labels must be 0 (background) or 1 (signal), found {yu[:5]}",
                         column="Label")
    return s, w, y.astype(bool)


def _need_both_classes(w: NDArray[np.float64], y: NDArray[np.bool_]) -> tuple[float, float]:
    ws, wb = float(w[y].sum()), float(w[~y].sum())
    if ws <= 0 or wb <= 0:
        raise InputError(
            f"need a positive total weight in both classes, got signal {ws:.6g} and "
            f"background {wb:.6g}",
            column="Label",
        )
    return ws, wb


# --------------------------------------------------------------------------------------------
# AMS


def ams(s: ArrayLike, b: ArrayLike, b_reg: float = AMS_B_REG) -> float | NDArray[np.float64]:
    r"""Approximate median significance of a counting experiment.

    .. math::

        \mathrm{AMS} = \sqrt{2\left((s + b + b_\mathrm{reg})
        \ln\left(1 + \frac{s}{b + b_\mathrm{reg}}\right) - s\right)}

    HiggsML documentation v1.8 (2014), eq. (7), with ``b_reg = 10``. With ``b_reg = 0`` it is
    the Asimov discovery significance (Cowan et al. 2011, eq. 97), which tends to
    ``s / sqrt(b)`` for ``s << b``.

    Parameters
    ----------
    s, b
        Expected (weighted) numbers of selected signal and background events, >= 0.
        Arrays broadcast.
    b_reg
        Regularisation added to the background (events), >= 0.

    Returns
    -------
    float or ndarray
        The AMS (a float for scalar input).

    Raises
    ------
    InputError
        If ``s`` or ``b`` is negative or not finite, or ``b + b_reg`` is not positive.

    Examples
    --------
    >>> round(ams(100.0, 1000.0), 4)
    3.0967
    >>> round(ams(100.0, 1000.0, b_reg=0.0), 4)
    3.1117
    """
    s_arr = np.asarray(s, dtype=np.float64)
    b_arr = np.asarray(b, dtype=np.float64)
    if b_reg < 0 or not np.isfinite(b_reg):
        raise InputError(f"b_reg must be a finite number >= 0, got {b_reg}", column="b_reg")
    if not (np.all(np.isfinite(s_arr)) and np.all(np.isfinite(b_arr))):
        raise InputError("s and b must be finite numbers of events")
    if np.any(s_arr < 0) or np.any(b_arr < 0):
        raise InputError("s and b must be >= 0 (expected numbers of selected events)")
    bb = b_arr + b_reg
    if np.any(bb <= 0):
        raise InputError("b + b_reg must be > 0; use b_reg > 0 when no background is selected")
    # log1p keeps precision for s << b; the bracket is >= 0 mathematically, clip rounding
    radicand = 2.0 * ((s_arr + bb) * np.log1p(s_arr / bb) - s_arr)
    out = np.sqrt(np.clip(radicand, 0.0, None))
    return float(out) if out.ndim == 0 else out


@dataclass(frozen=True)
class SignificanceCurve:
    """Selected yields and significances of the cut ``score >= threshold``.

    All arrays have one entry per distinct score value, thresholds in decreasing order.

    Attributes
    ----------
    threshold
        Score thresholds (decreasing).
    s, b
        Selected signal and background (weighted events).
    signal_efficiency, background_efficiency
        ``s / s_total`` and ``b / b_total``.
    s_over_sqrt_b
        ``s / sqrt(b)`` (``inf`` where ``b = 0``).
    z_asimov
        Asimov significance, :func:`ams` with ``b_reg = 0`` (``nan`` where ``b = 0``).
    ams
        :func:`ams` with the given ``b_reg``.
    """

    threshold: NDArray[np.float64]
    s: NDArray[np.float64]
    b: NDArray[np.float64]
    signal_efficiency: NDArray[np.float64]
    background_efficiency: NDArray[np.float64]
    s_over_sqrt_b: NDArray[np.float64]
    z_asimov: NDArray[np.float64]
    ams: NDArray[np.float64]


@dataclass(frozen=True)
class AMSCurve:
    """AMS against the threshold, with the best cut.

    Attributes
    ----------
    threshold, ams
        The curve (thresholds decreasing).
    best_threshold, best_ams
        The cut ``score >= best_threshold`` maximising the AMS and its value.
    s, b
        Selected signal and background at the best cut (weighted events).
    """

    threshold: NDArray[np.float64]
    ams: NDArray[np.float64]
    best_threshold: float
    best_ams: float
    s: float
    b: float

    def __iter__(self):  # allows ``thresholds, values = ams_curve(...)``
        return iter((self.threshold, self.ams))


def _cumulative(
    s: NDArray[np.float64], w: NDArray[np.float64], y: NDArray[np.bool_]
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Distinct thresholds (decreasing) and the signal/background weight with score >= t."""
    order = np.argsort(-s, kind="mergesort")
    s_sorted = s[order]
    ws = np.cumsum(np.where(y[order], w[order], 0.0))
    wb = np.cumsum(np.where(y[order], 0.0, w[order]))
    # last index of every group of tied scores: the selection score >= t takes all ties
    last = np.flatnonzero(np.r_[s_sorted[1:] != s_sorted[:-1], True])
    return s_sorted[last], ws[last], wb[last]


def significance_curve(
    scores: ArrayLike, weights: ArrayLike, labels: ArrayLike, *, b_reg: float = AMS_B_REG
) -> SignificanceCurve:
    """Yields, efficiencies and significances of the cut ``score >= t`` for every ``t``.

    Parameters
    ----------
    scores, weights, labels
        Classifier output, physics weights (events), labels (1 signal, 0 background).
    b_reg
        AMS regularisation (events).

    Returns
    -------
    SignificanceCurve
    """
    sc, w, y = _as_inputs(scores, weights, labels)
    ws_tot, wb_tot = _need_both_classes(w, y)
    t, s_sel, b_sel = _cumulative(sc, w, y)
    # cumulative sums of non-negative weights can dip below 0 by rounding only
    s_sel = np.clip(s_sel, 0.0, None)
    b_sel = np.clip(b_sel, 0.0, None)
    with np.errstate(divide="ignore", invalid="ignore"):
        sosb = np.where(b_sel > 0, s_sel / np.sqrt(b_sel), np.inf)
        z = np.full_like(s_sel, np.nan)
        pos = b_sel > 0
        z[pos] = ams(s_sel[pos], b_sel[pos], b_reg=0.0)
    return SignificanceCurve(
        threshold=t,
        s=s_sel,
        b=b_sel,
        signal_efficiency=s_sel / ws_tot,
        background_efficiency=b_sel / wb_tot,
        s_over_sqrt_b=sosb,
        z_asimov=z,
        ams=np.asarray(ams(s_sel, b_sel, b_reg=b_reg)),
    )


def ams_curve(
    scores: ArrayLike, weights: ArrayLike, labels: ArrayLike, *, b_reg: float = AMS_B_REG
) -> AMSCurve:
    """AMS of the selection ``score >= t`` against the threshold ``t``, with the best cut.

    The result unpacks as ``thresholds, ams_values = ams_curve(...)``; the best cut is in
    ``.best_threshold`` and ``.best_ams``.

    Parameters
    ----------
    scores, weights, labels
        Classifier output, physics weights (events at the analysed luminosity) and labels.
    b_reg
        AMS regularisation (events), 10 in the HiggsML challenge.

    Returns
    -------
    AMSCurve
    """
    curve = significance_curve(scores, weights, labels, b_reg=b_reg)
    i = int(np.argmax(curve.ams))
    return AMSCurve(
        threshold=curve.threshold,
        ams=curve.ams,
        best_threshold=float(curve.threshold[i]),
        best_ams=float(curve.ams[i]),
        s=float(curve.s[i]),
        b=float(curve.b[i]),
    )


def best_ams(
    scores: ArrayLike, weights: ArrayLike, labels: ArrayLike, *, b_reg: float = AMS_B_REG
) -> tuple[float, float]:
    """Best cut and its AMS: ``(threshold, ams)``, selection ``score >= threshold``."""
    c = ams_curve(scores, weights, labels, b_reg=b_reg)
    return c.best_threshold, c.best_ams


# --------------------------------------------------------------------------------------------
# ROC


def weighted_roc(
    scores: ArrayLike, weights: ArrayLike, labels: ArrayLike
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Weighted ROC curve.

    Returns
    -------
    fpr, tpr, thresholds
        Background and signal efficiencies of ``score >= threshold``, starting at (0, 0) with
        threshold ``+inf`` and ending at (1, 1); same convention as
        :func:`sklearn.metrics.roc_curve` without dropping intermediate points.
    """
    sc, w, y = _as_inputs(scores, weights, labels)
    ws_tot, wb_tot = _need_both_classes(w, y)
    t, s_sel, b_sel = _cumulative(sc, w, y)
    fpr = np.r_[0.0, b_sel / wb_tot]
    tpr = np.r_[0.0, s_sel / ws_tot]
    return fpr, tpr, np.r_[np.inf, t]


def weighted_auc(scores: ArrayLike, weights: ArrayLike, labels: ArrayLike) -> float:
    """Area under the weighted ROC curve (trapezoids; tied scores count one half).

    Equals the weighted probability that a signal event scores above a background event,
    ``P(score_s > score_b) + P(score_s = score_b) / 2`` (Hanley & McNeil, Radiology 143
    (1982) 29).
    """
    fpr, tpr, _ = weighted_roc(scores, weights, labels)
    return float(np.trapezoid(tpr, fpr))


# --------------------------------------------------------------------------------------------
# overtraining


@dataclass(frozen=True)
class KSResult:
    """Weighted two-sample Kolmogorov-Smirnov test.

    Attributes
    ----------
    statistic
        ``sup |F1 - F2|`` of the weighted empirical CDFs.
    pvalue
        Asymptotic p-value with the effective sample sizes.
    n_eff1, n_eff2
        Effective numbers of entries ``(sum w)^2 / sum w^2``.
    """

    statistic: float
    pvalue: float
    n_eff1: float
    n_eff2: float


def effective_entries(weights: ArrayLike) -> float:
    """Kish effective sample size ``(sum w)^2 / sum w^2`` of weighted entries."""
    w = np.asarray(weights, dtype=np.float64)
    w2 = float(np.sum(w * w))
    return float(np.sum(w)) ** 2 / w2 if w2 > 0 else 0.0


def weighted_ks(
    x1: ArrayLike, w1: ArrayLike, x2: ArrayLike, w2: ArrayLike
) -> KSResult:
    """Two-sample Kolmogorov-Smirnov test between weighted samples.

    The statistic is the largest distance between the two weighted empirical CDFs; the p-value
    is the two-sided distribution of the statistic (:data:`scipy.stats.kstwo`) for
    ``n = n1 n2 / (n1 + n2)`` computed with the Kish effective sizes (with unit weights this
    is the same as ``scipy.stats.ks_2samp(..., method="asymp")``).

    Parameters
    ----------
    x1, w1, x2, w2
        The two samples and their (non-negative) weights.

    Returns
    -------
    KSResult
    """
    a = np.asarray(x1, dtype=np.float64).ravel()
    b = np.asarray(x2, dtype=np.float64).ravel()
    wa = np.asarray(w1, dtype=np.float64).ravel()
    wb = np.asarray(w2, dtype=np.float64).ravel()
    if a.size == 0 or b.size == 0:
        raise InputError("both samples of the KS test must be non-empty")
    if a.shape != wa.shape or b.shape != wb.shape:
        raise InputError("each KS sample needs one weight per entry")
    for name, w in (("first", wa), ("second", wb)):
        if not np.all(np.isfinite(w)) or np.any(w < 0) or w.sum() <= 0:
            raise InputError(f"weights of the {name} KS sample must be finite, >= 0, sum > 0")
    grid = np.union1d(a, b)
    oa, ob = np.argsort(a), np.argsort(b)
    ca = np.r_[0.0, np.cumsum(wa[oa])] / wa.sum()
    cb = np.r_[0.0, np.cumsum(wb[ob])] / wb.sum()
    fa = ca[np.searchsorted(a[oa], grid, side="right")]
    fb = cb[np.searchsorted(b[ob], grid, side="right")]
    d = float(np.max(np.abs(fa - fb)))
    n1, n2 = effective_entries(wa), effective_entries(wb)
    en = n1 * n2 / (n1 + n2)
    p = float(stats.kstwo.sf(d, max(round(en), 1)))
    return KSResult(statistic=d, pvalue=min(max(p, 0.0), 1.0), n_eff1=n1, n_eff2=n2)


def overtraining_check(
    train_scores: ArrayLike,
    train_weights: ArrayLike,
    train_labels: ArrayLike,
    test_scores: ArrayLike,
    test_weights: ArrayLike,
    test_labels: ArrayLike,
) -> dict[str, KSResult]:
    """Compare train and test score distributions, per class, with a weighted KS test.

    A small p-value (say < 0.01) in either class means the classifier behaves differently on
    the events it was trained on: overtraining.

    Returns
    -------
    dict
        ``{"signal": KSResult, "background": KSResult}``.
    """
    s1, w1, y1 = _as_inputs(train_scores, train_weights, train_labels)
    s2, w2, y2 = _as_inputs(test_scores, test_weights, test_labels)
    out = {}
    for name, m1, m2 in (("signal", y1, y2), ("background", ~y1, ~y2)):
        if not m1.any() or not m2.any():
            raise InputError(f"no {name} events in the train or the test sample", column="Label")
        out[name] = weighted_ks(s1[m1], w1[m1], s2[m2], w2[m2])
    return out


# --------------------------------------------------------------------------------------------
# calibration


def calibration_curve(
    scores: ArrayLike,
    weights: ArrayLike,
    labels: ArrayLike,
    *,
    n_bins: int = 10,
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Weighted reliability curve: fraction of signal against the mean score, per score bin.

    A classifier trained with weights ``w`` is calibrated for those weights: pass the same
    weighting (e.g. class-balanced) to read the curve as a calibration test; with physics
    weights the fraction is the signal purity at that score.

    Parameters
    ----------
    scores, weights, labels
        Scores in [0, 1], weights, labels.
    n_bins
        Number of equal-width bins on [0, 1].

    Returns
    -------
    mean_score, signal_fraction, bin_weight
        Per non-empty bin: weighted mean score, weighted fraction of signal, total weight
        (same binning and conventions as :func:`sklearn.calibration.calibration_curve` with
        ``strategy="uniform"``, plus weights).
    """
    sc, w, y = _as_inputs(scores, weights, labels)
    if n_bins < 1:
        raise InputError(f"n_bins must be >= 1, got {n_bins}", column="n_bins")
    if sc.min() < 0 or sc.max() > 1:
        raise InputError("calibration needs scores in [0, 1]", column="score")
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    idx = np.searchsorted(edges[1:-1], sc, side="right")
    wsum = np.bincount(idx, weights=w, minlength=n_bins).astype(np.float64)
    wscore = np.bincount(idx, weights=w * sc, minlength=n_bins)
    wsig = np.bincount(idx, weights=w * y, minlength=n_bins)
    keep = wsum > 0
    return wscore[keep] / wsum[keep], wsig[keep] / wsum[keep], wsum[keep]


# --------------------------------------------------------------------------------------------
# uncertainties


Metric = Callable[[NDArray[np.float64], NDArray[np.float64], NDArray[np.bool_]], float]


def metric_uncertainty(
    metric: Metric,
    scores: ArrayLike,
    weights: ArrayLike,
    labels: ArrayLike,
    *,
    method: Literal["bootstrap", "kfold"] = "bootstrap",
    n: int = 100,
    seed: int | np.random.Generator = 0,
) -> tuple[float, float]:
    """Statistical uncertainty of a scalar metric of a fixed classifier on a finite sample.

    Parameters
    ----------
    metric
        ``metric(scores, weights, labels) -> float``, e.g. :func:`weighted_auc` or
        ``lambda s, w, y: best_ams(s, w, y)[1]``.
    scores, weights, labels
        The evaluation sample (physics weights).
    method
        ``"bootstrap"``: ``n`` replicas with each event weight multiplied by an independent
        Poisson(1) count (the Poisson bootstrap, equivalent to resampling with replacement for
        large samples; Hanley & MacGibbon 2006); the error is the replicas' standard deviation.
        ``"kfold"``: the sample is split at random into ``n`` folds, each fold's weights scaled
        by ``n`` (same luminosity), the error is ``std(fold values) / sqrt(n)``.
    n
        Number of bootstrap replicas or folds (>= 2).
    seed
        Seed or Generator for the resampling.

    Returns
    -------
    value, error
        The metric on the full sample and its standard error.
    """
    sc, w, y = _as_inputs(scores, weights, labels)
    if n < 2:
        raise ConfigError(f"n = {n}: need at least 2 bootstrap replicas or folds "
                          "(--bootstrap on the command line)")
    rng = np.random.default_rng(seed)
    value = float(metric(sc, w, y))
    if method == "bootstrap":
        # one replica at a time: an (n, N) array of counts would not fit for large samples
        vals = np.array([float(metric(sc, w * rng.poisson(1.0, size=sc.size), y))
                         for _ in range(n)])
        err = float(np.std(vals, ddof=1))
    elif method == "kfold":
        fold = rng.permutation(sc.size) % n
        vals = np.array([float(metric(sc[fold == k], w[fold == k] * n, y[fold == k]))
                         for k in range(n)])
        err = float(np.std(vals, ddof=1) / np.sqrt(n))
    else:
        raise InputError(f"method must be 'bootstrap' or 'kfold', got {method!r}",
                         column="method")
    return value, err
