"""The anomaly challenge: every method on a hidden X → ττ, and the bump hunt's false discoveries.

``table`` mode simulates one challenge data set (:func:`rediscovery.anomaly.simulate_challenge`)
and runs every method of :data:`rediscovery.anomaly.METHODS` on it, then prints per method the
AUC and maximum SIC against the hidden truth, the local significance, global p-value and mass
estimate of the bump hunt of its selected events, and its seconds; the idealised (supervised)
detector's AUC and SIC first.

    python benchmarks/anomaly_challenge.py table --strength 1 --mass 500 --seed 1 --csv table.csv

With ``--csv`` each method's row is appended as it finishes and methods already in the file
are skipped (resumable; the idealised detector's row is named ``idealised``).

``false-discovery`` mode simulates ``--pseudo`` signal-free data sets (seeds ``--first-seed``
.. ``--first-seed`` + N - 1) and runs
the bump hunt on each (``--source powerlaw``: smooth m^-4 spectra instead, the calibration of
the test itself); it prints the fraction with global p > 0.05 (with its binomial
standard error) and the local-Z quantiles. Results go to ``--csv`` row by row, and seeds
already there are skipped (resumable).

    python benchmarks/anomaly_challenge.py false-discovery --pseudo 100 --csv fd.csv

``parameterised-null`` runs the parameterised classifier (:class:`rediscovery.anomaly.
ParameterisedMethod`, one signal family simulated once) on ``--pseudo`` signal-free data sets
and prints the mean and width of the signed pulls (observed - expected) / error of its six
hypotheses (calibrated: 0 and 1) and the fraction with global p > 0.05. Rows go to ``--csv``
per data set (resumable).

    python benchmarks/anomaly_challenge.py parameterised-null --lumi-factor 0.03 --pseudo 30

``cathode-diagnose`` runs CATHODE (:func:`rediscovery.anomaly.cathode_scores`, with the SM
reference correcting the flanks) in one fixed window of the ττ mass (``--window``, GeV) around
the hidden X, for each flow setting of ``--flows`` (``MAX_TRAIN:EPOCHS`` pairs), and prints
the X events' AUC among the window's events, the local Z, and the flow's template quality:
the out-of-fold AUC of a classifier of its samples against the window's true SM events (0.5:
the same density).

    python benchmarks/anomaly_challenge.py cathode-diagnose --strength 1 --mass 500 --seed 1

The bump hunt's defaults (fit from 200 GeV, degree 3-6 chosen with a likelihood-ratio test at
p 0.3) were chosen on seeds 1-60 at --lumi-factor 0.03 and 1-24 at 0.25; measure on others
(``--first-seed 101``).
"""

from __future__ import annotations

import argparse
import csv
import time
from pathlib import Path

import numpy as np

from rediscovery.anomaly import (
    METHODS,
    BumpHuntConfig,
    BumpHuntMethod,
    ChallengeConfig,
    ParameterisedMethod,
    bump_hunt,
    idealised_scores,
    score_method,
    sic_curve,
    simulate_challenge,
    simulate_signal_family,
)
from rediscovery.anomaly.methods import limited_threads
from rediscovery.anomaly.supervised import PARAMETERISED_MASSES


def table(args: argparse.Namespace) -> None:
    t0 = time.perf_counter()
    cfg = ChallengeConfig(
        signal=args.signal,
        strength=args.strength,
        mass=args.mass,
        lumi_factor=args.lumi_factor,
        n_reference=args.reference_events,
        seed=args.seed,
    )
    ch = simulate_challenge(cfg)
    s = ch.signal_mask()
    t = ch.truth
    print(
        f"data: {len(ch.data)} events, hidden {t['signal']} at {t['mass']:.0f} GeV, "
        f"{t['n_signal']} signal events (inclusive S/sqrt(B) {t['inclusive_s_over_sqrt_b']:.2f}"
        f"); reference {len(ch.reference)}; simulated in {time.perf_counter() - t0:.0f} s"
    )
    path = Path(args.csv) if args.csv else None
    done: dict[str, dict] = {}
    if path is not None and path.exists():
        with path.open() as fh:
            done = {r["method"]: r for r in csv.DictReader(fh)}
    fields = ["method", "auc", "sic_max", "z_local", "p_global", "mass", "found", "seconds"]

    def emit(row: dict) -> None:
        print(
            f"{row['method']:18s} {float(row['auc']):6.3f} {float(row['sic_max']):7.2f} "
            f"{float(row['z_local']):6.2f} {float(row['p_global']):7.3f} "
            f"{float(row['mass']):6.0f} {row['found']!s:>6s} {float(row['seconds']):6.0f}",
            flush=True,
        )
        if path is not None and row["method"] not in done:
            new = not path.exists()
            with path.open("a", newline="") as fh:
                w = csv.DictWriter(fh, fieldnames=fields)
                if new:
                    w.writeheader()
                w.writerow(row)

    print(
        f"{'method':18s} {'AUC':>6s} {'SICmax':>7s} {'Z_loc':>6s} {'p_glob':>7s} "
        f"{'mass':>6s} {'found':>6s} {'s':>6s}"
    )
    nan = float("nan")
    if "idealised" in done:
        emit(done["idealised"])
    else:
        t1 = time.perf_counter()
        ideal = sic_curve(idealised_scores(ch.data, s), s)
        emit(
            {
                "method": "idealised",
                "auc": ideal.auc,
                "sic_max": ideal.sic_max,
                "z_local": nan,
                "p_global": nan,
                "mass": nan,
                "found": "-",
                "seconds": time.perf_counter() - t1,
            }
        )
    for name in args.methods.split(","):
        if name in done:
            emit(done[name])
            continue
        with limited_threads(1):
            res = METHODS[name]().fit_score(ch.data, ch.reference)
        summary = {**res.summary, "method": name}
        if res.bump is not None:
            summary["bump"] = res.bump.summary()
        row = score_method(res.scores, s, summary, t)
        emit(
            {
                "method": name,
                "auc": row["auc"],
                "sic_max": row["sic_max"],
                "z_local": row.get("z_local", nan),
                "p_global": row.get("p_global", nan),
                "mass": row.get("mass", nan),
                "found": row.get("found", "-"),
                "seconds": row["seconds"],
            }
        )


def _done_seeds(path: Path) -> set[int]:
    """Seeds already in a resumable CSV (empty when it does not exist yet)."""
    if not path.exists():
        return set()
    with path.open() as fh:
        return {int(r["seed"]) for r in csv.DictReader(fh)}


def false_discovery(args: argparse.Namespace) -> None:
    path = Path(args.csv)
    done = _done_seeds(path)
    new = not path.exists()
    with path.open("a", newline="") as fh:
        w = csv.writer(fh)
        if new:
            w.writerow(["seed", "n_events", "z_local", "p_global", "mass"])
        for seed in range(args.first_seed, args.first_seed + args.pseudo):
            if seed in done:
                continue
            if args.source == "powerlaw":
                # a smooth m^-4 spectrum above 150 GeV with the events in range of the
                # simulation (about 19,000 of 103,000 at the default luminosity)
                rng = np.random.default_rng(10_000 + seed)
                m = 150.0 * (1.0 - rng.random(args.powerlaw_events)) ** (-1.0 / 3.0)
                b = bump_hunt(m, BumpHuntConfig(seed=seed))
                n = len(m)
            else:
                cfg = ChallengeConfig(
                    signal="none",
                    lumi_factor=args.lumi_factor,
                    n_reference=100,
                    mmc_points=args.mmc_points,
                    seed=10_000 + seed,
                )
                ch = simulate_challenge(cfg)
                b = BumpHuntMethod(bump=BumpHuntConfig(seed=seed)).fit_score(ch.data, None).bump
                n = len(ch.data)
            w.writerow([seed, n, b.z_local, b.p_global, b.mass])
            fh.flush()
            print(f"seed {seed}: local Z {b.z_local:.2f}, global p {b.p_global:.3f}", flush=True)
    rows = list(csv.DictReader(path.open()))
    p = np.array([float(r["p_global"]) for r in rows])
    z = np.array([float(r["z_local"]) for r in rows])
    frac = (p > 0.05).mean()
    print(
        f"{len(p)} signal-free pseudo-experiments: global p > 0.05 in {frac:.1%} "
        f"(± {np.sqrt(frac * (1 - frac) / len(p)):.1%}); local Z median "
        f"{np.median(z):.2f}, 95th percentile {np.quantile(z, 0.95):.2f}, max {z.max():.2f}"
    )


def parameterised_null(args: argparse.Namespace) -> None:
    path = Path(args.csv)
    done = _done_seeds(path)
    family = None
    for seed in range(args.first_seed, args.first_seed + args.pseudo):
        if seed in done:
            continue
        if family is None:
            family = simulate_signal_family(PARAMETERISED_MASSES, args.signal_events, seed=1)
        ch = simulate_challenge(
            ChallengeConfig(
                signal="none",
                lumi_factor=args.lumi_factor,
                n_reference=args.reference_events,
                seed=20_000 + seed,
            )
        )
        with limited_threads(1):
            res = ParameterisedMethod(
                signal_family=family, seed=seed, bump=BumpHuntConfig(n_toys=0)
            ).fit_score(ch.data, ch.reference)
        new = not path.exists()
        with path.open("a", newline="") as fh:
            w = csv.writer(fh)
            if new:
                w.writerow(["seed", "mass_hypothesis", "observed", "expected", "pull", "p_global"])
            for h in res.summary["hypotheses"]:
                w.writerow(
                    [
                        seed,
                        h["mass_hypothesis"],
                        h["observed"],
                        h["expected"],
                        h["pull"],
                        res.bump.p_global,
                    ]
                )
        print(f"seed {seed}: global p {res.bump.p_global:.3f}", flush=True)
    rows = list(csv.DictReader(path.open()))
    pulls = np.array([float(r["pull"]) for r in rows])
    seeds = np.array([int(r["seed"]) for r in rows])
    hyp = np.array([float(r["mass_hypothesis"]) for r in rows])
    p = {int(r["seed"]): float(r["p_global"]) for r in rows}
    frac = np.mean([v > 0.05 for v in p.values()])
    # the hypotheses of one data set share its data and reference and overlap in mass: their
    # pulls are correlated, so the error of the mean comes from the data sets' mean pulls
    per_set = np.array([pulls[seeds == k].mean() for k in sorted(p)])
    print(
        f"{len(p)} signal-free data sets, {len(pulls)} hypothesis tests: pull mean "
        f"{pulls.mean():+.2f} ± {per_set.std(ddof=1) / np.sqrt(len(per_set)):.2f} (from the "
        f"data sets' mean pulls; ± {pulls.std(ddof=1) / np.sqrt(len(pulls)):.2f} if the "
        f"tests were independent), width {pulls.std(ddof=1):.2f}; global p > 0.05 in {frac:.1%}"
    )
    for h in sorted(set(hyp)):
        ph = pulls[hyp == h]
        print(
            f"  {h:.0f} GeV: pull mean {ph.mean():+.2f} ± {ph.std(ddof=1) / np.sqrt(ph.size):.2f}"
            f", width {ph.std(ddof=1):.2f}"
        )


def cathode_diagnose(args: argparse.Namespace) -> None:
    from sklearn.metrics import roc_auc_score

    from rediscovery.anomaly import FlowSettings, cathode_scores
    from rediscovery.anomaly.cathode import CATHODE_TAUTAU_FEATURES
    from rediscovery.anomaly.overdensity import cwola_region_scores
    from rediscovery.anomaly.windows import flank_mask

    ch = simulate_challenge(
        ChallengeConfig(
            signal="resonance",
            strength=args.strength,
            mass=args.mass,
            lumi_factor=args.lumi_factor,
            n_reference=args.reference_events,
            seed=args.seed,
        )
    )
    y = ch.signal_mask()
    cfg = BumpHuntConfig()
    lo, hi = args.window

    def matrix(df):
        m = df["DER_mass_MMC"].to_numpy(float)
        with np.errstate(invalid="ignore", divide="ignore"):
            x = np.column_stack(
                [
                    df[c].to_numpy(float) / (m if scaled else 1.0)
                    for c, scaled in CATHODE_TAUTAU_FEATURES
                ]
            )
        good = np.isfinite(m) & (m >= cfg.m_min) & (m < cfg.m_max) & np.isfinite(x).all(1)
        return m, x, good

    m, x, good = matrix(ch.data)
    m_ref, x_ref, good_ref = matrix(ch.reference)
    sr = good & (m >= lo) & (m < hi)
    region = np.where(
        good_ref & (m_ref >= lo) & (m_ref < hi),
        1,
        np.where(good_ref & flank_mask(m_ref, lo, hi), 2, 0),
    )
    w_ref = ch.reference["Weight"].to_numpy(float)
    print(
        f"window {lo:.0f}-{hi:.0f} GeV: {int(sr.sum())} events, {int((sr & y).sum())} X events",
        flush=True,
    )
    for spec in args.flows.split(","):
        max_train, epochs = (int(v) for v in spec.split(":"))
        t = time.perf_counter()
        with limited_threads(1):
            out = cathode_scores(
                np.where(np.isfinite(x), x, np.nan),
                m,
                sr,
                good & ~sr,
                flow=FlowSettings(max_train=max_train, epochs=epochs),
                flanks=good & flank_mask(m, lo, hi),
                reference=(np.where(np.isfinite(x_ref), x_ref, np.nan), region, w_ref),
                seed=args.seed,
            )
            z, bkg = out["features"], sr & ~y
            both = np.vstack([out["samples"], z[bkg]])
            is_s = np.r_[np.ones(len(out["samples"]), bool), np.zeros(int(bkg.sum()), bool)]
            tpl = roc_auc_score(is_s, cwola_region_scores(both, is_s, ~is_s, seed=args.seed))
        print(
            f"flow on {max_train} SB events, {epochs} epochs: X AUC in the window "
            f"{roc_auc_score(y[sr], out['scores'][sr]):.3f}, local Z {out['z']:.2f} "
            f"({out['observed']:.0f} selected for {out['expected']:.0f} expected), flow "
            f"samples vs true SM AUC {tpl:.3f}, {time.perf_counter() - t:.0f} s",
            flush=True,
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="mode", required=True)
    a = sub.add_parser("table")
    a.add_argument("--signal", default="resonance")
    a.add_argument("--strength", type=float, default=1.0)
    a.add_argument("--mass", type=float, default=500.0)
    a.add_argument("--seed", type=int, default=1)
    a.add_argument("--lumi-factor", type=float, default=0.25)
    a.add_argument("--reference-events", type=int, default=100_000)
    a.add_argument("--methods", default=",".join(METHODS))
    a.add_argument("--csv", default=None, help="append rows here; skip methods already in it")
    b = sub.add_parser("false-discovery")
    b.add_argument("--pseudo", type=int, default=100)
    b.add_argument("--first-seed", type=int, default=101)
    b.add_argument("--lumi-factor", type=float, default=0.25)
    b.add_argument("--mmc-points", type=int, default=256)
    b.add_argument("--csv", default="anomaly_false_discovery.csv")
    b.add_argument("--source", choices=["simulation", "powerlaw"], default="simulation")
    b.add_argument("--powerlaw-events", type=int, default=25_000)
    c = sub.add_parser("parameterised-null")
    c.add_argument("--pseudo", type=int, default=30)
    c.add_argument("--first-seed", type=int, default=1)
    c.add_argument("--lumi-factor", type=float, default=0.03)
    c.add_argument("--reference-events", type=int, default=20_000)
    c.add_argument("--signal-events", type=int, default=2000)
    c.add_argument("--csv", default="anomaly_parameterised_null.csv")
    d = sub.add_parser("cathode-diagnose")
    d.add_argument("--strength", type=float, default=1.0)
    d.add_argument("--mass", type=float, default=500.0)
    d.add_argument("--seed", type=int, default=1)
    d.add_argument("--lumi-factor", type=float, default=0.25)
    d.add_argument("--reference-events", type=int, default=100_000)
    d.add_argument("--window", type=float, nargs=2, default=(385.0, 615.0))
    d.add_argument("--flows", default="20000:15,200000:30", help="MAX_TRAIN:EPOCHS,...")
    args = ap.parse_args()
    modes = {
        "table": table,
        "false-discovery": false_discovery,
        "cathode-diagnose": cathode_diagnose,
    }
    modes.get(args.mode, parameterised_null)(args)


if __name__ == "__main__":
    main()
