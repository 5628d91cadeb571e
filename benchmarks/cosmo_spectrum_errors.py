"""Are the CMB band-power errors of ``cosmo run`` those of the observed universe?

Run:  PYTHONPATH=src python benchmarks/cosmo_spectrum_errors.py --diagnosis DIR \
          --seeds 1000,1001 --out FILE.jsonl [--n-sims 100]
      PYTHONPATH=src python benchmarks/cosmo_spectrum_errors.py --out FILE.jsonl --summary

``DIR`` is the ``--out`` of ``benchmarks/cosmo_joint_diagnosis.py`` (its ``u<seed>/`` holds the
``tod``, ``map`` and ``spectrum`` stages of one hidden universe, with the hidden ``tod/truth``).
For each universe, with the estimator exactly as the ``spectrum`` stage configures it:

* ``n_sims`` simulations (same noise model: the splits' variances coloured as the data) of the
  hidden input spectrum (σ_truth) and of the fiducial the stage simulated (the first pass's
  best fit, σ_fid), same seeds: σ_fid/σ_truth tests whether the errors follow the universe;
  σ_file/σ_truth compares the errors the joint fit uses (``spectrum.csv``, 20 simulations);
* the same without noise (σ_sig, cosmic variance under the window);
* χ² of the band powers against the hidden spectrum through the band-power window, with
  σ_file and with σ_truth; and χ² of the noise-free hidden sky (``truth_sky.fits``, the
  realisation the telescope saw) with σ_sig: the part of the scatter no pipeline step makes.

With ``--toys N`` (after the rows exist): N pseudo-experiments per universe with band powers
drawn from N(⟨D̂_b⟩ of the hidden spectrum, σ_truth) and a fresh SN table (150 SNe, as
``cosmo_joint_coverage.py --mode hubble``), each fitted as the ``joint`` stage's likelihood
(maximum by ``find_start``, widths from the inverse Hessian): the pulls (estimate − truth)/σ
of (h, Ωm, ΩΛ, Ωk) show the coverage the joint fit would have with exactly right band errors.

Rows are appended to ``FILE.jsonl`` one universe at a time (a re-run skips finished seeds);
toys to ``FILE.toys.jsonl``.
"""

from __future__ import annotations

import argparse
import ast
import json
from pathlib import Path

import numpy as np


def universe(u: Path, seed: int, n_sims: int) -> dict:
    import healpy as hp

    from rediscovery.cosmo.cmb.curved import load_curved_emulator
    from rediscovery.cosmo.cmb.spectra import (
        SimulationSetup,
        noise_colour_from_splits,
        prepare,
        pseudo_alms,
        pseudo_cl,
        read_map_set,
        run_simulations,
        window_from_hits,
    )
    from rediscovery.cosmo.pipeline_cmb import CMB_FIXED

    info = json.loads((u / "spectrum" / "spectrum.json").read_text())
    sets = [read_map_set(u / f"map/split{k}/map.fits") for k in (1, 2)]
    window = window_from_hits([s.hits for s in sets], info["apod_deg"])
    setup = prepare(
        window,
        lmax=info["lmax"],
        delta_ell=info["delta_ell"],
        fwhm_arcmin=info["fwhm_arcmin"],
        pixwin=info["pixwin"],
    )
    lw, lsim = setup.lmax_work, info["lmax_sim"]
    truth = json.loads((u / "tod" / "truth" / "truth.json").read_text())
    cl = np.zeros(lsim + 1)
    c = np.asarray(truth["cl_tt_uK2"])[: lsim + 1]
    cl[: len(c)] = c
    ell = np.arange(lsim + 1)
    dfac = ell * (ell + 1) / (2 * np.pi)
    # the fiducial the stage simulated: the curved emulator at its first-pass best fit
    best = ast.literal_eval(info["fiducial"].split("best fit ")[1].split(" (fixed")[0])
    emu = load_curved_emulator()
    dl = emu({**best, **CMB_FIXED})
    el = np.asarray(emu.ell)
    keep = (el >= 2) & (el <= lsim)
    fid = np.zeros(lsim + 1)
    fid[el[keep]] = dl[keep] / dfac[el[keep]]
    maps, var = [s.map for s in sets], [np.asarray(s.variance, float) for s in sets]

    def bands(ms: list[np.ndarray]) -> np.ndarray:
        return setup.bandpowers(pseudo_cl(pseudo_alms(ms, window, lw, niter=setup.niter)))

    sky = hp.read_map(str(u / "tod" / "truth" / "truth_sky.fits"), field=0)
    colour = noise_colour_from_splits(maps, var, window, lsim, info["delta_ell"])
    sd = {}
    for name, spectrum in (("truth", cl), ("fid", fid)):
        for tag, variances, col in (("", var, colour), ("_sig", [0 * v for v in var], None)):
            sim = SimulationSetup(
                spectrum, setup.transfer[: lsim + 1], window, tuple(variances), lw,
                setup.niter, setup.subtract_mean, col,
            )  # fmt: skip
            raw = run_simulations(sim, n_sims, 1234 + seed, n_workers=1, progress=False)
            sd[name + tag] = setup.bandpowers(raw["total"]).std(axis=0, ddof=1).tolist()
    spec = np.genfromtxt(u / "spectrum" / "spectrum.csv", delimiter=",", names=True)
    return {
        "seed": seed,
        "omk": truth["cosmology"]["omk"],
        "exp_true": setup.expected(dfac * cl).tolist(),
        "exp_fid": setup.expected(dfac * fid).tolist(),
        "d_file": spec["dl"].tolist(),
        "err_file": spec["dl_err"].tolist(),
        "d_sky": bands([sky, sky]).tolist(),
        "n_sims": n_sims,
        **{f"sd_{k}": v for k, v in sd.items()},
    }


def toys(row: dict, u: Path, n: int) -> list[dict]:
    """``n`` joint fits of Gaussian band powers with errors σ_truth and fresh SN tables."""
    import dataclasses

    from rediscovery.cosmo.cmb.curved import load_curved_emulator
    from rediscovery.cosmo.cmb.emulator import OutOfBoxError
    from rediscovery.cosmo.cmb.io import read_spectrum
    from rediscovery.cosmo.cmb.likelihood import find_start
    from rediscovery.cosmo.joint_spectrum import SpectrumSNLikelihood
    from rediscovery.cosmo.pipeline_cmb import CMB_FIXED
    from rediscovery.cosmo.sn.io import HubbleTable
    from rediscovery.cosmo.sn.simulate import draw_truth, simulate_hubble_table

    seed = row["seed"]
    emu = load_curved_emulator()
    t = draw_truth(seed)
    truth = np.array([t.H0 / 100, t.Om, t.OL, 1 - t.Om - t.OL])
    spec = read_spectrum(u / "spectrum" / "spectrum.csv")
    mu, sd = np.asarray(row["exp_true"]), np.asarray(row["sd_truth"])
    rng = np.random.default_rng(seed)
    step = 1e-3 * np.eye(3)
    grad_ok = np.array([0.0, -1.0, -1.0])  # Ωk = 1 − Ωm − ΩΛ
    out = []
    for k in range(n):
        dl = mu + sd * rng.standard_normal(len(mu))
        s = dataclasses.replace(spec, dl=dl, dl_err_lo=sd, dl_err_hi=sd, cov=None)
        df = simulate_hubble_table(150, t, seed=10_000 * seed + k)
        table = HubbleTable.from_frame(df[["sn_id", "z", "mu", "mu_err"]], source="toy")
        lk = SpectrumSNLikelihood(table, s, emu, fixed=CMB_FIXED)
        best = find_start(lk, seed=k)
        x0 = np.array([best[q] for q in lk.free])

        def f(x, lk=lk):
            return -lk.log_like(x)

        try:  # a maximum within a step of the emulator's box: a bounded posterior, skipped
            hess = np.array(
                [
                    [f(x0 + a + b) - f(x0 + a - b) - f(x0 - a + b) + f(x0 - a - b) for b in step]
                    for a in step
                ]
            ) / (4e-6)
            cov = np.linalg.inv(hess)
            sig = np.r_[np.sqrt(np.diag(cov)), np.sqrt(grad_ok @ cov @ grad_ok)]
        except (OutOfBoxError, np.linalg.LinAlgError):
            continue
        est = np.r_[x0, 1 - x0[1] - x0[2]]
        if np.isfinite(sig).all():
            out.append({"seed": seed, "k": k, "omk": float(truth[3]),
                        "pull": ((est - truth) / sig).tolist()})  # fmt: skip
    return out


def toy_summary(rows: list[dict]) -> None:
    print("toys: pulls (estimate − truth)/σ_Laplace of h, Ωm, ΩΛ, Ωk; fraction |pull| < 1")
    for label, sel in (("closed", lambda r: r["omk"] < 0), ("open", lambda r: r["omk"] > 0)):
        p = np.array([r["pull"] for r in rows if sel(r)])
        if len(p):
            print(
                f"{label}: {len(p)} toys of {len({r['seed'] for r in rows if sel(r)})} universes"
                f"  mean {np.round(p.mean(0), 2)}  width {np.round(p.std(0, ddof=1), 2)}"
                f"  68 %: {np.round((np.abs(p) < 1).mean(0), 2)}"
            )


def summary(rows: list[dict]) -> None:
    print(
        "seed    Ωk   χ²(σ_file) χ²(σ_truth) χ²(sky, σ_sig) | σ_fid/σ_truth σ_file/σ_truth "
        "fid/truth σ_sig/σ_truth  (band means)"
    )
    groups: dict[str, list[np.ndarray]] = {"closed (Ωk < 0)": [], "open (Ωk > 0)": []}
    for r in sorted(rows, key=lambda r: r["omk"]):
        a = {k: np.asarray(v) for k, v in r.items() if isinstance(v, list)}
        res = a["d_file"] - a["exp_true"]
        z = np.array(
            [
                res / a["err_file"],
                res / a["sd_truth"],
                (a["d_sky"] - a["exp_true"]) / a["sd_truth_sig"],
            ]
        )
        ratios = [a["sd_fid"] / a["sd_truth"], a["err_file"] / a["sd_truth"]]
        groups["closed (Ωk < 0)" if r["omk"] < 0 else "open (Ωk > 0)"].append(
            np.r_[(z**2).sum(axis=1), [x.mean() for x in ratios], z.shape[1]]
        )
        chi2 = (z**2).sum(axis=1)
        print(
            f"{r['seed']}  {r['omk']:+.2f}  {chi2[0]:8.1f} {chi2[1]:10.1f} {chi2[2]:12.1f}"
            f"   | {ratios[0].mean():10.3f} {ratios[1].mean():13.3f} "
            f"{np.mean(a['exp_fid'] / a['exp_true']):9.3f} "
            f"{np.mean(a['sd_truth_sig'] / a['sd_truth']):9.2f}"
        )
    for g, v in groups.items():
        if v:
            s = np.sum(v, axis=0)
            m = np.mean(v, axis=0)
            print(
                f"{g}: {len(v)} universes, {int(s[5])} bands: χ² {s[0]:.1f} (σ_file), "
                f"{s[1]:.1f} (σ_truth), {s[2]:.1f} (noise-free sky); "
                f"σ_fid/σ_truth {m[3]:.3f}, σ_file/σ_truth {m[4]:.3f}"
            )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", type=Path, required=True, help="rows, one JSON line per universe")
    ap.add_argument("--diagnosis", type=Path, help="--out of cosmo_joint_diagnosis.py")
    ap.add_argument("--seeds", default="")
    ap.add_argument("--n-sims", type=int, default=100)
    ap.add_argument("--summary", action="store_true")
    ap.add_argument("--toys", type=int, default=0, help="pseudo-experiments per universe")
    a = ap.parse_args()
    done = set()
    if a.out.exists():
        done = {json.loads(line)["seed"] for line in a.out.read_text().splitlines() if line}
    if not a.summary:
        for seed in (int(x) for x in a.seeds.split(",") if x):
            if seed in done:
                continue
            row = universe(a.diagnosis / f"u{seed}", seed, a.n_sims)
            with open(a.out, "a") as f:
                f.write(json.dumps(row) + "\n")
            print(f"{seed} done", flush=True)
    rows = [json.loads(line) for line in a.out.read_text().splitlines() if line]
    summary(rows)
    toy_file = a.out.with_suffix(".toys.jsonl")
    if a.toys and not a.summary:
        done = set()
        if toy_file.exists():
            done = {json.loads(x)["seed"] for x in toy_file.read_text().splitlines() if x}
        for row in rows:
            if row["seed"] not in done:
                fits = toys(row, a.diagnosis / f"u{row['seed']}", a.toys)
                with open(toy_file, "a") as f:
                    f.writelines(json.dumps(x) + "\n" for x in fits)
                print(f"{row['seed']}: {len(fits)} toys", flush=True)
    if toy_file.exists():
        toy_summary([json.loads(x) for x in toy_file.read_text().splitlines() if x])


if __name__ == "__main__":
    main()
