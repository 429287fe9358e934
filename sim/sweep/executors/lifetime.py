"""What the process executor (`sim.sweep.executors.process`) and its fork server's last import
(`sim.sweep.preload`) share, below both of them: a process that ends with its parent, the fork server's pid, and
the environment variables through which the server learns the parent's main script. Neither of them imports the
other: the executor names the preload module only as the fork server's preload list (text), and the preload module
imports this one.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time

_server_pid: int | None = None


def become_fork_server() -> None:
    """Record this process as negsim's fork server (`sim.sweep.preload`, as the server starts): the workers it forks
    inherit the record, so they know which parent they must not outlive."""
    global _server_pid
    _server_pid = os.getpid()


def fork_server_pid() -> int | None:
    """The pid of the negsim fork server that forked this process; None elsewhere (the sweep's own process, a
    spawned worker, a worker of a fork server negsim did not start)."""
    return _server_pid

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


