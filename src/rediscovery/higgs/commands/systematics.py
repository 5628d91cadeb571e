"""``rediscovery higgs alter``: the systematics stage's commands."""

from __future__ import annotations

import logging
from pathlib import Path

import typer

from rediscovery.core.files import write_json

app = typer.Typer()
log = logging.getLogger(__name__)


@app.command("alter")
def alter(
    input_path: Path = typer.Argument(..., metavar="IN", help="Events file (Parquet or CSV)."),
    output_path: Path = typer.Argument(..., metavar="OUT",
                                       help="Altered events file (.parquet, or .csv)."),
    tes: float = typer.Option(1.0, "--tes", help="Tau energy scale factor."),
    jes: float = typer.Option(1.0, "--jes", help="Jet energy scale factor."),
    soft_met: float = typer.Option(0.0, "--soft-met", help="Soft MET term width per axis [GeV]."),
    ttbar_scale: float = typer.Option(None, "--ttbar-scale", help="ttbar weight factor."),
    diboson_scale: float = typer.Option(None, "--diboson-scale", help="Diboson weight factor."),
    bkg_scale: float = typer.Option(None, "--bkg-scale", help="All-background weight factor."),
    seed: int = typer.Option(0, "--seed", help="Seed of the soft-MET draws."),
    derived: bool = typer.Option(True, "--derived/--no-derived",
                                 help="Recompute the DER_/NEW_ columns present in IN."),
) -> None:
    """Apply systematic shifts to an events file (Fair Universe challenge conventions).

    Writes OUT and OUT.json beside it (values applied, events and jets removed by the
    re-applied selection).
    """
    from rediscovery.higgs.io import read_events, write_events
    from rediscovery.higgs.systematics import apply_systematics

    df = read_events(input_path)
    out = apply_systematics(df, tes=tes, jes=jes, soft_met=soft_met, ttbar_scale=ttbar_scale,
                            diboson_scale=diboson_scale, bkg_scale=bkg_scale, seed=seed,
                            recompute_derived=derived)
    write_events(out, output_path)
    meta = {"input": str(input_path), "output": str(output_path), "seed": seed, **out.attrs}
    write_json(output_path.with_name(output_path.name + ".json"), meta)
    typer.echo(f"{output_path}: {len(out)} events ({out.attrs['n_removed']} removed by the "
               f"re-applied selection, {out.attrs['n_jets_removed']} jets dropped)")
