"""Linearity and coverage of the whole Higgs chain at several hidden signal strengths.

Usage::

    python benchmarks/higgs_linearity.py --mu 0,0.5,1,2,3 --seeds 1-20 --out /tmp/linearity \
        [--events N] [--template-events N] [--lumi L] [--no-systematics] [--max-rel-stat R]
        [--plot calibration.png]

For every hidden μ and seed, one complete and independent ``rediscovery higgs run`` (new
training MC, template MC, pseudo-data at that μ, classifier, binning, fit) through
:func:`rediscovery.higgs.pipeline.run_pipeline`, exactly as the CLI does with ``mu_true`` in
the configuration; the comparison with the truth is :func:`rediscovery.core.unblind.unblind`'s.
Prints per μ the mean μ̂, the coverage of the 68 % intervals (binomial error), the pull mean and
width, then a straight-line fit μ̂ = offset + slope·μ to the per-μ means (weighted by their
errors). A calibrated chain gives slope 1, offset 0, coverage 0.68 and pull width 1 at every μ.
Run directories are kept (without their event tables) so an interrupted study resumes: a
finished run of the same configuration is read back, not recomputed. About 35-45 s per run
on 2 idle cores at the defaults. ``--plot`` draws μ̂ against μ with the diagonal.
"""

from __future__ import annotations

import argparse
import csv
import logging
import time
from pathlib import Path

import numpy as np

from chain_study import parse_seeds, pull_stats, run_or_reuse
from rediscovery.core.errors import RediscoveryError
from rediscovery.core.unblind import unblind
from rediscovery.higgs.pipeline import HiggsRunConfig


def _line_fit(x: np.ndarray, y: np.ndarray, err: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Weighted least squares y = a + b x: parameters (a, b) and their covariance."""
    design = np.column_stack([np.ones_like(x), x])
    w = 1.0 / err**2
    cov = np.linalg.inv(design.T @ (design * w[:, None]))
    return cov @ (design.T @ (w * y)), cov


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mu", default="0,0.5,1,2,3", help="hidden signal strengths, e.g. 0,1,3")
    ap.add_argument("--seeds", default="1-20", help="e.g. 1-20 or 1,4,7")
    ap.add_argument("--out", type=Path, required=True, help="folder of the run directories")
    ap.add_argument("--events", type=int, default=None)
    ap.add_argument("--template-events", type=int, default=None)
    ap.add_argument("--lumi", type=float, default=None)
    ap.add_argument("--systematics", action=argparse.BooleanOptionalAction, default=None,
                    help="systematic uncertainties in the runs (default: the run's default, on)")
    ap.add_argument("--max-rel-stat", type=float, default=None,
                    help="binning: maximum relative MC uncertainty of the background per bin")
    ap.add_argument("--plot", type=Path, default=None, help="calibration plot (PNG)")
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    overrides = {k: v for k, v in {"events": args.events, "template_events":
                                   args.template_events, "lumi_factor": args.lumi,
                                   "systematics": args.systematics,
                                   "max_rel_stat": args.max_rel_stat}.items()
                 if v is not None}
    mus = [float(m) for m in args.mu.split(",")]
    rows, failed = [], []
    print(f"{'mu':>5} {'seed':>4} {'mu_hat':>7} {'68% interval':>17} {'pull':>6} {'s':>5}")
    for mu in mus:
        for seed in parse_seeds(args.seeds):
            t0 = time.perf_counter()
            out = args.out / f"mu{mu:g}" / f"seed{seed}"
            try:
                run_or_reuse(out, HiggsRunConfig(seed=seed, mu_true=mu, **overrides))
            except RediscoveryError as exc:  # a fit that did not converge is counted, not hidden
                failed.append((mu, seed))
                print(f"{mu:5g} {seed:4d} failed: {exc}", flush=True)
                continue
            row = next(r for r in unblind(out) if r["parameter"] == "mu")
            rows.append({"mu": mu, "seed": seed, "mu_hat": row["estimate"], "lo68": row["lo68"],
                         "hi68": row["hi68"], "pull": row["pull"],
                         "covered": bool(row["covered"])})
            print(f"{mu:5g} {seed:4d} {row['estimate']:7.3f} [{row['lo68']:6.3f}, "
                  f"{row['hi68']:6.3f}] {row['pull']:+6.2f} {time.perf_counter() - t0:5.0f}",
                  flush=True)
    if failed:
        print(f"\n{len(failed)} runs failed (not in the statistics): {failed}")
    args.out.mkdir(parents=True, exist_ok=True)
    with open(args.out / "linearity.csv", "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)

    print(f"\n{'mu':>5} {'runs':>4} {'mean mu_hat':>14} {'coverage':>14} {'pull mean':>14} "
          f"{'pull width':>14}")
    means, errs = [], []
    for mu in mus:
        sel = [r for r in rows if r["mu"] == mu]
        n = len(sel)
        m = np.array([r["mu_hat"] for r in sel])
        s = pull_stats([r["pull"] for r in sel], [r["covered"] for r in sel])
        means.append(m.mean())
        errs.append(m.std(ddof=1) / np.sqrt(n) if n > 1 else np.nan)
        print(f"{mu:5g} {n:4d} {means[-1]:7.3f} ± {errs[-1]:.3f} {s['coverage']:7.3f} ± "
              f"{s['coverage_err']:.3f} {s['pull_mean']:+7.3f} ± {s['pull_mean_err']:.3f} "
              f"{s['pull_width']:7.3f} ± {s['pull_width_err']:.3f}")
    if len(mus) > 1 and np.all(np.isfinite(errs)):
        (a, b), cov = _line_fit(np.array(mus), np.array(means), np.array(errs))
        print(f"\nmu_hat = offset + slope * mu: slope {b:.3f} ± {np.sqrt(cov[1, 1]):.3f}, "
              f"offset {a:+.3f} ± {np.sqrt(cov[0, 0]):.3f}")
    if args.plot is not None:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(5, 4.5))
        x = np.array([r["mu"] for r in rows])
        ax.errorbar(x, [r["mu_hat"] for r in rows],
                    yerr=[[r["mu_hat"] - r["lo68"] for r in rows],
                          [r["hi68"] - r["mu_hat"] for r in rows]],
                    fmt="o", ms=3, alpha=0.35, color="C0", label="runs (68% intervals)")
        ax.errorbar(mus, means, yerr=errs, fmt="s", color="C3", label="mean per μ")
        lim = [min(mus) - 0.3, max(mus) + 0.3]
        ax.plot(lim, lim, "k--", lw=1, label="μ̂ = μ")
        ax.set_xlabel("hidden signal strength μ")
        ax.set_ylabel("fitted signal strength μ̂")
        ax.legend()
        fig.savefig(args.plot, dpi=120, bbox_inches="tight")


if __name__ == "__main__":
    main()
