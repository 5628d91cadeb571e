"""The package's exception hierarchy.

Every error a user can cause with bad input derives from :class:`RediscoveryError`; the CLI
prints its message on one line and exits non-zero (traceback only with ``--debug``).
Messages say *what* was wrong (file, column, parameter), *what was expected* and, where it
helps, how to fix it.
"""

from __future__ import annotations

import re
from os import PathLike

__all__ = [
    "ConfigError",
    "ConvergenceError",
    "InputError",
    "ModelFileError",
    "RediscoveryError",
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
