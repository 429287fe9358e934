"""Arrow columns to and from numpy without pandas (`pa.array` and Arrow's `to_numpy` import it: a fifth of a
second in the sweep process and in every worker, which otherwise never need pandas), and a table made to fit a
schema.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa

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


def dictionary_columns(schema: pa.Schema) -> list[str]:
    """The columns Parquet should dictionary-encode: all but the floating-point ones. Those rarely repeat, so
    Arrow's attempt to encode them is wasted; text, whole numbers and flags (actor, issue, reason, round, outcome)
    repeat a lot. This halves the time to write rounds.parquet, and the file is a third smaller."""
    return [f.name for f in schema if not pa.types.is_floating(f.type)]


def schema_to_json(schema: pa.Schema | None) -> list[list[str]] | None:
    return None if schema is None else [[f.name, str(f.type)] for f in schema]
