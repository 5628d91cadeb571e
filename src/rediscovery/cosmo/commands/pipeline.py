"""``rediscovery cosmo run``: the whole cosmology analysis in a run directory.

Thin wiring around :func:`rediscovery.cosmo.pipeline.run_pipeline`; see docs/architecture.md
("The cosmology run") for the stages and file contracts.
"""

from __future__ import annotations

from pathlib import Path

import typer

from rediscovery.core.files import check_output
from rediscovery.core.pipeline import load_run_config, parse_replacements, print_run_summary
from rediscovery.cosmo.pipeline import CosmoRunConfig, run_pipeline, stages_for, summarise

app = typer.Typer()


@app.command("run")
def run_cmd(
    out: Path = typer.Option(..., "--out", help="Run directory (created; re-runs resume)."),
    config: Path | None = typer.Option(None, "--config", help="YAML file of CosmoRunConfig."),
    seed: int | None = typer.Option(None, min=0, help="Master seed (overrides the config)."),
    n_sne: int | None = typer.Option(None, "--n-sne",
                                     help="Simulated supernovae (overrides the config)."),
    sn_steps: int | None = typer.Option(None, "--sn-steps",
                                        help="SN-only MCMC steps per walker."),
    sn_likelihood: str | None = typer.Option(
        None, "--sn-likelihood", help="SN-only fit: hierarchical (alpha, beta, sigma_int "
        "sampled with the cosmology, default) or hubble (the Hubble table, standardisation "
        "fixed)."),
    joint_steps: int | None = typer.Option(None, "--joint-steps",
                                           help="Joint MCMC steps per walker."),
    workers: int | None = typer.Option(None, "--workers", help="Processes for SALT2 fits."),
    flat: bool | None = typer.Option(None, "--flat/--curved",
                                     help="Hidden universe flat or curved (default curved)."),
    progress: bool | None = typer.Option(None, "--progress/--no-progress"),
    sn_from: str | None = typer.Option(
        None, "--from", help="Where the supernovae start: lightcurves (simulated photometry, "
        "default) or images (pixel survey -> sn-detect -> sn-photometry)."),
    cmb: str | None = typer.Option(
        None, "--cmb", help="The CMB data of the joint fit: tod (simulated time-ordered data "
        "-> map -> spectrum -> cmb_fit, default) or priors (mock distance priors)."),
    stage: list[str] = typer.Option(
        [], "--stage", help="Replace a stage: STAGE=package.module:function (repeatable)."
    ),
    force: list[str] = typer.Option([], "--force", help="Re-run STAGE and all after it."),
    until: str | None = typer.Option(None, "--until", help="Stop after this stage."),
) -> None:
    """Simulate → SALT2 light curves → SN fit → CMB TOD → map → spectrum → CMB fit → SN + CMB
    joint fit, with an HTML report.

    Stages: simulate, lightcurves, sn_fit, tod, map, spectrum, cmb_fit, joint (with --cmb
    priors: simulate, lightcurves, sn_fit, joint); with --from images, images, detect and
    photometry run after simulate. Unchanged stages are skipped on re-run;
    the hidden truth stays in simulate/truth.json (`rediscovery unblind RUN`).
    """
    check_output(out, "dir")
    cfg = load_run_config(CosmoRunConfig, "cosmo", config, {
        "seed": seed, "n_sne": n_sne, "sn_steps": sn_steps, "joint_steps": joint_steps,
        "n_workers": workers, "flat": flat, "progress": progress, "sn_source": sn_from,
        "cmb": cmb, "sn_likelihood": sn_likelihood},
        options={"n_workers": "--workers", "flat": "--flat/--curved",
                 "progress": "--progress/--no-progress", "sn_source": "--from",
                 "cmb": "--cmb", "sn_likelihood": "--sn-likelihood"})
    results = run_pipeline(out, cfg, replace=parse_replacements(stage), force=force,
                           until=until)
    print_run_summary("Cosmology run", summarise(results) if results else {}, out,
                      list(stages_for(cfg)))
