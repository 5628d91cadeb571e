"""``rediscovery higgs run``: the whole Higgs analysis in a run directory."""

from __future__ import annotations

from pathlib import Path

import typer

from rediscovery.core.files import check_output
from rediscovery.core.pipeline import load_run_config, parse_replacements, print_run_summary
from rediscovery.higgs.pipeline import STAGES, HiggsRunConfig, run_pipeline, summarise

app = typer.Typer()


@app.command("run")
def run_cmd(
    out: Path = typer.Option(..., "--out", help="Run directory (created; re-runs resume)."),
    config: Path | None = typer.Option(None, "--config", help="YAML file of HiggsRunConfig."),
    seed: int | None = typer.Option(None, min=0, help="Master seed (overrides the config)."),
    events: int | None = typer.Option(None, help="Simulated MC events for training "
                                      "(overrides the config)."),
    template_events: int | None = typer.Option(
        None, help="Events of the template MC sample (overrides the config)."),
    observed: Path | None = typer.Option(
        None, "--observed", metavar="FILE",
        help="Analyse the events of FILE instead of simulated pseudo-data (Parquet or CSV: "
        "Kaggle/CERN Open Data HiggsML, Fair Universe or own; needs the 17 PRI_ columns). "
        "Label/Weight/Process/Set/KaggleSet/KaggleWeight columns are ignored (warning); "
        "no truth.json is written, so there is nothing to unblind."),
    mc: Path | None = typer.Option(
        None, "--mc", metavar="FILE",
        help="Labelled, weighted MC (PRI_ columns, Weight, Label; e.g. HiggsML training.csv "
        "or the CERN Open Data file) instead of the simulated training and template samples. "
        "Split by its Set (train) or KaggleSet (t) column into training and templates, else "
        "at random (mc_train_fraction, default 1/2)."),
    mc_lumi_scale: float | None = typer.Option(
        None, "--mc-lumi-scale",
        help="Factor on the --mc weights so that they describe the HiggsML 2012 "
        "luminosity (1 for the HiggsML files)."),
    lumi_factor: float | None = typer.Option(
        None, "--lumi-factor",
        help="Luminosity of the (pseudo-)data / HiggsML 2012's; scales the MC weights."),
    templates: str | None = typer.Option(
        None, "--templates", metavar="SOURCE",
        help="Source of the template samples: 'simulator' (default), or an event generator: "
        "a folder from 'rediscovery higgs generate train' or its name in the model database."),
    model: str | None = typer.Option(None, help="xgboost | lightgbm | hgb | nn."),
    mmc: bool | None = typer.Option(None, "--mmc/--no-mmc", help="Compute DER_mass_MMC."),
    systematics: bool | None = typer.Option(
        None, "--systematics/--no-systematics",
        help="Fit with systematic uncertainties (τ/jet energy scales and soft MET from shifted "
        "template samples; tt̄, diboson and background normalisations); the pseudo-data then "
        "carry hidden nuisance values drawn from their priors. Default: on, except with --mc."),
    nominal_data: bool | None = typer.Option(
        None, "--nominal-data/--drawn-nuisances",
        help="Pseudo-data at the nominal nuisance values instead of hidden values drawn from "
        "the priors (systematic runs)."),
    training: str | None = typer.Option(
        None, "--training", metavar="MODE",
        help="nominal (default) | augmented: train the classifier on copies of its training "
        "events altered with prior draws of the nuisances (the 'augmented' method of higgs "
        "challenge); the templates and the fit with profiled nuisances are unchanged."),
    stage: list[str] = typer.Option(
        [], "--stage", help="Replace a stage: STAGE=package.module:function (repeatable)."
    ),
    force: list[str] = typer.Option([], "--force", help="Re-run STAGE and all after it."),
    until: str | None = typer.Option(None, "--until", help="Stop after this stage."),
) -> None:
    """Simulate → features → train → evaluate → fit, with provenance and an HTML report.

    Stages: simulate, features, train, evaluate, fit. Unchanged stages are skipped on re-run
    (a changed --observed/--mc file re-runs them: its SHA-256 enters the fingerprints).
    With --observed/--mc the simulate stage reads those files instead of simulating; the
    files used (path, SHA-256) are listed under "data" in results.json and manifest.json.
    """
    check_output(out, "dir")
    if templates is not None and templates != "simulator" and not Path(templates).is_dir():
        from rediscovery.models import find_model

        templates = str(find_model(templates).folder)  # a name in the model database
    cfg = load_run_config(HiggsRunConfig, "higgs", config, {
        "seed": seed, "events": events, "template_events": template_events, "model": model,
        "mmc": mmc, "observed": None if observed is None else str(observed),
        "mc": None if mc is None else str(mc), "mc_lumi_scale": mc_lumi_scale,
        "lumi_factor": lumi_factor, "templates": templates, "systematics": systematics,
        "nominal_data": nominal_data, "training": training},
        options={"mmc": "--mmc/--no-mmc", "systematics": "--systematics/--no-systematics",
                 "nominal_data": "--nominal-data/--drawn-nuisances"})
    results = run_pipeline(out, cfg, replace=parse_replacements(stage), force=force,
                           until=until)
    rows = {k: (f"[{v[0]:.3f}, {v[1]:.3f}]" if isinstance(v, list)
                else f"{v:.4g}" if isinstance(v, float) else str(v))
            for k, v in summarise(results).items()}
    print_run_summary("Higgs run", rows, out, list(STAGES))
