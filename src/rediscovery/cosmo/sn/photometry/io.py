"""Reading ``candidates.csv`` (the detection team's output) for the photometry stage."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd

from rediscovery.core.errors import InputError

__all__ = ["CANDIDATE_INPUT_COLUMNS", "read_candidates"]

#: Columns the photometry needs from ``candidates.csv``.
CANDIDATE_INPUT_COLUMNS = ("cand_id", "field", "ra", "dec", "host_id", "z")


def read_candidates(path: str | os.PathLike[str]) -> pd.DataFrame:
    """``candidates.csv`` with at least :data:`CANDIDATE_INPUT_COLUMNS`.

    Raises
    ------
    InputError
        Naming the file (and the column): missing columns, no rows, non-finite ra/dec,
        duplicate cand_id.
    """
    from rediscovery.core.files import read_table

    df = read_table(path, what="candidates table", format="csv",
                    dtype={"cand_id": str, "field": str, "host_id": str})
    missing = [c for c in CANDIDATE_INPUT_COLUMNS if c not in df.columns]
    if missing:
        raise InputError(f"missing column(s) {missing}; candidates need "
                         f"{list(CANDIDATE_INPUT_COLUMNS)} (written by 'cosmo sn-detect')",
                         path=path, column=missing[0])
    if len(df) == 0:
        raise InputError("no candidates (a header and no rows): nothing to measure", path=path)
    for c in ("ra", "dec"):
        v = pd.to_numeric(df[c], errors="coerce").to_numpy(float)
        if not np.all(np.isfinite(v)):
            raise InputError("non-numeric or non-finite values; expected degrees", path=path,
                             column=c)
        df[c] = v
    dup = df["cand_id"].duplicated()
    if dup.any():
        raise InputError(f"duplicate cand_id {df.loc[dup, 'cand_id'].iloc[0]!r}", path=path,
                         column="cand_id")
    return df
