"""Forecast distributions: every model's central forecast with a spread, an 80 % interval and the CRPS.

How sure a forecast is comes from how far each model's forecasts have missed, calibrated out of sample: the
outcome is the central forecast F plus the issue's spread sigma times a standardized error e,

    Y = clip(F + sigma * e, scale_min, scale_max),

* sigma, the issue's spread: the capability x salience weighted standard deviation of the actors' positions
  around their weighted mean (the compromise weights; at least 1 % of the scale). Where the actors agree the
  outcome is near-certain; where they are far apart, the forecast misses more (on the DEU development file the
  correlation of a miss with sigma is 0.33, with the plain range of positions 0.13);
* e, the model's standardized errors |outcome - F| / sigma, taken with both signs (the direction of a scale is
  arbitrary, so the distribution is symmetric: a model's forecast and its interval mirror with the scale), as
  QUANTILES quantiles (at levels (k - 1/2)/QUANTILES), declared by each model (`ForecastingModel.errors`, in
  its module), measured on the DEU development file by cross-validation by proposal (`sim.forecasting.validation`;
  docs/forecasting.md has the figures).

The distribution is represented by 2 x QUANTILES equally likely points; the 80 % interval is its 10th and 90th
percentiles (F -/+ sigma times the 80th percentile of |e|, clipped to the scale) and the continuous ranked
probability score of an outcome y is E|Y - y| - E|Y - Y'|/2 over those points (Gneiting & Raftery 2007, JASA 102),
in the scale's units, like the MAE: a point forecast's CRPS is its absolute error.

Why not from resampled inputs alone: the spread of a model's forecast when capabilities and saliences are redrawn
within their measurement error says how sensitive the model is, not how far off it is; on the development file such
intervals cover far fewer than 80 % of the outcomes (docs/forecasting.md).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.forecasting.problem import Problem

LEVEL = 0.80
"""The interval's coverage: from the (1 - LEVEL)/2 to the (1 + LEVEL)/2 quantile."""
QUANTILES = 20
MIN_SPREAD = 0.01
"""sigma's floor, as a share of the scale's range (an issue where everyone agrees still has some doubt)."""



@dataclass(frozen=True)
class Distribution:
    """Forecast distributions of M issues: central (M,), points (M, 2Q) equally likely, interval (M, 2)."""

    central: np.ndarray
    points: np.ndarray

    @property
    def interval(self) -> np.ndarray:
        tail = (1.0 - LEVEL) / 2.0
        return np.quantile(self.points, [tail, 1.0 - tail], axis=1).T

    def crps(self, outcome: np.ndarray) -> np.ndarray:
        """(M,) the continuous ranked probability score of each outcome."""
        return crps_of_points(self.points, outcome)


def crps_of_points(points: np.ndarray, outcome: np.ndarray) -> np.ndarray:
    """CRPS of outcomes (M,) under (M, K) equally likely points: E|Y - y| - E|Y - Y'| / 2, exactly for the
    empirical distribution (sorted points: E|Y - Y'| = 2/K^2 sum_k (2k - K - 1) y_(k))."""
    y = np.sort(points, axis=1)
    k = y.shape[1]
    first = np.abs(y - np.asarray(outcome, dtype=float)[:, None]).mean(axis=1)
    spread = (2.0 / k**2) * (y * (2.0 * np.arange(1, k + 1) - k - 1)).sum(axis=1)
    return first - 0.5 * spread


def spread(problem: Problem) -> np.ndarray:
    """(M,) sigma: the compromise-weighted standard deviation of the positions (see the module docstring)."""
    has = problem.has_position
    w = problem.weights()
    w = np.where((w.sum(axis=1) > 0)[:, None], w, has.astype(float))
    x = np.where(has, problem.positions, 0.0)
    mean = (w * x).sum(axis=1) / w.sum(axis=1)
    sd = np.sqrt((w * (x - mean[:, None]) ** 2).sum(axis=1) / w.sum(axis=1))
    return np.maximum(sd, MIN_SPREAD * problem.scale_range)


def levels() -> np.ndarray:
    return (np.arange(QUANTILES) + 0.5) / QUANTILES


def error_quantiles(standardized_errors: np.ndarray) -> tuple[float, ...]:
    """The QUANTILES quantiles of |e| (what a model declares as its `errors`)."""
    return tuple(float(v) for v in np.quantile(np.abs(standardized_errors), levels()))


class Uncalibrated(ValueError):
    """A forecasting model that declares no interval calibration (`ForecastingModel.errors` is None)."""


def calibration(model: str) -> tuple[float, ...]:
    """The interval calibration model `model` declares; Uncalibrated if it has none (a new model's intervals are
    never borrowed from another model's)."""
    from sim.forecasting import MODELS

    errors = MODELS.get(model).errors
    if errors is None or len(errors) != QUANTILES:
        raise Uncalibrated(f"forecasting model {model!r} declares no interval calibration ({QUANTILES} error "
                           "quantiles as its `errors`): run `python -m sim.forecasting.validation FILE --calibrate` "
                           "on the DEU development file and declare what it prints for the model")
    return errors


def distribution(problem: Problem, central: np.ndarray, model: str,
                 errors: tuple[float, ...] | None = None) -> Distribution:
    """The forecast distribution of `model` around its central forecast on `problem` (with the calibration the
    model declares, unless `errors` is given; Uncalibrated if it declares none)."""
    table = np.asarray(errors if errors is not None else calibration(model))
    steps = np.concatenate([-table[::-1], table])                       # symmetric: both signs
    points = np.asarray(central, dtype=float)[:, None] + spread(problem)[:, None] * steps[None, :]
    return Distribution(np.asarray(central, dtype=float), np.clip(points, problem.scale_min, problem.scale_max))
