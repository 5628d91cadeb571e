"""``rediscovery cosmo run``: the whole cosmology analysis in a run directory.

Thin wiring around :func:`rediscovery.cosmo.pipeline.run_pipeline`; see docs/architecture.md
("The cosmology run") for the stages and file contracts.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
import yaml
from rich.console import Console
from rich.table import Table

from rediscovery.core.errors import ConfigError
from rediscovery.cosmo.pipeline import STAGES, CosmoRunConfig, run_pipeline, summarise

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
    config: Path | None = typer.Option(None, "--config", help="YAML file of CosmoRunConfig."),
    seed: int | None = typer.Option(None, help="Master seed (overrides the config)."),
    n_sne: int | None = typer.Option(None, "--n-sne",
                                     help="Simulated supernovae (overrides the config)."),
    sn_steps: int | None = typer.Option(None, "--sn-steps",
                                        help="SN-only MCMC steps per walker."),
    joint_steps: int | None = typer.Option(None, "--joint-steps",
                                           help="Joint MCMC steps per walker."),
    workers: int | None = typer.Option(None, "--workers", help="Processes for SALT2 fits."),
    flat: bool | None = typer.Option(None, "--flat/--curved",
                                     help="Hidden universe flat or curved (default curved)."),
    progress: bool | None = typer.Option(None, "--progress/--no-progress"),
    stage: list[str] = typer.Option(
        [], "--stage", help="Replace a stage: STAGE=package.module:function (repeatable)."
    ),
    force: list[str] = typer.Option([], "--force", help="Re-run STAGE and all after it."),
    until: str | None = typer.Option(None, "--until", help="Stop after this stage."),
) -> None:
    """Simulate → SALT2 light curves → SN fit → SN + CMB joint fit, with an HTML report.

    Stages: simulate, lightcurves, sn_fit, joint. Unchanged stages are skipped on re-run;
    the hidden truth stays in simulate/truth.json (`rediscovery unblind RUN`).
    """
    data: dict[str, Any] = {}
    if config is not None:
        try:
            data = yaml.safe_load(config.read_text()) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise ConfigError(f"{config}: cannot read the YAML configuration ({exc})") from exc
        if not isinstance(data, dict):
            raise ConfigError(f"{config}: expected a mapping of CosmoRunConfig fields")
        data = data.get("cosmo", data)
    for key, value in {"seed": seed, "n_sne": n_sne, "sn_steps": sn_steps,
                       "joint_steps": joint_steps, "n_workers": workers, "flat": flat,
                       "progress": progress}.items():
        if value is not None:
            data[key] = value
    try:
        cfg = CosmoRunConfig.model_validate(data)
    except ValueError as exc:
        raise ConfigError(f"invalid configuration: {exc}".replace("\n", "; ")) from exc
    results = run_pipeline(out, cfg, replace=_parse_replacements(stage), force=force,
                           until=until)
    console = Console()
    if results:
        table = Table(title=f"Cosmology run {out} (blinded: `rediscovery unblind {out}`)")
        table.add_column("result")
        table.add_column("value", justify="right")
        for k, v in summarise(results).items():
            table.add_row(k, v)
        console.print(table)
    console.print(f"report: {out / 'report.html'}   stages: {', '.join(STAGES)}")
