"""Analysis over scenarios and outcomes: forecasts, acceptable ranges, ZOPA (pure functions)."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from sim.strategies import Profiles
from sim.utility import Array


def forecast_weights(capability: Array, salience: Array) -> Array:
    """Weight of each actor on each issue in a forecast: capability x salience, (N, M)."""
    return capability[:, None] * salience


def weighted_mean(x: Array, weights: Array) -> Array:
    """Per issue sum_i w_ij x_ij / sum_i w_ij; the plain mean where all weights are 0."""
    total = weights.sum(axis=0)
    plain = x.mean(axis=0)
    return np.divide((weights * x).sum(axis=0), total, out=plain, where=total > 0)


def weighted_median(x: Array, weights: Array) -> Array:
    """Per issue the position at which the cumulative weight (actors sorted by position) first reaches half
    the total; the plain median where all weights are 0."""
    order = np.argsort(x, axis=0, kind="stable")
    xs = np.take_along_axis(x, order, axis=0)
    cum = np.cumsum(np.take_along_axis(weights, order, axis=0), axis=0)
    total = cum[-1]
    first = np.argmax(cum >= 0.5 * total * (1.0 - 1e-12), axis=0)  # relative slack for rounding in cumsum
    median = xs[first, np.arange(x.shape[1])]
    return np.where(total > 0, median, np.median(x, axis=0))


def acceptable_ranges(p: Profiles) -> tuple[Array, Array]:
    """Per actor and issue the interval [low, high] (normalised) of values the actor would accept on that
    issue alone: within its reservation distance of its ideal and not across its red line."""
    return p.ideal - p.room_down, p.ideal + p.room_up


def zone_of_agreement(low: Array, high: Array) -> tuple[Array, Array, NDArray[np.bool_]]:
    """ZOPA per issue: the intersection of all actors' acceptable ranges; exists where low <= high."""
    zl, zh = low.max(axis=0), high.min(axis=0)
    return zl, zh, zl <= zh
