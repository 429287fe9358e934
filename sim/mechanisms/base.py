"""What every mechanism shares: the state of the table over a run axis, a round's random draws, and the plug-in.

A mechanism is one module with one `Mechanism` (registered in `sim.mechanisms`): its parameters (a pydantic
model, read from the scenario's protocol under the mechanism's name), the reasons its moves record, whether
lockstep plays it, and one pure `play_round(state, arrays, round_, draws, own_offers=None) -> State` over a
leading run axis. `NegotiationModel.step` calls it for one run (R = 1) and `sim.engine.lockstep` for many, so a round
is written once.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, NamedTuple

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict

from sim.core import table_rules as rules
from sim.core.bargaining import outside_options
from sim.core.strategies import HELD, HUMAN, OPENING, REASONS, Profiles, fraction_at, scheduled_fraction
from sim.core.streams import NOISE, ORDER, generator
from sim.core.utility import Array, full
from sim.core.voting import RuleArrays


class Rules(NamedTuple):
    """The protocol's numbers, one per run (R,)."""

    deadline: np.ndarray            # int: rounds before the talks end in stalemate
    tolerance: np.ndarray           # agreement tolerance (fraction of the scale)
    noise: np.ndarray               # standard deviation of the offers' noise
    tension_initial: np.ndarray
    deadlock_rate: np.ndarray
    hardline_rate: np.ndarray
    concession_relief: np.ndarray
    agreement_relief: np.ndarray
    hardening: np.ndarray
    tolerance_table: np.ndarray     # (R, N, M) `tolerance` in every cell: what a round's (R, N, M) gaps meet, of their
                                    # very shape (an (R, 1, 1) operand broadcast over them costs twice as much)


class RoundTables(NamedTuple):
    """What a run's rounds read that depends on its arrays and the round number alone, computed for every round
    1..T at once (one call each, not one a round); row t - 1 is round t's. A model run's arrays (R = 1) carry
    them; the numbers are those of the per-round calls (the same elementwise operations on the same operands)."""

    scheduled: Array    # (T, R, N, M) `strategies.scheduled_fraction`
    outside: Array      # (T, R, N) `bargaining.outside_options`


def round_tables(profiles: Profiles, deadline: NDArray[np.int_]) -> RoundTables:
    """The tables of rounds 1..max(deadline) (`profiles` with a run axis, `deadline` (R,))."""
    rounds, time = _round_columns(tuple(deadline.tolist()), profiles.ideal.shape[-2:])
    return RoundTables(fraction_at(profiles, time), outside_options(profiles.outside, profiles.outside_trend, rounds))


@lru_cache(maxsize=16)    # (each (T, R, N, M): a few, not many, kept)
def _round_columns(deadlines: tuple[int, ...], shape: tuple[int, ...]) -> tuple[NDArray[np.int_], Array]:
    """Rounds 1..T as a column (T, 1, 1), and each round's fraction of each run's time t/T laid out in the tables'
    shape (T, R, N, M): what `scheduled_fraction` computes of the rounds alone, once for every run with these
    deadlines and this shape (read-only)."""
    deadline = np.array(deadlines)
    rounds = np.arange(1, int(deadline.max()) + 1)
    time = full((rounds[:, None] / deadline)[..., None, None], (len(rounds), len(deadlines), *shape))
    column = rounds[:, None, None]
    column.flags.writeable = time.flags.writeable = False
    return column, time


class RunArrays(NamedTuple):
    """What `play_round` reads: the profiles (shared (N, M), or per run (R, N, M)), the rules per run, and
    what every run shares."""

    profiles: Profiles
    rules: Rules
    low: np.ndarray
    high: np.ndarray
    de_escalating: np.ndarray
    package: bool                   # package linkage
    activation: str                 # simultaneous | sequential | random
    params: Any                     # the mechanism's parameters (its pydantic model), shared by every run
    rule: RuleArrays | None = None  # each issue's decision rule (None: unanimity)
    by_round: RoundTables | None = None  # a model run's per-round tables (None: computed each round)

    def scheduled(self, round_: int) -> Array:
        """`strategies.scheduled_fraction` of round `round_` (R, N, M)."""
        table = self.by_round
        if table is not None and round_ <= len(table.scheduled):
            return table.scheduled[round_ - 1]
        return scheduled_fraction(self.profiles, round_, self.rules.deadline)

    def outside(self, round_: int) -> Array:
        """`bargaining.outside_options` of round `round_` (R, N)."""
        table = self.by_round
        if table is not None and round_ <= len(table.outside):
            return table.outside[round_ - 1]
        p = self.profiles
        return outside_options(p.outside, p.outside_trend, round_)


class State(NamedTuple):
    """The table after a round, for R runs: offers (R, N, M) in normalised units, and what the talks have
    produced so far."""

    offers: Array                       # (R, N, M)
    previous: Array                     # (R, N, M) the offers a round earlier (tit-for-tat answers the change)
    proposal: Array                     # (R, N, M) the standing proposal as a table (every row the same)
    tension: Array                      # (R,)
    open_issues: NDArray[np.bool_]      # (R, M) not agreed yet
    agreed_value: Array                 # (R, M) NaN while open
    agreed_round: NDArray[np.int_]      # (R, M) -1 while open
    intended: Array                     # (R, N, M) the offers the actors meant, before noise
    stuck: NDArray[np.bool_]            # (R, N, M) could not move towards the proposal
    walked: NDArray[np.bool_]           # (R, N) left the table
    outside_value: Array | None         # (R, N) this round's outside options, where someone could walk away
    best_left: Array | None             # (R, N) the best deal left (`bargaining.best_deal_left`); NaN in a round
                                        # where no outside option could beat it (`table_rules.walkouts`)
    over: NDArray[np.bool_]             # (R,) the talks have ended
    broke_down: NDArray[np.bool_]       # (R,) ... because someone walked away
    median: Array | None                # (R, M) expected utility: the median voter's position this round
    forecast: Array | None              # (R, M) a forecasting mechanism's prediction (None for the others)
    reasons: NDArray[np.int_] | None    # (R, N, M) why each move was made (index into the reason names), or
                                        # None: not recorded
    people: NDArray[np.bool_] | None    # (N,) seats where people choose the offers (None: agents only)
    extra: Any = None                   # a mechanism's own state: a NamedTuple of (R, ...) arrays, or None


class RoundDraws(NamedTuple):
    """One round's random numbers for R runs, drawn from each run's generator before the talks start."""

    noise: Array | None                 # (R, N, M) noise on the concessions (None: no run has noise)
    order: NDArray[np.int_] | None      # (R, N) who moves when (random activation; None otherwise)


class Parameters(BaseModel):
    """Base of a mechanism's parameters (the scenario schema's conventions: unknown keys are errors)."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)


COMMON_WHY: dict[str, str] = {
    "opening position": "round 0: its ideal position, where it opens",
    "conceded": "moved towards the proposal as its strategy schedules for this round",
    "reciprocated": "tit-for-tat: returned the others' last concession",
    "held": "did not move this round (its schedule asked for no move, or tension held it back)",
    "held red line": "stands at its red line and will go no further",
    "at reservation": "stands where the issue would take it below its walk-away utility",
    "met the proposal": "its offer reached the proposal on the table (within the agreement tolerance)",
    "followed ally": "its allies' moves pulled its offer more than it moved by itself",
    "retreated": "took back ground (answering a retreat, or noise)",
    "agreed": "the issue is closed",
    "human move": "a person in this seat chose the offer",
}
"""What each of the common move reasons (`sim.core.strategies.REASONS`) means."""


@dataclass(frozen=True)
class Mechanism:
    """A bargaining mechanism as a plug-in."""

    name: str                           # the protocol's `mechanism` value (and the key of its parameters)
    label: str                          # for people (dashboard, classroom)
    summary: str
    parameters: type[BaseModel] | None  # pydantic model of its parameters under `protocol.<name>`, or None
    reasons: Mapping[str, str]
    """Its own move reasons, recorded after the common `strategies.REASONS`, each with what it means (the
    dashboard's "Why")."""
    lockstep: bool                      # `sim.engine.lockstep` can play it (else: one model per run)
    play_round: Callable[..., State]
    prepare: Callable[[Any], Any] = lambda params: params   # parameters -> what `play_round` reads
    forecast: Callable[..., Array] | None = None
    """(ideal, profiles, params, runs) -> (R, M): the opening forecast of a mechanism that predicts a position per
    issue beside agreements (`State.median`); None for the others."""
    spatial_data: bool = False
    """Made for spatial-model data (capability, position, salience per actor: a BDM or KTAB CSV): interfaces
    play such files with this mechanism unless the user picks another."""
    settled_since: Callable[[State], Any] | None = None
    """(state) -> ((R, M), (R, M)): the round in which each issue's forecast became final, -1 where it has not, and
    its period: 1 (the positions stopped moving), k > 1 (they repeat every k rounds), 0 (neither) -- a forecasting
    mechanism whose talks end once nothing moves (`sim.engine.explain` says so); None: not tracked."""

    @property
    def forecasts(self) -> bool:
        return self.forecast is not None

    def parameters_of(self, scenario: Any) -> Any:
        """What `play_round` reads as `arrays.params`: the scenario's parameters of this mechanism."""
        if self.parameters is None:
            return None
        return self.prepare(getattr(scenario.protocol, self.name))

    @property
    def reason_names(self) -> tuple[str, ...]:
        return REASONS + tuple(self.reasons)

    @property
    def why(self) -> dict[str, str]:
        """What each reason its moves can record means (the common ones, then its own)."""
        return {**COMMON_WHY, **self.reasons}


def draw_rounds(seed: int, noise: float, deadline: int, shape: tuple[int, int],
                random_order: bool) -> tuple[Array | None, NDArray[np.int_] | None]:
    """A run's random numbers for all its rounds, drawn before the first, each from its own stream of the run's
    seed (`sim.core.streams`): the noise (T, N, M) (None when the protocol has none) and the order of moves
    (T, N) under random activation (each round a permutation of the actors: the order of N uniform keys). Round
    t's numbers are the same whatever the deadline, and the noise is normal(0, 1) scaled (numpy's normal(0, s)
    is 0 + s z), so neither stream depends on the other or on the inputs the run draws."""
    noise_draws = generator(seed, NOISE).normal(0.0, noise, (deadline, *shape)) if noise > 0 else None
    order = (np.argsort(generator(seed, ORDER).random((deadline, shape[0])), axis=-1, kind="stable")
             if random_order else None)
    return noise_draws, order


def opening_state(ideal: Array, profiles: Any, tension: Array, runs: int, record: bool,
                  people: NDArray[np.bool_] | None = None, forecast: Array | None = None) -> State:
    """Round 0 of R runs: every actor at its ideal (`ideal` (N, M) shared or (R, N, M) per run)."""
    n_actors, n_issues = ideal.shape[-2:]
    offers = _copy_to(ideal, (runs, n_actors, n_issues))
    proposal = _copy_to(rules.proposal_table(offers, profiles), offers.shape)
    opened = _opening_constants(runs, n_actors, n_issues)
    return State(
        offers=offers, previous=offers, proposal=proposal, tension=np.array(tension, dtype=float),  # (a copy)
        open_issues=opened.open_issues, agreed_value=opened.agreed_value, agreed_round=opened.agreed_round,
        intended=offers, stuck=opened.stuck, walked=opened.walked, outside_value=None, best_left=None,
        over=opened.over, broke_down=opened.broke_down, median=forecast, forecast=forecast,
        reasons=np.full(offers.shape, OPENING) if record else None, people=people)


class _Opening(NamedTuple):
    open_issues: NDArray[np.bool_]
    agreed_value: Array
    agreed_round: NDArray[np.int_]
    stuck: NDArray[np.bool_]
    walked: NDArray[np.bool_]
    over: NDArray[np.bool_]
    broke_down: NDArray[np.bool_]


@lru_cache(maxsize=64)
def _opening_constants(runs: int, n_actors: int, n_issues: int) -> _Opening:
    """What every opening of R runs of this shape holds alike: every issue open, none agreed (NaN, round -1), no
    one stuck or walked out, no run over. Read-only and shared: a round builds the next state's arrays anew (none
    is ever written to), so each opening need not make its own (seven arrays, once per model run)."""
    opened = _Opening(np.ones((runs, n_issues), dtype=bool), np.full((runs, n_issues), np.nan),
                      np.full((runs, n_issues), -1), np.zeros((runs, n_actors, n_issues), dtype=bool),
                      np.zeros((runs, n_actors), dtype=bool), np.zeros(runs, dtype=bool), np.zeros(runs, dtype=bool))
    for array in opened:
        array.flags.writeable = False
    return opened


def _copy_to(array: Array, shape: tuple[int, ...]) -> Array:
    """`array` broadcast to `shape` as a new array (always a copy, unlike `utility.full`): what
    `np.broadcast_to(array, shape).copy()` gives, without its cost per call (once per model run)."""
    if array.shape == shape:
        return array.copy()
    out = np.empty(shape, dtype=array.dtype)
    out[...] = array
    return out


def with_people(own: Array | None, before: Array, offers: Array, state: State,
                reasons: NDArray[np.int_] | None) -> tuple[Array, NDArray[np.int_] | None]:
    """People's seats take the offers they submitted (`own` (R, N, M), NaN: holds its offer) on open issues;
    the agents' rows keep `offers`. Returns (offers, reasons); unchanged where there are no seats for people or
    no submissions (None)."""
    people, open_ = state.people, state.open_issues[:, None, :]
    if people is None or own is None:
        return offers, reasons
    chosen = ~np.isnan(own) & open_
    rows = np.where(chosen, own, before)
    if reasons is not None:
        reasons = np.where(people[:, None], np.where(chosen, HUMAN, HELD), reasons)
    return np.where(people[:, None] & open_, rows, offers), reasons


class NoWalkers(NamedTuple):
    """What a round in which no outside option beats no deal leaves, for R runs of N actors: read-only arrays shared by
    every such round of runs of that shape (numpy's zeros and a NaN fill would otherwise be made every round)."""

    walked: NDArray[np.bool_]           # (R, N) False: no one left the table
    best_left: Array                    # (R, N) NaN: no best deal computed (`rules.walkouts`)
    someone_walked: NDArray[np.bool_]   # (R,) False


@lru_cache(maxsize=64)     # (lockstep's compaction makes a few run counts per batch)
def no_walkers(shape: tuple[int, ...]) -> NoWalkers:
    """The `NoWalkers` of runs whose `State.walked` has `shape` (R, N), made once per shape."""
    none = NoWalkers(np.zeros(shape, dtype=bool), np.full(shape, np.nan), np.zeros(shape[:-1], dtype=bool))
    for array in none:
        array.flags.writeable = False   # shared by states: never written in place
    return none


def finish_round(state: State, arrays: Any, round_: int, offers: Array, proposal: Array | None,
                 settled: NDArray[np.bool_] | None, values: Array, mean_move: Array, held: Array,
                 walkouts: bool = False, *, all_open: bool | None = None, intended: Array | None = None,
                 stuck: NDArray[np.bool_] | None = None, reasons: NDArray[np.int_] | None = None,
                 median: Array | None = None, forecast: Array | None = None, extra: Any = None) -> State:
    """Close the issues `settled` (R, M) (None: none) at `values`, update tension, let actors walk away where the
    mechanism allows it (`walkouts`), and decide whether the talks are over: the part of a round every mechanism
    shares. `proposal` None: the proposal of the offers once settled; `all_open`: whether every issue of every run
    was open before this round's settlement, where the caller has counted (None: counted here); `intended` ...
    `extra`: those fields of the new state where the mechanism sets them (None: the state's own)."""
    r = arrays.rules
    done = rules.settle(settled, values, round_, offers, state.agreed_value, state.agreed_round, state.open_issues,
                        arrays.de_escalating)
    if proposal is None:
        proposal = rules.proposal_table(done.offers, arrays.profiles)
    tension = rules.next_tension(state.tension, mean_move, held, done.de_escalations, r.deadlock_rate,
                                 r.hardline_rate, r.concession_relief, r.agreement_relief)
    # every issue of every run still open (asked twice below): as it was before, where nothing was settled
    every_open = (all_open if all_open is not None and done.de_escalations is None
                  else np.count_nonzero(done.open_issues) == done.open_issues.size)
    walked, outside, best = state.walked, state.outside_value, state.best_left
    someone_walked: NDArray[np.bool_] | None = None     # (R,) where known without reducing `walked`
    if walkouts and arrays.profiles.has_outside_options:
        outside, could_walk = rules.outside_now(arrays.profiles, arrays.outside(round_), every_open, arrays.package)
        if could_walk:
            factor = 1.0 - r.hardening * tension
            walked, outside, best = rules.walkouts(arrays.profiles, done.offers, factor[:, None, None], round_,
                                                   done.open_issues, done.agreed_value, arrays.package, outside)
            if not every_open:  # settlement comes first: once every issue is settled there is nothing left to leave
                walked = walked & np.logical_or.reduce(done.open_issues, axis=-1)[:, None]
        else:   # most rounds: no outside option beats no deal, so no one walks (what `rules.walkouts` returns)
            walked, best, someone_walked = no_walkers(walked.shape)
        outside = full(outside, walked.shape)
    if someone_walked is None:
        someone_walked = np.logical_or.reduce(walked, axis=-1)     # (walked.any's ufunc, without its wrapper)
    over, broke_down = rules.round_end(someone_walked, round_, r.deadline, done.open_issues, every_open)
    # built field by field rather than by `state._replace` (a third of its cost: this runs every round), in the
    # order of State's fields, named on each line (by keyword the call costs twice as much again)
    return State(done.offers, state.offers, proposal, tension,                  # offers, previous, proposal, tension
                 done.open_issues, done.agreed_value, done.agreed_round,  # open_issues, agreed_value, agreed_round
                 state.intended if intended is None else intended,              # intended
                 state.stuck if stuck is None else stuck,                       # stuck
                 walked, outside, best, over, broke_down,   # walked, outside_value, best_left, over, broke_down
                 state.median if median is None else median,                    # median
                 state.forecast if forecast is None else forecast,              # forecast
                 state.reasons if reasons is None else reasons, state.people,   # reasons, people
                 state.extra if extra is None else extra)                       # extra
