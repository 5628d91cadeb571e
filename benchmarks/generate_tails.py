"""Where a generator's backgrounds leak into the signal-like region.

A signal-against-background classifier (scikit-learn's HistGradientBoosting on the primaries
and the ``DER_*`` features, trained on its own simulated sample, each class weighted to the
same total) scores a simulated and a generated sample at the nominal detector (the same
events per process, one weight per process). Prints, per process, the share of its events
above score cuts in both samples and their ratio (the leak the fit's top bins see); then in the
high-score region (score above ``--cut``) the classifier two-sample AUC (with the generated
events' weights) and the unweighted 1-D KS statistic of every feature, largest first.

The generator is a flow folder (``--generator``), or one trained here like the physics test's
(``--train-events`` nominal events, ``--epochs``, ``maf`` 8 × 64; ``--save`` keeps it).

    OMP_NUM_THREADS=1 nice -n 10 python benchmarks/generate_tails.py --train-events 60000 \\
        --epochs 10 --events 200000 --save work/gen_test
"""

from __future__ import annotations

import argparse
import time


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--generator", default=None, help="flow folder (default: train one)")
    ap.add_argument("--train-events", type=int, default=60_000)
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--architecture", default="maf")
    ap.add_argument("--events", type=int, default=200_000, help="simulated and generated")
    ap.add_argument("--classifier-events", type=int, default=100_000)
    ap.add_argument("--cut", type=float, default=0.8, help="high-score region: score above")
    ap.add_argument("--seed", type=int, default=5)
    ap.add_argument("--save", default=None, help="save the trained generator here")
    ap.add_argument("--top", type=int, default=8, help="features listed per process")
    args = ap.parse_args()

    import numpy as np
    import pandas as pd
    import torch
    from scipy.stats import ks_2samp
    from sklearn.ensemble import HistGradientBoostingClassifier
    from threadpoolctl import threadpool_limits

    from rediscovery.higgs import add_derived_features, simulate_events
    from rediscovery.higgs.generate import FlowConfig, simulate_training_set, train_flow
    from rediscovery.higgs.generate.flow import equal_weight_count_shares
    from rediscovery.higgs.generate.io import load_flow, save_flow
    from rediscovery.higgs.generate.validation import two_sample_auc
    from rediscovery.higgs.schema import PRI_COLUMNS

    torch.set_num_threads(1)
    t0 = time.perf_counter()
    if args.generator:
        flow = load_flow(args.generator)
    else:
        train = simulate_training_set(args.train_events, [{}], seed=args.seed)
        cfg = FlowConfig(architecture=args.architecture, epochs=args.epochs, seed=args.seed)
        flow = train_flow(train, cfg)
        print(f"generator trained in {flow.training_info_['seconds']:.0f} s")
        if args.save:
            save_flow(flow, args.save)
    shares = equal_weight_count_shares()
    sim = add_derived_features(simulate_events(args.events, seed=args.seed + 1,
                                               count_shares=shares, n_threads=1))  # fmt: skip
    share = sim["Process"].astype(str).value_counts(normalize=True).to_dict()
    gen = add_derived_features(flow.sample(args.events, seed=args.seed + 2, shares=share))
    clf_df = add_derived_features(simulate_events(args.classifier_events, seed=args.seed + 3,
                                                  n_threads=1))  # fmt: skip
    feats = list(PRI_COLUMNS) + [c for c in sim.columns if c.startswith("DER_")]
    w = clf_df["Weight"].to_numpy()
    y = clf_df["Label"].to_numpy()
    w = np.where(y == 1, w / w[y == 1].sum(), w / w[y == 0].sum())
    clf = HistGradientBoostingClassifier(max_iter=200, random_state=args.seed)
    with threadpool_limits(1):
        clf.fit(clf_df[feats].to_numpy(dtype=float), y, sample_weight=w)
        s_sim = clf.predict_proba(sim[feats].to_numpy(dtype=float))[:, 1]
        s_gen = clf.predict_proba(gen[feats].to_numpy(dtype=float))[:, 1]
    print(f"samples and classifier ready in {time.perf_counter() - t0:.0f} s")
    cuts = (0.5, 0.8, 0.9, 0.95)
    print("share of each process's events above the score cut: simulated, generated (weighted)")
    print(f"{'process':8s} " + "  ".join(f"{'> ' + str(c):>22s}" for c in cuts))
    p_sim = sim["Process"].astype(str).to_numpy()
    p_gen = gen["Process"].astype(str).to_numpy()
    w_gen = gen["Weight"].to_numpy(dtype=float)  # unequal within a process when reweighted
    for p in sorted(share):
        a, b = s_sim[p_sim == p], s_gen[p_gen == p]
        wb = w_gen[p_gen == p]
        cells = []
        for c in cuts:
            fa, fb = np.mean(a > c), np.sum(wb * (b > c)) / np.sum(wb)
            na = max(int(np.sum(a > c)), 1)
            cells.append(f"{fa:.4f} {fb:.4f} ({fb / max(fa, 1e-12):.2f}±{1 / np.sqrt(na):.2f})")
        print(f"{p:8s} " + "  ".join(f"{x:>22s}" for x in cells))
    print(f"\nabove score {args.cut}: two-sample AUC and the largest 1-D KS statistics")
    for p in sorted(share):
        a = sim[(p_sim == p) & (s_sim > args.cut)]
        b = gen[(p_gen == p) & (s_gen > args.cut)]
        if min(len(a), len(b)) < 50:
            print(f"{p}: {len(a)} simulated, {len(b)} generated events: too few")
            continue
        res = two_sample_auc(a, b, feats, seed=args.seed, weight_column="Weight")
        rows = []
        for c in feats:
            xa = a[c].to_numpy(dtype=float)
            xb = b[c].to_numpy(dtype=float)
            xa, xb = xa[np.isfinite(xa)], xb[np.isfinite(xb)]
            if min(len(xa), len(xb)) < 20:
                continue
            r = ks_2samp(xa, xb)
            rows.append((c, r.statistic, r.pvalue, np.median(xa), np.median(xb)))
        t = pd.DataFrame(rows, columns=["feature", "ks", "p", "median_sim", "median_gen"])
        t = t.sort_values("ks", ascending=False).head(args.top)
        print(f"{p}: {len(a)} simulated, {len(b)} generated; AUC {res['auc']:.3f} ± "
              f"{res['auc_err']:.3f}")  # fmt: skip
        print(t.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    print("\nwhole sample, largest 1-D KS statistics of the DER_ features per process")
    for p in sorted(share):
        a, b = sim[p_sim == p], gen[p_gen == p]
        rows = []
        for c in feats:
            if not c.startswith("DER_"):
                continue
            xa, xb = a[c].to_numpy(dtype=float), b[c].to_numpy(dtype=float)
            xa, xb = xa[np.isfinite(xa)], xb[np.isfinite(xb)]
            if min(len(xa), len(xb)) < 20:
                continue
            rows.append((c, ks_2samp(xa, xb).statistic, np.median(xa), np.median(xb)))
        t = pd.DataFrame(rows, columns=["feature", "ks", "median_sim", "median_gen"])
        t = t.sort_values("ks", ascending=False).head(4)
        print(f"{p}: " + "; ".join(f"{r.feature} {r.ks:.3f} ({r.median_sim:.4g} vs "
                                   f"{r.median_gen:.4g})" for r in t.itertuples()))  # fmt: skip


if __name__ == "__main__":
    main()
