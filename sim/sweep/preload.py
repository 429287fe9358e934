"""Imported last by the process executor's fork server (`sim.sweep.executors`), once the model is imported.

- Workers ignore Ctrl-C (the parent handles it) from their first instruction: the fork server gives each child the
  SIGINT handler the server had before it started serving, which is set here. Setting it in the pool's initializer
  alone left a window while a worker started in which Ctrl-C killed it with a traceback.
- `gc.freeze()` moves everything imported so far out of the garbage collector's reach: the workers no longer
  scan (and so copy) those objects' pages when they collect, and the server exits at once when the sweep ends
  instead of collecting the module graph of Mesa, pandas and Arrow (about 0.3 s, which every reader of the
  command's output pipe waited for).

Nothing else imports this module.
"""

from __future__ import annotations

import gc
import signal

signal.signal(signal.SIGINT, signal.SIG_IGN)
gc.freeze()
