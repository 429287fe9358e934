"""Mesa agents: one Negotiator per actor. Thin: they hold identity and read their row of the model's arrays; the
moves themselves are the mechanism's round (`sim.mechanisms`), played for every actor at once."""

from __future__ import annotations

from typing import TYPE_CHECKING

import mesa

from sim.scenario import Actor
from sim.strategies import REASONS
from sim.utility import to_native

if TYPE_CHECKING:
    from sim.model import NegotiationModel


class Negotiator(mesa.Agent):
    """A party at the table (e.g. Russia): its offers, the reasons for them and its utility, as the table shows
    them."""

    model: NegotiationModel

    def __init__(self, model: NegotiationModel, actor: Actor, index: int) -> None:
        super().__init__(model)
        self.actor_id = actor.id
        self.name = actor.name
        self.index = index

    # ------------------------------------------------------------------ what the table shows
    def offer(self, issue: int) -> float:
        """Current offer on issue `issue` in native units."""
        m = self.model
        return float(to_native(m.offers[self.index, issue], m.low[issue], m.high[issue]))

    def reason(self, issue: int) -> str:
        return self.model.reason_names[self.model.reasons[self.index, issue]]

    @property
    def utility(self) -> float:
        """Utility of the standing proposal (agreed values where settled) to this actor."""
        return float(self.model.proposal_utilities()[self.index])


__all__ = ["Negotiator", "REASONS"]
