"""Scoring against the hidden truth: SIC curves, AUC, the idealised detector, the mass found.

Only this module reads the challenge's truth. The significance improvement characteristic
SIC = ε_S / √ε_B (J. Gallicchio et al., Phys. Rev. Lett. 107 (2011) 172001) says by how much a
cut on the score multiplies the S/√B of the sample; its maximum is taken over cuts keeping at
least :data:`MIN_BACKGROUND` background events (beyond, ε_B is noise). The idealised detector
is a fully supervised classifier trained with the truth labels on the data themselves
(k-fold), the upper bound of a weakly supervised method (LHC Olympics 2020, Kasieczka et al.,
Rep. Prog. Phys. 84 (2021) 124201, sec. 5).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from rediscovery.anomaly.methods import limited_threads
from rediscovery.core.errors import InputError

__all__ = [
    "MASS_RESOLUTION",
    "MIN_BACKGROUND",
    "MMC_SCALE",
    "SicCurve",
    "idealised_scores",
    "score_method",
    "sic_curve",
]

#: Least number of background events passing a cut for its SIC to count.
MIN_BACKGROUND = 20
#: Relative resolution of the MMC ττ mass (half the 16–84 % range over the median) for the
#: hidden X at 300–800 GeV, measured on this simulator (0.30–0.35 with 256 MMC points).
MASS_RESOLUTION = 0.35
#: Median of the MMC mass over the true X mass at 300–800 GeV on this simulator (0.86–0.90).
MMC_SCALE = 0.88


@dataclass
class SicCurve:
    """ε_S, ε_B and SIC along decreasing score thresholds; ``auc`` the ROC area."""

    eff_s: np.ndarray
    eff_b: np.ndarray
    sic: np.ndarray
    auc: float

    @property
    def sic_max(self) -> float:
        return float(self.sic.max()) if self.sic.size else float("nan")


def sic_curve(scores: np.ndarray, is_signal: np.ndarray) -> SicCurve:
    """SIC curve and AUC of ``scores`` (higher = more signal-like) against the truth."""
    from sklearn.metrics import roc_auc_score, roc_curve

    y = np.asarray(is_signal, bool)
    if y.all() or not y.any():
        raise InputError(
            "truth has no signal or no background event; SIC and AUC need both",
            column="signal_event_ids",
        )
    fpr, tpr, _ = roc_curve(y, scores)
    nb = int((~y).sum())
    ok = fpr * nb >= MIN_BACKGROUND
    eff_s, eff_b = tpr[ok], fpr[ok]
    return SicCurve(eff_s, eff_b, eff_s / np.sqrt(eff_b), float(roc_auc_score(y, scores)))


def idealised_scores(
    data: pd.DataFrame,
    is_signal: np.ndarray,
    *,
    folds: int = 5,
    seed: int = 2019,
    test: pd.DataFrame | None = None,
) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """Out-of-fold scores of a supervised classifier (gradient boosting on the PRI_/DER_
    features, or on every numeric column but ``EventId`` and ``Weight`` of data without them,
    e.g. the dijet set) trained with the truth labels: the idealised anomaly detector. With
    ``test`` (independent events with the same columns), returns the scores and the test
    events' scores by the mean of the fold models."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    cols = [c for c in data.columns if c.startswith(("PRI_", "DER_")) and not c.endswith("_phi")]
    if not cols:
        cols = [
            c
            for c in data.select_dtypes("number").columns
            if c not in ("EventId", "Weight", "Label")
        ]
    x = data[cols].to_numpy(float)
    y = np.asarray(is_signal, bool)
    rng = np.random.default_rng(seed)
    fold = rng.integers(0, folds, len(x))
    out = np.zeros(len(x))
    x_test = None if test is None else test[cols].to_numpy(float)
    out_test = None if test is None else np.zeros(len(test))
    w = np.where(y, 0.5 / y.sum(), 0.5 / (~y).sum()) * len(y)
    with limited_threads(1):
        for k in range(folds):
            fit = fold != k
            clf = HistGradientBoostingClassifier(
                max_iter=200, random_state=seed + k, early_stopping=False
            )
            clf.fit(x[fit], y[fit], sample_weight=w[fit])
            out[~fit] = clf.predict_proba(x[~fit])[:, 1]
            if out_test is not None:
                out_test += clf.predict_proba(x_test)[:, 1] / folds
    return out if out_test is None else (out, out_test)


def score_method(
    scores: np.ndarray, is_signal: np.ndarray, summary: dict[str, Any], truth: dict[str, Any]
) -> dict[str, Any]:
    """Figures of one method's output against the truth (a row of the challenge table).

    ``summary`` is the method's ``anomaly.json``; its ``bump`` (if any) gives the local
    significance and the mass estimate, compared with the hidden mass: "found" means a local
    Z ≥ 3 with the estimate within the mass resolution (:data:`MASS_RESOLUTION`).
    """
    sic = sic_curve(scores, is_signal)
    row: dict[str, Any] = {
        "method": summary.get("method"),
        "auc": sic.auc,
        "sic_max": sic.sic_max,
        "seconds": summary.get("seconds"),
    }
    bump = summary.get("bump")
    if bump:
        row.update(z_local=bump["z_local"], p_global=bump["p_global"], mass=bump["mass"])
        m_true = truth.get("mass")
        if m_true:
            lo, hi = bump["window"]
            row["mass_in_window"] = bool(lo <= MMC_SCALE * m_true < hi)
            row["mass_error"] = bump["mass"] - m_true
            row["found"] = bool(
                bump["z_local"] >= 3 and abs(bump["mass"] - m_true) <= MASS_RESOLUTION * m_true
            )
    return row
