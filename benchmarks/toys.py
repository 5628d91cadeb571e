"""Benchmark: fits per second of the iminuit back-end, and the pyhf/minuit time ratio.

Model: 20 bins of a fixed score function (signal scores ~ Beta(5, 2), background ~ Beta(2, 5);
s ≈ 700 and b ≈ 400,000 expected events, HiggsML-like), three background processes with
MC-statistics uncertainties (Barlow–Beeston-lite γ per bin) and 5 nuisance parameters
(3 normalisations, 2 shape systematics). A "fit" is one global maximum-likelihood fit of a
Poisson pseudo-data set (Migrad to convergence); "fit+interval" adds the MINOS 68.27% interval
and the background-only fit for q0, i.e. what a pseudo-experiment costs.

Run:  PYTHONPATH=src python benchmarks/toys.py [--n-fits 2000] [--workers 2]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from rediscovery.core.executor import map_tasks
from rediscovery.higgs.stats import (
    BinnedModel,
    HistoSys,
    NormSys,
    choose_binning,
    fit,
    interval,
    mle,
    significance,
)
from rediscovery.higgs.stats.toys import generate_toy


def benchmark_model(seed: int = 1, n_bins: int = 20) -> BinnedModel:
    """The 20-bin, 5-nuisance model used by the benchmark and the slow toy tests."""
    rng = np.random.default_rng(seed)
    n_s, n_b = 50_000, 300_000
    ss, bs = rng.beta(5, 2, n_s), rng.beta(2, 5, n_b)
    sw, bw = np.full(n_s, 700.0 / n_s), np.full(n_b, 400_000.0 / n_b)
    proc = rng.choice(3, size=n_b, p=[0.6, 0.3, 0.1])
    binning = choose_binning(ss, sw, bs, bw, min_bkg=200.0, max_bins=n_bins)
    e = binning.edges
    sig = np.histogram(ss, e, weights=sw)[0]
    names = ["ztautau", "ttbar", "wjets"]
    bkg = {n: np.histogram(bs[proc == i], e, weights=bw[proc == i])[0]
           for i, n in enumerate(names)}
    bkg2 = {n: np.histogram(bs[proc == i], e, weights=bw[proc == i] ** 2)[0]
            for i, n in enumerate(names)}
    x = np.linspace(-1, 1, sig.size)
    syst = [
        NormSys("ttbar_xsec", {"ttbar": (0.98, 1.02)}),
        NormSys("wjets_xsec", {"wjets": (0.75, 1.25)}),
        NormSys("lumi", {"signal": (0.98, 1.02), "ztautau": (0.98, 1.02)}),
        HistoSys("tes", {"ztautau": (bkg["ztautau"] * (1 - 0.03 * x),
                                     bkg["ztautau"] * (1 + 0.03 * x)),
                         "signal": (sig * (1 - 0.02 * x), sig * (1 + 0.02 * x))}),
        HistoSys("jes", {"ttbar": (bkg["ttbar"] * (1 + 0.02 * x), bkg["ttbar"] * (1 - 0.02 * x))}),
    ]
    return BinnedModel(sig, bkg, signal_sumw2=np.histogram(ss, e, weights=sw**2)[0],
                       background_sumw2=bkg2, systematics=syst, edges=e)


def _fit_chunk(task: tuple[BinnedModel, list[np.random.SeedSequence], str, bool]) -> float:
    model, seeds, backend, full = task
    t0 = time.perf_counter()
    for ss in seeds:
        counts, ag, aa = generate_toy(model, 1.0, np.random.default_rng(ss))
        best = mle(model, counts, backend, aux_gamma=ag, aux_alpha=aa, errors=False)
        if full:
            interval(model, counts, stat_only=False, mle_result=best)
            significance(model, counts, expected=False, mle_result=best)
    return time.perf_counter() - t0


def _rate(model: BinnedModel, n: int, backend: str, full: bool, workers: int) -> float:
    seeds = np.random.SeedSequence(7).spawn(n)
    chunk = max(1, n // (4 * workers))
    tasks = [(model, seeds[i:i + chunk], backend, full) for i in range(0, n, chunk)]
    t0 = time.perf_counter()
    map_tasks(_fit_chunk, tasks, n_workers=workers, progress=False)
    return n / (time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n-fits", type=int, default=2000)
    ap.add_argument("--n-pyhf", type=int, default=20)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--agreement", action="store_true",
                    help="also fit one pseudo-data set with both back-ends and print the "
                         "relative differences (slow: the pyhf interval takes a minute)")
    ap.add_argument("--ensembles", type=int, default=0, metavar="N",
                    help="also run N toys at mu = 1 (coverage, pulls) and N at mu = 0 "
                         "(q0 tails vs the asymptotic half-chi2 law) and print the summaries")
    args = ap.parse_args()
    model = benchmark_model()
    print(f"model: {model.n_bins} bins, {len(model.alpha_names)} nuisance parameters + "
          f"{model.n_bins} MC-stat gammas, s = {model.signal.sum():.1f}, "
          f"b = {model.background_total.sum():.0f}")
    _rate(model, 20, "minuit", False, 1)  # warm-up (imports)
    c0 = time.process_time()
    r1 = _rate(model, args.n_fits // 4, "minuit", False, 1)
    cpu_ms = (time.process_time() - c0) / (args.n_fits // 4) * 1e3
    r2 = _rate(model, args.n_fits, "minuit", False, args.workers)
    r3 = _rate(model, args.n_fits // 4, "minuit", True, args.workers)
    print(f"minuit fits/s, 1 process              : {r1:8.1f}   "
          f"(CPU time per fit {cpu_ms:.2f} ms -> {2000 / cpu_ms:.0f} fits/s on 2 idle cores)")
    print(f"minuit fits/s, {args.workers} processes            : {r2:8.1f}   (target >= 500)")
    print(f"minuit fit+MINOS+q0 per s, {args.workers} processes: {r3:8.1f}")
    _rate(model, 2, "pyhf", False, 1)
    rp = _rate(model, args.n_pyhf, "pyhf", False, 1)
    print(f"pyhf fits/s, 1 process                : {rp:8.2f}")
    print(f"time ratio pyhf / minuit (1 process)  : {r1 / rp:8.1f}")
    if args.ensembles:
        from rediscovery.higgs.stats.toys import run_toys

        for mu_true in (1.0, 0.0):
            t0 = time.perf_counter()
            toys = run_toys(model, mu_true, args.ensembles, seed=2026, n_workers=args.workers,
                            progress=False)
            summ = toys.summary()
            print(f"toys at mu = {mu_true:g} ({time.perf_counter() - t0:.0f} s):")
            for key, val in summ.items():
                print(f"  {key:18s}: {val}")
    if args.agreement:
        counts, _, _ = generate_toy(model, 1.0, np.random.default_rng(42))
        res = {}
        for be in ("minuit", "pyhf"):
            t0 = time.perf_counter()
            res[be] = fit(model, counts, be, impacts=False)
            print(f"{be:6s}: mu = {res[be].mu_hat:.6f} [{res[be].mu_lo:.6f}, "
                  f"{res[be].mu_hi:.6f}]  Z_obs = {res[be].z_discovery:.5f}  "
                  f"Z_exp = {res[be].z_expected:.5f}  CLs95 = {res[be].cls_upper_limit:.5f}"
                  f"  ({time.perf_counter() - t0:.1f} s)")
        for key in ("mu_hat", "mu_lo", "mu_hi", "z_discovery", "z_expected",
                    "cls_upper_limit"):
            a, b = getattr(res["minuit"], key), getattr(res["pyhf"], key)
            print(f"  relative difference {key:16s}: {abs(a - b) / abs(b):.2e}")


if __name__ == "__main__":
    main()
