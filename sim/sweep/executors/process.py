"""A local process pool (the default executor). Workers come from a fork server that has already imported the
sweep's worker side (numpy, Arrow, the lockstep runs; Mesa only when a worker first runs a model), so they start
fast and never inherit the parent's threads; they ignore Ctrl-C (the parent handles it). `start_fork_server`
starts that server early (`negsim sweep` does so before loading the scenario or importing the sweep machinery
itself), so that its imports overlap with the parent's.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import json
import multiprocessing
import os
import select
import signal
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures.process import BrokenProcessPool

from sim.sweep.base import SweepError
from sim.sweep.executors.base import Executor, Pool, cpu_count
from sim.sweep.executors.lifetime import ARGV_LIMIT, MAIN_ARGV, MAIN_SCRIPT, die_with_parent, fork_server_pid


def _start_worker(owner: int) -> None:
    """A worker's first call: Ctrl-C is the parent's to handle, and the worker ends with its parent (the fork
    server, which itself ends with `owner`, the process running the sweep; or `owner` itself under spawn)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    server = fork_server_pid()     # only in processes forked by negsim's fork server
    if server is None and os.getppid() not in (owner, 1):
        # Forked by a fork server the script had started before the sweep (a forkserver Pool of its own), without
        # negsim's preload. Taking `owner` for the parent here made every worker exit at once (the sweep stopped
        # with the guard hint). That server outlives `owner` while its children live, so watch `owner` too.
        die_with_parent(os.getppid())
        _watch_owner(owner)
        return
    die_with_parent(server or owner)


def _watch_owner(owner: int) -> None:
    """End this process when `owner` (not its parent) ends: at once where Linux gives a process file descriptor
    (readable when the process ends), else within a second (the pid polled)."""
    try:
        handle: int | None = os.pidfd_open(owner)
    except ProcessLookupError:
        os._exit(1)
    except (AttributeError, OSError):     # pragma: no cover - not Linux >= 5.3
        handle = None

    def watch() -> None:
        if handle is not None:
            select.select([handle], [], [])
            os._exit(1)
        while True:     # pragma: no cover - see above
            try:
                os.kill(owner, 0)
            except ProcessLookupError:
                os._exit(1)
            time.sleep(1.0)

    threading.Thread(target=watch, name="negsim-owner-watch", daemon=True).start()


def _preload() -> list[str]:
    """What the fork server imports before forking workers: the sweep's worker side (`sim.sweep.worker`: the
    lockstep runs, no pandas; Mesa is left to a worker's first model run, which lockstep sweeps never make), then
    `sim.sweep.preload`, which imports the parent's main script (see `MAIN_SCRIPT`) and freezes the garbage
    collector's view of all that."""
    return ["sim.sweep.worker", "sim.sweep.preload"]     # preload last: it freezes what was imported


def _main_script() -> str | None:
    """The path of the parent's main script, if workers would re-run it (see `MAIN_SCRIPT`)."""
    main = sys.modules.get("__main__")
    script = getattr(main, "__file__", None)
    if main is None or getattr(main, "__spec__", None) is not None or not script:
        return None
    start_dir = getattr(multiprocessing.process, "ORIGINAL_DIR", None) or ""    # the cwd at interpreter start
    return os.path.normpath(os.path.join(start_dir, script))


def _mp_context() -> multiprocessing.context.BaseContext:
    """A fork server that has imported the worker side (fast worker start; never forks this process, which holds
    numpy/Arrow threads); spawn where there is none. As with any spawn-like start, a script that starts a
    sweep on processes must guard its entry point with `if __name__ == "__main__":`."""
    if "forkserver" in multiprocessing.get_all_start_methods():
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(_preload())     # used only when the server starts (once per process)
        return context
    return multiprocessing.get_context("spawn")     # pragma: no cover - Windows


def start_fork_server() -> None:
    """Start the process executor's fork server now, without waiting for it: it imports the worker side (about
    0.7 s) while this process goes on with its own work (imports, loading the scenario, the design). The pool started
    later forks its workers from it. Does nothing on a platform without a fork server, or while this process is
    itself a worker importing its parent's main module (an unguarded script)."""
    if getattr(multiprocessing.current_process(), "_inheriting", False):
        return
    if "forkserver" not in multiprocessing.get_all_start_methods():     # pragma: no cover - Windows
        return
    from multiprocessing import forkserver

    _mp_context()
    script = _main_script()
    if script is not None:     # read by the server as it starts; this process never reads them
        os.environ[MAIN_SCRIPT] = script
        argv = json.dumps(sys.argv)
        if len(argv) < ARGV_LIMIT:
            os.environ[MAIN_ARGV] = argv
    try:
        forkserver.ensure_running()
    finally:
        os.environ.pop(MAIN_SCRIPT, None)
        os.environ.pop(MAIN_ARGV, None)


GUARD_HINT = ("worker processes could not start; a script that runs a sweep on processes must call it under "
              "`if __name__ == \"__main__\":` (or use executor=\"serial\")")


class ProcessPool(Pool):
    def lost(self, error: BaseException) -> str | None:
        """A broken pool: a worker died (an unguarded script's workers, or one out of memory)."""
        if isinstance(error, BrokenProcessPool):
            return f"a worker process died ({GUARD_HINT}, or it ran out of memory)"
        return None


@contextlib.contextmanager
def _open(workers: int | None, scheduler: str | None) -> Iterator[Pool]:
    n = workers or cpu_count()
    start_fork_server()     # if it is not running yet (it imports the main script, see there)
    pool = cf.ProcessPoolExecutor(max_workers=n, mp_context=_mp_context(), initializer=_start_worker,
                                  initargs=(os.getpid(),))
    try:
        try:
            pool.submit(os.getpid).result()     # start the workers now: a failure to start shows here
        except BrokenProcessPool:
            raise SweepError(GUARD_HINT) from None
        yield ProcessPool(pool, "process", n, f"process pool, {n} worker{'s' if n != 1 else ''}")
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


EXECUTOR = Executor("process", "a local process pool (the default)", _open, start_early=start_fork_server,
                    label="all cores")
