"""Concession strategies as pure functions over (actors x issues) arrays.

Every strategy answers one question per round: how far from its ideal, towards the standing proposal, does
the actor offer on each issue? That distance is its *concession*; it is bounded by the actor's *room* (the
nearest of its red line, the point where its utility on the issue falls to its reservation level, and the
end of the scale) and by the *gap* to the proposal (no one concedes past what is on the table).

- time-dependent (Faratin, Sierra & Jennings 1998): concession = room x (t/T)^(1/e); Boulware e < 1 holds
  out until the deadline, linear e = 1, Conceder e > 1 gives ground early.
- tit_for_tat: returns `reciprocity` x the distance the others (capability-weighted) came towards the actor
  last round; opens with `opening` x room; may take back ground when the others do.
- hardliner: concedes at most `flexibility` x room, reached only at the deadline.

Package deals: under `package` linkage an actor trades across issues, conceding sooner on issues it cares
less about: the time fraction on issue j is raised to s_ij / mean_j(s_ij), so an issue of average salience
follows the strategy, a more salient one lags and one of no salience is conceded at once.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from functools import lru_cache
from typing import NamedTuple

import numpy as np
from numpy.typing import NDArray

from sim.core.bargaining import disagreement_utilities, nash_package
from sim.core.records import built
from sim.core.utility import (
    EPS,
    ONE,
    SLACK,
    ZERO,
    Array,
    constant,
    divided,
    full,
    power,
    red_line_bounds,
    reservation_distance,
    risk_exponent,
    salience_weights,
)

KINDS: tuple[str, ...] = ("boulware", "linear", "conceder", "tit_for_tat", "hardliner")
TIT_FOR_TAT, HARDLINER = KINDS.index("tit_for_tat"), KINDS.index("hardliner")

REASONS: tuple[str, ...] = (
    "agreed",             # the issue is closed
    "conceded",           # moved towards the proposal as its strategy schedules
    "reciprocated",       # tit-for-tat: returned the others' concession
    "held",               # did not move
    "held red line",      # stands at its red line and will go no further
    "at reservation",     # stands where its utility on the issue reaches its walk-away utility
    "met the proposal",   # its concession reached the proposal it answered (in words: explain.move_sentence)
    "followed ally",      # bloc cohesion moved its offer more than it moved itself
    "retreated",          # took back ground (tit-for-tat answering a retreat, or noise)
    "opening position",   # round 0: the actor's ideal position
    "human move",         # a person in this seat chose the offer (classroom)
)
(AGREED, CONCEDED, RECIPROCATED, HELD, RED_LINE, RESERVATION, MET, FOLLOWED, RETREATED, OPENING,
 HUMAN) = range(len(REASONS))

HOLD_EPS = 1e-3
"""A move smaller than this fraction of the scale counts as holding firm."""
HOLD = constant(HOLD_EPS)     # (the rounds' operand: see `utility.constant`)
MIN_FACTOR = constant(1e-9)   # the smallest tension factor a schedule is slowed by


@dataclass(frozen=True)
class Profiles:
    """What the actors bring to the table, as arrays (normalised positions; N actors x M issues).

    Per-actor strategy constants are stored as (N, 1) columns so they broadcast over issues without reshaping
    in the per-round hot path. Runs played together with different parameter values (`sim.engine.lockstep`) give
    every array a leading run axis (R, N, M), (R, N), (R, M); the flags then say whether any run needs the work.
    """

    ideal: Array              # (N, M) ideal positions
    salience: Array           # (N, M) saliences 0-1
    weights: Array            # (N, M) saliences normalised per actor (utility weights)
    capability: Array         # (N,)
    risk_exponent: Array      # (N,) r of the utility curve
    red_line: Array           # (N, M) NaN where none
    red_low: Array            # (N, M) lowest value the red lines allow (-inf where none)
    red_high: Array           # (N, M) highest value the red lines allow (+inf where none)
    red_low_tol: Array        # (N, M) red_low - EPS: the bound acceptance checks against
    red_high_tol: Array       # (N, M) red_high + EPS
    reservation: Array        # (N,)
    room_up: Array            # (N, M) how far the actor can move up: nearest of reservation, pole, red line
    room_down: Array          # (N, M) the same downwards
    kind: NDArray[np.int_]    # (N,) index into KINDS
    time_power: Array         # (N, M) trade_exponent / e: time-dependent fraction is (t/T)^time_power
    hardliner: NDArray[np.bool_]    # (N, 1)
    any_hardliner: bool
    tit_for_tat: NDArray[np.bool_]  # (N, 1)
    reciprocity: Array        # (N, 1)
    opening: Array            # (N, 1)
    flexibility: Array        # (N, 1)
    cohesion: Array           # (N, N) row i: how far actor i follows each ally
    cohesion_matrix: Array    # (N, N) I - diag(W 1) + W: offers after cohesion = cohesion_matrix @ offers
    has_cohesion: bool        # some actor follows an ally
    has_red_lines: bool       # some actor has a red line
    has_tit_for_tat: bool     # some actor plays tit-for-tat (it needs the concessions received)
    proposal_weights: Array   # (N, M) capability x salience, normalised per issue
    anchor_rows: NDArray[np.int_]   # (N,) zeros: offers.take(anchor_rows, 0) repeats the first actor's row
    column_sums: Array        # (N, N) ones: column_sums @ A repeats A's column sums in every row
    agreeable_low: Array      # (M,) lowest value on each issue that crosses no one's red line (tolerance EPS)
    agreeable_high: Array     # (M,) highest such value
    package_possible: NDArray[np.bool_]  # () or (R,): some package crosses no one's red line
    status_quo: Array         # (M,) what holds without agreement; NaN where the issue has none
    disagreement: Array       # (N, M) utility of no agreement per issue (`bargaining.disagreement_utilities`)
    outside: Array            # (N,) value of the outside option at round 0; NaN: the actor never walks away
    outside_trend: Array      # (N,) its change per round
    has_outside_options: bool
    exponent_table: Array     # (N, M) risk_exponent laid out per issue (a power meets it without broadcasting)
    disagreement_point: Array  # (N,) max(sum_j w_ij d_ij, R_i): what no deal is worth to each actor
    agreeable_low_table: Array   # (N, M) `agreeable_low` in every actor's row, and `agreeable_high`: what a proposal
    agreeable_high_table: Array  # table is checked against, of its very shape (a ufunc broadcasting (M,) over it
                                 # costs twice as much, every round)
    walk_floor: Array            # (N,) reservation + SLACK, and disagreement_point + SLACK: what an outside option
    walk_floor_package: Array    # must beat to walk away (`table_rules.outside_now`, asked every round)
    package_table: Array | None   # (N, M) package linkage: the Nash package in every row; None: no run has one
    package_mask: NDArray[np.bool_] | None = None  # per run: has a Nash package (None: every run, or no run axis
                                                   # and the table is there)
    any_package_possible: bool = True   # some run's `package_possible` (a plain bool: asked every round)


SHARED_FIELDS = frozenset({"kind", "hardliner", "tit_for_tat", "anchor_rows", "column_sums"})
"""The `Profiles` arrays that carry no run axis when runs have values of their own (derived from choices, not
numbers: the same in every run)."""


def with_run_axis(p: Profiles) -> Profiles:
    """One run's profiles as those of a batch of one run: every other array with a leading run axis of one (views:
    the same numbers, `make_profiles`' layout for runs with values of their own). What a model run's rounds read:
    there each operation meets the table (1, N, M) with operands of its very shape, which numpy iterates on a
    short path, about a third of the cost of broadcasting an (N, M) operand to it."""
    if p.ideal.ndim == 3:
        return p
    return _per_run_indexed(p, (None,))


def without_run_axis(p: Profiles) -> Profiles:
    """A batch of one run's profiles as that run's own, `with_run_axis` undone (views: the same numbers, as
    `make_profiles` computes them for the run alone; a per-run flag that is a scalar there is a 0-d array here)."""
    return _per_run_indexed(p, (0, ...))


def _per_run_indexed(p: Profiles, index: tuple) -> Profiles:
    """`p` with each array that carries a run axis indexed by `index` (views), the others as they are. The fields
    are set directly: `dataclasses.replace` would run __init__ with every field as a keyword again, twice the cost."""
    indexed = object.__new__(Profiles)
    fields = indexed.__dict__
    fields.update(vars(p))
    for name in _PER_RUN_FIELDS:
        value = fields[name]
        if isinstance(value, np.ndarray):
            fields[name] = value[index]
    return indexed


_PER_RUN_FIELDS = tuple(field.name for field in dataclasses.fields(Profiles)
                        if field.name not in SHARED_FIELDS and field.type != "bool")
"""The `Profiles` fields that carry a run axis where they are arrays (not the flags, not the shared fields)."""


class Choices(NamedTuple):
    """What `make_profiles` derives from the actors' strategy kinds alone (read-only arrays): the same for every
    run of a scenario whatever numbers it draws, so derived once per list of kinds."""

    kind: NDArray[np.int_]              # (N,) index into KINDS
    hardliner: NDArray[np.bool_]        # (N, 1)
    tit_for_tat: NDArray[np.bool_]      # (N, 1)
    any_hardliner: bool
    has_tit_for_tat: bool
    eye: Array                          # (N, N) identity
    anchor_rows: NDArray[np.intp]       # (N,) zeros: `Profiles.anchor_rows`
    column_sums: Array                  # (N, N) ones: `Profiles.column_sums`


@lru_cache(maxsize=64)
def _choices(kinds: tuple[str, ...]) -> Choices:
    kind = np.array([KINDS.index(k) for k in kinds])
    n_actors = len(kinds)
    choices = Choices(kind, (kind == HARDLINER)[:, None], (kind == TIT_FOR_TAT)[:, None],
                      bool((kind == HARDLINER).any()), bool((kind == TIT_FOR_TAT).any()), np.eye(n_actors),
                      np.zeros(n_actors, dtype=np.intp), np.ones((n_actors, n_actors)))
    for array in choices:
        if isinstance(array, np.ndarray):
            array.flags.writeable = False    # shared by every run with these kinds
    return choices


def make_profiles(ideal: Array, salience: Array, capability: Array, risk_attitude: Array, red_line: Array,
                  reservation: Array, kinds: list[str], exponent: Array, reciprocity: Array, opening: Array,
                  flexibility: Array, cohesion: Array, package: bool, status_quo: Array | None = None,
                  outside: Array | None = None, outside_trend: Array | None = None) -> Profiles:
    """Derive every per-run constant once, so that a round is only a few array operations.

    Every array may carry the same leading run axes (many runs with different parameter values, played in
    lockstep): ideal (..., N, M), capability (..., N), status_quo (..., M), cohesion (..., N, N); `kinds` and
    `package` are shared by all runs. Each run's constants are computed exactly as they would be alone.
    """
    lead, (n_actors, n_issues) = ideal.shape[:-2], ideal.shape[-2:]
    status_quo = np.full((*lead, n_issues), np.nan) if status_quo is None else status_quo
    outside = np.full((*lead, n_actors), np.nan) if outside is None else outside
    outside_trend = np.zeros((*lead, n_actors)) if outside_trend is None else outside_trend
    r = risk_exponent(risk_attitude)
    salience_totals = salience.sum(axis=-1, keepdims=True)     # (weights and trade exponents both divide by it)
    weights = salience_weights(salience, salience_totals)
    exponent_table = full(r[..., None], ideal.shape)
    disagreement = disagreement_utilities(status_quo, ideal, r, reservation, exponent_table)
    choices = _choices(tuple(kinds))
    kind = choices.kind
    red_low, red_high = red_line_bounds(red_line, ideal)
    red_low_tol, red_high_tol = red_low - SLACK, red_high + SLACK
    agreeable_low, agreeable_high = red_low_tol.max(axis=-2), red_high_tol.min(axis=-2)
    package_possible = (agreeable_low <= agreeable_high).all(axis=-1)
    any_package_possible = bool(np.count_nonzero(package_possible))     # (count_nonzero: a third of .any()'s cost)
    # (no run with a possible package: no search, and no run has a Nash package, as the search would find)
    nash = (nash_packages(ideal, weights, r, capability, disagreement, reservation, agreeable_low + EPS,
                          agreeable_high - EPS, package_possible) if package and any_package_possible else None)
    has_nash = np.zeros(lead, dtype=bool) if nash is None else ~np.isnan(nash[..., 0])
    # The reservation utility bounds each issue on its own; a Nash package already gives everyone at least its
    # reservation utility as a whole, so there the actors may go as far as their red lines on any one issue.
    reservation_room = reservation_distance(reservation, r)[..., None]
    if nash is not None:
        reservation_room = np.where(has_nash[..., None, None], np.inf, reservation_room)
    reservation_room = full(reservation_room, ideal.shape)  # (laid out once: both rooms meet it at their shape)
    eye = choices.eye
    disagreement_point = np.maximum((weights * disagreement).sum(axis=-1), reservation)
    return built(
        Profiles, ideal=ideal, salience=salience, weights=weights, capability=capability,
        risk_exponent=r, red_line=red_line, red_low=red_low, red_high=red_high, reservation=reservation,
        red_low_tol=red_low_tol, red_high_tol=red_high_tol,
        room_up=np.minimum(np.minimum(reservation_room, ONE - ideal), red_high - ideal),
        room_down=np.minimum(np.minimum(reservation_room, ideal), ideal - red_low),
        kind=kind, time_power=trade_exponents(salience, package, salience_totals) / exponent[..., None],
        hardliner=choices.hardliner, any_hardliner=choices.any_hardliner, tit_for_tat=choices.tit_for_tat,
        reciprocity=reciprocity[..., None], opening=opening[..., None],
        flexibility=flexibility[..., None], cohesion=cohesion,
        cohesion_matrix=eye - cohesion.sum(axis=-1)[..., None] * eye + cohesion,
        has_cohesion=bool(np.count_nonzero(cohesion)),
        has_red_lines=bool(np.count_nonzero(np.isnan(red_line)) < red_line.size),
        has_tit_for_tat=choices.has_tit_for_tat,
        proposal_weights=normalised_columns(capability[..., None] * salience),
        anchor_rows=choices.anchor_rows, column_sums=choices.column_sums,
        agreeable_low=agreeable_low, agreeable_high=agreeable_high, package_possible=package_possible,
        status_quo=status_quo, disagreement=disagreement, outside=outside, outside_trend=outside_trend,
        has_outside_options=bool(np.count_nonzero(np.isnan(outside)) < outside.size),
        exponent_table=exponent_table,
        disagreement_point=disagreement_point,
        package_table=None if nash is None or not has_nash.any() else np.broadcast_to(nash[..., None, :], ideal.shape),
        package_mask=(has_nash if nash is None and has_nash.size   # (no Nash package: every run masked, uncounted)
                      else None if np.count_nonzero(has_nash) == has_nash.size else has_nash),
        any_package_possible=any_package_possible,
        agreeable_low_table=full(agreeable_low[..., None, :], ideal.shape),
        agreeable_high_table=full(agreeable_high[..., None, :], ideal.shape),
        walk_floor=reservation + SLACK, walk_floor_package=disagreement_point + SLACK,
    )


def nash_packages(ideal: Array, weights: Array, exponent: Array, capability: Array, disagreement: Array,
                  reservation: Array, low: Array, high: Array, possible: NDArray[np.bool_]) -> Array:
    """`bargaining.nash_package` of each run (..., M), NaN for a run without one; runs with the same inputs
    are solved once."""
    lead, n_issues = ideal.shape[:-2], ideal.shape[-1]
    out = np.full((*lead, n_issues), np.nan)
    solved: dict[bytes, Array | None] = {}
    for index in np.ndindex(lead):
        if not possible[index]:
            continue
        args = (ideal[index], weights[index], exponent[index], capability[index], disagreement[index],
                reservation[index], low[index], high[index])
        key = b"".join(np.ascontiguousarray(a).tobytes() for a in args)
        if key not in solved:
            solved[key] = nash_package(*args)
        if solved[key] is not None:
            out[index] = solved[key]
    return out


def normalised_columns(weights: Array) -> Array:
    """Weights scaled to sum to 1 per issue (column); equal weights where a column is all zero."""
    return divided(weights, weights.sum(axis=-2, keepdims=True), 1.0 / weights.shape[-2])


def trade_exponents(salience: Array, package: bool, totals: Array | None = None) -> Array:
    """Per-issue exponent on the time fraction: s_ij / mean_j s_ij under package linkage, 1 otherwise (`totals`:
    the saliences' sums over issues, keepdims, where already at hand)."""
    if not package:
        return np.ones_like(salience)
    totals = salience.sum(axis=-1, keepdims=True) if totals is None else totals
    mean = totals / salience.shape[-1]  # what salience.mean(axis=-1) computes: the same sum, divided by the count
    return divided(salience, mean, 1.0)


def received_concessions(before: Array, after: Array, ideal: Array, capability: Array) -> Array:
    """How far the others came towards each actor's ideal last round, capability-weighted (N, M) (or per
    replicate: offers (R, N, M) -> (R, N, M)).

    entry (i, j) = sum_{k != i} c_k (|before_kj - ideal_ij| - |after_kj - ideal_ij|) / sum_{k != i} c_k
    """
    target = ideal[..., :, None, :]     # [i, k, j]: actor i's ideal against actor k's offer
    gained = np.abs(before[..., None, :, :] - target) - np.abs(after[..., None, :, :] - target)
    others = capability[..., None, :] * (1.0 - np.eye(capability.shape[-1]))
    return (others[..., None] * gained).sum(axis=-2) / others.sum(axis=-1)[..., None]


class OfferStep(NamedTuple):
    """The offers actors `rows` make this round, with the quantities that explain them."""

    offers: Array       # new offers (n, M)
    concession: Array   # distance from ideal towards the proposal
    previous: Array     # concession before this round
    room: Array         # how far the actor could go at most
    gap: Array          # distance from its ideal to the proposal
    direction: Array    # -1, 0, +1: where the proposal lies from its ideal
    intended: Array     # the offers the strategy chose, before noise (what tension answers)
    stuck: NDArray[np.bool_]    # could not move towards the proposal: already at its room or the proposal


def scheduled_fraction(p: Profiles, round_: int | NDArray[np.int_], deadline: int | NDArray[np.int_]) -> Array:
    """The fraction of its room each actor means to have conceded by round t of T (N, M) (deadline (R,): per
    run, (R, N, M); `round_` a column of rounds (K, 1): each of them, (K, R, N, M)).

    Time-dependent kinds: (t/T)^(lambda_ij / e_i); hardliners: f_i t/T. (Tit-for-tat rows are not used.)
    """
    time = round_ / deadline
    if isinstance(time, np.ndarray):
        time = time[..., None, None]
    return fraction_at(p, time)


def fraction_at(p: Profiles, time: float | Array) -> Array:
    """`scheduled_fraction` at the fractions of the time t/T `time`: a number, or an array that broadcasts to the
    profiles' tables (laid out in their shape, `power` takes it as it is)."""
    fraction = power(time, p.time_power)
    if p.any_hardliner:
        fraction = np.where(p.hardliner, p.flexibility * time, fraction)
    return fraction


def next_offers(p: Profiles, offers: Array, proposal: Array, received: Array | None, scheduled: Array,
                first_round: bool, tension_factor: float | Array, open_issues: NDArray[np.bool_] | None,
                jitter: Array | None = None) -> OfferStep:
    """Every actor's next offer, answering `proposal`.

    offers: the standing offers (N, M); proposal: the proposal each actor answers, as a table (N, M) from
    `mechanism.proposal_table` (an (M,) vector broadcasts too, only slower); received: from
    `received_concessions` (needed only when someone plays tit-for-tat); scheduled: this round's row of
    `scheduled_fraction` (N, M); first_round: tit-for-tat opens instead of answering; tension_factor:
    1 - hardening x tension (broadcasting to `scheduled`'s shape), slowing new concessions (the schedule raised to
    1 / factor; tit-for-tat's returns scaled by it); open_issues: (M,) mask, or None when every issue is open;
    jitter: random noise added to the intended concession (N, M), so that noise makes concessions irregular but
    never carries an offer past the actor's room or the proposal.

    Every array here has the table's shape, so each line is one elementwise numpy call (no broadcasting, no
    loops): a round costs microseconds. Sequential activation calls this once per actor and keeps that
    actor's row (the cost is per call, not per element). Lockstep runs (`sim.engine.lockstep`) pass every array with
    a leading replicate axis: offers, proposal, received and jitter (R, N, M), tension_factor (R, 1, 1),
    open_issues (R, 1, M).
    """
    ideal = p.ideal
    delta = proposal - ideal
    direction = np.sign(delta)
    gap = np.abs(delta)
    room = np.where(delta > ZERO, p.room_up, p.room_down)
    conceded = np.maximum((offers - ideal) * direction, ZERO)
    # tension delays concessions (the schedule is raised to 1 / tension_factor) but never stops them: by the
    # deadline an actor can still reach the limit of its room. The exponent, one per run, is laid out in the
    # schedule's shape (`power`'s operands in full) by a copy: a ufunc broadcasting it would cost twice as much
    exponent = full(np.divide(ONE, np.maximum(tension_factor, MIN_FACTOR)), scheduled.shape)
    # (np.power itself: both operands are already full, contiguous float64 tables -- the schedule a row of
    # `scheduled_fraction`'s, the exponent made just above -- which is all `utility.power` would see to)
    planned = np.power(scheduled, exponent) * room
    limit = np.minimum(room, gap)
    tit_for_tat = None
    if received is not None:
        returned = received * p.reciprocity
        tit_for_tat = (p.opening * room * tension_factor if first_round
                       else conceded + np.where(returned > 0, returned * tension_factor, returned))

    def concede(noise: Array | None) -> Array:
        # time-dependent and hardliner: never take back ground. Without noise the targets themselves, not + 0.0
        # (one call less; + 0.0 changes nothing but a -0.0, which leaves the offers ideal + direction x 0 the same)
        target = np.maximum(conceded, planned if noise is None else planned + noise)
        if tit_for_tat is not None:
            target = np.where(p.tit_for_tat, tit_for_tat if noise is None else tit_for_tat + noise, target)
        chosen = np.minimum(target, limit)
        # only tit-for-tat can aim behind its ideal; the others' targets are >= 0
        return chosen if tit_for_tat is None else np.maximum(chosen, ZERO)

    intended = concede(None)
    concession = intended if jitter is None else concede(jitter)
    proposed = ideal + direction * concession
    meant = proposed if jitter is None else ideal + direction * intended
    if open_issues is not None:
        proposed = np.where(open_issues, proposed, offers)
        meant = proposed if jitter is None else np.where(open_issues, meant, offers)
    return OfferStep(proposed, concession, conceded, room, gap, direction, meant, conceded >= limit - HOLD)


def move_reasons(step: OfferStep, p: Profiles, current: Array, open_issues: NDArray[np.bool_]) -> NDArray[np.int_]:
    """Why each actor made the move it made (an index into REASONS), for every actor (N, M)."""
    ideal = p.ideal
    red_room = np.where(step.direction > 0, p.red_high - ideal, ideal - p.red_low)
    moved = np.abs(step.offers - current) > HOLD_EPS
    at_limit = step.concession >= np.minimum(step.room, step.gap) - EPS
    red_line_binds = red_room <= step.room + EPS
    cases = [(~open_issues, AGREED),
             (at_limit & (step.gap <= step.room + EPS), MET),
             (at_limit & red_line_binds, RED_LINE),
             (at_limit, RESERVATION),
             (moved & (step.concession < step.previous - EPS), RETREATED),
             (moved & p.tit_for_tat, RECIPROCATED),
             (moved, CONCEDED)]
    # the first case that holds names the move (np.select's rule), chosen from the last case to the first: the
    # same table at a fifth of np.select's cost on a table this small (recorded every round when collecting)
    reasons = np.full(moved.shape, HELD)
    for holds, reason in reversed(cases):
        reasons = np.where(holds, reason, reasons)
    return reasons


def apply_cohesion(offers: Array, cohesion_matrix: Array) -> Array:
    """Bloc cohesion: x_i <- (1 - sum_k w_ik) x_i + sum_k w_ik x_k, i.e. (I - diag(W 1) + W) X, with the
    matrix from `Profiles.cohesion_matrix`."""
    return cohesion_matrix @ offers


def clip_to_red_lines(x: Array, p: Profiles) -> Array:
    """Pull any offer that crosses its actor's red line back onto the line (no red line: unchanged)."""
    return np.minimum(np.maximum(x, p.red_low), p.red_high)
