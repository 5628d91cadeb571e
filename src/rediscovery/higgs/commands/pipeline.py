"""``rediscovery higgs run``: the whole Higgs analysis in a run directory."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
import yaml
from rich.console import Console
from rich.table import Table

from rediscovery.core.errors import ConfigError
from rediscovery.higgs.pipeline import STAGES, HiggsRunConfig, run_pipeline, summarise

app = typer.Typer()


def _parse_replacements(items: list[str]) -> dict[str, str]:
    out = {}
    for item in items:
        stage, sep, func = item.partition("=")
        if not sep:
            raise ConfigError(f"--stage {item!r}: expected STAGE=package.module:function")
        out[stage.strip()] = func.strip()
    return out


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
    data: dict[str, Any] = {}
    if config is not None:
        try:
            data = yaml.safe_load(config.read_text()) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise ConfigError(f"{config}: cannot read the YAML configuration ({exc})") from exc
        data = data.get("higgs", data)
    for key, value in {"seed": seed, "events": events, "template_events": template_events,
                       "model": model, "mmc": mmc}.items():
        if value is not None:
            data[key] = value
    try:
        cfg = HiggsRunConfig.model_validate(data)
    except ValueError as exc:
        raise ConfigError(f"invalid configuration: {exc}".replace("\n", "; ")) from exc
    results = run_pipeline(out, cfg, replace=_parse_replacements(stage), force=force,
                           until=until)
    console = Console()
    if results:
        table = Table(title=f"Higgs run {out} (blinded: `rediscovery unblind {out}`)")
        table.add_column("result")
        table.add_column("value", justify="right")
        for k, v in summarise(results).items():
            text = (f"[{v[0]:.3f}, {v[1]:.3f}]" if isinstance(v, list)
                    else f"{v:.4g}" if isinstance(v, float) else str(v))
            table.add_row(k, text)
        console.print(table)
    console.print(f"report: {out / 'report.html'}   stages: {', '.join(STAGES)}")
