"""Round rules of the concession mechanism: the standing proposal, acceptance, agreement, tension, outcome.

Pure functions over normalised (actors x issues) arrays; the model calls them once per round.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from sim.strategies import HOLD_EPS, Profiles
from sim.utility import EPS, Array, issue_utilities, total_utility, within

OUTCOMES: tuple[str, ...] = ("agreement", "partial", "stalemate", "breakdown")


def proposal_table(offers: Array, p: Profiles) -> Array:
    """The proposal on the table, y_j = sum_i w_ij x_ij with w the capability x salience weights normalised per
    issue (the plain mean on an issue no one cares about), repeated in every row (N, M): each actor answers
    it, and in the table's own shape it meets the offers elementwise, without broadcasting.

    It is measured from the first actor's offer (y = x_0 + sum_i w_i (x_i - x_0)), so identical offers give
    exactly that value, with no rounding.
    """
    anchor = offers.take(p.anchor_rows, axis=0)
    return anchor + np.dot(p.column_sums, p.proposal_weights * (offers - anchor))


def issue_acceptance(proposal: Array, offers: Array, p: Profiles, tolerance: float) -> NDArray[np.bool_]:
    """(N, M): actor i accepts the proposal on issue j alone when it is within `tolerance` of its own offer,
    does not cross its red line and gives it at least its reservation utility on that issue."""
    close = np.abs(proposal - offers) <= tolerance + EPS
    worth_it = issue_utilities(proposal, p.ideal, p.risk_exponent) >= p.reservation[:, None] - EPS
    return close & worth_it & within(proposal, p.red_low_tol, p.red_high_tol)


def package_acceptance(proposal: Array, offers: Array, p: Profiles, tolerance: float) -> NDArray[np.bool_]:
    """(N,): actor i accepts the whole package when it crosses none of its red lines, is worth at least its
    reservation utility, and is worth at least as much as its own offer less `tolerance` (so it trades: a
    loss on one issue is made up by a gain on another)."""
    lines_ok = within(proposal, p.red_low_tol, p.red_high_tol).all(axis=1)
    value = total_utility(proposal, p.ideal, p.weights, p.risk_exponent)
    own = total_utility(offers, p.ideal, p.weights, p.risk_exponent)
    return lines_ok & (value >= p.reservation - EPS) & (value >= own - tolerance - EPS)


def package_agreed(proposal: Array, offers: Array, p: Profiles, tolerance: float) -> bool:
    """Every actor accepts the package (see `package_acceptance`); proposal (M,) or its table (N, M)."""
    if not p.package_possible:
        return False  # the red lines exclude each other on some issue: no package can pass them all
    if not within(proposal, p.agreeable_low, p.agreeable_high).all():
        return False  # someone's red line is crossed: spare the utilities (the common case in deadlock)
    return bool(package_acceptance(proposal, offers, p, tolerance).all())


def round_movement(before: Array, after: Array, proposal: Array,
                   open_issues: NDArray[np.bool_] | None, tolerance: float) -> tuple[float, float]:
    """What the actors chose to do this round: (mean concession, share of actors that held firm).

    An actor's concession on an issue is how much closer its offer came to the proposal it answered
    (`proposal`: (M,) or its (N, M) table); the mean runs over actors x open issues (`open_issues` None: all
    open). An actor held firm when, on some open issue on which it still stood further than `tolerance` from
    the proposal, it conceded nothing (or retreated).
    """
    gap_after = np.abs(after - proposal)
    moved = np.abs(before - proposal) - gap_after
    if open_issues is not None:
        if not open_issues.any():
            return 0.0, 0.0
        gap_after, moved = gap_after[:, open_issues], moved[:, open_issues]
    held = (gap_after > tolerance) & (moved < HOLD_EPS)
    mean_concession = float(np.maximum(moved, 0.0).sum()) / moved.size
    return mean_concession, np.count_nonzero(held.any(axis=1)) / len(held)


def next_tension(tension: float, mean_move: float, held_share: float, de_escalations: int,
                 drift: float, deadlock_rate: float, hardline_rate: float, concession_relief: float,
                 agreement_relief: float) -> float:
    """T' = clip(T + drift + a [no concession] + b held_share - c mean_concession - d de_escalations, 0, 1)."""
    deadlock = 1.0 if mean_move < HOLD_EPS else 0.0
    change = (drift + deadlock_rate * deadlock + hardline_rate * held_share
              - concession_relief * mean_move - agreement_relief * de_escalations)
    return min(1.0, max(0.0, float(tension + change)))


def classify(agreed: NDArray[np.bool_], broke_down: bool) -> str:
    """breakdown if tension crossed the threshold; else agreement (all issues), partial (some), stalemate."""
    if broke_down:
        return "breakdown"
    if agreed.all():
        return "agreement"
    return "partial" if agreed.any() else "stalemate"


def outcome_utility(values: Array, settled: NDArray[np.bool_], p: Profiles) -> Array:
    """Each actor's utility of the outcome: u_ij(value_j) on settled issues, its reservation utility (the
    disagreement payoff) on the others, weighted by salience."""
    per_issue = np.where(settled, issue_utilities(values, p.ideal, p.risk_exponent), p.reservation[:, None])
    return (p.weights * per_issue).sum(axis=1)
