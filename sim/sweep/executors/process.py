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

PR_SET_PDEATHSIG = 1
"""Linux prctl(2) option: the signal a process gets when the thread that created it exits."""


def die_with_parent(expected_parent: int) -> None:
    """End this process when its parent ends, however the parent ends (SIGKILL included).

    Linux: the kernel sends SIGKILL on the parent's death (prctl PR_SET_PDEATHSIG); the parent may have died
    before the request was made, so the parent pid is checked after it. Elsewhere: a daemon thread watches the
    parent pid. Without this, a `negsim sweep` killed with SIGKILL or SIGTERM left its fork server and workers
    running for ever: each holds the pipes the others wait on, so none of them ever sees an end of file."""
    if sys.platform.startswith("linux"):
        import ctypes

        try:
            libc = ctypes.CDLL(None, use_errno=True)
            done = libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) == 0
        except (OSError, AttributeError):     # pragma: no cover - no prctl in this libc
            done = False
        if done:
            if os.getppid() != expected_parent:
                os._exit(1)
            return
    _watch_parent(expected_parent)     # pragma: no cover - macOS and others


def _watch_parent(expected_parent: int, interval: float = 1.0) -> None:     # pragma: no cover - not Linux
    def watch() -> None:
        while True:
            if os.getppid() != expected_parent:
                os._exit(1)
            time.sleep(interval)

    threading.Thread(target=watch, name="negsim-parent-watch", daemon=True).start()


def _start_worker(owner: int) -> None:
    """A worker's first call: Ctrl-C is the parent's to handle, and the worker ends with its parent (the fork
    server, which itself ends with `owner`, the process running the sweep; or `owner` itself under spawn)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    preload = sys.modules.get("sim.sweep.preload")     # only in processes forked by negsim's fork server
    server = getattr(preload, "SERVER_PID", None)
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


MAIN_SCRIPT = "NEGSIM_FORK_SERVER_MAIN"
"""The environment variable that tells the fork server which main script to import (`sim.sweep.preload`).

Every worker of a spawn-like pool re-runs the parent's main script (a script, not a `python -m` module) as
`__mp_main__`, unless its process already holds that script: `negsim`'s own script is light, but a user's (or a
benchmark's) imports can take a second, paid by every worker before its first batch. Python's fork server is meant
to import it once for all its workers (its default preload, ``__main__``), but in 3.12 it looks the script up
under a key the parent never sends, so negsim's preload imports it instead."""


MAIN_ARGV = "NEGSIM_FORK_SERVER_ARGV"
"""The parent's `sys.argv` (JSON), set while the fork server imports the main script: a spawned worker gets it
before it re-runs the script, and a script that parses its command line as it is imported (argparse at module
level) must find its own arguments there, not the server's."""
ARGV_LIMIT = 100_000
"""Longer command lines are not passed (Linux refuses an environment string over 128 KiB, and the server would not
start); the server then imports the script with its own arguments, as it did before, and workers re-run it."""


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
        yield Pool(pool, "process", n, f"process pool, {n} worker{'s' if n != 1 else ''}")
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


EXECUTOR = Executor("process", "a local process pool (the default)", _open, start_early=start_fork_server,
                    label="all cores")
