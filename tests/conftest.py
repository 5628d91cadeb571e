"""Shared fixtures.

``reference_data`` locates the real public data (``../shared/data`` next to the repository, or
``$REDISCOVERY_REFERENCE_DATA``). Tests that need it skip with a clear reason where it is absent
(a user's clone); ``.ci/run`` sets the variable and fails if the folder is missing, so in CI they
always run.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

_DEFAULT = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def _reference_dir() -> Path:
    return Path(os.environ.get("REDISCOVERY_REFERENCE_DATA", _DEFAULT))


@pytest.fixture(scope="session")
def reference_data() -> Path:
    """Folder of the real public reference data (HiggsML sample, SN tables, Planck spectra)."""
    path = _reference_dir()
    if not path.is_dir():
        pytest.skip(
            f"reference data not found at {path}; set REDISCOVERY_REFERENCE_DATA to the "
            "folder holding higgsml/, jla/, union2.1/ and planck2018/"
        )
    return path


@pytest.fixture
def check_png():
    """``check_png(path)``: ``path`` decodes as a PNG image with something drawn on it.

    For command tests, which can only see the files a command wrote; what the plot functions
    draw is tested on their returned axes (the ``test_plots.py`` files).
    """
    import matplotlib.image as mpimg
    import numpy as np

    def check(path: Path) -> np.ndarray:
        assert Path(path).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
        img = mpimg.imread(path)
        assert img.ndim == 3 and min(img.shape[:2]) >= 100, f"{path}: image {img.shape}"
        assert np.ptp(img[..., :3]) > 0, f"{path} is blank"
        return img

    return check


#: A folder no one can create files in, whatever the user (root included): /proc refuses.
UNWRITABLE = Path("/proc/rediscovery-fuzz/out")


@pytest.fixture(scope="session")
def bad_files(tmp_path_factory) -> dict[str, Path]:
    """Hostile inputs shared by the fuzz tables: an empty file, binary junk with a table
    extension, an unparsable CSV, invalid and non-object JSON, a folder, a plain file, a path
    under a file and an unwritable folder."""
    root = tmp_path_factory.mktemp("bad_files")
    paths = {
        "empty_csv": root / "empty.csv",
        "empty_parquet": root / "empty.parquet",
        "junk_parquet": root / "junk.parquet",
        "junk_csv": root / "junk.csv",
        "bad_json": root / "bad.json",
        "list_json": root / "list.json",
        "dir": root / "a_folder",
        "file": root / "plain.txt",
    }
    paths["empty_csv"].write_text("")
    paths["empty_parquet"].write_bytes(b"")
    paths["junk_parquet"].write_bytes(bytes(range(256)) * 8)
    paths["junk_csv"].write_bytes(b'a,b\n"1,2\n3,4,5,6\n\xff\xfe\x00')
    paths["bad_json"].write_text('{"mu": 1.0,')
    paths["list_json"].write_text("[1, 2, 3]")
    paths["dir"].mkdir()
    paths["file"].write_text("not a folder\n")
    paths["under_file"] = paths["file"] / "sub" / "out"
    paths["unwritable"] = UNWRITABLE
    return paths


@pytest.fixture
def run_cli(capsys):
    """``run_cli(argv) -> (exit code, stderr)``: runs ``rediscovery -q ARGV`` in-process and
    checks that whatever happened left no traceback and, on failure, one ``error:`` line."""
    from rediscovery.cli import main

    def run(argv: list[str]) -> tuple[int, str]:
        code = main(["-q", *[str(a) for a in argv]])
        captured = capsys.readouterr()
        text = captured.out + captured.err
        assert "Traceback" not in text, text
        if code != 0:
            lines = [ln for ln in captured.err.splitlines() if ln.strip()]
            assert len(lines) == 1 and lines[0].startswith("error: "), captured.err
            assert "np.float64" not in captured.err and "np.int64" not in captured.err
        return code, captured.err

    return run


@pytest.fixture
def forbid(monkeypatch):
    """``forbid("module:function", ...)``: make these functions fail the test if called (to
    prove a command refuses its arguments before any work)."""
    import importlib

    def install(*targets: str) -> None:
        for target in targets:
            modname, func = target.split(":")

            def boom(*args, _target=target, **kwargs):
                raise AssertionError(f"{_target} was called: the check came after the work")

            monkeypatch.setattr(importlib.import_module(modname), func, boom)

    return install
