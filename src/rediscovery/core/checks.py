"""Small, pure checks of input values, shared by every reader and command.

Each ``require_*`` function raises :class:`~rediscovery.core.errors.InputError` naming the file
(``path``), the column, how many rows are at fault, the first offending value and its row, and
what was expected; each ``*_warning`` function returns a one-line text (or ``None``) for the
caller to log. None of them modifies its input.

Rows are counted from ``row_base`` (0 for event tables, whose rows are numbered as in pandas;
1 for the supernova tables, whose messages count data rows from 1).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from os import PathLike

import numpy as np
import pandas as pd

from rediscovery.core.errors import InputError

__all__ = [
    "available_memory_bytes",
    "duplicate_rows_mask",
    "require_finite",
    "require_in_range",
    "require_memory",
    "require_no_sentinel",
    "require_parameter_in_range",
    "require_typical_scale",
    "require_unique",
    "require_unique_rows",
]

PathArg = str | PathLike[str] | None


def _first(mask: np.ndarray, values: np.ndarray, row_base: int) -> tuple[int, object, int]:
    """(number of rows in ``mask``, first offending value, its row number)."""
    rows = np.flatnonzero(mask)
    value = values[rows[0]]
    if isinstance(value, np.generic):
        value = value.item()
    return int(rows.size), value, int(rows[0]) + row_base


def _fail(problem: str, mask: np.ndarray, values: np.ndarray, expected: str, *, path: PathArg,
          column: str | None, row_base: int) -> None:
    n, value, row = _first(mask, values, row_base)
    what = "row" if n == 1 else "rows"
    raise InputError(f"{n} {what} {problem} (first: {value!r} at row {row}); expected "
                     f"{expected}", path=path, column=column)


def _as_float(values: object) -> np.ndarray:
    return np.asarray(values, dtype=np.float64).ravel()


def require_finite(values: object, *, column: str, path: PathArg = None,
                   expected: str = "finite numbers", row_base: int = 0) -> None:
    """Refuse NaN and ±inf (for columns that must be defined in every row)."""
    x = _as_float(values)
    bad = ~np.isfinite(x)
    if bad.any():
        _fail("with a value that is not finite (NaN, inf or undefined)", bad, x, expected,
              path=path, column=column, row_base=row_base)


def require_no_sentinel(values: object, *, column: str, path: PathArg = None,
                        sentinel: float = -999.0, row_base: int = 0,
                        expected: str = "a measured value (no -999 'undefined' sentinel is "
                        "allowed in this column)") -> None:
    """Refuse the HiggsML-style ``-999`` "undefined" sentinel where none is allowed."""
    x = _as_float(values)
    bad = x == sentinel
    if bad.any():
        _fail(f"with the sentinel {sentinel:g}", bad, x, expected, path=path, column=column,
              row_base=row_base)


def require_in_range(values: object, *, column: str, path: PathArg = None,
                     lo: float | None = None, hi: float | None = None,
                     lo_open: bool = False, hi_open: bool = False, unit: str = "",
                     why: str = "", row_base: int = 0) -> None:
    """Refuse values outside ``[lo, hi]`` (open ends with ``lo_open``/``hi_open``; a bound of
    ``None`` is no bound). NaN (undefined) values are not checked here; ±inf are out of any
    finite range. ``why`` is appended to the expectation (e.g. where the bound comes from)."""
    x = _as_float(values)
    bad = np.zeros(x.shape, dtype=bool)
    with np.errstate(invalid="ignore"):
        if lo is not None:
            bad |= (x <= lo) if lo_open else (x < lo)
        if hi is not None:
            bad |= (x >= hi) if hi_open else (x > hi)
    bad &= ~np.isnan(x)
    if bad.any():
        u = f" {unit}" if unit else ""
        if lo is not None and hi is not None:
            rng = (f"{'(' if lo_open else '['}{lo:g}, {hi:g}{')' if hi_open else ']'}{u}")
            expected = f"values in {rng}"
        elif lo is not None:
            expected = f"values {'>' if lo_open else '>='} {lo:g}{u}"
        else:
            expected = f"values {'<' if hi_open else '<='} {hi:g}{u}"
        _fail("with a value out of range", bad, x, expected + (f" ({why})" if why else ""),
              path=path, column=column, row_base=row_base)


def require_typical_scale(values: object, *, column: str, path: PathArg = None,
                          max_median: float, unit: str, hint: str) -> None:
    """Refuse a column whose median (of the defined values) exceeds ``max_median``: the
    signature of a wrong unit (MeV for GeV, Mpc for mag, …); ``hint`` says which."""
    x = _as_float(values)
    x = x[np.isfinite(x)]
    if x.size and float(np.median(x)) > max_median:
        raise InputError(f"median {float(np.median(x)):.4g} {unit} is implausibly large "
                         f"(expected below {max_median:g} {unit}); {hint}", path=path,
                         column=column)


def require_unique(values: object, *, column: str, path: PathArg = None,
                   row_base: int = 0, hint: str = "") -> None:
    """Refuse repeated identifiers (e.g. the same ``EventId`` twice: events counted twice)."""
    s = pd.Series(np.asarray(values).ravel())
    dup = s.duplicated(keep="first").to_numpy()
    if dup.any():
        _fail("with an identifier already used in an earlier row", dup, s.to_numpy(),
              "one row per identifier" + (f"; {hint}" if hint else ""), path=path,
              column=column, row_base=row_base)


def duplicate_rows_mask(df: pd.DataFrame, columns: Sequence[str] | None = None) -> np.ndarray:
    """True for each row identical (in ``columns``, default all) to an earlier row.

    Rows are compared through a 64-bit hash of their values (pandas ``hash_pandas_object``),
    then confirmed with an exact comparison, so the cost is linear in the table size.
    """
    cols = list(df.columns if columns is None else columns)
    if not cols or len(df) < 2:
        return np.zeros(len(df), dtype=bool)
    sub = df[cols]
    h = pd.util.hash_pandas_object(sub, index=False).to_numpy()
    cand = pd.Series(h).duplicated(keep=False).to_numpy()
    if not cand.any():
        return np.zeros(len(df), dtype=bool)
    out = np.zeros(len(df), dtype=bool)
    out[np.flatnonzero(cand)] = sub.iloc[np.flatnonzero(cand)].duplicated(keep="first").to_numpy()
    return out


def require_unique_rows(df: pd.DataFrame, *, columns: Sequence[str] | None = None,
                        path: PathArg = None, row_base: int = 0, hint: str = "") -> None:
    """Refuse rows identical to an earlier row in ``columns`` (default all): the same event or
    object listed twice, which would count it twice."""
    dup = duplicate_rows_mask(df, columns)
    if dup.any():
        rows = np.flatnonzero(dup)
        cols = list(df.columns if columns is None else columns)
        n = rows.size
        raise InputError(
            f"{n} {'row is' if n == 1 else 'rows are'} identical to an earlier row in "
            f"{'all columns' if columns is None else f'{len(cols)} columns'} (first: row "
            f"{int(rows[0]) + row_base}); expected each event once" + (f"; {hint}" if hint
                                                                      else ""),
            path=path, column=cols[0] if len(cols) == 1 else None)


def require_parameter_in_range(name: str, value: float, lo: float, hi: float, *,
                               source: str = "", why: str = "") -> float:
    """Refuse a parameter value that is not finite or outside ``[lo, hi]``; return it as float.

    ``source`` names where it came from (e.g. ``"--nuisance"``), ``why`` where the range comes
    from; both appear in the message (a parameter, not a table column: no ``column`` prefix).
    """
    v = float(value)
    if not (np.isfinite(v) and lo <= v <= hi):
        where = f"{source} " if source else ""
        raise InputError(f"{where}'{name}' = {v:g} is outside its allowed range [{lo:g}, {hi:g}]"
                         + (f" ({why})" if why else ""))
    return v


def available_memory_bytes() -> int | None:
    """Memory available to new allocations (Linux ``MemAvailable``; else physical pages
    available from ``sysconf``), or ``None`` when the system does not say."""
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return int(os.sysconf("SC_AVPHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
    except (AttributeError, ValueError, OSError):
        return None


def require_memory(needed_bytes: float, *, what: str, column: str | None = None,
                   available: int | None = None, hint: str = "") -> None:
    """Refuse a request whose estimated memory exceeds what is available, with both figures.

    ``available`` defaults to :func:`available_memory_bytes` (no check when unknown).
    """
    avail = available_memory_bytes() if available is None else available
    if avail is not None and needed_bytes > avail:
        raise InputError(f"{what} needs about {needed_bytes / 2**30:,.1f} GiB of memory, "
                         f"{avail / 2**30:,.1f} GiB are available" + (f"; {hint}" if hint
                                                                       else ""),
                         column=column)
