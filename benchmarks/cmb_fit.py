"""Planck TT fit speed, and inject-and-recover coverage of the CMB likelihood + emulator.

Usage::

    PYTHONPATH=src python benchmarks/cmb_fit.py speed  [--steps 10000] [--walkers 32]
    PYTHONPATH=src python benchmarks/cmb_fit.py inject [--draws 30] [--steps 4000]

``speed``: the Planck 2018 binned TT spectrum, H0, ωb, ωc free (others at the Planck best fit),
emulator theory; prints wall and CPU time, τ, R̂ and whether the package's convergence rule
(N > 50 τ and R̂ − 1 < 0.01) holds. Issue target: converged in < 10 minutes on 2 cores.

``inject``: draws true (H0, ωb, ωc) uniformly from the central half of the emulator box,
simulates a binned spectrum = B·D(θ_true) + Gaussian noise with Planck's binned TT errors,
fits it, and reports per-parameter pulls (median − truth)/σ (expect mean 0, width 1) and the
fraction of 68.27 % central intervals that contain the truth (expect 0.68 ± 0.08 for 30 draws).
"""

from __future__ import annotations

import argparse
import math
import os
import resource
import time
from pathlib import Path

import numpy as np

from rediscovery.cosmo.cmb.emulator import load_emulator
from rediscovery.cosmo.cmb.io import BinnedSpectrum, read_planck_binned
from rediscovery.cosmo.cmb.likelihood import CMBLikelihood, fit_cmb

TT = Path(os.environ.get("REDISCOVERY_REFERENCE_DATA", Path(__file__).resolve().parents[2]
                         / "shared" / "data")) / "planck2018/COM_PowerSpect_CMB-TT-binned_R3.01.txt"
FREE = ["H0", "ombh2", "omch2"]


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def speed(args: argparse.Namespace) -> None:
    emu = load_emulator(args.emulator)
    data = read_planck_binned(TT)
    lk = CMBLikelihood(data, emu, free=FREE)
    t0, c0 = time.perf_counter(), _cpu()
    fit = fit_cmb(lk, seed=args.seed, n_walkers=args.walkers, n_steps=args.steps, progress=True)
    wall, cpu = time.perf_counter() - t0, _cpu() - c0
    res = fit.result
    s = fit.summary()
    for k in FREE:
        print(f"{k:>6s} = {s[k]['median']:.5g} ± {s[k]['std']:.2g}")
    print(f"Ωm = {s['derived']['Om']['median']:.4f} ± {s['derived']['Om']['std']:.4f}")
    print(f"{args.walkers} walkers × {args.steps} steps: wall {wall:.1f} s, CPU {cpu:.1f} s")
    print(f"tau = {np.round(res.autocorr_tau, 1).tolist()}, N/tau_max = "
          f"{args.steps / np.max(res.autocorr_tau):.0f}, max Rhat-1 = {np.max(res.rhat) - 1:.4f}")
    print(f"converged (N > 50 tau and Rhat-1 < 0.01): {res.converged}")


def inject(args: argparse.Namespace) -> None:
    emu = load_emulator(args.emulator)
    planck = read_planck_binned(TT)
    rng = np.random.default_rng(args.seed)
    lo = np.array([emu.box[k][0] for k in FREE])
    hi = np.array([emu.box[k][1] for k in FREE])
    mid, half = (lo + hi) / 2, (hi - lo) / 4
    lk0 = CMBLikelihood(planck, emu, free=FREE)
    pulls, cover = [], []
    level = math.erf(1 / math.sqrt(2))
    t0 = time.perf_counter()
    for i in range(args.draws):
        truth = mid + half * rng.uniform(-1, 1, size=3)
        model = lk0.binned_theory(truth)
        dl = model + planck.dl_err * rng.standard_normal(planck.n_bins)
        sim = BinnedSpectrum(planck.ell_min, planck.ell_max, planck.ell_eff, dl,
                             planck.dl_err_lo, planck.dl_err_hi, None, "TT", "simulated")
        lk = CMBLikelihood(sim, emu, free=FREE)
        # start from the Planck best fit, not from the truth: a short chain started at the
        # truth would pull the estimates towards it and make the pulls too narrow
        fit = fit_cmb(lk, seed=int(rng.integers(2**31)), n_walkers=16, n_steps=args.steps,
                      progress=False)
        s = fit.summary()
        pulls.append([(s[k]["median"] - t) / s[k]["std"] for k, t in zip(FREE, truth,
                                                                         strict=True)])
        cover.append([s[k]["lo68"] <= t <= s[k]["hi68"] for k, t in zip(FREE, truth,
                                                                        strict=True)])
        print(f"draw {i + 1:3d}/{args.draws}: pulls "
              f"{np.round(pulls[-1], 2).tolist()}  ({time.perf_counter() - t0:.0f} s)", flush=True)
    p = np.array(pulls)
    c = np.array(cover, dtype=float)
    n = len(p)
    print(f"\n{n} draws, Planck binned TT errors, free {FREE}")
    for j, k in enumerate(FREE):
        print(f"{k:>6s}: pull mean {p[:, j].mean():+.2f} ± {p[:, j].std(ddof=1) / math.sqrt(n):.2f}"
              f", pull width {p[:, j].std(ddof=1):.2f}, 68% coverage {c[:, j].mean():.2f} "
              f"(expected {level:.2f} ± {math.sqrt(level * (1 - level) / n):.2f})")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("mode", choices=["speed", "inject"])
    ap.add_argument("--emulator", default=None)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--walkers", type=int, default=32)
    ap.add_argument("--steps", type=int, default=None)
    ap.add_argument("--draws", type=int, default=30)
    args = ap.parse_args()
    if args.steps is None:
        args.steps = 10000 if args.mode == "speed" else 4000
    speed(args) if args.mode == "speed" else inject(args)


if __name__ == "__main__":
    main()
