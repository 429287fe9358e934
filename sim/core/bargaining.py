"""Bargaining theory for the concession mechanism: the disagreement point, the Nash package, walking away.

Pure functions over normalised arrays (positions in [0, 1] per issue; N actors x M issues; a leading
replicate axis where noted).

- Disagreement point: what each actor gets if nothing is agreed, d_ij = u_ij(status quo_j) on issues with a
  status quo, its reservation utility on the others.
- The Nash package (Nash 1950; asymmetric form, Kalai 1977): the package on the table under package linkage,
  x* = argmax_x sum_i c_i log(U_i(x) - D_i) over the packages that cross no red line and leave every actor
  better off than the status quo (D_i = sum_j w_ij d_ij, at least the reservation utility; c_i capabilities).
  It trades across issues by salience (each actor gets more on what it cares about most), and no other package
  is better for everyone: it is Pareto-optimal.
- Walking away (the bargaining model of war: Fearon 1995, Powell 2006): an actor leaves the table once its
  outside option beats the best deal still in the bargaining range: the best deal every actor, itself included,
  could still accept, or no deal (the status quo) where none remains. What the others could still accept on an
  issue is the range they have conceded or could still concede (their room, less what tension takes: the
  strategies' own limits); what the actor itself could accept stops at its own red lines and reservation
  utility; on a settled issue it is the agreed value.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

import numpy as np
from numpy.typing import NDArray

from sim.core.utility import EPS, SLACK, Array, constant, issue_utilities, power

CANDIDATES = 256
"""Start points of the Nash package search: a fixed (unscrambled) Sobol set over the agreeable box."""


def disagreement_utilities(status_quo: Array, ideal: Array, exponent: Array, reservation: Array,
                           exponent_table: Array | None = None) -> Array:
    """(N, M): each actor's utility of no agreement on each issue: u_ij(status quo_j), or its reservation
    utility where the issue has no status quo (NaN). status_quo (M,), exponent and reservation (N,), each
    with the same leading run axes, if any; `exponent_table`: the exponents laid out per issue (N, M), where at
    hand (the numbers `power` lays out itself otherwise)."""
    exponents = exponent if exponent_table is None else exponent_table
    missing = np.isnan(status_quo)
    if not np.count_nonzero(missing):   # every issue has a status quo: no reservation utility to put in its place
        return issue_utilities(status_quo[..., None, :], ideal, exponents)
    has = ~missing
    value = issue_utilities(np.where(has, status_quo, 0.0)[..., None, :], ideal, exponents)
    return np.where(has[..., None, :], value, reservation[..., None])


def package_utilities(x: Array, ideal: Array, weights: Array, exponent: Array) -> Array:
    """U_i(x) for candidate packages x (K, M) -> (K, N)."""
    distance = power(np.abs(x[:, None, :] - ideal[None]), exponent.reshape(1, -1, 1))
    return 1.0 - (weights[None] * distance).sum(axis=-1)


def nash_package(ideal: Array, weights: Array, exponent: Array, capability: Array, disagreement: Array,
                 reservation: Array, low: Array, high: Array) -> Array | None:
    """The asymmetric Nash bargaining package (M,) within the box [low, high] (the values no red line
    excludes, clipped to the scale), with disagreement point D_i = max(sum_j w_ij d_ij, R_i): the status quo
    (`disagreement` (N, M)), but never less than the actor's reservation utility R_i, below which it accepts
    nothing. None when no package in the box gives every actor more than that, or the box is empty.

    Search: the Nash product at a fixed Sobol set of packages, then a bounded quasi-Newton refinement
    (L-BFGS-B) from the best of them; deterministic.
    """
    from scipy.optimize import minimize  # here: the schema (light commands) imports this module's callers
    from scipy.stats import qmc

    low, high = np.clip(low, 0.0, 1.0), np.clip(high, 0.0, 1.0)
    if (low > high).any():
        return None
    # the actors in a canonical order, so that the floating-point search does not depend on the file's order
    order = np.lexsort(np.column_stack([ideal, weights, exponent, capability, disagreement, reservation]).T[::-1])
    ideal, weights, exponent, capability = ideal[order], weights[order], exponent[order], capability[order]
    disagreement, reservation = disagreement[order], reservation[order]
    base = np.maximum((weights * disagreement).sum(axis=1), reservation)
    # only capability ratios matter; rounded so that scaling them all leaves the search's numbers unchanged
    power = np.round(capability / capability.sum(), 12)
    n_issues = len(low)
    unit = qmc.Sobol(d=n_issues, scramble=False).random(CANDIDATES) if n_issues > 0 else np.zeros((1, 0))
    mean = (power[:, None] * ideal).sum(axis=0)
    # the compromise (capability-weighted mean) first: where the Nash product is flat (a ridge of equally good
    # packages, as with equal saliences) the first best candidate, the compromise, is kept
    candidates = np.vstack([np.clip(mean, low, high), np.clip(ideal, low, high), (low + high) / 2.0,
                            low + unit * (high - low)])

    def log_product(gain: Array) -> Array:
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where((gain > EPS).all(axis=-1), (power * np.log(np.maximum(gain, EPS))).sum(axis=-1),
                            -np.inf)

    values = log_product(package_utilities(candidates, ideal, weights, exponent) - base)
    best = int(np.argmax(values))
    if not np.isfinite(values[best]):
        return None

    exponents = np.ascontiguousarray(np.broadcast_to(exponent[:, None], ideal.shape))

    def objective(x: Array) -> float:
        # `package_utilities(x[None], ...)[0] - base` without its candidate axis: the same operations on the same
        # numbers (a power of two full arrays, each row summed alone), in fewer calls (the search calls it often)
        gain = 1.0 - (weights * np.power(np.abs(x - ideal), exponents)).sum(axis=-1) - base
        return float(-(power * np.log(np.maximum(gain, 1e-12))).sum())

    start = candidates[best]
    if n_issues and (high > low).any():
        with one_blas_thread():     # L-BFGS-B's tiny BLAS calls: waking BLAS threads costs more than the search
            refined = minimize(ForwardDifferences(objective, low, high), start, jac=True, method="L-BFGS-B",
                               bounds=list(zip(low, high, strict=True)),
                               options={"ftol": 1e-15, "gtol": 1e-12, "maxiter": 500})
        x = np.clip(refined.x, low, high)
        if np.isfinite(log_product(package_utilities(x[None], ideal, weights, exponent) - base)[0]) and \
                objective(x) < objective(start) - 1e-12:
            start = x
        start = _snap_to_kinks(start, objective, np.vstack([ideal, low[None], high[None]]))
    return start


FD_STEP = 1e-8
"""L-BFGS-B's finite-difference step (scipy's default `eps`)."""


class ForwardDifferences:
    """`objective` and its gradient by forward differences within the bounds [low, high] (for `jac=True`): exactly
    the numbers scipy's L-BFGS-B computes when given no gradient (`scipy.optimize._numdiff.approx_derivative`,
    '2-point', absolute step `FD_STEP`, turned back where a step would leave the bounds), so the search takes the
    same path, without the generic machinery around each difference, which cost most of a solve.

    The objective's analytic gradient would be cheaper still, but its cusps (|x - ideal|^r with r < 1 at an
    actor's ideal) make L-BFGS-B stop elsewhere than it does with these differences: packages up to 0.05 apart
    on the shipped scenarios without red lines."""

    def __init__(self, objective: Callable[[Array], float], low: Array, high: Array) -> None:
        self.objective, self.low, self.high = objective, low, high
        self.bounded = not bool(np.all(np.isinf(low) & np.isinf(high)))

    def __call__(self, x0: Array) -> tuple[float, Array]:
        objective, low, high = self.objective, self.low, self.high
        f0 = objective(x0)
        h = np.full(x0.shape, FD_STEP)
        sign = (x0 >= 0).astype(x0.dtype) * 2 - 1
        h = np.where((x0 + h) - x0 == 0, _REL_STEP * sign * np.maximum(1.0, np.abs(x0)), h)
        if self.bounded:     # scipy's `_adjust_scheme_to_bounds`, one-sided, one step
            lower, upper = x0 - low, high - x0
            x = x0 + h
            fitting = np.abs(h) <= np.maximum(lower, upper)
            h[((x < low) | (x > high)) & fitting] *= -1
            forward, backward = (upper >= lower) & ~fitting, (upper < lower) & ~fitting
            h[forward] = upper[forward]
            h[backward] = -lower[backward]
        gradient = np.empty(x0.shape)
        for i in range(len(x0)):
            x1 = x0.copy()
            x1[i] = x0[i] + h[i]
            gradient[i] = (objective(x1) - f0) / ((x0[i] + h[i]) - x0[i])
        return f0, gradient


_REL_STEP = float(np.finfo(np.float64).eps ** 0.5)


@cache
def _blas() -> Any:
    from threadpoolctl import ThreadpoolController  # here: it reads every loaded library once

    return ThreadpoolController()


def one_blas_thread() -> Any:
    """A context in which BLAS runs on one thread: the Nash package's search makes ~100 BLAS calls on vectors of
    a few numbers, and waking the BLAS threads for each cost most of a solve (the same numbers either way)."""
    return _blas().limit(limits=1, user_api="blas")


def _snap_to_kinks(x: Array, objective, kinks: Array, reach: float = 1e-4) -> Array:
    """Move each coordinate onto a kink of the objective (an actor's ideal or a bound of the box) within `reach`
    when that is better: the optimum often lies on one, where a quasi-Newton search stops a little
    short, and where it stops would depend on the actors' order. Kinks are tried in sorted order, so the
    result does not."""
    x = x.copy()
    for j in range(len(x)):
        for value in np.unique(kinks[:, j]):
            if abs(value - x[j]) <= reach:
                trial = x.copy()
                trial[j] = value
                if objective(trial) < objective(x):
                    x = trial
    return x


def others_extreme(values: Array) -> Array:
    """For each actor i, the largest of the other actors' values: (..., N, M) -> (..., N, M)."""
    ordered = np.sort(values, axis=-2)
    first, second = ordered[..., -1:, :], ordered[..., -2:-1, :]
    return np.where(values >= first, second, first)


NO_DEAL = constant(-np.inf)
"""A package the actor refuses, before its disagreement point is put in its place (`best_deal_left`)."""


def best_deal_left(ideal: Array, offers: Array, room_up: Array, room_down: Array, tension_factor: Array | float,
                   weights: Array, exponent: Array, disagreement: Array, open_issues: NDArray[np.bool_],
                   agreed_value: Array, package: bool, red_low: Array | None = None, red_high: Array | None = None,
                   reservation: Array | None = None, no_deal_point: Array | None = None) -> Array:
    """b_i: the most actor i can still get from the talks, (N,) (or (R, N) with a replicate axis): the best deal
    that every actor, i itself included, could still accept; where none remains, no deal (the status quo).

    Each other actor k could still accept, on an open issue j, the values between its ideal and the furthest
    it has conceded or could still concede: its room scaled by this round's tension factor (the strategies'
    own limit). Actor i itself accepts nothing past its own red lines (`red_low`, `red_high` (N, M); None: none)
    and nothing worth less than its reservation utility (`reservation` (N,); None: no such floor). The best
    value for i is its ideal clipped to what all of them could accept. Where their ranges do not meet, or the
    best of them is worth less to i than its reservation utility (on the issue; under package linkage, the
    package as a whole), no deal is possible and i keeps the status quo (`disagreement`; under package linkage:
    on every open issue). Settled issues count at their agreed values. Since i can always refuse, b_i is never
    less than no deal: its disagreement point D_i = max(sum_j w_ij d_ij, R_i), as in the Nash package (without
    `reservation`: the older rule, the others' range only, no floor).

    `exponent` (N,), or laid out per issue (N, M) (`Profiles.exponent_table`); `no_deal_point`: D_i (N,) when at
    hand (`Profiles.disagreement_point`; the rounds ask every round).
    """
    conceded = offers - ideal                  # >= 0 upwards, <= 0 downwards; rooms are >= 0
    # the others' lowest acceptable values and their highest ones, negated, through one sort (this runs every
    # round): the smallest of the others' values is the largest of their negations, negated, exactly
    reach = np.empty((2, *np.broadcast(offers, ideal).shape))
    np.subtract(ideal, np.maximum(-conceded, room_down * tension_factor), out=reach[0])
    np.negative(ideal + np.maximum(conceded, room_up * tension_factor), out=reach[1])
    others = others_extreme(reach)
    lowest, highest = others[0], -others[1]
    if red_low is not None and red_high is not None:   # i's own red lines bound what it could accept too
        lowest, highest = np.maximum(lowest, red_low), np.minimum(highest, red_high)
    feasible = lowest <= highest + SLACK       # no lower than any other accepts, no higher either
    best = np.minimum(np.maximum(ideal, lowest), np.maximum(lowest, highest))
    value = issue_utilities(best, ideal, exponent)
    all_open = np.count_nonzero(open_issues) == open_issues.size
    open_ = open_issues[..., None, :]
    if reservation is not None and not package:   # issue by issue: i refuses an issue worth less than its floor
        feasible = feasible & (value >= reservation[..., None] - EPS)
    if package:   # one issue on which the ranges fail to meet sinks the whole package (.all's ufunc, no wrapper)
        feasible = np.logical_and.reduce(feasible if all_open else feasible | ~open_, axis=-1, keepdims=True)
    if all_open:
        no_deal = disagreement
    else:   # settled issues count at their agreed values (NaN where open, never selected)
        no_deal = np.where(open_, disagreement, issue_utilities(agreed_value[..., None, :], ideal, exponent))
    if reservation is None:
        return (weights * np.where(feasible & open_, value, no_deal)).sum(axis=-1)
    if not package:   # issue by issue i can refuse each deal on its own: the better of the deal and no deal
        return np.maximum((weights * np.where(feasible & open_, np.maximum(value, no_deal), no_deal)).sum(axis=-1),
                          reservation)
    # (every issue open: the values themselves, what the where would pick, without broadcasting the mask)
    deal = np.add.reduce(weights * (value if all_open else np.where(open_, value, no_deal)), axis=-1)
    acceptable = feasible[..., 0] & (deal >= reservation - SLACK)     # a package worth less than its floor: refused
    # i can always refuse: the talks are worth at least no deal, its disagreement point (the Nash package's D_i:
    # the status quo's utility, never less than its reservation utility)
    if not all_open or no_deal_point is None:
        no_deal_point = np.maximum((weights * no_deal).sum(axis=-1), reservation)
    return np.maximum(np.where(acceptable, deal, NO_DEAL), no_deal_point)


def walking_away(outside: Array, best: Array) -> NDArray[np.bool_]:
    """Which actors leave the table: their outside option (this round's value; NaN: none) beats the best deal
    still acceptable to every actor, themselves included (`best_deal_left`)."""
    return np.greater(outside, best + EPS)  # NaN compares False: no outside option, never walks


def outside_options(value: Array, trend: Array, round_: int | NDArray[np.int_]) -> Array:
    """Each actor's outside option in round `round_`: clip(value + trend x round, 0, 1) (NaN stays NaN; the clip
    as two ufuncs, since np.clip's wrapper costs more than the round's other steps here)."""
    return np.minimum(np.maximum(value + trend * round_, 0.0), 1.0)
