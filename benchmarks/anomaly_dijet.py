"""Weakly supervised methods on the LHC-Olympics-like dijet set: max SIC in the signal region.

Simulates :func:`rediscovery.anomaly.simulate_dijet` (``--background-events`` QCD events, a
W' -> XY at S/B = ``--s-over-b`` in 3.3-3.7 TeV) and scores the signal-region events with

* the idealised detector: a supervised classifier, signal against background, trained with
  the truth labels on the SR events (5-fold);
* the idealised anomaly detector of the CATHODE paper (``ideal_ad``): SR data against a
  perfect background template, fresh QCD events of the SR (``--oversample`` per SR event),
  with CATHODE's classifier (what CATHODE would reach with a perfect flow);
* CATHODE (:func:`rediscovery.anomaly.cathode_scores`, the fixed SR);
* CWoLa (:func:`rediscovery.anomaly.overdensity.cwola_region_scores`, SR against the flanks
  3.11-3.30 and 3.70-3.92 TeV);

on the features ``mj1, delta_mj, tau21_1, tau21_2``. Prints per method the AUC and the
maximum SIC (epsilon_S / sqrt(epsilon_B), cuts keeping >= 20 background events), the seconds,
and the ratio of CATHODE's max SIC to the idealised one. One line per seed is appended to
``--csv`` (resumable: seeds already there are skipped).

    python benchmarks/anomaly_dijet.py --background-events 300000 --seeds 1 --csv dijet.csv

With ``--s-over-b 0`` (no signal) only CATHODE runs, for its false-discovery behaviour: each
row has its local Z (``cathode_z``, the sideband efficiency fit of ``--control fit``), the
old flat test against the flanks on the same selection (``cathode_z_flanks``) and the selected
fraction of the data in the lower flank, the SR and the upper flank (``eff_lower``,
``eff_sr``, ``eff_upper``).

    python benchmarks/anomaly_dijet.py --background-events 1000000 --s-over-b 0 --seeds 3 \
        --max-train 1000000 --epochs 30 --csv null.csv

``--test-events N`` also scores an independent labelled test set, as the CATHODE paper
evaluates its SIC curves (A. Hallin et al., Phys. Rev. D 106 (2022) 055006, on extra QCD
and signal events of the SR): the SR events of a fresh simulation of N QCD events and
signal at S/B = ``--test-s-over-b`` (0.1: about 10⁴ signal events for N = 10⁶), seeded
apart, scored by the mean of each method's fold models (``*_test_*`` columns). Its max SIC is
not capped by the data's own background count: with N = 2 × 10⁶ (about 2 × 10⁵ SR
background events) the 20-event floor sits at ε_B = 10⁻⁴ instead of the data's 2 × 10⁻⁴ at
10⁶ QCD events, and the test events were seen by no classifier.

    python benchmarks/anomaly_dijet.py --background-events 300000 --seeds 1 \
        --test-events 2000000 --csv dijet_test.csv

``--mjj-correlation 0.1`` shifts both jet masses by 0.1 m_jj (the correlated-feature study of
the CATHODE paper), where CWoLa is expected to lose and CATHODE not.

Besides the max SIC, each row records where it is reached (``*_nb``: background events kept,
``*_eps``: signal efficiency; the max is at the floor of 20 background events when
``*_nb`` = 20) and the background events kept at a signal efficiency of 0.5 (``*_nb50``,
below the floor: noisy, but not capped) and the signal efficiency of the cut keeping 100
background events (``*_eps100``, five times the floor: less noisy), and three
diagnostics of the background templates, each the out-of-fold AUC of a classifier (5-fold
gradient boosting, :func:`~rediscovery.anomaly.overdensity.cwola_region_scores`) against the
true SR background (0.5: indistinguishable):

* ``flow_auc``: CATHODE's flow samples (its background template), in the preprocessed space;
* ``flanks_auc``: the flanks' background events (CWoLa's template), in the raw features;
* and the generator's m_jj dependence: ``rho_mj1`` and ``rho_dmj``, the Spearman correlation
  of m_J1 and Δm_J with m_jj over 2.8-5 TeV, ``mj1_lo, mj1_sr, mj1_hi`` the median m_J1 (GeV)
  of the background in the lower flank, the SR and the upper flank.
"""

from __future__ import annotations

import argparse
import csv
import time
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import spearmanr

from rediscovery.anomaly import (
    DIJET_SIGNAL_REGION,
    DijetConfig,
    FlowSettings,
    cathode_scores,
    idealised_scores,
    sic_curve,
    simulate_dijet,
)
from rediscovery.anomaly.cathode import CONTROLS
from rediscovery.anomaly.dijet import DIJET_FEATURES
from rediscovery.anomaly.kfold import kfold_scores
from rediscovery.anomaly.methods import limited_threads
from rediscovery.anomaly.overdensity import cwola_region_scores
from rediscovery.anomaly.windows import flank_mask

#: seed offset of the ``--test-events`` simulation (apart from every data seed)
TEST_SEED_OFFSET = 1_000_000
#: fixed signal efficiency of the ``*_nb50`` columns
EPS_FIXED = 0.5
#: background events kept by the cut of the ``*_eps100`` columns (signal efficiency there)
N_FIXED = 100


def curve_row(name: str, scores: np.ndarray, y: np.ndarray) -> dict:
    """AUC, max SIC, where it is reached, and the background events kept at ``EPS_FIXED``."""
    from sklearn.metrics import roc_curve

    c = sic_curve(scores, y)
    j = int(np.argmax(c.sic))
    nb = int((~y).sum())
    fpr, tpr, _ = roc_curve(y, scores)
    return {
        f"{name}_auc": c.auc,
        f"{name}_sic": c.sic_max,
        f"{name}_nb": round(c.eff_b[j] * nb),
        f"{name}_eps": float(c.eff_s[j]),
        f"{name}_nb50": round(fpr[np.searchsorted(tpr, EPS_FIXED)] * nb),
        f"{name}_eps100": float(tpr[np.searchsorted(fpr * nb, N_FIXED, side="right") - 1]),
    }


def template_auc(a: np.ndarray, b: np.ndarray, seed: int) -> float:
    """Out-of-fold AUC of a classifier of ``a`` against ``b`` (0.5: the same density)."""
    from sklearn.metrics import roc_auc_score

    x = np.vstack([a, b])
    is_a = np.r_[np.ones(len(a), bool), np.zeros(len(b), bool)]
    s = cwola_region_scores(x, is_a, ~is_a, seed=seed)
    return float(roc_auc_score(is_a, s))


def test_set(seed: int, args: argparse.Namespace) -> tuple[np.ndarray, np.ndarray] | None:
    """The SR events of an independent labelled simulation (features, is-signal), or None."""
    if not args.test_events:
        return None
    data, _, truth = simulate_dijet(
        DijetConfig(
            n_background=args.test_events,
            s_over_b=args.test_s_over_b,
            mjj_correlation=args.mjj_correlation,
            seed=seed + TEST_SEED_OFFSET,
        )
    )
    m = data["mjj"].to_numpy()
    lo, hi = DIJET_SIGNAL_REGION
    sr = (m >= lo) & (m < hi)
    y = np.isin(data["EventId"].to_numpy(), truth["signal_event_ids"])
    return data.loc[sr, list(DIJET_FEATURES)].to_numpy(), y[sr]


def one(seed: int, args: argparse.Namespace) -> dict:
    test = test_set(seed, args)
    x_te = None if test is None else test[0]
    data, reference, truth = simulate_dijet(
        DijetConfig(
            n_background=args.background_events,
            s_over_b=args.s_over_b,
            mjj_correlation=args.mjj_correlation,
            n_reference=args.oversample * args.background_events,
            seed=seed,
        )
    )
    y = np.isin(data["EventId"].to_numpy(), truth["signal_event_ids"])
    m = data["mjj"].to_numpy()
    x = data[list(DIJET_FEATURES)].to_numpy()
    lo, hi = DIJET_SIGNAL_REGION
    sr = (m >= lo) & (m < hi)
    flanks = flank_mask(m, lo, hi)
    sb = (m >= args.m_min) & (m < args.m_max) & ~sr
    row = {
        "seed": seed,
        "n_sr": int(sr.sum()),
        "s_sr": int((y & sr).sum()),
    }
    bkg = ~y
    rng_mjj = bkg & (m >= args.m_min) & (m < args.m_max)
    lower, upper = flanks & (m < lo), flanks & (m >= hi)
    row.update(
        rho_mj1=float(spearmanr(m[rng_mjj], data["mj1"].to_numpy()[rng_mjj])[0]),
        rho_dmj=float(spearmanr(m[rng_mjj], data["delta_mj"].to_numpy()[rng_mjj])[0]),
        mj1_lo=float(np.median(data["mj1"].to_numpy()[bkg & lower])),
        mj1_sr=float(np.median(data["mj1"].to_numpy()[bkg & sr])),
        mj1_hi=float(np.median(data["mj1"].to_numpy()[bkg & upper])),
    )
    if y[sr].any():
        t = time.perf_counter()
        feats = list(DIJET_FEATURES)
        if test is None:
            ideal = idealised_scores(data.loc[sr, feats], y[sr], seed=seed)
        else:
            ideal, ideal_te = idealised_scores(
                data.loc[sr, feats], y[sr], seed=seed, test=pd.DataFrame(x_te, columns=feats)
            )
            row.update(curve_row("idealised_test", ideal_te, test[1]))
        row.update(curve_row("idealised", ideal, y[sr]), idealised_s=time.perf_counter() - t)
        # the idealised anomaly detector of the CATHODE paper: SR data against a perfect
        # background template (fresh QCD events of the SR, `oversample` per SR event), the
        # same classifier
        t = time.perf_counter()
        m_ref = reference["mjj"].to_numpy()
        x_tpl = reference.loc[(m_ref >= lo) & (m_ref < hi), list(DIJET_FEATURES)].to_numpy()
        x_tpl = x_tpl[: args.oversample * int(sr.sum())]
        rng = np.random.default_rng(seed)
        x_ad = np.vstack([x[sr], x_tpl])
        is_data = np.r_[np.ones(int(sr.sum()), bool), np.zeros(len(x_tpl), bool)]
        with limited_threads(1):
            s_ad, s_ad_te = kfold_scores(
                x_ad,
                is_data,
                rng.integers(0, 5, len(x_ad)),
                folds=5,
                rng=rng,
                others=[] if test is None else [(x_te, None)],
                ensemble=args.ensemble,
            )
        if test is not None:
            row.update(curve_row("ideal_ad_test", s_ad_te[0], test[1]))
        row.update(curve_row("ideal_ad", s_ad[is_data], y[sr]), ideal_ad_s=time.perf_counter() - t)
    t = time.perf_counter()
    with limited_threads(1):
        out = cathode_scores(
            x,
            m,
            sr,
            sb,
            flanks=flanks,
            flow=FlowSettings(
                epochs=args.epochs,
                max_train=args.max_train,
                oversample=args.oversample,
                transforms=args.transforms,
                hidden=args.hidden,
            ),
            ensemble=args.ensemble,
            control=args.control,
            seed=seed,
            test=x_te,
        )
    passed = out["scores"] >= out["cut"]
    row.update(
        cathode_z=out["z"],
        cathode_test=out["test"],
        cathode_observed=out["observed"],
        cathode_expected=out["expected"],
        cathode_z_flanks=out["z_flanks"],
        eff_lower=float(passed[lower].mean()),
        eff_sr=float(passed[sr].mean()),
        eff_upper=float(passed[upper].mean()),
        cathode_s=time.perf_counter() - t,
    )
    if y[sr].any():
        row.update(curve_row("cathode", out["scores"][sr], y[sr]))
        t = time.perf_counter()
        if test is None:
            cw = cwola_region_scores(x, sr, flanks, ensemble=args.ensemble, seed=seed)
        else:
            cw, cw_te = cwola_region_scores(
                x, sr, flanks, ensemble=args.ensemble, seed=seed, test=x_te
            )
            row.update(curve_row("cathode_test", out["test_scores"], test[1]))
            row.update(curve_row("cwola_test", cw_te, test[1]))
        row.update(curve_row("cwola", cw[sr], y[sr]), cwola_s=time.perf_counter() - t)
    if args.diagnose:
        z = out["features"]
        row["flow_auc"] = template_auc(out["samples"], z[sr & bkg], seed)
        row["flanks_auc"] = template_auc(x[flanks & bkg], x[sr & bkg], seed)
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--background-events", type=int, default=300_000)
    ap.add_argument("--s-over-b", type=float, default=0.006)
    ap.add_argument("--seeds", type=int, default=1)
    ap.add_argument("--first-seed", type=int, default=1)
    ap.add_argument("--epochs", type=int, default=15)
    ap.add_argument("--max-train", type=int, default=20_000)
    ap.add_argument("--oversample", type=int, default=4, help="flow samples per SR event")
    ap.add_argument("--transforms", type=int, default=3)
    ap.add_argument("--hidden", type=int, default=48)
    ap.add_argument(
        "--ensemble", type=int, default=1, help="bagged classifiers averaged per fold (both)"
    )
    ap.add_argument(
        "--control",
        default="fit",
        choices=CONTROLS,
        help="CATHODE's excess test (fit: sideband efficiency fit; flanks: flat, the old test)",
    )
    ap.add_argument("--diagnose", action="store_true", help="the template AUCs (slower)")
    ap.add_argument("--mjj-correlation", type=float, default=0.0)
    ap.add_argument(
        "--test-events", type=int, default=0, help="QCD events of the labelled test set (0: none)"
    )
    ap.add_argument("--test-s-over-b", type=float, default=0.1)
    ap.add_argument("--m-min", type=float, default=2_800.0)
    ap.add_argument("--m-max", type=float, default=5_000.0)
    ap.add_argument("--csv", default="anomaly_dijet.csv")
    args = ap.parse_args()
    path = Path(args.csv)
    done = set()
    if path.exists():
        with path.open() as fh:
            done = {int(r["seed"]) for r in csv.DictReader(fh)}
    for seed in range(args.first_seed, args.first_seed + args.seeds):
        if seed in done:
            continue
        row = one(seed, args)
        new = not path.exists()
        with path.open("a", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=list(row))
            if new:
                w.writeheader()
            w.writerow(row)
        print(
            f"seed {seed}: SR {row['n_sr']} events, {row['s_sr']} signal; CATHODE "
            f"({row['cathode_s']:.0f} s) selected {row['cathode_observed']:.0f} SR events for "
            f"{row['cathode_expected']:.0f} expected ({row['cathode_test']}): local Z "
            f"{row['cathode_z']:.2f} (against the flanks alone {row['cathode_z_flanks']:.2f}; "
            f"selected fraction {row['eff_lower']:.4f} lower flank, {row['eff_sr']:.4f} SR, "
            f"{row['eff_upper']:.4f} upper flank)",
            flush=True,
        )
        if row["s_sr"]:
            print(
                f"  max SIC idealised {row['idealised_sic']:.2f} (AUC "
                f"{row['idealised_auc']:.3f}), CATHODE {row['cathode_sic']:.2f} (AUC "
                f"{row['cathode_auc']:.3f}), CWoLa {row['cwola_sic']:.2f} (AUC "
                f"{row['cwola_auc']:.3f}); CATHODE / idealised "
                f"{row['cathode_sic'] / row['idealised_sic']:.2f}; idealised anomaly detector "
                f"{row['ideal_ad_sic']:.2f}, CATHODE / it "
                f"{row['cathode_sic'] / row['ideal_ad_sic']:.2f}",
                flush=True,
            )
        if "cathode_test_sic" in row:
            print(
                "  test set: max SIC "
                + ", ".join(
                    f"{n} {row[f'{k}_test_sic']:.2f} (AUC {row[f'{k}_test_auc']:.4f}, "
                    f"{row[f'{k}_test_nb']} bkg, eps_S {row[f'{k}_test_eps']:.2f})"
                    for n, k in (
                        ("idealised", "idealised"),
                        ("idealised AD", "ideal_ad"),
                        ("CATHODE", "cathode"),
                        ("CWoLa", "cwola"),
                    )
                ),
                flush=True,
            )
        print(
            "  " + ", ".join(f"{k} {v:.3g}" for k, v in row.items() if not isinstance(v, str)),
            flush=True,
        )


if __name__ == "__main__":
    main()
