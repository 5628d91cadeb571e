"""Safe file writing and hashing shared by every stage.

Nothing already written is lost when a stage fails: every writer goes through
:func:`atomic_path`, which yields a temporary path in the destination folder and renames it
over the destination only when the block finishes without error.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "TEMP_SUFFIX",
    "atomic_path",
    "file_sha256",
    "is_temporary",
    "read_json_mapping",
    "remove_temporary_files",
    "round_significand",
    "write_json",
    "write_parquet",
    "write_text",
]


#: Suffix of the temporary files of :func:`atomic_path` (hidden: their names start with ".").
TEMP_SUFFIX = ".tmp"


def is_temporary(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` is a temporary file of :func:`atomic_path` (``.<name>.<random>.tmp``)."""
    name = Path(path).name
    return name.startswith(".") and name.endswith(TEMP_SUFFIX)


def remove_temporary_files(folder: str | os.PathLike[str]) -> list[Path]:
    """Delete the temporary files that a killed process left in ``folder`` (recursively);
    returns their paths."""
    removed = []
    for p in sorted(Path(folder).rglob(f"*{TEMP_SUFFIX}")):
        if p.is_file() and is_temporary(p):
            p.unlink(missing_ok=True)
            removed.append(p)
    return removed


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` on success.

    The parent folder is created if needed. On an exception the temporary file is removed and
    ``path`` is left as it was.
    """
    dest = Path(path)
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=TEMP_SUFFIX, dir=dest.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    # mkstemp creates the file owner-only (0600); give it the permissions of a normal file
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp_path, 0o666 & ~umask)
    try:
        yield tmp_path
        os.replace(tmp_path, dest)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def write_text(path: str | os.PathLike[str], text: str) -> Path:
    """Write ``text`` to ``path`` atomically and return the path."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)


def _json_default(obj: Any) -> Any:
    # numpy scalars and arrays, paths: everything a result dict may hold
    if hasattr(obj, "tolist"):
        return obj.tolist()
    if isinstance(obj, os.PathLike):
        return os.fspath(obj)
    raise TypeError(f"object of type {type(obj).__name__} is not JSON serialisable")


def write_json(path: str | os.PathLike[str], data: Any) -> Path:
    """Write ``data`` as indented JSON atomically (numpy values converted)."""
    text = json.dumps(data, indent=2, default=_json_default, allow_nan=True)
    return write_text(path, text + "\n")


def write_parquet(table: Any, path: str | os.PathLike[str]) -> Path:
    """Write a pandas DataFrame to Parquet atomically, without its index; return the path."""
    with atomic_path(path) as tmp:
        table.to_parquet(tmp, index=False)
    return Path(path)


def read_json_mapping(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The JSON object in ``path``, or ``{}`` when the file is missing, unreadable or not an
    object: a report shows what a run has and leaves the rest out."""
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def file_sha256(path: str | os.PathLike[str], chunk: int = 1 << 20) -> str:
    """SHA-256 hex digest of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


def round_significand(values: Any, bits: int) -> np.ndarray:
    """float32 copy of ``values`` rounded to ``bits`` stored significand bits (of float32's 23).

    Round half up on the bit pattern, so the relative rounding error is at most
    ``2**-(bits + 1)``; NaN, ±inf and zero are kept, and values that would round past the
    largest finite float32 keep their float32 value. Storage only: zstd compresses the
    zeroed low bits away (13 bits, error ≤ 6.1e-5, save ~1/3 of a table of derived
    quantities). NumPy has no such function (``np.round`` rounds decimals, not bits).
    """
    if not 0 <= bits <= 23:
        raise ValueError(f"bits: expected 0..23 stored significand bits, got {bits!r}")
    out = np.array(values, dtype=np.float32)  # a copy
    drop = 23 - bits
    if drop == 0:
        return out
    raw = out.view(np.uint32)
    half = np.uint32(1 << (drop - 1))
    mask = np.uint32((0xFFFFFFFF << drop) & 0xFFFFFFFF)
    rounded = ((raw + half) & mask).view(np.float32)
    keep = np.isfinite(rounded) & np.isfinite(out)
    return np.where(keep, rounded, out)
