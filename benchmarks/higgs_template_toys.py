"""Coverage of the fit when the MC templates fluctuate as much as a run's real template sample.

Usage::

    python benchmarks/higgs_template_toys.py RUN_DIR [--toys 400] [--mu 1.0] [--seed 1]

Takes a finished ``rediscovery higgs run`` directory, treats its template histograms
(``evaluate/mc_scores.parquet`` in the binning of ``fit/fit.json``) as the truth, and for each
toy draws (a) new templates — per process and bin a Poisson number of MC events of that
process's mean weight, so the templates fluctuate like a sample of the same size — and (b)
Poisson pseudo-data at signal strength ``--mu``; then fits with the Barlow–Beeston-lite model
of :mod:`rediscovery.higgs.stats` (:func:`~rediscovery.higgs.stats.inference.mle` and
:func:`~rediscovery.higgs.stats.inference.interval`). Prints the coverage of the 68 % intervals
and the pull mean and width: a check of the statistical treatment of finite MC on the run's own
binning, independent of the simulator (1,000 toys on a default run: coverage 0.680 ± 0.015,
pull mean +0.05, width 1.02; ~0.1 s per toy).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd

from rediscovery.higgs import stats as stat


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run", type=Path)
    ap.add_argument("--toys", type=int, default=400)
    ap.add_argument("--mu", type=float, default=1.0)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    edges = np.array(json.loads((args.run / "fit" / "fit.json").read_text())["edges"])
    mc = pd.read_parquet(args.run / "evaluate" / "mc_scores.parquet")
    truth_model, _ = stat.model_from_scores(mc, edges=edges)
    s0 = truth_model.signal
    b0 = dict(truth_model.backgrounds)
    bkg = mc[mc["Label"] == 0]
    w_bkg = bkg.groupby(bkg["Process"].astype(str), observed=True)["Weight"].mean().to_dict()
    w_sig = float(mc.loc[mc["Label"] == 1, "Weight"].mean())
    rng = np.random.default_rng(args.seed)
    pulls, covered, failed = [], [], 0
    for _ in range(args.toys):
        sig = rng.poisson(s0 / w_sig) * w_sig
        bk = {p: rng.poisson(v / w_bkg[p]) * w_bkg[p] for p, v in b0.items()}
        model = stat.BinnedModel(
            sig, {p: np.maximum(v, 1e-9) for p, v in bk.items()}, signal_sumw2=sig * w_sig,
            background_sumw2={p: v * w_bkg[p] for p, v in bk.items()}, edges=edges)
        n = rng.poisson(args.mu * s0 + sum(b0.values())).astype(float)
        best = stat.mle(model, n, "minuit", errors=False)
        r = stat.interval(model, n, stat_only=False, mle_result=best)
        if not (best.converged and r.converged):
            failed += 1
            continue
        half = (r.mu_hi - r.mu_hat) if r.mu_hat < args.mu else (r.mu_hat - r.mu_lo)
        pulls.append((r.mu_hat - args.mu) / half)
        covered.append(r.mu_lo <= args.mu <= r.mu_hi)
    p, c = np.array(pulls), float(np.mean(covered))
    print(f"{len(p)} toys ({failed} failed fits), {len(edges) - 1} bins: coverage of the 68% "
          f"intervals {c:.3f} ± {np.sqrt(c * (1 - c) / len(p)):.3f}; pull mean {p.mean():+.3f}, "
          f"width {p.std(ddof=1):.3f}")


if __name__ == "__main__":
    main()
