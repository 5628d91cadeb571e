"""``rediscovery higgs run``: the whole Higgs analysis in a run directory."""

from __future__ import annotations

from pathlib import Path

import typer

from rediscovery.core.pipeline import load_run_config, parse_replacements, print_run_summary
from rediscovery.higgs.pipeline import STAGES, HiggsRunConfig, run_pipeline, summarise

app = typer.Typer()


@app.command("run")
def run_cmd(
    out: Path = typer.Option(..., "--out", help="Run directory (created; re-runs resume)."),
    config: Path | None = typer.Option(None, "--config", help="YAML file of HiggsRunConfig."),
    seed: int | None = typer.Option(None, help="Master seed (overrides the config)."),
    events: int | None = typer.Option(None, help="Simulated MC events for training "
                                      "(overrides the config)."),
    template_events: int | None = typer.Option(
        None, help="Events of the template MC sample (overrides the config)."),
    model: str | None = typer.Option(None, help="xgboost | lightgbm | hgb | nn."),
    mmc: bool | None = typer.Option(None, "--mmc/--no-mmc", help="Compute DER_mass_MMC."),
    stage: list[str] = typer.Option(
        [], "--stage", help="Replace a stage: STAGE=package.module:function (repeatable)."
    ),
    force: list[str] = typer.Option([], "--force", help="Re-run STAGE and all after it."),
    until: str | None = typer.Option(None, "--until", help="Stop after this stage."),
) -> None:
    """Simulate → features → train → evaluate → fit, with provenance and an HTML report.

    Stages: simulate, features, train, evaluate, fit. Unchanged stages are skipped on re-run.
    """
    cfg = load_run_config(HiggsRunConfig, "higgs", config, {
        "seed": seed, "events": events, "template_events": template_events, "model": model,
        "mmc": mmc})
    results = run_pipeline(out, cfg, replace=parse_replacements(stage), force=force,
                           until=until)
    rows = {k: (f"[{v[0]:.3f}, {v[1]:.3f}]" if isinstance(v, list)
                else f"{v:.4g}" if isinstance(v, float) else str(v))
            for k, v in summarise(results).items()}
    print_run_summary("Higgs run", rows, out, list(STAGES))
