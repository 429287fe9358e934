"""runs.parquet and rounds.parquet: written in run order while a fresh sweep's batches finish (`InOrderWriter`),
or merged from the part files at the end of a resumed one (`merge_parts`), with memory flat either way.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import threading
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from sim.sweep import parts as parts_module
from sim.sweep.columns import conform, dictionary_columns
from sim.sweep.parts import DamagedPart, Part, batches_whole, commit, read_whole, temporary

COMPRESSION = "zstd"


def parquet_writer(tmp: Path, schema: pa.Schema) -> pq.ParquetWriter:
    """The writer of a result file (runs.parquet, rounds.parquet)."""
    return pq.ParquetWriter(tmp, schema, compression=COMPRESSION, use_dictionary=dictionary_columns(schema))


MAX_QUEUED_WRITES = 2
"""Batches handed to the writer thread and not yet written, at most (memory stays flat if it falls behind)."""


class InOrderWriter:
    """A fresh sweep's runs.parquet (and rounds.parquet), written while its batches finish: each batch goes to its
    file as soon as every run before it is written (batches finish out of order), on a thread of its own, so the
    Parquet encoding overlaps the workers instead of following them (with --rounds it took a fifth of the sweep).
    The part files are still written: they are what a crash leaves to resume from; the files here are renamed
    into place only when every run is in them (`finish`), and otherwise removed (`abort`)."""

    def __init__(self, runs_path: Path, rounds_path: Path, runs_schema: pa.Schema, rounds_schema: pa.Schema | None):
        targets = [(runs_path, runs_schema)]
        if rounds_schema is not None:
            targets.append((rounds_path, rounds_schema))
        self.targets = [(path, temporary(path), schema) for path, schema in targets]
        self.writers = [parquet_writer(tmp, schema) for _, tmp, schema in self.targets]
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
                writer.write_table(conform(table, schema), row_group_size=parts_module.MERGE_ROWS)

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
            commit(tmp, path)
        return True

    def abort(self) -> None:
        self.thread.shutdown(cancel_futures=True)
        self._close(quiet=True)
        for _, tmp, _ in self.targets:
            tmp.unlink(missing_ok=True)


def merge_parts(parts: list[tuple[Part, Path]], n_runs: int, schema: pa.Schema, window: int, out: Path) -> None:
    tmp = temporary(out)
    try:
        _merge_into(tmp, parts, n_runs, schema, window)
        commit(tmp, out)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _merge_into(tmp: Path, parts: list[tuple[Part, Path]], n_runs: int, schema: pa.Schema, window: int) -> None:
    ordered = sorted(parts, key=lambda item: item[0].lo)
    active: list[tuple[Part, Path]] = []
    next_part = 0
    disjoint = all(a[0].hi < b[0].lo for a, b in zip(ordered, ordered[1:], strict=False))
    with parquet_writer(tmp, schema) as writer:
        if disjoint:    # each part in run order and after the one before (a sweep not resumed): stream them
            for _, path in ordered:
                for batch in batches_whole(path):
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
                table = read_whole(path)
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
