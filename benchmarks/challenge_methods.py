"""The Fair Universe challenge for every inference method, resumable, and its comparison table.

Usage::

    python benchmarks/challenge_methods.py run --method nominal --n-pseudo 1000 --out DIR \
        [--n-train 50000 --n-templates 200000 --n-pool 100000 --seed 1 --chunk 20]
    python benchmarks/challenge_methods.py table --out DIR

(``--n-estimators 100 --max-depth 4`` of the BDT methods, ``--max-bins``/``--min-bkg`` of the
binning: defaults as the CLI.)

``run`` calibrates the method exactly as ``rediscovery higgs challenge --method NAME`` does
(:func:`rediscovery.higgs.systematics.challenge.prepare_setup`, XGBoost 100 trees depth 4, or
the torch pivot), then runs the pseudo-experiments (same seeds as the CLI:
``seed * 1_000_003 + i``) in chunks, appending each chunk to ``DIR/pseudo_<method>.csv``, so
that an interrupted study resumes where it stopped (the calibration is deterministic and
re-made). ``table`` prints, per method found in DIR: N, mean width ± its error, coverage ±
binomial error, pull mean and width, the challenge score, the ratio to the statistics-only
width on the same data, failed fits and the CPU time per pseudo-experiment, plus coverage in
the extreme deciles of each nuisance, and the pulls and coverage split at a drawn soft MET of
+1σ (with the mean fitted soft-MET α), and per nuisance the profiled minus the drawn α (by
quintile of the drawn α) with the share of the mean pull that a linear fit of the pull on
these residuals assigns to it.

``--toy LUMI``: a controlled small configuration whose truth the model represents: the pool is
the template sample itself, shifted with the template's soft-MET random numbers, at luminosity
factor LUMI (one MC event weighs less than the data's Poisson noise), without MC-statistics
terms in the model. It isolates the methods' intervals from the pool's MC noise.

Variants for the study of the parameterised classifier (``--method``):
``parameterised-old`` (the earlier training: copies on a cycled α grid, evaluated at α = 0) and
``parameterised-alpha0`` (the present training, evaluated at α = 0 only, no re-scoring).

``--morphing code4``: the shape templates morphed with per-bin exponential extrapolation
beyond ±1σ (HistFactory code 4) instead of pyhf's default linear one (code 4p); the results go
to ``pseudo_<method>-code4.csv``. ``--morphing spline``: a cubic spline per bin through every
template of the grid (α = ±0.5, ±1, ±1.5, ±2); ``pseudo_<method>-spline.csv``.

``--control-channel FEATURE`` (``nominal``, ``augmented``): the events of the lowest
``--control-score-bins`` score bins (default 1) are fitted as a control channel, histogrammed
in FEATURE in ``--control-bins`` bins (default 10), nuisances shared with the score bins
(:mod:`rediscovery.higgs.systematics.control`); ``pseudo_<method>-cr_FEATURE.csv``.
``--control-channel F1,F2`` histograms it on a grid of ``--control-bins`` bins per feature
(``pseudo_<method>-cr_F1+F2.csv``). ``table``
then also prints, split by the drawn soft MET, the rms of the fitted minus the drawn soft-MET
α, and the top decile of the drawn soft MET.
"""

from __future__ import annotations

import argparse
import logging
import math
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from rediscovery.core.files import atomic_path
from rediscovery.higgs.stats.model import HISTOSYS_CODES
from rediscovery.higgs.systematics import challenge as ch
from rediscovery.higgs.systematics.catalogue import METHODS
from rediscovery.higgs.systematics.variations import FAIR_UNIVERSE_PRIORS

VARIANTS = ("parameterised-old", "parameterised-alpha0")
#: Nuisances of the extreme-decile coverage table (the challenge's six).
NUISANCES = ("tes", "jes", "soft_met", "ttbar_scale", "diboson_scale", "bkg_scale")


def _tag(method: str, morphing: str, control: str | None = None, pool_mc: bool = False) -> str:
    """File tag of a run: the method, suffixed with the morphing unless it is the default,
    with ``cr_FEATURE`` (``cr_F1+F2`` for a grid) for a control channel and ``poolmc`` with
    ``--pool-mc-stat``."""
    tag = method if morphing == "code4p" else f"{method}-{morphing}"
    tag = tag if control is None else f"{tag}-cr_{control.replace(',', '+')}"
    return f"{tag}-poolmc" if pool_mc else tag


def _setup(args: argparse.Namespace) -> ch.ChallengeSetup:
    train, tmpl, pool = ch.simulated_sets(
        args.n_train, args.n_templates, args.n_pool, seed=args.seed
    )
    opts: dict = (
        {"pivot_lambda": args.pivot_lambda}
        if args.method == "pivot"
        else {"slopes": args.inferno_slopes}
        if args.method == "inferno"
        else {"n_estimators": args.n_estimators, "max_depth": args.max_depth}
    )
    opts.update(
        {k: v for k, v in (("max_bins", args.max_bins), ("min_bkg", args.min_bkg)) if v is not None}
    )
    if args.control_channel is not None:
        if args.method not in ("nominal", "augmented"):
            raise SystemExit("--control-channel is implemented for nominal and augmented only")
        opts.update(
            control_channel=args.control_channel.split(","),
            control_bins=args.control_bins,
            control_score_bins=args.control_score_bins,
        )
    if args.method == "parameterised-old":
        from rediscovery.higgs.systematics.methods import (
            TemplateInference,
            choose_edges,
            event_features,
        )
        from rediscovery.higgs.systematics.templates import build_templates
        from rediscovery.higgs.systematics.training import train_classifier

        sc = train_classifier(
            train,
            event_features(train),
            mode="parameterised",
            seed=args.seed,
            grid=(-2.0, -1.0, 0.0, 1.0, 2.0),
            **opts,
        )
        edges = choose_edges(sc(tmpl), tmpl)
        inf = TemplateInference(sc, build_templates(tmpl, sc, edges, seed=args.seed))
        return ch.ChallengeSetup(pool=pool, inference=inf, method=args.method)
    base = "parameterised" if args.method == "parameterised-alpha0" else args.method
    if args.toy:
        from rediscovery.higgs.systematics.catalogue import calibrate

        inf = calibrate(base, train, tmpl, seed=args.seed, weight_scale=args.toy, **opts)
        inf = replace(inf, mc_stat=False)
        setup = ch.ChallengeSetup(
            pool=tmpl, inference=inf, lumi_factor=args.toy, pool_seed=args.seed, method=base
        )
    else:
        setup = ch.prepare_setup(train, tmpl, pool, method=base, seed=args.seed, **opts)
    if args.method == "parameterised-alpha0":
        setup = replace(setup, inference=replace(setup.inference, max_iter=1), method=args.method)
    if args.morphing != "code4p":
        inf = replace(setup.inference, shape_interpolation=args.morphing)
        setup = replace(setup, inference=inf)
    if args.pool_mc_stat:  # the pool's own Σw² in the Barlow-Beeston terms
        setup = ch.with_pool_mc_stat(replace(setup, pool_mc_stat=True))
    return setup


def run(args: argparse.Namespace) -> None:
    args.out.mkdir(parents=True, exist_ok=True)
    tag = _tag(args.method, args.morphing, args.control_channel, args.pool_mc_stat)
    path = args.out / f"pseudo_{tag}.csv"
    done = pd.read_csv(path) if path.exists() else pd.DataFrame()
    t0 = time.process_time()
    setup = _setup(args)
    print(f"{args.method}: calibration {time.process_time() - t0:.0f} s CPU", flush=True)
    start = len(done)
    for i in range(start, args.n_pseudo, args.chunk):
        n = min(args.chunk, args.n_pseudo - i)
        seeds = [args.seed * 1_000_003 + k for k in range(i, i + n)]
        rows = [ch.run_pseudo_experiment(setup, s) for s in seeds]
        done = pd.concat([done, pd.DataFrame(rows)], ignore_index=True)
        with atomic_path(path) as tmp:
            done.to_csv(tmp, index=False)
        s = ch.summarise(done)
        print(
            f"{args.method}: {len(done)} done, width {s['syst']['width']:.3f} coverage "
            f"{s['syst']['coverage']:.3f}",
            flush=True,
        )


def table(args: argparse.Namespace) -> None:
    print(
        "| method | N | width w | coverage | pull mean / width | score | w / w_stat | failed "
        "| CPU s / pseudo |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    deciles, split, profiled = [], [], []
    known = [f"pseudo_{_tag(m, c)}.csv" for m in (*METHODS, *VARIANTS) for c in HISTOSYS_CODES]
    found = {p.name for p in args.out.glob("pseudo_*.csv")}
    for name in [k for k in known if k in found] + sorted(found - set(known)):
        path = args.out / name
        m = name.removeprefix("pseudo_").removesuffix(".csv")
        t = pd.read_csv(path)
        s = ch.summarise(t)
        y = s["syst"]
        print(
            f"| {m} | {len(t)} | {y['width']:.3f} ± {y['width_err']:.3f} | "
            f"{y['coverage']:.3f} ± {y['coverage_err']:.3f} | {y['pull_mean']:+.2f} / "
            f"{y['pull_std']:.2f} | {y['score']:.3f} | {s['width_ratio']:.2f} "
            f"(w_stat {s['stat']['width']:.3f}) | {y['n_failed']} | "
            f"{s.get('cpu_s_per_pseudo', math.nan):.2f} |"
        )
        cov = (t["mu_true"] >= t["syst_lo"]) & (t["mu_true"] <= t["syst_hi"])
        parts = []
        for n in NUISANCES:
            v = t[f"true_{n}"]
            for mask in (v <= v.quantile(0.1), v >= v.quantile(0.9)):
                c = float(cov[mask].mean())
                err = math.sqrt(max(c * (1 - c), 1e-12) / max(int(mask.sum()), 1))
                parts.append(f"{c:.2f} ± {err:.2f}")
        deciles.append(f"| {m} | {len(t) // 10} | " + " | ".join(parts) + " |")
        mu, mh = t["mu_true"], t["syst_mu_hat"]
        sig = np.where(mh >= mu, mh - t["syst_lo"], t["syst_hi"] - mh)
        pull = (mh - mu) / np.where(sig > 0, sig, np.nan)
        # profiled minus drawn nuisance (α units) by quintile of the drawn one, and the share
        # of the mean pull a linear fit of the pull on these residuals gives to each
        resid = {
            n: t[f"syst_alpha_{n}"] - FAIR_UNIVERSE_PRIORS[n].alpha(t[f"true_{n}"].clip(lower=1e-9))
            for n in NUISANCES
            if f"syst_alpha_{n}" in t
        }
        ok = np.isfinite(pull) & np.all([np.isfinite(r) for r in resid.values()], axis=0)
        if resid and ok.sum() > 2 * len(resid):
            x = np.column_stack([*(r[ok] for r in resid.values()), np.ones(int(ok.sum()))])
            coef, *_ = np.linalg.lstsq(x, pull[ok], rcond=None)
            for j, (n, r) in enumerate(resid.items()):
                a = FAIR_UNIVERSE_PRIORS[n].alpha(t[f"true_{n}"].clip(lower=1e-9))
                q = pd.Series(pd.qcut(a, 5, labels=False, duplicates="drop"), index=t.index)
                means = " / ".join(f"{r[q == k].mean():+.2f}" for k in sorted(q.dropna().unique()))
                profiled.append(
                    f"| {m} | {n} | {r.mean():+.2f} ± {r.std() / math.sqrt(len(r)):.2f} | "
                    f"{means} | {coef[j] * x[:, j].mean():+.3f} |"
                )
            profiled.append(f"| {m} | (constant) | | | {coef[-1]:+.3f} |")
        a_soft = np.log(t["true_soft_met"].clip(lower=1e-300))
        top = a_soft >= a_soft.quantile(0.9)
        for name, mask in (("< 1", a_soft < 1.0), ("≥ 1", a_soft >= 1.0), ("top 10%", top)):
            c = float(cov[mask].mean())
            err = math.sqrt(max(c * (1 - c), 1e-12) / max(int(mask.sum()), 1))
            split.append(
                f"| {m} | α {name} | {int(mask.sum())} | {np.nanmean(pull[mask]):+.2f} / "
                f"{np.nanstd(pull[mask]):.2f} | {c:.3f} ± {err:.3f} | "
                f"{t['syst_alpha_soft_met'][mask].mean():+.2f} | "
                f"{np.sqrt(np.mean((t['syst_alpha_soft_met'] - a_soft)[mask] ** 2)):.2f} |"
            )
    print("\ncoverage in the bottom / top decile of each true nuisance:\n")
    print(
        "| method | N per decile | " + " | ".join(f"{n} low | {n} high" for n in NUISANCES) + " |"
    )
    print("|---|---|" + "---|" * (2 * len(NUISANCES)))
    for d in deciles:
        print(d)
    print("\nsplit by the drawn soft MET (α = ln(soft_met / 1 GeV), +1σ at α = 1):\n")
    print(
        "| method | drawn soft MET | N | pull mean / width | coverage | mean fitted α "
        "| rms(fitted − drawn α) |"
    )
    print("|---|---|---|---|---|---|---|")
    for d in split:
        print(d)
    print(
        "\nprofiled minus drawn nuisance α, and the mean pull a linear fit of the pull on these "
        "residuals assigns to each:\n"
    )
    print(
        "| method | nuisance | mean α̂ − α | by quintile of the drawn α (lowest → highest) "
        "| share of the mean pull |"
    )
    print("|---|---|---|---|---|")
    for d in profiled:
        print(d)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("what", choices=("run", "table"))
    ap.add_argument("--method", default="nominal", choices=(*METHODS, *VARIANTS))
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--n-pseudo", type=int, default=1000)
    ap.add_argument("--n-train", type=int, default=50000)
    ap.add_argument("--n-templates", type=int, default=200000)
    ap.add_argument("--n-pool", type=int, default=100000)
    ap.add_argument("--pivot-lambda", type=float, default=10.0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--chunk", type=int, default=20)
    ap.add_argument("--toy", type=float, default=None, metavar="LUMI")
    ap.add_argument("--morphing", default="code4p", choices=HISTOSYS_CODES)
    ap.add_argument("--pool-mc-stat", action="store_true",
                    help="add the pool's MC-statistics variance to the fit (template methods)")
    ap.add_argument("--inferno-slopes", default="one-sided", choices=("one-sided", "symmetric"))
    ap.add_argument("--n-estimators", type=int, default=100)
    ap.add_argument("--max-depth", type=int, default=4)
    ap.add_argument("--max-bins", type=int, default=None)
    ap.add_argument("--min-bkg", type=float, default=None)
    ap.add_argument("--control-channel", default=None, metavar="FEATURE[,FEATURE]")
    ap.add_argument("--control-bins", type=int, default=10)
    ap.add_argument("--control-score-bins", type=int, default=1)
    args = ap.parse_args()
    logging.basicConfig(level=logging.ERROR)
    np.seterr(all="ignore")
    (run if args.what == "run" else table)(args)


if __name__ == "__main__":
    main()
