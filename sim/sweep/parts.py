"""Part files: one per finished batch, written atomically (to a hidden temporary name, then renamed), read back
whole or a record batch at a time.

Parts are Arrow IPC files (lz4-compressed buffers): written six times faster than Parquet and read without decoding,
they are merged into Parquet once at the end. Parts of earlier negsim versions (Parquet) are still read on resume.
A part that cannot be read whole raises `DamagedPart`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.ipc as ipc
import pyarrow.parquet as pq

PART_SUFFIX = ".arrow"
PART_SUFFIXES = (PART_SUFFIX, ".parquet")       # the parts of earlier versions too, on resume
PART_NAME = re.compile(r"(runs|rounds)-(\d{12,})(\.arrow|\.parquet)")
"""The name of a part file (`SweepDir.part_path`); other files in parts/ are not the sweep's, and are left alone."""
TEMPORARY = ".*.tmp.*"
PART_COMPRESSION = "lz4"
"""Part files live until the merge: a codec several times faster to write and read than zstd."""
MERGE_ROWS = 16_384
"""Rows held in memory at a time while consolidating parts (so memory does not grow with the sweep)."""


def temporary(path: Path) -> Path:
    """Where `path` is written before it is renamed into place (a hidden name; `scan` removes leftovers)."""
    return path.with_name(f".{path.name}.tmp.{os.getpid()}")


def commit(tmp: Path, path: Path) -> None:
    """A finished temporary file to disk, then renamed into place."""
    with open(tmp, "rb+") as handle:
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    tmp = temporary(path)
    with open(tmp, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def atomic_write_part(path: Path, table: pa.Table) -> None:
    """An Arrow IPC file, in record batches of at most MERGE_ROWS rows (the merge reads one at a time)."""
    tmp = temporary(path)
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


def read_parquet(path: Path, columns: list[str] | None = None) -> pa.Table:
    """A Parquet file as a table (`pq.read_table`, like `pa.array`, imports pandas; `ParquetFile.read` does not)."""
    with pq.ParquetFile(path) as source:
        return source.read(columns=columns)


@dataclass(frozen=True)
class Part:
    first: int
    path: Path
    lo: int
    hi: int
    rows: int
    failed: int


class DamagedPart(Exception):
    """A part file that cannot be read whole (damaged after it was written)."""

    def __init__(self, path: Path, error: BaseException):
        super().__init__(f"{path.name}: {str(error).splitlines()[0] if str(error) else type(error).__name__}")
        self.path = path


def readable(path: Path) -> bool:
    """Whether a part file opens: a whole IPC file (its footer) or Parquet file (its metadata), with run ids."""
    try:
        if path.suffix == ".parquet":
            with pq.ParquetFile(path) as source:
                return "run_id" in source.schema_arrow.names
        with pa.memory_map(str(path)) as source:
            return "run_id" in ipc.open_file(source).schema.names
    except (OSError, pa.ArrowException):
        return False


def read_whole(path: Path, columns: list[str] | None = None) -> pa.Table:
    try:
        return read_part(path, columns)
    except (OSError, pa.ArrowException, KeyError) as error:
        raise DamagedPart(path, error) from None


def batches_whole(path: Path) -> Iterator[pa.RecordBatch]:
    try:
        yield from part_batches(path)
    except (OSError, pa.ArrowException) as error:
        raise DamagedPart(path, error) from None
