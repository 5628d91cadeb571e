"""The package's one progress bar (rich), so every long loop looks and behaves the same.

Bars go to the terminal only, can be silenced with ``enabled=False`` (tests, batch jobs) and,
when ``transient``, disappear once finished.
"""

from __future__ import annotations

from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

__all__ = ["progress_bar"]


def progress_bar(*, enabled: bool = True, transient: bool = True) -> Progress:
    """A rich ``Progress`` with description, bar, done/total, elapsed and remaining time.

    Use as a context manager: ``with progress_bar() as p: t = p.add_task("fits", total=n)``.
    """
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        disable=not enabled,
        transient=transient,
    )
