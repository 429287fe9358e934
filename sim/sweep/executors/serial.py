"""In this process, one batch at a time (debugging, profiling, tiny sweeps)."""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import threading
from collections.abc import Callable, Iterator
from typing import Any

from sim.sweep.executors.base import Executor, Pool


class SerialExecutor(cf.Executor):
    """Runs each submitted call at once, in the calling thread; returns a finished Future."""

    def __init__(self) -> None:
        self._shutdown = False
        self._lock = threading.Lock()

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> cf.Future:
        with self._lock:
            if self._shutdown:
                raise RuntimeError("cannot schedule new futures after shutdown")
        future: cf.Future = cf.Future()
        future.set_running_or_notify_cancel()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as error:      # KeyboardInterrupt propagates; other errors go in the future
            if not isinstance(error, Exception):
                raise
            future.set_exception(error)
        return future

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        with self._lock:
            self._shutdown = True


@contextlib.contextmanager
def _open(workers: int | None, scheduler: str | None) -> Iterator[Pool]:
    yield Pool(SerialExecutor(), "serial", 1, "serial (this process)", in_process=True)


EXECUTOR = Executor("serial", "in this process, one batch at a time", _open, label="this process")
