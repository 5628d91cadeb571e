"""Throughput of the DER_ features and of the missing-mass scan.

Usage (from the repository root)::

    PYTHONPATH=src REDISCOVERY_REFERENCE_DATA=../shared/data python benchmarks/features.py

The real HiggsML sample (9,998 events) is tiled to 800k events. Prints events per second of
the 12 closed-form DER_ features (target ≥ 2 M events/s), of a row-by-row Python baseline
(``DataFrame.apply`` with the ``math`` module, on 20k events) and their ratio, then the rate of
the missing-mass likelihood scan at two integration settings, and finally the scan's accuracy
against the official DER_mass_MMC of the real sample (signal peak, width, undefined fraction).
"""

from __future__ import annotations

import math
import os
import time
from pathlib import Path

import numpy as np
import pandas as pd

from rediscovery.higgs.events.io import read_events
from rediscovery.higgs.features.derived import derived_features, missing_mass
from rediscovery.higgs.schema import PRI_COLUMNS

N_EVENTS = 800_000


def _row_baseline(r: pd.Series) -> tuple[float, ...]:
    """Straightforward per-event implementation of the same formulas (the baseline)."""
    nj = r.PRI_jet_num
    mt = math.sqrt(max(2 * r.PRI_met * r.PRI_lep_pt
                       * (1 - math.cos(r.PRI_met_phi - r.PRI_lep_phi)), 0))
    mvis = math.sqrt(max(2 * r.PRI_tau_pt * r.PRI_lep_pt * (
        math.cosh(r.PRI_tau_eta - r.PRI_lep_eta) - math.cos(r.PRI_tau_phi - r.PRI_lep_phi)), 0))
    hx = (r.PRI_tau_pt * math.cos(r.PRI_tau_phi) + r.PRI_lep_pt * math.cos(r.PRI_lep_phi)
          + r.PRI_met * math.cos(r.PRI_met_phi))
    hy = (r.PRI_tau_pt * math.sin(r.PRI_tau_phi) + r.PRI_lep_pt * math.sin(r.PRI_lep_phi)
          + r.PRI_met * math.sin(r.PRI_met_phi))
    pth = math.hypot(hx, hy)
    if nj >= 2:
        deta = abs(r.PRI_jet_leading_eta - r.PRI_jet_subleading_eta)
        mjj = math.sqrt(max(2 * r.PRI_jet_leading_pt * r.PRI_jet_subleading_pt * (
            math.cosh(deta) - math.cos(r.PRI_jet_leading_phi - r.PRI_jet_subleading_phi)), 0))
        prod = r.PRI_jet_leading_eta * r.PRI_jet_subleading_eta
        cent = math.exp(-4 / deta**2 * (r.PRI_lep_eta - 0.5 * (
            r.PRI_jet_leading_eta + r.PRI_jet_subleading_eta)) ** 2) if deta > 0 else math.nan
    else:
        deta = mjj = prod = cent = math.nan
    dphi = (r.PRI_tau_phi - r.PRI_lep_phi + math.pi) % (2 * math.pi) - math.pi
    dr = math.hypot(r.PRI_tau_eta - r.PRI_lep_eta, dphi)
    tx, ty = hx, hy
    if nj >= 1:
        tx += r.PRI_jet_leading_pt * math.cos(r.PRI_jet_leading_phi)
        ty += r.PRI_jet_leading_pt * math.sin(r.PRI_jet_leading_phi)
    if nj >= 2:
        tx += r.PRI_jet_subleading_pt * math.cos(r.PRI_jet_subleading_phi)
        ty += r.PRI_jet_subleading_pt * math.sin(r.PRI_jet_subleading_phi)
    sgn = -1.0 if math.sin(r.PRI_tau_phi - r.PRI_lep_phi) < 0 else 1.0
    a = math.sin(r.PRI_met_phi - r.PRI_lep_phi) * sgn
    b = math.sin(r.PRI_tau_phi - r.PRI_met_phi) * sgn
    c = (a + b) / math.sqrt(a * a + b * b) if a or b else math.nan
    return (mt, mvis, pth, deta, mjj, prod, dr, math.hypot(tx, ty),
            r.PRI_tau_pt + r.PRI_lep_pt + r.PRI_jet_all_pt, r.PRI_lep_pt / r.PRI_tau_pt, c, cent)


def main() -> None:
    folder = Path(os.environ.get("REDISCOVERY_REFERENCE_DATA", "../shared/data")) / "higgsml"
    real = pd.concat([read_events(folder / "train_sml_sig.csv"),
                      read_events(folder / "train_sml_bg.csv")], ignore_index=True)
    pri = real[list(PRI_COLUMNS)]
    big = pri.iloc[np.resize(np.arange(len(pri)), N_EVENTS)].reset_index(drop=True)

    derived_features(big.iloc[:1000], mmc=False)  # warm-up
    times, cpu = [], []
    for _ in range(5):
        t, c = time.perf_counter(), time.process_time()
        derived_features(big, mmc=False)
        times.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
    rate = N_EVENTS / min(times)
    # the CPU-time rate is what an unshared core delivers (single-threaded NumPy code)
    print(f"DER_ closed-form (12 features + validation), {N_EVENTS:,} events: "
          f"wall {min(times) * 1e3:.0f} ms = {rate / 1e6:.2f} M events/s, "
          f"CPU {min(cpu) * 1e3:.0f} ms"
          f" = {N_EVENTS / min(cpu) / 1e6:.2f} M events/s (target >= 2 M/s)")

    n_base = 20_000
    t = time.perf_counter()
    base = pri.iloc[np.resize(np.arange(len(pri)), n_base)].apply(_row_baseline, axis=1)
    t_base = time.perf_counter() - t
    rate_base = n_base / t_base
    ours = derived_features(pri.iloc[np.resize(np.arange(len(pri)), n_base)], mmc=False)
    agree = np.allclose(np.array(base.tolist()), ours.to_numpy(), equal_nan=True, rtol=1e-9,
                        atol=1e-5)
    print(f"baseline row-by-row DataFrame.apply + math: {rate_base / 1e3:.1f} k events/s; "
          f"speed-up x{rate / rate_base:.0f} (same values: {agree})")

    n_mmc = 4000
    sub = pri.iloc[:n_mmc]
    missing_mass(sub.iloc[:300], n_points=64)  # build the decay-angle tables once
    for n_points in (1024, 128):
        t, c = time.perf_counter(), time.process_time()
        missing_mass(sub, n_points=n_points)
        dt, dc = time.perf_counter() - t, time.process_time() - c
        print(f"missing-mass scan, {n_points} points x up to 2 configurations/event: wall "
              f"{n_mmc / dt:,.0f} events/s, CPU {n_mmc / dc:,.0f} events/s ({n_mmc:,} events)")

    # accuracy of the scan against the official DER_mass_MMC (the ATLAS MMC) on all 9,998 events
    ours = missing_mass(real)
    off = real["DER_mass_MMC"].to_numpy()
    sig = (real["Label"] == 1).to_numpy()
    both = np.isfinite(ours) & np.isfinite(off)
    print("missing mass vs official DER_mass_MMC (real sample, 1024 points):")
    for name, sel in (("signal", sig), ("background", ~sig)):
        for who, m in (("ours", ours), ("official", off)):
            v = m[sel]
            f = v[np.isfinite(v)]
            h, e = np.histogram(f, bins=np.arange(0, 300, 5))
            mode = e[np.argmax(np.convolve(h, np.ones(3), "same"))] + 2.5
            q16, q50, q84 = np.percentile(f, [16, 50, 84])
            print(f"  {name:10s} {who:8s} mode {mode:6.1f} GeV  median {q50:6.1f} GeV  "
                  f"68% half-width {(q84 - q16) / 2:5.1f} GeV  undefined {np.isnan(v).mean():.3f}")
        c = np.corrcoef(ours[both & sel], off[both & sel])[0, 1]
        print(f"  {name:10s} correlation with official: {c:.3f}")
    print(f"  all: correlation {np.corrcoef(ours[both], off[both])[0, 1]:.3f}, undefined ours "
          f"{np.isnan(ours).mean():.3f} official {np.isnan(off).mean():.3f}")


if __name__ == "__main__":
    main()
