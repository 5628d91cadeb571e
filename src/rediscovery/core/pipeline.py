"""Generic stage chain of a run directory (shared by ``higgs run`` and ``cosmo run``).

A pipeline is an ordered mapping ``{stage name: (function, {input name: path relative to the
run})}`` plus, per stage, the output file names that must exist for a skip to be valid.
:func:`run_stages` walks it inside a :class:`~rediscovery.core.runs.Run`: a stage whose input
files and configuration are unchanged is skipped, ``force`` re-runs a stage and every later
one, ``replace`` swaps a stage for ``package.module:function`` of the same signature
``stage(inputs: dict[str, Path], out: Path, config) -> dict``.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from rediscovery.core.errors import ConfigError, InputError
from rediscovery.core.runs import Run

__all__ = ["StageFunction", "check_stage_names", "input_files", "load_stage_function",
           "run_stages"]

log = logging.getLogger(__name__)

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
    run: Run,
    stages: Mapping[str, tuple[StageFunction, Mapping[str, str]]],
    outputs: Mapping[str, Sequence[str]],
    config: Any,
    *,
    config_json: Mapping[str, Any],
    replace: Mapping[str, str] | None = None,
    force: Sequence[str] = (),
    until: str | None = None,
) -> None:
    """Run (or skip) every stage of ``stages`` in order in ``run``.

    Parameters
    ----------
    run
        The run directory.
    stages
        ``{name: (built-in function, {input name: path relative to the run})}``.
    outputs
        ``{name: [file names in <run>/<name>/]}`` that must exist for a skip.
    config
        The configuration object handed to every stage function.
    config_json
        Its JSON form (enters every stage's fingerprint).
    replace
        ``{stage: "package.module:function"}`` replacement stages.
    force
        Stages to re-run even if unchanged; every later stage re-runs too.
    until
        Stop after this stage.

    Raises
    ------
    ConfigError
        Unknown stage names or an unloadable replacement.
    InputError
        An input of a stage is missing (an earlier stage was not run).
    """
    replace = dict(replace or {})
    check_stage_names(list(stages), replace=replace, force=force, until=until)
    first_forced = min((list(stages).index(s) for s in force), default=len(stages))
    for i, (name, (builtin, rel_inputs)) in enumerate(stages.items()):
        func = load_stage_function(replace[name]) if name in replace else builtin
        inputs = {k: run.path / v for k, v in rel_inputs.items()}
        for k, p in inputs.items():
            if not p.exists():
                raise InputError(f"input {k!r} of stage {name!r} is missing; run the earlier "
                                 "stages first", path=p)
        stage_cfg = {"config": dict(config_json), "function": replace.get(name, "builtin")}
        with run.stage(name, inputs=input_files(inputs), config=stage_cfg,
                       outputs=outputs[name], force=i >= first_forced) as st:
            if not st.skipped:
                log.info("stage %s: running", name)
                st.results.update(func(inputs, st.dir, config) or {})
        if name == until:
            break
