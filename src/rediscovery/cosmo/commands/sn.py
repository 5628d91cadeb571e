"""``rediscovery cosmo sn-simulate | sn-lightcurves | sn-fit``: the supernova stages.

Thin wiring: every number is computed by :mod:`rediscovery.cosmo.sn` and
:mod:`rediscovery.cosmo.mcmc`; see docs/cosmo-supernovae.md for the file contracts.
"""

from __future__ import annotations

import logging
from pathlib import Path

import typer

from rediscovery.core.errors import ConfigError
from rediscovery.core.executor import check_scheduler
from rediscovery.core.files import check_output
from rediscovery.cosmo.sn.simulate import ABS_MAG_B

app = typer.Typer()
log = logging.getLogger(__name__)


@app.command("sn-simulate")
def sn_simulate(
    out: Path = typer.Option(..., "--out", help="Output folder."),
    n_sne: int = typer.Option(200, "--n-sne", min=1, help="Number of supernovae."),
    seed: int = typer.Option(0, "--seed", min=0,
                             help="Random seed (also draws hidden parameters)."),
    h0: float = typer.Option(None, "--h0", help="H0 in km/s/Mpc (hidden draw if omitted)."),
    om: float = typer.Option(None, "--om", help="Ωm (hidden draw if omitted)."),
    ol: float = typer.Option(None, "--ol", help="ΩΛ (hidden draw if omitted)."),
    z_max: float = typer.Option(0.8, "--z-max", help="Largest redshift of the survey sample."),
    cadence: float = typer.Option(4.0, "--cadence", help="Days between visits per band."),
    flat: bool = typer.Option(False, "--flat", help="Hidden universe is flat (ΩΛ = 1 − Ωm)."),
    fmt: str = typer.Option("csv", "--format",
                            help="csv (SALT2 fluxes in 4 bands) | mag-files (stretch-template "
                            "B magnitudes, one file per SN, for teaching)."),
) -> None:
    """Simulate light curves: lightcurves.csv, redshifts.csv, truth.json (+ truth_sne.csv).

    With --format mag-files: lightcurves/<SN>.dat (time mag mag_err band), redshifts.txt
    (name z), truth.json, truth_sne.csv.
    """
    import numpy as np

    from rediscovery.core.files import write_json
    from rediscovery.cosmo.cosmology import efunc
    from rediscovery.cosmo.sn.io import write_csv
    from rediscovery.cosmo.sn.simulate import Survey, draw_truth, simulate_lightcurves

    if fmt not in ("csv", "mag-files"):
        raise ConfigError(f"--format {fmt!r} unknown; expected 'csv' or 'mag-files'")
    survey_defaults = Survey()  # --z-max, --h0, --om, --ol ranges: Survey and draw_truth
    if not 0 < cadence <= survey_defaults.season_length:
        raise ConfigError(f"--cadence {cadence:g}: expected days between visits in (0, "
                          f"{survey_defaults.season_length:g}] (the season length)")
    check_output(out, "dir")
    truth = draw_truth(seed, h0, om, ol, flat=flat)
    if not np.all(np.isfinite(efunc(np.linspace(0.0, z_max, 512), truth.Om, truth.OL))):
        # name only the values the user gave: a drawn one is hidden (blind analysis)
        given = " ".join(f"{flag} {v:g}" for flag, v in (("--om", om), ("--ol", ol))
                         if v is not None)
        raise ConfigError(f"{given}: this universe has no expansion history up to --z-max "
                          f"{z_max:g} (H(z)² <= 0: a bounce); choose other densities or a "
                          "lower --z-max")
    if fmt == "mag-files":
        from rediscovery.cosmo.sn.io_magnitudes import write_mag_lightcurves, write_redshift_list
        from rediscovery.cosmo.sn.simulate import simulate_mag_lightcurves

        mags, zs, params = simulate_mag_lightcurves(n_sne, truth, seed=seed,
                                                    survey=Survey(z_max=z_max, cadence=cadence))
        write_mag_lightcurves(mags, out / "lightcurves")
        write_redshift_list(zs, out / "redshifts.txt")
        write_csv(params, out / "truth_sne.csv")
        write_json(out / "truth.json", truth.to_dict())
        typer.echo(f"{n_sne} SNe, {len(mags)} magnitudes -> {out}/lightcurves/*.dat, "
                   f"redshifts.txt (truth {'hidden' if truth.hidden else 'given'} in truth.json)")
        return
    lcs, zs, params = simulate_lightcurves(n_sne, truth, seed=seed,
                                           survey=Survey(z_max=z_max, cadence=cadence))
    write_csv(lcs, out / "lightcurves.csv")
    write_csv(zs, out / "redshifts.csv")
    write_csv(params, out / "truth_sne.csv")
    write_json(out / "truth.json", truth.to_dict())
    typer.echo(f"{n_sne} SNe, {len(lcs)} points -> {out}/lightcurves.csv, redshifts.csv "
               f"(truth {'hidden' if truth.hidden else 'given'} in truth.json)")


@app.command("sn-lightcurves")
def sn_lightcurves(
    lightcurves: Path = typer.Option(
        ..., "--lightcurves", help="lightcurves.csv (sncosmo cols); with --format mag-files a "
        "folder, file or quoted glob of per-SN magnitude files."),
    redshifts: Path = typer.Option(..., "--redshifts",
                                   help="redshifts.csv (sn_id, z), or a 'name z' list."),
    out: Path = typer.Option(..., "--out", help="Output folder."),
    fmt: str = typer.Option("csv", "--format", help="csv (sncosmo fluxes) | mag-files "
                            "(one 'time mag mag_err', optional band, file per SN)."),
    lc_model: str = typer.Option("salt2", "--model",
                                 help="salt2 | stretch (rest-frame B template, s, m_peak)."),
    band: str = typer.Option(None, "--band", help="stretch only: the band to fit (default: "
                             "the only band, else B or bessellb)."),
    abs_mag: float = typer.Option(ABS_MAG_B, "--abs-mag",
                                  help="Calibrated absolute magnitude M_B (AB); sets H0 only."),
    modelcov: bool = typer.Option(False, "--modelcov/--no-modelcov",
                                  help="Include the SALT2 model covariance (real data)."),
    drop_sparse: bool = typer.Option(False, "--drop-sparse",
                                     help="Flag and skip SNe with too few points."),
    workers: int = typer.Option(None, "--workers", min=1, help="Local worker processes."),
    scheduler: str = typer.Option(None, "--scheduler", help="dask scheduler tcp://HOST:PORT."),
    progress: bool = typer.Option(True, "--progress/--no-progress"),
) -> None:
    """Fit every SN's light curve and standardise it: hubble.csv plus the fits and parameters.

    --model salt2 (default): salt2_fits.csv, tripp.json (alpha, beta, sigma_int).
    --model stretch: stretch_fits.csv, stretch.json (alpha_s, sigma_int).
    """
    from rediscovery.core.checks import require_parameter_in_range
    from rediscovery.core.files import write_json
    from rediscovery.cosmo.sn.hubble import fit_tripp, standardise
    from rediscovery.cosmo.sn.io import read_lightcurves, read_redshifts, write_csv
    from rediscovery.cosmo.sn.io_magnitudes import (
        fluxes_to_mags,
        mags_to_fluxes,
        read_mag_lightcurves,
        read_redshift_list,
    )
    from rediscovery.cosmo.sn.lightcurves import fit_lightcurves
    from rediscovery.cosmo.sn.simulate import ABS_MAG_B_RANGE

    if fmt not in ("csv", "mag-files"):
        raise ConfigError(f"--format {fmt!r} unknown; expected 'csv' or 'mag-files'")
    if lc_model not in ("salt2", "stretch"):
        raise ConfigError(f"--model {lc_model!r} unknown; expected 'salt2' or 'stretch'")
    if band is not None and lc_model != "stretch":
        raise ConfigError("--band applies to --model stretch only (SALT2 fits all bands)")
    require_parameter_in_range("--abs-mag", abs_mag, *ABS_MAG_B_RANGE,
                               why="the absolute magnitude of a standardised SN Ia")
    check_scheduler(scheduler)
    check_output(out, "dir")
    if fmt == "csv":
        lcs = read_lightcurves(lightcurves)
        zs = read_redshifts(redshifts)
        mags = fluxes_to_mags(lcs) if lc_model == "stretch" else None
    else:
        mags = read_mag_lightcurves(lightcurves, exclude=(redshifts,))
        zs = read_redshift_list(redshifts)
        lcs = None
        if lc_model == "salt2":
            from rediscovery.cosmo.sn.lightcurves import check_bandpasses

            check_bandpasses(mags["band"], source=str(lightcurves))
            lcs = mags_to_fluxes(mags)
    if lc_model == "stretch":
        _stretch_lightcurves(mags, zs, out=out, abs_mag=abs_mag, band=band,
                             drop_sparse=drop_sparse, source=str(lightcurves))
        return
    fits = fit_lightcurves(lcs, zs, drop_sparse=drop_sparse, modelcov=modelcov,
                           n_workers=workers, scheduler=scheduler, progress=progress,
                           source=str(lightcurves))
    write_csv(fits, out / "salt2_fits.csv")
    good = fits[fits["quality"]].reset_index(drop=True)
    tripp = fit_tripp(good)
    hub = standardise(good, tripp, abs_mag)
    write_json(out / "tripp.json", {**tripp.to_dict(), "abs_mag": abs_mag,
                                    "n_fitted": len(fits), "n_pass_quality": len(good)})
    write_csv(hub, out / "hubble.csv")
    typer.echo(f"{len(good)}/{len(fits)} SNe pass the quality cuts; alpha={tripp.alpha:.3f}"
               f"±{tripp.errors['alpha']:.3f} beta={tripp.beta:.2f}±{tripp.errors['beta']:.2f} "
               f"sigma_int={tripp.sigma_int:.3f} -> {out}/hubble.csv")


def _stretch_lightcurves(mags, zs, *, out: Path, abs_mag: float, band: str | None,
                         drop_sparse: bool, source: str) -> None:
    """``sn-lightcurves --model stretch``: stretch_fits.csv, stretch.json, hubble.csv."""
    from rediscovery.core.files import write_json
    from rediscovery.cosmo.sn.io import write_csv
    from rediscovery.cosmo.sn.stretch import (
        fit_stretch_lightcurves,
        fit_stretch_standardisation,
        standardise_stretch,
    )

    fits = fit_stretch_lightcurves(mags, zs, band=band, drop_sparse=drop_sparse, source=source)
    write_csv(fits, out / "stretch_fits.csv")
    good = fits[fits["quality"]].reset_index(drop=True)
    res = fit_stretch_standardisation(good)
    hub = standardise_stretch(good, res, abs_mag)
    write_json(out / "stretch.json", {**res.to_dict(), "abs_mag": abs_mag,
                                      "band": str(fits["band"].iloc[0]),
                                      "n_fitted": len(fits), "n_pass_quality": len(good)})
    write_csv(hub, out / "hubble.csv")
    typer.echo(f"{len(good)}/{len(fits)} SNe pass the quality cuts; stretch model: alpha_s="
               f"{res.alpha_s:.3f}±{res.errors['alpha_s']:.3f} sigma_int={res.sigma_int:.3f} "
               f"-> {out}/hubble.csv")


@app.command("sn-fit")
def sn_fit(
    table: Path = typer.Argument(..., help="Hubble table (or JLA light-curve parameters)."),
    fmt: str = typer.Option("csv", "--format",
                            help="csv | union2.1 | jla-binned | jla-lcparams | salt2 "
                            "(salt2_fits.csv: standardisation and cosmology in one fit)."),
    cov: Path = typer.Option(None, "--cov", help="Covariance file of mu (mag^2)."),
    model: str = typer.Option("flat-lcdm", "--model", help="flat-lcdm | lcdm | flat-wcdm."),
    out: Path = typer.Option(..., "--out", help="Output folder."),
    seed: int = typer.Option(0, "--seed", min=0),
    n_steps: int = typer.Option(None, "--n-steps",
                                help="MCMC steps per walker [default: 6000; jla-lcparams: "
                                "15000, for 5-6 parameters; salt2: 8000]."),
    n_walkers: int = typer.Option(32, "--n-walkers"),
    truth: Path = typer.Option(None, "--truth",
                               help="truth.json to mark on the plots (unblinding only)."),
    progress: bool = typer.Option(True, "--progress/--no-progress"),
    allow_unconverged: bool = typer.Option(
        False, "--allow-unconverged", help="Exit 0 even if the MCMC did not converge "
        "(flagged in the JSON either way)."),
    allow_boundary: bool = typer.Option(
        False, "--allow-boundary", help="Exit 0 even if a parameter is stuck at a bound of its "
        "prior or has no spread."),
    dmb_includes_dispersion: bool = typer.Option(
        True, "--dmb-includes-dispersion/--dmb-measurement-only",
        help="jla-lcparams only: the file's dmb already holds sigma_coh, lensing and peculiar "
        "velocities (the public JLA file), or only the light-curve fit error (then "
        "0.055 z and 150 km/s are added)."),
    abs_mag: float = typer.Option(ABS_MAG_B, "--abs-mag", help="salt2 only: calibrated "
                                  "absolute magnitude M_B (AB); sets H0 only."),
) -> None:
    """MCMC fit of a Hubble table: sn_posterior.json, sn_chain.parquet and plots.

    With --format jla-lcparams the table is JLA's jla_lcparams.txt: alpha, beta, M, delta_M
    and the cosmology are fitted together (jla_fit.json, hubble.csv, sn_posterior.json).
    With --format salt2 the table is salt2_fits.csv (cosmo sn-lightcurves): the cosmology,
    alpha, beta, sigma_int and the x1, c population widths are sampled together (the
    hierarchical model of docs/cosmo-supernovae.md); hubble.csv holds the SNe standardised at
    the posterior means.

    Exits 3 (after writing the files) when the chain did not converge or a parameter is stuck
    at a prior bound, unless --allow-unconverged / --allow-boundary.
    """

    import matplotlib

    matplotlib.use("Agg")

    from rediscovery.core.errors import ConvergenceError
    from rediscovery.core.files import read_json
    from rediscovery.cosmo.mcmc import acceptance_problems, check_sampler, write_posterior
    from rediscovery.cosmo.sn.hubble import MODELS, fit_hubble
    from rediscovery.cosmo.sn.io import read_hubble_table
    from rediscovery.cosmo.sn.plots import save_sn_fit_plots

    if model not in MODELS:
        raise ConfigError(f"--model {model!r} unknown; expected one of {list(MODELS)}")
    if fmt == "jla-lcparams":
        _sn_fit_jla(table, model=model, out=out, seed=seed, n_steps=n_steps or 15000,
                    n_walkers=n_walkers, progress=progress, allow_unconverged=allow_unconverged,
                    allow_boundary=allow_boundary, cov=cov,
                    dmb_includes_dispersion=dmb_includes_dispersion)
        return
    if fmt == "salt2":
        _sn_fit_salt2(table, model=model, out=out, seed=seed, n_steps=n_steps or 8000,
                      n_walkers=n_walkers, progress=progress, truth=truth, abs_mag=abs_mag,
                      allow_unconverged=allow_unconverged, allow_boundary=allow_boundary,
                      cov=cov)
        return
    n_steps = n_steps or 6000
    check_sampler(n_walkers, n_steps, len(MODELS[model]["names"]), walkers_name="--n-walkers",
                  steps_name="--n-steps")
    check_output(out, "dir")
    tr = None if truth is None else read_json(truth, what="truth.json (--truth)")
    tab = read_hubble_table(table, fmt, cov)
    res = fit_hubble(tab, model, seed=seed, n_steps=n_steps, n_walkers=n_walkers,
                     progress=progress)
    out.mkdir(parents=True, exist_ok=True)
    summary = res.summary()
    write_posterior(res.mcmc, out / "sn_posterior.json",
                    extra={k: v for k, v in summary.items() if k not in res.mcmc.summary()})
    save_sn_fit_plots(res, out, truth=tr)
    problems = acceptance_problems(res.mcmc, MODELS[model]["priors"],
                                   allow_unconverged=allow_unconverged,
                                   allow_boundary=allow_boundary)
    if problems:
        raise ConvergenceError(f"{model} fit of {table}: " + "; ".join(problems)
                               + f" -> not a measurement (written to {out}/sn_posterior.json; "
                               "--allow-unconverged / --allow-boundary accept it)")
    ev = summary["dark_energy_evidence"]
    parts = [f"{n} = {summary[n]['mean']:.3f} ± {summary[n]['std']:.3f}" for n in res.mcmc.names]
    typer.echo(f"{model}: " + ", ".join(parts)
               + f"; P(ΩΛ>0) = {ev['p_omega_lambda_positive']:.4f}, Δχ²(ΩΛ=0) = "
               f"{ev['delta_chi2']:.1f}; converged: {summary['converged']} -> "
               f"{out}/sn_posterior.json")
    _echo_profile(summary)


def _echo_profile(summary: dict) -> None:
    """One line with the profile-likelihood 68 % intervals, when the fit reports them."""
    prof = summary.get("profile68", {})
    if prof:
        typer.echo("profile likelihood, 68 %: " + ", ".join(
            f"{n} [{p['lo68']:.3f}, {p['hi68']:.3f}]" + (" (prior edge)" if
            p["lo_at_prior_edge"] or p["hi_at_prior_edge"] else "") for n, p in prof.items()))


def _sn_fit_salt2(table: Path, *, model: str, out: Path, seed: int, n_steps: int,
                  n_walkers: int, progress: bool, truth: Path | None, abs_mag: float,
                  allow_unconverged: bool, allow_boundary: bool, cov: Path | None) -> None:
    """``sn-fit --format salt2``: the hierarchical standardisation + cosmology fit."""
    import matplotlib

    matplotlib.use("Agg")
    import pandas as pd

    from rediscovery.core.checks import require_parameter_in_range
    from rediscovery.core.errors import ConvergenceError
    from rediscovery.core.files import read_json
    from rediscovery.cosmo.mcmc import acceptance_problems, check_sampler, write_posterior
    from rediscovery.cosmo.sn.hierarchical import fit_hierarchical, sampled_priors
    from rediscovery.cosmo.sn.io import read_salt2_fits, write_csv
    from rediscovery.cosmo.sn.plots import save_sn_fit_plots
    from rediscovery.cosmo.sn.simulate import ABS_MAG_B_RANGE

    if cov is not None:
        raise ConfigError("--cov: with --format salt2 the covariance comes from the SALT2 fits "
                          "and the sampled standardisation; give no --cov")
    require_parameter_in_range("--abs-mag", abs_mag, *ABS_MAG_B_RANGE,
                               why="the absolute magnitude of a standardised SN Ia")
    n_par = len(sampled_priors(model))
    check_sampler(n_walkers, n_steps, n_par, walkers_name="--n-walkers",
                  steps_name="--n-steps")
    check_output(out, "dir")
    tr = None if truth is None else read_json(truth, what="truth.json (--truth)")
    fits, n_all = read_salt2_fits(table)
    if len(fits) < n_all:
        typer.echo(f"{len(fits)} of {n_all} SNe in {table} pass the quality cuts (the others "
                   "are flagged in its quality column)")
    res = fit_hierarchical(fits, model, abs_mag=abs_mag, seed=seed, n_steps=n_steps,
                           n_walkers=n_walkers, progress=progress)
    out.mkdir(parents=True, exist_ok=True)
    summary = res.summary()
    write_posterior(res.mcmc, out / "sn_posterior.json",
                    extra={**{k: v for k, v in summary.items() if k not in res.mcmc.summary()},
                           "likelihood": "hierarchical SALT2 (standardisation sampled)",
                           "abs_mag": abs_mag})
    t = res.table
    write_csv(pd.DataFrame({"sn_id": t.sn_id, "z": t.z, "mu": t.mu, "mu_err": t.mu_err}),
              out / "hubble.csv")
    save_sn_fit_plots(res, out, truth=tr)
    problems = acceptance_problems(res.mcmc, sampled_priors(model),
                                   allow_unconverged=allow_unconverged,
                                   allow_boundary=allow_boundary)
    if problems:
        raise ConvergenceError(f"{model} fit of {table}: " + "; ".join(problems)
                               + f" -> not a measurement (written to {out}/sn_posterior.json; "
                               "--allow-unconverged / --allow-boundary accept it)")
    parts = [f"{n} = {summary[n]['mean']:.3f} ± {summary[n]['std']:.3f}"
             for n in [*res.mcmc.names, "H0_if_calibrated"]]
    typer.echo(f"{model} + standardisation: " + ", ".join(parts)
               + f"; converged: {summary['converged']} -> {out}/sn_posterior.json")
    _echo_profile(summary)


def _sn_fit_jla(table: Path, *, model: str, out: Path, seed: int, n_steps: int, n_walkers: int,
                progress: bool, allow_unconverged: bool, allow_boundary: bool,
                cov: Path | None, dmb_includes_dispersion: bool) -> None:
    """``sn-fit --format jla-lcparams``: Tripp + host-mass step + cosmology on JLA's lcparams."""
    import matplotlib

    matplotlib.use("Agg")

    from rediscovery.core.errors import ConvergenceError
    from rediscovery.core.files import write_json
    from rediscovery.core.plotting import savefig
    from rediscovery.cosmo.mcmc import acceptance_problems, check_sampler, write_posterior
    from rediscovery.cosmo.plots import triangle_plot
    from rediscovery.cosmo.sn.hubble import MODELS
    from rediscovery.cosmo.sn.io import read_jla_lcparams, write_csv
    from rediscovery.cosmo.sn.jla import JLA_NUISANCE, JLALikelihood, fit_jla, sample_jla

    if cov is not None:
        raise ConfigError("--cov: the JLA light-curve fit uses the diagonal covariance in "
                          "jla_lcparams.txt; the systematic blocks are not supported")
    check_sampler(n_walkers, n_steps, len(JLA_NUISANCE) + len(MODELS[model]["names"]),
                  walkers_name="--n-walkers", steps_name="--n-steps")
    check_output(out, "dir")
    lcp = read_jla_lcparams(table)
    fit = fit_jla(lcp, model, dmb_includes_dispersion=dmb_includes_dispersion)
    res = sample_jla(lcp, fit, seed=seed, n_walkers=n_walkers, n_steps=n_steps,
                     progress=progress)
    out.mkdir(parents=True, exist_ok=True)
    fit_dict = fit.to_dict()
    write_json(out / "jla_fit.json", {**fit_dict, "data": str(table)})
    like = JLALikelihood(lcp, dmb_includes_dispersion=dmb_includes_dispersion)
    v = fit.values
    write_csv(like.hubble_table(v["alpha"], v["beta"], v["M"], v["delta_M"], fit.sigma_int),
              out / "hubble.csv")
    write_posterior(res, out / "sn_posterior.json", extra={
        "model": model, "data": {"source": str(table), "format": "jla-lcparams",
                                 "n": fit.n_sne, "diagonal_covariance": True},
        "best_fit": {**v, "chi2": fit.chi2, "dof": fit.dof},
        "sigma_int": {"value": fit.sigma_int, "range": list(fit.sigma_int_range),
                      "method": fit_dict["sigma_int_method"], "fixed_in_mcmc": True},
        "published_betoule2014": fit_dict["published_betoule2014"]})
    savefig(triangle_plot(res), out / "triangle.png", dpi=100)
    priors = [*JLA_NUISANCE.values(), *MODELS[model]["priors"]]
    problems = acceptance_problems(res, priors, allow_unconverged=allow_unconverged,
                                   allow_boundary=allow_boundary)
    if problems:
        raise ConvergenceError(f"JLA {model} fit of {table}: " + "; ".join(problems)
                               + f" -> not a measurement (written to {out}/sn_posterior.json; "
                               "--allow-unconverged / --allow-boundary accept it)")
    s = res.summary()
    parts = [f"{n} = {s[n]['mean']:.4f} ± {s[n]['std']:.4f}" for n in res.names]
    lo, hi = fit.sigma_int_range
    typer.echo(f"JLA {model} ({fit.n_sne} SNe, diagonal covariance): " + ", ".join(parts)
               + f", sigma_int = {fit.sigma_int:.3f} [{lo:.3f}, {hi:.3f}] (chi2 = "
               f"{fit.chi2:.1f} / {fit.dof} dof); converged: {s['converged']} -> "
               f"{out}/sn_posterior.json, jla_fit.json, hubble.csv")
