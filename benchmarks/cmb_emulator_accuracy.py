"""Held-out accuracy of the CMB emulator against CAMB, in % and in Planck binned σ.

Usage::

    PYTHONPATH=src python benchmarks/cmb_emulator_accuracy.py --cache CACHE.h5 \
        [--emulator FILE] [--holdout N] [--plot errors.png]

Compares the emulator with the CAMB spectra of the cache's ``test`` group (or, if it is
empty, the last ``--holdout`` spectra of the ``train`` group, which must then have been left
out of the fit, as ``cmb-emulator train --fit-only`` does). Prints the max / 99th percentile /
median over spectra of the max relative error for 30 < ℓ < 2000, and the error binned like
Planck 2018 TT in units of the Planck binned errors (target: < 0.3 % and < 0.1 σ).
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import numpy as np

from rediscovery.cosmo.cmb.emulator import accuracy_report, load_emulator, read_training_set
from rediscovery.cosmo.cmb.io import read_planck_binned
from rediscovery.cosmo.cmb.likelihood import binning_matrix

TT = Path(os.environ.get("REDISCOVERY_REFERENCE_DATA", Path(__file__).resolve().parents[2]
                         / "shared" / "data")) / "planck2018/COM_PowerSpect_CMB-TT-binned_R3.01.txt"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cache", required=True)
    ap.add_argument("--emulator", default=None)
    ap.add_argument("--holdout", type=int, default=100)
    ap.add_argument("--plot", default=None)
    args = ap.parse_args()
    emu = load_emulator(args.emulator)
    te = read_training_set(args.cache, "test")
    if len(te["tt"]) == 0:
        tr = read_training_set(args.cache, "train")
        te = {"params": tr["params"][-args.holdout:], "tt": tr["tt"][-args.holdout:]}
    planck = read_planck_binned(TT)
    bmat = binning_matrix(planck.ell_min, planck.ell_max, emu.ell)
    rep = accuracy_report(emu, te["params"], te["tt"], binned_sigma=(bmat, planck.dl_err))
    rel = emu.predict(te["params"]) / te["tt"] - 1
    print(f"{rep['n_test']} held-out CAMB spectra, {len(emu.x_train_)} training spectra, "
          f"{emu.basis_.shape[0]} PCA components")
    print(f"max |emu/CAMB - 1|, 30<l<2000: max {rep['max_rel_err']:.2e}, 99th pct "
          f"{rep['p99_rel_err']:.2e}, median {rep['median_rel_err']:.2e}, "
          f"rms {rep['rms_rel_err']:.2e}")
    for lo, hi in ((2, 30), (30, 500), (500, 1000), (1000, 2000), (2000, 2509)):
        m = (emu.ell >= lo) & (emu.ell < hi)
        print(f"  l in [{lo}, {hi - 1}]: max {np.abs(rel[:, m]).max():.2e}")
    print(f"binned like Planck TT, |dD_b|/sigma_b: max {rep['max_err_over_sigma']:.3f}, "
          f"99th pct {rep['p99_err_over_sigma']:.3f}")
    if args.plot:
        import matplotlib

        matplotlib.use("Agg")
        from rediscovery.cosmo.cmb.plots import plot_emulator_errors

        ax = plot_emulator_errors(emu.ell, rel)
        ax.figure.savefig(args.plot, dpi=110, bbox_inches="tight")
        print(f"wrote {args.plot}")


if __name__ == "__main__":
    main()
