"""The ``rediscovery`` command line: a thin typer layer over the library.

Sub-apps: ``rediscovery higgs …``, ``rediscovery cosmo …``, ``rediscovery anomaly …`` and
``rediscovery models …``.
Each stage's commands live in their own module (listed in :data:`COMMAND_MODULES`) that
defines a ``typer.Typer`` named ``app`` whose commands are merged into the sub-app, so teams
can add commands without touching each other's files.

Errors that derive from :class:`~rediscovery.core.errors.RediscoveryError` are printed on one
line (``error: <file>: column 'X': what was expected``) with a non-zero exit code; the
traceback is shown only with ``--debug``. The operating system's refusals (permission denied,
a folder where a file was expected, a full disk, ...) raised anywhere are printed the same way,
naming the path, with exit code 2; any other unexpected exception is one line with exit code
1 and a pointer to ``--debug``. The codes are listed in docs/errors.md.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import logging
import math
import os
import sys
import typing
from collections.abc import Callable
from typing import Any

import typer

from rediscovery import __version__
from rediscovery.core.errors import ConfigError, RediscoveryError, plain_text

__all__ = ["COMMAND_MODULES", "EXIT_INTERNAL", "EXIT_USAGE", "MAX_INT_OPTION", "anomaly_app",
           "app", "cosmo_app", "higgs_app", "main", "models_app", "os_error_message"]

#: Exit code of a refused input, option, path or file (also click's usage errors).
EXIT_USAGE = 2
#: Exit code of an unexpected error (a bug: please report it with the ``--debug`` output).
EXIT_INTERNAL = 1

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
anomaly_app = typer.Typer(help="Anomaly detection: events unlike the bulk, without labels.",
                          no_args_is_help=True)
app.add_typer(higgs_app, name="higgs")
app.add_typer(cosmo_app, name="cosmo")
models_app = typer.Typer(help="Trained models: list, show, export and import model cards.",
                         no_args_is_help=True)
app.add_typer(anomaly_app, name="anomaly")
app.add_typer(models_app, name="models")

#: (sub-app name, module) pairs; each module defines ``app: typer.Typer``.
COMMAND_MODULES: tuple[tuple[str, str], ...] = (
    # in pipeline order, which is the order of `rediscovery higgs --help`
    ("higgs", "rediscovery.higgs.commands.data"),
    ("higgs", "rediscovery.higgs.commands.features"),
    ("higgs", "rediscovery.higgs.commands.models"),
    ("higgs", "rediscovery.higgs.commands.stat"),
    ("higgs", "rediscovery.higgs.commands.systematics"),
    ("higgs", "rediscovery.higgs.commands.generate"),
    ("higgs", "rediscovery.higgs.commands.pipeline"),
    ("higgs", "rediscovery.higgs.commands.explore"),
    ("cosmo", "rediscovery.cosmo.commands.sn"),
    ("cosmo", "rediscovery.cosmo.commands.sn_images"),
    ("cosmo", "rediscovery.cosmo.commands.sn_detect"),
    ("cosmo", "rediscovery.cosmo.commands.cmb"),
    ("cosmo", "rediscovery.cosmo.commands.cmb_tod"),
    ("cosmo", "rediscovery.cosmo.commands.cmb_spectrum"),
    ("cosmo", "rediscovery.cosmo.commands.joint"),
    ("cosmo", "rediscovery.cosmo.commands.pipeline"),
    ("anomaly", "rediscovery.anomaly.commands"),
    ("models", "rediscovery.models.commands"),
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
    console = Console()
    console.print(table)
    from rediscovery.cosmo.sn.photometry.validation import run_summary, summary_rows

    detection = run_summary(run)  # a run from images: detection and photometry vs the truth
    if detection is not None:
        dtable = Table(title="supernova detection and photometry vs images/truth.json")
        dtable.add_column("quantity", justify="left")
        dtable.add_column("value", justify="right")
        for quantity, value in summary_rows(detection):
            dtable.add_row(quantity, value)
        console.print(dtable)


#: Largest integer option value: what NumPy's int64 holds (a count or seed beyond it cannot
#: be used by any stage).
MAX_INT_OPTION = 2**63 - 1


def _checked_numbers(func: Callable[..., Any]) -> Callable[..., Any]:
    """``func`` (a command) refusing, before it runs, a non-finite value of any float option
    (``nan``, ``inf``) and an integer option beyond int64, naming the option."""
    try:
        hints = typing.get_type_hints(func)
    except (NameError, TypeError):  # an annotation that cannot be resolved: leave it alone
        return func
    checks: dict[str, tuple[str, type]] = {}
    for name, param in inspect.signature(func).parameters.items():
        hint = hints.get(name)
        kinds = set(typing.get_args(hint)) if typing.get_args(hint) else {hint}
        kind = float if float in kinds else int if int in kinds else None
        if kind is None or bool in kinds:
            continue
        decls = getattr(param.default, "param_decls", None) or ()
        flag = next((d for d in decls if d.startswith("--")), "--" + name.replace("_", "-"))
        checks[name] = (flag, kind)

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        for name, (flag, kind) in checks.items():
            value = kwargs.get(name)
            if kind is float and isinstance(value, float) and not math.isfinite(value):
                raise ConfigError(f"{flag} {value}: expected a finite number")
            if kind is int and isinstance(value, int) and abs(value) > MAX_INT_OPTION:
                raise ConfigError(f"{flag} {value}: too large (at most {MAX_INT_OPTION})")
        return func(*args, **kwargs)

    return wrapper


def _check_numbers_of(typer_app: typer.Typer) -> None:
    for info in typer_app.registered_commands:
        if info.callback is not None:
            info.callback = _checked_numbers(info.callback)
    for group in typer_app.registered_groups:
        if group.typer_instance is not None:
            _check_numbers_of(group.typer_instance)


def _register() -> None:
    targets = {"higgs": higgs_app, "cosmo": cosmo_app, "anomaly": anomaly_app,
               "models": models_app}
    for sub, modname in COMMAND_MODULES:
        module = importlib.import_module(modname)
        _check_numbers_of(module.app)
        targets[sub].registered_commands.extend(module.app.registered_commands)
        targets[sub].registered_groups.extend(module.app.registered_groups)


_register()


def _one_line(text: str) -> str:
    """A message on one line: its lines joined with '; '."""
    return "; ".join(line.strip() for line in text.splitlines() if line.strip())


def os_error_message(exc: OSError) -> str:
    """One line for an operating-system error: the path(s), the reason, a hint to fix it."""
    import errno

    paths = [str(f) for f in (exc.filename, exc.filename2) if f is not None]
    reason = exc.strerror or str(exc) or type(exc).__name__
    hints = {
        errno.EACCES: "choose a location you can write to (or fix its permissions)",
        errno.EPERM: "choose a location you can write to (or fix its permissions)",
        errno.EROFS: "the file system is read-only; choose another location",
        errno.ENOSPC: "the disk is full; free space or choose another location",
        errno.EDQUOT: "the disk quota is exceeded; free space or choose another location",
        errno.EISDIR: "a folder is in the way; give a file path",
        errno.ENOTDIR: "a file is in the way; give a path whose parents are folders",
        errno.EEXIST: "remove it or choose another path",
        errno.ENOENT: "check the path",
        errno.ENAMETOOLONG: "choose a shorter path",
    }
    hint = hints.get(exc.errno or -1)
    where = " -> ".join(paths)
    text = f"{where}: {reason}" if where else reason
    return f"{text}; {hint}" if hint else text


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
        typer.echo(f"error: {_one_line(str(exc))}", err=True)
        code = exc.exit_code
    except typer.Exit as exc:
        code = exc.exit_code
    except (typer.Abort, KeyboardInterrupt):
        typer.echo("aborted", err=True)
        code = 130
    except typer.TyperException as exc:  # click usage errors (typer vendors click)
        show = getattr(exc, "show", None)
        if type(exc).__name__ == "NoArgsIsHelpError" and callable(show):
            show()  # a group called without a command: its help
        else:  # one line naming the option, like every other error
            ctx = getattr(exc, "ctx", None)
            hint = f" (see '{ctx.command_path} --help')" if ctx is not None else ""
            message = " ".join(exc.format_message().split())
            typer.echo(f"error: {message}{hint}", err=True)
        code = int(getattr(exc, "exit_code", EXIT_USAGE))
    except OSError as exc:  # permission denied, a folder in the way, disk full, ...
        if debug:
            raise
        typer.echo(f"error: {_one_line(os_error_message(exc))}", err=True)
        code = EXIT_USAGE
    except MemoryError:
        if debug:
            raise
        typer.echo("error: out of memory; use a smaller input or sample size", err=True)
        code = EXIT_USAGE
    except Exception as exc:  # a bug: one line, the traceback with --debug
        if debug:
            raise
        first = plain_text((str(exc).strip().splitlines() or [""])[0])
        typer.echo(f"error: internal error {type(exc).__name__}: {first} (please report it; "
                   "run again with --debug for the traceback)", err=True)
        code = EXIT_INTERNAL
    if argv is None:
        sys.exit(code)
    return code
