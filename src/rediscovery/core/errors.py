"""The package's exception hierarchy.

Every error a user can cause with bad input derives from :class:`RediscoveryError`; the CLI
prints its message on one line and exits non-zero (traceback only with ``--debug``).
Messages say *what* was wrong (file, column, parameter), *what was expected* and, where it
helps, how to fix it.
"""

from __future__ import annotations

import re
import signal
from os import PathLike

__all__ = [
    "ConfigError",
    "ConvergenceError",
    "InputError",
    "ModelFileError",
    "RediscoveryError",
    "RunInterrupted",
    "RunLockedError",
    "StageError",
    "plain_text",
]

#: NumPy scalar reprs (``np.float64(50.0)``, ``np.int64(3)``, ``np.str_('a')``) in a message.
_NUMPY_REPR = re.compile(r"np\.(?:float|int|uint|complex|bool|str)\w*\((?P<value>[^()]*)\)")


def plain_text(message: str) -> str:
    """``message`` with NumPy scalar reprs replaced by their plain values: users read
    ``got 50.0``, not ``got np.float64(50.0)``, whichever way a value reached the message."""
    return _NUMPY_REPR.sub(lambda m: m["value"], message)


class RediscoveryError(Exception):
    """Base class of all errors raised on purpose by rediscovery.

    Its text never shows NumPy scalar reprs (see :func:`plain_text`).
    """

    exit_code = 1

    def __str__(self) -> str:
        return plain_text(super().__str__())


class InputError(RediscoveryError, ValueError):
    """Bad input data: a file, a column, a row or a parameter value is not what was expected.

    Parameters
    ----------
    message
        What is wrong and what was expected.
    path
        The file concerned, if any; it is prefixed to the message.
    column
        The column (or parameter) concerned, if any.
    """

    exit_code = 2

    def __init__(
        self,
        message: str,
        *,
        path: str | PathLike[str] | None = None,
        column: str | None = None,
    ) -> None:
        self.path = None if path is None else str(path)
        self.column = column
        prefix = ""
        if self.path is not None:
            prefix += f"{self.path}: "
        if column is not None:
            prefix += f"column {column!r}: "
        super().__init__(prefix + message)


class ConfigError(RediscoveryError, ValueError):
    """An invalid configuration value or an inconsistent combination of options."""

    exit_code = 2


class ModelFileError(RediscoveryError):
    """A saved model (or emulator) file is missing, corrupt or incompatible."""

    exit_code = 2


class ConvergenceError(RediscoveryError, RuntimeError):
    """A fit or sampler did not converge; carries what is known about the failure.

    Attributes
    ----------
    details
        Diagnostic values (e.g. ``{"edm": 3.2}`` or ``{"autocorr_tau": [...]}``) so callers
        can react.
    """

    exit_code = 3

    def __init__(self, message: str, **details: object) -> None:
        self.details = details
        super().__init__(message)


class StageError(RediscoveryError, RuntimeError):
    """A pipeline stage failed; names the stage."""

    exit_code = 4

    def __init__(self, stage: str, message: str) -> None:
        self.stage = stage
        super().__init__(f"stage {stage!r}: {message}")


class RunLockedError(RediscoveryError):
    """Another process holds the lock of a run directory (two runs on one folder).

    Attributes
    ----------
    lock
        The lock file.
    pid, host
        The holder's process id and host name as recorded in the lock file (``None`` if it
        could not be read).
    """

    exit_code = 2

    def __init__(self, lock: str | PathLike[str], pid: int | None, host: str | None,
                 since: str | None = None, *, checked: bool = True) -> None:
        self.lock = str(lock)
        self.pid = pid
        self.host = host
        who = f"process {pid} on host {host}" if pid is not None else "another process"
        when = f" since {since[:19].replace('T', ' ')} UTC" if since else ""
        state = "" if checked else " (it cannot be checked from this host whether it still runs)"
        super().__init__(
            f"{self.lock}: the run directory is in use by {who}{when}{state}; wait for that "
            "run to finish, or, if that process is no longer running, delete this lock file "
            "and run again"
        )


class RunInterrupted(RediscoveryError):
    """A run was interrupted (Ctrl-C, ``KeyboardInterrupt``) while a stage was running; the
    stage is marked ``interrupted`` in the manifest and re-runs on the next run.

    The exit code is the shell's for SIGINT (128 + 2).
    """

    exit_code = 128 + signal.SIGINT

    def __init__(self, run_dir: str | PathLike[str], stage: str) -> None:
        self.run_dir = str(run_dir)
        self.stage = stage
        super().__init__(
            f"{self.run_dir}: interrupted during stage {stage!r} (marked 'interrupted' in "
            "manifest.json); run the same command again to resume: finished stages are skipped"
        )
