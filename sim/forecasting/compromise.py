"""The compromise model: the capability x salience weighted mean of the positions (the named baseline).

Source: van den Bos (1991); Achen (2006), "Evaluating political decision-making models", in Thomson, Stokman,
Achen & Koenig (eds.), The European Union Decides -- the model to beat on DEU data.
"""

from __future__ import annotations

import numpy as np

from sim.forecasting.problem import Problem


def weighted_mean(positions: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Per issue sum_i w_i x_i / sum_i w_i over the actors with a position ((M, N) arrays, NaN = none);
    the plain mean of the positions where every weight is 0."""
    has = np.isfinite(positions)
    x = np.where(has, positions, 0.0)
    w = np.where(has, weights, 0.0)
    total = w.sum(axis=1)
    plain = x.sum(axis=1) / has.sum(axis=1)
    return np.divide((w * x).sum(axis=1), total, out=plain, where=total > 0)


def forecast(problem: Problem) -> np.ndarray:
    """x*_d = sum_i c_i s_id x_id / sum_i c_i s_id for each issue d."""
    return weighted_mean(problem.positions, problem.weights())
