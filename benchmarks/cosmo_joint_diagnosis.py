"""Why do the joint SN + CMB-spectrum intervals over-cover? Per-universe checks of the pieces.

Run:  PYTHONPATH=src python benchmarks/cosmo_joint_diagnosis.py --out DIR --seeds 1000,1001
          [--n-sims 20] [--nside 128] [--coverage DIR_OF_COVERAGE_RUN]

For each hidden universe (seed as in ``cosmo_joint_coverage.py --mode hubble``), the CMB branch
of ``cosmo run`` (``tod → map → spectrum``, kept in ``DIR/u<seed>/``; a re-run reuses it) and:

* the band powers against the hidden input spectrum through the band-power window: pulls
  (D̂_b − B D_true)/σ_b (expected mean 0, width 1), χ² with the diagonal errors the joint fit
  uses, and σ_b (Monte-Carlo) over Knox;
* the neighbouring-band correlation of the Monte-Carlo covariance;
* the Laplace widths of the joint likelihood (inverse Hessian at the maximum, in (h, Ω_m,
  Ω_Λ); Ω_k = 1 − Ω_m − Ω_Λ) with the diagonal errors and with the full covariance (Hartlap
  factor (n − p − 2)/(n − 1)), next to the MCMC widths of the coverage run if ``--coverage``
  points at its ``u<seed>.json`` files (same SN table: the study's seeds).

Equal Laplace and MCMC widths mean a Gaussian posterior whose width is the likelihood's own
(no sampler or prior-volume widening); band pulls of width 1 mean the CMB errors are right.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path

import numpy as np


def _laplace(lk) -> np.ndarray:
    """σ of (h, Ω_m, Ω_Λ, Ω_k) from the inverse Hessian of −ln L at its maximum (NaN when the
    maximum is within the finite-difference step of the emulator's box: a bounded posterior)."""
    from rediscovery.cosmo.cmb.emulator import OutOfBoxError

    try:
        return _hessian_widths(lk)
    except OutOfBoxError:
        return np.full(4, np.nan)


def _hessian_widths(lk) -> np.ndarray:
    from rediscovery.cosmo.cmb.likelihood import find_start

    start = find_start(lk, seed=0)
    x0 = np.array([start[k] for k in lk.free])
    step = 1e-3 * np.eye(len(x0))

    def f(x):
        return -lk.log_like(x)

    n = len(x0)
    hess = np.array(
        [
            [
                (
                    f(x0 + step[i] + step[j])
                    - f(x0 + step[i] - step[j])
                    - f(x0 - step[i] + step[j])
                    + f(x0 - step[i] - step[j])
                )
                / (4e-6)
                for j in range(n)
            ]
            for i in range(n)
        ]
    )
    cov = np.linalg.inv(hess)
    g = np.array([0.0, -1.0, -1.0])
    return np.r_[np.sqrt(np.diag(cov)), np.sqrt(g @ cov @ g)]


def universe(seed: int, out: Path, n_sims: int, nside: int, coverage: Path | None) -> dict:
    from rediscovery.cosmo.cmb.curved import load_curved_emulator
    from rediscovery.cosmo.cmb.io import read_spectrum
    from rediscovery.cosmo.joint_spectrum import SpectrumSNLikelihood
    from rediscovery.cosmo.pipeline import CosmoRunConfig
    from rediscovery.cosmo.pipeline_cmb import CMB_FIXED, CMB_STAGES
    from rediscovery.cosmo.sn.io import HubbleTable
    from rediscovery.cosmo.sn.simulate import draw_truth, simulate_hubble_table

    work = out / f"u{seed}"
    cfg = CosmoRunConfig(
        seed=seed, n_sne=150, cmb_nside=nside, cmb_n_sims=n_sims, n_workers=1, progress=False
    )
    for name in ("tod", "map", "spectrum"):
        if (work / name / "stage.done").exists():
            continue
        fn, ins = CMB_STAGES[name]
        (work / name).mkdir(parents=True, exist_ok=True)
        fn({k: work / v for k, v in ins.items()}, work / name, cfg)
        (work / name / "stage.done").write_text("")
    sp = work / "spectrum"
    truth = json.loads((work / "tod" / "truth" / "truth.json").read_text())
    cl = np.asarray(truth["cl_tt_uK2"])
    ell = np.arange(len(cl))
    dl_true = ell * (ell + 1) / (2 * np.pi) * cl
    s = np.genfromtxt(sp / "spectrum.csv", delimiter=",", names=True)
    bands = np.genfromtxt(sp / "bands.csv", delimiter=",", names=True)
    bmat = np.load(sp / "bandpower_window.npy")
    cov = np.load(sp / "covariance.npy")
    z = (s["dl"] - bmat @ dl_true[: bmat.shape[1]]) / s["dl_err"]
    sd = np.sqrt(np.diag(cov))
    t = draw_truth(seed)
    df = simulate_hubble_table(150, t, seed=seed)  # the coverage study's SN table
    table = HubbleTable.from_frame(df[["sn_id", "z", "mu", "mu_err"]], source=f"u{seed}")
    spec = read_spectrum(sp / "spectrum.csv")
    emu = load_curved_emulator()
    hartlap = (n_sims - len(z) - 2) / (n_sims - 1)
    diag = _laplace(SpectrumSNLikelihood(table, spec, emu, fixed=CMB_FIXED))
    full = _laplace(
        SpectrumSNLikelihood(
            table, dataclasses.replace(spec, cov=cov / hartlap), emu, fixed=CMB_FIXED
        )
    )
    d = emu.derived(np.array([[t.H0 / 100, t.Om, t.OL, *(CMB_FIXED[k] for k in emu.names[3:])]]))
    row = {
        "seed": seed,
        "truth_scale": float(d["scale"][0]),
        "z": z.tolist(),
        "chi2_diag": float(z @ z),
        "err_over_knox": float(np.mean(bands["dl_err"] / bands["dl_err_knox"])),
        "neighbour_corr": float(np.mean(np.diag(cov / np.outer(sd, sd), 1))),
        "laplace_diag": diag.tolist(),
        "laplace_cov": full.tolist(),
    }
    cov_file = None if coverage is None else coverage / f"u{seed}.json"
    if cov_file is not None and cov_file.exists():
        c = json.loads(cov_file.read_text())
        row["mcmc"] = [c["H0"]["std"] / 100, c["Om"]["std"], c["OL"]["std"], c["Ok"]["std"]]
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--seeds", default="1000,1001,1002")
    ap.add_argument("--n-sims", type=int, default=20)
    ap.add_argument("--nside", type=int, default=128)
    ap.add_argument("--coverage", type=Path, default=None)
    a = ap.parse_args()
    zs = []
    print(
        "seed  band pulls mean/std  χ²_diag/n  σ_MC/σ_Knox  ρ(b,b+1) | Laplace σ(h, Ωm, ΩΛ, Ωk): "
        "diagonal / full cov | MCMC"
    )
    for seed in (int(x) for x in a.seeds.split(",")):
        r = universe(seed, a.out, a.n_sims, a.nside, a.coverage)
        z = np.asarray(r["z"])
        zs.append(z)
        fmt = " ".join(f"{v:.4f}" for v in r["laplace_diag"])
        fmt2 = " ".join(f"{v:.4f}" for v in r["laplace_cov"])
        mc = " ".join(f"{v:.4f}" for v in r.get("mcmc", []))
        print(
            f"{seed}  {z.mean():+.2f} / {z.std(ddof=1):.2f}   {r['chi2_diag']:5.1f}/{len(z)}   "
            f"{r['err_over_knox']:.2f}   {r['neighbour_corr']:+.2f} | {fmt} / {fmt2} | {mc}"
            f"  (true ℓ_A/ℓ_A,Planck {r['truth_scale']:.3f})",
            flush=True,
        )
    allz = np.concatenate(zs)
    print(
        f"all {len(allz)} bands: pulls mean {allz.mean():+.2f}, std {allz.std(ddof=1):.2f}, "
        f"χ² {float(allz @ allz):.1f}"
    )


if __name__ == "__main__":
    main()
