"""From per-event classifier scores to the binned model.

The counting-experiment view of the same scores (the best AMS cut) is
:func:`rediscovery.higgs.classifiers.metrics.best_ams`.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from rediscovery.core.checks import (
    duplicate_rows_mask,
    require_finite,
    require_in_range,
    require_no_sentinel,
    require_unique,
)
from rediscovery.core.errors import InputError
from rediscovery.higgs.schema import EVENT_ID
from rediscovery.higgs.stats.binning import BinningResult, choose_binning
from rediscovery.higgs.stats.model import BinnedModel

__all__ = ["DUPLICATE_FRACTION_LIMIT", "check_scores", "histogram_observed",
           "model_from_scores"]

log = logging.getLogger(__name__)

SCORE = "score"
WEIGHT = "Weight"
LABEL = "Label"
PROCESS = "Process"
#: Background process name used when the scores table has no Process column.
BACKGROUND = "background"
#: Classifier scores are probabilities: the interval every score must lie in.
SCORE_RANGE = (0.0, 1.0)
#: Largest fraction of rows identical to an earlier row accepted in a scores table without
#: ``EventId``. A table listed twice has half its rows repeated; scores stored as float32 with
#: equal per-process weights tie in far fewer rows (a few per cent at 10^6 events).
DUPLICATE_FRACTION_LIMIT = 0.25


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


def check_scores(table: pd.DataFrame, *, path: object = None, weighted: bool = True,
                 allow_duplicates: bool = False) -> None:
    """Refuse a scores table that would give a wrong fit without failing.

    Checks: ``score`` defined and in [0, 1] (a classifier probability; the -999 sentinel named
    as such), ``Weight`` (when ``weighted``) finite, not the sentinel and not negative, and, unless
    ``allow_duplicates``, no repeated ``EventId`` or (tables without ``EventId``) more than
    :data:`DUPLICATE_FRACTION_LIMIT` of the rows identical to an earlier row: events listed
    twice are counted twice.

    Raises
    ------
    InputError
        Naming ``path``, the column, the number of bad rows and the first one.
    """
    src = None if path is None else str(path)
    if SCORE in table.columns:
        score = pd.to_numeric(table[SCORE], errors="coerce")
        require_no_sentinel(score, column=SCORE, path=src,
                            expected="a classifier score in [0, 1]")
        require_finite(score, column=SCORE, path=src,
                       expected="a classifier score in [0, 1] for every event")
        require_in_range(score, column=SCORE, path=src, lo=SCORE_RANGE[0], hi=SCORE_RANGE[1],
                         why="a classifier score is a probability")
    if weighted and WEIGHT in table.columns:
        w = pd.to_numeric(table[WEIGHT], errors="coerce")
        require_no_sentinel(w, column=WEIGHT, path=src,
                            expected="expected events per MC event (-999 is not a weight)")
        require_finite(w, column=WEIGHT, path=src, expected="a finite weight for every event")
        require_in_range(w, column=WEIGHT, path=src, lo=0.0,
                         why="expected events per MC event cannot be negative")
    if allow_duplicates:
        return
    hint = "each event would be counted twice (--allow-duplicates accepts it)"
    if EVENT_ID in table.columns:
        require_unique(table[EVENT_ID], column=EVENT_ID, path=src, hint=hint)
        return
    dup = duplicate_rows_mask(table)
    if dup.size and dup.mean() > DUPLICATE_FRACTION_LIMIT:
        raise InputError(f"{int(dup.sum())} of {dup.size} rows are identical to an earlier row "
                         f"(first: row {int(np.flatnonzero(dup)[0])}): the table looks listed "
                         f"twice; {hint}", path=src)


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
    check_scores(scores, allow_duplicates=True)
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
    check_scores(pd.DataFrame({SCORE: x}), weighted=False, allow_duplicates=True)
    n_out = int(np.sum((x < edges[0]) | (x > edges[-1])))
    if n_out:
        # a handful of events beyond the MC's extreme scores is expected (the data sample is
        # as large as the MC); a sizeable fraction means MC and data do not match
        level = logging.WARNING if n_out > 1e-3 * x.size else logging.INFO
        log.log(level, "%d of %d observed events outside the MC score range [%g, %g] were put "
                "in the outer bins", n_out, x.size, edges[0], edges[-1])
    return np.histogram(np.clip(x, edges[0], edges[-1]), edges)[0].astype(float)
