"""Frozen dataclasses built from every field at once, for the records made once per run (a run's profiles, its
results): a frozen dataclass's __init__ sets each field by an `object.__setattr__` of its own, several times the cost
of setting them together."""

from __future__ import annotations

import dataclasses
from typing import Any

_FIELD_NAMES: dict[type, frozenset[str]] = {}


def built[Record](kind: type[Record], /, **values: Any) -> Record:
    """`kind(**values)` for a frozen dataclass `kind` (no __post_init__), every field given: the same record, its
    fields set at once. A field missing or unknown is a TypeError, as the dataclass's own __init__ would raise."""
    names = _FIELD_NAMES.get(kind)
    if names is None:   # (once per kind; two threads making it at once make the same set)
        names = _FIELD_NAMES[kind] = frozenset(field.name for field in dataclasses.fields(kind))  # type: ignore[arg-type]
    if values.keys() != names:
        raise TypeError(f"{kind.__name__} fields missing or unknown: {sorted(values.keys() ^ names)}")
    record = object.__new__(kind)
    record.__dict__.update(values)
    return record
