"""A Dask distributed cluster (extra ``negsim[dask]``): ``scheduler="tcp://host:8786"`` connects to a running
cluster whose workers have negsim installed; without an address a LocalCluster of ``workers`` single-threaded
worker processes is started (and stopped afterwards)."""

from __future__ import annotations

import asyncio
import concurrent.futures as cf
import contextlib
import logging
from collections.abc import Iterator
from typing import Any

from sim.sweep.base import SweepError
from sim.sweep.executors.base import Executor, Pool, cpu_count


def worker_version() -> str:
    """Run on Dask workers to check that they can import the same negsim."""
    from sim.version import __version__

    return __version__


SCHEDULER_TIMEOUT = "10s"
"""How long to try to reach a Dask scheduler before giving up (distributed retries until then)."""


class DaskPool(Pool):
    def lost(self, error: BaseException) -> str | None:
        """If `error` means the executor itself is gone (not a failing batch), one line saying so."""
        if self.client is None:
            return None
        status = str(getattr(self.client, "status", "running"))
        cancelled = isinstance(error, (cf.CancelledError, asyncio.CancelledError))
        if cancelled or status not in ("running", "connecting"):
            where: Any = getattr(self.client, "scheduler_info", lambda: {})
            try:
                address = where().get("address") or "the scheduler"
            except Exception:
                address = "the scheduler"
            return f"lost the connection to the Dask cluster ({address}; client {status})"
        return None


def client_pool(client: Any, where: str) -> Pool:
    try:
        found = client.run(worker_version)
    except ModuleNotFoundError as error:
        raise SweepError(f"Dask workers cannot import negsim ({error}); install the same negsim version on "
                         "every worker: pip install 'negsim[dask]'") from None
    from sim.version import __version__

    stale = sorted({v for v in found.values() if v != __version__})
    if stale:
        raise SweepError(f"Dask workers run negsim {', '.join(stale)} but this is negsim {__version__}; "
                         "install the same version on every worker")
    threads = sum(client.nthreads().values()) or 1
    return DaskPool(client.get_executor(pure=False), "dask", threads,
                f"Dask {where}, {len(found)} worker{'s' if len(found) != 1 else ''}, {threads} threads", client)


@contextlib.contextmanager
def _quiet_distributed() -> Iterator[None]:
    """distributed (and tornado under it) log tracebacks of their own (CancelledError, CommClosedError) when the
    scheduler goes away under a running client; the sweep reports that in one line instead, so their loggers are
    silenced while the client is open."""
    names = ["distributed", "tornado", "asyncio", *(name for name in list(logging.root.manager.loggerDict)
                                                    if name.startswith(("distributed.", "tornado.")))]
    loggers = [logging.getLogger(name) for name in names]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.CRITICAL + 1)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


@contextlib.contextmanager
def _dask_client(workers: int | None, scheduler: str | None) -> Iterator[tuple[Any, str]]:
    try:
        import dask.config
        from distributed import Client, LocalCluster
    except ImportError:
        raise SweepError("the dask executor needs the extra: pip install 'negsim[dask]'") from None
    if scheduler:
        with _quiet_distributed():
            try:
                client = Client(scheduler, timeout=SCHEDULER_TIMEOUT)
            except (OSError, TimeoutError, ValueError) as error:
                message = str(error).splitlines()[0] if str(error) else type(error).__name__
                raise SweepError(f"cannot connect to the Dask scheduler at {scheduler}: {message}") from None
            try:
                yield client, f"scheduler {scheduler}"
            finally:
                with contextlib.suppress(Exception):
                    client.close(timeout=5)
        return
    n = workers or cpu_count()
    with dask.config.set({"logging.distributed": "error"}):
        cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None,
                               host="127.0.0.1", silence_logs=40)
    client = Client(cluster)
    try:
        yield client, "LocalCluster"
    finally:
        client.close()
        cluster.close()


@contextlib.contextmanager
def _open(workers: int | None, scheduler: str | None) -> Iterator[Pool]:
    with _dask_client(workers, scheduler) as (client, where):
        yield client_pool(client, where)


EXECUTOR = Executor("dask", "a Dask distributed cluster (a running one, or a LocalCluster)", _open,
                    on_page=False, scheduler=True)
