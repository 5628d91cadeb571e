"""Safe file reading, writing and hashing shared by every stage and command.

Nothing already written is lost when a stage fails: every writer goes through
:func:`atomic_path`, which yields a temporary path in the destination folder and renames it
over the destination only when the block finishes without error.

Commands check their outputs before any work with :func:`check_output` (the folder can be
written, a file is not a folder and vice versa, the extension is known) and
:func:`output_format` (the format follows the extension; a contradicting ``--format`` is
refused). Readers of user files go through :func:`read_json` and :func:`read_table`, which turn
every parse failure into an :class:`~rediscovery.core.errors.InputError` naming the file.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, Literal

import numpy as np

from rediscovery.core.errors import ConfigError, InputError

__all__ = [
    "TABLE_FORMATS",
    "TEMP_SUFFIX",
    "atomic_path",
    "check_output",
    "file_sha256",
    "is_temporary",
    "output_format",
    "read_json",
    "read_json_mapping",
    "read_table",
    "remove_temporary_files",
    "round_significand",
    "write_json",
    "write_parquet",
    "write_text",
]

#: Table formats by file extension (lower case), for :func:`output_format` and
#: :func:`read_table`.
TABLE_FORMATS: dict[str, str] = {".parquet": "parquet", ".pq": "parquet", ".csv": "csv"}


#: Characters :func:`atomic_path` adds to a file name for its temporary file.
_TEMP_NAME_EXTRA = len(".") + len(".") + 8 + len(".tmp")


def _name_max(folder: Path) -> int:
    """Longest file name (bytes) the file system of ``folder`` accepts."""
    try:
        return int(os.pathconf(folder, "PC_NAME_MAX"))
    except (OSError, ValueError, AttributeError):
        return 255


def _nearest_existing(path: Path) -> Path:
    """``path`` or its closest ancestor that exists."""
    p = path.absolute()
    while not p.exists() and p != p.parent:
        p = p.parent
    return p


def _check_writable_dir(folder: Path, target: Path, option: str) -> None:
    """``folder`` (an existing ancestor of ``target``) is a folder we can create files in."""
    if not folder.is_dir():
        raise ConfigError(f"{option} {target}: {folder} is a file, not a folder; choose a "
                          "path whose parent folders are folders")
    problem = None
    if not os.access(folder, os.W_OK | os.X_OK):
        problem = "permission denied"
    else:  # os.access does not see read-only mounts, ACLs or a full disk: try it
        try:
            fd, probe = tempfile.mkstemp(prefix=".rediscovery-probe.", dir=folder)
            os.close(fd)
            os.unlink(probe)
        except OSError as exc:
            problem = exc.strerror or str(exc)
    if problem is not None:
        raise ConfigError(f"{option} {target}: cannot write in {folder} ({problem}); choose a "
                          "folder you can write to")


def check_output(
    path: str | os.PathLike[str],
    kind: Literal["file", "dir"] = "file",
    *,
    option: str = "--out",
    suffixes: Iterable[str] | None = None,
    overwrite: bool = True,
) -> Path:
    """Check, before any work, that a command can write its output at ``path``.

    Nothing is created: the parent folders may be missing if the closest existing one can be
    written in (checked with :func:`os.access` and a probe file, which also sees read-only
    mounts and full disks).

    Parameters
    ----------
    path
        The output file or folder given by the user.
    kind
        ``"file"``: ``path`` must not be an existing folder; ``"dir"``: ``path`` must not be an
        existing file.
    option
        The option (or argument) the user typed, named in the messages.
    suffixes
        Accepted file extensions (e.g. ``(".parquet", ".csv")``), or ``None`` for any.
    overwrite
        Whether an existing file may be replaced.

    Returns
    -------
    Path
        ``path`` as a :class:`~pathlib.Path`.

    Raises
    ------
    ConfigError
        With a one-line message naming ``option``, the path, what was expected and the fix.
    """
    p = Path(path)
    if str(path).strip() == "":
        raise ConfigError(f"{option}: empty path; give a {'file' if kind == 'file' else 'folder'}")
    if len(os.fsencode(p.name)) + _TEMP_NAME_EXTRA > _name_max(_nearest_existing(p.parent)):
        raise ConfigError(f"{option} {p}: the name {p.name[:20]}... is too long for the file "
                          "system; choose a shorter name")
    if kind == "file":
        if p.is_dir():
            raise ConfigError(f"{option} {p}: is an existing folder, expected a file path "
                              f"(e.g. {p / ('out' + next(iter(suffixes or ['.parquet'])))})")
        if suffixes is not None:
            allowed = tuple(s.lower() for s in suffixes)
            if p.suffix.lower() not in allowed:
                raise ConfigError(f"{option} {p}: unknown extension {p.suffix or '(none)'!r}; "
                                  f"expected one of {', '.join(allowed)}")
        if p.exists() and not p.is_file():
            raise ConfigError(f"{option} {p}: exists and is not a regular file (a device, pipe "
                              "or socket); choose a file path")
        if p.exists() and not overwrite:
            raise ConfigError(f"{option} {p}: file exists; remove it or choose another path")
        if p.exists() and not os.access(p, os.W_OK):
            raise ConfigError(f"{option} {p}: the existing file cannot be replaced "
                              "(permission denied)")
        _check_writable_dir(_nearest_existing(p.parent), p, option)
    elif kind == "dir":
        if p.exists() and not p.is_dir():
            raise ConfigError(f"{option} {p}: is an existing file, expected a folder; remove "
                              "it or choose another path")
        _check_writable_dir(_nearest_existing(p), p, option)
    else:
        raise ValueError(f"kind must be 'file' or 'dir', got {kind!r}")
    return p


def output_format(
    path: str | os.PathLike[str],
    fmt: str | None = None,
    *,
    option: str = "--out",
    format_option: str = "--format",
    formats: dict[str, str] | None = None,
) -> str:
    """The format of an output file: from its extension, checked against an explicit ``fmt``.

    ``formats`` maps extensions to format names (default :data:`TABLE_FORMATS`). An unknown
    extension, an unknown ``fmt`` or a ``fmt`` that contradicts the extension is a
    :class:`~rediscovery.core.errors.ConfigError` naming the options.
    """
    table = TABLE_FORMATS if formats is None else formats
    names = sorted(set(table.values()))
    p = Path(path)
    if fmt is not None and fmt.lower() not in names:
        raise ConfigError(f"{format_option} {fmt!r}: expected one of {', '.join(names)}")
    by_suffix = table.get(p.suffix.lower())
    if by_suffix is None:
        raise ConfigError(f"{option} {p}: unknown extension {p.suffix or '(none)'!r}; expected "
                          f"one of {', '.join(table)}")
    if fmt is not None and fmt.lower() != by_suffix:
        raise ConfigError(f"{format_option} {fmt} contradicts the extension of {option} {p} "
                          f"({by_suffix}); drop {format_option} or name the file "
                          f"{p.with_suffix('.' + fmt.lower()).name}")
    return by_suffix


def read_json(path: str | os.PathLike[str], *, what: str = "JSON file",
              mapping: bool = True) -> Any:
    """Parse a user's JSON file; every failure is an InputError naming the file.

    ``mapping``: require a JSON object (the usual case for our files).
    """
    p = Path(path)
    if not p.is_file():
        raise InputError(f"{what} not found" if not p.exists() else
                         f"is a folder, expected a {what}", path=p)
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise InputError(f"not a text file, expected a {what}", path=p) from None
    except json.JSONDecodeError as exc:
        raise InputError(f"not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno});"
                         f" expected a {what}", path=p) from None
    if mapping and not isinstance(data, dict):
        raise InputError(f"expected a JSON object ({{...}}) in the {what}, found "
                         f"{type(data).__name__}", path=p)
    return data


def read_table(path: str | os.PathLike[str], *, what: str = "table",
               format: str | None = None, **csv_kwargs: Any) -> Any:
    """Read a Parquet or CSV table (format from the extension; CSV also for ``.txt``/``.gz``).

    Every failure (missing file, folder, empty file, unparsable CSV, corrupt Parquet, unknown
    extension) is an :class:`~rediscovery.core.errors.InputError` naming the file and saying
    what was expected. ``format="csv"`` reads CSV whatever the extension; ``csv_kwargs`` go
    to :func:`pandas.read_csv`.
    """
    import pandas as pd

    p = Path(path)
    if not p.exists():
        raise InputError(f"{what} file not found", path=p)
    if p.is_dir():
        raise InputError(f"is a folder, expected a {what} file (.parquet or .csv)", path=p)
    suffix = p.suffix.lower()
    if suffix == ".gz":
        suffix = "".join(p.suffixes[-2:-1]).lower() or ".csv"
    kind = format or TABLE_FORMATS.get(suffix, "csv" if suffix == ".txt" else None)
    if kind is None:
        raise InputError(f"unknown {what} format {p.suffix!r}: expected .parquet or .csv",
                         path=p)
    if p.stat().st_size == 0:
        raise InputError(f"file is empty, expected a {what} ({kind})", path=p)
    try:
        if kind == "parquet":
            return pd.read_parquet(p)
        return pd.read_csv(p, **csv_kwargs)
    except pd.errors.EmptyDataError:
        raise InputError(f"no columns, expected a {what} (CSV with a header line)",
                         path=p) from None
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot be read as a CSV {what} ({_first_line(exc)})", path=p) from None
    except (OSError, ValueError) as exc:  # pyarrow.ArrowInvalid is a ValueError
        raise InputError(f"cannot be read as a {kind} {what} ({_first_line(exc)})",
                         path=p) from None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


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
        return read_json(path)
    except (InputError, OSError):
        return {}


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
