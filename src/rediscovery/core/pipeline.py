"""Generic stage chain of a run directory (shared by ``higgs run`` and ``cosmo run``).

A pipeline is an ordered mapping ``{stage name: (function, {input name: path relative to the
run})}`` plus, per stage, the output file names that must exist for a skip to be valid.
:func:`run_stages` opens a :class:`~rediscovery.core.runs.Run` and walks it: a stage whose input
files and configuration are unchanged is skipped, ``force`` re-runs a stage and every later
one, ``replace`` swaps a stage for ``package.module:function`` of the same signature
``stage(inputs: dict[str, Path], out: Path, config) -> dict``.

A run holds the directory's :class:`~rediscovery.core.lock.RunLock` from start to end, so a
second run on the same folder stops at once. When a stage runs (is not skipped), every later
stage is marked ``stale`` and ``results.json``/``report.html`` are removed until the run
finishes; a ``KeyboardInterrupt`` inside a stage marks it ``interrupted`` and becomes
:class:`~rediscovery.core.errors.RunInterrupted` (exit code 130).
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from rediscovery.core.errors import ConfigError, InputError, RunInterrupted
from rediscovery.core.files import write_json
from rediscovery.core.lock import RunLock
from rediscovery.core.report import write_report
from rediscovery.core.runs import INTERRUPTED, RESULTS_FILE, Run

if TYPE_CHECKING:
    from pydantic import BaseModel

__all__ = ["StageFunction", "check_stage_names", "input_files", "load_run_config",
           "load_stage_function", "parse_replacements", "print_run_summary", "run_analysis",
           "run_stages"]

log = logging.getLogger(__name__)

ConfigModel = TypeVar("ConfigModel", bound="BaseModel")

#: ``stage(inputs, out, config) -> JSON-ready summary``
StageFunction = Callable[[dict[str, Path], Path, Any], dict[str, Any]]


def load_stage_function(spec: str) -> StageFunction:
    """Import ``package.module:function`` (a replacement stage).

    Raises
    ------
    ConfigError
        If ``spec`` is malformed, cannot be imported or is not callable.
    """
    mod, sep, attr = spec.partition(":")
    if not sep or not mod or not attr:
        raise ConfigError(f"stage function {spec!r}: expected 'package.module:function'")
    try:
        func = getattr(importlib.import_module(mod), attr)
    except (ImportError, AttributeError) as exc:
        raise ConfigError(f"stage function {spec!r} cannot be imported: {exc}") from exc
    if not callable(func):
        raise ConfigError(f"stage function {spec!r} is not callable")
    return func


def parse_replacements(items: Sequence[str]) -> dict[str, str]:
    """``["STAGE=package.module:function", ...]`` (the CLI's ``--stage``) as a dict."""
    out = {}
    for item in items:
        stage, sep, func = item.partition("=")
        if not sep:
            raise ConfigError(f"--stage {item!r}: expected STAGE=package.module:function")
        out[stage.strip()] = func.strip()
    return out


def load_run_config(model: type[ConfigModel], section: str, path: Path | None,
                    overrides: Mapping[str, Any],
                    options: Mapping[str, str] | None = None) -> ConfigModel:
    """A run configuration from an optional YAML file (its ``section`` or the whole mapping)
    with the non-``None`` ``overrides`` (CLI options) on top, validated by ``model``.

    A rejected value is reported with where it came from: the option (``options`` maps a
    field to its option, default ``--field-name``) or the configuration file.

    Raises
    ------
    ConfigError
        Unreadable YAML, a file that is not a mapping, or values the model rejects.
    """
    import yaml

    data: dict[str, Any] = {}
    if path is not None:
        try:
            data = yaml.safe_load(path.read_text()) or {}
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = "" if mark is None else f" at line {mark.line + 1}, column {mark.column + 1}"
            problem = getattr(exc, "problem", None) or type(exc).__name__
            raise ConfigError(f"{path} (--config): not valid YAML ({problem}{where})") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{path} (--config): cannot read the YAML configuration ({exc})") \
                from None
        if not isinstance(data, dict):
            raise ConfigError(f"{path} (--config): expected a mapping of {model.__name__} fields")
        data = data.get(section, data)
    data.update({k: v for k, v in overrides.items() if v is not None})
    try:
        return model.model_validate(data)
    except ValueError as exc:
        errors = getattr(exc, "errors", None)
        if not callable(errors):
            raise ConfigError(f"invalid configuration: {exc}".replace("\n", "; ")) from exc
        given = {k for k, v in overrides.items() if v is not None}
        parts = []
        for err in errors():
            field = ".".join(str(x) for x in err.get("loc", ())) or "?"
            top = str(err.get("loc", ("?",))[0]) if err.get("loc") else "?"
            if top in given:
                where = f"{(options or {}).get(top, '--' + top.replace('_', '-'))} ({field})"
            elif path is not None:
                where = f"{path}: {field}"
            else:
                where = field
            parts.append(f"{where} = {err.get('input')!r}: {err.get('msg', 'invalid')}")
        raise ConfigError(f"invalid {section} run configuration: " + "; ".join(parts)) from None


def print_run_summary(title: str, rows: Mapping[str, str], out: Path,
                      stages: Sequence[str]) -> None:
    """Print the headline results of a run (a two-column table) and where its report is."""
    from rich.console import Console
    from rich.table import Table

    console = Console()
    if rows:
        table = Table(title=f"{title} {out} (blinded: `rediscovery unblind {out}`)")
        table.add_column("result")
        table.add_column("value", justify="right")
        for k, v in rows.items():
            table.add_row(k, v)
        console.print(table)
    console.print(f"report: {out / 'report.html'}   stages: {', '.join(stages)}")


def input_files(paths: Mapping[str, Path]) -> list[Path]:
    """The files behind ``paths`` (a folder contributes every file below it, sorted)."""
    files: list[Path] = []
    for p in paths.values():
        files.extend(sorted(q for q in p.rglob("*") if q.is_file()) if p.is_dir() else [p])
    return files


def check_stage_names(stages: Sequence[str], *, replace: Mapping[str, str] | None = None,
                      force: Sequence[str] = (), until: str | None = None) -> None:
    """Validate stage names and replacements before anything runs.

    Raises
    ------
    ConfigError
        If ``replace``/``force``/``until`` name an unknown stage, or a replacement function
        cannot be imported.
    """
    named = set(replace or {}) | set(force) | ({until} if until else set())
    unknown = sorted(named - set(stages))
    if unknown:
        raise ConfigError(f"unknown stage(s) {unknown}; stages are {list(stages)}")
    for spec in (replace or {}).values():
        load_stage_function(spec)


def run_stages(
    out: str | Path,
    stages: Mapping[str, tuple[StageFunction, Mapping[str, str]]],
    outputs: Mapping[str, Sequence[str]],
    config: Any,
    *,
    section: str,
    config_json: Mapping[str, Any] | None = None,
    replace: Mapping[str, str] | None = None,
    force: Sequence[str] = (),
    until: str | None = None,
) -> Run:
    """Open the run directory ``out`` and run (or skip) every stage of ``stages`` in order.

    Stage names and replacements are validated first, so that a bad request writes nothing.

    Parameters
    ----------
    out
        The run directory (created; an existing one is resumed).
    stages
        ``{name: (built-in function, {input name: path relative to the run})}``.
    outputs
        ``{name: [file names in <run>/<name>/]}`` that must exist for a skip.
    config
        The configuration (a pydantic model with a ``seed``) handed to every stage function;
        written to ``config.yaml`` under ``section``.
    section
        Key of the configuration in ``config.yaml`` (``"higgs"``, ``"cosmo"``).
    config_json
        The JSON form entering every stage's fingerprint (default: the whole configuration;
        leave out settings that do not change results, such as progress bars).
    replace
        ``{stage: "package.module:function"}`` replacement stages.
    force
        Stages to re-run even if unchanged; every later stage re-runs too.
    until
        Stop after this stage.

    Returns
    -------
    Run
        The run, for the caller's results and report.

    Raises
    ------
    ConfigError
        Unknown stage names or an unloadable replacement.
    InputError
        An input of a stage is missing (an earlier stage was not run).
    RunLockedError
        Another live process runs in ``out`` (nothing is done).
    RunInterrupted
        ``KeyboardInterrupt`` (Ctrl-C) during a stage, which is marked ``interrupted``.
    """
    replace = dict(replace or {})
    check_stage_names(list(stages), replace=replace, force=force, until=until)
    full_json = config.model_dump(mode="json")
    with RunLock(out):
        run = Run.create(out, config={section: full_json, "replace": replace}, seed=config.seed)
        fingerprint_json = dict(full_json if config_json is None else config_json)
        names = list(stages)
        first_forced = min((names.index(s) for s in force), default=len(stages))
        for i, (name, (builtin, rel_inputs)) in enumerate(stages.items()):
            func = load_stage_function(replace[name]) if name in replace else builtin
            inputs = {k: run.path / v for k, v in rel_inputs.items()}
            for k, p in inputs.items():
                if not p.exists():
                    raise InputError(f"input {k!r} of stage {name!r} is missing; run the "
                                     "earlier stages first", path=p)
            stage_cfg = {"config": fingerprint_json, "function": replace.get(name, "builtin")}
            try:
                with run.stage(name, inputs=input_files(inputs), config=stage_cfg,
                               outputs=outputs[name], force=i >= first_forced) as st:
                    if not st.skipped:
                        run.invalidate(names[i + 1:])
                        log.info("stage %s: running", name)
                        st.results.update(func(inputs, st.dir, config) or {})
            except KeyboardInterrupt as exc:
                if run.manifest["stages"].get(name, {}).get("status") != INTERRUPTED:
                    raise  # while checking whether to skip it: nothing to record
                raise RunInterrupted(run.path, name) from exc
            if name == until:
                break
    return run


def run_analysis(
    out: str | Path,
    stages: Mapping[str, tuple[StageFunction, Mapping[str, str]]],
    outputs: Mapping[str, Sequence[str]],
    config: BaseModel,
    *,
    section: str,
    final: str,
    results: Callable[[Path], dict[str, Any]],
    title: str,
    config_json: Mapping[str, Any] | None = None,
    replace: Mapping[str, str] | None = None,
    force: Sequence[str] = (),
    until: str | None = None,
) -> dict[str, Any]:
    """Run (or resume) a whole analysis: :func:`run_stages`, then ``results.json`` and
    ``report.html`` at the top of the run directory.

    Parameters
    ----------
    out, stages, outputs, config, section, config_json, replace, force, until
        As in :func:`run_stages`.
    final
        The stage whose outputs the results are read from.
    results
        ``results(run_directory) -> dict``: the content of ``results.json``, called only when
        every output of ``final`` exists and the run was not stopped before it.
    title
        Title of the HTML report (the run directory's name is appended).

    Returns
    -------
    dict
        The content of ``results.json``; empty if the run stopped before ``final``.

    Raises
    ------
    ConfigError, InputError, RunLockedError, RunInterrupted
        As in :func:`run_stages`; the run's lock is held until ``report.html`` is written.
    """
    check_stage_names(list(stages), replace=replace, force=force, until=until)
    with RunLock(out):
        run = run_stages(out, stages, outputs, config, section=section,
                         config_json=config_json, replace=replace, force=force, until=until)
        content: dict[str, Any] = {}
        if until in (None, final) and all((run.path / final / f).exists()
                                          for f in outputs[final]):
            content = results(run.path)
            write_json(run.path / RESULTS_FILE, content)
        write_report(run.path, title=f"{title} {run.path.name}")
    return content
