"""What every executor shares: the running `Pool` a sweep submits batches to, and the `Executor` plug-in."""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


def cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:      # pragma: no cover - macOS, Windows
        return os.cpu_count() or 1


@dataclass
class Pool:
    executor: cf.Executor
    kind: str
    workers: int
    description: str
    client: Any = None      # the Dask client behind a dask pool
    in_process: bool = False
    """Batches run in this process, one at a time (no pool to keep balanced: batches need not be small)."""

    def lost(self, error: BaseException) -> str | None:
        """If `error` means the executor itself is gone (not a failing batch), one line saying so."""
        return None


@dataclass(frozen=True)
class Executor:
    """An executor as a plug-in."""

    name: str
    summary: str
    open: Callable[[int | None, str | None], contextlib.AbstractContextManager[Pool]]
    """(workers, scheduler address) -> a context that yields the running pool and shuts it down after."""
    start_early: Callable[[], None] = lambda: None
    """Start what can be started before the sweep is ready (the process pool's fork server)."""
    label: str = ""
    """For people (the dashboard's New sweep page); the name where empty."""
    on_page: bool = True
    """The dashboard's New sweep page offers it (False: for the command line, e.g. one that needs a cluster)."""
    scheduler: bool = False
    """Takes a scheduler address (`--scheduler`; the command line picks this executor when one is given)."""
