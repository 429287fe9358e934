"""The asymmetric Nash bargaining solution over all actors with a position.

Sources: J. Nash (1950), "The bargaining problem", Econometrica 18; the asymmetric (weighted) solution,
E. Kalai (1977), "Nonsymmetric Nash solutions and replications of 2-person bargaining", International Journal of
Game Theory 6; for EU decision-making C. Achen (2006), "Institutional realism and bargaining models", in The European
Union Decides (ch. 4) and "Evaluating political decision-making models" (ch. 10), and G. Schneider, D. Finke &
S. Bailer (2010), "Bargaining power in the European Union", Political Studies 58.

Per issue: x* = argmax_x sum_i c_i log(u_i(x) - d_i) over every actor with a position and a stake (c_i s_i > 0),
on the x where every such actor gains (u_i(x) > d_i), with
* utilities u_i(x) = -s_i |x - x_i|^k / R^k (salience-weighted; k = 2 quadratic, the default, or k = 1 linear;
  R the scale's range), so each actor's utility runs from 0 at its ideal point to at most -s_i;
* bargaining power c_i, the actor's capability (Kalai's exponents);
* disagreement utilities d_i = u_i(D) - FAILURE_COST: the utility of the outcome D that stands if the bargain
  fails, less a cost of failing that is the same for everyone. D is the status quo q where the voting rule lets it
  survive -- no coalition that the rule lets change it (a qualified majority, with the Parliament under
  co-decision, `procedural.outcome_interval`) wants to move it -- and otherwise the outcome of the procedure
  without a bargain, the agenda setter's proposal that such a coalition would pass (`procedural.forecast`). With
  q unknown D is unknown too, and each actor's disagreement utility is that of a point a whole scale away,
  -s_i (less the same cost).

Achen's result: the first-order condition is sum_i c_i s_i (x_i - x) |x - x_i|^(k-2) / (u_i(x) - d_i) = 0; with
quadratic utilities and equal gains over disagreement for all actors -- the limit of equal disagreement utilities
far below every utility on the scale -- it is the compromise model's weighted mean sum c_i s_i x_i / sum c_i s_i
(tested to 1e-9). FAILURE_COST sets how far the solution sits between the status quo's pull (0: the disagreement
outcome is the status quo itself, and actors that would lose from a move hold the solution near it) and the
compromise model (large).

The objective is concave on the interval where every gain is positive (each log of a concave positive function is
concave), so bisection on its slope finds x*. If no point gives every actor a gain (FAILURE_COST = 0 and actors on
both sides of D), the bargain fails and the forecast is D.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from itertools import product

import numpy as np

from sim.forecasting import compromise, eu_council
from sim.forecasting.folds import choose_out_of_fold, forecasts_by
from sim.forecasting.model import ForecastingModel, Tuned
from sim.forecasting.problem import Problem

UTILITY = "quadratic"
""""quadratic" (k = 2, Achen's choice, under which the compromise model is the special case) or "linear" (k = 1)."""
UTILITIES = {"linear": 1, "quadratic": 2}
POWER = "formal"
""""capability": the problem's capabilities; "formal": for EU problems (a date and member-state actors) the member
states' share of bargaining power follows their Shapley-Shubik index in the Council's rule for the issue on that
date (`eu_council.shapley_shubik`; under unanimity every member the same), the Commission and Parliament keeping
their capabilities; other problems use their capabilities."""
POWERS = ("capability", "formal")
FAILURE_COST = 100.0
"""The common cost of a failed bargain, in units of a fully salient actor's utility range. POWER and FAILURE_COST
are the two parameters chosen on the DEU development file, by leave-one-proposal-out cross-validation over
`GRID` (capability or formal power x cost 0, 0.1, 0.3, 1, 3, 10, 30, 100): "formal" and 100 on the
whole file (out of fold: 100 for 96 of 143 issues, 10 or 30 for the rest), cross-validated MAE 22.97 against the
compromise model's 23.70. The MAE falls steadily with the cost (formal: 31.69 at 0, 24.67 at 0.3, 22.93 at 3,
22.85 at 30 and 100): on these data the status quo's pull makes forecasts worse, and the solution that forecasts
best is Achen's limit -- the compromise model with formal bargaining power. docs/forecasting.md has the figures."""

_ITERATIONS = 200               # bisection steps: far more than a double's 52 bits of [left, right] need


def _argmax_concave(slope, lo: float, hi: float) -> float:
    """Maximiser of a concave function on (lo, hi) from its (sub)gradient `slope`, which falls from + to -:
    bisection on the sign of the slope (exact to rounding, unlike a search on the function values)."""
    a, b = lo, hi
    for _ in range(_ITERATIONS):
        mid = 0.5 * (a + b)
        if mid in (a, b):
            break
        if slope(mid) > 0:
            a = mid
        else:
            b = mid
    return 0.5 * (a + b)


def utility(x: float | np.ndarray, ideal: np.ndarray, salience: np.ndarray, scale_range: float,
            exponent: int) -> np.ndarray:
    """u_i(x) = -s_i |x - x_i|^k / R^k."""
    return -salience * (np.abs(x - ideal) / scale_range) ** exponent


def nash_point(ideal: np.ndarray, salience: np.ndarray, power: np.ndarray, disagreement: np.ndarray, lo: float,
               hi: float, exponent: int = 2, fallback: float | None = None) -> float:
    """argmax_x sum_i power_i log(u_i(x) - disagreement_i) on [lo, hi] (u: `utility`), for actors with
    power_i salience_i > 0. `fallback` (default: the power x salience weighted mean) when no point gives every
    actor a gain."""
    keep = (power * salience) > 0
    if not keep.any():                      # nobody has a stake: every actor with a position counts the same
        return float(np.mean(ideal))
    x, s, c, d = ideal[keep], salience[keep], power[keep], disagreement[keep]
    span = hi - lo
    # u_i(y) > d_i  <=>  |y - x_i| < R (-d_i / s_i)^(1/k)
    reach = span * np.maximum(-d / s, 0.0) ** (1.0 / exponent)
    left, right = max(lo, float(np.max(x - reach))), min(hi, float(np.min(x + reach)))
    if not left < right:
        if fallback is not None:
            return fallback
        return float(np.average(x, weights=c * s))

    def slope(point: float) -> float:   # d/dy sum_i c_i log(u_i(y) - d_i)
        offset = (point - x) / span
        gain = np.maximum(-s * np.abs(offset) ** exponent - d, 1e-300)
        return float(np.sum(c * -s * exponent * np.abs(offset) ** (exponent - 1) * np.sign(offset) / gain))

    return _argmax_concave(slope, left, right)


def disagreement_outcomes(problem: Problem) -> np.ndarray:
    """(M,) the outcome that stands if the bargain fails: the status quo where the rule lets it survive, else the
    procedure's outcome without a bargain; NaN where the status quo is unknown."""
    from sim.forecasting import procedural

    out = problem.reference.astype(float).copy()
    imposed = None
    for d in range(problem.n_issues):
        q = out[d]
        if not np.isfinite(q):
            continue
        allowed = procedural.outcome_interval(problem, d)
        if allowed is not None and not allowed[0] == allowed[1] == q:     # a passing coalition can move q
            imposed = procedural.forecast(problem) if imposed is None else imposed
            out[d] = imposed[d]
    return out


def bargaining_power(problem: Problem, issue: int, power: str = POWER) -> np.ndarray:
    """(N,) the actors' bargaining power on `issue` (see POWER)."""
    capability = problem.capabilities
    if power not in POWERS:
        raise ValueError(f"power must be one of {', '.join(POWERS)} (got {power!r})")
    if power == "capability" or problem.date is None or problem.actors is None:
        return capability
    formal = eu_council.formal_power(problem.actors, problem.date, problem.rules[issue])
    members = formal > 0
    if not members.any():
        return capability
    out = capability.astype(float).copy()
    out[members] = formal[members] / formal[members].sum() * capability[members].sum()
    return out


def forecast(problem: Problem, utility_kind: str = UTILITY, failure_cost: float | None = None,
             power: str = POWER) -> np.ndarray:
    """The asymmetric Nash bargaining solution of every issue (see the module docstring)."""
    exponent = UTILITIES[utility_kind]
    cost = FAILURE_COST if failure_cost is None else failure_cost
    lo, hi, span = problem.scale_min, problem.scale_max, problem.scale_range
    fallback = compromise.forecast(problem)
    outcome_if_failed = disagreement_outcomes(problem)
    out = np.empty(problem.n_issues)
    for d in range(problem.n_issues):
        has = problem.has_position[d]
        x, s, c = problem.positions[d, has], problem.saliences[d, has], bargaining_power(problem, d, power)[has]
        failed = outcome_if_failed[d]
        if np.isfinite(failed):
            disagreement = utility(failed, x, s, span, exponent) - cost
            out[d] = nash_point(x, s, c, disagreement, lo, hi, exponent, fallback=float(failed))
        else:
            out[d] = nash_point(x, s, c, -s - cost, lo, hi, exponent, fallback=float(fallback[d]))
    return out


GRID = tuple(product(POWERS, (0.0, 0.1, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0)))
"""(power, failure cost) pairs the parameters are chosen from on the development file (quadratic utility)."""


def tune(problems: Sequence[Problem], outcomes: np.ndarray, cluster: np.ndarray) -> Tuned:
    """Cross-validated forecasts: each proposal's with the power and failure cost (from `GRID`) of least MAE on the
    other proposals; the report's lines give the grid's MAE on the whole file and the choices."""
    def at(power: str, cost: float) -> Callable[[Problem], np.ndarray]:
        return lambda problem: forecast(problem, "quadratic", cost, power)

    grid = np.array([forecasts_by(problems, at(pw, k)) for pw, k in GRID])
    grid_errors = np.abs(grid - outcomes)
    choice = choose_out_of_fold(grid_errors, cluster)
    maes = {f"{pw} {k:g}": float(grid_errors[g].mean()) for g, (pw, k) in enumerate(GRID)}
    whole_file = GRID[int(np.argmin(grid_errors.mean(axis=1)))]
    out_of_fold = {f"{GRID[g][0]} {GRID[g][1]:g}": int((choice == g).sum()) for g in np.unique(choice)}
    lines = ["Nash grid (power, failure cost: MAE on the whole file):",
             "  " + ", ".join(f"{k} {v:.2f}" for k, v in maes.items()),
             f"Nash chosen on the whole file: {whole_file}; out of fold: {out_of_fold}"]
    return Tuned(grid[choice, np.arange(len(outcomes))], lines)


ERRORS = (0.033, 0.078, 0.113, 0.155, 0.197, 0.230, 0.305, 0.366, 0.409, 0.501,
          0.548, 0.625, 0.727, 0.771, 0.835, 0.927, 1.042, 1.217, 1.438, 1.843)
"""This model's interval calibration (`ForecastingModel.errors`): the 20 quantiles of |outcome - forecast| / sigma
on the DEU development file, cross-validated (`python -m sim.forecasting.validation FILE --calibrate`)."""

MODEL = ForecastingModel(forecast, errors=ERRORS, tune=tune)
