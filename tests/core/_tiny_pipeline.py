"""A three-stage pipeline a → b → c that runs in milliseconds, for the run-directory tests.

Importable by name (the tests put this folder on ``sys.path``, or on ``PYTHONPATH`` of a
subprocess) so that a subprocess can run it and ``--stage`` can name its functions.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from rediscovery.core.files import write_text
from rediscovery.core.pipeline import run_analysis


class TinyConfig(BaseModel):
    """``seed`` enters the fingerprints; the other settings steer the tests only."""

    seed: int = 1
    salt: int = 0          # changes a's output without changing its fingerprint
    fail: bool = False     # b raises RuntimeError
    interrupt: bool = False  # b raises KeyboardInterrupt
    sleep: float = 0.0     # b sleeps this long after touching ``marker``
    marker: str = ""


def stage_a(inputs: dict[str, Path], out: Path, config: TinyConfig) -> dict[str, Any]:
    write_text(out / "a.txt", f"seed {config.seed} salt {config.salt}\n" * 1000)
    return {"lines": 1000}


def stage_b(inputs: dict[str, Path], out: Path, config: TinyConfig) -> dict[str, Any]:
    if config.marker:
        Path(config.marker).write_text("b started")
    if config.sleep:
        time.sleep(config.sleep)
    if config.fail:
        raise RuntimeError("b failed on purpose")
    if config.interrupt:
        raise KeyboardInterrupt
    digest = hashlib.sha256(inputs["a"].read_bytes()).hexdigest()
    write_text(out / "b.txt", digest + "\n")
    return {}


def stage_c(inputs: dict[str, Path], out: Path, config: TinyConfig) -> dict[str, Any]:
    write_text(out / "c.txt", inputs["b"].read_text().upper())
    return {}


def interrupt_stage(inputs: dict[str, Path], out: Path, config: Any) -> dict[str, Any]:
    """A replacement stage for ``--stage NAME=_tiny_pipeline:interrupt_stage``: Ctrl-C."""
    raise KeyboardInterrupt


STAGES = {"a": (stage_a, {}), "b": (stage_b, {"a": "a/a.txt"}), "c": (stage_c, {"b": "b/b.txt"})}
OUTPUTS = {"a": ["a.txt"], "b": ["b.txt"], "c": ["c.txt"]}


def results(root: Path) -> dict[str, Any]:
    return {"c": (root / "c" / "c.txt").read_text().strip()}


def run(out: str | Path, force: Sequence[str] = (), **settings: Any) -> dict[str, Any]:
    """Run (or resume) the tiny analysis in ``out``."""
    config = TinyConfig(**settings)
    return run_analysis(out, STAGES, OUTPUTS, config, section="tiny", final="c",
                        results=results, title="tiny run", config_json={"seed": config.seed},
                        force=force)
