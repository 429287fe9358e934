"""One registry type for every kind of plug-in: mechanisms, forecasting models, samplers, executors.

Like SALib's one module per method: a plug-in is one module holding one object of its kind, listed by one line in
its package's registry. An entry is the object itself, or "package.module:NAME" to import on first use, so that a
command line can list the names (and check a choice) without importing what the plug-ins need. Interfaces ask
the registry, and the plug-in's own attributes, never compare names.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping


class Registry[T]:
    """Named plug-ins of one kind, in the order registered."""

    def __init__(self, kind: str, entries: Mapping[str, T | str]) -> None:
        self.kind = kind
        self._entries: dict[str, T | str] = dict(entries)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self._entries)

    def get(self, name: str) -> T:
        """The plug-in called `name`; KeyError naming the known ones."""
        try:
            entry = self._entries[name]
        except (KeyError, TypeError):
            raise KeyError(f"unknown {self.kind} {name!r} (known: {', '.join(self._entries)})") from None
        if isinstance(entry, str):
            module, _, attribute = entry.partition(":")
            entry = self._entries[name] = getattr(importlib.import_module(module), attribute)
        return entry

    def register(self, name: str, entry: T | str) -> T | str:
        """Add a plug-in (an extension, or a test's dummy); refuses a name already taken."""
        if name in self._entries:
            raise ValueError(f"a {self.kind} called {name!r} is registered already")
        self._entries[name] = entry
        return entry

    def unregister(self, name: str) -> None:
        self._entries.pop(name, None)

    def items(self) -> Iterator[tuple[str, T]]:
        """Every plug-in with its name (importing those registered by path)."""
        for name in self.names:
            yield name, self.get(name)

    def values(self) -> Iterator[T]:
        for _, entry in self.items():
            yield entry

    def __getitem__(self, name: str) -> T:
        return self.get(name)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self.names)

    def __len__(self) -> int:
        return len(self._entries)

    def __repr__(self) -> str:
        return f"Registry({self.kind!r}: {', '.join(self._entries)})"
