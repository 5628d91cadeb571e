"""A control channel in the template fit: the low-score events binned in a feature.

A nuisance whose effect on the classifier score is weak is hardly constrained by the score
histogram, and the profile likelihood keeps its α near the centre of its constraint whatever
its true value (for the soft MET measured in docs/higgs-systematics.md, section 6). The
standard cure in HEP is a control region: background-dominated events, disjoint from the
signal region, histogrammed in an observable that the nuisance moves, and fitted
simultaneously with the signal region with the nuisance parameters shared.

Here the control region is the events of the lowest ``n_score_bins`` score bins (the lowest
s/b of the binning), histogrammed in ``feature`` (e.g. ``DER_pt_tot``, the transverse
momentum balance of the visible objects and the MET, or ``PRI_met``) in ``n_bins`` bins of
equal nominal weight; the other score bins are the signal channel, unchanged. Both channels
are put on one axis by :class:`ControlRegionScorer`, so the templates, the fit model (one
binned likelihood: the product of the Poisson terms of every bin of both channels, shared
HistoSys/NormSys α's, one Barlow–Beeston-lite γ per bin) and the data histogram are those of
the ordinary template fit (:mod:`rediscovery.higgs.systematics.templates`,
:func:`~rediscovery.higgs.systematics.fit.build_model`); a multi-channel HistFactory model is
exactly this concatenation of the channels' bins. Every event is in one bin of one channel,
so no event is counted twice.

The axis: an event of the signal channel keeps its score ``s ≥ cut`` (``cut`` the upper edge
of the control region's score bins); an event of the control region with feature bin ``j`` of
``K`` goes to ``cut − 1 + (j + ½)/K``, inside the control bins ``[cut − 1 + j/K,
cut − 1 + (j + 1)/K)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from rediscovery.core.errors import ConfigError, InputError
from rediscovery.higgs.schema import WEIGHT
from rediscovery.higgs.systematics.templates import Scorer

__all__ = ["ControlRegionScorer", "control_region_scorer"]


def _feature(df: pd.DataFrame, name: str, where: np.ndarray) -> np.ndarray:
    """The control feature of the events selected by ``where``, finite or an InputError."""
    if name not in df.columns:
        raise InputError(
            f"the control channel's feature is not among the events' columns; expected one "
            f"of {sorted(c for c in df.columns if str(c).startswith(('PRI_', 'DER_')))}",
            column=name,
        )
    x = df[name].to_numpy(dtype=float)
    bad = where & ~np.isfinite(x)
    if bad.any():
        raise InputError(
            f"{int(bad.sum())} events of the control region have a non-finite {name} (e.g. a "
            "jet variable of an event without jets); choose a feature defined for every event "
            "(PRI_met, DER_pt_tot, DER_mass_transverse_met_lep, …)",
            column=name,
        )
    return x


@dataclass(frozen=True)
class ControlRegionScorer:
    """Score of the signal channel and feature bin of the control channel, on one axis.

    Attributes
    ----------
    scorer
        The classifier's ``scorer(df) -> scores``.
    feature
        Column histogrammed in the control region.
    cut
        Score below which an event is in the control region.
    inner_edges
        Interior edges of the feature bins (``K − 1`` increasing values; the first and last
        bins are open-ended).
    """

    scorer: Scorer
    feature: str
    cut: float
    inner_edges: tuple[float, ...]

    @property
    def n_control_bins(self) -> int:
        return len(self.inner_edges) + 1

    def control_edges(self) -> np.ndarray:
        """The ``K + 1`` edges of the control bins on the combined axis (the last is ``cut``)."""
        k = self.n_control_bins
        return self.cut - 1.0 + np.arange(k + 1) / k

    def __call__(self, df: pd.DataFrame) -> np.ndarray:
        s = np.asarray(self.scorer(df), dtype=float)
        control = s < self.cut
        x = _feature(df, self.feature, control)
        j = np.searchsorted(np.asarray(self.inner_edges), np.where(control, x, 0.0), side="right")
        k = self.n_control_bins
        return np.where(control, self.cut - 1.0 + (j + 0.5) / k, s)


def _weighted_quantiles(x: np.ndarray, w: np.ndarray, q: np.ndarray) -> np.ndarray:
    # numpy's weighted quantile (method="inverted_cdf") is the lowest x whose cumulative
    # weight reaches q: equal-weight bins of the nominal control-region events.
    return np.quantile(x, q, weights=w, method="inverted_cdf")


def control_region_scorer(
    scorer: Scorer,
    score_edges: np.ndarray,
    events: pd.DataFrame,
    feature: str,
    *,
    n_bins: int = 10,
    n_score_bins: int = 1,
) -> tuple[ControlRegionScorer, np.ndarray]:
    """The scorer and bin edges of the signal channel plus a control channel in ``feature``.

    Parameters
    ----------
    scorer
        The classifier's ``scorer(df) -> scores``.
    score_edges
        Score bin edges of the analysis (increasing, lowest s/b first).
    events
        Nominal labelled template events (``Weight``): the feature bins hold equal shares of
        their weight in the control region.
    feature
        Column histogrammed in the control region (recomputed by
        :func:`~rediscovery.higgs.systematics.variations.apply_systematics` after each shift:
        a ``PRI_`` or closed-form ``DER_`` column).
    n_bins
        Bins of the control channel (ties in the feature may leave fewer).
    n_score_bins
        The lowest score bins that form the control region (the rest is the signal channel).

    Returns
    -------
    scorer, edges
        A :class:`ControlRegionScorer` and the edges of both channels on its axis (the
        ``K`` control bins, then the remaining score bins).
    """
    edges = np.asarray(score_edges, dtype=float)
    if edges.ndim != 1 or edges.size < 2 or np.any(np.diff(edges) <= 0):
        raise InputError("score edges must be at least two increasing values")
    if not 1 <= n_score_bins < edges.size - 1:
        raise ConfigError(
            f"control region of {n_score_bins} score bins: expected at least 1 and fewer than "
            f"the {edges.size - 1} score bins, so that a signal channel remains"
        )
    if n_bins < 2:
        raise ConfigError(f"control channel of {n_bins} bins: expected at least 2")
    cut = float(edges[n_score_bins])
    s = np.asarray(scorer(events), dtype=float)
    control = s < cut
    if not control.any():
        raise InputError(f"no template event has a score below {cut:.4g}: empty control region")
    x = _feature(events, feature, control)[control]
    w = events[WEIGHT].to_numpy(dtype=float)[control]
    inner = np.unique(_weighted_quantiles(x, w, np.arange(1, n_bins) / n_bins))
    crs = ControlRegionScorer(scorer, feature, cut, tuple(float(v) for v in inner))
    return crs, np.concatenate([crs.control_edges()[:-1], edges[n_score_bins:]])

