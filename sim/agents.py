"""Mesa agents: one Negotiator per actor. Thin: they hold identity and read their row of the model's
arrays; their move calls the pure strategy functions."""

from __future__ import annotations

from typing import TYPE_CHECKING

import mesa

from sim import mechanism
from sim.scenario import Actor
from sim.strategies import REASONS, move_reasons, next_offers
from sim.utility import to_native, total_utility

if TYPE_CHECKING:
    from sim.model import NegotiationModel


class Negotiator(mesa.Agent):
    """A party at the table (e.g. Russia): makes offers per issue by its strategy each round."""

    model: NegotiationModel

    def __init__(self, model: NegotiationModel, actor: Actor, index: int) -> None:
        super().__init__(model)
        self.actor_id = actor.id
        self.name = actor.name
        self.index = index

    # ------------------------------------------------------------------ behaviour
    def make_offer(self) -> None:
        """Move on every open issue, seeing the offers made so far this round (sequential/random order)."""
        self.offer_together(self.model, self.index)

    @staticmethod
    def offer_together(model: NegotiationModel, row: int | None = None) -> None:
        """All actors move at once (row None), each seeing the same table; or actor `row` alone."""
        current = model.offers
        # Moving together, everyone answers the proposal of the last round; moving in turn, the table as it
        # stands after the actors before them.
        proposal = model.proposal_table if row is None else mechanism.proposal_table(current, model.profiles)
        step = next_offers(model.profiles, current, proposal, model.received, model.schedule[model.round],
                           model.round <= 1, model.tension_factor(),
                           None if model.all_open else model.open_issues, model.jitter)
        reasons = move_reasons(step, model.profiles, current, model.open_issues) if model.collect else None
        if row is None:
            model.offers, model.intended, model.stuck = step.offers, step.intended, step.stuck
            if reasons is not None:
                model.reasons = reasons
        else:
            model.offers = current.copy()
            model.offers[row] = step.offers[row]
            model.intended = model.intended.copy()
            model.intended[row] = step.intended[row]
            model.stuck = model.stuck.copy()
            model.stuck[row] = step.stuck[row]
            if reasons is not None:
                model.reasons[row] = reasons[row]

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
        m, i = self.model, self.index
        p = m.profiles
        return float(total_utility(m.proposal, p.ideal[i:i + 1], p.weights[i:i + 1],
                                   p.risk_exponent[i:i + 1])[0])


__all__ = ["Negotiator", "REASONS"]
