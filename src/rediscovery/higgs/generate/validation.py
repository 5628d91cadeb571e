"""Validation of generated events as the fast-simulation field does it (CaloChallenge 2022,
Krause et al. 2024, arXiv:2410.21611): a classifier two-sample test and per-feature
Kolmogorov–Smirnov tests against the simulator.

The classifier test trains a gradient-boosted classifier (scikit-learn's
HistGradientBoostingClassifier, which takes NaN for undefined features) to separate generated
from simulated events on one half of a balanced sample and measures its ROC AUC on the other
half: 0.5 when the generator is perfect. The AUC's standard error is that of Hanley & McNeil
(1982, Radiology 143, 29).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from rediscovery.core.errors import InputError

__all__ = ["compare_processes", "hanley_mcneil_error", "ks_table", "two_sample_auc"]


def hanley_mcneil_error(auc: float, n_pos: int, n_neg: int) -> float:
    """Standard error of an AUC from ``n_pos`` positives and ``n_neg`` negatives (Hanley &
    McNeil 1982, eq. 2)."""
    q1 = auc / (2.0 - auc)
    q2 = 2.0 * auc**2 / (1.0 + auc)
    var = (auc * (1 - auc) + (n_pos - 1) * (q1 - auc**2) + (n_neg - 1) * (q2 - auc**2)) / (
        n_pos * n_neg
    )
    return float(np.sqrt(max(var, 0.0)))


def two_sample_auc(
    reference: pd.DataFrame,
    generated: pd.DataFrame,
    features: Sequence[str] | None = None,
    *,
    seed: int,
    n_threads: int = 1,
    weight_column: str | None = None,
) -> dict[str, Any]:
    """Classifier two-sample test: ``{"auc", "auc_err", "n"}`` (``n`` events per sample).

    ``n_threads`` are the classifier's OpenMP threads. Both samples are cut to the same size
    (the smaller one's) by a seeded draw. With ``weight_column`` the events carry their
    weights (each sample's normalised to a mean of 1) in the classifier's training and in the
    AUC, whose error then uses Kish's effective sample sizes ``(Σw)²/Σw²``.

    Raises
    ------
    InputError
        Missing feature columns or fewer than 20 events in a sample.
    """
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.metrics import roc_auc_score

    from rediscovery.higgs.schema import PRI_COLUMNS

    feats = list(PRI_COLUMNS if features is None else features)
    for name, df in (("reference", reference), ("generated", generated)):
        missing = [c for c in feats if c not in df.columns]
        if missing:
            raise InputError(f"the {name} events lack {missing}", column=missing[0])
    n = min(len(reference), len(generated))
    if n < 20:
        raise InputError(f"two-sample test needs >= 20 events per sample, got {n}")
    rng = np.random.default_rng(seed)
    ia = rng.choice(len(reference), n, replace=False)
    ib = rng.choice(len(generated), n, replace=False)
    a = reference[feats].to_numpy(dtype=float)[ia]
    b = generated[feats].to_numpy(dtype=float)[ib]
    x = np.vstack([a, b])
    y = np.r_[np.zeros(n), np.ones(n)]
    w = np.ones(2 * n)
    if weight_column is not None:
        for name, df in (("reference", reference), ("generated", generated)):
            if weight_column not in df.columns:
                raise InputError(f"the {name} events lack {weight_column}", column=weight_column)
        wa = reference[weight_column].to_numpy(dtype=float)[ia]
        wb = generated[weight_column].to_numpy(dtype=float)[ib]
        if not (np.all(np.isfinite(np.r_[wa, wb])) and wa.sum() > 0 and wb.sum() > 0):
            raise InputError(f"{weight_column}: expected finite weights with a positive sum",
                             column=weight_column)  # fmt: skip
        w = np.r_[wa / wa.mean(), wb / wb.mean()]
    order = rng.permutation(2 * n)
    train, test = order[:n], order[n:]
    from threadpoolctl import threadpool_limits

    clf = HistGradientBoostingClassifier(random_state=seed, max_iter=200)
    with threadpool_limits(n_threads):  # OpenMP threads on a shared machine: 1 is fastest
        weighted = weight_column is not None
        clf.fit(x[train], y[train], sample_weight=w[train] if weighted else None)
        score = clf.predict_proba(x[test])[:, 1]
        auc = float(roc_auc_score(y[test], score, sample_weight=w[test] if weighted else None))

    def n_eff(m: np.ndarray) -> int:
        return max(1, round(w[test][m].sum() ** 2 / (w[test][m] ** 2).sum()))

    pos = y[test] == 1
    return {"auc": auc, "auc_err": hanley_mcneil_error(auc, n_eff(pos), n_eff(~pos)), "n": n}


def ks_table(
    reference: pd.DataFrame, generated: pd.DataFrame, features: Sequence[str] | None = None
) -> pd.DataFrame:
    """Two-sample KS statistic and p-value per feature (defined values only): a DataFrame
    ``feature, ks, pvalue, n_reference, n_generated``."""
    from scipy.stats import ks_2samp

    from rediscovery.higgs.schema import PRI_COLUMNS

    rows = []
    for c in PRI_COLUMNS if features is None else features:
        a = reference[c].to_numpy(dtype=float)
        b = generated[c].to_numpy(dtype=float)
        a, b = a[np.isfinite(a)], b[np.isfinite(b)]
        if len(a) == 0 or len(b) == 0:
            rows.append((c, np.nan, np.nan, len(a), len(b)))
            continue
        res = ks_2samp(a, b)
        rows.append((c, float(res.statistic), float(res.pvalue), len(a), len(b)))
    return pd.DataFrame(rows, columns=["feature", "ks", "pvalue", "n_reference", "n_generated"])


def compare_processes(
    reference: pd.DataFrame,
    generated: pd.DataFrame,
    *,
    seed: int,
    min_events: int = 100,
    n_threads: int = 1,
    weight_column: str | None = None,
) -> pd.DataFrame:
    """Per process: the classifier two-sample AUC (± Hanley–McNeil error) and the worst 1-D KS
    p-value of ``generated`` against ``reference`` (both with a ``Process`` column).

    Returns a DataFrame ``process, n, auc, auc_err, min_ks_pvalue, worst_feature`` (one row per
    process with at least ``min_events`` events in both samples). ``weight_column``: the
    two-sample test with the events' weights (:func:`two_sample_auc`; the KS tests are
    unweighted).

    Raises
    ------
    InputError
        A sample without a ``Process`` column, or no process with enough events.
    """
    for name, df in (("reference", reference), ("generated", generated)):
        if "Process" not in df.columns:
            raise InputError(f"the {name} events have no Process column", column="Process")
    ref_p = reference["Process"].astype(str).to_numpy()
    gen_p = generated["Process"].astype(str).to_numpy()
    rows = []
    for p in pd.unique(ref_p):
        a, b = reference[ref_p == p], generated[gen_p == p]
        if min(len(a), len(b)) < min_events:
            continue
        res = two_sample_auc(a, b, seed=seed, n_threads=n_threads, weight_column=weight_column)
        ks = ks_table(a, b)
        worst = int(np.nanargmin(ks["pvalue"].to_numpy()))
        rows.append(
            (
                p,
                res["n"],
                res["auc"],
                res["auc_err"],
                float(ks["pvalue"].iloc[worst]),
                str(ks["feature"].iloc[worst]),
            )
        )
    if not rows:
        raise InputError(
            f"no process has >= {min_events} events in both samples; generate or simulate more"
        )
    return pd.DataFrame(
        rows, columns=["process", "n", "auc", "auc_err", "min_ks_pvalue", "worst_feature"]
    )
