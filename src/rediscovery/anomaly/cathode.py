r"""CATHODE: a conditional density of the sidebands, sampled into the signal region, then a
classifier of data against the samples.

Classifying Anomalies THrough Outer Density Estimation (A. Hallin, J. Isaacson, G. Kasieczka,
C. Krause, B. Nachman, T. Quadfasel, M. Schlaffer, D. Shih, M. Sommerhalder, Phys. Rev. D 106
(2022) 055006): a normalising flow learns p(x | m) of the features x given the resonant mass
m on the sidebands (SB: the scanned mass range outside the signal region, SR); it is
interpolated into the SR by sampling x at the SR's masses, which gives a synthetic
background-only SR sample. A classifier trained on SR data against those samples approaches
p_data(x) / p_bkg(x), monotonic in the signal likelihood ratio, without CWoLa's requirement
that x be independent of m (the flow carries the mass dependence into the SR).

Here the flow is, as in the paper, a masked autoregressive flow (G. Papamakarios, T. Pavlakou,
I. Murray, NeurIPS 2017) of ``zuko``, small and single-threaded (a neural spline flow trained
4× and sampled 12× slower on the 2-core test machine); features are scaled to (0, 1) over the
SB and logit-transformed, as in the paper; SR masses for the samples are drawn from the SR
data (bootstrap, the limit of the paper's kernel density); the classifier is scikit-learn's
histogram gradient boosting, k-fold: each SR data event and each sample is scored by a model
that did not see it, other events by one fold model drawn at random (so that every score has
the same distribution).

The excess of a SR is counted against the selection's efficiency on the sidebands: the cut
keeping the fraction ``keep`` of the held-out samples is applied to every event, logit ε(m) of
the selected fraction is fitted as a polynomial in ln m on the sidebands and interpolated into
the SR (:func:`~rediscovery.anomaly.windows.efficiency_fit_test`, ``control='fit'``, the
default). Where the flow mis-models the features, the classifier learns the data-versus-samples
difference in the SR, and it selects the sidebands' data in the same way: without signal the
SR keeps the interpolated fraction. The efficiency must be interpolated, not taken flat: the
selected features change with m (the jet masses grow with m_jj), so ε(m) rises or falls across
the SR. ``control='flanks'`` takes it flat from the two flanking bands (each half the SR's width
in ln m; the two-binomial test of
:func:`rediscovery.anomaly.overdensity.efficiency_excess_z`): on 10⁶ signal-free dijet events
(flow on all sideband events, 30 epochs) the selection kept 9.2 % of the lower flank, 10.6 %
of the SR and 11.4 % of the upper flank, and on the falling spectrum three quarters of the
flanks' events are below the SR: the flanks claimed local Z 7.2 without signal. With
``control='samples'`` the expectation is the samples' own efficiency instead (valid only for
a flow that reproduces the background exactly: on the dijet set its 15-epoch flows gave local
Z of 15 without signal).

On the ττ set the features change more (momenta over the ττ mass depend on it through the
p_T thresholds): at the default size, without signal near it, the flanks' test claimed the
265–423 GeV window at local Z 7.0 with the X at 500 GeV. Given the SM reference Monte Carlo
(``fit_score(data, reference)``, ``anomaly run --reference``), the classifier's efficiency is
also measured on the reference in the SR and the flanks, and the flanks' selected data are
scaled by their ratio (:func:`~rediscovery.anomaly.windows.reference_corrected_test`, as
CWoLa's sculpting correction; it replaces the sideband fit).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from rediscovery.anomaly.bumphunt import BumpHuntConfig, BumpHuntResult
from rediscovery.anomaly.datasets import MASS_COLUMN
from rediscovery.anomaly.dijet import DIJET_FEATURES, DIJET_MASS_COLUMN
from rediscovery.anomaly.kfold import kfold_scores
from rediscovery.anomaly.methods import MethodResult, limited_threads
from rediscovery.anomaly.overdensity import efficiency_excess_z
from rediscovery.anomaly.windows import (
    efficiency_fit_test,
    flank_mask,
    reference_corrected_test,
    window_bump_result,
)
from rediscovery.core.errors import ConfigError, InputError
from rediscovery.core.progress import progress_bar
from rediscovery.core.training import train_torch
from rediscovery.higgs.schema import WEIGHT

__all__ = [
    "CATHODE_TAUTAU_FEATURES",
    "DIJET_BUMP",
    "CathodeMethod",
    "FlowSettings",
    "cathode_scores",
]

log = logging.getLogger(__name__)

#: Features of the ττ data set defined for every event (no jet features, which are undefined
#: without jets): momenta and masses divided by the ττ mass, angles, ratios.
CATHODE_TAUTAU_FEATURES: tuple[tuple[str, bool], ...] = (
    ("PRI_tau_pt", True),
    ("PRI_lep_pt", True),
    ("PRI_met", True),
    ("DER_pt_h", True),
    ("DER_mass_vis", True),
    ("DER_mass_transverse_met_lep", True),
    ("DER_sum_pt", True),
    ("PRI_tau_eta", False),
    ("PRI_lep_eta", False),
    ("DER_pt_ratio_lep_tau", False),
    ("DER_deltar_tau_lep", False),
    ("DER_met_phi_centrality", False),
)
#: The excess tests of :func:`cathode_scores` (``control``).
CONTROLS = ("fit", "flanks", "samples")
#: Binning of the m_jj scan of the dijet data set (GeV): 5-bin windows of ±6 %, one of them
#: close to the LHC Olympics signal region 3.3–3.7 TeV.
DIJET_BUMP = BumpHuntConfig(m_min=2_800.0, m_max=5_000.0, n_bins=25, window_bins=5)


@dataclass(frozen=True)
class FlowSettings:
    """The conditional flow and its training.

    Attributes
    ----------
    transforms, hidden
        Autoregressive affine transforms, hidden units of their two-layer networks.
    epochs, batch_size, learning_rate
        Adam training; the epoch with the lowest loss on ``validation_fraction`` of the SB
        events is kept.
    oversample
        Samples per SR data event.
    max_train
        At most this many SB events (drawn, seeded) train the flow.
    """

    transforms: int = 3
    hidden: int = 48
    epochs: int = 15
    batch_size: int = 1024
    learning_rate: float = 3e-3
    validation_fraction: float = 0.2
    oversample: int = 4
    max_train: int = 20_000

    def __post_init__(self) -> None:
        for name in (
            "transforms",
            "hidden",
            "epochs",
            "batch_size",
            "oversample",
            "max_train",
        ):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} {getattr(self, name)}: expected at least 1")
        if not 0 < self.validation_fraction < 0.5:
            raise ConfigError(
                f"validation_fraction {self.validation_fraction}: expected a value in (0, 0.5)"
            )


def _preprocess(x: np.ndarray, fit: np.ndarray) -> np.ndarray:
    """Each feature scaled to (0, 1) over its range on ``fit`` (a 1 % margin), logit-
    transformed and standardised on ``fit``; values beyond the range are clipped to it."""
    lo, hi = np.nanmin(x[fit], axis=0), np.nanmax(x[fit], axis=0)
    span = np.where(hi > lo, hi - lo, 1.0)
    u = np.clip((x - lo) / span, 0.0, 1.0) * 0.98 + 0.01
    z = np.log(u) - np.log1p(-u)
    mu, sd = np.nanmean(z[fit], axis=0), np.nanstd(z[fit], axis=0)
    return (z - mu) / np.where(sd > 0, sd, 1.0)


def _train_flow(x: np.ndarray, c: np.ndarray, cfg: FlowSettings, seed: int) -> Any:
    """A zuko masked autoregressive flow of p(x | c) fitted by maximum likelihood."""
    import torch
    import zuko

    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    flow = zuko.flows.MAF(
        features=x.shape[1],
        context=1,
        transforms=cfg.transforms,
        hidden_features=[cfg.hidden] * 2,
    )
    xt = torch.as_tensor(x, dtype=torch.float32)
    ct = torch.as_tensor(c[:, None], dtype=torch.float32)
    val = rng.random(len(x)) < cfg.validation_fraction
    hist = train_torch(
        flow,
        lambda idx: -flow(ct[idx]).log_prob(xt[idx]).mean(),
        np.flatnonzero(~val),
        epochs=cfg.epochs,
        batch_size=cfg.batch_size,
        learning_rate=cfg.learning_rate,
        rng=rng,
        validation_loss=lambda: -flow(ct[val]).log_prob(xt[val]).mean(),
        cosine="epoch",
    )
    flow.losses_ = hist.validation
    return flow


def _sample(flow: Any, c: np.ndarray, seed: int) -> np.ndarray:
    import torch

    torch.manual_seed(seed)
    with torch.no_grad():
        return flow(torch.as_tensor(c[:, None], dtype=torch.float32)).sample().numpy()


def cathode_scores(
    x: np.ndarray,
    mass: np.ndarray,
    sr: np.ndarray,
    sb: np.ndarray,
    *,
    flow: FlowSettings | None = None,
    folds: int = 5,
    keep: float = 0.1,
    max_iter: int = 100,
    ensemble: int = 1,
    seed: int = 2022,
    flanks: np.ndarray | None = None,
    control: str = "fit",
    reference: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
    test: np.ndarray | None = None,
) -> dict[str, Any]:
    """CATHODE on one signal region.

    Parameters
    ----------
    x
        (n, d) features (finite).
    mass
        (n,) resonant mass (GeV).
    sr, sb
        (n,) booleans: the signal region and the sidebands the flow learns.
    flow
        :class:`FlowSettings`.
    folds, keep, max_iter, ensemble, seed
        k of the k-fold classifier, the selected fraction of the samples, boosting
        iterations, bagged classifiers averaged per fold
        (:func:`~rediscovery.anomaly.kfold.kfold_scores`), seed of everything.
    flanks, control
        (n,) booleans: the events next to the SR (required by ``control='flanks'`` and by a
        ``reference``; otherwise only for the diagnostic ``z_flanks``), and the test:
        ``'fit'`` (the default: the selection's efficiency fitted on the sidebands ``sb`` and
        interpolated into the SR), ``'flanks'`` (the flanks' efficiency, flat in m) or
        ``'samples'`` (the samples' efficiency); see the module docstring.
    reference
        ``(x_ref, region, w_ref)`` of the SM reference: features (m, d), region (m,) int
        (1: SR, 2: flanks, 0: elsewhere), weights (m,). Unless ``control='samples'``, the
        expected selected SR events are then the flanks' corrected for the change of the
        selection's efficiency between flanks and SR measured on the reference
        (:func:`~rediscovery.anomaly.windows.reference_corrected_test`).
    test
        (t, d) independent events to score (e.g. a labelled test set of the SR, for SIC
        curves not limited by the data's own background count, as the CATHODE paper
        evaluates): preprocessed as the data and scored by the mean of the fold models.

    Returns
    -------
    dict with ``scores`` (n,) (higher: less like the interpolated background; SR events
    out-of-fold), ``observed`` (selected SR data events), ``expected`` (from the samples),
    ``z``, ``test`` (the control used), ``z_flanks`` (the flat flank test, NaN without
    ``flanks``), ``cut``, ``flow_loss`` (validation loss per epoch), and for diagnostics
    ``features`` (n, d) (the preprocessed features the flow and the classifier see) and
    ``samples`` (the flow's SR samples in the same space); with ``test``, ``test_scores``
    (t,).
    """
    cfg = flow or FlowSettings()
    if control not in CONTROLS:
        raise ConfigError(f"control {control!r}: expected one of {', '.join(CONTROLS)}")
    needs_flanks = control == "flanks" or (control != "samples" and reference is not None)
    if needs_flanks and (flanks is None or flanks.sum() < 20):
        raise InputError(
            "fewer than 20 events next to the signal region; expected flanking events",
            column="mass",
        )
    if sr.sum() < 20 or sb.sum() < 100:
        raise InputError(
            f"{int(sr.sum())} signal-region and {int(sb.sum())} sideband events; expected "
            "at least 20 and 100",
            column="mass",
        )
    # one transform, fitted on the sidebands, for the data and the other events scored
    x_ref = reference[0] if reference is not None else np.empty((0, x.shape[1]))
    x_test = test if test is not None else np.empty((0, x.shape[1]))
    z_all = _preprocess(
        np.vstack([x, x_ref, x_test]), np.r_[sb, np.zeros(len(x_ref) + len(x_test), bool)]
    )
    z, z_ref, z_test = np.split(z_all, [len(x), len(x) + len(x_ref)])
    z_ref = np.where(np.isfinite(z_ref), z_ref, 0.0)
    if not np.all(np.isfinite(z[sr | sb])):
        raise InputError("has undefined values; CATHODE expects finite features", column="x")
    if not np.all(np.isfinite(z_test)):
        raise InputError("has undefined values; expected finite features", column="test")
    t = np.log(mass)
    t_mu, t_sd = t[sb].mean(), t[sb].std()
    ctx = (t - t_mu) / t_sd
    rng = np.random.default_rng(seed)
    train = np.flatnonzero(sb)
    if train.size > cfg.max_train:
        train = np.sort(rng.choice(train, cfg.max_train, replace=False))
    net = _train_flow(z[train], ctx[train], cfg, seed)
    idx = np.flatnonzero(sr)
    c_samples = ctx[rng.choice(idx, cfg.oversample * idx.size)]
    samples = _sample(net, c_samples, seed + 1)
    ok = np.all(np.isfinite(samples), axis=1)
    samples = samples[ok]
    # data SR (1) against samples (0), k-fold
    fold_d = rng.integers(0, folds, idx.size)
    fold_s = rng.integers(0, folds, len(samples))
    rest_idx = np.flatnonzero(~sr)
    fold_r = rng.integers(0, folds, rest_idx.size)
    z_rest = np.where(np.isfinite(z[rest_idx]), z[rest_idx], 0.0)
    others = [(z_rest, fold_r)]
    if reference is not None:
        _, region_ref, w_ref = reference
        others.append((z_ref, rng.integers(0, folds, len(z_ref))))
    if test is not None:
        others.append((z_test, None))
    both, scored = kfold_scores(
        np.vstack([z[idx], samples]),
        np.r_[np.ones(idx.size, bool), np.zeros(len(samples), bool)],
        np.r_[fold_d, fold_s],
        folds=folds,
        rng=rng,
        others=others,
        ensemble=ensemble,
        max_iter=max_iter,
    )
    scores = np.zeros(len(x))
    scores[idx], score_s = both[: idx.size], both[idx.size :]
    scores[rest_idx] = scored[0]
    if reference is not None:
        score_ref = scored[1]
    cut = float(np.quantile(score_s, 1.0 - keep))
    n_sr = idx.size
    passed = scores >= cut
    observed = float(passed[idx].sum())
    z_flanks = float("nan")
    if flanks is not None and flanks.any():
        n_fl, k_fl = int(flanks.sum()), int((flanks & passed).sum())
        z_flanks = efficiency_excess_z(int(observed), n_sr, k_fl, n_fl)
    if control == "samples":
        used = "samples"
        eff = float((score_s >= cut).mean())
        expected = n_sr * eff
        var = expected + expected**2 * (1.0 - eff) / max(eff * len(samples), 1e-12)
        zval = float(max((observed - expected) / np.sqrt(max(var, 1e-12)), 0.0))
    elif reference is not None:
        used = "flanks, reference-corrected"
        pass_ref = score_ref >= cut
        in_sr, in_fl = region_ref == 1, region_ref == 2
        corrected = reference_corrected_test(
            observed, n_sr, k_fl, n_fl, pass_ref[in_sr], w_ref[in_sr], pass_ref[in_fl], w_ref[in_fl]
        )
        expected, zval = corrected.expected, corrected.z
    elif control == "fit":
        fitted = efficiency_fit_test(passed, mass, sr, sb)
        used = f"sideband efficiency fit, degree {fitted.degree}"
        expected, zval = fitted.expected, fitted.z
    else:
        used = "flanks"
        expected = n_sr * k_fl / max(n_fl, 1)
        zval = z_flanks
    extra = {"test_scores": scored[-1]} if test is not None else {}
    return {
        **extra,
        "scores": scores,
        "observed": observed,
        "expected": expected,
        "z": zval,
        "test": used,
        "z_flanks": z_flanks,
        "cut": cut,
        "flow_loss": [float(v) for v in net.losses_],
        "features": z,
        "samples": samples,
    }


def _auto_columns(data: pd.DataFrame) -> tuple[str, list[tuple[str, bool]]]:
    if DIJET_MASS_COLUMN in data.columns:
        return DIJET_MASS_COLUMN, [(c, False) for c in DIJET_FEATURES]
    return MASS_COLUMN, list(CATHODE_TAUTAU_FEATURES)


@dataclass
class CathodeMethod:
    """CATHODE in sliding windows of the resonant mass (``anomaly run --method cathode``).

    Attributes
    ----------
    mass_column, features
        The resonant mass and the classifier's features (``None``: the dijet set's ``mjj``
        and :data:`~rediscovery.anomaly.dijet.DIJET_FEATURES` if the data have ``mjj``, else
        the ττ mass and :data:`CATHODE_TAUTAU_FEATURES`, momenta divided by the mass).
    step
        The SR slides by this many bins of the ``bump`` binning.
    signal_region
        A fixed SR (GeV) instead of the scan.
    flow, folds, keep, max_iter, ensemble, control
        See :func:`cathode_scores`.
    bump
        Binning and window width (``None``: :class:`BumpHuntConfig` for the ττ mass,
        :data:`DIJET_BUMP` for m_jj).
    """

    mass_column: str | None = None
    features: Sequence[str] | None = None
    step: int = 2
    signal_region: tuple[float, float] | None = None
    flow: FlowSettings = field(default_factory=FlowSettings)
    folds: int = 5
    keep: float = 0.1
    max_iter: int = 100
    ensemble: int = 1
    control: str = "fit"
    seed: int = 2022
    threads: int = 1
    bump: BumpHuntConfig | None = None
    progress: bool = False
    name: str = "cathode"

    def __post_init__(self) -> None:
        if self.folds < 2:
            raise ConfigError(f"folds {self.folds}: expected at least 2")
        if self.ensemble < 1:
            raise ConfigError(f"ensemble {self.ensemble}: expected at least 1 classifier")
        if self.step < 1:
            raise ConfigError(f"step {self.step}: expected at least 1 bin")
        if not 0 < self.keep < 1:
            raise ConfigError(f"keep {self.keep}: expected a fraction in (0, 1)")
        if self.control not in CONTROLS:
            raise ConfigError(f"control {self.control!r}: expected one of {', '.join(CONTROLS)}")
        if self.signal_region is not None and not self.signal_region[0] < self.signal_region[1]:
            raise ConfigError(f"signal_region {self.signal_region}: expected (lo, hi), lo < hi")

    def _matrix(self, data: pd.DataFrame) -> tuple[str, np.ndarray, np.ndarray]:
        mass_col, auto = _auto_columns(data)
        mass_col = self.mass_column or mass_col
        cols = [(c, False) for c in self.features] if self.features else auto
        missing = [c for c, _ in cols if c not in data.columns] + (
            [mass_col] if mass_col not in data.columns else []
        )
        if missing:
            raise InputError(
                "is missing; CATHODE expects the resonant mass and its features", column=missing[0]
            )
        m = data[mass_col].to_numpy(float)
        with np.errstate(invalid="ignore", divide="ignore"):
            x = np.column_stack(
                [data[c].to_numpy(float) / (m if scaled else 1.0) for c, scaled in cols]
            )
        return mass_col, m, x

    def fit_score(self, data: pd.DataFrame, reference: pd.DataFrame | None) -> MethodResult:
        t0 = time.perf_counter()
        mass_col, m, x = self._matrix(data)
        ref = None
        if reference is not None:
            _, m_ref, x_ref = self._matrix(reference)
            w_ref = (
                reference[WEIGHT].to_numpy(float)
                if WEIGHT in reference.columns
                else np.ones(len(reference))
            )
            ok_ref = np.isfinite(m_ref)
            ref = (
                m_ref[ok_ref],
                np.where(np.isfinite(x_ref), x_ref, np.nan)[ok_ref],
                w_ref[ok_ref],
            )
        cfg = self.bump or (DIJET_BUMP if mass_col == DIJET_MASS_COLUMN else BumpHuntConfig())
        edges = np.geomspace(cfg.m_min, cfg.m_max, cfg.n_bins + 1)
        good = np.isfinite(m) & (m >= cfg.m_min) & (m < cfg.m_max) & np.isfinite(x).all(1)
        if self.signal_region is not None:
            windows = [tuple(self.signal_region)]
        else:
            starts = np.arange(1, cfg.n_bins - cfg.window_bins, self.step)
            windows = [(edges[s], edges[s + cfg.window_bins]) for s in starts]
        rows, best = [], None
        with progress_bar(enabled=self.progress) as bar, limited_threads(self.threads):
            task = bar.add_task("CATHODE windows", total=len(windows))
            for i, (lo, hi) in enumerate(windows):
                sr = good & (m >= lo) & (m < hi)
                sb = good & ~sr
                flanks = good & flank_mask(m, lo, hi)
                ref_window = None
                if ref is not None:
                    region = np.where(
                        (ref[0] >= lo) & (ref[0] < hi),
                        1,
                        np.where(flank_mask(ref[0], lo, hi), 2, 0),
                    )
                    ref_window = (ref[1], region, ref[2])
                out = cathode_scores(
                    np.where(np.isfinite(x), x, np.nan),
                    m,
                    sr,
                    sb,
                    flow=self.flow,
                    folds=self.folds,
                    keep=self.keep,
                    max_iter=self.max_iter,
                    ensemble=self.ensemble,
                    seed=self.seed + i,
                    flanks=flanks,
                    control=self.control,
                    reference=ref_window,
                )
                rows.append(
                    {
                        "m_lo": float(lo),
                        "m_hi": float(hi),
                        "observed": out["observed"],
                        "expected": out["expected"],
                        "p_local": float(stats.norm.sf(out["z"])),
                        "z_local": out["z"],
                        "flow_val_loss": out["flow_loss"][-1],
                    }
                )
                if best is None or out["z"] > best[0]:
                    best = (out["z"], out, len(rows) - 1, sr)
                bar.advance(task)
        _, out, j, sr = best
        scores = np.nan_to_num(out["scores"], nan=0.0)
        bump = _bump_result(m, good, scores >= out["cut"], edges, rows, j, out)
        summary = {
            "method": self.name,
            "mass_column": mass_col,
            "windows": rows,
            "sculpting_corrected": ref is not None and self.control != "samples",
            "test": out["test"],
            "settings": {
                k: v for k, v in asdict(self).items() if k not in ("bump", "progress", "flow")
            },
            "flow": asdict(self.flow),
            "seconds": time.perf_counter() - t0,
        }
        return MethodResult(self.name, scores, bump, summary)


def _bump_result(m, good, passed, edges, rows, j, out) -> BumpHuntResult:
    """The best window as a :class:`BumpHuntResult` (selected counts per bin; the samples'
    expectation spread over the SR bins in proportion to the data; Bonferroni global p)."""
    counts = np.histogram(m[good & passed], bins=edges)[0].astype(float)
    totals = np.histogram(m[good], bins=edges)[0].astype(float)
    lo, hi = rows[j]["m_lo"], rows[j]["m_hi"]
    centres = np.sqrt(edges[:-1] * edges[1:])
    inside = (centres >= lo) & (centres < hi)
    n_sr = totals[inside].sum()
    background = np.where(inside, totals * out["expected"] / max(n_sr, 1.0), 0.0)
    settings = {"test": f"SR data: {out['test']}; Bonferroni over windows"}
    return window_bump_result(edges, counts, background, rows, j, inside, settings)
