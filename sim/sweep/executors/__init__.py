"""Where batches run, all behind the `concurrent.futures.Executor` interface (submit -> Future); one module per
executor, listed once here:

- ``serial``: in this process, one batch at a time (debugging, profiling, tiny sweeps).
- ``process`` (default): a local process pool whose workers come from a fork server that has already imported
  the sweep's worker side (`sim.sweep.executors.process`).
- ``dask``: a Dask distributed cluster (extra ``negsim[dask]``): a running cluster, or a LocalCluster
  (`sim.sweep.executors.dask_cluster`).

Adding an executor is a module with its `EXECUTOR` and one line below. Entries are imported on first use (the
command line lists the names without importing them). Results never depend on the executor: each run depends
only on its scenario and seed.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from sim.core.registry import Registry
from sim.sweep.base import SweepError

if TYPE_CHECKING:
    from sim.sweep.executors.base import Executor, Pool

DEFAULT_EXECUTOR = "process"

EXECUTORS: Registry[Executor] = Registry("executor", {
    "serial": "sim.sweep.executors.serial:EXECUTOR",
    "process": "sim.sweep.executors.process:EXECUTOR",
    "dask": "sim.sweep.executors.dask_cluster:EXECUTOR",
})


def scheduled_executors() -> list[str]:
    """The executors that take a scheduler address (`Executor.scheduler`), in the registry's order."""
    return [name for name, executor in EXECUTORS.items() if executor.scheduler]


def start_early(kind: Any) -> None:
    """Let executor `kind` start what it can ahead of the sweep (the process pool's fork server imports the worker
    side while this process loads the scenario); nothing for the others or for a given executor object."""
    if isinstance(kind, str) and kind in EXECUTORS:
        EXECUTORS.get(kind).start_early()


@contextlib.contextmanager
def open_executor(kind: str | Any = "process", workers: int | None = None,
                  scheduler: str | None = None) -> Iterator[Pool]:
    """An executor for `kind` (a registered name, a concurrent.futures Executor, or a dask.distributed Client),
    shut down on exit if this function created it."""
    from sim.sweep.executors.base import Pool, cpu_count

    if isinstance(kind, cf.Executor):
        yield Pool(kind, "custom", workers or getattr(kind, "_max_workers", None) or cpu_count(),
                   type(kind).__name__)
        return
    if type(kind).__name__ == "Client" and hasattr(kind, "get_executor"):
        from sim.sweep.executors.dask_cluster import client_pool

        yield client_pool(kind, "the given Dask client")
        return
    if not (isinstance(kind, str) and kind in EXECUTORS):
        raise SweepError(f"--executor must be one of {', '.join(EXECUTORS)} (got {kind!r})")
    with EXECUTORS.get(kind).open(workers, scheduler) as pool:
        yield pool


__all__ = ["DEFAULT_EXECUTOR", "EXECUTORS", "open_executor", "scheduled_executors", "start_early"]
