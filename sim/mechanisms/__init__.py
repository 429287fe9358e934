"""The registry of bargaining mechanisms: every interface (schema, CLI, dashboard, classroom) reads the list from
here, and nothing else compares mechanism names. Adding a mechanism is one module with its `Mechanism` and one
line in `REGISTRY`."""

from __future__ import annotations

from sim.mechanisms.base import Mechanism, RoundDraws, State
from sim.mechanisms.concession import CONCESSION
from sim.mechanisms.expected_utility import EXPECTED_UTILITY

REGISTRY: dict[str, Mechanism] = {m.name: m for m in (CONCESSION, EXPECTED_UTILITY)}
NAMES: tuple[str, ...] = tuple(REGISTRY)
DEFAULT = CONCESSION.name


def get(name: str) -> Mechanism:
    """The mechanism called `name`; KeyError naming the known ones."""
    try:
        return REGISTRY[name]
    except KeyError:
        raise KeyError(f"unknown mechanism {name!r} (mechanisms: {', '.join(NAMES)})") from None


__all__ = ["DEFAULT", "Mechanism", "NAMES", "REGISTRY", "RoundDraws", "State", "get"]
