"""The shared input checks of :mod:`rediscovery.core.checks`: what they refuse and what their
messages say (file, column, number of rows, first value and row, expectation)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from rediscovery.core.checks import (
    available_memory_bytes,
    duplicate_rows_mask,
    require_finite,
    require_in_range,
    require_memory,
    require_no_sentinel,
    require_parameter_in_range,
    require_typical_scale,
    require_unique,
    require_unique_rows,
)
from rediscovery.core.errors import InputError


def test_require_finite_names_file_column_count_and_first_row():
    require_finite([1.0, 2.0], column="x", path="f.csv")
    with pytest.raises(InputError) as exc:
        require_finite([1.0, np.nan, np.inf, 3.0], column="PRI_met", path="f.csv",
                       expected="a value for every event")
    msg = str(exc.value)
    assert msg.startswith("f.csv: column 'PRI_met': 2 rows")
    assert "first: nan at row 1" in msg and "a value for every event" in msg
    assert exc.value.path == "f.csv" and exc.value.column == "PRI_met"


def test_require_in_range_bounds_nan_and_row_base():
    require_in_range([0.0, 0.5, 1.0, np.nan], column="score", lo=0.0, hi=1.0)
    with pytest.raises(InputError, match=r"1 row with a value out of range \(first: 7.5 at "
                                         r"row 3\); expected values in \[0, 1\]"):
        require_in_range([0.1, 0.2, 7.5], column="score", lo=0.0, hi=1.0, row_base=1)
    with pytest.raises(InputError, match=r"expected values > 0 GeV \(momentum\)"):
        require_in_range([1.0, 0.0], column="pt", lo=0.0, lo_open=True, unit="GeV",
                         why="momentum")
    with pytest.raises(InputError, match="inf"):
        require_in_range([1.0, np.inf], column="pt", hi=10.0)
    with pytest.raises(InputError, match=r"expected values <= 10"):
        require_in_range([1e300], column="z", hi=10.0)


def test_require_no_sentinel():
    require_no_sentinel([1.0, -998.0], column="mu")
    with pytest.raises(InputError, match=r"column 'mu': 1 row with the sentinel -999"):
        require_no_sentinel([1.0, -999.0], column="mu")


def test_require_typical_scale_detects_a_unit_factor_of_1000():
    gev = np.random.default_rng(1).exponential(40.0, 1000) + 26.0
    require_typical_scale(gev, column="PRI_lep_pt", max_median=1000.0, unit="GeV", hint="MeV?")
    with pytest.raises(InputError, match=r"PRI_lep_pt.*median .* GeV is implausibly large.*MeV"):
        require_typical_scale(gev * 1000.0, column="PRI_lep_pt", max_median=1000.0, unit="GeV",
                              hint="MeV?")


def test_duplicates_by_identifier_and_by_row():
    require_unique([1, 2, 3], column="EventId")
    with pytest.raises(InputError, match=r"EventId.*1 row with an identifier already used.*"
                                         r"first: 2 at row 2"):
        require_unique([1, 2, 2], column="EventId")
    df = pd.DataFrame({"a": [1.0, 2.0, 1.0, 3.0], "b": [5.0, 6.0, 5.0, 5.0]})
    assert duplicate_rows_mask(df).tolist() == [False, False, True, False]
    assert duplicate_rows_mask(df, ["b"]).tolist() == [False, False, True, True]
    with pytest.raises(InputError, match=r"1 row is identical to an earlier row.*first: row 2"):
        require_unique_rows(df, path="t.csv")
    require_unique_rows(df.iloc[:2])


def test_parameter_range():
    assert require_parameter_in_range("tes", 1.02, 0.9, 1.1) == 1.02
    for bad in (-2.0, 1.2, np.nan, np.inf):
        with pytest.raises(InputError, match=r"^--nuisance 'tes' = .* is outside its allowed"):
            require_parameter_in_range("tes", bad, 0.9, 1.1, source="--nuisance")


def test_memory_check_gives_both_figures():
    assert available_memory_bytes() is None or available_memory_bytes() > 0
    require_memory(1e6, what="x", available=2 * 10**6)
    with pytest.raises(InputError, match=r"simulating needs about 9.3 GiB of memory, 1.0 GiB "
                                         r"are available"):
        require_memory(10e9, what="simulating", available=2**30)
