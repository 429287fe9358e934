"""Mesa agents: one Negotiator per actor. Thin: they hold identity and read their row of the model's arrays; the
moves themselves are the mechanism's round (`sim.mechanisms`), played for every actor at once."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, cast

import mesa
import numpy as np

from sim.core.strategies import REASONS
from sim.scenario import Actor


class Table(Protocol):
    """What an agent reads of its model (`sim.engine.model.NegotiationModel`): the table, as arrays."""

    low: np.ndarray
    high: np.ndarray
    reason_names: Sequence[str]

    @property
    def offers(self) -> np.ndarray: ...

    @property
    def reasons(self) -> np.ndarray: ...

    def proposal_utilities(self) -> np.ndarray: ...

    def native_offers(self) -> np.ndarray: ...


class Negotiator(mesa.Agent):
    """A party at the table (e.g. Russia): its offers, the reasons for them and its utility, as the table shows
    them."""

    def __init__(self, model: mesa.Model, actor: Actor, index: int) -> None:
        super().__init__(model)
        self.table = cast(Table, model)
        self.actor_id = actor.id
        self.name = actor.name
        self.index = index

    # ------------------------------------------------------------------ what the table shows
    def offer(self, issue: int) -> float:
        """Current offer on issue `issue` in native units."""
        return float(self.table.native_offers()[self.index, issue])

    def reason(self, issue: int) -> str:
        return self.table.reason_names[self.table.reasons[self.index, issue]]

    @property
    def utility(self) -> float:
        """Utility of the standing proposal (agreed values where settled) to this actor."""
        return float(self.table.proposal_utilities()[self.index])


__all__ = ["Negotiator", "REASONS"]
