"""Isolation-forest baseline on simulated events with an injected outlier population.

Simulates ``--events`` labelled events, multiplies the τ_h and lepton transverse momenta of
``--n-outliers`` of them by ``--factor`` (a population the simulation does not make: the truth),
scores all events with :func:`rediscovery.anomaly.isolation_forest_scores` and prints the ROC
AUC of the score against the truth, the fraction of the injected events among the top
``n_outliers`` scores, and the seconds of the forest.

    python benchmarks/anomaly_outliers.py --events 100000 --n-outliers 100 --factor 3
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from sklearn.metrics import roc_auc_score

from rediscovery.anomaly import IsolationForestConfig, isolation_forest_scores
from rediscovery.higgs.events.simulate import simulate_events


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=100_000)
    ap.add_argument("--n-outliers", type=int, default=100)
    ap.add_argument("--factor", type=float, nargs="+", default=[1.5, 2.0, 3.0, 10.0])
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    base = simulate_events(args.events, seed=args.seed)
    rng = np.random.default_rng(args.seed + 1)
    hit = rng.choice(len(base), size=args.n_outliers, replace=False)
    truth = np.zeros(len(base), dtype=int)
    truth[hit] = 1
    print(f"{args.events} events, {args.n_outliers} with tau and lepton pT x factor")
    print("factor   AUC     top-n purity   forest s")
    for factor in args.factor:
        df = base.copy()
        cols = ["PRI_tau_pt", "PRI_lep_pt"]
        df.loc[df.index[hit], cols] *= factor
        t = time.perf_counter()
        res = isolation_forest_scores(df, IsolationForestConfig(seed=args.seed))
        sec = time.perf_counter() - t
        score = res.scores["anomaly_score"].to_numpy()
        top = res.scores["rank"].to_numpy() <= args.n_outliers
        print(
            f"{factor:6.1f}  {roc_auc_score(truth, score):.4f}  "
            f"{truth[top].mean():12.2f}   {sec:8.1f}"
        )


if __name__ == "__main__":
    main()
