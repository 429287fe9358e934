"""The expected-utility ("challenge") mechanism of Bueno de Mesquita, as formalised by Scholz, Calbert & Smith
(2011): each round every actor weighs challenging every other on each issue and takes the offer it receives
(`sim.core.expected_utility_kernel`), but never moves past its own red line; an issue is agreed once the positions
converge, at the median voter's position, if every actor the issue's decision rule needs accepts it there (red lines,
reservation utility, package linkage: the concession mechanism's test). The median voter's position is also the
mechanism's forecast for every issue, agreed or not (docs/model.md, section 3.6)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Literal, NamedTuple

import numpy as np
from numpy.typing import NDArray
from pydantic import Field

from sim.core import expected_utility_kernel as eu
from sim.core import table_rules as rules
from sim.core.strategies import AGREED, REASONS, RED_LINE, clip_to_red_lines
from sim.core.utility import Array
from sim.mechanisms.base import Mechanism, Parameters, RoundDraws, State, finish_round, with_people

if TYPE_CHECKING:
    from sim.mechanisms.base import RunArrays

UnitInterval = Annotated[float, Field(ge=0.0, le=1.0)]


class ExpectedUtilityParameters(Parameters):
    """The defaults give a stable forecast that mirrors with the scale; the published replication of Scholz et al.
    (2011) is `SCHOLZ_2011` (selection published, normalisation all_pairs, median_ties lowest, stopping deadline)."""

    status_quo_probability: UnitInterval = 1.0
    """Q: probability that the status quo persists if no challenge is made (1.0 replicates the EC example)."""
    t_weight: UnitInterval = 1.0
    """T: weight of the median voter moving towards (vs away from) the actor in the (1 - Q) term."""
    selection: Literal["least_move", "published"] = "least_move"
    """Offer-selection rule: 'least_move' follows BDM's text (the offer that moves the actor least); 'published'
    reproduces the code behind Scholz et al. (2011)."""
    normalisation: Literal["pair", "all_pairs"] = "pair"
    """Probability-of-success denominator: just the pair's votes (P(i, j) + P(j, i) = 1), or all votes over all pairs
    (published)."""
    median_ties: Literal["midpoint", "lowest"] = "midpoint"
    """Two unbeaten positions equally close to the mean: their midpoint (a reversed scale gives the mirrored
    forecast), or the lower one (published)."""
    stopping: Literal["settled", "deadline"] = "settled"
    """settled: an issue's forecast is final once no position on it moves by more than 0.1 % of its range in a
    round, or the positions are back where they were k <= 8 rounds earlier (a cycle: forecast at its mean median);
    the talks end when every issue is settled or agreed; one still moving at the deadline is forecast at its mean
    median over the second half of the rounds. deadline: the median at the deadline, wherever the cycle
    then is (published)."""


SCHOLZ_2011 = {"selection": "published", "normalisation": "all_pairs", "median_ties": "lowest",
               "stopping": "deadline"}
"""The options that reproduce the published EC trace (Scholz et al. 2011), as `protocol.expected_utility` values."""


class Forecasting(NamedTuple):
    """The stable-forecast state of R runs (the stopping rule of `expected_utility_kernel.stable_forecast`)."""

    settled: NDArray[np.bool_]      # (R, M) the stopping rule fired: nothing moves on the issue any more, or it cycles
    late_sum: Array                 # (R, M) sum of the medians of the rounds in the second half
    late_rounds: Array              # (R,) how many such rounds
    since: NDArray[np.int_]         # (R, M) the round in which the rule fired, -1 if not
    period: NDArray[np.int_]        # (R, M) 1: nothing moves; k > 1: the positions repeat every k rounds; 0: not yet
    value: Array                    # (R, M) the forecast of a settled issue: its median, or its mean over the cycle
    recent: Array                   # (R, K, N, M) the offers of the last K = MAX_CYCLE rounds, the latest last
    recent_median: Array            # (R, K, M) their medians


def opening_forecasting(state: State) -> Forecasting:
    runs, n_issues = state.open_issues.shape
    k = eu.MAX_CYCLE
    recent = np.full((runs, k, *state.offers.shape[1:]), np.nan)
    recent[:, -1] = state.offers
    recent_median = np.full((runs, k, n_issues), np.nan)
    recent_median[:, -1] = state.median
    return Forecasting(np.zeros((runs, n_issues), dtype=bool), np.zeros((runs, n_issues)), np.zeros(runs),
                       np.full((runs, n_issues), -1), np.zeros((runs, n_issues), dtype=int),
                       np.full((runs, n_issues), np.nan), recent, recent_median)


def next_forecasting(f: Forecasting, offers: Array, median: Array, candidates: NDArray[np.bool_], scale: Array,
                     round_: int, late: NDArray[np.bool_]) -> Forecasting:
    """The stopping rule after a round: an issue among `candidates` (R, M) settles when its offers are back, within
    STABLE_TOLERANCE x R, where they were k <= MAX_CYCLE rounds earlier (k = 1: nothing moved), the shortest k
    first; its forecast is then the mean median over those k rounds."""
    k_max = eu.MAX_CYCLE
    medians = np.concatenate([f.recent_median[:, 1:], median[:, None]], axis=1)   # rounds t-K+1 .. t
    newly = np.zeros_like(candidates)
    period, value = f.period, f.value
    for k in range(1, k_max + 1):
        back = np.abs(offers - f.recent[:, k_max - k]).max(axis=-2) <= eu.STABLE_TOLERANCE * scale   # NaN: False
        fire = candidates & back & ~newly
        if fire.any():
            newly = newly | fire
            period = np.where(fire, k, period)
            value = np.where(fire, medians[:, k_max - k:].mean(axis=1), value)
    return Forecasting(f.settled | newly, f.late_sum + np.where(late[:, None], median, 0.0), f.late_rounds + late,
                       np.where(newly, round_, f.since), period, value,
                       np.concatenate([f.recent[:, 1:], offers[:, None]], axis=1), medians)


def scale_ranges(ideal: Array) -> Array:
    """R per issue: the range of the initial positions (M,) (per run: (R, M)), fixed for the whole run."""
    return np.ptp(ideal, axis=-2)


def forecast(ideal: Array, profiles, params: Settings, runs: int) -> Array:
    """The median voter's position of the opening positions, (R, M)."""
    median = eu.median_voter(ideal, profiles.capability, profiles.salience, scale_ranges(ideal),
                             params.rounds.median_ties)
    return np.broadcast_to(median, (runs, ideal.shape[-1])).copy()


def agreed_issues(median: Array, offers: Array, open_issues: NDArray[np.bool_], converged: NDArray[np.bool_],
                  arrays: RunArrays) -> NDArray[np.bool_]:
    """The open issues agreed this round (R, M): the positions have met (`converged`) and the median voter's position
    passes the table's test (`table_rules.settled_issues`, as under the concession mechanism): every actor whose
    consent the issue's decision rule needs accepts it -- it crosses none of its red lines and is worth at least its
    reservation utility (on the issue; under package linkage, the whole package, which is agreed only once the
    positions have met on every open issue)."""
    tolerance = arrays.rules.tolerance[:, None, None]
    table = np.broadcast_to(median[:, None, :], offers.shape)
    met = open_issues & converged
    if arrays.package:
        met = open_issues & (converged | ~open_issues).all(axis=-1, keepdims=True)
    if not met.any():
        return met
    settled = rules.settled_issues(table, offers, open_issues, arrays.profiles, tolerance, arrays.package, arrays.rule)
    return met & settled if settled is not None else np.zeros_like(met)


def play_round(state: State, arrays: RunArrays, round_: int, draws: RoundDraws,
               own_offers: Array | None = None) -> State:
    """One round of R runs on every open issue; `own_offers` as in the concession mechanism. The challenge round
    moves the agents' positions (`expected_utility_kernel.eu_round`); no agent moves past its red line (a move that
    would cross it stops on it); an issue is agreed at the median voter's position once the positions have met and
    the actors the decision rule needs accept it (`agreed_issues`)."""
    p, r, settings = arrays.profiles, arrays.rules, arrays.params
    before, open_issues = state.offers, state.open_issues
    forecasting = state.extra if state.extra is not None else opening_forecasting(state)
    moving = open_issues & ~forecasting.settled         # a settled issue stays exactly where it settled
    scale = scale_ranges(p.ideal)
    result = eu.eu_round(before, p.capability, p.salience, scale, settings.rounds)
    open_ = moving[:, None, :]
    reasons = np.where(open_, len(REASONS) + result.offer_kind, AGREED) if state.reasons is not None else None
    moved = result.positions
    if p.has_red_lines:     # an actor never offers a position past its own red line
        moved = clip_to_red_lines(moved, p)
        if reasons is not None:
            reasons = np.where(open_ & (moved != result.positions), RED_LINE, reasons)
    if state.people is not None:
        moved, reasons = with_people(own_offers, before, moved, state, reasons)
    offers = np.where(open_, moved, before)
    median = eu.median_voter(offers, p.capability, p.salience, scale, settings.rounds.median_ties)
    assert state.median is not None     # a forecasting mechanism's state always has its median
    mean_move, held = rules.round_movement(before, offers, state.median[:, None, :], open_issues,
                                           r.tolerance[:, None, None])
    converged = np.ptp(offers, axis=-2) <= r.tolerance[:, None]
    agreed = agreed_issues(median, offers, open_issues, converged, arrays)
    if settings.stop_when_settled:
        late = round_ >= (r.deadline + 1) // 2
        # an issue agreed this round is not a forecast; positions that met on a value someone refuses are
        forecasting = next_forecasting(forecasting, offers, median, moving & ~agreed, scale, round_, late)
    state = finish_round(state, arrays, round_, offers, None, agreed, median, mean_move, held,
                         median=median, forecast=median, reasons=reasons, extra=forecasting)
    if not settings.stop_when_settled:
        return state
    # the talks end once every issue is agreed or settled; a settled issue is forecast at its median (the mean over
    # its cycle), and one still moving at the deadline at its mean median over the second half of the rounds
    still_open = state.open_issues & ~forecasting.settled
    over = state.over | ~still_open.any(axis=-1)
    cycling = over[:, None] & still_open
    late_mean = forecasting.late_sum / np.maximum(forecasting.late_rounds, 1)[:, None]
    settled = state.open_issues & forecasting.settled
    return state._replace(over=over, forecast=np.where(settled, forecasting.value,
                                                       np.where(cycling, late_mean, median)))


def settled_since(state: State) -> tuple[NDArray[np.int_], NDArray[np.int_]]:
    """((R, M), (R, M)): the round in which each issue's forecast became final (its positions stopped moving or
    began to repeat), -1 where not; and the period, 1 (nothing moves) or k (a cycle of k rounds), 0 where not."""
    extra = state.extra
    if extra is None:
        return np.full(state.open_issues.shape, -1), np.zeros(state.open_issues.shape, dtype=int)
    return extra.since, extra.period


class Settings(NamedTuple):
    """What `play_round` reads from the parameters."""

    rounds: eu.EUParams             # the rounds' options
    stop_when_settled: bool


def prepare(parameters: ExpectedUtilityParameters) -> Settings:
    values = parameters.model_dump()
    stopping = values.pop("stopping")
    return Settings(eu.EUParams(**values), stopping == "settled")


OFFER_WHY = {
    "none": "it took no offer this round: it stays where it was",
    "confrontation": "another actor expected to win a challenge on this issue and it expected to lose: it moved to "
                     "that actor's position",
    "compromise": "another actor expected to gain more from a challenge than it expected to lose: it moved part of "
                  "the way towards that actor's position",
    "capitulation": "it expected to lose more in a challenge than the other actor expected to gain: it moved to that "
                    "actor's position",
}
"""What taking each kind of offer (`eu.OFFER_NAMES`) means for the actor's move."""
REASON_WHY = {f"took {name} offer" if name != "none" else "no offer received": OFFER_WHY[name]
              for name in eu.OFFER_NAMES}
"""The mechanism's own move reasons, in the order of the kernel's offer codes, each with what it means."""


EXPECTED_UTILITY = Mechanism(
    name="expected_utility", label="Expected utility (Bueno de Mesquita)",
    summary="Actors challenge each other where they expect to gain, never past their red lines; positions converge "
            "on the median voter, whose position is the forecast, and an issue is agreed there if everyone the "
            "decision rule needs accepts it.",
    parameters=ExpectedUtilityParameters, reasons=REASON_WHY,
    lockstep=True, play_round=play_round, prepare=prepare, forecast=forecast, spatial_data=True,
    settled_since=settled_since)
