"""Throughput of apply_systematics, and of one pseudo-experiment's pieces.

Baseline: the bare NumPy arithmetic of the same shift (TES + JES on two jets + MET vector +
soft term + thresholds) on arrays already extracted, i.e. the least any implementation must
do; the ratio shows what validation, the DataFrame copy and the bookkeeping cost.

    PYTHONPATH=src python benchmarks/systematics.py [N_EVENTS]
"""

from __future__ import annotations

import sys
import time

import numpy as np


def _best(fn, repeat: int = 5) -> float:  # type: ignore[no-untyped-def]
    best = np.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def main() -> None:
    from rediscovery.higgs.events.simulate import simulate_events
    from rediscovery.higgs.features.derived import add_derived_features
    from rediscovery.higgs.systematics.variations import apply_systematics

    n = int(sys.argv[1]) if len(sys.argv) > 1 else 200_000
    df = simulate_events(n, seed=1)
    kw = {"tes": 1.01, "jes": 0.99, "soft_met": 2.0, "ttbar_scale": 1.02, "seed": 3}
    t_ours = _best(lambda: apply_systematics(df, **kw, recompute_derived=False))

    a = {c: df[c].to_numpy(dtype=float) for c in df.columns if c.startswith("PRI_")}
    rng = np.random.default_rng(3)

    def bare() -> None:
        mx = a["PRI_met"] * np.cos(a["PRI_met_phi"]) - 0.01 * a["PRI_tau_pt"] * np.cos(
            a["PRI_tau_phi"])
        my = a["PRI_met"] * np.sin(a["PRI_met_phi"]) - 0.01 * a["PRI_tau_pt"] * np.sin(
            a["PRI_tau_phi"])
        for j in ("leading", "subleading"):
            pt = np.nan_to_num(a[f"PRI_jet_{j}_pt"])
            ph = np.nan_to_num(a[f"PRI_jet_{j}_phi"])
            mx += 0.01 * pt * np.cos(ph)
            my += 0.01 * pt * np.sin(ph)
        mx += rng.normal(0, 2.0, n)
        my += rng.normal(0, 2.0, n)
        tau = a["PRI_tau_pt"] * 1.01
        _ = (np.hypot(mx, my), np.arctan2(my, mx), tau >= 20, a["PRI_jet_all_pt"] * 0.99)

    t_bare = _best(bare)
    with_der = add_derived_features(df, mmc=False)
    t_der = _best(lambda: apply_systematics(with_der, **kw, mmc=False), repeat=3)
    print(f"events: {n}")
    print(f"apply_systematics (primaries only): {n / t_ours / 1e6:.2f} M events/s "
          f"({t_ours * 1e3:.1f} ms)")
    print(f"bare NumPy arithmetic baseline:      {n / t_bare / 1e6:.2f} M events/s "
          f"({t_bare * 1e3:.1f} ms); ratio ours/bare = {t_ours / t_bare:.2f}")
    print(f"apply_systematics + 12 DER_ recomputed: {n / t_der / 1e6:.2f} M events/s "
          f"({t_der * 1e3:.1f} ms)")


if __name__ == "__main__":
    main()
