"""Readers and writers of the Higgs events table.

Formats read by :func:`read_events` (detected from the file's columns, not its name):

* the package's own Parquet (the events-table contract, ``docs/architecture.md``);
* the Kaggle HiggsML ``training.csv`` / ``test.csv`` (``Label`` ``s``/``b``, -999.0 undefined);
* the CERN Open Data ``atlas-higgs-challenge-2014-v2.csv`` (adds ``KaggleSet`` and
  ``KaggleWeight``, kept as they are; ``Weight`` is the full-set weight);
* the Fair Universe HiggsML Uncertainty Challenge Parquet naming (``PRI_had_*`` for
  ``PRI_tau_*``, ``PRI_n_jets`` for ``PRI_jet_num``, ``labels``, ``weights``,
  ``detailed_labels`` for ``Process``).

Inside the package undefined values are NaN; the HiggsML sentinel ``-999.0`` is converted here,
in both directions. Every problem is reported as an
:class:`~rediscovery.core.errors.InputError` naming the file and the column.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from rediscovery.core.checks import (
    require_finite,
    require_in_range,
    require_no_sentinel,
    require_typical_scale,
    require_unique,
    require_unique_rows,
)
from rediscovery.core.errors import InputError
from rediscovery.core.files import atomic_path
from rediscovery.higgs.schema import (
    ALWAYS_DEFINED_DER,
    ALWAYS_DEFINED_PRI,
    DER_COLUMNS_TWO_JETS,
    ETA_COLUMNS,
    ETA_MAX,
    EVENT_ID,
    JET_COLUMNS_LEADING,
    JET_COLUMNS_SUBLEADING,
    JET_NUM_MAX,
    LABEL,
    MAX_MEDIAN_PT_GEV,
    MOMENTUM_COLUMNS,
    NON_NEGATIVE_DER,
    PHI_COLUMNS,
    PRI_COLUMNS,
    PROCESS,
    SENTINEL,
    SET,
    SQRT_S_MAX_GEV,
    SUM_PT_COLUMNS,
    SUM_PT_MAX_GEV,
    WEIGHT,
)

__all__ = ["SPLIT_NAMES", "read_events", "split_events", "validate_events", "write_events"]

log = logging.getLogger(__name__)

#: Names of the three splits written by :func:`split_events`.
SPLIT_NAMES: tuple[str, str, str] = ("train", "valid", "test")

#: Fair Universe (HiggsML Uncertainty Challenge) names -> contract names.
_FAIR_UNIVERSE_ALIASES = {
    "PRI_had_pt": "PRI_tau_pt",
    "PRI_had_eta": "PRI_tau_eta",
    "PRI_had_phi": "PRI_tau_phi",
    "PRI_n_jets": "PRI_jet_num",
    "DER_deltar_had_lep": "DER_deltar_tau_lep",
    "DER_pt_ratio_lep_had": "DER_pt_ratio_lep_tau",
    "labels": LABEL,
    "weights": WEIGHT,
    "detailed_labels": PROCESS,
}

_PARQUET_SUFFIXES = {".parquet", ".pq"}
_CSV_SUFFIXES = {".csv", ".txt", ".gz"}


def _float_columns(df: pd.DataFrame) -> list[str]:
    return [c for c in df.columns if c.startswith(("PRI_", "DER_", "NEW_"))]


def read_events(path: str | os.PathLike[str], *, require_primaries: bool = True,
                allow_duplicates: bool = False) -> pd.DataFrame:
    """Read an events table in any supported format and return it in the package convention.

    Parameters
    ----------
    path
        Parquet or CSV file (HiggsML Kaggle, CERN Open Data, Fair Universe or our own).
    require_primaries
        Fail if any of the 17 ``PRI_*`` columns is missing (default). Fair Universe files have
        no ``PRI_met_sumet``; it is added as NaN with a warning.
    allow_duplicates
        Accept a repeated ``EventId`` or identical rows (refused by default: an event listed
        twice is counted twice).

    Returns
    -------
    DataFrame
        ``EventId`` int64, the ``PRI_*`` (and any ``DER_*``/``NEW_*``) columns as float64 with
        NaN for undefined values (``PRI_jet_num`` as int64), ``Weight`` float64 and ``Label``
        int8 (1 signal, 0 background) when present, other columns as read.

    Raises
    ------
    InputError
        The file is missing, empty, not a table, misses a required column, holds non-numeric
        values in a numeric column or an unknown label, or holds physically impossible values
        (see :func:`validate_events`).
    """
    p = Path(path)
    if not p.exists():
        raise InputError("file does not exist", path=p)
    if p.is_dir():
        raise InputError("is a directory, expected an events file (.parquet or .csv)", path=p)
    if p.stat().st_size == 0:
        raise InputError("file is empty, expected an events table", path=p)
    df = _read_table(p)
    if len(df.columns) == 0 or len(df) == 0:
        raise InputError("no events in file (empty table)", path=p)
    df = df.rename(columns={c: c.strip() for c in df.columns})
    aliased = {k: v for k, v in _FAIR_UNIVERSE_ALIASES.items() if k in df.columns}
    if aliased:
        log.info("%s: Fair Universe naming detected, renaming %s", p, aliased)
        df = df.rename(columns=aliased)
        if "PRI_met_sumet" not in df.columns:
            log.warning("%s: no PRI_met_sumet column (Fair Universe format); filled with NaN", p)
            df["PRI_met_sumet"] = np.nan
    return validate_events(df, source=p, require_primaries=require_primaries,
                           allow_duplicates=allow_duplicates)


def _read_table(p: Path) -> pd.DataFrame:
    suffix = p.suffix.lower()
    try:
        if suffix in _PARQUET_SUFFIXES:
            return pd.read_parquet(p)
        if suffix in _CSV_SUFFIXES:
            # CRLF line endings are handled by the C parser; strip stray '\r' in the last column
            return pd.read_csv(p, skipinitialspace=True)
    except (OSError, ValueError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        kind = "Parquet" if suffix in _PARQUET_SUFFIXES else "CSV"
        raise InputError(f"cannot be read as a {kind} table ({exc})", path=p) from exc
    # unknown suffix: try Parquet then CSV
    try:
        return pd.read_parquet(p)
    except (OSError, ValueError):
        pass
    try:
        return pd.read_csv(p, skipinitialspace=True)
    except (OSError, ValueError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise InputError(
            f"is neither Parquet nor CSV (suffix {suffix!r}); expected an events table", path=p
        ) from exc


def validate_events(
    df: pd.DataFrame,
    *,
    source: str | os.PathLike[str] | None = None,
    require_primaries: bool = True,
    allow_duplicates: bool = False,
) -> pd.DataFrame:
    """Check an events frame and convert it to the package convention (a new frame).

    Converts ``-999.0`` to NaN in ``PRI_``/``DER_``/``NEW_`` columns, ``Label`` ``s``/``b`` to
    1/0, and sets the dtypes of the contract. Refuses (:class:`InputError` naming the source
    and the column) values that no event can have: undefined (NaN, -999) or infinite values
    in the primaries defined for every event (``schema.ALWAYS_DEFINED_PRI``) and the
    always-defined ``DER_`` columns, infinite values anywhere, negative momenta or masses,
    momenta above 14 TeV (sums above 140 TeV), a median τ/lepton p_T above 1 TeV (a file in
    MeV), |η| > 4.9, |φ| > π, jets missing for the jet count, negative or sentinel weights,
    and (unless ``allow_duplicates``) a repeated ``EventId`` or identical rows.
    """
    src = "<DataFrame>" if source is None else source
    out = df.copy()
    if require_primaries:
        missing = [c for c in PRI_COLUMNS if c not in out.columns]
        if missing:
            if len(missing) == len(PRI_COLUMNS):
                what = "none of the 17 HiggsML PRI_* columns found: is this an events table?"
            else:
                what = f"missing required column(s) {missing}"
            raise InputError(
                f"{what} (the events-table contract is in docs/higgs-events.md)",
                path=src,
                column=missing[0],
            )
    for col in _float_columns(out):
        out[col] = _to_float(out[col], src, col)
        values = out[col].to_numpy()
        out[col] = np.where(values == SENTINEL, np.nan, values)
    if "PRI_jet_num" in out.columns:
        jn = out["PRI_jet_num"].to_numpy()
        bad = ~np.isfinite(jn) | (jn < 0) | (jn != np.round(jn)) | (jn > JET_NUM_MAX)
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise InputError(
                f"expected a jet count (an integer from 0 to {JET_NUM_MAX}), found {jn[row]!r} "
                f"at row {row}",
                path=src,
                column="PRI_jet_num",
            )
        out["PRI_jet_num"] = jn.astype(np.int64)
    if EVENT_ID in out.columns:
        ids = _to_float(out[EVENT_ID], src, EVENT_ID).to_numpy()
        if not np.all(np.isfinite(ids)) or np.any(ids != np.round(ids)):
            raise InputError("expected integer event identifiers", path=src, column=EVENT_ID)
        out[EVENT_ID] = ids.astype(np.int64)
    else:
        out.insert(0, EVENT_ID, np.arange(len(out), dtype=np.int64))
    if WEIGHT in out.columns:
        w = _to_float(out[WEIGHT], src, WEIGHT)
        if not np.all(np.isfinite(w.to_numpy())):
            row = int(np.flatnonzero(~np.isfinite(w.to_numpy()))[0])
            raise InputError(f"weights must be finite, found {w.iloc[row]} at row {row}",
                             path=src, column=WEIGHT)
        out[WEIGHT] = w.to_numpy(dtype=np.float64)
    if LABEL in out.columns:
        out[LABEL] = _to_label(out[LABEL], src)
    if PROCESS in out.columns:
        out[PROCESS] = out[PROCESS].astype(str)
    _check_physics(out, src)
    if not allow_duplicates:
        _check_duplicates(out, src)
    return out


#: Largest |φ| accepted, radians: π plus the rounding of the HiggsML CSV files (3 decimals,
#: 3.142 > π); anything larger is not an angle in radians (degrees?).
_PHI_TOLERANCE = 1e-2


def _check_physics(out: pd.DataFrame, src: str | os.PathLike[str]) -> None:
    """Refuse values that no event can have (see :func:`validate_events`)."""
    for col in _float_columns(out):
        x = out[col].to_numpy(dtype=np.float64)
        if np.isinf(x).any():
            require_finite(np.where(np.isnan(x), 0.0, x), column=col, path=src,
                           expected="finite values (NaN or -999 only where undefined)")
    for col in ALWAYS_DEFINED_PRI + ALWAYS_DEFINED_DER:
        if col not in out.columns:
            continue
        x = out[col].to_numpy(dtype=np.float64)
        if col == "PRI_met_sumet" and np.isnan(x).all():
            continue  # Fair Universe files have no such column (filled with NaN on read)
        where = "for every event (-999 'undefined' is allowed only in the jet columns)"
        require_finite(x, column=col, path=src, expected=f"a value {where}")
    for col in ("PRI_tau_pt", "PRI_lep_pt"):
        if col in out.columns:
            require_typical_scale(out[col], column=col, path=src, max_median=MAX_MEDIAN_PT_GEV,
                                  unit="GeV", hint="the file looks like MeV: momenta must be "
                                  "in GeV (divide by 1000)")
    for col in MOMENTUM_COLUMNS:
        if col in out.columns:  # a reconstructed τ, lepton or jet has p_T > 0; the MET may be 0
            require_in_range(out[col], column=col, path=src, lo=0.0, lo_open=col != "PRI_met",
                             hi=SQRT_S_MAX_GEV,
                             unit="GeV", why="a transverse momentum: not negative, below the "
                             "LHC's 14 TeV; MeV values must be converted to GeV")
    for col in SUM_PT_COLUMNS:
        if col in out.columns:
            require_in_range(out[col], column=col, path=src, lo=0.0, hi=SUM_PT_MAX_GEV,
                             unit="GeV", why="a scalar sum of transverse momenta")
    for col in NON_NEGATIVE_DER:
        if col in out.columns:
            require_in_range(out[col], column=col, path=src, lo=0.0,
                             why="a mass, momentum, distance or ratio: not negative")
    for col in ETA_COLUMNS:
        if col in out.columns:
            require_in_range(out[col], column=col, path=src, lo=-ETA_MAX, hi=ETA_MAX,
                             why="the detector's pseudorapidity coverage")
    for col in PHI_COLUMNS:
        if col in out.columns:
            lim = np.pi + _PHI_TOLERANCE
            require_in_range(out[col], column=col, path=src, lo=-lim, hi=lim,
                             unit="rad", why="an azimuthal angle in radians, not degrees")
    if "PRI_jet_num" in out.columns:
        njet = out["PRI_jet_num"].to_numpy()
        for cols, need in ((JET_COLUMNS_LEADING, 1), (JET_COLUMNS_SUBLEADING, 2),
                           (DER_COLUMNS_TWO_JETS, 2)):
            for col in cols:
                if col in out.columns:
                    x = out[col].to_numpy(dtype=np.float64)
                    require_finite(np.where(njet >= need, x, 0.0), column=col, path=src,
                                   expected=f"a value in every event with PRI_jet_num >= {need}")
    if WEIGHT in out.columns:
        require_no_sentinel(out[WEIGHT], column=WEIGHT, path=src,
                            sentinel=SENTINEL, expected="a weight (-999 is not a weight)")
        require_in_range(out[WEIGHT], column=WEIGHT, path=src, lo=0.0,
                         why="expected events per simulated event")


def _check_duplicates(out: pd.DataFrame, src: str | os.PathLike[str]) -> None:
    hint = "an event listed twice is counted twice (read_events(..., allow_duplicates=True) " \
           "accepts it)"
    require_unique(out[EVENT_ID], column=EVENT_ID, path=src, hint=hint)
    cols = [c for c in PRI_COLUMNS if c in out.columns]
    if len(cols) == len(PRI_COLUMNS):
        require_unique_rows(out, columns=cols, path=src, hint=hint)


def _to_float(series: pd.Series, src: str | os.PathLike[str], col: str) -> pd.Series:
    if pd.api.types.is_bool_dtype(series):
        raise InputError("expected numbers, found booleans", path=src, column=col)
    if pd.api.types.is_numeric_dtype(series):
        return series.astype(np.float64)
    num = pd.to_numeric(series, errors="coerce")
    bad = num.isna() & series.notna()
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise InputError(
            f"expected numbers, found {series.iloc[row]!r} at row {row}", path=src, column=col
        )
    return num.astype(np.float64)


def _to_label(series: pd.Series, src: str | os.PathLike[str]) -> pd.Series:
    if pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series):
        values = series.to_numpy(dtype=np.float64)
        ok = np.isin(values, (0.0, 1.0))
        if not ok.all():
            row = int(np.flatnonzero(~ok)[0])
            raise InputError(
                f"unknown label {series.iloc[row]!r} at row {row}; expected 1/0 or 's'/'b'",
                path=src,
                column=LABEL,
            )
        return pd.Series(values.astype(np.int8), index=series.index, name=LABEL)
    text = series.astype(str).str.strip().str.lower()
    mapping = {"s": 1, "b": 0, "1": 1, "0": 0, "signal": 1, "background": 0}
    mapped = text.map(mapping)
    if mapped.isna().any():
        row = int(np.flatnonzero(mapped.isna().to_numpy())[0])
        raise InputError(
            f"unknown label {series.iloc[row]!r} at row {row}; expected 's'/'b' or 1/0",
            path=src,
            column=LABEL,
        )
    return mapped.astype(np.int8).rename(LABEL)


def write_events(
    df: pd.DataFrame, path: str | os.PathLike[str], *, format: str | None = None,
    compact: bool = False,
) -> Path:
    """Write an events table atomically.

    Parameters
    ----------
    df
        Events in the package convention (NaN for undefined values).
    path
        Destination. The format follows ``format`` or else the suffix (``.csv`` -> HiggsML CSV,
        anything else -> Parquet).
    format
        ``"parquet"`` or ``"csv"`` (HiggsML CSV: NaN written as ``-999.0``, ``Label`` as
        ``s``/``b``, as in the official files).
    compact
        Parquet only: store every float64 column that float32 holds exactly (bit for bit,
        e.g. the simulator's ``PRI_*``) as float32 and compress the floats with zstd and the
        byte-stream-split encoding. Lossless: :func:`read_events` returns the same float64
        values. About 40 % of the default size for simulated events.
    """
    p = Path(path)
    fmt = (format or ("csv" if p.suffix.lower() == ".csv" else "parquet")).lower()
    if fmt not in {"parquet", "csv"}:
        raise InputError(f"unknown events format {format!r}; expected 'parquet' or 'csv'")
    with atomic_path(p) as tmp:
        if fmt == "parquet" and compact:
            _write_compact_parquet(df, tmp)
        elif fmt == "parquet":
            df.to_parquet(tmp, index=False)
        else:
            out = df.copy()
            cols = _float_columns(out)
            out[cols] = out[cols].fillna(SENTINEL)
            if LABEL in out.columns:
                out[LABEL] = np.where(out[LABEL].to_numpy() == 1, "s", "b")
            out.to_csv(tmp, index=False, float_format="%.6g")
    return p


def _write_compact_parquet(df: pd.DataFrame, path: Path) -> None:
    """Parquet with float64 columns downcast to float32 where exact, zstd, byte-stream-split
    floats and delta-encoded ``EventId``."""
    out = df.copy()
    for col in out.columns:
        if out[col].dtype == np.float64:
            values = out[col].to_numpy()
            as32 = values.astype(np.float32)
            if np.array_equal(as32.astype(np.float64), values, equal_nan=True):
                out[col] = as32
    encoding = {c: "BYTE_STREAM_SPLIT" for c in out.columns
                if pd.api.types.is_float_dtype(out[c])}
    if EVENT_ID in out.columns and pd.api.types.is_integer_dtype(out[EVENT_ID]):
        encoding[EVENT_ID] = "DELTA_BINARY_PACKED"  # mostly increasing: ~0 bytes per event
    others = [c for c in out.columns if c not in encoding]
    out.to_parquet(path, index=False, compression="zstd", column_encoding=encoding or None,
                   use_dictionary=others or False)


def split_events(
    df: pd.DataFrame,
    fractions: Sequence[float] = (1 / 3, 1 / 3, 1 / 3),
    *,
    seed: int | np.random.Generator,
    names: Sequence[str] = SPLIT_NAMES,
) -> pd.DataFrame:
    """Randomly split events into named sets and renormalise the weights of each set.

    Each event goes to one set (column ``Set``); the weights of each set are scaled so that,
    per class (``Label``), they sum to the class totals of the full table: every split is then a
    complete, smaller-statistics estimate of the same physics (as in the HiggsML challenge).

    Parameters
    ----------
    df
        Events with ``Weight`` and ``Label``.
    fractions
        Fractions of events per set; must be positive and sum to 1.
    seed
        Seed or generator of the random assignment.
    names
        Names of the sets (default ``train``, ``valid``, ``test``).

    Returns
    -------
    DataFrame
        A new frame with the ``Set`` column and renormalised ``Weight``.
    """
    fr = np.asarray(fractions, dtype=float)
    if len(fr) != len(names) or np.any(fr <= 0) or not np.isclose(fr.sum(), 1.0):
        raise InputError(
            f"fractions {list(fractions)} must be {len(names)} positive numbers summing to 1"
        )
    for col in (WEIGHT, LABEL):
        if col not in df.columns:
            raise InputError("required to split events", column=col)
    n = len(df)
    if n < len(names):
        raise InputError(f"cannot split {n} events into {len(names)} sets")
    rng = np.random.default_rng(seed)
    edges = np.round(np.cumsum(fr) * n).astype(int)
    set_index = np.empty(n, dtype=np.int64)
    set_index[rng.permutation(n)] = np.searchsorted(edges, np.arange(n), side="right")
    out = df.copy()
    out[SET] = pd.Categorical.from_codes(set_index, categories=list(names))
    w = out[WEIGHT].to_numpy(dtype=np.float64).copy()
    lab = out[LABEL].to_numpy()
    for cls in np.unique(lab):
        total = w[lab == cls].sum()
        for k in range(len(names)):
            sel = (lab == cls) & (set_index == k)
            part = w[sel].sum()
            if part > 0:
                w[sel] *= total / part
    out[WEIGHT] = w
    return out

