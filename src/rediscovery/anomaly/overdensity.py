"""CWoLa hunting: classify a mass window against its sidebands, select, bump-hunt.

Classification without labels (E. M. Metodiev, B. Nachman, J. Thaler, JHEP 10 (2017) 174) in
the sliding-window form of J. H. Collins, K. Howe, B. Nachman, Phys. Rev. Lett. 121 (2018)
241803 and Phys. Rev. D 99 (2019) 014038: for each signal region (SR, a window of the ττ mass
spectrum) a classifier learns SR events against the adjacent sideband (SB) events. Without new
physics, and with features (nearly) independent of the mass, SR and SB are indistinguishable
and the classifier learns nothing; a resonance in the SR makes the SR differ, and the optimal
SR-vs-SB classifier is monotonic in the signal-vs-background likelihood ratio. The events the
classifier ranks highest are kept and the bump hunt tests the SR for an excess.

The classifier is scikit-learn's histogram gradient boosting; the SR ∪ SB events are split in
``folds`` folds and every event is scored by the model that did not see it (others: the mean of
the fold models). Its features are divided by the ττ mass where they scale with it
(:func:`cwola_features`), so that SR and SB differ little without a signal.
"""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
from scipy import stats

from rediscovery.anomaly.bumphunt import BumpHuntConfig, BumpHuntResult
from rediscovery.anomaly.kfold import kfold_scores
from rediscovery.anomaly.methods import MethodResult, limited_threads, require_mass
from rediscovery.anomaly.windows import (
    bin_index,
    reference_corrected_test,
    weighted_efficiency,
    window_bump_result,
)
from rediscovery.core.errors import ConfigError
from rediscovery.core.progress import progress_bar
from rediscovery.higgs.schema import WEIGHT

__all__ = [
    "CWOLA_MASS_SCALED",
    "CWOLA_PLAIN",
    "CWoLaMethod",
    "cwola_features",
    "cwola_region_scores",
    "efficiency_excess_z",
]

log = logging.getLogger(__name__)

#: Momenta and masses used divided by the ττ mass (dimensionless, weakly mass-dependent).
CWOLA_MASS_SCALED: tuple[str, ...] = (
    "PRI_tau_pt",
    "PRI_lep_pt",
    "PRI_met",
    "PRI_jet_leading_pt",
    "PRI_jet_all_pt",
    "DER_pt_h",
    "DER_mass_vis",
    "DER_mass_transverse_met_lep",
    "DER_sum_pt",
)
#: Dimensionless features used as they are.
CWOLA_PLAIN: tuple[str, ...] = (
    "PRI_tau_eta",
    "PRI_lep_eta",
    "PRI_jet_num",
    "DER_pt_ratio_lep_tau",
    "DER_deltar_tau_lep",
    "DER_met_phi_centrality",
    "DER_deltaeta_jet_jet",
    "DER_lep_eta_centrality",
)


def cwola_features(df: pd.DataFrame, mass: np.ndarray) -> np.ndarray:
    """(n, 17) features of :data:`CWOLA_MASS_SCALED` / m and :data:`CWOLA_PLAIN` (NaN kept)."""
    missing = [c for c in CWOLA_MASS_SCALED + CWOLA_PLAIN if c not in df.columns]
    if missing:
        from rediscovery.core.errors import InputError

        raise InputError(
            "is missing; CWoLa hunting expects the PRI_ and DER_ features", column=missing[0]
        )
    with np.errstate(invalid="ignore", divide="ignore"):
        scaled = df[list(CWOLA_MASS_SCALED)].to_numpy(float) / mass[:, None]
    return np.hstack([scaled, df[list(CWOLA_PLAIN)].to_numpy(float)])


@dataclass
class CWoLaMethod:
    """CWoLa hunting in sliding windows of the ττ mass.

    Attributes
    ----------
    sideband_bins
        Bins of the bump-hunt histogram on each side of the SR used as sideband.
    step
        The SR slides by this many bins (1: every bump-hunt window with full sidebands).
    folds
        k of the k-fold scoring (no event is scored by a model trained on it).
    keep
        Fraction of the SR ∪ SB events kept by the classifier cut.
    max_iter, learning_rate, max_leaf_nodes
        Gradient boosting settings.
    ensemble
        Bagged classifiers averaged per fold (:func:`~rediscovery.anomaly.kfold.
        kfold_scores`).
    bump
        Binning and windows (the SR is a bump-hunt window).
    seed
        Seed of the folds and the boosting.
    threads
        OpenMP threads of the boosting (see :func:`~rediscovery.anomaly.methods.
        limited_threads`).
    """

    sideband_bins: int = 2
    step: int = 1
    folds: int = 5
    keep: float = 0.1
    max_iter: int = 100
    learning_rate: float = 0.1
    max_leaf_nodes: int = 15
    ensemble: int = 1
    seed: int = 2019
    threads: int = 1
    bump: BumpHuntConfig | None = None
    progress: bool = False
    name: str = "cwola"

    def __post_init__(self) -> None:
        if self.folds < 2:
            raise ConfigError(f"folds {self.folds}: expected at least 2")
        if self.ensemble < 1:
            raise ConfigError(f"ensemble {self.ensemble}: expected at least 1 classifier")
        if self.step < 1:
            raise ConfigError(f"step {self.step}: expected at least 1 bin")
        if self.sideband_bins < 1:
            raise ConfigError(f"sideband_bins {self.sideband_bins}: expected at least 1")
        if not 0 < self.keep <= 1:
            raise ConfigError(f"keep {self.keep}: expected a fraction in (0, 1]")

    def _window_scores(self, x, y, train, rng, x_ref=None, ensemble=1):
        """Out-of-fold scores of the SR-vs-SB classifier for the ``train`` events, the mean
        of the fold models for the other events; ``x_ref`` (None: not scored) events are
        each scored by one fold model drawn at random, so that their scores are distributed
        as the out-of-fold ones of the data (:func:`~rediscovery.anomaly.kfold.
        kfold_scores`)."""
        fold = rng.integers(0, self.folds, train.size)
        rest = np.ones(len(x), bool)
        rest[train] = False
        others = [(x[rest], None)]
        if x_ref is not None:
            others.append((x_ref, rng.integers(0, self.folds, len(x_ref))))
        score, scored = kfold_scores(
            x[train],
            y[train],
            fold,
            folds=self.folds,
            rng=rng,
            others=others,
            ensemble=ensemble,
            max_iter=self.max_iter,
            learning_rate=self.learning_rate,
            max_leaf_nodes=self.max_leaf_nodes,
        )
        out = np.zeros(len(x))
        out[train], out[rest] = score, scored[0]
        return out, (scored[1] if x_ref is not None else None)

    def fit_score(self, data: pd.DataFrame, reference: pd.DataFrame | None) -> MethodResult:
        t0 = time.perf_counter()
        cfg = self.bump or BumpHuntConfig()
        m = require_mass(data)
        edges = np.geomspace(cfg.m_min, cfg.m_max, cfg.n_bins + 1)
        b = bin_index(m, edges)
        x = cwola_features(data, m)
        ref = None
        if reference is not None:
            m_ref = require_mass(reference)
            w_ref = reference[WEIGHT].to_numpy(float) if WEIGHT in reference else None
            if w_ref is None:
                w_ref = np.ones(len(reference))
            ref = (cwola_features(reference, m_ref), bin_index(m_ref, edges), w_ref)
        w, sb = cfg.window_bins, self.sideband_bins
        starts = np.arange(sb, cfg.n_bins - w - sb + 1, self.step)
        if starts.size == 0:
            raise ConfigError(
                f"sideband_bins {sb}: no window of {w} bins has {sb} sideband "
                f"bins on both sides among {cfg.n_bins}"
            )
        rng = np.random.default_rng(self.seed)
        rows, results = [], []
        best = -1.0
        with progress_bar(enabled=self.progress) as bar, limited_threads(self.threads):
            task = bar.add_task("CWoLa windows", total=starts.size)
            for s in starts:
                sr = (b >= s) & (b < s + w)
                side = ((b >= s - sb) & (b < s)) | ((b >= s + w) & (b < s + w + sb))
                train = np.flatnonzero(sr | side)
                score, score_ref = self._window_scores(
                    x, sr, train, rng, None if ref is None else ref[0], self.ensemble
                )
                # the cut keeps the fraction `keep` of the sideband events
                cut = np.quantile(score[side], 1.0 - self.keep)
                passed = score >= cut
                test = _window_test(b, passed, s, w, sb, cut, score_ref, ref, cfg.n_bins)
                rows.append({"m_lo": edges[s], "m_hi": edges[s + w], **test["row"]})
                if test["row"]["z_local"] > best:
                    best = test["row"]["z_local"]
                    results = [score, passed, len(rows) - 1, test["background"], s]
                bar.advance(task)
        scores, passed, j, background, s = results
        bump = _as_bump_result(b, passed, edges, rows, j, background, s, cfg)
        summary = {
            "method": self.name,
            "windows": rows,
            "features": list(CWOLA_MASS_SCALED) + list(CWOLA_PLAIN),
            "sculpting_corrected": ref is not None,
            "settings": {k: v for k, v in asdict(self).items() if k not in ("bump", "progress")},
            "seconds": time.perf_counter() - t0,
        }
        return MethodResult(self.name, scores, bump, summary)


def _window_test(b, passed, s, w, sb, cut, score_ref, ref, n_bins) -> dict:
    """Observed and expected selected SR events of one window, Z and per-bin background.

    Without a reference the expected SR efficiency is the sidebands' (plain CWoLa: valid for
    features independent of the mass). With the SM reference, the classifier's efficiency
    in each bin is measured on the reference and normalised to the data's selected sideband
    events, which corrects the sculpting by features that depend on the mass (the idea of
    simulation-assisted CWoLa, K. Benkendorfer, L. Le Pottier, B. Nachman, Phys. Rev. D 104
    (2021) 035003); its statistical error enters the significance.
    """
    totals = np.bincount(b[b >= 0], minlength=n_bins).astype(float)
    selected = np.bincount(b[(b >= 0) & passed], minlength=n_bins).astype(float)
    inside = np.zeros(n_bins, bool)
    inside[s : s + w] = True
    outside = np.zeros(n_bins, bool)
    outside[s - sb : s] = outside[s + w : s + w + sb] = True
    k_sr, n_sr = selected[inside].sum(), totals[inside].sum()
    k_sb, n_sb = selected[outside].sum(), totals[outside].sum()
    if ref is None:
        background = totals * k_sb / max(n_sb, 1.0)
        z = efficiency_excess_z(int(k_sr), int(n_sr), int(k_sb), int(n_sb))
        expected = float(background[inside].sum())
    else:
        _, b_ref, w_ref = ref
        pass_ref = score_ref >= cut
        eff_bin = np.array(
            [weighted_efficiency(pass_ref[b_ref == i], w_ref[b_ref == i])[0] for i in range(n_bins)]
        )
        in_ref, out_ref = (
            np.isin(b_ref, np.flatnonzero(inside)),
            np.isin(b_ref, np.flatnonzero(outside)),
        )
        test = reference_corrected_test(
            k_sr,
            n_sr,
            k_sb,
            n_sb,
            pass_ref[in_ref],
            w_ref[in_ref],
            pass_ref[out_ref],
            w_ref[out_ref],
        )
        expected, z = test.expected, test.z
        background = totals * eff_bin * test.scale
    row = {
        "observed": float(k_sr),
        "expected": expected,
        "p_local": float(stats.norm.sf(z)),
        "z_local": z,
    }
    return {"row": row, "background": background}


def _as_bump_result(b, passed, edges, rows, j, background, s, cfg) -> BumpHuntResult:
    """The best window as a :class:`BumpHuntResult` (selected counts per bin, the expectation
    without signal; see :func:`~rediscovery.anomaly.windows.window_bump_result`)."""
    n_bins = edges.size - 1
    counts = np.bincount(b[(b >= 0) & passed], minlength=n_bins).astype(float)
    inside = np.zeros(n_bins, bool)
    inside[s : s + cfg.window_bins] = True
    settings = {**asdict(cfg), "test": "SR selection against its expectation, Bonferroni"}
    return window_bump_result(edges, counts, background, rows, j, inside, settings)


def efficiency_excess_z(k_sr: int, n_sr: int, k_sb: int, n_sb: int) -> float:
    r"""One-sided significance that the SR's selection efficiency exceeds the sidebands'.

    The likelihood-ratio test of two binomials with a common efficiency against free ones,
    :math:`q = 2 \sum [k \ln(k/nε) + (n-k) \ln((n-k)/n(1-ε))]` over SR and SB with
    :math:`ε = (k_{SR} + k_{SB}) / (n_{SR} + n_{SB})` (the G-test of the 2 × 2 table; Wilks:
    χ² with one degree of freedom), Z = √q when :math:`k_{SR}/n_{SR} > k_{SB}/n_{SB}`, else 0.
    """
    if n_sr == 0 or n_sb == 0:
        return 0.0
    k = np.array([k_sr, k_sb], float)
    n = np.array([n_sr, n_sb], float)
    eps = k.sum() / n.sum()
    if k_sr / n_sr <= k_sb / n_sb or eps in (0.0, 1.0):
        return 0.0
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(k > 0, k * np.log(k / (n * eps)), 0.0) + np.where(
            n - k > 0, (n - k) * np.log((n - k) / (n * (1 - eps))), 0.0
        )
    return float(np.sqrt(max(2.0 * terms.sum(), 0.0)))


def cwola_region_scores(
    x: np.ndarray,
    sr: np.ndarray,
    sb: np.ndarray,
    *,
    folds: int = 5,
    max_iter: int = 100,
    ensemble: int = 1,
    seed: int = 2019,
    test: np.ndarray | None = None,
) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """CWoLa on one fixed signal region: out-of-fold scores of a classifier of SR against SB
    events (features ``x`` (n, d), NaN allowed); events outside SR ∪ SB score NaN.

    The plain form of Metodiev, Nachman & Thaler (2017) used on the dijet data set, where the
    jet features depend on m_jj only through the jet masses. ``ensemble`` bagged classifiers
    per fold are averaged (:func:`~rediscovery.anomaly.kfold.kfold_scores`). With ``test``
    ((t, d) independent events, e.g. a labelled test set of the SR), returns the scores and
    the test events' scores by the mean of the fold models."""
    method = CWoLaMethod(folds=folds, max_iter=max_iter, ensemble=ensemble, seed=seed)
    train = np.flatnonzero(sr | sb)
    x_all = x if test is None else np.vstack([x, test])
    with limited_threads(1):
        score, _ = method._window_scores(
            x_all,
            np.r_[sr, np.zeros(len(x_all) - len(x), bool)],
            train,
            np.random.default_rng(seed),
            ensemble=ensemble,
        )
    out = np.full(len(x), np.nan)
    out[train] = score[train]
    return out if test is None else (out, score[len(x) :])
