"""Fixtures of the detection tests: the synthetic-image helper module ``_synth``."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def synth():
    """The ``_synth`` helper module (synthetic new/reference pairs)."""
    name = "_sn_detect_synth"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name("_synth.py"))
        mod = importlib.util.module_from_spec(spec)
        sys.modules[name] = mod  # dataclasses look their module up while the class is built
        spec.loader.exec_module(mod)
    return sys.modules[name]
