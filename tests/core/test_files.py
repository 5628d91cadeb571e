"""Tests of rediscovery.core.files."""

from __future__ import annotations

import numpy as np
import pytest

from rediscovery.core.files import round_significand


def test_round_significand_bounds_the_relative_error_and_keeps_special_values() -> None:
    x = np.random.default_rng(0).lognormal(0.0, 5.0, 100_000) * np.sign(
        np.random.default_rng(1).normal(size=100_000))
    for bits in (0, 7, 13, 22):
        r = round_significand(x, bits)
        assert r.dtype == np.float32
        rel = np.abs(r.astype(np.float64) / x.astype(np.float32) - 1)
        assert rel.max() <= 2.0 ** -(bits + 1) * (1 + 1e-6)
        assert np.all(r.view(np.uint32) & np.uint32((1 << (23 - bits)) - 1) == 0)
    assert np.array_equal(round_significand(x, 23), x.astype(np.float32))
    special = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, np.finfo(np.float32).max])
    assert np.array_equal(round_significand(special, 5), special.astype(np.float32),
                          equal_nan=True)
    with pytest.raises(ValueError, match="bits"):
        round_significand(x, 24)
