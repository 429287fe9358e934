"""What the `negsim` commands share about the terminal: consoles that print user text literally, and a quiet end
when the reader of the output goes away (`negsim params FILE | head`).

Imports only rich (the commands' help must stay fast).
"""

from __future__ import annotations

import contextlib
import os
import sys
from typing import Any, NoReturn

from rich.console import Console

READER_GONE = 0
"""Exit code when the output's reader went away (`negsim params FILE | head`): a reader that has read all it
wanted is no error, so the command ends cleanly, as if it had printed everything."""


def reader_gone() -> NoReturn:
    """stdout or stderr is a pipe whose reader exited: send what is left to /dev/null and exit quietly."""
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.dup2(devnull, sys.stderr.fileno())
    raise SystemExit(READER_GONE)


def flush_quietly() -> None:
    """Flush stdout now (it is block-buffered into a pipe): a reader that went away ends the command quietly
    instead of Python's 'Exception ignored ... BrokenPipeError' at exit."""
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        reader_gone()
    except (OSError, ValueError):
        pass


class PlainConsole(Console):
    """A rich Console for text that may come from users: no markup or highlighting unless asked for, and a
    quiet exit (no message) when its pipe breaks."""

    def __init__(self, **kwargs: Any):
        kwargs.setdefault("markup", False)
        kwargs.setdefault("highlight", False)
        super().__init__(**kwargs)

    def on_broken_pipe(self) -> None:
        self.quiet = True
        reader_gone()
