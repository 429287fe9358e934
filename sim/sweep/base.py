"""The errors the sweep modules and the `negsim` command line share, importable without numpy, pandas, pyarrow or
Mesa (so that `import sim.cli` stays light)."""

from __future__ import annotations

from pathlib import Path


class SweepError(Exception):
    """A problem the user can fix (wrong directory, design mismatch, incomplete sweep): a message, no traceback."""


class SweepInterrupted(KeyboardInterrupt):
    """Ctrl-C during a sweep: the finished batches are on disk; re-running the same sweep resumes it."""

    def __init__(self, path: Path, done: int, total: int):
        super().__init__(f"interrupted: {done:,} of {total:,} runs saved in {path}")
        self.path, self.done, self.total = path, done, total
