"""Imported last by the process executor's fork server (`sim.sweep.executors`), once the model is imported.

- Workers ignore Ctrl-C (the parent handles it) from their first instruction: the fork server gives each child the
  SIGINT handler the server had before it started serving, which is set here. Setting it in the pool's initializer
  alone left a window while a worker started in which Ctrl-C killed it with a traceback.
- The server ends when the process that started it ends, however that ends (`die_with_parent`); its workers end
  with it (`executors._start_worker`, which finds the server's pid here). Without that, SIGKILL of `negsim sweep`
  left the server and its workers running for ever.
- `gc.freeze()` moves everything imported so far out of the garbage collector's reach: the workers no longer
  scan (and so copy) those objects' pages when they collect, and the server exits at once when the sweep ends
  instead of collecting the module graph of Mesa, pandas and Arrow (about 0.3 s, which every reader of the
  command's output pipe waited for).

Nothing else imports this module.
"""

from __future__ import annotations

import gc
import os
import signal

from sim.sweep.executors import die_with_parent

SERVER_PID = os.getpid()
"""The fork server's pid; forked workers inherit this module, so they know which parent they must not outlive."""

signal.signal(signal.SIGINT, signal.SIG_IGN)
if os.getppid() > 1:
    # If the starting process died during the imports above, the server sees its pipe close and exits by itself.
    die_with_parent(os.getppid())
gc.freeze()
