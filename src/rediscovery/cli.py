"""The ``rediscovery`` command line: a thin typer layer over the library.

Sub-apps: ``rediscovery higgs …`` and ``rediscovery cosmo …``. Each stage's commands live in
their own module (listed in :data:`COMMAND_MODULES`) that defines a ``typer.Typer`` named
``app`` whose commands are merged into the sub-app, so teams can add commands without touching
each other's files.

Errors that derive from :class:`~rediscovery.core.errors.RediscoveryError` are printed on one
line (``error: <file>: column 'X': what was expected``) with a non-zero exit code; the
traceback is shown only with ``--debug``.
"""

from __future__ import annotations

import importlib
import logging
import os
import sys

import typer

from rediscovery import __version__
from rediscovery.core.errors import RediscoveryError

__all__ = ["COMMAND_MODULES", "app", "cosmo_app", "higgs_app", "main"]

app = typer.Typer(
    name="rediscovery",
    help="Rediscover the Higgs boson and dark energy from data.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
higgs_app = typer.Typer(help="Higgs boson in H→ττ: events, features, classifiers, fit.",
                        no_args_is_help=True)
cosmo_app = typer.Typer(help="Cosmology: supernovae, CMB and joint fits for (H0, Ωm, ΩΛ).",
                        no_args_is_help=True)
app.add_typer(higgs_app, name="higgs")
app.add_typer(cosmo_app, name="cosmo")

#: (sub-app name, module) pairs; each module defines ``app: typer.Typer``.
COMMAND_MODULES: tuple[tuple[str, str], ...] = (
    # in pipeline order, which is the order of `rediscovery higgs --help`
    ("higgs", "rediscovery.higgs.commands.data"),
    ("higgs", "rediscovery.higgs.commands.features"),
    ("higgs", "rediscovery.higgs.commands.models"),
    ("higgs", "rediscovery.higgs.commands.stat"),
    ("higgs", "rediscovery.higgs.commands.systematics"),
    ("higgs", "rediscovery.higgs.commands.pipeline"),
    ("cosmo", "rediscovery.cosmo.commands.sn"),
    ("cosmo", "rediscovery.cosmo.commands.cmb"),
    ("cosmo", "rediscovery.cosmo.commands.joint"),
    ("cosmo", "rediscovery.cosmo.commands.pipeline"),
)


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"rediscovery {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version_callback, is_eager=True, help="Print the version."
    ),
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks and debug logging."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Only warnings and errors."),
) -> None:
    """Rediscover the Higgs boson and dark energy from data."""
    level = logging.DEBUG if debug else (logging.WARNING if quiet else logging.INFO)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s", force=True)
    if not debug:  # pyhf narrates every workspace and modifier it builds at INFO
        logging.getLogger("pyhf").setLevel(max(level, logging.WARNING))


@app.command("unblind")
def unblind_cmd(run: str = typer.Argument(..., help="A finished run directory.")) -> None:
    """Compare a run's results with the hidden truth of its simulation (truth.json)."""
    from rich.console import Console
    from rich.table import Table

    from rediscovery.core.unblind import unblind

    table = Table(title=f"unblinded: {run}")
    for col in ("parameter", "true", "estimate", "68% interval", "pull", "covered"):
        table.add_column(col, justify="right")
    for r in unblind(run):
        table.add_row(r["parameter"], f"{r['true']:.4g}", f"{r['estimate']:.4g}",
                      f"[{r['lo68']:.4g}, {r['hi68']:.4g}]", f"{r['pull']:+.2f}",
                      "yes" if r["covered"] else "NO")
    Console().print(table)


def _register() -> None:
    targets = {"higgs": higgs_app, "cosmo": cosmo_app}
    for sub, modname in COMMAND_MODULES:
        module = importlib.import_module(modname)
        targets[sub].registered_commands.extend(module.app.registered_commands)
        targets[sub].registered_groups.extend(module.app.registered_groups)


_register()


def main(argv: list[str] | None = None) -> int:
    """Entry point: run the CLI, turning package errors into one-line messages.

    Returns the exit code (and exits with it when called as a console script).
    """
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args
    # commands only write figures to files: never open a GUI backend (read at matplotlib import)
    os.environ.setdefault("MPLBACKEND", "Agg")
    try:
        rv = app(args=args, standalone_mode=False, prog_name="rediscovery")
        code = rv if isinstance(rv, int) else 0
    except RediscoveryError as exc:
        if debug:
            raise
        typer.echo(f"error: {exc}", err=True)
        code = exc.exit_code
    except typer.Exit as exc:
        code = exc.exit_code
    except typer.Abort:
        typer.echo("aborted", err=True)
        code = 130
    except typer.TyperException as exc:  # click usage errors (typer vendors click)
        show = getattr(exc, "show", None)
        if callable(show):
            show()
        else:
            typer.echo(f"error: {exc}", err=True)
        code = int(getattr(exc, "exit_code", 2))
    if argv is None:
        sys.exit(code)
    return code
