"""Feature importance and feature-selection study for the H→ττ classifier.

One study (:func:`feature_study`) ranks the features with eight methods and measures, for each
ranking, the k-fold cross-validated ROC AUC and AMS of a small LightGBM classifier trained on
its top-k features:

``gain``        total split gain of each feature in a model trained on all features;
``split``       BDT split frequency, the number of splits on each feature ("TMVA ranking",
                A. Hoecker et al., TMVA users guide, arXiv:physics/0703039, sec. 8.12);
``permutation`` drop of the held-out AUC when the feature's column is permuted (Breiman 2001);
``correlation`` |Pearson correlation| between the feature and the output of the classifier
                trained on all features (held-out events; NaN replaced by the column median);
``separation``  ⟨S²⟩ = ½ Σ (p_s - p_b)² / (p_s + p_b) of the weighted signal and background
                distributions in 40 quantile bins plus a NaN bin: no training (TMVA sec. 8.1);
``forward``     iterative addition: the feature that most increases a quick hold-out AUC, step by
                step (bounded: the ``n_candidates`` best-gain unused features per step,
                ``max_forward`` steps);
``backward``    iterative removal: starting from the ``backward_start`` best-gain features,
                remove the one whose loss costs least, step by step (bounded: the
                ``n_candidates`` lowest-gain features per step, down to ``max_forward``
                features); features never in the search follow by gain;
``random``      random orderings, each curve point averaged over ``n_random`` draws.

It also evaluates the fixed sets PRI_ only, PRI_ + DER_, and PRI_ + DER_ + NEW_ to show how much
the derived features add.

AMS (:func:`rediscovery.higgs.classifiers.metrics.best_ams`): HiggsML documentation v1.8 eq. (7)
with
b_reg = 10, at the best threshold on each
held-out fold, with the fold's weights scaled by n_events / n_fold so that they estimate the
full sample's yields; the best-threshold maximum is optimistic by construction, identically
for every feature set. Uncertainties are the standard error of the mean over the k folds.

Cost: every classifier is ``n_estimators`` trees of ``num_leaves`` leaves on ``n_threads``
threads; the greedy searches use a single hold-out split of at most ``search_events`` events.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from rediscovery.core.errors import ConfigError, InputError
from rediscovery.higgs.classifiers.metrics import AMS_B_REG, best_ams, weighted_auc
from rediscovery.higgs.features.derived import add_derived_features
from rediscovery.higgs.features.new import NEW_FEATURES, add_new_features
from rediscovery.higgs.schema import DER_COLUMNS, LABEL, PRI_COLUMNS, WEIGHT

__all__ = [
    "METHODS",
    "StudyConfig",
    "StudyResult",
    "feature_study",
    "prepare_features",
    "separation",
]

log = logging.getLogger(__name__)

Array = NDArray[np.float64]

#: Ranking methods of the study, in the order of the table.
METHODS: tuple[str, ...] = ("gain", "split", "permutation", "correlation", "separation",
                            "forward", "backward", "random")


@dataclass(frozen=True)
class StudyConfig:
    """Settings of :func:`feature_study` (defaults run in < 5 min on 2 cores, 100k events)."""

    n_events: int = 100_000
    n_folds: int = 3
    seed: int = 2014
    n_estimators: int = 40
    num_leaves: int = 15
    learning_rate: float = 0.2
    # one thread per model: LightGBM's OpenMP threads spin-wait, and on a shared 2-core machine
    # two threads per model were measured 100x slower than one (load average 12)
    n_threads: int = 1
    #: folds trained concurrently (threads); each model uses ``n_threads`` threads
    n_workers: int = 2
    k_grid: tuple[int, ...] = (1, 2, 4, 8, 16)
    n_random: int = 3
    search_events: int = 20_000
    n_candidates: int = 5
    max_forward: int = 8
    backward_start: int = 16
    permutation_repeats: int = 2
    mmc_points: int = 256


@dataclass
class StudyResult:
    """Outcome of :func:`feature_study`.

    Attributes
    ----------
    table
        One row per (method, n_features) curve point and per fixed set (method ``set``):
        ``method, n_features, features, auc, auc_err, ams, ams_err``.
    rankings
        One row per feature: its score under each scoring method and its rank in each ranking.
    summary
        Headline numbers (AUC/AMS of PRI_ only, PRI_+DER_, all; timings).
    """

    table: pd.DataFrame
    rankings: pd.DataFrame
    summary: dict[str, Any] = field(default_factory=dict)


def _best_ams(score: Array, y: Array, w: Array) -> float:
    return best_ams(score, w, y, b_reg=AMS_B_REG)[1]


def _auc(score: Array, y: Array, w: Array) -> float:
    return weighted_auc(score, w, y)


# ---------------------------------------------------------------------------------------------
# data
# ---------------------------------------------------------------------------------------------
def prepare_features(df: pd.DataFrame, *, recompute_der: bool = False,
                     mmc_points: int = 256) -> pd.DataFrame:
    """Events with PRI_, DER_ (computed where absent) and all NEW_ features.

    Parameters
    ----------
    df
        Events with the 17 PRI_ columns, ``Label`` and ``Weight``.
    recompute_der
        Recompute DER_ even if present (otherwise a file's official DER_ values are kept).
    mmc_points
        Integration points of the missing-mass scan when DER_mass_MMC is computed.
    """
    for col in (LABEL, WEIGHT):
        if col not in df.columns:
            raise InputError("the feature study needs labelled, weighted events", column=col)
    if recompute_der or not set(DER_COLUMNS) <= set(df.columns):
        df = add_derived_features(df, n_points=mmc_points)
    return add_new_features(df)


def separation(x: Array, y: Array, w: Array, n_bins: int = 40) -> float:
    """TMVA separation ⟨S²⟩ = ½ Σ_bins (p_s - p_b)² / (p_s + p_b) of one feature.

    Bins are weighted-sample quantiles of ``x`` (at most ``n_bins``) plus one bin for NaN;
    p_s, p_b are the normalised weighted histograms. 0 = identical, 1 = disjoint.
    """
    finite = np.isfinite(x)
    edges = np.unique(np.quantile(x[finite], np.linspace(0, 1, n_bins + 1))) if finite.any() \
        else np.array([0.0, 1.0])
    idx = np.where(finite, np.clip(np.searchsorted(edges, x, side="right") - 1, 0,
                                   max(edges.size - 2, 0)), edges.size - 1)
    nb = edges.size
    hs = np.bincount(idx[y == 1], weights=w[y == 1], minlength=nb)
    hb = np.bincount(idx[y == 0], weights=w[y == 0], minlength=nb)
    ps, pb = hs / hs.sum(), hb / hb.sum()
    tot = ps + pb
    nz = tot > 0
    return float(0.5 * np.sum((ps[nz] - pb[nz]) ** 2 / tot[nz]))


# ---------------------------------------------------------------------------------------------
# classifier
# ---------------------------------------------------------------------------------------------
def _model(cfg: StudyConfig, seed: int) -> Any:
    # LightGBM does the learning; we only fix a small, fast configuration
    import lightgbm as lgb

    return lgb.LGBMClassifier(
        n_estimators=cfg.n_estimators, num_leaves=cfg.num_leaves,
        learning_rate=cfg.learning_rate, n_jobs=cfg.n_threads, random_state=seed,
        subsample_for_bin=50_000, min_child_samples=50, verbose=-1,
    )


def _train_weights(y: Array, w: Array) -> Array:
    """Physics weights rescaled so that signal and background have equal total weight."""
    out = w.astype(np.float64).copy()
    for label in (0, 1):
        sel = y == label
        out[sel] *= 0.5 * len(y) / max(out[sel].sum(), 1e-300)
    return out


def _cv(x: pd.DataFrame, y: Array, w: Array, cfg: StudyConfig,
        folds: list[tuple[Array, Array]]) -> dict[str, float]:
    """k-fold AUC (weighted) and best AMS, mean and standard error over folds."""

    def one(i: int) -> tuple[float, float]:
        tr, te = folds[i]
        model = _model(cfg, cfg.seed + i)
        model.fit(x.iloc[tr], y[tr], sample_weight=_train_weights(y[tr], w[tr]))
        score = model.predict_proba(x.iloc[te])[:, 1]
        return _auc(score, y[te], w[te]), _best_ams(score, y[te], w[te] * len(y) / len(te))

    k = len(folds)
    if cfg.n_workers > 1:
        # LightGBM releases the GIL while training: folds in threads use the cores without
        # the OpenMP oversubscription of multi-threaded models; results do not depend on it
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=min(cfg.n_workers, k)) as pool:
            res = list(pool.map(one, range(k)))
    else:
        res = [one(i) for i in range(k)]
    aucs, amss = [r[0] for r in res], [r[1] for r in res]
    return {"auc": float(np.mean(aucs)), "auc_err": float(np.std(aucs, ddof=1) / np.sqrt(k)),
            "ams": float(np.mean(amss)), "ams_err": float(np.std(amss, ddof=1) / np.sqrt(k))}


def _folds(y: Array, k: int, seed: int) -> list[tuple[Array, Array]]:
    from sklearn.model_selection import StratifiedKFold

    skf = StratifiedKFold(n_splits=k, shuffle=True, random_state=seed)
    return [(tr, te) for tr, te in skf.split(np.zeros(len(y)), y)]


# ---------------------------------------------------------------------------------------------
# rankings
# ---------------------------------------------------------------------------------------------
def _greedy(x: pd.DataFrame, y: Array, w: Array, cfg: StudyConfig, gain: pd.Series,
            direction: str, tick: Callable[[], None]) -> list[str]:
    """Bounded iterative addition ("forward") or removal ("backward"); returns a ranking."""
    rng = np.random.default_rng(cfg.seed + 7)
    n = min(len(y), cfg.search_events)
    sub = rng.choice(len(y), size=n, replace=False)
    cut = int(0.6 * n)
    tr, te = sub[:cut], sub[cut:]
    feats = list(x.columns)

    def quick(cols: list[str]) -> float:
        model = _model(cfg, cfg.seed)
        model.fit(x.iloc[tr][cols], y[tr], sample_weight=_train_weights(y[tr], w[tr]))
        tick()
        return _auc(model.predict_proba(x.iloc[te][cols])[:, 1], y[te], w[te])

    by_gain = [f for f in gain.sort_values(ascending=False).index if f in feats]
    if direction == "forward":
        chosen: list[str] = []
        for _ in range(min(cfg.max_forward, len(feats))):
            cands = [f for f in by_gain if f not in chosen][: cfg.n_candidates]
            scores = {f: quick([*chosen, f]) for f in cands}
            chosen.append(max(scores, key=scores.__getitem__))
        return chosen + [f for f in by_gain if f not in chosen]
    remaining = list(by_gain[: cfg.backward_start])
    rest = by_gain[cfg.backward_start:]
    removed: list[str] = []
    while len(remaining) > max(cfg.max_forward, 1):
        cands = remaining[::-1][: cfg.n_candidates]  # lowest gain first
        scores = {f: quick([c for c in remaining if c != f]) for f in cands}
        worst = max(scores, key=scores.__getitem__)  # removing it keeps the best AUC
        remaining.remove(worst)
        removed.append(worst)
    return remaining + removed[::-1] + rest


def _n_greedy_fits(n_feat: int, cfg: StudyConfig) -> int:
    fwd = sum(min(cfg.n_candidates, n_feat - i) for i in range(min(cfg.max_forward, n_feat)))
    start = min(cfg.backward_start, n_feat)
    bwd = sum(min(cfg.n_candidates, m) for m in range(start, max(cfg.max_forward, 1), -1))
    return fwd + bwd


def feature_study(
    df: pd.DataFrame,
    config: StudyConfig | None = None,
    *,
    features: Sequence[str] | None = None,
    progress: bool = True,
) -> StudyResult:
    """Rank the features with :data:`METHODS` and measure AUC/AMS against the number of features.

    Parameters
    ----------
    df
        Labelled, weighted events; DER_ and NEW_ features are added where absent
        (:func:`prepare_features`). At most ``config.n_events`` events are used (a seeded
        random subsample).
    config
        :class:`StudyConfig` (defaults: 100k events, 3 folds, 40 trees of 15 leaves, 1 thread).
    features
        Candidate features (default: all PRI_, DER_ and NEW_ columns).
    progress
        Show a rich progress bar.

    Returns
    -------
    StudyResult
    """
    cfg = config or StudyConfig()
    if cfg.n_folds < 2:
        raise ConfigError(f"n_folds must be >= 2 to estimate an uncertainty, got {cfg.n_folds}")
    t0 = time.perf_counter()
    rng = np.random.default_rng(cfg.seed)
    if len(df) > cfg.n_events:
        df = df.iloc[np.sort(rng.choice(len(df), size=cfg.n_events, replace=False))]
    data = prepare_features(df, mmc_points=cfg.mmc_points)
    t_prep = time.perf_counter() - t0
    if features is None:
        features = [*PRI_COLUMNS, *DER_COLUMNS, *NEW_FEATURES]
    missing = [f for f in features if f not in data.columns]
    if missing:
        raise InputError("feature not in the events table", column=missing[0])
    x = data[list(features)].astype(np.float64)
    y = data[LABEL].to_numpy().astype(np.int8)
    w = data[WEIGHT].to_numpy(dtype=np.float64)
    if len(np.unique(y)) != 2:
        raise InputError("need both signal (1) and background (0) events", column=LABEL)
    folds = _folds(y, cfg.n_folds, cfg.seed)

    feats = list(x.columns)
    ks = sorted({min(k, len(feats)) for k in cfg.k_grid} | {len(feats)})
    n_curve = (len(METHODS) - 1 + cfg.n_random) * len(ks) * cfg.n_folds
    total = 1 + _n_greedy_fits(len(feats), cfg) + n_curve + 3 * cfg.n_folds

    from rich.progress import Progress

    with Progress(disable=not progress, transient=True) as bar:
        task = bar.add_task("feature study", total=total)

        def tick() -> None:
            bar.advance(task)

        # reference model on all features (first fold): gain, split, permutation, correlation
        tr, te = folds[0]
        model = _model(cfg, cfg.seed)
        model.fit(x.iloc[tr], y[tr], sample_weight=_train_weights(y[tr], w[tr]))
        tick()
        booster = model.booster_
        gain = pd.Series(booster.feature_importance("gain"), index=feats, dtype=float)
        split = pd.Series(booster.feature_importance("split"), index=feats, dtype=float)
        x_te = x.iloc[te].reset_index(drop=True)
        score = model.predict_proba(x_te)[:, 1]
        base_auc = _auc(score, y[te], w[te])
        perm = {}
        prng = np.random.default_rng(cfg.seed + 1)
        for f in feats:
            drops = []
            for _ in range(cfg.permutation_repeats):
                shuffled = x_te.copy()
                shuffled[f] = prng.permutation(shuffled[f].to_numpy())
                drops.append(base_auc - _auc(model.predict_proba(shuffled)[:, 1], y[te], w[te]))
            perm[f] = float(np.mean(drops))
        filled = x_te.fillna(x_te.median())
        corr = {f: float(abs(np.corrcoef(filled[f].to_numpy(), score)[0, 1]))
                if filled[f].std() > 0 else 0.0 for f in feats}
        sep = {f: separation(x[f].to_numpy(), y, w) for f in feats}
        scores = {"gain": gain, "split": split, "permutation": pd.Series(perm),
                  "correlation": pd.Series(corr), "separation": pd.Series(sep)}
        rankings: dict[str, list[str]] = {
            m: list(s.sort_values(ascending=False, kind="stable").index)
            for m, s in scores.items()}
        t_g = time.perf_counter()
        rankings["forward"] = _greedy(x, y, w, cfg, gain, "forward", tick)
        rankings["backward"] = _greedy(x, y, w, cfg, gain, "backward", tick)
        t_greedy = time.perf_counter() - t_g

        rows = []
        for method in METHODS[:-1]:
            for k in ks:
                cols = rankings[method][:k]
                res = _cv(x[cols], y, w, cfg, folds)
                for _ in folds:
                    tick()
                rows.append({"method": method, "n_features": k, "features": ";".join(cols),
                             **res})
        rrng = np.random.default_rng(cfg.seed + 2)
        draws = [list(rrng.permutation(feats)) for _ in range(cfg.n_random)]
        for k in ks:
            res_k = []
            for order in draws:
                res_k.append(_cv(x[order[:k]], y, w, cfg, folds))
                for _ in folds:
                    tick()
            # mean over draws; uncertainty: spread of the draws' means (and fold error) combined
            auc = np.array([r["auc"] for r in res_k])
            ams = np.array([r["ams"] for r in res_k])
            rows.append({
                "method": "random", "n_features": k,
                "features": f"mean of {cfg.n_random} random draws",
                "auc": float(auc.mean()),
                "auc_err": float(np.hypot(np.mean([r["auc_err"] for r in res_k]),
                                          auc.std(ddof=1) / np.sqrt(len(auc))
                                          if len(auc) > 1 else 0.0)),
                "ams": float(ams.mean()),
                "ams_err": float(np.hypot(np.mean([r["ams_err"] for r in res_k]),
                                          ams.std(ddof=1) / np.sqrt(len(ams))
                                          if len(ams) > 1 else 0.0)),
            })
        sets = {"PRI": [f for f in feats if f.startswith("PRI_")],
                "PRI+DER": [f for f in feats if f.startswith(("PRI_", "DER_"))],
                "PRI+DER+NEW": feats}
        summary: dict[str, Any] = {}
        for name, cols in sets.items():
            if not cols:
                continue
            res = _cv(x[cols], y, w, cfg, folds)
            for _ in folds:
                tick()
            rows.append({"method": f"set:{name}", "n_features": len(cols),
                         "features": ";".join(cols), **res})
            summary[name] = res
    table = pd.DataFrame(rows)
    rank_df = pd.DataFrame({f"score_{m}": s for m, s in scores.items()})
    for m, order in rankings.items():
        rank_df[f"rank_{m}"] = pd.Series({f: i + 1 for i, f in enumerate(order)})
    rank_df.index.name = "feature"
    rank_df = rank_df.sort_values("rank_gain")
    if "PRI" in summary and "PRI+DER" in summary:
        a, b = summary["PRI"], summary["PRI+DER"]
        summary["der_gain_auc"] = b["auc"] - a["auc"]
        summary["der_gain_auc_err"] = float(np.hypot(a["auc_err"], b["auc_err"]))
        summary["der_gain_ams"] = b["ams"] - a["ams"]
        summary["der_gain_ams_err"] = float(np.hypot(a["ams_err"], b["ams_err"]))
    summary.update(n_events=len(y), n_signal=int(y.sum()), n_features=len(feats),
                   n_folds=cfg.n_folds, seconds_prepare=t_prep, seconds_greedy=t_greedy,
                   seconds_total=time.perf_counter() - t0)
    log.info("feature study: %d events, %d features, %.0f s", len(y), len(feats),
             summary["seconds_total"])
    return StudyResult(table=table, rankings=rank_df.reset_index(), summary=summary)
