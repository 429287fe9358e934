"""The expected-utility ("challenge") mechanism of Bueno de Mesquita, as formalised by Scholz, Calbert & Smith
(2011): each round every actor weighs challenging every other on each issue and takes the offer it receives
(`sim.expected_utility`); an issue is agreed once the positions converge, at the median voter's position,
which is also the mechanism's forecast for every issue."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Literal

import numpy as np
from pydantic import Field

from sim import expected_utility as eu
from sim import mechanism as rules
from sim.mechanisms.base import Mechanism, Parameters, RoundDraws, State, finish_round, with_people
from sim.strategies import AGREED, REASONS
from sim.utility import Array

if TYPE_CHECKING:
    from sim.arrays import RunArrays

UnitInterval = Annotated[float, Field(ge=0.0, le=1.0)]


class ExpectedUtilityParameters(Parameters):
    status_quo_probability: UnitInterval = 1.0
    """Q: probability that the status quo persists if no challenge is made (1.0 replicates the EC example)."""
    t_weight: UnitInterval = 1.0
    """T: weight of the median voter moving towards (vs away from) the actor in the (1 - Q) term."""
    selection: Literal["published", "least_move"] = "published"
    """Offer-selection rule: 'published' reproduces Scholz et al. (2011); 'least_move' follows BDM's text."""
    normalisation: Literal["all_pairs", "pair"] = "all_pairs"
    """Probability-of-success denominator: all votes over all pairs (published) or just the pair's votes."""
    median_ties: Literal["lowest", "midpoint"] = "lowest"
    """Two unbeaten positions equally close to the mean: the lower one (published) or their midpoint (a reversed
    scale then gives the mirrored forecast)."""


def scale_ranges(ideal: Array) -> Array:
    """R per issue: the range of the initial positions (M,) (per run: (R, M)), fixed for the whole run."""
    return np.ptp(ideal, axis=-2)


def forecast(ideal: Array, profiles, params: eu.EUParams, runs: int) -> Array:
    """The median voter's position of the opening positions, (R, M)."""
    median = eu.median_voter(ideal, profiles.capability, profiles.salience, scale_ranges(ideal), params.median_ties)
    return np.broadcast_to(median, (runs, ideal.shape[-1])).copy()


def play_round(state: State, arrays: RunArrays, round_: int, draws: RoundDraws,
               own_offers: Array | None = None) -> State:
    """One round of R runs on every open issue; `own_offers` as in the concession mechanism."""
    p, r, params = arrays.profiles, arrays.rules, arrays.params
    before, open_issues = state.offers, state.open_issues
    scale = scale_ranges(p.ideal)
    result = eu.eu_round(before, p.capability, p.salience, scale, params)
    open_ = open_issues[:, None, :]
    reasons = np.where(open_, len(REASONS) + result.offer_kind, AGREED) if state.reasons is not None else None
    moved = result.positions
    if state.people is not None:
        moved, reasons = with_people(own_offers, before, moved, state, reasons)
    offers = np.where(open_, moved, before)
    median = eu.median_voter(offers, p.capability, p.salience, scale, params.median_ties)
    mean_move, held = rules.round_movement(before, offers, state.median[:, None, :], open_issues,
                                           r.tolerance[:, None, None])
    converged = np.ptp(offers, axis=-2) <= r.tolerance[:, None]
    return finish_round(state, arrays, round_, offers, None, open_issues & converged, median, mean_move, held,
                        median=median, reasons=reasons)


def prepare(parameters: ExpectedUtilityParameters) -> eu.EUParams:
    return eu.EUParams(**parameters.model_dump())


EXPECTED_UTILITY = Mechanism(
    name="expected_utility", label="Expected utility (Bueno de Mesquita)",
    summary="Actors challenge each other where they expect to gain; positions converge on the median voter, "
            "whose position is the forecast.",
    parameters=ExpectedUtilityParameters, reasons=tuple(
        f"took {name} offer" if name != "none" else "no offer received" for name in eu.OFFER_NAMES),
    lockstep=True, walkouts=False, play_round=play_round, prepare=prepare, forecast=forecast)
