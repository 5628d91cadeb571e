"""CAMB vs emulator: time per D_ℓ^TT spectrum (ℓ = 2 … 2508) and the speed-up.

Usage::

    PYTHONPATH=src python benchmarks/cmb_theory.py [--camb-calls 3] [--emulator FILE]

Prints the CAMB time per spectrum (the package's accuracy settings, see
``rediscovery.cosmo.cmb.theory.CAMB_ACCURACY``), the emulator time for one spectrum and per
spectrum in a batch of 32 (one MCMC step of 32 walkers), the ratios, and the emulator's
largest relative difference from CAMB at the points timed (30 < ℓ < 2000).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from threadpoolctl import threadpool_limits

from rediscovery.cosmo.cmb.emulator import latin_hypercube, load_emulator
from rediscovery.cosmo.cmb.theory import camb_spectra


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--camb-calls", type=int, default=3)
    ap.add_argument("--emulator", default=None)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    emu = load_emulator(args.emulator)
    x = latin_hypercube(emu.box, max(32, args.camb_calls), seed=args.seed)
    m = (emu.ell > 30) & (emu.ell < 2000)

    camb_times, errs = [], []
    for row in x[: args.camb_calls]:
        p = dict(zip(emu.names, row, strict=True))
        t0 = time.perf_counter()
        ref = camb_spectra(p, lmax=emu.lmax).tt
        camb_times.append(time.perf_counter() - t0)
        errs.append(np.max(np.abs(emu(p)[m] / ref[m] - 1)))
    t_camb = float(np.median(camb_times))

    with threadpool_limits(limits=1):
        emu.predict(x[:1])  # warm-up
        n_rep = 200
        t0 = time.perf_counter()
        for i in range(n_rep):
            emu.predict(x[i % len(x)][None, :])
        t_one = (time.perf_counter() - t0) / n_rep
        t0 = time.perf_counter()
        for _ in range(n_rep // 4):
            emu.predict(x[:32])
        t_batch = (time.perf_counter() - t0) / (n_rep // 4) / 32

    print(f"CAMB (lmax {emu.lmax}, {args.camb_calls} calls)   : {1e3 * t_camb:9.1f} ms / spectrum")
    print(f"emulator, one spectrum          : {1e3 * t_one:9.3f} ms / spectrum "
          f"(speed-up x{t_camb / t_one:,.0f})")
    print(f"emulator, batch of 32           : {1e3 * t_batch:9.3f} ms / spectrum "
          f"(speed-up x{t_camb / t_batch:,.0f})")
    print(f"max |emulator/CAMB - 1|, 30<l<2000, at these {len(errs)} points: {max(errs):.2e}")
    held = emu.metadata.get("held_out")
    if held:
        print(f"held-out accuracy in the emulator file ({held['n_test']} CAMB spectra): "
              f"max {held['max_rel_err']:.2e}, 99th pct {held['p99_rel_err']:.2e}")


if __name__ == "__main__":
    main()
