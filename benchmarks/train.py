"""Classifier benchmarks: wrapper overhead, NN epoch time, and the physics performance table.

Usage (from the repository root, ``PYTHONPATH=src``)::

    python benchmarks/train.py speed [--events 250000] [--threads 1]
    python benchmarks/train.py table [--events 200000] [--seed 0] [--out table.md]

``speed``
    Trains XGBoost and LightGBM once through our wrappers (``XGBoostClassifier.fit``,
    ``LightGBMClassifier.fit``) and once with the bare library call (``xgboost.train`` /
    ``lightgbm.train`` on the same float64 arrays, same parameters, same weights) and prints
    the wall times and their ratio (target <= 1.1: the wrapper adds only input validation);
    then the torch MLP's time per epoch. Each timing is the best of ``--repeat`` runs.
``table``
    Simulates the default sample (``simulate_events(events, seed)``), adds the DER_ features
    (with the MMC), splits it 1:1:1 and trains every model on PRI_ only and on PRI_ + DER_,
    printing a Markdown table of the test AUC and best AMS with bootstrap errors.
"""

from __future__ import annotations

import argparse
import time

import numpy as np


def _toy(n: int, n_features: int = 30, seed: int = 0):
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.35).astype(np.int8)
    X = rng.normal(size=(n, n_features)) + 0.3 * y[:, None] * rng.normal(size=n_features)
    X[rng.random(n) < 0.3, -6:] = np.nan  # missing jet-like variables
    w = np.where(y == 1, 2e-3, 1.0) * rng.uniform(0.5, 1.5, n)
    return X, y, w


def _best(fn, repeat: int) -> tuple[float, float]:
    """Best wall time and best CPU time of this process (s) over ``repeat`` runs.

    On a shared machine the CPU time of a single-threaded run is the load-independent figure.
    """
    wall, cpu = [], []
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    return min(wall), min(cpu)


def _report(name: str, bare: tuple[float, float], ours: tuple[float, float]) -> None:
    print(f"{name:9s} bare {bare[0]:7.2f} s wall {bare[1]:7.2f} s CPU   wrapper "
          f"{ours[0]:7.2f} s wall {ours[1]:7.2f} s CPU   ratio wall {ours[0] / bare[0]:5.3f} "
          f"CPU {ours[1] / bare[1]:5.3f}")


def speed(args: argparse.Namespace) -> None:
    import lightgbm as lgb
    import xgboost as xgb

    from rediscovery.higgs.classifiers import (
        LightGBMClassifier,
        MLPClassifier,
        XGBoostClassifier,
        training_weights,
    )

    X, y, w = _toy(args.events)
    feats = [f"f{i}" for i in range(X.shape[1])]
    tw = training_weights(y, w, balance_classes=True)
    n_trees = args.trees
    print(f"{args.events} events x {X.shape[1]} features, {n_trees} trees, "
          f"{args.threads} thread(s), best of {args.repeat}")

    xm = XGBoostClassifier(feats, n_estimators=n_trees, n_threads=args.threads)

    def bare_xgb() -> None:
        d = xgb.DMatrix(X, label=y, weight=tw, missing=np.nan, nthread=args.threads)
        xgb.train(xm.library_params(), d, num_boost_round=n_trees)

    _report("xgboost", _best(bare_xgb, args.repeat), _best(lambda: xm.fit(X, y, w), args.repeat))

    lm = LightGBMClassifier(feats, n_estimators=n_trees, n_threads=args.threads)

    def bare_lgb() -> None:
        p = lm.library_params()
        d = lgb.Dataset(X, label=y, weight=tw, params={"max_bin": p["max_bin"]})
        lgb.train(p, d, num_boost_round=n_trees)

    _report("lightgbm", _best(bare_lgb, args.repeat),
            _best(lambda: lm.fit(X, y, w), args.repeat))

    epochs = 3
    nn = MLPClassifier(feats, max_epochs=epochs, n_threads=args.threads)
    nn.fit(X[:2000], y[:2000], w[:2000])  # warm-up: torch's one-off imports
    wall, cpu = _best(lambda: nn.fit(X, y, w), 1)
    print(f"nn        {wall / epochs:7.2f} s wall, {cpu / epochs:7.2f} s CPU per epoch "
          f"({args.events} events, batch 512, 3x64 ReLU)")


def table(args: argparse.Namespace) -> None:
    from rediscovery.higgs.classifiers import MODEL_KINDS
    from rediscovery.higgs.classifiers.workflow import train_classifier
    from rediscovery.higgs.events.io import split_events
    from rediscovery.higgs.events.simulate import simulate_events
    from rediscovery.higgs.features.derived import add_derived_features

    t0 = time.perf_counter()
    df = simulate_events(args.events, seed=args.seed)
    df = add_derived_features(df)
    df = split_events(df, seed=args.seed)
    print(f"simulated {len(df)} events + DER_ features in {time.perf_counter() - t0:.0f} s")
    lines = ["| model | features | test AUC | best AMS | cut | train time |",
             "|---|---|---|---|---|---|"]
    for kind in MODEL_KINDS:
        for feats in ("pri", "all"):
            t1 = time.perf_counter()
            r = train_classifier(df, kind, features=feats, seed=args.seed,
                                 n_bootstrap=args.bootstrap, n_threads=args.threads)
            m = r.metrics
            dt = time.perf_counter() - t1
            line = (f"| {kind} | {'PRI' if feats == 'pri' else 'PRI+DER'} "
                    f"({len(m['features'])}) | {m['auc']:.4f} ± {m['auc_err']:.4f} | "
                    f"{m['ams_best']:.2f} ± {m['ams_best_err']:.2f} | "
                    f"{m['ams_threshold']:.3f} | {dt:.0f} s |")
            print(line, flush=True)
            lines.append(line)
    if args.out:
        from rediscovery.core.files import write_text

        write_text(args.out, "\n".join(lines) + "\n")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    sp = sub.add_parser("speed")
    sp.add_argument("--events", type=int, default=250_000)
    sp.add_argument("--trees", type=int, default=200)
    sp.add_argument("--threads", type=int, default=1)
    sp.add_argument("--repeat", type=int, default=3)
    tp = sub.add_parser("table")
    tp.add_argument("--events", type=int, default=200_000)
    tp.add_argument("--seed", type=int, default=0)
    tp.add_argument("--bootstrap", type=int, default=100)
    tp.add_argument("--threads", type=int, default=1)
    tp.add_argument("--out", default=None)
    args = ap.parse_args()
    {"speed": speed, "table": table}[args.cmd](args)


if __name__ == "__main__":
    main()
