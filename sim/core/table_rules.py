"""Round rules of the concession mechanism: the standing proposal, acceptance, agreement, tension, outcome.

Pure functions over normalised (actors x issues) arrays; the model calls them once per round. Every rule also
takes a leading replicate axis (R, N, M) — many runs of one scenario played in lockstep (`sim.engine.lockstep`) — and
computes each replicate exactly as it would alone: the operations are elementwise, or reduce each run's own
actors and issues as they would be reduced alone, never across replicates.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numpy.typing import NDArray

from sim.core.bargaining import best_deal_left, outside_options, walking_away
from sim.core.strategies import HOLD, Profiles, apply_cohesion, clip_to_red_lines
from sim.core.utility import EPS, ONE, ZERO, Array, issue_utilities, total_utility, within
from sim.core.voting import RuleArrays, passes

OUTCOMES: tuple[str, ...] = ("agreement", "partial", "stalemate", "breakdown")
AGREEMENT, PARTIAL, STALEMATE, BREAKDOWN = range(len(OUTCOMES))


def proposal_table(offers: Array, p: Profiles) -> Array:
    """The proposal on the table, repeated in every row (N, M): each actor answers it, and in the table's own
    shape it meets the offers elementwise, without broadcasting.

    Under package linkage it is the Nash package (`bargaining.nash_package`: a single negotiating text that
    trades across issues by salience, with the status quo as disagreement point), the same every round.
    Otherwise (or when no package beats the status quo for everyone) it follows the offers:
    y_j = sum_i w_ij x_ij with w the capability x salience weights normalised per issue (the plain mean on an
    issue no one cares about), measured from the first actor's offer (y = x_0 + sum_i w_i (x_i - x_0)) so that
    identical offers give exactly that value, with no rounding.
    """
    if p.package_table is not None and p.package_mask is None:
        return p.package_table if p.package_table.shape == offers.shape else np.broadcast_to(p.package_table,
                                                                                             offers.shape)
    anchor = offers.take(p.anchor_rows, axis=-2)
    table = anchor + p.column_sums @ (p.proposal_weights * (offers - anchor))
    if p.package_table is None or p.package_mask is None:   # (no mask with a table: returned above)
        return table
    return np.where(p.package_mask[..., None, None], p.package_table, table)  # runs with a package, runs without


def issue_acceptance(proposal: Array, offers: Array, p: Profiles, tolerance: float | Array) -> NDArray[np.bool_]:
    """(N, M): actor i accepts the proposal on issue j alone when it is within `tolerance` of its own offer,
    does not cross its red line and gives it at least its reservation utility on that issue."""
    close = np.abs(proposal - offers) <= tolerance + EPS
    worth_it = issue_utilities(proposal, p.ideal, p.risk_exponent) >= p.reservation[..., None] - EPS
    return close & worth_it & within(proposal, p.red_low_tol, p.red_high_tol)


def package_acceptance(proposal: Array, offers: Array, p: Profiles, tolerance: float | Array) -> NDArray[np.bool_]:
    """(N,): actor i accepts the whole package when it crosses none of its red lines, is worth at least its
    reservation utility, and is worth at least as much as its own offer less `tolerance` (so it trades: a
    loss on one issue is made up by a gain on another). Per run: `tolerance` (R, 1, 1) or its (R, N, M) table."""
    if isinstance(tolerance, np.ndarray) and tolerance.ndim == 3:
        tolerance = tolerance[..., 0]
    lines_ok = within(proposal, p.red_low_tol, p.red_high_tol).all(axis=-1)
    value = total_utility(proposal, p.ideal, p.weights, p.risk_exponent)
    own = total_utility(offers, p.ideal, p.weights, p.risk_exponent)
    return lines_ok & (value >= p.reservation - EPS) & (value >= own - tolerance - EPS)


def package_agreed(proposal: Array, offers: Array, p: Profiles, tolerance: float | Array,
                   rule: RuleArrays | None = None) -> bool | NDArray[np.bool_]:
    """The package passes (see `package_acceptance`): a bool, or one per replicate (R,); the proposal as its
    table (N, M) (or an (M,) vector) or tables (R, N, M). Under unanimity (`rule` None or every actor needed)
    every actor accepts it; otherwise, on every issue, the actors accepting the whole package carry the issue's
    rule (`decision_rules.passes`). False (for every replicate) where no run's red lines leave a package."""
    if rule is not None and not rule.everyone_must_accept:
        # a majority can pass a package across a minority's red line: no unanimity shortcut applies
        accepts = package_acceptance(proposal, offers, p, tolerance)
        carried = passes(np.broadcast_to(accepts[..., None], (*accepts.shape, p.ideal.shape[-1])), rule)
        return carried.all(axis=-1) if carried.ndim > 1 else bool(carried.all())
    if not p.any_package_possible:  # the red lines exclude each other on some issue: no package passes them
        return False
    # someone's red line is crossed: spare the utilities (the common case in deadlock)
    if proposal.ndim > 1:
        # (the ufunc's own reduction: ndarray.all's wrapper costs as much again on a table this small)
        agreeable = np.logical_and.reduce(within(proposal, p.agreeable_low_table, p.agreeable_high_table),
                                          axis=(-2, -1))
    else:
        agreeable = within(proposal, p.agreeable_low, p.agreeable_high).all(axis=-1)
    if not np.count_nonzero(agreeable):
        return agreeable
    return agreeable & package_acceptance(proposal, offers, p, tolerance).all(axis=-1)


def settled_issues(proposal: Array, offers: Array, open_issues: NDArray[np.bool_], p: Profiles,
                   tolerance: float | Array, package: bool, rule: RuleArrays | None = None
                   ) -> NDArray[np.bool_] | None:
    """The open issues settled this round (M,) (or (R, M)): under package linkage all of them when the package
    passes (`package_agreed`), otherwise each issue whose accepting actors carry it under its rule
    (`decision_rules.passes`; `rule` None: every actor must accept). None where no package passes in any run (most
    rounds under package linkage: nothing settled, and no array made for it)."""
    if package:
        agreed = package_agreed(proposal, offers, p, tolerance, rule)
        if agreed is False or not np.count_nonzero(agreed):     # (False: no package possible, without counting)
            return None
        return open_issues & np.asarray(agreed)[..., None]
    return open_issues & passes(issue_acceptance(proposal, offers, p, tolerance), rule)


class Settlement(NamedTuple):
    """The table after closing the issues settled this round."""

    offers: Array               # every offer on a settled issue is its agreed value
    agreed_value: Array         # (M,) NaN while open
    agreed_round: NDArray[np.int_]  # (M,) -1 while open
    open_issues: NDArray[np.bool_]
    de_escalations: NDArray[np.int_] | None  # how many de-escalating issues (CBMs) were settled (None: no issue was)


def settle(settled: NDArray[np.bool_] | None, values: Array, round_: int, offers: Array, agreed_value: Array,
           agreed_round: NDArray[np.int_], open_issues: NDArray[np.bool_],
           de_escalating: NDArray[np.bool_]) -> Settlement:
    """Close the issues `settled` (M,) at `values` (M,) in round `round_` (or per replicate: (R, M)); `settled`
    None: none (`settled_issues`)."""
    if settled is None or not np.count_nonzero(settled):    # most rounds settle nothing: the table stays as it is,
        # with no array operations (count_nonzero: a bool without .any()'s reduction machinery, asked every round)
        return Settlement(offers, agreed_value, agreed_round, open_issues, None)
    return Settlement(
        offers=np.where(settled[..., None, :], values[..., None, :], offers),
        agreed_value=np.where(settled, values, agreed_value),
        agreed_round=np.where(settled, round_, agreed_round),
        open_issues=open_issues & ~settled,
        de_escalations=(settled & de_escalating).sum(axis=-1))


def respond(before: Array, own: Array, proposal: Array, open_issues: NDArray[np.bool_] | None, p: Profiles,
            tolerance: float | Array, keep_own: NDArray[np.bool_] | None = None, intended: Array | None = None,
            stuck: NDArray[np.bool_] | None = None) -> tuple[Array, Array, Array]:
    """The table once every actor has made its own offer `own`: (offers, mean concession, share that held firm).

    How far the actors moved is measured on the offers they meant to make (`intended`, before noise; default
    `own`) with `stuck` marking those that could not move (`round_movement`: tension answers what they chose to
    do); then bloc cohesion pulls allies together and red lines hold. Rows in `keep_own` (N,) (people's seats)
    keep their own offers; settled issues (not in `open_issues`; None: all open) keep their values.
    """
    mean_move, held = round_movement(before, own if intended is None else intended, proposal, open_issues,
                                     tolerance, stuck)
    offers = own
    if p.has_cohesion:
        offers = apply_cohesion(offers, p.cohesion_matrix)
    if p.has_red_lines:
        offers = clip_to_red_lines(offers, p)
    if keep_own is not None:
        offers = np.where(keep_own[:, None], own, offers)
    if open_issues is not None:
        offers = np.where(open_issues[..., None, :], offers, before)
    return offers, mean_move, held


def round_movement(before: Array, after: Array, proposal: Array,
                   open_issues: NDArray[np.bool_] | None, tolerance: float | Array,
                   stuck: NDArray[np.bool_] | None = None) -> tuple[Array, Array]:
    """What the actors chose to do this round: (mean concession, share of actors that held firm), numbers for
    one run, arrays (R,) for many (a single run with its run axis: the mean (1,), the share a number).

    An actor's concession on an issue is how much closer its offer came to the proposal it answered
    (`proposal`: (M,) or its (N, M) table); the mean runs over actors x open issues (`open_issues` (M,) or
    (R, M), or None: all open). An actor held firm when, on some open issue on which it still stood further than
    `tolerance` from the proposal, it conceded nothing (or retreated) though it could (not `stuck` (N, M) at
    its red line, reservation level or the proposal): standing at a limit is not holding out.
    """
    gap_after = np.abs(after - proposal)
    moved = np.abs(before - proposal) - gap_after
    held = (gap_after > tolerance) & (moved < HOLD)
    if stuck is not None:
        held = np.greater(held, stuck)      # held and not stuck (on bools a > b is a & ~b: one call, not two)
    gained = np.maximum(moved, ZERO)
    n_actors, n_issues = moved.shape[-2:]
    if open_issues is not None:
        mask = open_issues[..., None, :]
        gained, held = np.where(mask, gained, 0.0), held & mask
    # each run's N x M block summed as one contiguous run of numbers, as it would be alone (the ufuncs' reductions:
    # what ndarray.sum and .any call, without their wrappers)
    total = np.add.reduce(gained, axis=(-2, -1))
    held_actors = np.logical_or.reduce(held, axis=-1)
    # one run (with or without its run axis): a plain count and a number; counts are exact whichever way they are made
    held_share = (np.count_nonzero(held_actors) if held_actors.ndim == 1 or len(held_actors) == 1
                  else np.add.reduce(held_actors, axis=-1)) / n_actors
    if open_issues is None:
        return total / (n_actors * n_issues), held_share
    cells = open_issues.sum(axis=-1) * n_actors
    return np.divide(total, cells, out=np.zeros_like(total), where=cells > 0), held_share


def next_tension(tension: Array, mean_move: Array, held_share: Array,
                 de_escalations: Array | NDArray[np.int_] | int | None, deadlock_rate: float | Array,
                 hardline_rate: float | Array, concession_relief: float | Array,
                 agreement_relief: float | Array) -> Array:
    """T' = clip(T + a [no concession] + b held_share - c mean_concession - d de_escalations, 0, 1), one per run:
    derived from what the actors did, so conceding more never raises it (each term is non-increasing in every
    concession). `de_escalations` None: no issue was settled (the term is 0: the rates are finite and >= 0, the
    schema's bounds, so d x 0 is 0.0, and subtracting 0.0 leaves the sum as it is; the rounds that settle nothing
    spare the two calls)."""
    deadlock = np.less(mean_move, HOLD)     # where no one conceded (1.0 in the product, as bools multiply)
    change = deadlock_rate * deadlock + hardline_rate * held_share - concession_relief * mean_move
    if de_escalations is not None:
        change = change - agreement_relief * de_escalations
    return np.minimum(ONE, np.maximum(ZERO, tension + change))


def walkouts(p: Profiles, offers: Array, factor: float | Array, round_: int,
             open_issues: NDArray[np.bool_], agreed_value: Array, package: bool, outside: Array | None = None
             ) -> tuple[NDArray[np.bool_], Array, Array]:
    """Which actors leave the table after round `round_` (N,) (or (R, N)): those whose outside option now beats
    the best deal every actor, itself included, could still accept (within its own red lines and reservation
    utility), or the status quo where none remains (`bargaining.best_deal_left`; the others' room shrinks by the
    tension factor 1 - hardening x tension (a number, or (R, 1, 1)), as their strategies' concessions do).
    Returns (leaving, outside options, best deals left).

    The best deal left is never below what no deal is worth to the actor (its disagreement point while every issue
    is open under package linkage, else its reservation utility), so a round in which no outside option beats
    that leaves no one walking, whatever the best deal: its best deals are then not computed (NaN; most rounds).
    `outside`: this round's outside options where `outside_now` has already found that one of them beats no deal
    (the round's own check: not made again)."""
    if outside is None:
        outside, could_walk = outside_now(p, outside_options(p.outside, p.outside_trend, round_),
                                          np.count_nonzero(open_issues) == open_issues.size, package)
        if not could_walk:
            return np.zeros(offers.shape[:-1], dtype=bool), outside, np.full(offers.shape[:-1], np.nan)
    best = best_deal_left(p.ideal, offers, p.room_up, p.room_down, factor, p.weights, p.exponent_table,
                          p.disagreement, open_issues, agreed_value, package, p.red_low, p.red_high, p.reservation,
                          p.disagreement_point)
    return walking_away(outside, best), outside, best


def outside_now(p: Profiles, outside: Array, every_open: bool, package: bool) -> tuple[Array, bool]:
    """(each actor's outside option this round (`bargaining.outside_options`), whether any of them beats what no
    deal is worth to its actor): where none does, no one walks away this round, whatever the best deal left
    (`walkouts`). `every_open`: no issue is settled yet, in any run."""
    floor = p.walk_floor_package if package and every_open else p.walk_floor
    # NaN (no outside option) never walks
    return outside, bool(np.count_nonzero(np.greater(outside, floor)))


def round_end(walked: NDArray[np.bool_], round_: int, deadline: int | NDArray[np.int_],
              open_issues: NDArray[np.bool_], every_open: bool = False) -> tuple[NDArray[np.bool_], NDArray[np.bool_]]:
    """(the talks are over, they broke down), one per run (R,): someone walked away (`walked` (R,)), the deadline
    came or every issue is settled. Within a round settlement comes first (`open_issues` are those still open
    after this round's settlement): the talks break down only when someone walked away while an issue was still
    open, so a round that settles the last issue is an agreement even if someone would have walked.
    `every_open`: every issue of every run is open (the caller's count; most rounds)."""
    if every_open:  # an issue is open in every run: what follows, without reducing `open_issues` (walked & True)
        return walked | (round_ >= deadline), walked
    still_open = np.logical_or.reduce(open_issues, axis=-1)
    # over: broke down, or nothing is open, or the deadline came; (walked & open) | ~open is walked | ~open, which on
    # bools is walked >= open (one call for three)
    return np.greater_equal(walked, still_open) | (round_ >= deadline), walked & still_open


def outcome_codes(agreed: NDArray[np.bool_], broke_down: NDArray[np.bool_] | bool) -> NDArray[np.int_]:
    """Index into OUTCOMES, the one classification of every engine and interface; `agreed` (M,) or (R, M):
    agreement iff every issue is agreed; otherwise breakdown iff someone walked away (necessarily while an issue
    was open); otherwise partial (some issues agreed) or stalemate (none)."""
    # (the ufuncs' reductions: what .all and .any call, without their wrappers)
    everything, some = np.logical_and.reduce(agreed, axis=-1), np.logical_or.reduce(agreed, axis=-1)
    return np.where(everything, AGREEMENT, np.where(broke_down, BREAKDOWN, np.where(some, PARTIAL, STALEMATE)))


def classify(agreed: NDArray[np.bool_], broke_down: bool) -> str:
    """The outcome's name (see `outcome_codes`)."""
    return OUTCOMES[int(outcome_codes(agreed, broke_down))]


def outcome_utility(values: Array, settled: NDArray[np.bool_], p: Profiles) -> Array:
    """Each actor's utility of the outcome: u_ij(value_j) on settled issues, its disagreement utility (the
    status quo's, or its reservation utility where the issue has none) on the others, weighted by salience."""
    settled, values = settled[..., None, :], values[..., None, :]   # (M,) or per replicate (R, M)
    # (the exponents already laid out per issue: the same powers of the same full operands)
    per_issue = np.where(settled, issue_utilities(values, p.ideal, p.exponent_table), p.disagreement)
    return np.add.reduce(p.weights * per_issue, axis=-1)     # (`.sum`'s reduction, without its wrapper)
