"""The registry of bargaining mechanisms: every interface (schema, CLI, dashboard, classroom) reads the list from
here, and asks a mechanism's attributes rather than its name. Adding a mechanism is one module with its
`Mechanism` and one line in `REGISTRY`."""

from __future__ import annotations

from sim.core.registry import Registry
from sim.mechanisms.base import Mechanism, RoundDraws, RunArrays, State
from sim.mechanisms.concession import CONCESSION
from sim.mechanisms.expected_utility import EXPECTED_UTILITY

REGISTRY: Registry[Mechanism] = Registry("mechanism", {
    CONCESSION.name: CONCESSION,
    EXPECTED_UTILITY.name: EXPECTED_UTILITY,
})
DEFAULT = CONCESSION.name
get = REGISTRY.get


def for_spatial_data() -> Mechanism:
    """The mechanism a spatial-model CSV is played with by default (the first made for such data)."""
    return next(m for m in REGISTRY.values() if m.spatial_data)


__all__ = ["DEFAULT", "Mechanism", "REGISTRY", "RoundDraws", "RunArrays", "State", "for_spatial_data",
           "get"]
