"""A finished sweep's result files: read as pandas DataFrames, exported as CSV, and Arrow's error on a damaged
one turned into one line naming it.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from sim.sweep.base import SweepError
from sim.sweep.directory import MANIFEST, ROUNDS, RUNS


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
