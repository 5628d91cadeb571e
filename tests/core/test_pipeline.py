"""The stage loop of a run directory under faults (rediscovery.core.pipeline): a second run on
the same folder, a killed or interrupted run, corrupted outputs, a failing stage.

A three-stage pipeline of milliseconds (``_tiny_pipeline``: a → b → c) stands for the
analyses; one command-line check each on ``higgs run`` and ``cosmo run``, which stop before
any work.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import rediscovery
from rediscovery.cli import main
from rediscovery.core.errors import InputError, RunInterrupted, RunLockedError
from rediscovery.core.lock import LOCK_FILE, read_lock
from rediscovery.core.runs import read_manifest
from rediscovery.core.unblind import unblind

HERE = Path(__file__).resolve().parent
SRC = Path(rediscovery.__file__).resolve().parents[1]

#: A process that takes the lock of argv[1], says so, and sleeps until it is killed.
HOLDER = """
import sys, time
from rediscovery.core.lock import RunLock
RunLock(sys.argv[1]).acquire()
print("locked", flush=True)
time.sleep(120)
"""


@pytest.fixture
def tiny(monkeypatch):
    """The ``_tiny_pipeline`` module, importable by name (for ``--stage``)."""
    import importlib

    monkeypatch.syspath_prepend(str(HERE))
    return importlib.import_module("_tiny_pipeline")


@pytest.fixture
def cli_logging():
    """Keep the root logger as it was: ``main`` points it at the captured stderr."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(SRC), str(HERE)])}


def _statuses(run_dir: Path) -> dict[str, str]:
    return {n: s["status"] for n, s in read_manifest(run_dir)["stages"].items()}


def _stage_files(run_dir: Path) -> dict[str, bytes]:
    return {p.relative_to(run_dir).as_posix(): p.read_bytes()
            for p in sorted(run_dir.glob("[abc]/*.txt"))}


@pytest.fixture
def clean(tiny, tmp_path):
    """A clean, finished run: its directory."""
    out = tmp_path / "clean"
    tiny.run(out)
    return out


def _ran(caplog) -> list[str]:
    return [r.getMessage().split()[1].rstrip(":") for r in caplog.records
            if r.getMessage().endswith(": running")]


def test_second_run_on_a_locked_directory_stops_before_any_work(tiny, tmp_path, capsys,
                                                                cli_logging):
    out = tmp_path / "run"
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(out)], env=_env(),
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        with pytest.raises(RunLockedError, match=f"process {holder.pid} on host"):
            tiny.run(out)
        assert sorted(p.name for p in out.iterdir()) == [LOCK_FILE]  # nothing written
        for command in (["higgs", "run", "--out", str(out)],
                        ["cosmo", "run", "--out", str(out)]):
            t0 = time.perf_counter()
            assert main(command) == 2
            assert time.perf_counter() - t0 < 5.0
            err = capsys.readouterr().err.strip()
            assert "\n" not in err and err.startswith("error: ")
            assert f"in use by process {holder.pid} on host" in err
            assert "wait for that run to finish" in err and f"delete {out / LOCK_FILE}" \
                not in err  # the lock file is named once, at the start
            assert err.startswith(f"error: {out / LOCK_FILE}: ")
        assert sorted(p.name for p in out.iterdir()) == [LOCK_FILE]
    finally:
        holder.kill()
        holder.wait()
        if holder.stdout is not None:
            holder.stdout.close()


def test_killed_run_shows_interrupted_and_the_next_run_completes(tiny, clean, tmp_path,
                                                                  caplog):
    out = tmp_path / "run"
    marker = tmp_path / "b-started"
    code = ("import sys, _tiny_pipeline as t; "
            "t.run(sys.argv[1], sleep=120, marker=sys.argv[2])")
    proc = subprocess.Popen([sys.executable, "-c", code, str(out), str(marker)], env=_env())
    try:
        deadline = time.monotonic() + 60
        while not marker.exists():
            assert proc.poll() is None, "the run ended before stage b started"
            assert time.monotonic() < deadline, "stage b did not start"
            time.sleep(0.02)
        assert _statuses(out) == {"a": "done", "b": "running"}  # the holder is alive
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    # every reader sees the stage as interrupted (the killed holder left its lock file)
    assert read_lock(out).pid == proc.pid
    assert _statuses(out) == {"a": "done", "b": "interrupted"}
    from rediscovery.core.report import write_report

    assert ">interrupted<" in write_report(out).read_text(encoding="utf-8")
    with pytest.raises(InputError, match="'b' is interrupted"):
        (out / "simulate").mkdir()
        (out / "simulate" / "truth.json").write_text("{}")
        unblind(out)
    # the next run takes the lock over, re-runs b and finishes like a clean run
    with caplog.at_level(logging.INFO):
        res = tiny.run(out)
    assert f"stale lock left by process {proc.pid}" in caplog.text
    assert "stage b was interrupted" in caplog.text
    assert _ran(caplog) == ["b", "c"]
    assert _statuses(out) == {"a": "done", "b": "done", "c": "done"}
    assert res == json.loads((clean / "results.json").read_text())
    assert (out / "results.json").read_bytes() == (clean / "results.json").read_bytes()
    assert _stage_files(out) == _stage_files(clean)
    assert not (out / LOCK_FILE).exists()


@pytest.mark.parametrize(("stage", "rerun"), [("a", ["a"]), ("b", ["b"]), ("c", ["c"])])
def test_truncated_output_reruns_its_stage_and_results_are_identical(
        tiny, clean, tmp_path, caplog, stage, rerun):
    out = tmp_path / "run"
    tiny.run(out)
    victim = out / stage / f"{stage}.txt"
    victim.write_bytes(victim.read_bytes()[:10])
    caplog.clear()
    with caplog.at_level(logging.INFO):
        tiny.run(out)
    assert f"its output {victim} has 10 bytes" in caplog.text
    # the later stages' inputs are again those they used: their fingerprints match
    assert _ran(caplog) == rerun
    assert _stage_files(out) == _stage_files(clean)
    assert (out / "results.json").read_bytes() == (clean / "results.json").read_bytes()
    assert _statuses(out) == {"a": "done", "b": "done", "c": "done"}


def test_modified_output_that_comes_out_different_reruns_every_later_stage(tiny, tmp_path,
                                                                         caplog):
    out = tmp_path / "run"
    tiny.run(out)
    first = (out / "results.json").read_bytes()
    victim = out / "a" / "a.txt"
    text = victim.read_text()
    victim.write_text(text.replace("seed", "SEED", 1))  # same size, other content
    caplog.clear()
    with caplog.at_level(logging.INFO):
        tiny.run(out, salt=1)  # a's output differs now (salt is not in the fingerprint)
    assert f"its output {victim} was modified" in caplog.text
    assert _ran(caplog) == ["a", "b", "c"]
    assert (out / "results.json").read_bytes() != first


def test_failing_stage_leaves_no_stale_results(tiny, tmp_path):
    out = tmp_path / "run"
    tiny.run(out)
    (out / "a" / "a.txt").write_text("truncated")
    with pytest.raises(RuntimeError, match="on purpose"):
        tiny.run(out, fail=True, salt=1)
    mf = read_manifest(out)
    assert _statuses(out) == {"a": "done", "b": "failed", "c": "stale"}
    assert "on purpose" in mf["stages"]["b"]["error"]
    assert not (out / "results.json").exists() and not (out / "report.html").exists()
    assert (out / "c" / "c.txt").exists()  # the earlier artifacts stay (atomic writes)
    assert read_lock(out) is None  # released
    res = tiny.run(out, salt=1)
    assert _statuses(out) == {"a": "done", "b": "done", "c": "done"}
    assert json.loads((out / "results.json").read_text()) == res
    assert (out / "report.html").exists()


def test_keyboard_interrupt_in_a_stage_marks_it_interrupted(tiny, clean, tmp_path):
    out = tmp_path / "run"
    tiny.run(out)
    with pytest.raises(RunInterrupted) as info:
        tiny.run(out, interrupt=True, force=["b"])
    assert info.value.exit_code == 130 and info.value.stage == "b"
    assert isinstance(info.value.__cause__, KeyboardInterrupt)
    assert _statuses(out) == {"a": "done", "b": "interrupted", "c": "stale"}
    assert "KeyboardInterrupt" in read_manifest(out)["stages"]["b"]["error"]
    assert read_lock(out) is None and not (out / "results.json").exists()
    tiny.run(out)
    assert (out / "results.json").read_bytes() == (clean / "results.json").read_bytes()


def test_ctrl_c_in_higgs_run_is_one_line_with_exit_code_130(tiny, tmp_path, capsys,
                                                            cli_logging):
    out = tmp_path / "run"
    code = main(["-q", "higgs", "run", "--out", str(out),
                 "--stage", "simulate=_tiny_pipeline:interrupt_stage"])
    assert code == 130
    err = capsys.readouterr().err.strip()
    assert "\n" not in err, err
    assert "interrupted during stage 'simulate'" in err
    assert "run the same command again" in err
    stages = json.loads((out / "manifest.json").read_text())["stages"]
    assert stages["simulate"]["status"] == "interrupted"
    assert not (out / LOCK_FILE).exists()
