"""Utilities, acceptance and red lines as pure functions over numpy arrays.

All positions here are normalised to [0, 1] on each issue's scale (0 = low pole, 1 = high pole); the model
converts to and from native units at its edges. Shapes: N actors x M issues.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

Array = NDArray[np.float64]

EPS = 1e-9
"""Slack for floating-point comparisons of normalised positions."""


def constant(value: float, dtype: type = np.float64) -> NDArray:
    """`value` as a read-only 0-d array (float64 by default). As an operand of a ufunc it gives the numbers the
    Python number gives (numpy makes that very array of it, and takes the same loop) without making it on every
    call: a third of the cost of an operation on a round's small tables."""
    array: NDArray = np.array(value, dtype=dtype)
    array.flags.writeable = False
    return array


ZERO, ONE, SLACK = constant(0.0), constant(1.0), constant(EPS)


def power(base: Array | float, exponent: Array | float) -> Array:
    """base ** exponent elementwise, computed the same way whatever the operands' shapes.

    numpy takes a different path for a broadcast (or scalar) operand than for two full arrays (a vectorised
    routine that can differ in the last bit), so a run played alone and the same run among many (`sim.engine.lockstep`)
    would drift apart. Both operands are therefore laid out in full before the power is taken.
    """
    if not (type(base) is np.ndarray and base.dtype == np.float64):      # (the rounds pass float64 arrays: no
        base = np.asarray(base, dtype=float)                            # conversion call for them)
    if not (type(exponent) is np.ndarray and exponent.dtype == np.float64):
        exponent = np.asarray(exponent, dtype=float)
    if base.shape != exponent.shape:
        shape = np.broadcast(base, exponent).shape   # (np.broadcast_shapes costs four times as much per call)
        base, exponent = full(base, shape), full(exponent, shape)
    return np.power(np.ascontiguousarray(base), np.ascontiguousarray(exponent))


def full(array: Array, shape: tuple[int, ...]) -> Array:
    """`array` broadcast to `shape` as an array of its own (a writable copy; `array` itself if it has the shape):
    the same numbers as `np.broadcast_to`, at a fifth of its cost per call on small arrays."""
    if array.shape == shape:
        return array
    out = np.empty(shape, dtype=array.dtype)
    out[...] = array
    return out


def to_unit(values: Array | float, low: Array, high: Array, span: Array | None = None) -> Array:
    """Native units -> [0, 1] per issue (issue axis last); `span`: high - low, where at hand."""
    return (values - low) / ((high - low) if span is None else span)


def to_native(values: Array, low: Array, high: Array) -> Array:
    """[0, 1] per issue -> native units (issue axis last)."""
    return low + values * (high - low)


def risk_exponent(risk_attitude: Array) -> Array:
    """Exponent r of the utility curve for risk attitude a in [-1, 1]: r = (1 - a/3) / (1 + a/3).

    a = -1 gives r = 2 (concave utility 1 - d^2, risk-averse), a = 0 gives r = 1 (linear), a = +1 gives
    r = 0.5 (convex, risk-acceptant); the same mapping as Bueno de Mesquita's risk exponent.
    """
    third = risk_attitude / _THREE
    return (ONE - third) / (ONE + third)


_THREE = constant(3.0)


def issue_utilities(x: Array, ideal: Array, exponent: Array) -> Array:
    """u_ij(x) = 1 - |x_j - ideal_ij|^r_i, in [0, 1]; x is (M,) or (N, M), ideal (N, M), exponent (N,) or laid out
    per issue (N, M) (`Profiles.exponent_table`: no layout per call) (each with the same leading run axes, if any)."""
    per_issue = exponent if exponent.ndim == ideal.ndim else exponent[..., None]
    return ONE - power(np.abs(x - ideal), per_issue)  # normalised: distances are <= 1


def salience_weights(salience: Array, totals: Array | None = None) -> Array:
    """Each actor's saliences normalised to sum to 1 over issues (equal weights if all are 0); `totals`: their sums
    over issues (`salience.sum(axis=-1, keepdims=True)`), where already at hand."""
    totals = salience.sum(axis=-1, keepdims=True) if totals is None else totals
    return divided(salience, totals, 1.0 / salience.shape[-1])


def divided(values: Array, totals: Array, fallback: float) -> Array:
    """values / totals elementwise, `fallback` where a total is not positive. Where every total is positive, the
    plain division (the same quotients): a masked divide into a filled array costs several times more per call,
    and set-up pays a few of them per run."""
    positive = totals > ZERO
    if np.count_nonzero(positive) == positive.size:
        return values / totals
    return np.divide(values, totals, out=np.full_like(values, fallback), where=positive)


def total_utility(x: Array, ideal: Array, weights: Array, exponent: Array) -> Array:
    """U_i(x) = sum_j w_ij u_ij(x_j) = 1 - sum_j w_ij |x_j - ideal_ij|^r_i (the weights sum to 1):
    salience-weighted utility of outcome x (M,) or of each actor's own offer x (N, M)."""
    return 1.0 - (weights * power(np.abs(x - ideal), exponent[..., None])).sum(axis=-1)


def red_line_bounds(red_line: Array, ideal: Array) -> tuple[Array, Array]:
    """The interval of values each actor's red lines allow, as (low, high) bounds (N, M).

    The red line is the worst acceptable value: an actor accepts the values on its ideal's side of it
    (and beyond its ideal). A red line below the ideal is a lower bound, one above an upper bound, one at
    the ideal both; no red line (NaN) leaves the whole scale (-inf, +inf).
    """
    # (no red line is NaN, and NaN compares false: it falls to the infinite bound without a test of its own)
    low = np.where(red_line <= ideal, red_line, _LOWEST)
    high = np.where(red_line >= ideal, red_line, _HIGHEST)
    return low, high


_LOWEST, _HIGHEST = constant(-np.inf), constant(np.inf)


def red_line_ok(x: Array, low: Array, high: Array) -> NDArray[np.bool_]:
    """True where x crosses no red line, given the bounds from `red_line_bounds` (EPS slack)."""
    return within(x, low - EPS, high + EPS)


def within(x: Array | float, low: Array, high: Array) -> NDArray[np.bool_]:
    """low <= x <= high, elementwise (for bounds that already include their slack)."""
    return (x >= low) & (x <= high)


def reservation_distance(reservation: Array, exponent: Array) -> Array:
    """Distance from the ideal at which an issue's utility falls to the reservation level: (1 - R)^(1/r)."""
    return power(ONE - reservation, ONE / exponent)
