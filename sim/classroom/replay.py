"""A room's model rebuilt from its log: the scenario and seed, then each round's injects and human moves.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from sim import service

if TYPE_CHECKING:
    from sim.classroom.room_state import RoomState
    from sim.service import NegotiationModel


def replay(state: RoomState, collect: bool = True, upto: int | None = None,
           after_round: Callable[[int, NegotiationModel], None] | None = None) -> NegotiationModel:
    """The room's model rebuilt from scenario + seed + the logged moves and injects.

    `upto`: rounds to play (default: every closed round, then the injects played since). `after_round` is
    called with (round, model) after each round, e.g. to compare with the recorded state.
    """
    rounds = state.room.rounds_closed if upto is None else min(upto, state.room.rounds_closed)
    # draw=False: the room plays the values its briefs quote, never a draw from the scenario's uncertainty ranges
    model = service.start(state.scenario, state.room.seed, collect=collect, human_seats=state.human_seats,
                          draw=False)
    for r in range(1, rounds + 1):
        for inject in state.injects_before(r):
            model.play_inject(inject.inject)
        for move in state.moves_in(r):
            model.submit_offers(move.actor, move.offers)
        model.step()
        if after_round is not None:
            after_round(r, model)
    if upto is None or upto >= state.room.rounds_closed:
        for inject in state.injects_before(rounds + 1):
            model.play_inject(inject.inject)
    return model


def native_proposal(model: NegotiationModel) -> dict[str, float]:
    values = model.native(model.proposal)
    return {issue: float(values[j]) for j, issue in enumerate(model.spec.issue_ids)}
