"""Analysis over scenarios and outcomes: forecasts, acceptable ranges, ZOPA, Pareto frontier and Nash point
(pure functions)."""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import accumulate

import numpy as np
from numpy.typing import NDArray

from sim.core.strategies import Profiles
from sim.core.utility import EPS, Array, red_line_ok, total_utility


def forecast_weights(capability: Array, salience: Array) -> Array:
    """Weight of each actor on each issue in a forecast: capability x salience, (N, M)."""
    return capability[:, None] * salience


def weighted_mean(x: Array, weights: Array) -> Array:
    """Per issue sum_i w_ij x_ij / sum_i w_ij; the plain mean where all weights are 0."""
    total = weights.sum(axis=0)
    weighted = (weights * x).sum(axis=0)
    if np.count_nonzero(total > 0) == total.size:     # (the plain mean, for issues no one weighs, only where needed)
        return weighted / total
    return np.divide(weighted, total, out=x.mean(axis=0), where=total > 0)


def weighted_median(x: Array, weights: Array) -> Array:
    """Per issue the position at which the cumulative weight (actors sorted by position) first reaches half
    the total; the plain median where all weights are 0 (x: finite positions (N, M), weights (N, M), >= 0)."""
    # issue by issue in plain floats: for a table's few actors a short loop costs less than numpy's stable sort,
    # cumulative sum and fancy indexing (set-up computes this once per model run), with the same numbers: the
    # same stable order, the weights added one by one in that order as np.cumsum adds them
    medians, totals = [], []
    for values, column in zip(x.T.tolist(), weights.T.tolist(), strict=True):
        order = sorted(range(len(values)), key=values.__getitem__)     # stable, as argsort(kind="stable")
        cumulative = list(accumulate(map(column.__getitem__, order)))
        total = cumulative[-1]
        # weights >= 0: the cumulative weights never fall, so the first to reach half is found by bisection (as
        # argmax: the first where none does)
        first = bisect_left(cumulative, 0.5 * total * (1.0 - 1e-12))     # (relative slack for rounding in the sum)
        medians.append(values[order[first if first < len(cumulative) else 0]])
        totals.append(total)
    median = np.array(medians, dtype=float)
    if all(total > 0 for total in totals):  # (np.median, for issues no one weighs, costs more than the rest:
        return median                       # only where needed)
    return np.where(np.array(totals) > 0, median, np.median(x, axis=0))


def acceptable_ranges(p: Profiles) -> tuple[Array, Array]:
    """Per actor and issue the interval [low, high] (normalised) of values the actor would accept on that
    issue alone: within its reservation distance of its ideal and not across its red line."""
    return p.ideal - p.room_down, p.ideal + p.room_up


def zone_of_agreement(low: Array, high: Array) -> tuple[Array, Array, NDArray[np.bool_]]:
    """ZOPA per issue: the intersection of all actors' acceptable ranges; exists where low <= high."""
    zl, zh = low.max(axis=0), high.min(axis=0)
    return zl, zh, zl <= zh


# ====================================================================== bargaining space of two actors
def outcome_grid(n_issues: int, max_points: int = 20_000) -> Array:
    """Every combination of k evenly spaced values in [0, 1] on each of the M issues (normalised units),
    k = max(2, floor(max_points^(1/M))): a (k^M, M) sample of the outcome box [0, 1]^M."""
    if n_issues < 1:
        raise ValueError("need at least one issue")
    k = max(2, int(np.floor(max_points ** (1.0 / n_issues) + 1e-9)))
    axes = np.meshgrid(*([np.linspace(0.0, 1.0, k)] * n_issues), indexing="ij")
    return np.stack([a.ravel() for a in axes], axis=1)


def outcome_utilities(outcomes: Array, p: Profiles, actors: Sequence[int]) -> Array:
    """Utility of each outcome x (rows of `outcomes`, (K, M), normalised) to each of `actors`, (K, len(actors)):
    U_i(x) = 1 - sum_j w_ij |x_j - ideal_ij|^r_i, the same salience-weighted utility the model uses."""
    return np.stack([total_utility(outcomes, p.ideal[i], p.weights[i], p.risk_exponent[i:i + 1]) for i in actors],
                    axis=1)


def acceptable_outcomes(outcomes: Array, p: Profiles, actors: Sequence[int], red_lines: bool = True,
                        ) -> NDArray[np.bool_]:
    """(K,): outcomes every one of `actors` could accept: U_i(x) >= R_i (its reservation utility) and, if
    `red_lines`, red_low_ij <= x_j <= red_high_ij on every issue j (no red line crossed)."""
    ok = np.ones(len(outcomes), dtype=bool)
    utilities = outcome_utilities(outcomes, p, actors)
    for column, i in enumerate(actors):
        ok &= utilities[:, column] >= p.reservation[i] - EPS
        if red_lines:
            ok &= red_line_ok(outcomes, p.red_low[i], p.red_high[i]).all(axis=1)
    return ok


def pareto_front(utilities: Array) -> NDArray[np.bool_]:
    """(K,): the rows of a (K, 2) utility table that no other row dominates (both columns maximised).

    Row k is dominated when some row l has u_l >= u_k in both columns and > in one. Sorting by the first
    column (descending, ties by the second descending), row k is non-dominated iff its second utility
    exceeds the running maximum of the second utility over the rows before it; duplicates keep one copy.
    """
    u = np.asarray(utilities, dtype=float)
    if u.ndim != 2 or u.shape[1] != 2:
        raise ValueError("pareto_front takes a (K, 2) array of two actors' utilities")
    front = np.zeros(len(u), dtype=bool)
    if len(u) == 0:
        return front
    order = np.lexsort((-u[:, 1], -u[:, 0]))
    second = u[order, 1]
    best_before = np.concatenate(([-np.inf], np.maximum.accumulate(second)[:-1]))
    front[order] = second > best_before + EPS
    return front


def nash_bargaining(utilities: Array, disagreement: Array, feasible: NDArray[np.bool_] | None = None,
                    ) -> int | None:
    """Index of the Nash bargaining solution among the rows of a (K, n) utility table, or None.

    x* = argmax over feasible x with U_i(x) >= d_i of  prod_i (U_i(x) - d_i)   (Nash 1950),
    where d_i is actor i's disagreement payoff (its reservation utility). None when no feasible outcome
    leaves every actor at least its disagreement payoff.
    """
    u = np.asarray(utilities, dtype=float)
    gains = u - np.asarray(disagreement, dtype=float)[None, :]
    ok = (gains >= -EPS).all(axis=1)
    if feasible is not None:
        ok &= feasible
    if not ok.any():
        return None
    product = np.where(ok, np.prod(np.maximum(gains, 0.0), axis=1), -np.inf)
    return int(np.argmax(product))


@dataclass(frozen=True)
class BargainingSpace:
    """Two actors' utilities over a sample of the outcome space (normalised units)."""

    actors: tuple[int, int]
    outcomes: Array                 # (K, M) sampled outcomes, normalised
    utilities: Array                # (K, 2) U_a(x), U_b(x)
    feasible: NDArray[np.bool_]     # (K,) acceptable to both (see `acceptable_outcomes`)
    frontier: NDArray[np.bool_]     # (K,) Pareto-optimal among all sampled outcomes
    disagreement: Array             # (2,) reservation utilities
    nash: int | None                # row of the Nash bargaining solution (among feasible outcomes), or None


def bargaining_space(p: Profiles, a: int, b: int, max_points: int = 20_000,
                     red_lines: bool = True) -> BargainingSpace:
    """Sample the outcome box (plus both actors' ideal points), compute both actors' utilities, the Pareto
    frontier and the Nash bargaining solution over the outcomes acceptable to both."""
    outcomes = np.vstack([outcome_grid(p.ideal.shape[1], max_points), p.ideal[[a, b]]])
    utilities = outcome_utilities(outcomes, p, (a, b))
    feasible = acceptable_outcomes(outcomes, p, (a, b), red_lines=red_lines)
    disagreement = p.reservation[[a, b]].astype(float)
    return BargainingSpace(actors=(a, b), outcomes=outcomes, utilities=utilities, feasible=feasible,
                           frontier=pareto_front(utilities), disagreement=disagreement,
                           nash=nash_bargaining(utilities, disagreement, feasible))
