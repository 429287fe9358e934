"""The compromise model: the capability x salience weighted mean of the positions (the named baseline).

Source: van den Bos (1991); Achen (2006), "Evaluating political decision-making models", in Thomson, Stokman,
Achen & Koenig (eds.), The European Union Decides -- the model to beat on DEU data.
"""

from __future__ import annotations

import numpy as np

from sim.forecasting.model import ForecastingModel
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


ERRORS = (0.020, 0.061, 0.097, 0.148, 0.221, 0.253, 0.303, 0.372, 0.437, 0.475,
          0.542, 0.622, 0.738, 0.764, 0.869, 0.986, 1.063, 1.245, 1.492, 1.879)
"""This model's interval calibration (`ForecastingModel.errors`): the 20 quantiles of |outcome - forecast| / sigma
on the DEU development file, cross-validated (`python -m sim.forecasting.validation FILE --calibrate`)."""

MODEL = ForecastingModel(forecast, errors=ERRORS)
