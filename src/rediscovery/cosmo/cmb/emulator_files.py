"""What the flat and the curved CMB emulators share: the prior-box checks and the ``.npz``
file (arrays + JSON metadata, no pickle) with its kind and format version.

:mod:`rediscovery.cosmo.cmb.emulator` and :mod:`rediscovery.cosmo.cmb.curved` build on these;
users meet them through those modules (``OutOfBoxError`` is re-exported there).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from rediscovery.core.errors import InputError, ModelFileError
from rediscovery.core.files import atomic_path

__all__ = [
    "OutOfBoxError",
    "check_rows_in_box",
    "read_emulator_file",
    "rows_in_box",
    "write_emulator_file",
]


class OutOfBoxError(InputError):
    """Parameters outside the emulator's training box (the emulator would extrapolate)."""


def rows_in_box(
    x: np.ndarray, names: Sequence[str], box: Mapping[str, tuple[float, float]]
) -> np.ndarray:
    """Boolean mask (n,) of the rows of ``x`` (n, len(names)) that are finite and inside
    ``box`` (edges included)."""
    x = np.atleast_2d(np.asarray(x, dtype=float))
    ok = np.all(np.isfinite(x), axis=1)
    for j, k in enumerate(names):
        ok &= (x[:, j] >= box[k][0]) & (x[:, j] <= box[k][1])
    return ok


def check_rows_in_box(
    x: np.ndarray,
    names: Sequence[str],
    box: Mapping[str, tuple[float, float]],
    *,
    what: str,
    hint: str,
) -> None:
    """Raise :class:`OutOfBoxError` for the first parameter (in ``names`` order) with a value
    outside ``box``: "``name`` = value is outside the ``what`` [lo, hi]``hint``"."""
    x = np.atleast_2d(np.asarray(x, dtype=float))
    for j, k in enumerate(names):
        lo, hi = box[k]
        bad = (x[:, j] < lo) | (x[:, j] > hi) | ~np.isfinite(x[:, j])
        if np.any(bad):
            raise OutOfBoxError(
                f"{k} = {x[bad, j][0]:.6g} is outside the {what} [{lo}, {hi}]{hint}", column=k
            )


def write_emulator_file(
    path: str | os.PathLike[str], meta: Mapping[str, Any], arrays: Mapping[str, np.ndarray]
) -> Path:
    """Write ``arrays`` and the JSON ``meta`` as one compressed ``.npz`` (atomically)."""
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        np.savez_compressed(fh, meta=np.array(json.dumps(meta)), **arrays)
    return Path(path)


def read_emulator_file(
    path: Path,
    *,
    kind: str,
    version: int,
    missing: str,
    wrong_kind: str,
    default_kind: str | None = None,
) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """(metadata, arrays) of an emulator file of ``kind`` and format ``version``.

    Raises :class:`~rediscovery.core.errors.ModelFileError` with ``path`` and ``missing``
    (the file does not exist), when the file is not a readable ``.npz``, when its kind is not
    ``kind`` (``wrong_kind`` tells what to use instead; a file without a kind counts as
    ``default_kind``) or when its format version differs.
    """
    if not path.is_file():
        raise ModelFileError(f"{path}: {missing}")
    try:
        with np.load(path, allow_pickle=False) as z:
            meta = json.loads(str(z["meta"]))
            arrays = {k: z[k] for k in z.files if k != "meta"}
    except (OSError, ValueError, KeyError) as exc:
        raise ModelFileError(f"{path}: not a readable emulator file ({exc})") from exc
    if meta.get("kind", default_kind) != kind:
        raise ModelFileError(f"{path}: {wrong_kind} (kind {meta.get('kind')!r})")
    if meta.get("format_version") != version:
        raise ModelFileError(
            f"{path}: emulator format {meta.get('format_version')} is not supported "
            f"(expected {version})"
        )
    return meta, arrays
