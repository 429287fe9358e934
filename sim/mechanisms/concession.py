"""The concession mechanism: offers by strategy, noise and bloc cohesion, then the vote on the proposal.

Each round every actor (at once, or one after another in file or random order) moves from its ideal towards
the standing proposal as its strategy schedules (`sim.core.strategies`); noise, allies' pull and red lines shape the
offers; the proposal (weighted mean of the offers, or the Nash package under package linkage) is put to the
vote issue by issue or as a package (`sim.core.table_rules`); tension answers what the actors chose to do, and an
actor whose outside option beats the best deal left walks away.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim.core import table_rules as rules
from sim.core.strategies import FOLLOWED, HOLD_EPS, move_reasons, next_offers, received_concessions
from sim.core.utility import ONE, Array
from sim.mechanisms.base import Mechanism, RoundDraws, State, finish_round, with_people

if TYPE_CHECKING:
    from sim.mechanisms.base import RunArrays


def play_round(state: State, arrays: RunArrays, round_: int, draws: RoundDraws,
               own_offers: Array | None = None) -> State:
    """One round of R runs (see the module's text); `own_offers` (R, N, M): what people in `state.people`'s
    seats submitted (NaN: they hold)."""
    p, r = arrays.profiles, arrays.rules
    before, open_issues = state.offers, state.open_issues
    all_open = np.count_nonzero(open_issues) == open_issues.size   # (a tenth of the cost of .all() here)
    open_mask = None if all_open else open_issues[:, None, :]
    received = received_concessions(state.previous, before, p.ideal, p.capability) if p.has_tit_for_tat else None
    factor = (ONE - r.hardening * state.tension)[:, None, None]
    scheduled = arrays.scheduled(round_)
    record = state.reasons is not None
    # what every actor's strategy reads this round, beside the table it answers
    schedule = (received, scheduled, round_ <= 1, factor, open_mask, draws.noise)

    if draws.order is None and arrays.activation == "simultaneous":     # all answer last round's proposal
        step = next_offers(p, before, state.proposal, *schedule)
        offers, intended, stuck = step.offers, step.intended, step.stuck
        reasons = move_reasons(step, p, before, open_issues[:, None, :]) if record else None
    else:   # one after another, each answering the table as the actors before it left it
        offers, intended, stuck = before.copy(), state.intended.copy(), state.stuck.copy()
        reasons = None if state.reasons is None else state.reasons.copy()
        runs = np.arange(len(before))
        order = draws.order if draws.order is not None else np.broadcast_to(np.arange(before.shape[1]),
                                                                            before.shape[:2])
        for turn in range(before.shape[1]):
            step = next_offers(p, offers, rules.proposal_table(offers, p), *schedule)
            row = order[:, turn]
            if reasons is not None:
                reasons[runs, row] = move_reasons(step, p, offers, open_issues[:, None, :])[runs, row]
            offers[runs, row], intended[runs, row], stuck[runs, row] = (
                step.offers[runs, row], step.intended[runs, row], step.stuck[runs, row])
    own = offers
    if state.people is not None:   # a person's offer is what they meant, and they can always move
        own, reasons = with_people(own_offers, before, offers, state, reasons)
        intended = np.where(state.people[:, None], own, intended)
        stuck = stuck & ~state.people[:, None]
    tolerance = r.tolerance_table
    # people choose for themselves: no pull from allies, no clipping
    offers, mean_move, held = rules.respond(before, own, state.proposal, None if all_open else open_issues, p,
                                            tolerance, state.people, intended, stuck)
    if reasons is not None and p.has_cohesion:
        followed = np.abs(offers - own) > np.maximum(np.abs(own - before), HOLD_EPS)
        reasons = np.where(followed & open_issues[:, None, :], FOLLOWED, reasons)
    proposal = rules.proposal_table(offers, p)
    settled = rules.settled_issues(proposal, offers, open_issues, p, tolerance, arrays.package, arrays.rule)
    return finish_round(state, arrays, round_, offers, proposal, settled, proposal[:, 0], mean_move, held,
                        walkouts=True, all_open=all_open, intended=intended, stuck=stuck, reasons=reasons)


CONCESSION = Mechanism(
    name="concession", label="Offers and concessions",
    summary="Actors concede from their ideals towards the standing proposal by their strategies; an issue is "
            "agreed when the actors accepting it carry the decision rule (unanimity by default).",
    parameters=None, reasons={}, lockstep=True, play_round=play_round)
