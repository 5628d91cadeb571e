"""The run directory: configuration, provenance, per-stage caching.

A run folder holds ``config.yaml`` (the full resolved configuration), ``manifest.json``
(package versions, seed, input file hashes, per-stage status, timings and fingerprints), one
sub-folder per stage with its artifacts, ``results.json`` and ``report.html``.

A stage is skipped on re-run when its *fingerprint* -- a hash of its configuration and of the
SHA-256 of every input file -- equals the one recorded after its last successful run and every
file of its folder still has the size and SHA-256 recorded when it finished (a truncated,
modified or missing output re-runs it). ``force`` re-runs it anyway.

Stage states in the manifest: ``running``, ``done``, ``failed`` (an exception; the error is
recorded), ``interrupted`` (``KeyboardInterrupt``, or the process running it was killed: a stage
left ``running`` while no live process holds the run's lock, see
:mod:`rediscovery.core.lock`) and ``stale`` (an earlier stage re-ran after it finished: it is
skipped on the next run only if its fingerprint and outputs still match).
:func:`read_manifest` shows a killed run's stage as ``interrupted`` to every reader;
:meth:`Run.create` records it.

Example
-------
>>> import pathlib, tempfile
>>> root = pathlib.Path(tempfile.mkdtemp()) / "demo"
>>> run = Run.create(root, config={"seed": 1}, seed=1)
>>> with run.stage("simulate", config={"events": 1000}, outputs=["events.txt"]) as st:
...     if not st.skipped:
...         _ = (st.dir / "events.txt").write_text("1000 events")
>>> again = Run.create(root, config={"seed": 1}, seed=1)   # same config: the stage is skipped
>>> with again.stage("simulate", config={"events": 1000}, outputs=["events.txt"]) as st:
...     print(st.skipped)
True
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import hashlib
import importlib.metadata
import json
import logging
import os
import platform
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from rediscovery import __version__
from rediscovery.core.errors import InputError, RunLockedError
from rediscovery.core.files import (
    file_sha256,
    is_temporary,
    read_json_mapping,
    remove_temporary_files,
    write_json,
    write_text,
)
from rediscovery.core.lock import LOCK_FILE, read_lock

__all__ = [
    "INTERRUPTED",
    "REPORT_FILE",
    "RESULTS_FILE",
    "SUMMARY_FILES",
    "Run",
    "StageContext",
    "environment_versions",
    "fingerprint",
    "output_fingerprints",
    "read_manifest",
]

log = logging.getLogger(__name__)

#: Distributions whose versions are recorded in every manifest.
_TRACKED = (
    "numpy", "scipy", "pandas", "pyarrow", "scikit-learn", "xgboost-cpu", "lightgbm", "torch",
    "optuna", "pyhf", "iminuit", "emcee", "astropy", "sncosmo", "camb", "matplotlib",
)


#: Files at the top of a run directory that summarise the finished stages; removed when a stage
#: re-runs (they would describe the run before) and rewritten when the run finishes.
SUMMARY_FILES = ("results.json", "report.html")
RESULTS_FILE, REPORT_FILE = SUMMARY_FILES

#: Status of a stage whose process stopped (Ctrl-C, or killed) before it finished.
INTERRUPTED = "interrupted"

#: Statuses of a finished stage: a skip is possible (``stale``: after a check of its inputs).
_FINISHED = ("done", "stale")


def environment_versions() -> dict[str, str]:
    """Versions of Python, rediscovery and the tracked scientific libraries."""
    out = {"python": platform.python_version(), "rediscovery": __version__}
    for name in _TRACKED:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return out


def fingerprint(config: Mapping[str, Any], inputs: Iterable[str | os.PathLike[str]]) -> str:
    """Hash of a stage configuration and of its input files' contents."""
    h = hashlib.sha256()
    h.update(json.dumps(config, sort_keys=True, default=str).encode())
    for p in sorted(os.fspath(p) for p in inputs):
        if not Path(p).exists():
            raise InputError("input file does not exist", path=p)
        h.update(p.encode())
        h.update(file_sha256(p).encode())
    return h.hexdigest()


def output_fingerprints(folder: str | os.PathLike[str]) -> dict[str, dict[str, Any]]:
    """``{path relative to folder: {"size": bytes, "sha256": hex}}`` of every file below
    ``folder`` (temporary files of :func:`~rediscovery.core.files.atomic_path` left out)."""
    root = Path(folder)
    out = {}
    for p in sorted(root.rglob("*")):
        if p.is_file() and not is_temporary(p):
            out[p.relative_to(root).as_posix()] = {"size": p.stat().st_size,
                                                   "sha256": file_sha256(p)}
    return out


def _outputs_problem(folder: Path, recorded: Any, required: Iterable[str]) -> str | None:
    """Why the outputs of a finished stage cannot be trusted, or ``None`` if they can."""
    for name in required:
        if not (folder / name).exists():
            return f"its output {folder / name} is missing"
    if not isinstance(recorded, Mapping):
        return ("no fingerprints of its output files are recorded (a run directory of an "
                "earlier version)")
    for rel, fp in recorded.items():
        p = folder / rel
        if not isinstance(fp, Mapping):
            return f"the recorded fingerprint of {p} is not readable"
        if not p.is_file():
            return f"its output {p} is missing"
        size = p.stat().st_size
        if size != fp.get("size"):
            return (f"its output {p} has {size} bytes, {fp.get('size')} were written "
                    "(truncated or modified)")
        if file_sha256(p) != fp.get("sha256"):
            return f"its output {p} was modified (SHA-256 differs from the recorded one)"
    return None


def _mark_interrupted(manifest: Mapping[str, Any], run_dir: Path, *,
                      this_process_runs: bool) -> list[str]:
    """Set the stages left ``running`` to ``interrupted`` unless a live process holds the lock
    of ``run_dir`` (this process counts only if ``this_process_runs``: a reader inside a run,
    not a run that is starting); returns their names."""
    stages = manifest.get("stages")
    if not isinstance(stages, Mapping):
        return []
    running = [n for n, st in stages.items()
               if isinstance(st, dict) and st.get("status") == "running"]
    holder = read_lock(run_dir)
    if not running or (holder is not None and holder.is_alive()
                       and (this_process_runs or not holder.is_this_process)):
        return []
    for n in running:
        stages[n]["status"] = INTERRUPTED
        stages[n].setdefault("error", "the process running it stopped before it finished")
    return running


def read_manifest(run_dir: str | os.PathLike[str]) -> dict[str, Any]:
    """The manifest of a run directory for readers (reports): ``{}`` when it is missing or
    unreadable; a stage left ``running`` by a process that no longer holds the run's lock is
    shown as ``interrupted``."""
    root = Path(run_dir)
    manifest = read_json_mapping(root / "manifest.json")
    _mark_interrupted(manifest, root, this_process_runs=True)
    return manifest


def _load_manifest(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except ValueError as exc:
        raise InputError(f"not valid JSON ({exc}); delete it to start the run afresh (every "
                         "stage then re-runs)", path=path) from exc
    if not isinstance(data, dict):
        raise InputError("expected a JSON object (the run's manifest)", path=path)
    return data


@dataclass
class StageContext:
    """What a stage body sees: its folder, whether it was skipped, and a place for results."""

    name: str
    dir: Path
    skipped: bool
    outputs: list[Path] = field(default_factory=list)
    results: dict[str, Any] = field(default_factory=dict)


class Run:
    """A run directory with its manifest. Use :meth:`create` or :meth:`open`."""

    def __init__(self, path: Path, manifest: dict[str, Any]) -> None:
        self.path = path
        self.manifest = manifest

    # -- construction --------------------------------------------------------------------
    @classmethod
    def create(
        cls, path: str | os.PathLike[str], *, config: Mapping[str, Any], seed: int | None
    ) -> Run:
        """Open ``path`` as a run (creating it), recording ``config`` and ``seed``.

        An existing manifest is kept so that finished stages can be skipped; the config and
        environment are updated, and stages that a killed process left ``running`` are
        recorded as ``interrupted``. The caller should hold the run's
        :class:`~rediscovery.core.lock.RunLock` (``run_stages`` does).

        Raises
        ------
        RunLockedError
            If another live process holds the run's lock.
        InputError
            If ``manifest.json`` exists but is not a JSON object.
        """
        p = Path(path)
        p.mkdir(parents=True, exist_ok=True)
        holder = read_lock(p)
        if holder is not None and holder.is_alive() and not holder.is_this_process:
            raise RunLockedError(p / LOCK_FILE, holder.pid, holder.host, holder.started,
                                 checked=holder.on_this_host)
        manifest: dict[str, Any] = {}
        if (p / "manifest.json").exists():
            manifest = _load_manifest(p / "manifest.json")
        manifest.setdefault("created", _dt.datetime.now(_dt.UTC).isoformat())
        manifest.setdefault("stages", {})
        for name in _mark_interrupted(manifest, p, this_process_runs=False):
            log.warning("stage %s was interrupted by the end of its process (started %s); "
                        "it runs again", name, manifest["stages"][name].get("started", "?"))
        manifest["seed"] = seed
        manifest["versions"] = environment_versions()
        manifest["platform"] = platform.platform()
        run = cls(p, manifest)
        write_text(p / "config.yaml", yaml.safe_dump(_plain(dict(config)), sort_keys=False))
        run.save()
        return run

    @classmethod
    def open(cls, path: str | os.PathLike[str]) -> Run:
        """Open an existing run directory (stages of a killed process shown ``interrupted``,
        as in :func:`read_manifest`)."""
        p = Path(path)
        mf = p / "manifest.json"
        if not mf.exists():
            raise InputError("not a run directory (no manifest.json)", path=p)
        manifest = _load_manifest(mf)
        _mark_interrupted(manifest, p, this_process_runs=True)
        return cls(p, manifest)

    def save(self) -> None:
        """Write ``manifest.json`` atomically."""
        write_json(self.path / "manifest.json", self.manifest)

    # -- stages --------------------------------------------------------------------------
    @contextlib.contextmanager
    def stage(
        self,
        name: str,
        *,
        inputs: Iterable[str | os.PathLike[str]] = (),
        config: Mapping[str, Any] | None = None,
        outputs: Iterable[str] = (),
        force: bool = False,
    ) -> Iterator[StageContext]:
        """Run (or skip) one stage.

        The stage is skipped when it finished before (``done``, or ``stale`` after an earlier
        stage re-ran) with the same fingerprint, and every file of its folder has the size and
        SHA-256 recorded then (:func:`output_fingerprints`, stored under ``outputs``). Else
        it runs: temporary files a killed process left in its folder are removed first; an
        exception marks it ``failed``, a ``KeyboardInterrupt`` (or another
        ``BaseException``) ``interrupted``, and is re-raised.

        Parameters
        ----------
        name
            Stage name; its artifacts go to ``<run>/<name>/``.
        inputs
            Files the stage reads; their hashes enter the fingerprint and the manifest.
        config
            The stage configuration (JSON-serialisable).
        outputs
            File names (relative to the stage folder) that must exist for a skip to be valid.
        force
            Re-run even if the fingerprint is unchanged.
        """
        inputs = [Path(p) for p in inputs]
        outputs = list(outputs)
        cfg = dict(config or {})
        fp = fingerprint(cfg, inputs)
        sdir = self.path / name
        sdir.mkdir(parents=True, exist_ok=True)
        prev = self.manifest["stages"].get(name, {})
        if force:
            reason: str | None = "forced"
        elif prev.get("status") not in _FINISHED:
            reason = f"status {prev['status']!r}" if "status" in prev else "first run"
        elif prev.get("fingerprint") != fp:
            reason = "its inputs or configuration changed"
        else:
            reason = _outputs_problem(sdir, prev.get("outputs"), outputs)
            if reason is not None:
                log.warning("stage %s: %s; it runs again", name, reason)
        ctx = StageContext(name=name, dir=sdir, skipped=reason is None,
                           results=dict(prev.get("results", {})))
        if reason is None:
            log.info("stage %s: inputs, configuration and outputs unchanged, skipped", name)
            if prev.get("status") != "done":
                prev["status"] = "done"
                self.save()
            yield ctx
            return
        log.debug("stage %s runs: %s", name, reason)
        for tmp in remove_temporary_files(sdir):
            log.info("stage %s: removed %s, left by an interrupted write", name, tmp)
        self.manifest["stages"][name] = {
            "status": "running",
            "fingerprint": fp,
            "config": cfg,
            "inputs": {os.fspath(p): file_sha256(p) for p in inputs},
            "started": _dt.datetime.now(_dt.UTC).isoformat(),
        }
        self.save()
        t0 = time.perf_counter()
        try:
            yield ctx
        except Exception as exc:
            self._finish(name, "failed", t0, f"{type(exc).__name__}: {exc}")
            raise
        except BaseException as exc:  # KeyboardInterrupt, SystemExit
            self._finish(name, INTERRUPTED, t0, f"{type(exc).__name__} during the stage")
            raise
        entry = self.manifest["stages"][name]
        entry["outputs"] = output_fingerprints(sdir)
        entry["status"] = "done"
        entry["seconds"] = round(time.perf_counter() - t0, 4)
        entry["results"] = _plain(ctx.results)
        self.save()
        log.info("stage %s: done in %.1f s", name, entry["seconds"])

    def _finish(self, name: str, status: str, t0: float, error: str) -> None:
        entry = self.manifest["stages"][name]
        entry["status"] = status
        entry["error"] = error
        entry["seconds"] = round(time.perf_counter() - t0, 4)
        self.save()

    def invalidate(self, names: Iterable[str]) -> None:
        """Mark the finished stages ``names`` ``stale`` (an earlier stage re-runs: they are
        re-checked on the next run) and remove :data:`SUMMARY_FILES`, which describe the run
        as it was."""
        for n in names:
            entry = self.manifest["stages"].get(n)
            if entry is not None and entry.get("status") == "done":
                entry["status"] = "stale"
        self.save()
        for f in SUMMARY_FILES:
            (self.path / f).unlink(missing_ok=True)


def _plain(obj: Any) -> Any:
    """Convert numpy scalars/arrays and paths inside ``obj`` to plain Python for YAML/JSON."""
    if isinstance(obj, Mapping):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_plain(v) for v in obj]
    if isinstance(obj, os.PathLike):
        return os.fspath(obj)
    if hasattr(obj, "tolist"):
        return obj.tolist()
    return obj
