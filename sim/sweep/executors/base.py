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
