"""Imported last by the process executor's fork server (`sim.sweep.executors.process` names it in the server's
preload list), once the model is imported. It imports `sim.sweep.executors.lifetime`, never the executor.

- Workers ignore Ctrl-C (the parent handles it) from their first instruction: the fork server gives each child the
  SIGINT handler the server had before it started serving, which is set here. Setting it in the pool's initializer
  alone left a window while a worker started in which Ctrl-C killed it with a traceback.
- The server ends when the process that started it ends, however that ends (`die_with_parent`); its workers end
  with it (`executors.process._start_worker`, which finds the server's pid in `lifetime.fork_server_pid()`).
  Without that, SIGKILL of `negsim sweep` left the server and its workers running for ever.
- `gc.freeze()` moves everything imported so far out of the garbage collector's reach: the workers no longer
  scan (and so copy) those objects' pages when they collect, and the server exits at once when the sweep ends
  instead of collecting the module graph of Mesa, pandas and Arrow (about 0.3 s, which every reader of the
  command's output pipe waited for).

- The parent's main script, if it has one that every worker would otherwise re-run (`lifetime.MAIN_SCRIPT`), is
  imported here once, as `__mp_main__`, the way each worker would; the workers then find it and skip it. If that
  import fails (an unguarded script that starts a sweep as it is imported), each worker re-runs the script itself
  and the sweep reports the missing `if __name__ == "__main__":` guard, as before. The script sees the parent's
  `sys.argv` (`lifetime.MAIN_ARGV`), as each worker would: one that parses its command line as it is imported
  must not fail here (argparse printed its usage error on the sweep's stderr).

Nothing else imports this module.
"""

from __future__ import annotations

import contextlib
import gc
import json
import multiprocessing
import os
import signal
import sys
from multiprocessing import spawn

from sim.sweep.executors.lifetime import MAIN_ARGV, MAIN_SCRIPT, become_fork_server, die_with_parent

become_fork_server()     # forked workers inherit it: the parent they must not outlive

signal.signal(signal.SIGINT, signal.SIG_IGN)
if os.getppid() > 1:
    # If the starting process died during the imports above, the server sees its pipe close and exits by itself.
    die_with_parent(os.getppid())
_script = os.environ.pop(MAIN_SCRIPT, None)
_argv = os.environ.pop(MAIN_ARGV, None)
if _script:
    with contextlib.suppress(ValueError, TypeError):     # the parent's command line, as a spawned worker has it
        sys.argv = [str(arg) for arg in json.loads(_argv or "")]
    _process = multiprocessing.current_process()
    _process._inheriting = True     # type: ignore[attr-defined]  # as a worker re-running it: no sweeps from it
    with contextlib.suppress(BaseException):
        spawn.import_main_path(_script)
    del _process._inheriting        # type: ignore[attr-defined]
gc.freeze()
