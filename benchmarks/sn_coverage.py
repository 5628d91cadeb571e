"""Inject-and-recover coverage of the SN cosmology fit over many hidden universes.

Run:  PYTHONPATH=src python benchmarks/sn_coverage.py [--universes 50]
          [--mode hubble|salt2|lightcurves]
          [--model lcdm] [--n-sne 300] [--steps 2000] [--workers 2] [--out coverage.json]
          [--cache DIR] [--no-ab-cov] [--true-standardisation] [--hierarchical | --grid]
      PYTHONPATH=src python benchmarks/sn_coverage.py --pool STUDY.json [STUDY.json ...]

Prints, for Ω_m, Ω_Λ and H0 (calibrated M), the fraction of universes whose truth lies in the
68.27% credible interval (expected 0.683 ± binomial error) and the mean and width of the pulls
(expected 0 and 1), plus the wall time; for the cosmological parameters also the coverage of
the profile-likelihood 68% intervals (``rediscovery.cosmo.profile``), which do not depend on
the flat prior's extent. ``--mode hubble`` draws Hubble tables directly from the
truth (tests the cosmology fit); ``--mode lightcurves`` runs the full chain (SALT2 light curves,
SALT2 fits, Tripp fit, cosmology fit; the Hubble covariance includes the shared (α, β) error
unless ``--no-ab-cov``); ``--mode salt2`` draws the SALT2 fit results directly with
realistic errors (no light curves: seconds per universe). In lightcurves mode the SALT2 fits
dominate the cost (~1 min per universe of 100 SNe per worker on the loaded machine):
``--cache DIR`` keeps each universe's fits and true parameters as Parquet, so an interrupted
study resumes and a rerun with other fit settings reuses them.
``--grid`` replaces the Hubble table's MCMC by its exact posterior on a grid (a check of the
sampler, and seconds per universe, so hundreds of universes are cheap).
``--hierarchical`` samples α, β, σ_int and the x1, c population widths with the cosmology
(the SN-only fit of ``cosmo run``) instead of fitting the standardised Hubble table.
It also prints the MCMC convergence (split-R̂ < 1.01 and more than 50 τ steps; the largest
R̂ and τ over the universes) and the pulls of the Tripp α and β.
``--pool`` prints the same table for the universes of several ``--out`` files together (studies
of one mode, model and size, e.g. several ``--seed`` values).
"""

from __future__ import annotations

import argparse
import json
import time

from rediscovery.core.errors import ConfigError
from rediscovery.core.files import write_json
from rediscovery.cosmo.sn.validation import coverage_study, summarise_universes


def _pool(paths: list[str]) -> tuple[dict, str]:
    """The summary of the universes of several study files, and a line naming them."""
    studies = [json.loads(open(p, encoding="utf-8").read()) for p in paths]
    keys = {(s["mode"], s["model"], s["n_sne"]) for s in studies}
    if len(keys) != 1:
        raise ConfigError(f"--pool: the studies differ in (mode, model, n_sne): {sorted(keys)}")
    mode, model, n_sne = keys.pop()
    rows = [u for s in studies for u in s["universes"]]
    seeds = [u["seed"] for u in rows]
    if len(set(seeds)) != len(seeds):
        raise ConfigError("--pool: some universes appear in more than one file")
    res = summarise_universes(rows, mode=mode, model=model, n_sne=n_sne)
    return res, (f"{len(rows)} universes pooled from {len(paths)} studies, mode={mode}, "
                 f"model={model}, {n_sne} SNe each; MCMC converged in "
                 f"{res['n_converged']}/{len(rows)} (largest split-Rhat {res['rhat_max']:.4f}, "
                 f"largest tau {res['tau_max']:.0f} steps)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--universes", type=int, default=50)
    ap.add_argument("--mode", default="hubble", choices=["hubble", "salt2", "lightcurves"])
    ap.add_argument("--model", default="lcdm")
    ap.add_argument("--n-sne", type=int, default=300)
    ap.add_argument("--steps", type=int, default=2000)
    ap.add_argument("--walkers", type=int, default=16)
    ap.add_argument("--workers", type=int, default=None)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=None, help="write the full study as JSON")
    ap.add_argument("--cache", default=None,
                    help="folder keeping each universe's SALT2 fits (lightcurves mode): a "
                         "rerun, or an interrupted run, reuses them")
    ap.add_argument("--no-ab-cov", action="store_true",
                    help="leave the (alpha, beta) covariance out of the Hubble covariance "
                         "(diagonal errors only, for comparison)")
    ap.add_argument("--true-standardisation", action="store_true",
                    help="diagnostic: standardise with the simulator's alpha, beta, sigma_int "
                         "instead of the Tripp fit's")
    ap.add_argument("--hierarchical", action="store_true",
                    help="sample the standardisation with the cosmology (lightcurves mode)")
    ap.add_argument("--grid", action="store_true",
                    help="evaluate the Hubble table's posterior exactly on a grid instead of "
                         "the MCMC (flat-lcdm, lcdm; seconds per universe)")
    ap.add_argument("--pool", nargs="+", default=None, metavar="STUDY.json",
                    help="print the table of the universes of these --out files together")
    a = ap.parse_args()
    if a.pool:
        res, head = _pool(a.pool)
        print(head)
        _print_table(res)
        return
    t0 = time.perf_counter()
    res = coverage_study(a.universes, seed=a.seed, mode=a.mode, model=a.model, n_sne=a.n_sne,
                         n_steps=a.steps, n_walkers=a.walkers, n_workers=a.workers,
                         cache=a.cache, ab_covariance=not a.no_ab_cov,
                         true_standardisation=a.true_standardisation,
                         hierarchical=a.hierarchical, grid=a.grid)
    dt = time.perf_counter() - t0
    fit = "hierarchical" if a.hierarchical else "Hubble table, grid" if a.grid else "Hubble table"
    print(f"{a.universes} universes, mode={a.mode} ({fit}), model={a.model}, {a.n_sne} SNe each, "
          f"{dt:.0f} s ({dt / a.universes:.1f} s per universe); "
          f"MCMC converged in {res['n_converged']}/{a.universes} (largest split-Rhat "
          f"{res['rhat_max']:.4f}, largest tau {res['tau_max']:.0f} steps)")
    _print_table(res)
    if a.out:
        write_json(a.out, res)


def _print_table(res: dict) -> None:
    prof = res.get("profile_coverage", {})
    print(f"{'parameter':<18} {'68% coverage':>14} {'pull mean':>10} {'pull std':>9} "
          f"{'profile-likelihood coverage':>28}")
    for p, c in res["coverage"].items():
        pc = (f"{prof[p]:>20.2f} ± {res['profile_coverage_err'][p]:.2f}" if p in prof
              else "")
        print(f"{p:<18} {c:>8.2f} ± {res['coverage_err'][p]:.2f} "
              f"{res['pull_mean'][p]:>10.2f} {res['pull_std'][p]:>9.2f} {pc}")
    for p in ("alpha", "beta"):
        if p in res["pull_mean"]:
            print(f"{p + ' (Tripp)':<18} {'':>14} {res['pull_mean'][p]:>10.2f} "
                  f"{res['pull_std'][p]:>9.2f}")


if __name__ == "__main__":
    main()
