"""An average of the Nash bargaining solution and the exchange model, with weights from cross-validation.

The weights minimise the mean absolute error on the DEU development file (non-negative, summing to 1;
`folds.lad_weights`). Checked by leave-one-proposal-out cross-validation (weights and the Nash model's
parameters fitted on the other proposals): MAE 22.67 against 22.81 for the exchange model alone, 22.97 for the Nash
model and 23.70 for the compromise model. Of the other combinations tried (docs/forecasting.md), none did better
under cross-validation: compromise + exchange 22.81 (all weight on exchange), all six models 22.88, exchange +
expected utility 23.39, compromise + expected utility 23.87. The gain over the exchange model alone is small
(0.14); the point of the average is that the two models err differently -- the exchange model's gain on the
development file did not carry over to the held-out DEU issues, the Nash model's rests on the formal voting power.
"""

from __future__ import annotations

import numpy as np

from sim.forecasting import exchange, nash
from sim.forecasting.folds import weighted_out_of_fold
from sim.forecasting.model import ForecastingModel
from sim.forecasting.problem import Problem

WEIGHTS = {"nash": 0.43, "exchange": 0.57}
"""Fitted on the whole development file (least absolute error); see the module docstring for the figures."""


def forecast(problem: Problem) -> np.ndarray:
    return WEIGHTS["nash"] * nash.forecast(problem) + WEIGHTS["exchange"] * exchange.forecast(problem)


def combine(central: dict[str, np.ndarray], outcomes: np.ndarray, cluster: np.ndarray) -> np.ndarray:
    """Cross-validated forecasts: its members' cross-validated forecasts (the Nash model's parameters chosen out of
    fold too) averaged with weights fitted on the other proposals."""
    return weighted_out_of_fold(np.column_stack([central[m] for m in WEIGHTS]), outcomes, cluster)


ERRORS = (0.009, 0.047, 0.122, 0.164, 0.188, 0.220, 0.271, 0.332, 0.385, 0.460,
          0.514, 0.585, 0.676, 0.740, 0.817, 0.942, 1.068, 1.239, 1.420, 1.905)
"""This model's interval calibration (`ForecastingModel.errors`): the 20 quantiles of |outcome - forecast| / sigma
on the DEU development file, cross-validated (`python -m sim.forecasting.validation FILE --calibrate`)."""

MODEL = ForecastingModel(forecast, errors=ERRORS, combine=combine)
