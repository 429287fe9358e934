"""Bueno de Mesquita's expected-utility (challenge) model, run until its median voter settles.

Source: B. Bueno de Mesquita (1994), "Political forecasting: an expected utility method", in European Community
Decision Making; J. Scholz, G. Calbert & G. Smith (2011), Journal of Theoretical Politics 23(4). The rounds are
`sim.expected_utility` (docs/model.md, section 3.9); the stopping rule is `sim.expected_utility.stable_forecast`.
The issues of a problem are independent in this model; positions are rescaled to the unit interval only for the
arithmetic (the model is invariant to it).
"""

from __future__ import annotations

import numpy as np

from sim import expected_utility as eu
from sim.forecasting.problem import Problem


def forecast(problem: Problem, params: eu.EUParams = eu.SYMMETRIC) -> np.ndarray:
    """The stable median-voter forecast of every issue, among the actors with a position on it."""
    out = np.empty(problem.n_issues)
    span = problem.scale_range
    for d in range(problem.n_issues):
        has = problem.has_position[d]
        x = (problem.positions[d, has] - problem.scale_min) / span
        if np.ptp(x) == 0:
            out[d] = problem.positions[d, has][0]
            continue
        result = eu.stable_forecast(x[:, None], problem.capabilities[has], problem.saliences[d, has][:, None], params)
        out[d] = problem.scale_min + span * float(result.forecast[0])
    return out
