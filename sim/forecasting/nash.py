"""The Nash bargaining solution with the status quo (reference point) as the disagreement point.

Sources: J. Nash (1950), "The bargaining problem", Econometrica 18; the asymmetric form with bargaining power as
exponents (Kalai 1977); for EU decision-making G. Schneider, D. Finke & S. Bailer (2010), "Bargaining power in the
European Union", Political Studies 58, and C. Achen (2006), "Institutional realism and bargaining models", in
The European Union Decides.

Per issue: x* = argmax_x sum_i w_i log g_i(x) over the bargaining actors, with w_i = capability x salience and the
gain over disagreement g_i(x) = |q - x_i|^k - |x - x_i|^k (k = 1 linear, k = 2 quadratic loss), defined where every
bargaining actor gains (g_i > 0). Actors with weight 0 have no stake and do not bargain (if nobody has weight,
everyone with a position counts the same). A move of the status quo q has a direction: the actors on the other
side of q (and those at q) lose from any move that the actors on this side gain from, so the bargaining actors are
those on the side of q holding the larger weight (the others are outvoted; an exact tie keeps q). With q unknown the
disagreement point is each actor's worst point on the scale (the far end from its position) and everyone bargains.
The objective is concave on the interval where all gains are positive, so bisection on its slope finds x*.
"""

from __future__ import annotations

import numpy as np

from sim.forecasting.problem import Problem

EXPONENT = 1
"""k: 1 = linear loss (distance), 2 = quadratic loss. Linear, the loss the other models assume, is the default; on the
DEU development file it scores MAE 29.6 against 30.2 for quadratic, but quadratic does better on one half of it, so
the choice is not a robust finding (docs/forecasting.md). Either way the model loses to the compromise model."""

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


def nash_point(x: np.ndarray, w: np.ndarray, disagreement_distance: np.ndarray, lo: float, hi: float,
               exponent: int = EXPONENT) -> float:
    """argmax_x sum_i w_i log(r_i^k - |x - x_i|^k) on [lo, hi], r_i = disagreement_distance (N,), all r_i > 0.

    Every gain is positive on the intersection of the intervals (x_i - r_i, x_i + r_i)."""
    left = max(lo, float(np.max(x - disagreement_distance)))
    right = min(hi, float(np.min(x + disagreement_distance)))
    if not left < right:        # no point where every bargaining actor gains (cannot happen for one-sided sets)
        return float(np.clip(np.average(x, weights=w) if w.sum() > 0 else x.mean(), lo, hi))
    reach = disagreement_distance ** exponent

    def slope(point: float) -> float:   # d/dx sum_i w_i log g_i(x), g_i' = -k |x - x_i|^(k-1) sign(x - x_i)
        offset = point - x
        gain = np.maximum(reach - np.abs(offset) ** exponent, 1e-300)
        return float(np.sum(w * -exponent * np.abs(offset) ** (exponent - 1) * np.sign(offset) / gain))

    return _argmax_concave(slope, left, right)


def forecast(problem: Problem, exponent: int = EXPONENT) -> np.ndarray:
    """The Nash bargaining solution of every issue (see the module docstring)."""
    lo, hi = problem.scale_min, problem.scale_max
    weights = problem.weights()
    out = np.empty(problem.n_issues)
    for d in range(problem.n_issues):
        has = problem.has_position[d]
        x, w = problem.positions[d, has], weights[d, has]
        if w.sum() <= 0:                # nobody cares: everyone with a position counts the same
            w = np.ones_like(w)
        q = problem.reference[d]
        # an actor with weight 0 has no stake in the bargain (and no say in its terms)
        x, w = x[w > 0], w[w > 0]
        if not np.isfinite(q):
            out[d] = nash_point(x, w, np.maximum(x - lo, hi - x), lo, hi, exponent)
            continue
        above, below = x > q, x < q
        w_above, w_below = w[above].sum(), w[below].sum()
        if w_above == w_below:          # no side wants the move more (or nobody wants any): the status quo
            out[d] = q
            continue
        side = above if w_above > w_below else below
        out[d] = nash_point(x[side], w[side], np.abs(x[side] - q), lo, hi, exponent)
    return out
