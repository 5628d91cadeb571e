"""Run independent tasks (pseudo-experiments, HPO trials, CAMB calls, MCMC chains) in parallel.

One call, :func:`map_tasks`, runs ``func(task)`` for every task and returns the results in
task order:

* locally in worker processes (the default, ``n_workers`` processes; ``n_workers=1`` runs
  in-process, which is what tests and debuggers want);
* on a dask.distributed cluster when ``scheduler="tcp://HOST:PORT"`` (or a
  ``distributed.Client``) is given -- the same tasks, the same results.

Tasks carry their own seeds, so results do not depend on where or in which order they ran.
``func`` must be importable (a module-level function) for process and cluster execution.
"""

from __future__ import annotations

import concurrent.futures as cf
import logging
import multiprocessing
import os
import re
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

from rediscovery.core.errors import ConfigError

__all__ = ["check_scheduler", "default_workers", "map_tasks"]

log = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")

#: A dask scheduler address: ``[PROTOCOL://]HOST:PORT`` (IPv6 hosts in brackets).
_SCHEDULER_ADDRESS = re.compile(r"^(?:[a-z]+://)?(?:\[[0-9a-fA-F:]+\]|[^\s:/\[\]]+):\d{1,5}$")


def check_scheduler(address: str | None, option: str = "--scheduler") -> None:
    """Refuse a dask scheduler address that is not ``[PROTOCOL://]HOST:PORT`` (ConfigError
    naming ``option``), before any work; ``None`` (local processes) passes."""
    if address is None or not isinstance(address, str):
        return
    if not _SCHEDULER_ADDRESS.match(address.strip()):
        raise ConfigError(f"{option} {address!r}: expected a dask scheduler address "
                          "tcp://HOST:PORT (e.g. tcp://127.0.0.1:8786)")


def default_workers() -> int:
    """Number of local worker processes: the CPUs this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - non-Linux
        return max(1, os.cpu_count() or 1)


def _progress(total: int, desc: str, enabled: bool):
    from rediscovery.core.progress import progress_bar

    return progress_bar(enabled=enabled), total, desc


def map_tasks(
    func: Callable[[T], R],
    tasks: Iterable[T],
    *,
    scheduler: str | Any | None = None,
    n_workers: int | None = None,
    progress: bool = True,
    desc: str = "tasks",
    start_method: str | None = None,
) -> list[R]:
    """Apply ``func`` to every task, in parallel, and return the results in task order.

    Parameters
    ----------
    func
        A picklable (module-level) function of one argument.
    tasks
        The arguments; each should carry its own seed.
    scheduler
        ``None`` for local processes; a dask scheduler address ``"tcp://HOST:PORT"`` or a
        ``distributed.Client`` to run on a cluster.
    n_workers
        Local worker processes (default: the usable CPUs). ``1`` runs serially in-process.
    progress
        Show a rich progress bar (it is transient and goes to the terminal only).
    desc
        Label of the progress bar.
    start_method
        How local workers start (``"fork"``, ``"spawn"``, ``"forkserver"``; default fork on
        POSIX). Use ``"spawn"`` when the caller has already run OpenMP code (healpy's
        transforms, libgomp): a forked child hangs in its first OpenMP region.
    """
    items: Sequence[T] = list(tasks)
    if not items:
        return []
    prog, total, label = _progress(len(items), desc, progress)
    if scheduler is not None:
        return _map_dask(func, items, scheduler, prog, label)
    workers = default_workers() if n_workers is None else int(n_workers)
    if workers < 1:
        raise ConfigError(f"n_workers must be >= 1, got {n_workers}")
    results: list[Any] = [None] * len(items)
    with prog:
        bar = prog.add_task(label, total=total)
        if workers == 1 or len(items) == 1:
            for i, t in enumerate(items):
                results[i] = func(t)
                prog.advance(bar)
            return results
        if start_method is None:
            start_method = "spawn" if os.name != "posix" else "fork"
        ctx = multiprocessing.get_context(start_method)
        with cf.ProcessPoolExecutor(max_workers=min(workers, len(items)), mp_context=ctx) as pool:
            futures = {pool.submit(func, t): i for i, t in enumerate(items)}
            for fut in cf.as_completed(futures):
                results[futures[fut]] = fut.result()
                prog.advance(bar)
    return results


def _map_dask(func, items, scheduler, prog, label):
    try:
        from distributed import Client, as_completed
    except ImportError as exc:  # pragma: no cover - dependency declared
        raise ConfigError(
            "a dask scheduler was given but dask.distributed is not installed"
        ) from exc
    own = not isinstance(scheduler, Client)
    client = Client(scheduler) if own else scheduler
    try:
        futures = client.map(func, items, pure=False)
        index = {f.key: i for i, f in enumerate(futures)}
        results: list[Any] = [None] * len(items)
        with prog:
            bar = prog.add_task(label, total=len(items))
            for fut in as_completed(futures):
                results[index[fut.key]] = fut.result()
                prog.advance(bar)
        return results
    finally:
        if own:
            client.close()
