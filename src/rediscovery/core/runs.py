"""The run directory: configuration, provenance, per-stage caching.

A run folder holds ``config.yaml`` (the full resolved configuration), ``manifest.json``
(package versions, seed, input file hashes, per-stage status, timings and fingerprints), one
sub-folder per stage with its artifacts, ``results.json`` and ``report.html``.

A stage is skipped on re-run when its *fingerprint* -- a hash of its configuration and of the
SHA-256 of every input file -- equals the one recorded after its last successful run and its
outputs still exist. ``force`` re-runs it anyway.

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
from rediscovery.core.errors import InputError
from rediscovery.core.files import file_sha256, write_json, write_text

__all__ = ["Run", "StageContext", "environment_versions", "fingerprint"]

log = logging.getLogger(__name__)

#: Distributions whose versions are recorded in every manifest.
_TRACKED = (
    "numpy", "scipy", "pandas", "pyarrow", "scikit-learn", "xgboost-cpu", "lightgbm", "torch",
    "optuna", "pyhf", "iminuit", "emcee", "astropy", "sncosmo", "camb", "matplotlib",
)


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
        environment are updated.
        """
        p = Path(path)
        p.mkdir(parents=True, exist_ok=True)
        manifest: dict[str, Any] = {}
        if (p / "manifest.json").exists():
            manifest = json.loads((p / "manifest.json").read_text())
        manifest.setdefault("created", _dt.datetime.now(_dt.UTC).isoformat())
        manifest.setdefault("stages", {})
        manifest["seed"] = seed
        manifest["versions"] = environment_versions()
        manifest["platform"] = platform.platform()
        run = cls(p, manifest)
        write_text(p / "config.yaml", yaml.safe_dump(_plain(dict(config)), sort_keys=False))
        run.save()
        return run

    @classmethod
    def open(cls, path: str | os.PathLike[str]) -> Run:
        """Open an existing run directory."""
        p = Path(path)
        mf = p / "manifest.json"
        if not mf.exists():
            raise InputError("not a run directory (no manifest.json)", path=p)
        return cls(p, json.loads(mf.read_text()))

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
        cfg = dict(config or {})
        fp = fingerprint(cfg, inputs)
        sdir = self.path / name
        sdir.mkdir(parents=True, exist_ok=True)
        prev = self.manifest["stages"].get(name, {})
        outs_ok = all((sdir / o).exists() for o in outputs)
        skip = (
            not force and prev.get("status") == "done" and prev.get("fingerprint") == fp and outs_ok
        )
        ctx = StageContext(name=name, dir=sdir, skipped=skip, results=dict(prev.get("results", {})))
        if skip:
            log.info("stage %s: inputs and config unchanged, skipped", name)
            yield ctx
            return
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
            entry = self.manifest["stages"][name]
            entry["status"] = "failed"
            entry["error"] = f"{type(exc).__name__}: {exc}"
            entry["seconds"] = time.perf_counter() - t0
            self.save()
            raise
        entry = self.manifest["stages"][name]
        entry["status"] = "done"
        entry["seconds"] = round(time.perf_counter() - t0, 4)
        entry["results"] = _plain(ctx.results)
        self.save()
        log.info("stage %s: done in %.1f s", name, entry["seconds"])

    def invalidate(self, names: Iterable[str]) -> None:
        """Mark stages as needing a re-run (used for ``--force STAGE`` and downstream)."""
        for n in names:
            if n in self.manifest["stages"]:
                self.manifest["stages"][n]["status"] = "stale"
        self.save()


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
