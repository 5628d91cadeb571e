"""The lock of a run directory (rediscovery.core.lock)."""

from __future__ import annotations

import json
import logging
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

import rediscovery
from rediscovery.core import lock as lock_module
from rediscovery.core.errors import RunLockedError
from rediscovery.core.lock import LOCK_FILE, RunLock, process_alive, read_lock

SRC = Path(rediscovery.__file__).resolve().parents[1]

#: A process that takes the lock of argv[1], says so, and sleeps until it is killed.
HOLDER = """
import sys, time
from rediscovery.core.lock import RunLock
RunLock(sys.argv[1]).acquire()
print("locked", flush=True)
time.sleep(120)
"""


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(SRC), str(Path(__file__).parent)])}


@pytest.fixture
def holder(tmp_path):
    """``(run directory, process)``: another live process holding the run's lock."""
    run_dir = tmp_path / "run"
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, str(run_dir)], env=_env(),
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "locked"
        yield run_dir, proc
    finally:
        proc.kill()
        proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()


def _dead_pid() -> int:
    """The id of a process that has ended (and been reaped)."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_lock_held_by_a_live_process_stops_at_once_naming_it(holder):
    run_dir, proc = holder
    t0 = time.perf_counter()
    with pytest.raises(RunLockedError) as info:
        RunLock(run_dir).acquire()
    assert time.perf_counter() - t0 < 1.0  # no waiting
    err = info.value
    assert err.pid == proc.pid and err.host == socket.gethostname()
    assert err.exit_code == 2
    msg = str(err)
    assert "\n" not in msg
    assert f"process {proc.pid} on host {socket.gethostname()}" in msg
    assert str(run_dir / LOCK_FILE) in msg and "wait" in msg and "delete" in msg
    # the holder keeps its lock
    assert read_lock(run_dir).pid == proc.pid


def test_lock_of_a_killed_process_is_taken_over_with_a_warning(holder, caplog):
    run_dir, proc = holder
    proc.kill()
    proc.wait()
    assert read_lock(run_dir).pid == proc.pid  # the file is left behind
    assert not read_lock(run_dir).is_alive()
    with caplog.at_level(logging.WARNING, logger="rediscovery.core.lock"), RunLock(run_dir):
        assert read_lock(run_dir).pid == os.getpid()
    assert f"stale lock left by process {proc.pid}" in caplog.text
    assert not (run_dir / LOCK_FILE).exists()  # released: removed


def test_stale_lock_file_without_flock_support(tmp_path, monkeypatch, caplog):
    """Where flock is not supported the holder's process id decides."""
    def no_flock(fd, op):
        raise OSError(37, "No locks available")  # ENOLCK

    monkeypatch.setattr(lock_module.fcntl, "flock", no_flock)
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    dead = _dead_pid()
    (run_dir / LOCK_FILE).write_text(json.dumps({"pid": dead, "host": socket.gethostname()}))
    with caplog.at_level(logging.WARNING), RunLock(run_dir):
        assert read_lock(run_dir).pid == os.getpid()
    assert f"process {dead}" in caplog.text
    (run_dir / LOCK_FILE).write_text(json.dumps({"pid": os.getppid(),
                                                 "host": socket.gethostname()}))
    with pytest.raises(RunLockedError, match=f"process {os.getppid()}"):
        RunLock(run_dir).acquire()


def test_lock_of_another_host_is_not_taken_over(tmp_path):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / LOCK_FILE).write_text(json.dumps({"pid": 1234, "host": "elsewhere.example"}))
    with pytest.raises(RunLockedError, match="cannot be checked from this host") as info:
        RunLock(run_dir).acquire()
    assert info.value.host == "elsewhere.example"
    assert read_lock(run_dir).host == "elsewhere.example"


def test_lock_is_reentrant_in_a_thread_and_released_on_exceptions(tmp_path):
    run_dir = tmp_path / "run"
    with pytest.raises(KeyboardInterrupt), RunLock(run_dir):
        with RunLock(run_dir):
            pass
        assert read_lock(run_dir).is_this_process  # still held after the inner release
        raise KeyboardInterrupt
    assert read_lock(run_dir) is None
    with RunLock(run_dir):  # free again
        pass


def test_a_second_thread_does_not_share_the_lock(tmp_path):
    import threading

    run_dir = tmp_path / "run"
    errors = []

    def second():
        try:
            RunLock(run_dir).acquire()
        except RunLockedError as exc:
            errors.append(exc)

    with RunLock(run_dir):
        t = threading.Thread(target=second)
        t.start()
        t.join()
    assert len(errors) == 1 and errors[0].pid == os.getpid()


def test_process_alive(tmp_path):
    assert process_alive(os.getpid())
    assert not process_alive(_dead_pid())
    assert not process_alive(0)
    with RunLock(tmp_path):
        me = read_lock(tmp_path).process_start
    if me is not None:  # Linux: a reused process id is told apart by its start time
        assert process_alive(os.getpid(), me)
        assert not process_alive(os.getpid(), me + 1)
