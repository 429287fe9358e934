"""A sweep directory on disk: part files written atomically, the manifest, consolidation, resume.

Layout of ``DIR``::

    manifest.json        the design (what determines the run table), versions, output columns, status
    parts/runs-<first run_id>.arrow     one per finished batch, written to a temporary name then renamed
    parts/rounds-<first run_id>.arrow   with --rounds; written *before* its runs part (the runs part commits)
    runs.parquet         when every run is done: all parts, sorted by run_id (then parts/ is removed)
    rounds.parquet       with --rounds, likewise (run x round x actor x issue)

Nothing is ever appended in place, so a crash, Ctrl-C or SIGKILL leaves only whole part files; the run ids
in ``parts/runs-*`` are the runs that are done, and a resumed sweep computes only the others.

Parts are Arrow IPC files (lz4-compressed buffers): written six times faster than Parquet and read without decoding,
they are merged into Parquet once at the end. Parts of earlier negsim versions (Parquet) are still read on resume.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import json
import os
import re
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.ipc as ipc
import pyarrow.parquet as pq

from sim.sweep.base import SweepError

FORMAT = "negsim-sweep/1"
MANIFEST = "manifest.json"
RUNS = "runs.parquet"
ROUNDS = "rounds.parquet"
PARTS = "parts"
OWN_FILES = (MANIFEST, RUNS, ROUNDS, "runs.csv", "rounds.csv", "agreement.png", "agreement.csv", "sobol.csv")
"""Files a sweep (and `negsim export` / `negsim analyze`) may create; --overwrite removes only these."""
COMPRESSION = "zstd"
PART_SUFFIX = ".arrow"
PART_SUFFIXES = (PART_SUFFIX, ".parquet")       # the parts of earlier versions too, on resume
PART_NAME = re.compile(r"(runs|rounds)-(\d{12,})(\.arrow|\.parquet)")
"""The name of a part file (`SweepDir.part_path`); other files in parts/ are not the sweep's, and are left alone."""
TEMPORARY = ".*.tmp.*"
PART_COMPRESSION = "lz4"
"""Part files live until the merge: a codec several times faster to write and read than zstd."""
MERGE_ROWS = 16_384
"""Rows held in memory at a time while consolidating parts (so memory does not grow with the sweep)."""


# ====================================================================== helpers
def _temporary(path: Path) -> Path:
    """Where `path` is written before it is renamed into place (a hidden name; `scan` removes leftovers)."""
    return path.with_name(f".{path.name}.tmp.{os.getpid()}")


def _commit(tmp: Path, path: Path) -> None:
    """A finished temporary file to disk, then renamed into place."""
    with open(tmp, "rb+") as handle:
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def _parquet_writer(tmp: Path, schema: pa.Schema) -> pq.ParquetWriter:
    """The writer of a result file (runs.parquet, rounds.parquet)."""
    return pq.ParquetWriter(tmp, schema, compression=COMPRESSION, use_dictionary=dictionary_columns(schema))


def atomic_write_bytes(path: Path, data: bytes) -> None:
    tmp = _temporary(path)
    with open(tmp, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def atomic_write_part(path: Path, table: pa.Table) -> None:
    """An Arrow IPC file, in record batches of at most MERGE_ROWS rows (the merge reads one at a time)."""
    tmp = _temporary(path)
    with open(tmp, "wb") as handle:
        with ipc.new_file(handle, table.schema, options=ipc.IpcWriteOptions(compression=PART_COMPRESSION)) as out:
            out.write_table(table, max_chunksize=MERGE_ROWS)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def part_batches(path: Path, columns: list[str] | None = None) -> Iterator[pa.RecordBatch]:
    """A part file's record batches (IPC; Parquet from earlier versions), one in memory at a time."""
    if path.suffix == ".parquet":
        with pq.ParquetFile(path) as source:
            yield from source.iter_batches(batch_size=MERGE_ROWS, columns=columns)
        return
    with pa.memory_map(str(path)) as source:
        reader = ipc.open_file(source)
        for k in range(reader.num_record_batches):
            batch = reader.get_batch(k)
            yield batch.select(columns) if columns is not None else batch


def read_part(path: Path, columns: list[str] | None = None) -> pa.Table:
    if path.suffix == ".parquet":
        return read_parquet(path, columns)
    with pa.memory_map(str(path)) as source:
        table = ipc.open_file(source).read_all()
    return table.select(columns) if columns is not None else table


def dictionary_columns(schema: pa.Schema) -> list[str]:
    """The columns Parquet should dictionary-encode: all but the floating-point ones. Those rarely repeat, so
    Arrow's attempt to encode them is wasted; text, whole numbers and flags (actor, issue, reason, round, outcome)
    repeat a lot. This halves the time to write rounds.parquet, and the file is a third smaller."""
    return [f.name for f in schema if not pa.types.is_floating(f.type)]


_ARROW_OF_NUMPY = {np.dtype(np.float64): pa.float64(), np.dtype(np.int64): pa.int64(), np.dtype(np.int32): pa.int32(),
                   np.dtype(np.bool_): pa.bool_()}


def arrow_array(values: Any, kind: pa.DataType | None = None) -> pa.Array:
    """`values` (a numpy array or a sequence) as an Arrow array of type `kind` (default: from the numpy dtype;
    text for object arrays), built from its buffers. `pa.array` would be shorter, but it imports pandas to look at
    its input: a fifth of a second in the sweep process and in every worker, which otherwise never need pandas."""
    if isinstance(values, (pa.Array, pa.ChunkedArray)):
        return values if kind is None or values.type == kind else values.cast(kind)
    data = np.asarray(values)
    if kind is None:
        kind = pa.string() if data.dtype == object else _ARROW_OF_NUMPY[data.dtype]
    n = len(data)
    if pa.types.is_string(kind):
        encoded = [str(value).encode() for value in data.tolist()]
        offsets = np.zeros(n + 1, dtype=np.int32)
        np.cumsum([len(item) for item in encoded], out=offsets[1:])
        return pa.Array.from_buffers(kind, n, [None, pa.py_buffer(offsets), pa.py_buffer(b"".join(encoded))])
    if pa.types.is_boolean(kind):
        bits = np.packbits(data.astype(np.bool_), bitorder="little")
        return pa.Array.from_buffers(kind, n, [None, pa.py_buffer(bits)])
    dtype: Any = next(d for d, k in _ARROW_OF_NUMPY.items() if k == kind)
    return pa.Array.from_buffers(kind, n, [None, pa.py_buffer(np.ascontiguousarray(data, dtype=dtype))])


def numbers_of(column: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """A column of numbers without nulls as a numpy array (read-only), from its buffer: Arrow's own `to_numpy`
    imports pandas."""
    array = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    if array.null_count or not (pa.types.is_integer(array.type) or pa.types.is_floating(array.type)):
        raise TypeError(f"not a column of numbers without nulls: {array.type}")
    dtype = np.dtype(array.type.to_pandas_dtype())
    return np.frombuffer(array.buffers()[1], dtype=dtype, count=len(array), offset=array.offset * dtype.itemsize)


def read_parquet(path: Path, columns: list[str] | None = None) -> pa.Table:
    """A Parquet file as a table (`pq.read_table`, like `pa.array`, imports pandas; `ParquetFile.read` does not)."""
    with pq.ParquetFile(path) as source:
        return source.read(columns=columns)


def schema_to_json(schema: pa.Schema | None) -> list[list[str]] | None:
    return None if schema is None else [[f.name, str(f.type)] for f in schema]


def conform(table: pa.Table, schema: pa.Schema) -> pa.Table:
    """The table with exactly the schema's columns, in order and type (missing columns are null)."""
    columns = []
    for field in schema:
        if field.name in table.column_names:
            column = table[field.name]
            columns.append(column if column.type == field.type else column.cast(field.type))
        else:
            columns.append(pa.nulls(len(table), field.type))
    return pa.Table.from_arrays(columns, schema=schema)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass(frozen=True)
class Part:
    first: int
    path: Path
    lo: int
    hi: int
    rows: int
    failed: int


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


class DamagedPart(Exception):
    """A part file that cannot be read whole (damaged after it was written)."""

    def __init__(self, path: Path, error: BaseException):
        super().__init__(f"{path.name}: {str(error).splitlines()[0] if str(error) else type(error).__name__}")
        self.path = path


def _readable(path: Path) -> bool:
    """Whether a part file opens: a whole IPC file (its footer) or Parquet file (its metadata), with run ids."""
    try:
        if path.suffix == ".parquet":
            with pq.ParquetFile(path) as source:
                return "run_id" in source.schema_arrow.names
        with pa.memory_map(str(path)) as source:
            return "run_id" in ipc.open_file(source).schema.names
    except (OSError, pa.ArrowException):
        return False


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
        doc = {**doc, "updated": _now()}
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
                    or (rounds and not _readable(rounds_path))
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
                    first = _read_whole(rounds_parts[0][1], ["run_id"])
                    per_run = max(1, first.num_rows // ordered[0].rows)
                _merge(rounds_parts, n_runs, rounds_schema, max(1, MERGE_ROWS // per_run), self.rounds_path)
            _merge([(p, p.path) for p in ordered], n_runs, runs_schema, MERGE_ROWS, self.runs_path)
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


def _read_whole(path: Path, columns: list[str] | None = None) -> pa.Table:
    try:
        return read_part(path, columns)
    except (OSError, pa.ArrowException, KeyError) as error:
        raise DamagedPart(path, error) from None


def _batches_whole(path: Path) -> Iterator[pa.RecordBatch]:
    try:
        yield from part_batches(path)
    except (OSError, pa.ArrowException) as error:
        raise DamagedPart(path, error) from None


MAX_QUEUED_WRITES = 2
"""Batches handed to the writer thread and not yet written, at most (memory stays flat if it falls behind)."""


class InOrderWriter:
    """A fresh sweep's runs.parquet (and rounds.parquet), written while its batches finish: each batch goes to its
    file as soon as every run before it is written (batches finish out of order), on a thread of its own, so the
    Parquet encoding overlaps the workers instead of following them (with --rounds it took a fifth of the sweep).
    The part files are still written: they are what a crash leaves to resume from; the files here are renamed
    into place only when every run is in them (`finish`), and otherwise removed (`abort`)."""

    def __init__(self, store: SweepDir, runs_schema: pa.Schema, rounds_schema: pa.Schema | None):
        targets = [(store.runs_path, runs_schema)]
        if rounds_schema is not None:
            targets.append((store.rounds_path, rounds_schema))
        self.targets = [(path, _temporary(path), schema) for path, schema in targets]
        self.writers = [_parquet_writer(tmp, schema) for _, tmp, schema in self.targets]
        self.written = 0                    # runs 0 .. written - 1 are handed to the thread
        self.waiting: dict[int, tuple[int, list[pa.Table]]] = {}
        self.thread = cf.ThreadPoolExecutor(1, thread_name_prefix="negsim-merge")
        self.queued: list[cf.Future] = []
        self.lock = threading.Lock()        # a write and the closing of the writers never overlap
        self.closed = False

    def add(self, first: int, runs: int, tables: list[pa.Table]) -> None:
        """A finished batch of `runs` runs from run id `first` (its runs table, then its rounds table if any)."""
        self.waiting[first] = (runs, tables)
        while self.written in self.waiting:
            runs, tables = self.waiting.pop(self.written)
            for future in [future for future in self.queued if future.done()]:
                future.result()     # a write that failed stops the sweep here
            self.queued = [future for future in self.queued if not future.done()]
            while len(self.queued) >= MAX_QUEUED_WRITES:     # the thread lags: wait, rather than hold the tables
                self.queued.pop(0).result()
            self.queued.append(self.thread.submit(self._write, tables))
            self.written += runs

    def _write(self, tables: list[pa.Table]) -> None:
        with self.lock:
            if self.closed:     # aborted (Ctrl-C) while this write waited
                return
            for writer, (_, _, schema), table in zip(self.writers, self.targets, tables, strict=False):
                writer.write_table(conform(table, schema), row_group_size=MERGE_ROWS)

    def _close(self, quiet: bool) -> None:
        with self.lock:
            if not self.closed:
                self.closed = True
                for writer in self.writers:
                    with contextlib.suppress(*((Exception,) if quiet else ())):
                        writer.close()

    def finish(self, n_runs: int) -> bool:
        """Rename the files into place if they hold every run (else remove them); True if they did."""
        for future in self.queued:
            future.result()
        self.thread.shutdown()
        self._close(quiet=False)
        if self.written != n_runs or self.waiting:
            self.abort()
            return False
        for path, tmp, _ in self.targets:
            _commit(tmp, path)
        return True

    def abort(self) -> None:
        self.thread.shutdown(cancel_futures=True)
        self._close(quiet=True)
        for _, tmp, _ in self.targets:
            tmp.unlink(missing_ok=True)


def _merge(parts: list[tuple[Part, Path]], n_runs: int, schema: pa.Schema, window: int, out: Path) -> None:
    tmp = _temporary(out)
    try:
        _merge_into(tmp, parts, n_runs, schema, window)
        _commit(tmp, out)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _merge_into(tmp: Path, parts: list[tuple[Part, Path]], n_runs: int, schema: pa.Schema, window: int) -> None:
    ordered = sorted(parts, key=lambda item: item[0].lo)
    active: list[tuple[Part, Path]] = []
    next_part = 0
    disjoint = all(a[0].hi < b[0].lo for a, b in zip(ordered, ordered[1:], strict=False))
    with _parquet_writer(tmp, schema) as writer:
        if disjoint:    # each part in run order and after the one before (a sweep not resumed): stream them
            for _, path in ordered:
                for batch in _batches_whole(path):
                    writer.write_table(_conformed(pa.Table.from_batches([batch]), schema, path),
                                       row_group_size=max(batch.num_rows, 1))
        for start in range(0, n_runs if not disjoint else 0, window):
            stop = start + window
            while next_part < len(ordered) and ordered[next_part][0].lo < stop:
                active.append(ordered[next_part])
                next_part += 1
            active = [item for item in active if item[0].hi >= start]
            tables = []
            for part, path in active:
                table = _read_whole(path)
                if part.lo < start or part.hi >= stop:
                    ids = table["run_id"]
                    table = table.filter(pc.and_(pc.greater_equal(ids, start), pc.less(ids, stop)))
                if table.num_rows:
                    tables.append(_conformed(table, schema, path))
            if tables:
                merged = pa.concat_tables(tables).sort_by("run_id")     # stable: keeps each run's row order
                writer.write_table(merged, row_group_size=max(len(merged), 1))


def _conformed(table: pa.Table, schema: pa.Schema, path: Path) -> pa.Table:
    try:
        return conform(table, schema)
    except pa.ArrowException as error:     # a column that cannot be cast: not a part this sweep wrote
        raise DamagedPart(path, error) from None


# ====================================================================== reading results
@contextlib.contextmanager
def damaged_result(path: Path) -> Iterator[None]:
    """Arrow's error on reading a result file (runs.parquet, rounds.parquet) as one line naming it: a file damaged
    on disk. Deleting it and re-running the sweep command computes it again."""
    try:
        yield
    except pa.ArrowException as error:
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise SweepError(f"{path}: cannot be read ({reason}); the file is damaged: delete it and re-run the same "
                         "`negsim sweep` command to compute it again") from None


def read_runs(path: str | Path, columns: list[str] | None = None):
    """runs.parquet of a finished sweep directory as a pandas DataFrame (sorted by run_id)."""
    return _read(Path(path), RUNS, columns)


def read_rounds(path: str | Path, columns: list[str] | None = None):
    """rounds.parquet of a finished sweep run with rounds=True / --rounds."""
    return _read(Path(path), ROUNDS, columns)


def _read(path: Path, name: str, columns: list[str] | None):
    target = path / name
    if not target.exists():
        raise SweepError(_missing(path, name))
    with damaged_result(target):
        table = pq.read_table(target, columns=columns)
    return table.to_pandas()


def _missing(path: Path, name: str) -> str:
    if not path.is_dir():
        return f"{path}: no such sweep directory"
    if not (path / MANIFEST).exists():
        return f"{path}: not a sweep directory (no {MANIFEST})"
    if name == ROUNDS and (path / RUNS).exists():
        return f"{path}: the sweep was run without --rounds, so there is no {ROUNDS}"
    return f"{path}: the sweep is not finished (no {name}); re-run the same `negsim sweep` command to finish it"


def export_csv(path: str | Path, out: str | Path | None = None) -> list[Path]:
    """Write runs.csv (and rounds.csv) next to the Parquet files (or into `out`), streaming row groups."""
    import pyarrow.csv as pacsv

    path = Path(path)
    target = Path(out) if out is not None else path
    if not (path / RUNS).exists():
        raise SweepError(_missing(path, RUNS))
    target.mkdir(parents=True, exist_ok=True)
    written = []
    for name in (RUNS, ROUNDS):
        source = path / name
        if not source.exists():
            continue
        csv_path = target / (Path(name).stem + ".csv")
        with damaged_result(source):
            reader = pq.ParquetFile(source)
        with tempfile.NamedTemporaryFile(dir=target, prefix=f".{csv_path.name}.", delete=False) as handle:
            tmp = Path(handle.name)
        try:
            with damaged_result(source), pacsv.CSVWriter(tmp, reader.schema_arrow) as writer:
                for batch in reader.iter_batches(batch_size=65_536):
                    writer.write_batch(_nan_to_null(batch))
            os.replace(tmp, csv_path)
        finally:
            tmp.unlink(missing_ok=True)
        written.append(csv_path)
    return written


def _nan_to_null(batch: pa.RecordBatch) -> pa.RecordBatch:
    """NaN (e.g. value.* of an issue not agreed) as an empty CSV cell, which every CSV reader takes as missing."""
    columns = [pc.if_else(pc.is_nan(c), pa.scalar(None, c.type), c) if pa.types.is_floating(c.type) else c
               for c in batch.columns]
    return pa.RecordBatch.from_arrays(columns, schema=batch.schema)


def versions() -> dict[str, str]:
    from importlib import metadata

    out = {"python": sys.version.split()[0]}
    for name in ("negsim", "mesa", "numpy", "scipy", "pandas", "pyarrow", "pydantic"):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "unknown"
    return out
