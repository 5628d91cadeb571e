"""Throughput of the DER_ features and of the missing-mass scan.

Usage (from the repository root)::

    PYTHONPATH=src REDISCOVERY_REFERENCE_DATA=../shared/data python benchmarks/features.py

The real HiggsML sample (9,998 events) is tiled to 800k events. Prints events per second of
the 12 closed-form DER_ features (target ≥ 2 M events/s), of a row-by-row Python baseline
(``DataFrame.apply`` with the ``math`` module, on 20k events) and their ratio, then the rate of
the missing-mass likelihood scan at two integration settings.
"""

from __future__ import annotations

import math
import os
import time
from pathlib import Path

import numpy as np
import pandas as pd

from rediscovery.higgs.features import derived_features, missing_mass
from rediscovery.higgs.io import read_events
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
    times = []
    for _ in range(5):
        t = time.perf_counter()
        derived_features(big, mmc=False)
        times.append(time.perf_counter() - t)
    rate = N_EVENTS / min(times)
    print(f"DER_ closed-form (12 features + validation), {N_EVENTS:,} events: "
          f"{min(times) * 1e3:.0f} ms, {rate / 1e6:.2f} M events/s (target >= 2 M/s)")

    n_base = 20_000
    t = time.perf_counter()
    base = pri.iloc[np.resize(np.arange(len(pri)), n_base)].apply(_row_baseline, axis=1)
    t_base = time.perf_counter() - t
    rate_base = n_base / t_base
    ours = derived_features(pri.iloc[np.resize(np.arange(len(pri)), n_base)], mmc=False)
    agree = np.allclose(np.array(base.tolist()), ours.to_numpy(), equal_nan=True, rtol=1e-9)
    print(f"baseline row-by-row DataFrame.apply + math: {rate_base / 1e3:.1f} k events/s; "
          f"speed-up x{rate / rate_base:.0f} (same values: {agree})")

    n_mmc = 4000
    sub = pri.iloc[:n_mmc]
    missing_mass(sub.iloc[:300], n_points=64)  # build the decay-angle tables once
    for n_points in (1024, 128):
        t = time.perf_counter()
        missing_mass(sub, n_points=n_points)
        dt = time.perf_counter() - t
        print(f"missing-mass scan, {n_points} points x up to 2 configurations/event: "
              f"{n_mmc / dt:,.0f} events/s ({n_mmc:,} events, {dt:.1f} s)")


if __name__ == "__main__":
    main()
