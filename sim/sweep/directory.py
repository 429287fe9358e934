"""A sweep directory on disk: its layout, the lock, the manifest file, the part files of finished batches, the
resume scan, and their consolidation into the result files.

Layout of ``DIR``::

    manifest.json        the design (what determines the run table), versions, output columns, status
    parts/runs-<first run_id>.arrow     one per finished batch, written to a temporary name then renamed
    parts/rounds-<first run_id>.arrow   with --rounds; written *before* its runs part (the runs part commits)
    runs.parquet         when every run is done: all parts, sorted by run_id (then parts/ is removed)
    rounds.parquet       with --rounds, likewise (run x round x actor x issue)

Nothing is ever appended in place, so a crash, Ctrl-C or SIGKILL leaves only whole part files; the run ids
in ``parts/runs-*`` are the runs that are done, and a resumed sweep computes only the others (`SweepDir.scan`).
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from sim.sweep import parts as parts_module
from sim.sweep.base import SweepError
from sim.sweep.columns import numbers_of
from sim.sweep.manifest import FORMAT, timestamp
from sim.sweep.merge import merge_parts
from sim.sweep.parts import (
    PART_NAME,
    PART_SUFFIX,
    TEMPORARY,
    DamagedPart,
    Part,
    atomic_write_bytes,
    atomic_write_part,
    read_part,
    read_whole,
    readable,
)

MANIFEST = "manifest.json"
RUNS = "runs.parquet"
ROUNDS = "rounds.parquet"
PARTS = "parts"
OWN_FILES = (MANIFEST, RUNS, ROUNDS, "runs.csv", "rounds.csv", "agreement.png", "agreement.csv", "sobol.csv")
"""Files a sweep (and `negsim export` / `negsim analyze`) may create; --overwrite removes only these."""


@dataclass(frozen=True)
class Expected:
    """What this sweep's part holds for its run ids (run_id = point x replicates + replicate): each run's point,
    seed and factor values. A part that holds anything else (copied from another sweep's parts/) is not ours."""

    replicates: int
    seeds: Callable[[np.ndarray], np.ndarray]      # the seeds of replicate indices
    values: Mapping[str, np.ndarray]               # factor path -> its value at each point

    @property
    def columns(self) -> list[str]:
        return ["point", "seed", *self.values]

    def holds(self, ids: np.ndarray, table: pa.Table) -> bool:
        point, replicate = np.divmod(ids, self.replicates)
        if not (np.array_equal(numbers_of(table["point"]), point)
                and np.array_equal(numbers_of(table["seed"]), self.seeds(replicate))):
            return False
        for path, column in self.values.items():
            wanted = column[point]
            got = numbers_of(table[path]) if wanted.dtype.kind in "if" else np.asarray(table[path].to_pylist())
            if not np.array_equal(got, wanted):
                return False
        return True


# ====================================================================== the directory
class SweepDir:
    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.parts = self.path / PARTS
        self.manifest_path = self.path / MANIFEST
        self.runs_path = self.path / RUNS
        self.rounds_path = self.path / ROUNDS

    # ------------------------------------------------------------------ manifest
    def read_manifest(self) -> dict[str, Any] | None:
        if not self.manifest_path.exists():
            return None
        from sim.scenario.limits import MAX_FILE_BYTES, read_file

        try:     # a regular file of bounded size (it holds the scenario); nesting only as deep as negsim writes
            doc = json.loads(read_file(self.manifest_path, limit=16 * MAX_FILE_BYTES))
        except (OSError, ValueError, RecursionError) as error:
            raise SweepError(f"{self.manifest_path}: cannot read the manifest ({error})") from None
        if not isinstance(doc, dict) or doc.get("format") != FORMAT:
            raise SweepError(f"{self.manifest_path}: not a negsim sweep manifest (format {FORMAT})")
        return doc

    def write_manifest(self, doc: dict[str, Any]) -> None:
        doc = {**doc, "updated": timestamp()}
        atomic_write_bytes(self.manifest_path, (json.dumps(doc, indent=2, allow_nan=False) + "\n").encode())

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """An exclusive lock on the directory, so two sweeps never write into it at once (released on exit,
        also when the process is killed)."""
        try:
            import fcntl
        except ImportError:     # pragma: no cover - Windows: no locking
            yield
            return
        fd = os.open(self.path, os.O_RDONLY)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise SweepError(f"{self.path}: another sweep is writing to this directory") from None
            yield
        finally:
            os.close(fd)

    def check_usable(self) -> None:
        """The directory is new, empty, or a sweep directory; anything else is refused (we never delete
        files we did not write)."""
        if self.path.exists() and not self.path.is_dir():
            raise SweepError(f"{self.path}: exists and is not a directory")
        if self.path.is_dir() and not self.manifest_path.exists():
            stray = [p.name for p in self.path.iterdir() if not p.name.startswith(".")]
            if stray:
                raise SweepError(f"{self.path}: not empty and not a sweep directory (no {MANIFEST}); "
                                 "choose a new or empty directory for --out")

    def reset(self) -> None:
        """Remove a previous sweep's files (only those a sweep writes)."""
        for name in OWN_FILES:
            with contextlib.suppress(FileNotFoundError):
                (self.path / name).unlink()
        self.remove_parts()

    # ------------------------------------------------------------------ parts
    def part_path(self, kind: str, first: int, suffix: str = PART_SUFFIX) -> Path:
        return self.parts / f"{kind}-{first:012d}{suffix}"

    def write_batch(self, first: int, runs: pa.Table, rounds: pa.Table | None) -> None:
        self.parts.mkdir(parents=True, exist_ok=True)
        if rounds is not None:
            atomic_write_part(self.part_path("rounds", first), rounds)
        atomic_write_part(self.part_path("runs", first), runs)     # the commit point

    def part_files(self) -> dict[str, Path]:
        """The part files in parts/ by name (only names `part_path` gives; anything else there is not ours). A
        directory or other non-file under a part's name is refused: the sweep could neither read nor replace it."""
        found = {}
        for path in self.parts.iterdir():
            if PART_NAME.fullmatch(path.name):
                if not path.is_file():
                    raise SweepError(f"{path}: not a file; remove it (parts/ holds the sweep's part files)")
                found[path.name] = path
        return found

    def scan(self, n_runs: int, rounds: bool = False, expected: Expected | None = None
             ) -> tuple[list[Part], np.ndarray]:
        """The committed parts and a mask of done run ids; removes temporary files, rounds parts whose batch
        never committed, and (defensively) any part that is unreadable, overlaps an earlier one, holds other runs
        than `expected` says or, with `rounds`, lacks a readable rounds part: its runs are run again."""
        done = np.zeros(n_runs, dtype=bool)
        parts: list[Part] = []
        for name in (RUNS, ROUNDS, MANIFEST):    # a merge or manifest write cut short by a kill (we hold the lock)
            for tmp in self.path.glob(f".{name}.tmp.*"):
                if tmp.is_file():
                    tmp.unlink(missing_ok=True)
        if self.parts.exists() and not self.parts.is_dir():
            raise SweepError(f"{self.parts}: not a directory; remove it (a sweep keeps its part files there)")
        if not self.parts.is_dir():
            return parts, done
        for tmp in self.parts.glob(TEMPORARY):
            if tmp.is_file():
                tmp.unlink(missing_ok=True)
        files = self.part_files()
        for name in sorted(name for name in files if name.startswith("runs-")):
            path = files[name]
            match = PART_NAME.fullmatch(name)
            if match is None:
                continue
            first = int(match.group(2))
            rounds_path = self.part_path("rounds", first, path.suffix)
            try:
                table = read_part(path, columns=["run_id", "error", *(expected.columns if expected else [])])
                ids = numbers_of(table["run_id"]).astype(np.int64, copy=False)
                bad = not pa.types.is_integer(table["run_id"].type) or len(ids) == 0 or ids.min() < 0 \
                    or ids.max() >= n_runs or done[ids].any() or len(np.unique(ids)) != len(ids) \
                    or (expected is not None and not expected.holds(ids, table)) \
                    or (rounds and not readable(rounds_path))
            except (OSError, pa.ArrowException, KeyError, TypeError):
                bad = True
            if bad:     # unreadable, from another design, overlapping or without its rounds: redo its runs
                path.unlink()
                rounds_path.unlink(missing_ok=True)
                continue
            done[ids] = True
            failed = len(ids) - table["error"].null_count
            parts.append(Part(first, path, int(ids.min()), int(ids.max()), len(ids), failed))
        committed = {p.path.name.replace("runs-", "rounds-", 1) for p in parts}
        for name, path in files.items():
            if name.startswith("rounds-") and name not in committed:
                path.unlink(missing_ok=True)
        return parts, done

    def drop(self, part: Path) -> None:
        """Remove a batch's part files (its runs part, whichever of the two `part` is, and its rounds part)."""
        match = PART_NAME.fullmatch(part.name)
        if match is None:   # pragma: no cover - only part files are merged
            return
        first, suffix = int(match.group(2)), match.group(3)
        self.part_path("runs", first, suffix).unlink(missing_ok=True)     # the commit point first
        self.part_path("rounds", first, suffix).unlink(missing_ok=True)

    # ------------------------------------------------------------------ consolidation
    def consolidate(self, parts: list[Part], n_runs: int, runs_schema: pa.Schema,
                    rounds_schema: pa.Schema | None) -> None:
        """Merge the parts into runs.parquet (and rounds.parquet), sorted by run_id: part after part when their
        run ids do not interleave (a sweep run in one go), else a window of run ids at a time (a resumed sweep);
        memory stays flat either way. Each file is written to a temporary file then renamed."""
        ordered = sorted(parts, key=lambda p: p.lo)
        try:
            if rounds_schema is not None:
                rounds_parts = [(p, self.part_path("rounds", p.first, p.path.suffix)) for p in ordered]
                per_run = 1     # rows a run, roughly: the merge's window of run ids holds about MERGE_ROWS rows
                if rounds_parts:
                    first = read_whole(rounds_parts[0][1], ["run_id"])
                    per_run = max(1, first.num_rows // ordered[0].rows)
                merge_parts(rounds_parts, n_runs, rounds_schema, max(1, parts_module.MERGE_ROWS // per_run),
                            self.rounds_path)
            merge_parts([(p, p.path) for p in ordered], n_runs, runs_schema, parts_module.MERGE_ROWS, self.runs_path)
        except DamagedPart as damaged:     # damaged after it was written (a disk, a hand): its runs are redone
            self.drop(damaged.path)
            raise SweepError(f"{self.path}: a part file is damaged ({damaged}); removed its batch, re-run the same "
                             "command to run those runs again") from None

    def remove_parts(self) -> None:
        """Remove the part files and temporary files in parts/, then parts/ itself if nothing else is there."""
        if not self.parts.is_dir():
            return
        for path in [*self.part_files().values(), *self.parts.glob(TEMPORARY)]:
            if path.is_file():
                path.unlink(missing_ok=True)
        with contextlib.suppress(OSError):
            self.parts.rmdir()
