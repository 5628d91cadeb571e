"""A control channel in the template fit: the low-score events binned in a feature.

A nuisance whose effect on the classifier score is weak is hardly constrained by the score
histogram, and the profile likelihood keeps its α near the centre of its constraint whatever
its true value (for the soft MET measured in docs/higgs-systematics.md, section 6). The
standard cure in HEP is a control region: background-dominated events, disjoint from the
signal region, histogrammed in an observable that the nuisance moves, and fitted
simultaneously with the signal region with the nuisance parameters shared.

Here the control region is the events of the lowest ``n_score_bins`` score bins (the lowest
s/b of the binning), histogrammed in one feature (e.g. ``DER_pt_tot``, the transverse
momentum balance of the visible objects and the MET, or ``PRI_met``) in ``n_bins`` bins of
equal nominal weight, or in two or more features at once (e.g. ``PRI_tau_pt`` for the τ
energy scale and ``DER_pt_tot`` for the soft MET): a grid of ``n_bins`` bins per feature,
each feature's bins of equal nominal weight in its own marginal. The other score bins are the
signal channel, unchanged. Both channels
are put on one axis by :class:`ControlRegionScorer`, so the templates, the fit model (one
binned likelihood: the product of the Poisson terms of every bin of both channels, shared
HistoSys/NormSys α's, one Barlow–Beeston-lite γ per bin) and the data histogram are those of
the ordinary template fit (:mod:`rediscovery.higgs.systematics.templates`,
:func:`~rediscovery.higgs.systematics.fit.build_model`); a multi-channel HistFactory model is
exactly this concatenation of the channels' bins. Every event is in one bin of one channel,
so no event is counted twice.

The axis: an event of the signal channel keeps its score ``s ≥ cut`` (``cut`` the upper edge
of the control region's score bins); an event of the control region in grid cell ``j`` of
``K`` (the row-major index of its feature bins, ``numpy.ravel_multi_index``) goes to
``cut − 1 + (j + ½)/K``, inside the control bins ``[cut − 1 + j/K, cut − 1 + (j + 1)/K)``.
"""

from __future__ import annotations

from collections.abc import Sequence
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
    """Score of the signal channel and feature-grid cell of the control channel, on one axis.

    Attributes
    ----------
    scorer
        The classifier's ``scorer(df) -> scores``.
    features
        Columns histogrammed in the control region (one or more).
    cut
        Score below which an event is in the control region.
    inner_edges
        Per feature, the interior edges of its bins (increasing values; the first and last
        bins are open-ended).
    """

    scorer: Scorer
    features: tuple[str, ...]
    cut: float
    inner_edges: tuple[tuple[float, ...], ...]

    def __post_init__(self) -> None:
        if len(self.features) != len(self.inner_edges) or not self.features:
            raise ConfigError(
                f"control channel: {len(self.features)} features but {len(self.inner_edges)} "
                "sets of bin edges; expected one set per feature, at least one feature"
            )

    @property
    def grid_shape(self) -> tuple[int, ...]:
        """Bins per feature."""
        return tuple(len(e) + 1 for e in self.inner_edges)

    @property
    def n_control_bins(self) -> int:
        return int(np.prod(self.grid_shape))

    def control_edges(self) -> np.ndarray:
        """The ``K + 1`` edges of the control bins on the combined axis (the last is ``cut``)."""
        k = self.n_control_bins
        return self.cut - 1.0 + np.arange(k + 1) / k

    def __call__(self, df: pd.DataFrame) -> np.ndarray:
        s = np.asarray(self.scorer(df), dtype=float)
        control = s < self.cut
        idx = [
            np.searchsorted(np.asarray(e), np.where(control, _feature(df, f, control), 0.0),
                            side="right")
            for f, e in zip(self.features, self.inner_edges, strict=True)
        ]
        j = np.ravel_multi_index(idx, self.grid_shape)
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
    features: str | Sequence[str],
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
    features
        Column(s) histogrammed in the control region (recomputed by
        :func:`~rediscovery.higgs.systematics.variations.apply_systematics` after each shift:
        ``PRI_`` or closed-form ``DER_`` columns); several make a grid.
    n_bins
        Bins per feature (ties in a feature may leave fewer).
    n_score_bins
        The lowest score bins that form the control region (the rest is the signal channel).

    Returns
    -------
    scorer, edges
        A :class:`ControlRegionScorer` and the edges of both channels on its axis (the
        ``K`` control bins, then the remaining score bins).
    """
    names = (features,) if isinstance(features, str) else tuple(features)
    if not names or len(set(names)) != len(names):
        raise ConfigError(
            f"control channel features {list(names)}: expected one or more distinct columns"
        )
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
    w = events[WEIGHT].to_numpy(dtype=float)[control]
    q = np.arange(1, n_bins) / n_bins
    inner = tuple(
        tuple(float(v) for v in np.unique(
            _weighted_quantiles(_feature(events, f, control)[control], w, q)))
        for f in names
    )
    crs = ControlRegionScorer(scorer, names, cut, inner)
    return crs, np.concatenate([crs.control_edges()[:-1], edges[n_score_bins:]])

