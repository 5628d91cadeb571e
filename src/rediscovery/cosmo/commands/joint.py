"""``rediscovery cosmo joint-fit``: supernovae + Planck CMB distance priors.

Thin wiring: every number is computed by :mod:`rediscovery.cosmo.joint` and
:mod:`rediscovery.cosmo.mcmc`; see docs/cosmo-joint.md for the file contracts.
"""

from __future__ import annotations

import logging
from pathlib import Path

import typer

from rediscovery.core.errors import ConfigError, ConvergenceError
from rediscovery.core.files import check_output

app = typer.Typer()
log = logging.getLogger(__name__)


@app.command("joint-fit")
def joint_fit(
    table: Path = typer.Argument(..., help="Hubble table (SN distance moduli)."),
    fmt: str = typer.Option("csv", "--format", help="csv | union2.1 | jla-binned."),
    cov: Path = typer.Option(None, "--cov", help="Covariance file of mu (mag^2)."),
    cmb: str = typer.Option("planck2018-distance-priors", "--cmb",
                            help="CMB data: planck2018-distance-priors (Chen+ 2019)."),
    model: str = typer.Option("lcdm", "--model",
                              help="lcdm (curved: ommh2, Om, Ok, ombh2) | wcdm (flat, w free)."),
    out: Path = typer.Option(..., "--out", help="Output folder."),
    seed: int = typer.Option(0, "--seed", min=0),
    n_steps: int = typer.Option(12000, "--n-steps", help="MCMC steps per walker."),
    n_walkers: int = typer.Option(32, "--n-walkers"),
    separate: bool = typer.Option(True, "--separate/--no-separate",
                                  help="Also sample SN-only and CMB-only for the figure."),
    progress: bool = typer.Option(True, "--progress/--no-progress"),
    allow_unconverged: bool = typer.Option(
        False, "--allow-unconverged", help="Exit 0 even if the joint MCMC did not converge "
        "(flagged in the JSON either way)."),
    allow_boundary: bool = typer.Option(
        False, "--allow-boundary", help="Exit 0 even if a parameter is stuck at a bound of its "
        "prior or has no spread."),
) -> None:
    """Joint SN + CMB MCMC: joint_posterior.json, joint_chain.parquet, om_ol_joint.png.

    Exits 3 (after writing the files) when the joint chain did not converge or a parameter is
    stuck at a prior bound, unless --allow-unconverged / --allow-boundary.
    """

    from rediscovery.cosmo.joint import (
        CMB_SOURCES,
        JOINT_MODELS,
        CMBDistancePriorLikelihood,
        fit_cmb_only,
        fit_joint,
        joint_params,
        separate_fit_summary,
    )
    from rediscovery.cosmo.mcmc import (
        acceptance_problems,
        check_sampler,
        interval_summary,
        write_posterior,
    )
    from rediscovery.cosmo.plots import plot_om_ol_joint
    from rediscovery.cosmo.sn.io import read_hubble_table

    if model not in JOINT_MODELS:
        raise ConfigError(f"--model {model!r} unknown; expected one of {list(JOINT_MODELS)}")
    if cmb not in CMB_SOURCES:
        raise ConfigError(f"--cmb {cmb!r} unknown; expected one of {list(CMB_SOURCES)}")
    check_sampler(n_walkers, n_steps, len(JOINT_MODELS[model]["names"]),
                  walkers_name="--n-walkers", steps_name="--n-steps")
    check_output(out, "dir")
    tab = read_hubble_table(table, fmt, cov)
    like_cmb = CMBDistancePriorLikelihood.from_name(cmb)
    res = fit_joint(tab, like_cmb, model=model, seed=seed, n_walkers=n_walkers,
                    n_steps=n_steps, progress=progress)
    p = joint_params(model, res.samples)
    derived = {"H0": p["H0"], "OL": p["OL"]}
    derived_summary = {k: interval_summary(v) for k, v in derived.items()}
    others = {}
    if separate and model == "lcdm":
        # for the figure (and the error comparison in the JSON); the CMB-only posterior is a
        # thin degeneracy line ending on the prior bounds: illustrative, rarely "converged"
        others["SN only"] = fit_joint(tab, None, model=model, seed=seed + 1,
                                      n_walkers=n_walkers, n_steps=n_steps, progress=progress)
        others["CMB only"] = fit_cmb_only(like_cmb, model=model, seed=seed + 2,
                                          n_walkers=n_walkers, n_steps=n_steps,
                                          progress=progress)
        if not others["CMB only"].converged:
            typer.echo("note: the CMB-only chain (drawn in the figure only) samples a "
                       "degeneracy line cut by the prior bounds; it is not converged and not "
                       "used in the result")
    separate_summary = {label: separate_fit_summary(model, r) for label, r in others.items()}
    out.mkdir(parents=True, exist_ok=True)
    write_posterior(res, out / "joint_posterior.json",
                    extra={"model": model, "cmb": cmb, "hubble_table": str(table),
                           "format": fmt, "derived": derived_summary,
                           "separate_fits": separate_summary})
    if model == "lcdm":
        from rediscovery.core.plotting import savefig

        planes = {k: (joint_params(model, r.samples)["Om"], joint_params(model, r.samples)["OL"])
                  for k, r in {**others, "SN + CMB": res}.items()}
        fig = plot_om_ol_joint(planes)
        savefig(fig, out / "om_ol_joint.png")
    problems = acceptance_problems(res, JOINT_MODELS[model]["priors"],
                                   allow_unconverged=allow_unconverged,
                                   allow_boundary=allow_boundary)
    if problems:
        raise ConvergenceError(f"joint {model} fit of {table}: " + "; ".join(problems)
                               + f" -> not a measurement (written to {out}/joint_posterior.json;"
                               " --allow-unconverged / --allow-boundary accept it)")
    s = res.summary()
    parts = [f"{n} = {s[n]['mean']:.4g} ± {s[n]['std']:.2g}" for n in res.names]
    parts += [f"{k} = {v['mean']:.4f} ± {v['std']:.4f}" for k, v in derived_summary.items()]
    typer.echo(f"SN + {cmb}, {model}: " + ", ".join(parts)
               + f"; converged: {s['converged']} -> {out}/joint_posterior.json")
