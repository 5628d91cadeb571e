"""Weakly supervised methods on the LHC-Olympics-like dijet set: max SIC in the signal region.

Simulates :func:`rediscovery.anomaly.simulate_dijet` (``--background-events`` QCD events, a
W' -> XY at S/B = ``--s-over-b`` in 3.3-3.7 TeV) and scores the signal-region events with

* the idealised detector: a supervised classifier, signal against background, trained with
  the truth labels on the SR events (5-fold);
* CATHODE (:func:`rediscovery.anomaly.cathode_scores`, the fixed SR);
* CWoLa (:func:`rediscovery.anomaly.overdensity.cwola_region_scores`, SR against the flanks
  3.11-3.30 and 3.70-3.92 TeV);

on the features ``mj1, delta_mj, tau21_1, tau21_2``. Prints per method the AUC and the
maximum SIC (epsilon_S / sqrt(epsilon_B), cuts keeping >= 20 background events), the seconds,
and the ratio of CATHODE's max SIC to the idealised one. One line per seed is appended to
``--csv`` (resumable: seeds already there are skipped).

    python benchmarks/anomaly_dijet.py --background-events 300000 --seeds 1 --csv dijet.csv

``--mjj-correlation 0.1`` shifts both jet masses by 0.1 m_jj (the correlated-feature study of
the CATHODE paper), where CWoLa is expected to lose and CATHODE not.
"""

from __future__ import annotations

import argparse
import csv
import time
from pathlib import Path

import numpy as np

from rediscovery.anomaly import (
    DIJET_SIGNAL_REGION,
    DijetConfig,
    FlowSettings,
    cathode_scores,
    idealised_scores,
    sic_curve,
    simulate_dijet,
)
from rediscovery.anomaly.dijet import DIJET_FEATURES
from rediscovery.anomaly.methods import limited_threads
from rediscovery.anomaly.overdensity import cwola_region_scores
from rediscovery.anomaly.windows import flank_mask


def one(seed: int, args: argparse.Namespace) -> dict:
    data, _, truth = simulate_dijet(
        DijetConfig(
            n_background=args.background_events,
            s_over_b=args.s_over_b,
            mjj_correlation=args.mjj_correlation,
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
    t = time.perf_counter()
    ideal = idealised_scores(data.loc[sr, list(DIJET_FEATURES)], y[sr], seed=seed)
    c = sic_curve(ideal, y[sr])
    row.update(idealised_auc=c.auc, idealised_sic=c.sic_max, idealised_s=time.perf_counter() - t)
    t = time.perf_counter()
    with limited_threads(1):
        out = cathode_scores(
            x,
            m,
            sr,
            sb,
            flanks=flanks,
            flow=FlowSettings(epochs=args.epochs, max_train=args.max_train),
            seed=seed,
        )
    c = sic_curve(out["scores"][sr], y[sr])
    row.update(
        cathode_auc=c.auc,
        cathode_sic=c.sic_max,
        cathode_z=out["z"],
        cathode_s=time.perf_counter() - t,
    )
    t = time.perf_counter()
    cw = cwola_region_scores(x, sr, flanks, seed=seed)
    c = sic_curve(cw[sr], y[sr])
    row.update(cwola_auc=c.auc, cwola_sic=c.sic_max, cwola_s=time.perf_counter() - t)
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--background-events", type=int, default=300_000)
    ap.add_argument("--s-over-b", type=float, default=0.006)
    ap.add_argument("--seeds", type=int, default=1)
    ap.add_argument("--epochs", type=int, default=15)
    ap.add_argument("--max-train", type=int, default=20_000)
    ap.add_argument("--mjj-correlation", type=float, default=0.0)
    ap.add_argument("--m-min", type=float, default=2_800.0)
    ap.add_argument("--m-max", type=float, default=5_000.0)
    ap.add_argument("--csv", default="anomaly_dijet.csv")
    args = ap.parse_args()
    path = Path(args.csv)
    done = set()
    if path.exists():
        with path.open() as fh:
            done = {int(r["seed"]) for r in csv.DictReader(fh)}
    for seed in range(1, args.seeds + 1):
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
            f"seed {seed}: SR {row['n_sr']} events, {row['s_sr']} signal; max SIC "
            f"idealised {row['idealised_sic']:.2f} (AUC {row['idealised_auc']:.3f}), CATHODE "
            f"{row['cathode_sic']:.2f} (AUC {row['cathode_auc']:.3f}, {row['cathode_s']:.0f} s,"
            f" local Z {row['cathode_z']:.2f}), CWoLa {row['cwola_sic']:.2f} "
            f"(AUC {row['cwola_auc']:.3f}); CATHODE / idealised "
            f"{row['cathode_sic'] / row['idealised_sic']:.2f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
