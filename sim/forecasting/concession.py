"""negsim's own concession mechanism as a forecaster: each issue negotiated by its actors with the scenario
defaults (docs/model.md), through the service layer like every other interface.

Each issue of the problem becomes a one-issue scenario (the BDM import: capability, position, salience) of the
actors with a position, on the problem's scale, run once with seed SEED (the defaults have no noise). The forecast is
the agreed value, or where the talks end without agreement the proposal then on the table (the mechanism's
capability x salience weighted offer). Slower than the others (a scenario and a run per issue) and not used by the
lockstep engine's replicate axis, which pays only for many seeds of one scenario.
"""

from __future__ import annotations

import numpy as np

from sim.forecasting.model import ForecastingModel
from sim.forecasting.problem import Problem

SEED = 0


def forecast(problem: Problem) -> np.ndarray:
    """The concession mechanism's outcome (or final proposal) on every issue."""
    from sim import service
    from sim.scenario import csv_document, parse_scenario

    out = np.empty(problem.n_issues)
    for d in range(problem.n_issues):
        has = problem.has_position[d]
        x = problem.positions[d, has]
        if np.ptp(x) == 0:
            out[d] = x[0]
            continue
        rows = "\n".join(f"a{k},{float(c)!r},{float(p)!r},{float(s)!r}" for k, (c, p, s) in enumerate(
            zip(problem.capabilities[has], x, problem.saliences[d, has], strict=True)))
        document = csv_document("Actor,Capability,Position,Salience\n" + rows,
                                scale=(problem.scale_min, problem.scale_max))
        result = service.run_scenario(parse_scenario(document), SEED, collect=False)
        issue = result.issues["issue"]
        out[d] = issue.value if issue.agreed else issue.proposal
    return out


ERRORS = (0.003, 0.043, 0.092, 0.212, 0.248, 0.313, 0.409, 0.475, 0.535, 0.617,
          0.731, 0.844, 0.929, 1.029, 1.054, 1.119, 1.200, 1.257, 1.368, 1.564)
"""This model's interval calibration (`ForecastingModel.errors`): the 20 quantiles of |outcome - forecast| / sigma
on the DEU development file, cross-validated (`python -m sim.forecasting.validation FILE --calibrate`)."""

MODEL = ForecastingModel(forecast, errors=ERRORS)
