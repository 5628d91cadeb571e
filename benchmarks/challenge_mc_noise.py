"""How much of a challenge result is the MC noise of the template and pool samples.

Usage::

    python benchmarks/challenge_mc_noise.py --method inferno --samples 6 \
        [--n-train 50000 --n-events 200000 --mu 1.5 --seed 1]

Calibrates ``--method`` as ``benchmarks/challenge_methods.py`` does (training and template
samples of :func:`rediscovery.higgs.systematics.challenge.simulated_sets`), keeps its scorer
and binning, then simulates ``--samples`` further independent samples of ``--n-events``
events. Each sample serves once as the template sample (templates rebuilt with the method's
scorer and edges) and once as the pseudo-data pool; every (template, pool) pair with
different samples is fitted on the pool's *expected* histogram at ``μ = --mu`` and the
nominal nuisances (no Poisson noise), statistics only and with every nuisance profiled.
Printed: the matrices of μ̂ (rows: template sample, columns: pool), their mean (the bias
averaged over MC realisations) and the spread of μ̂ between pairs (the MC-noise offset that
a challenge with one fixed template sample and one fixed pool carries in every
pseudo-experiment), beside the median half-width of the fitted intervals.
"""

from __future__ import annotations

import argparse
import logging
import time
import warnings
from dataclasses import replace

import numpy as np

from rediscovery.higgs.events.simulate import simulate_events
from rediscovery.higgs.features.derived import add_derived_features
from rediscovery.higgs.schema import LABEL, WEIGHT
from rediscovery.higgs.systematics import challenge as ch
from rediscovery.higgs.systematics.catalogue import METHODS, calibrate
from rediscovery.higgs.systematics.methods import fit_interval, observed_counts
from rediscovery.higgs.systematics.templates import TemplateWarning, build_templates
from rediscovery.higgs.systematics.variations import apply_systematics


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--method", default="inferno", choices=tuple(METHODS))
    ap.add_argument("--samples", type=int, default=6)
    ap.add_argument("--n-train", type=int, default=50000)
    ap.add_argument("--n-events", type=int, default=200000)
    ap.add_argument("--mu", type=float, default=1.5)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    logging.basicConfig(level=logging.ERROR)
    warnings.simplefilter("ignore", TemplateWarning)
    t0 = time.process_time()
    train, tmpl, _ = ch.simulated_sets(args.n_train, args.n_events, 1, seed=args.seed)
    opts = {} if args.method in ("inferno", "pivot") else {"n_estimators": 100, "max_depth": 4}
    inf = calibrate(args.method, train, tmpl, seed=args.seed, **opts)
    print(f"{args.method}: calibration {time.process_time() - t0:.0f} s CPU", flush=True)
    edges = inf.templates.edges
    obs, infs = [], []
    for k in range(args.samples):
        rng = np.random.default_rng([args.seed, 5000 + k])
        ev = add_derived_features(simulate_events(args.n_events, seed=rng), mmc=False)
        sh = apply_systematics(ev, soft_met=1.0, seed=100 + k, mmc=False)  # α = 0
        w = sh[WEIGHT].to_numpy(float)
        w = np.where(sh[LABEL].to_numpy() == 1, args.mu * w, w)
        scores = np.asarray(inf.scorer(sh), float)
        obs.append(observed_counts(sh.assign(**{WEIGHT: w}), scores, edges))
        t = build_templates(ev, inf.scorer, edges, seed=args.seed, check=False)
        infs.append(replace(inf, templates=t))
    n = args.samples
    mu_hat = {"statistics only": np.full((n, n), np.nan), "nuisances": np.full((n, n), np.nan)}
    half = []
    for i in range(n):
        for j in range(n):
            if i == j:
                continue
            mu_hat["statistics only"][i, j] = fit_interval(
                infs[i].model(stat_only=True), obs[j]
            ).mu_hat
            iv = fit_interval(infs[i].model(), obs[j])
            mu_hat["nuisances"][i, j] = iv.mu_hat
            half.append(0.5 * (iv.hi - iv.lo))
    np.set_printoptions(precision=2, suppress=True)
    for name, m in mu_hat.items():
        off = m[np.isfinite(m)] - args.mu
        print(f"\n{name}: mu_hat (rows: template sample, columns: pool), true mu {args.mu}")
        print(m)
        print(
            f"mean mu_hat - mu {off.mean():+.3f} ± {off.std() / np.sqrt(n):.3f} (rough: pairs "
            f"share samples), spread of mu_hat between pairs {off.std():.3f}"
        )
    print(f"\nmedian half-width of the intervals with nuisances: {np.median(half):.3f}")


if __name__ == "__main__":
    main()
