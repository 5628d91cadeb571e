"""From per-event classifier scores to the binned model.

The counting-experiment view of the same scores (the best AMS cut) is
:func:`rediscovery.higgs.classifiers.metrics.best_ams`.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from rediscovery.core.errors import InputError
from rediscovery.higgs.stats.binning import BinningResult, choose_binning
from rediscovery.higgs.stats.model import BinnedModel

__all__ = ["histogram_observed", "model_from_scores"]

log = logging.getLogger(__name__)

SCORE = "score"
WEIGHT = "Weight"
LABEL = "Label"
PROCESS = "Process"
#: Background process name used when the scores table has no Process column.
BACKGROUND = "background"


def _require(df: pd.DataFrame, cols: list[str], what: str) -> None:
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise InputError(f"{what} table lacks column(s) {missing}; expected {cols} "
                         f"(found {list(df.columns)})", column=missing[0])
    for c in cols:
        vals = pd.to_numeric(df[c], errors="coerce").to_numpy(dtype=float)
        bad = np.flatnonzero(~np.isfinite(vals))
        if bad.size:
            raise InputError(f"{what}: row {int(bad[0])} is {df[c].iloc[bad[0]]!r} "
                             f"({bad.size} bad rows); expected finite numbers", column=c)


def model_from_scores(scores: pd.DataFrame, *, edges: np.ndarray | None = None,
                      min_bkg: float = 10.0, max_bins: int = 20, n_candidates: int = 200,
                      max_rel_stat: float | None = None,
                      mc_stat: bool = True) -> tuple[BinnedModel, BinningResult | None]:
    """Histogram MC scores into a :class:`BinnedModel` (binning chosen unless ``edges``).

    Parameters
    ----------
    scores
        One row per MC event with ``score``, ``Weight`` (expected events), ``Label``
        (1 signal, 0 background) and optionally ``Process`` (backgrounds are split by it).
    edges
        Fixed bin edges; default: :func:`~rediscovery.higgs.stats.binning.choose_binning`.
    min_bkg, max_bins, n_candidates, max_rel_stat
        Passed to ``choose_binning``.
    mc_stat
        Add the Barlow–Beeston-lite MC-statistics factors (sums of squared weights).

    Returns
    -------
    (BinnedModel, BinningResult or None)
        Events outside the outer edges are put in the outer bins (and counted in a log line).
    """
    _require(scores, [SCORE, WEIGHT, LABEL], "scores")
    s = scores[SCORE].to_numpy(dtype=float)
    w = scores[WEIGHT].to_numpy(dtype=float)
    lab = scores[LABEL].to_numpy()
    if not np.isin(lab, [0, 1]).all():
        raise InputError(f"Label must be 0 or 1, found {sorted(set(np.unique(lab)) - {0, 1})}",
                         column=LABEL)
    sig = lab == 1
    if not sig.any() or sig.all():
        raise InputError("scores need both signal (Label 1) and background (Label 0) events",
                         column=LABEL)
    binning = None
    if edges is None:
        binning = choose_binning(s[sig], w[sig], s[~sig], w[~sig], min_bkg=min_bkg,
                                 max_bins=max_bins, n_candidates=n_candidates,
                                 max_rel_stat=max_rel_stat)
        edges = binning.edges
    edges = np.asarray(edges, dtype=float)
    clipped = np.clip(s, edges[0], edges[-1])
    n_out = int(np.sum(clipped != s))
    if n_out:
        log.info("%d MC events outside [%g, %g] were put in the outer bins", n_out, edges[0],
                 edges[-1])
    if PROCESS in scores.columns:
        procs = scores[PROCESS].astype(str).to_numpy()
    else:
        procs = np.full(s.size, BACKGROUND, dtype=object)

    def hist(mask: np.ndarray, weights: np.ndarray) -> np.ndarray:
        return np.histogram(clipped[mask], edges, weights=weights[mask])[0]

    bkg, bkg2 = {}, {}
    for p in pd.unique(procs[~sig]):
        m = (~sig) & (procs == p)
        bkg[str(p)] = hist(m, w)
        bkg2[str(p)] = hist(m, w * w)
    model = BinnedModel(hist(sig, w), bkg, signal_sumw2=hist(sig, w * w) if mc_stat else None,
                        background_sumw2=bkg2 if mc_stat else None, edges=edges)
    return model, binning


def histogram_observed(scores: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Counts of observed events (unit weights) per bin; events outside go to the outer bins."""
    x = np.asarray(scores, dtype=float)
    bad = np.flatnonzero(~np.isfinite(x))
    if bad.size:
        raise InputError(f"observed score row {int(bad[0])} is {x[bad[0]]} (expected finite)",
                         column=SCORE)
    n_out = int(np.sum((x < edges[0]) | (x > edges[-1])))
    if n_out:
        # a handful of events beyond the MC's extreme scores is expected (the data sample is
        # as large as the MC); a sizeable fraction means MC and data do not match
        level = logging.WARNING if n_out > 1e-3 * x.size else logging.INFO
        log.log(level, "%d of %d observed events outside the MC score range [%g, %g] were put "
                "in the outer bins", n_out, x.size, edges[0], edges[-1])
    return np.histogram(np.clip(x, edges[0], edges[-1]), edges)[0].astype(float)
