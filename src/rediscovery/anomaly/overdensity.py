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

from rediscovery.anomaly.bumphunt import BumpHuntConfig, bump_hunt, window_scan
from rediscovery.anomaly.methods import MethodResult, limited_threads, require_mass
from rediscovery.core.errors import ConfigError
from rediscovery.core.progress import progress_bar

__all__ = ["CWOLA_MASS_SCALED", "CWOLA_PLAIN", "CWoLaMethod", "cwola_features"]

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
    seed: int = 2019
    threads: int = 1
    bump: BumpHuntConfig | None = None
    progress: bool = False
    name: str = "cwola"

    def __post_init__(self) -> None:
        if self.folds < 2:
            raise ConfigError(f"folds {self.folds}: expected at least 2")
        if self.step < 1:
            raise ConfigError(f"step {self.step}: expected at least 1 bin")
        if self.sideband_bins < 1:
            raise ConfigError(f"sideband_bins {self.sideband_bins}: expected at least 1")
        if not 0 < self.keep <= 1:
            raise ConfigError(f"keep {self.keep}: expected a fraction in (0, 1]")

    def _window_scores(self, x, y, train, rng) -> np.ndarray:
        from sklearn.ensemble import HistGradientBoostingClassifier

        fold = rng.integers(0, self.folds, train.size)
        out = np.zeros(len(x))
        rest = np.ones(len(x), bool)
        rest[train] = False
        yt = y[train]
        w = np.where(yt, 0.5 / max(yt.sum(), 1), 0.5 / max((~yt).sum(), 1))
        for k in range(self.folds):
            fit = fold != k
            clf = HistGradientBoostingClassifier(
                max_iter=self.max_iter,
                learning_rate=self.learning_rate,
                max_leaf_nodes=self.max_leaf_nodes,
                min_samples_leaf=50,
                l2_regularization=1.0,
                early_stopping=False,
                random_state=int(rng.integers(2**31)),
            ).fit(x[train[fit]], yt[fit], sample_weight=w[fit] * fit.sum())
            out[train[~fit]] = clf.predict_proba(x[train[~fit]])[:, 1]
            out[rest] += clf.predict_proba(x[rest])[:, 1] / self.folds
        return out

    def fit_score(self, data: pd.DataFrame, reference: pd.DataFrame | None) -> MethodResult:
        t0 = time.perf_counter()
        cfg = self.bump or BumpHuntConfig()
        m = require_mass(data)
        x = cwola_features(data, m)
        edges = np.geomspace(cfg.m_min, cfg.m_max, cfg.n_bins + 1)
        b = np.full(len(m), -1)
        ok = np.isfinite(m) & (m >= cfg.m_min) & (m < cfg.m_max)
        b[ok] = np.searchsorted(edges, m[ok], side="right") - 1
        w, sb = cfg.window_bins, self.sideband_bins
        starts = np.arange(sb, cfg.n_bins - w - sb + 1, self.step)
        if starts.size == 0:
            raise ConfigError(
                f"sideband_bins {sb}: no window of {w} bins has {sb} sideband "
                f"bins on both sides among {cfg.n_bins}"
            )
        rng = np.random.default_rng(self.seed)
        rows = []
        best = (-1.0, None, None, None)
        with progress_bar(enabled=self.progress) as bar, limited_threads(self.threads):
            task = bar.add_task("CWoLa windows", total=starts.size)
            for s in starts:
                sr = (b >= s) & (b < s + w)
                side = ((b >= s - sb) & (b < s)) | ((b >= s + w) & (b < s + w + sb))
                train = np.flatnonzero(sr | side)
                score = self._window_scores(x, sr, train, rng)
                cut = np.quantile(score[train], 1.0 - self.keep)
                sel = score >= cut
                counts = np.histogram(m[sel & ok], bins=edges)[0].astype(float)
                _, obs, exp, p, z, _ = window_scan(counts, cfg)
                j = s - 1  # bump-hunt windows start at bin 1
                rows.append(
                    {
                        "m_lo": edges[s],
                        "m_hi": edges[s + w],
                        "observed": obs[j],
                        "expected": exp[j],
                        "p_local": p[j],
                        "z_local": z[j],
                    }
                )
                if z[j] > best[0]:
                    best = (float(z[j]), score, j, cut)
                bar.advance(task)
        _, scores, j, cut = best
        sel = scores >= cut
        bump = bump_hunt(m[sel], cfg, window=j)
        summary = {
            "method": self.name,
            "windows": rows,
            "features": list(CWOLA_MASS_SCALED) + list(CWOLA_PLAIN),
            "settings": {k: v for k, v in asdict(self).items() if k not in ("bump", "progress")},
            "seconds": time.perf_counter() - t0,
        }
        return MethodResult(self.name, scores, bump, summary)
