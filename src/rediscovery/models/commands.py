"""``rediscovery models list|show|export|import``: the database of trained models."""

from __future__ import annotations

from pathlib import Path

import typer

app = typer.Typer()

_REGISTRY_HELP = (
    "User registry folder (default: $REDISCOVERY_MODELS, else models/ in the user data folder)."
)


def _held_out_summary(held: dict) -> str:
    for key, fmt in (("max_rel_err", "max |Δ|/x {:.3g} %"), ("auc", "AUC {:.4f}")):
        if key in held:
            value = held[key] * (100.0 if key == "max_rel_err" else 1.0)
            return fmt.format(value)
    return "-"


@app.command("list")
def list_cmd(
    registry: Path | None = typer.Option(None, "--registry", help=_REGISTRY_HELP),
) -> None:
    """The shipped models and those of the user registry."""
    from rich.console import Console
    from rich.table import Table

    from rediscovery.models.registry import default_registry, list_models

    root = registry if registry is not None else default_registry()
    table = Table(title=f"models (user registry: {root})")
    for col in ("name", "source", "kind", "inputs", "held-out", "description"):
        table.add_column(col)
    for e in list_models(registry):
        c = e.card
        ins = ", ".join(c.input_names[:6]) + (f" … ({len(c.inputs)})" if len(c.inputs) > 6 else "")
        table.add_row(c.name, e.source, c.kind, ins, _held_out_summary(c.held_out), c.description)
    Console(width=200).print(table)


@app.command("show")
def show_cmd(
    name: str = typer.Argument(..., help="Model name (see `rediscovery models list`)."),
    registry: Path | None = typer.Option(None, "--registry", help=_REGISTRY_HELP),
) -> None:
    """Print a model's card (JSON) and where its files are."""
    from rediscovery.models.registry import find_model

    e = find_model(name, registry)
    typer.echo(e.card.to_json(), nl=False)
    typer.echo(f"# files in {e.folder} ({e.source})", err=True)


@app.command("export")
def export_cmd(
    name: str = typer.Argument(..., help="Model name."),
    out: Path = typer.Option(..., "--out", help="Folder, or archive ending in .tar.gz/.tgz."),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing --out."),
    registry: Path | None = typer.Option(None, "--registry", help=_REGISTRY_HELP),
) -> None:
    """Write a model's card and files (SHA-256 verified) to a folder or a .tar.gz archive."""
    from rediscovery.models.registry import export_model

    path = export_model(name, out, registry=registry, force=force)
    typer.echo(f"exported {name} to {path}")


@app.command("import")
def import_cmd(
    source: Path = typer.Argument(
        ...,
        help="Exported folder or .tar.gz; a Higgs run "
        "directory, its train folder or a classifier folder; or a "
        "CMB emulator .npz.",
    ),
    name: str | None = typer.Option(
        None,
        "--name",
        help="Registry name (default: the card's; required for a run, classifier or .npz).",
    ),
    data: Path | None = typer.Option(
        None,
        "--data",
        help="Classifier outside a run: the events it was trained on (sets the validity box).",
    ),
    command: str | None = typer.Option(
        None,
        "--command",
        help="The command that trained the model (for a classifier or .npz without a card).",
    ),
    force: bool = typer.Option(False, "--force", help="Replace a model of the same name."),
    registry: Path | None = typer.Option(None, "--registry", help=_REGISTRY_HELP),
) -> None:
    """Add a model to the user registry; every file's SHA-256 is checked first."""
    from rediscovery.models.registry import import_model

    e = import_model(source, name=name, registry=registry, force=force, data=data, command=command)
    typer.echo(f"imported {e.card.name} ({e.card.kind}) into {e.folder}")
