"""Fits of the challenge pool itself (no Poisson noise) shifted in the soft MET only.

Usage::

    python benchmarks/challenge_pool_asimov.py [--control-channel DER_pt_tot] \
        [--morphing spline] [--n-templates 500000 --n-pool 200000 --seed 1] [--combined]

Calibrates ``nominal`` as ``benchmarks/challenge_methods.py run`` does, then, for the soft
MET at α = −2 … +1.5 (other nuisances nominal, μ = 1), fits the pool altered with it, each
event counted with its expected weight (an Asimov data set of the pool; two seeds of the
soft-MET draws), and the template events altered with the templates' own soft-MET random
numbers (where the model is exact at the grid points). Prints μ̂, its interval and the
fitted α's: the difference between the two is what the fixed pool's MC noise does to the fit.

``--combined``: instead, the template events (where the model is exact for one nuisance at a
time at the grid points) shifted in tes, jes and the soft MET *together*, at ±1σ of each
(eight corners) and at one of them alone: the model adds the nuisances' effects bin by bin
(HistFactory), so μ̂ ≠ 1 at a corner measures what the missing cross terms do to the fit.
"""

from __future__ import annotations

import argparse
import logging
import warnings
from dataclasses import replace

import numpy as np

from rediscovery.higgs.schema import LABEL
from rediscovery.higgs.stats.model import HISTOSYS_CODES
from rediscovery.higgs.systematics import challenge as ch
from rediscovery.higgs.systematics.catalogue import calibrate
from rediscovery.higgs.systematics.methods import fit_interval
from rediscovery.higgs.systematics.variations import apply_systematics

ALPHAS = (-2.0, -1.5, -1.0, -0.5, 0.0, 0.5, 1.0, 1.5)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--control-channel", default=None, metavar="FEATURE")
    ap.add_argument("--morphing", default="spline", choices=HISTOSYS_CODES)
    ap.add_argument("--n-train", type=int, default=50000)
    ap.add_argument("--n-templates", type=int, default=500000)
    ap.add_argument("--n-pool", type=int, default=200000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--combined", action="store_true",
                    help="tes, jes and soft MET shifted together, template events only")
    args = ap.parse_args()
    logging.basicConfig(level=logging.ERROR)
    warnings.simplefilter("ignore")
    np.seterr(all="ignore")
    train, tmpl, pool = ch.simulated_sets(
        args.n_train, args.n_templates, args.n_pool, seed=args.seed
    )
    opts: dict = {"n_estimators": 100, "max_depth": 4}
    if args.control_channel is not None:
        opts["control_channel"] = args.control_channel
    inf = calibrate("nominal", train, tmpl, seed=args.seed, **opts)
    inf = replace(inf, shape_interpolation=args.morphing)
    print(f"edges {np.round(inf.templates.edges, 3).tolist()}", flush=True)
    if args.combined:
        _combined(inf, tmpl, args.seed)
        return
    for src, events, seed in (
        ("pool", pool, 7),
        ("pool", pool, 8),
        ("templates", tmpl, args.seed),
    ):
        for a in ALPHAS:
            shifted = apply_systematics(events, soft_met=float(np.exp(a)), seed=seed, mmc=False)
            iv = fit_interval(inf.model(), inf.histogram(shifted.drop(columns=[LABEL])))
            fitted = " ".join(f"{k} {v:+.2f}" for k, v in iv.alphas.items())
            print(
                f"{src:9s} seed {seed} α {a:+.1f}: μ̂ {iv.mu_hat:.3f} [{iv.lo:.3f}, {iv.hi:.3f}]"
                f" {fitted}",
                flush=True,
            )


def _combined(inf, tmpl, seed: int) -> None:
    """μ̂ of the template events shifted in several nuisances at once (module notes)."""
    corners = [(t, j, m) for t in (-1, 1) for j in (-1, 1) for m in (-1, 1)]
    singles = [(1, 0, 0), (-1, 0, 0), (0, 1, 0), (0, -1, 0), (0, 0, 1), (0, 0, -1)]
    for t, j, m in singles + corners:
        shifted = apply_systematics(tmpl, tes=1 + 0.01 * t, jes=1 + 0.01 * j,
                                    soft_met=float(np.exp(m)), seed=seed, mmc=False)
        iv = fit_interval(inf.model(), inf.histogram(shifted.drop(columns=[LABEL])))
        fitted = " ".join(f"{k} {v:+.2f}" for k, v in iv.alphas.items())
        print(f"templates α(tes, jes, soft_met) = ({t:+d}, {j:+d}, {m:+d}): μ̂ {iv.mu_hat:.3f} "
              f"[{iv.lo:.3f}, {iv.hi:.3f}] {fitted}", flush=True)


if __name__ == "__main__":
    main()
