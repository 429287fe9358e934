"""Bueno de Mesquita's expected-utility (challenge) model, run until its median voter settles.

Source: B. Bueno de Mesquita (1994), "Political forecasting: an expected utility method", in European Community
Decision Making; J. Scholz, G. Calbert & G. Smith (2011), Journal of Theoretical Politics 23(4). The rounds are
`sim.core.expected_utility_kernel` (docs/model.md, section 3.9); the stopping rule is its `stable_forecast`.
The issues of a problem are independent in this model; positions are rescaled to the unit interval only for the
arithmetic (the model is invariant to it).
"""

from __future__ import annotations

import numpy as np

from sim.core import expected_utility_kernel as eu
from sim.forecasting.model import ForecastingModel
from sim.forecasting.problem import Problem


def forecast(problem: Problem, params: eu.EUParams = eu.SYMMETRIC) -> np.ndarray:
    """The stable median-voter forecast of every issue, among the actors with a position on it. Issues with the
    same actors run together (the mechanism is vectorised over issues; each issue keeps its own stopping round)."""
    out = np.empty(problem.n_issues)
    span = problem.scale_range
    x = (problem.positions - problem.scale_min) / span
    groups: dict[bytes, list[int]] = {}
    for d in range(problem.n_issues):
        has = problem.has_position[d]
        if np.ptp(x[d, has]) == 0:                 # everyone agrees: nothing to forecast
            out[d] = problem.positions[d, has][0]
        else:
            groups.setdefault(has.tobytes(), []).append(d)
    for issues in groups.values():
        has = problem.has_position[issues[0]]
        result = eu.stable_forecast(x[np.ix_(issues, has)].T, problem.capabilities[has],
                                    problem.saliences[np.ix_(issues, has)].T, params)
        out[issues] = problem.scale_min + span * result.forecast
    return out


ERRORS = (0.000, 0.000, 0.000, 0.006, 0.062, 0.131, 0.180, 0.250, 0.337, 0.420,
          0.488, 0.556, 0.739, 0.993, 1.121, 1.248, 1.451, 1.648, 2.054, 2.432)
"""This model's interval calibration (`ForecastingModel.errors`): the 20 quantiles of |outcome - forecast| / sigma
on the DEU development file, cross-validated (`python -m sim.forecasting.validation FILE --calibrate`)."""

MODEL = ForecastingModel(forecast, errors=ERRORS)
