"""One run at a time per run directory: a lock file held for the whole run.

:class:`RunLock` creates ``<run>/run.lock`` and takes an exclusive ``fcntl.flock`` on it; the
file records the holder (process id, host, process start time, start time in UTC, command).
The kernel releases the ``flock`` when the holder ends, even by ``SIGKILL``, so a lock file
whose ``flock`` is free is *stale*: the next run takes it over with a warning. A second run
while the holder is alive stops at once with :class:`~rediscovery.core.errors.RunLockedError`
naming the holder. A lock file written on another host is never taken over (whether that
process still runs cannot be checked from here): the error says to delete it if it is gone.
Where ``flock`` is not available (a file system without locks), the holder's process id is
checked instead.

The lock is re-entrant within a thread (``run_analysis`` holds it around ``run_stages``, which
takes it too) and released on exit, exceptions and ``KeyboardInterrupt`` included.

Example
-------
>>> import pathlib, tempfile
>>> root = pathlib.Path(tempfile.mkdtemp())
>>> with RunLock(root):
...     holder = read_lock(root)
...     print(holder.pid == os.getpid(), holder.is_alive())
True True
>>> read_lock(root) is None   # released: the lock file is gone
True
"""

from __future__ import annotations

import datetime as _dt
import errno
import json
import logging
import os
import socket
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from rediscovery.core.errors import RunLockedError

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX
    fcntl = None  # type: ignore[assignment]

__all__ = ["LOCK_FILE", "LockHolder", "RunLock", "process_alive", "read_lock"]

log = logging.getLogger(__name__)

#: Name of the lock file inside a run directory.
LOCK_FILE = "run.lock"

#: Attempts to take a lock file that another process removes at the same moment.
_ATTEMPTS = 5

# run directory (real path) -> [file descriptor, owning thread, depth]; re-entrancy
_HELD: dict[str, list[int]] = {}
_HELD_GUARD = threading.Lock()


def _proc_stat(pid: int) -> tuple[str, int] | None:
    """``(state, start time in clock ticks since boot)`` of ``pid`` from ``/proc`` (Linux),
    ``None`` where it cannot be read."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rfind(")") + 2:].split()  # the command name may hold spaces
    try:
        return fields[0], int(fields[19])  # fields 3 (state) and 22 (starttime) of proc(5)
    except (IndexError, ValueError):
        return None


def process_alive(pid: int, start: int | None = None) -> bool:
    """Whether process ``pid`` of this host runs (a zombie does not); with ``start`` (its
    start time from ``/proc``), also that it is the same process, not a later one that
    reuses the number."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        pass
    stat = _proc_stat(pid)
    if stat is None:
        return True
    state, started = stat
    return state not in ("Z", "X") and (start is None or started == start)


@dataclass(frozen=True)
class LockHolder:
    """The process recorded in a lock file."""

    pid: int
    host: str
    started: str = ""
    process_start: int | None = None
    command: str = ""

    @property
    def on_this_host(self) -> bool:
        return self.host == socket.gethostname()

    @property
    def is_this_process(self) -> bool:
        return self.on_this_host and self.pid == os.getpid()

    def is_alive(self) -> bool:
        """Whether the holder runs; a holder on another host is assumed to (it cannot be
        checked from here)."""
        return not self.on_this_host or process_alive(self.pid, self.process_start)


def _parse(text: str) -> LockHolder | None:
    try:
        data = json.loads(text)
        return LockHolder(pid=int(data["pid"]), host=str(data["host"]),
                          started=str(data.get("started", "")),
                          process_start=data.get("process_start"),
                          command=str(data.get("command", "")))
    except (ValueError, KeyError, TypeError):
        return None


def read_lock(run_dir: str | os.PathLike[str]) -> LockHolder | None:
    """The holder recorded in ``<run_dir>/run.lock``, or ``None`` (no lock file, or an empty
    or unreadable one)."""
    try:
        return _parse((Path(run_dir) / LOCK_FILE).read_text())
    except OSError:
        return None


def _this_holder() -> LockHolder:
    stat = _proc_stat(os.getpid())
    return LockHolder(pid=os.getpid(), host=socket.gethostname(),
                      started=_dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
                      process_start=None if stat is None else stat[1],
                      command=" ".join(sys.argv)[:500])


def _read_fd(fd: int) -> LockHolder | None:
    os.lseek(fd, 0, os.SEEK_SET)
    chunks = []
    while block := os.read(fd, 65536):
        chunks.append(block)
    return _parse(b"".join(chunks).decode("utf-8", "replace"))


def _write_fd(fd: int, holder: LockHolder) -> None:
    data = json.dumps({"pid": holder.pid, "host": holder.host, "started": holder.started,
                       "process_start": holder.process_start, "command": holder.command})
    os.ftruncate(fd, 0)
    os.lseek(fd, 0, os.SEEK_SET)
    os.write(fd, (data + "\n").encode())
    os.fsync(fd)


def _try_flock(fd: int) -> bool | None:
    """Take the exclusive ``flock`` without waiting: ``True`` taken, ``False`` held by another
    process, ``None`` not supported here."""
    if fcntl is None:  # pragma: no cover - not POSIX
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    except OSError as exc:
        if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
            return False
        return None  # ENOLCK, EOPNOTSUPP, ...: a file system without flock
    return True


def _same_file(fd: int, path: Path) -> bool:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return False
    fst = os.fstat(fd)
    return (st.st_dev, st.st_ino) == (fst.st_dev, fst.st_ino)


class RunLock:
    """The lock of run directory ``run_dir`` (created if needed); a context manager.

    Raises
    ------
    RunLockedError
        On :meth:`acquire` (entering the ``with``), if another live process holds it.
    """

    def __init__(self, run_dir: str | os.PathLike[str]) -> None:
        self.run_dir = Path(run_dir)
        self.path = self.run_dir / LOCK_FILE

    def __enter__(self) -> RunLock:
        self.acquire()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.release()

    def _key(self) -> str:
        return os.path.realpath(self.run_dir)

    def acquire(self) -> None:
        """Take the lock (at once, or raise :class:`RunLockedError`); a stale lock of a dead
        process of this host is taken over with a warning."""
        self.run_dir.mkdir(parents=True, exist_ok=True)
        key = self._key()
        with _HELD_GUARD:
            held = _HELD.get(key)
            if held is not None and held[1] == threading.get_ident():
                held[2] += 1
                return
        for _ in range(_ATTEMPTS):
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
            try:
                taken = self._take(fd)
            except BaseException:
                os.close(fd)
                raise
            if taken:
                with _HELD_GUARD:
                    _HELD[key] = [fd, threading.get_ident(), 1]
                return
            os.close(fd)  # the file was replaced meanwhile: try the new one
        raise RunLockedError(self.path, None, None)

    def _take(self, fd: int) -> bool:
        """Lock the open lock file ``fd``; ``False`` if it is no longer the file at
        :attr:`path` (removed or replaced by its holder meanwhile)."""
        flocked = _try_flock(fd)
        previous = _read_fd(fd)
        if not _same_file(fd, self.path):  # its holder removed it meanwhile
            return False
        if flocked is False:
            if previous is None:
                raise RunLockedError(self.path, None, None)
            raise RunLockedError(self.path, previous.pid, previous.host, previous.started)
        if previous is not None:
            if not previous.on_this_host:
                raise RunLockedError(self.path, previous.pid, previous.host, previous.started,
                                     checked=False)
            if flocked is None and previous.is_alive():
                raise RunLockedError(self.path, previous.pid, previous.host, previous.started)
            log.warning("%s: taking over the stale lock left by process %d on host %s (since "
                        "%s): that run ended without releasing it", self.path, previous.pid,
                        previous.host, previous.started or "?")
        _write_fd(fd, _this_holder())
        return True

    def release(self) -> None:
        """Release the lock (after as many releases as acquisitions in this thread) and
        delete the lock file."""
        key = self._key()
        with _HELD_GUARD:
            held = _HELD.get(key)
            if held is None or held[1] != threading.get_ident():
                return
            held[2] -= 1
            if held[2] > 0:
                return
            del _HELD[key]
        fd = held[0]
        try:
            if _same_file(fd, self.path):
                self.path.unlink(missing_ok=True)
        finally:
            if fcntl is not None:
                try:
                    fcntl.flock(fd, fcntl.LOCK_UN)
                except OSError:
                    pass
            os.close(fd)
