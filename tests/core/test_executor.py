"""Local and serial execution give identical, ordered results (rediscovery.core.executor)."""

from __future__ import annotations

import numpy as np
import pytest

from rediscovery.core.errors import ConfigError
from rediscovery.core.executor import map_tasks


def _draw(seed: int) -> float:
    return float(np.random.default_rng(seed).normal())


def test_processes_match_serial_and_keep_order():
    seeds = list(range(12))
    serial = map_tasks(_draw, seeds, n_workers=1, progress=False)
    parallel = map_tasks(_draw, seeds, n_workers=2, progress=False)
    assert serial == parallel == [_draw(s) for s in seeds]


def test_empty_and_bad_workers():
    assert map_tasks(_draw, [], progress=False) == []
    with pytest.raises(ConfigError, match="n_workers"):
        map_tasks(_draw, [1, 2], n_workers=0, progress=False)


def test_spawned_workers_keep_order():
    """``start_method="spawn"`` (fresh interpreters: no OpenMP state inherited from the
    parent); the function must be importable by the children, hence a library one."""
    import operator

    assert map_tasks(operator.neg, range(6), n_workers=2, progress=False,
                     start_method="spawn") == [0, -1, -2, -3, -4, -5]
