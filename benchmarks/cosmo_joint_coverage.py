"""Coverage of the joint SN + CMB-spectrum fit of `cosmo run` over many hidden universes.

Run:  PYTHONPATH=src python benchmarks/cosmo_joint_coverage.py --out DIR [--universes 50]
          [--mode hubble|run] [--n-sne 150] [--nside 128] [--n-sims 20] [--steps 4000]
          [--workers 2] [--first-seed 1000]
      PYTHONPATH=src python benchmarks/cosmo_joint_coverage.py --out DIR --summary --toys 3
      PYTHONPATH=src python benchmarks/cosmo_joint_coverage.py --out DIR --map-sims 400 \
          [--first-seed 3000]

Each universe is one seed: the hidden (H0, Ω_m, Ω_Λ) of ``draw_truth(seed)`` drives both
probes. The CMB is the `cosmo run` branch (stages ``tod → map → spectrum`` of
:mod:`rediscovery.cosmo.pipeline_cmb`, run's defaults unless given); the supernovae are

``--mode hubble`` (cheap)
    a Hubble table drawn from the truth (μ ~ N(μ_true, 0.15²),
    :func:`~rediscovery.cosmo.sn.simulate.simulate_hubble_table`), then the joint fit
    (:func:`~rediscovery.cosmo.joint_spectrum.fit_joint_spectrum`) exactly as `cosmo run`'s
    ``joint`` stage;
``--mode run``
    the whole ``cosmo run`` from light curves (SALT2 fits, Tripp, SN-only and CMB-only fits,
    joint), then ``rediscovery unblind`` of the run.

Resumable: each universe writes ``DIR/u<seed>.json`` (``DIR/u<seed>/`` holds its files while it
runs) and a re-run skips the finished ones. Prints, for H0, Ω_m, Ω_Λ, Ω_k of the joint fit, the
fraction of universes whose truth lies in the 68.27 % credible interval (expected 0.683 ±
binomial error), the mean and width of the pulls (expected 0 and 1, pull = (mean − true)/std),
the coverage of the profile-likelihood intervals (``--mode hubble``:
:func:`~rediscovery.cosmo.joint_spectrum.profile_joint`) and how many chains converged
(split-R̂ − 1 < 0.01 and ≥ 50 autocorrelation times; an unconverged chain is extended by half
its length at a time up to ``--max-steps``). ``DIR/spectra/`` keeps each universe's CMB
spectrum, so a re-run with other fit settings (after removing the ``u<seed>.json``) skips
the CMB stages.

``--toys K`` (``--mode hubble``) then asks which input makes a set's coverage: for each
finished universe, K pseudo-experiments fitted by maximum likelihood exactly as the joint
stage's likelihood, with the CMB band powers either drawn around the emulator's binned
spectrum at the truth with the kept spectrum's errors ("ideal") or the kept spectrum itself
("kept"), and the supernovae either a fresh Hubble table ("fresh") or the table the universe
had ("kept"). Printed per variant: the mean and width of the maximum-likelihood pulls
(in units of the universe's posterior σ) and the profile-likelihood coverage (truth within
Δχ² < 1 of the maximum, the other two parameters minimised).

``--map-sims N`` checks the spectrum stage and the joint likelihood without the time-ordered
data: the ``tod`` and ``map`` stages run once (universe ``--first-seed``) for the splits' hit
and white-noise variance maps; then for N universes (seeds from ``--first-seed``) a sky of
the universe's CAMB spectrum (as the ``tod`` stage draws it) plus white noise of those
variances in each split goes through the ``spectrum`` stage's estimator
(:func:`~rediscovery.cosmo.pipeline_cmb.spectrum_of_splits`, its first-pass fiducial and
Monte-Carlo errors included). Prints the mean band pull (D̂_b − D_b,CAMB)/σ_b against the
CAMB spectrum's top-hat band mean, then one maximum-likelihood fit per universe with a fresh
SN table: profile-likelihood coverage and the signed-root profile pull
sign(x̂ − x_true)·√Δχ²(x_true) (mean 0, width 1 expected), for the simulated band powers and
for ideal ones (drawn around the emulator's binned spectrum with the same errors).
Resumable (``DIR/map_sims.jsonl``).
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from scipy.stats import chi2, norm

from rediscovery.core.executor import map_tasks
from rediscovery.core.files import write_json

PARAMS = ("H0", "Om", "OL", "Ok")
#: Probability content of a 68 % (1σ) interval.
P68 = float(norm.cdf(1.0) - norm.cdf(-1.0))
#: Δχ² bounding the 68.27 % region of two parameters (χ² quantile with 2 degrees of freedom).
SN_2D_68 = float(chi2.ppf(P68, 2))
P68_OUT = 1.0 - P68


@dataclass(frozen=True)
class Task:
    seed: int
    out: str
    mode: str
    n_sne: int
    nside: int
    n_sims: int
    steps: int
    max_steps: int


def _truth(seed: int) -> dict[str, float]:
    from rediscovery.cosmo.cosmology import omega_radiation
    from rediscovery.cosmo.sn.simulate import draw_truth

    t = draw_truth(seed)
    return {
        "H0": t.H0,
        "Om": t.Om,
        "OL": t.OL,
        "Ok": 1.0 - t.Om - t.OL - omega_radiation(100.0) / (t.H0 / 100.0) ** 2,
    }


def sn_delta_chi2(seed: int, n_sne: int) -> float:
    """χ²_SN(truth) − min χ²_SN of the universe's ``--mode hubble`` Hubble table, SN only
    (Ω_m, Ω_Λ free, offset marginalised): χ² with 2 degrees of freedom if the table follows
    the likelihood, above 2.30 for 31.7 % of tables. It says how far a universe's supernovae
    happened to scatter from its truth, and so how much of a set's coverage is chance."""
    from scipy.optimize import minimize

    from rediscovery.cosmo.sn.hubble import HubbleLikelihood
    from rediscovery.cosmo.sn.io import HubbleTable
    from rediscovery.cosmo.sn.simulate import draw_truth, simulate_hubble_table

    t = draw_truth(seed)
    table = simulate_hubble_table(n_sne, t, seed=seed)
    like = HubbleLikelihood(HubbleTable.from_frame(table, source=f"universe {seed}"))

    def chi2(x: np.ndarray) -> float:
        return float(like.chi2(np.array([x[0]]), np.array([x[1]]), -1.0)[0])

    true = np.array([t.Om, t.OL])
    best = min(
        (
            minimize(chi2, true + d, method="Nelder-Mead", options={"xatol": 1e-7, "fatol": 1e-9})
            for d in ([0.0, 0.0], [0.2, 0.2], [-0.1, -0.2])
        ),
        key=lambda r: r.fun,
    )
    return chi2(true) - float(best.fun)


def toy_profiles(task: tuple[int, str, dict[str, float], int, int, str, str]) -> np.ndarray:
    """Maximum-likelihood pulls and profile Δχ² at the truth of one universe's pseudo-experiments.

    ``task`` is (seed, kept spectrum path, posterior σ per parameter, n_sne, K, CMB variant
    "ideal" | "kept", SN variant "fresh" | "kept"). Returns (K, 8): the pulls of H0, Om, OL,
    Ok, then the profile Δχ² of each at its true value.
    """
    from dataclasses import replace

    from scipy.optimize import minimize

    from rediscovery.cosmo.cmb.curved import load_curved_emulator
    from rediscovery.cosmo.cmb.io import read_spectrum
    from rediscovery.cosmo.cosmology import omega_radiation
    from rediscovery.cosmo.joint_spectrum import SpectrumSNLikelihood
    from rediscovery.cosmo.pipeline_cmb import CMB_FIXED
    from rediscovery.cosmo.sn.io import HubbleTable
    from rediscovery.cosmo.sn.simulate import draw_truth, simulate_hubble_table

    seed, path, std, n_sne, k, cmb, sn = task
    emu, omr = load_curved_emulator(), omega_radiation(100.0)
    kept = read_spectrum(path)
    t = draw_truth(seed)
    x0 = np.array([t.H0 / 100.0, t.Om, t.OL])
    truth = _truth(seed)
    nm = {"xatol": 1e-6, "fatol": 1e-6, "maxiter": 4000}
    th = None  # the binned theory at the truth ("ideal"): the same for every toy
    # each parameter fixed at its truth, the other two minimised: (h, Om, OL) from y
    fixers = {
        "H0": lambda y: np.array([x0[0], y[0], y[1]]),
        "Om": lambda y: np.array([y[0], x0[1], y[1]]),
        "OL": lambda y: np.array([y[0], y[1], x0[2]]),
        "Ok": lambda y: np.array([y[0], y[1], 1 - y[1] - truth["Ok"] - omr / y[0] ** 2]),
    }
    starts = {"H0": (1, 2), "Om": (0, 2), "OL": (0, 1), "Ok": (0, 1)}
    out = np.zeros((k, 8))
    for j in range(k):
        rng = np.random.default_rng([seed, j, 7])
        sn_seed = seed if sn == "kept" else int(rng.integers(2**31))
        df = simulate_hubble_table(n_sne, t, seed=sn_seed)
        table = HubbleTable.from_frame(df[["sn_id", "z", "mu", "mu_err"]], source=f"toy {seed}")
        spec = kept
        if cmb == "ideal":
            if th is None:
                th = SpectrumSNLikelihood(table, kept, emu, fixed=CMB_FIXED).binned_theory(x0)
            spec = replace(kept, dl=th + rng.normal(0.0, 1.0, th.size) * kept.dl_err_lo)
        lk = SpectrumSNLikelihood(table, spec, emu, fixed=CMB_FIXED)

        def m2ll(x: np.ndarray, lk: SpectrumSNLikelihood = lk) -> float:
            v = float(lk.log_like_many(np.asarray(x, dtype=float)[None, :])[0])
            return -2.0 * v if np.isfinite(v) else 1e30

        best = min(
            (
                minimize(m2ll, x0 + d, method="Nelder-Mead", options=nm)
                for d in (np.zeros(3), np.array([0.02, 0.03, -0.03]))
            ),
            key=lambda r: r.fun,
        )
        xb = best.x
        fit = {
            "H0": 100 * xb[0],
            "Om": xb[1],
            "OL": xb[2],
            "Ok": 1 - xb[1] - xb[2] - omr / xb[0] ** 2,
        }
        for i, p in enumerate(PARAMS):
            out[j, i] = (fit[p] - truth[p]) / std[p]
            f = fixers[p]
            prof = min(
                (
                    minimize(
                        lambda y, f=f: m2ll(f(y)),
                        st[list(starts[p])],
                        method="Nelder-Mead",
                        options=nm,
                    )
                    for st in (x0, xb)
                ),
                key=lambda r: r.fun,
            )
            out[j, 4 + i] = max(prof.fun - best.fun, 0.0)
    return out


def print_toys(rows: list[dict[str, Any]], out: str, n_sne: int, k: int, workers: int) -> None:
    """The ``--toys`` table: which of the CMB spectrum and the SN table makes the coverage."""
    print(
        f"pseudo-experiments ({k} per universe, maximum likelihood): pull mean / width and "
        "profile coverage of H0, Om, OL, Ok"
    )
    for cmb, sn in (("ideal", "fresh"), ("ideal", "kept"), ("kept", "fresh")):
        tasks = [
            (
                r["seed"],
                str(Path(out) / "spectra" / f"u{r['seed']}_spectrum.csv"),
                {p: r[p]["std"] for p in PARAMS},
                n_sne,
                k,
                cmb,
                sn,
            )
            for r in rows
        ]
        res = np.concatenate(
            map_tasks(toy_profiles, tasks, n_workers=workers, desc=cmb + sn, start_method="spawn")
        )
        n = len(res)
        cells = "  ".join(
            f"{p} {res[:, i].mean():+.2f}±{res[:, i].std() / math.sqrt(n):.2f} / "
            f"{res[:, i].std():.2f}, {np.mean(res[:, 4 + i] < 1.0):.2f}"
            for i, p in enumerate(PARAMS)
        )
        print(
            f"  CMB {cmb:5s} SN {sn:5s} ({n:4d}, coverage ± "
            f"{math.sqrt(P68 * (1 - P68) / n):.2f}): {cells}",
            flush=True,
        )


def map_sim(task: tuple[int, str, int, int, str]) -> dict[str, Any]:
    """One universe of ``--map-sims``: (seed, folder of the reference map stage, nside,
    n_sims, folder of the spectra) → the spectrum stage's band powers and errors, also
    written as ``u<seed>_spectrum.csv`` (the stage's contract), and the CAMB top-hat band
    means."""
    from dataclasses import replace

    from rediscovery.cosmo.cmb.curved import CURVED_FIXED
    from rediscovery.cosmo.cmb.io import write_spectrum_csv
    from rediscovery.cosmo.cmb.spectra import read_map_set
    from rediscovery.cosmo.cmb.theory import densities_to_physical
    from rediscovery.cosmo.cmb.tod.sky import gaussian_sky, tt_cl
    from rediscovery.cosmo.pipeline import CosmoRunConfig
    from rediscovery.cosmo.pipeline_cmb import (
        CMB_FIXED,
        MAPS_PIXEL_WINDOW,
        beam_lmax,
        spectrum_of_splits,
    )
    from rediscovery.cosmo.sn.simulate import draw_truth

    seed, ref, nside, n_sims, spectra = task
    cfg = CosmoRunConfig(seed=seed, cmb_nside=nside, cmb_n_sims=n_sims)
    sets = [read_map_set(Path(ref) / k / "map.fits") for k in ("split1", "split2")]
    t = draw_truth(seed)
    cosmology = {
        **densities_to_physical(t.H0 / 100, t.Om, t.OL, ombh2=CURVED_FIXED["ombh2"]),
        **CMB_FIXED,
        "Om": t.Om,
        "OL": t.OL,
    }
    cl = tt_cl(cosmology, 3 * nside - 1)
    fwhm = float(sets[0].info.get("beam_fwhm_arcmin", cfg.cmb_fwhm))
    rng = np.random.default_rng([seed, 0x4D4150])
    _, smooth = gaussian_sky(cl, nside, fwhm, rng)
    noisy = []
    for s in sets:
        obs = s.hits > 0
        m = np.zeros_like(s.map)
        m[obs] = smooth[obs] + rng.normal(0.0, 1.0, int(obs.sum())) * np.sqrt(s.variance[obs])
        noisy.append(replace(s, map=m))
    res, *_ = spectrum_of_splits(
        noisy,
        lmax=cfg.cmb_lmax or beam_lmax(fwhm, nside),
        delta_ell=cfg.cmb_delta_ell,
        apod_deg=cfg.cmb_apod_deg,
        fwhm_arcmin=fwhm,
        n_sims=n_sims,
        seed=seed,
        n_workers=1,
        pixwin=MAPS_PIXEL_WINDOW,
    )
    write_spectrum_csv(res.to_binned_spectrum(), Path(spectra) / f"u{seed}_spectrum.csv")
    ell = np.arange(cl.size)
    d = ell * (ell + 1) * cl / (2 * np.pi)
    lo, hi = np.asarray(res.binning.ell_min), np.asarray(res.binning.ell_max)
    return {
        "seed": seed,
        "ell_min": lo.tolist(),
        "ell_max": hi.tolist(),
        "dl": np.asarray(res.dl).tolist(),
        "dl_err": np.asarray(res.dl_err).tolist(),
        "camb_tophat": [float(d[a : b + 1].mean()) for a, b in zip(lo, hi, strict=True)],
    }


def run_map_sims(a: argparse.Namespace) -> None:
    """``--map-sims``: the spectrum stage and the joint fit on simulated split maps."""
    from rediscovery.cosmo.pipeline import CosmoRunConfig
    from rediscovery.cosmo.pipeline_cmb import CMB_STAGES

    out = Path(a.out)
    ref = out / "reference"
    if not (ref / "map" / "split2" / "map.fits").exists():
        cfg = CosmoRunConfig(seed=a.first_seed, cmb_nside=a.nside, n_workers=1, progress=False)
        for name in ("tod", "map"):
            fn, ins = CMB_STAGES[name]
            (ref / name).mkdir(parents=True, exist_ok=True)
            fn({k: ref / v for k, v in ins.items()}, ref / name, cfg)
        shutil.rmtree(ref / "tod", ignore_errors=True)
    spectra = out / "map_sims_spectra"
    spectra.mkdir(exist_ok=True)
    store = out / "map_sims.jsonl"
    rows = [json.loads(x) for x in store.read_text().splitlines()] if store.exists() else []
    done = {r["seed"] for r in rows}
    todo = [
        (s, str(ref / "map"), a.nside, a.n_sims, str(spectra))
        for s in range(a.first_seed, a.first_seed + a.map_sims)
        if s not in done
    ]
    # spawn: this process ran healpy's OpenMP transforms (the reference maps), after which a
    # forked worker hangs
    for lo in range(0, len(todo), 20):  # written every 20 universes
        new = map_tasks(
            map_sim, todo[lo : lo + 20], n_workers=a.workers, desc="map sims", start_method="spawn"
        )
        with store.open("a") as f:
            f.writelines(json.dumps(r) + "\n" for r in new)
        rows += new
    rows = [r for r in rows if a.first_seed <= r["seed"] < a.first_seed + a.map_sims]
    z = np.array([(np.array(r["dl"]) - r["camb_tophat"]) / np.array(r["dl_err"]) for r in rows])
    n = len(z)
    print(
        f"{n} universes (seeds {a.first_seed}-{a.first_seed + a.map_sims - 1}), simulated "
        f"split maps through the spectrum stage ({a.n_sims} simulations); band pulls "
        "(D̂_b − D_b,CAMB)/σ_b, mean ± error:"
    )
    r0 = rows[0]
    for b in range(z.shape[1]):
        print(
            f"  ℓ {r0['ell_min'][b]:3d}-{r0['ell_max'][b]:3d}: {z[:, b].mean():+.3f} ± "
            f"{z[:, b].std() / math.sqrt(n):.3f}  (width {z[:, b].std():.2f})"
        )
    unit = dict.fromkeys(PARAMS, 1.0)
    print(
        "one fit per universe with a fresh SN table: profile coverage ± error, signed-root "
        "profile pull mean ± error / width, for H0, Om, OL, Ok"
    )
    for label, cmb in (("simulated band powers", "kept"), ("ideal band powers", "ideal")):
        tasks = [
            (r["seed"], str(spectra / f"u{r['seed']}_spectrum.csv"), unit, a.n_sne, 1, cmb, "fresh")
            for r in rows
        ]
        res = np.concatenate(
            map_tasks(toy_profiles, tasks, n_workers=a.workers, desc=cmb, start_method="spawn")
        )
        sr = np.sign(res[:, :4]) * np.sqrt(res[:, 4:])
        cells = "  ".join(
            f"{p} {np.mean(res[:, 4 + i] < 1.0):.3f}, {sr[:, i].mean():+.3f} ± "
            f"{sr[:, i].std() / math.sqrt(n):.3f} / {sr[:, i].std():.2f}"
            for i, p in enumerate(PARAMS)
        )
        print(
            f"  {label:<22} (coverage ± {math.sqrt(P68 * (1 - P68) / n):.3f}): {cells}", flush=True
        )


def _row(name: str, s: dict[str, Any], true: float) -> dict[str, Any]:
    return {
        "true": true,
        "mean": s["mean"],
        "std": s["std"],
        "lo68": s["lo68"],
        "hi68": s["hi68"],
        "covered": bool(s["lo68"] <= true <= s["hi68"]),
        "pull": (s["mean"] - true) / s["std"],
    }


def run_universe(task: Task) -> dict[str, Any]:
    """One hidden universe: simulate, analyse, compare with the truth (a JSON-able dict)."""
    from rediscovery.cosmo.pipeline import CosmoRunConfig, run_pipeline

    done = Path(task.out) / f"u{task.seed}.json"
    if done.exists():
        return json.loads(done.read_text())
    work = Path(task.out) / f"u{task.seed}"
    truth = _truth(task.seed)
    t0 = time.perf_counter()
    cfg = CosmoRunConfig(
        seed=task.seed,
        n_sne=task.n_sne,
        cmb_nside=task.nside,
        cmb_n_sims=task.n_sims,
        joint_steps=task.steps,
        n_workers=1,
        progress=False,
    )
    if task.mode == "run":
        run_pipeline(work, cfg)
        post = json.loads((work / "joint" / "joint_posterior.json").read_text())
    else:
        from rediscovery.cosmo.cmb.io import read_spectrum
        from rediscovery.cosmo.joint_spectrum import fit_joint_spectrum
        from rediscovery.cosmo.pipeline_cmb import CMB_FIXED, CMB_STAGES
        from rediscovery.cosmo.sn.io import HubbleTable
        from rediscovery.cosmo.sn.simulate import draw_truth, simulate_hubble_table

        kept = Path(task.out) / "spectra" / f"u{task.seed}_spectrum.csv"
        if not kept.exists():  # the CMB stages cost ~1 minute: keep their product
            for name in ("tod", "map", "spectrum"):
                fn, ins = CMB_STAGES[name]
                (work / name).mkdir(parents=True, exist_ok=True)
                fn({k: work / v for k, v in ins.items()}, work / name, cfg)
            kept.parent.mkdir(parents=True, exist_ok=True)
            tmp = kept.with_suffix(".tmp")
            shutil.copyfile(work / "spectrum" / "spectrum.csv", tmp)
            tmp.replace(kept)
        df = simulate_hubble_table(task.n_sne, draw_truth(task.seed), seed=task.seed)
        table = HubbleTable.from_frame(
            df[["sn_id", "z", "mu", "mu_err"]], source=f"universe {task.seed}"
        )
        fit = fit_joint_spectrum(
            table,
            read_spectrum(kept),
            fixed=CMB_FIXED,
            seed=task.seed,
            n_steps=task.steps,
            max_steps=task.max_steps,
            progress=False,
        )
        post = fit.result.summary()
        from rediscovery.cosmo.joint_spectrum import profile_joint
        from rediscovery.cosmo.mcmc import interval_summary

        d = fit.derived_density()
        post.update({k: interval_summary(d[k]) for k in ("H0", "Ok")})
        post["profile68"] = {k: v.to_dict() for k, v in profile_joint(fit).items()}
        post["n_steps"] = int(fit.result.chain.shape[0])
    out: dict[str, Any] = {
        "seed": task.seed,
        "mode": task.mode,
        "converged": bool(post.get("converged", False)),
        "rhat_max": max(float(v) for v in (post.get("rhat") or {0: math.nan}).values()),
        "tau_max": max(float(v) for v in (post.get("autocorr_tau") or {0: math.nan}).values()),
        "seconds": time.perf_counter() - t0,
        "n_steps": int(post.get("n_steps", task.steps)),
    }
    for p in PARAMS:
        out[p] = _row(p, post[p], truth[p])
        prof = (post.get("profile68") or {}).get(p)
        if prof is not None:
            out[p]["profile68"] = [prof["lo68"], prof["hi68"]]
            out[p]["profile_covered"] = bool(prof["lo68"] <= truth[p] <= prof["hi68"])
    write_json(done, out)
    shutil.rmtree(work, ignore_errors=True)  # the TOD is ~100 MB per universe
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True, help="folder of the per-universe JSON (resumable)")
    ap.add_argument("--universes", type=int, default=50)
    ap.add_argument("--first-seed", type=int, default=1000)
    ap.add_argument("--mode", default="hubble", choices=["hubble", "run"])
    ap.add_argument("--n-sne", type=int, default=150)
    ap.add_argument("--nside", type=int, default=128)
    ap.add_argument("--n-sims", type=int, default=20)
    ap.add_argument("--steps", type=int, default=4000)
    ap.add_argument(
        "--max-steps",
        type=int,
        default=None,
        help="extend unconverged joint chains up to this many steps (default 3 x --steps)",
    )
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument(
        "--summary",
        action="store_true",
        help="only print the table of the universes finished so far in --out",
    )
    ap.add_argument(
        "--toys",
        type=int,
        default=0,
        help="with --mode hubble: K pseudo-experiments per finished universe (see above)",
    )
    ap.add_argument(
        "--map-sims",
        type=int,
        default=0,
        help="instead: N universes of simulated split maps through the spectrum stage",
    )
    a = ap.parse_args()
    Path(a.out).mkdir(parents=True, exist_ok=True)
    if a.map_sims:
        run_map_sims(a)
        return
    t0 = time.perf_counter()
    if a.summary:
        rows = [json.loads(f.read_text()) for f in sorted(Path(a.out).glob("u*.json"))]
        if not rows:
            raise SystemExit(f"no finished universe in {a.out}")
    else:
        tasks = [
            Task(s, a.out, a.mode, a.n_sne, a.nside, a.n_sims, a.steps, a.max_steps or 3 * a.steps)
            for s in range(a.first_seed, a.first_seed + a.universes)
        ]
        rows = map_tasks(run_universe, tasks, n_workers=a.workers, desc="universes")
    dt = time.perf_counter() - t0
    n = len(rows)
    seeds = sorted(r["seed"] for r in rows)
    conv = sum(r["converged"] for r in rows)
    per = np.mean([r["seconds"] for r in rows])
    print(
        f"{n} universes (seeds {seeds[0]}-{seeds[-1]}), mode={a.mode}, "
        f"{a.n_sne} SNe, CMB nside {a.nside}, {a.n_sims} spectrum simulations, "
        f"{a.steps} joint steps; {dt:.0f} s this call, {per:.0f} s per universe; "
        f"joint chains converged in {conv}/{n} (max split-R̂ − 1 "
        f"{max(r['rhat_max'] for r in rows) - 1:.3f}, max τ "
        f"{max(r['tau_max'] for r in rows):.0f} steps)"
    )
    err = math.sqrt(P68 * (1 - P68) / n)
    print(
        f"{'parameter':<10} {'68% coverage':>16} {'pull mean':>10} {'pull std':>9}"
        f" {'profile-likelihood coverage':>28}"
    )
    for p in PARAMS:
        cov = np.mean([r[p]["covered"] for r in rows])
        pulls = np.array([r[p]["pull"] for r in rows])
        prof = [r[p]["profile_covered"] for r in rows if "profile_covered" in r[p]]
        ptxt = f"{np.mean(prof):.2f} ({len(prof)} universes)" if prof else "not computed"
        print(
            f"{p:<10} {cov:>9.2f} ± {err:.2f} {pulls.mean():>+10.2f} "
            f"{pulls.std(ddof=1):>9.2f} {ptxt:>28}"
        )
    if a.mode == "hubble":
        dchi2 = np.array([sn_delta_chi2(r["seed"], a.n_sne) for r in rows])
        far = dchi2 > SN_2D_68
        print(
            f"SN tables whose truth lies outside their own 68 % (Ω_m, Ω_Λ) region (SN-only "
            f"Δχ² > {SN_2D_68:.2f}): {far.sum()}/{n} = {far.mean():.2f} (expected {P68_OUT:.3f} "
            f"± {math.sqrt(P68_OUT * (1 - P68_OUT) / n):.2f}); coverage of H0, Om, OL, Ok:"
        )
        for label, sel in (("SN inside", ~far), ("SN outside", far)):
            if sel.any():
                sub = [r for r, k in zip(rows, sel, strict=True) if k]
                covs = " ".join(f"{np.mean([r[p]['covered'] for r in sub]):.2f}" for p in PARAMS)
                print(f"  {label:<11} {int(sel.sum()):>3} universes: {covs}")
        if a.toys:
            print_toys(rows, a.out, a.n_sne, a.toys, a.workers)


if __name__ == "__main__":
    main()
