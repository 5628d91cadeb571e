"""Tests of rediscovery.core.files."""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np
import pytest

from rediscovery.core.errors import ConfigError, InputError
from rediscovery.core.files import (
    check_output,
    output_format,
    read_json,
    read_table,
    round_significand,
)


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


# -- output checks and readers of user files ---------------------------------------------------


def test_check_output_refuses_what_cannot_be_written_and_creates_nothing(tmp_path, monkeypatch):
    folder, plain = tmp_path / "folder", tmp_path / "plain.txt"
    folder.mkdir()
    plain.write_text("x")
    assert check_output(tmp_path / "new" / "deeper" / "x.parquet") == \
        tmp_path / "new" / "deeper" / "x.parquet"
    assert check_output(tmp_path / "new" / "run", "dir") == tmp_path / "new" / "run"
    assert not (tmp_path / "new").exists()  # checks only
    cases = [
        ((folder,), {}, "is an existing folder"),
        ((plain, "dir"), {}, "is an existing file"),
        ((plain / "x.csv",), {}, "is a file, not a folder"),
        ((plain / "sub" / "run", "dir"), {}, "is a file, not a folder"),
        ((tmp_path / "x.txt",), {"suffixes": (".csv",)}, "unknown extension '.txt'"),
        ((plain,), {"overwrite": False}, "file exists"),
        ((tmp_path / ("x" * 300),), {}, "too long"),
        ((Path("/proc/rediscovery-test/x.csv"),), {}, "cannot write in /proc"),
    ]
    for args, kwargs, fragment in cases:
        with pytest.raises(ConfigError, match=re.escape(fragment)):
            check_output(*args, option="--out", **kwargs)
    monkeypatch.setattr(os, "access", lambda path, mode: False)
    with pytest.raises(ConfigError, match=r"--out .*permission denied"):
        check_output(tmp_path / "x.csv")


def test_output_format_follows_the_extension() -> None:
    assert output_format("a/b.csv") == "csv"
    assert output_format("a/b.PARQUET") == "parquet"
    assert output_format("a/b.pq", "parquet") == "parquet"
    with pytest.raises(ConfigError, match="--format csv contradicts the extension of --out"):
        output_format("b.parquet", "csv")
    with pytest.raises(ConfigError, match="--format 'xlsx'"):
        output_format("b.parquet", "xlsx")
    with pytest.raises(ConfigError, match=re.escape("OUT b.json: unknown extension '.json'")):
        output_format("b.json", option="OUT")


def test_read_json_names_the_file(tmp_path) -> None:
    p = tmp_path / "r.json"
    for text, fragment in (('{"a": 1,', "not valid JSON"), ("[1]", "expected a JSON object"),
                           (b"\xff\xfe", "not a text file")):
        p.write_bytes(text if isinstance(text, bytes) else text.encode())
        with pytest.raises(InputError, match=fragment) as exc:
            read_json(p)
        assert exc.value.path == str(p)
    with pytest.raises(InputError, match="not found"):
        read_json(tmp_path / "nope.json")
    p.write_text('{"a": 1}')
    assert read_json(p) == {"a": 1}


def test_read_table_translates_every_parse_failure(tmp_path) -> None:
    import pandas as pd

    cases = {
        "empty.csv": (b"", "file is empty"),
        "junk.parquet": (bytes(range(256)), "cannot be read as a parquet"),
        "bad.csv": (b'a,b\n"1,2\n3,4,5,6\n', "cannot be read as a CSV"),
        "blank.csv": (b"\n\n", "no columns"),
        "x.xlsx": (b"a", "unknown table format '.xlsx'"),
    }
    for name, (content, fragment) in cases.items():
        (tmp_path / name).write_bytes(content)
        with pytest.raises(InputError, match=re.escape(fragment)) as exc:
            read_table(tmp_path / name)
        assert exc.value.path == str(tmp_path / name)
    with pytest.raises(InputError, match="is a folder"):
        read_table(tmp_path)
    pd.DataFrame({"a": [1, 2]}).to_csv(tmp_path / "ok.csv.gz", index=False)
    assert read_table(tmp_path / "ok.csv.gz")["a"].tolist() == [1, 2]
    (tmp_path / "data.dat").write_text("a\n3\n")
    assert read_table(tmp_path / "data.dat", format="csv")["a"].tolist() == [3]
