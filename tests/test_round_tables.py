"""A model run's per-round tables (`RunArrays.by_round`) hold bit for bit what the rounds computed one round at a
time: the scheduled fractions and the outside options of every round."""

from __future__ import annotations

import numpy as np
import pytest

from sim.compile.arrays import own_arrays, run_arrays
from sim.compile.inputs import draw_plan, draw_values, settable_draws
from sim.core.bargaining import outside_options
from sim.core.strategies import scheduled_fraction
from sim.scenario import BASELINE, apply_params, load_scenario


def _scenarios():
    baseline = load_scenario(BASELINE)
    hardliners = apply_params(baseline, {"actors.russia.strategy.kind": "hardliner"})
    return [baseline, hardliners]


@pytest.mark.parametrize("scenario", _scenarios(), ids=["baseline", "hardliner"])
@pytest.mark.parametrize("seed", [0, 5, 11])
def test_tables_are_the_per_round_numbers(scenario, seed):
    plan = draw_plan(scenario)
    own = settable_draws(scenario, plan, draw_values(plan, seed))
    assert own is not None
    for arrays in (own_arrays(scenario, own)[1], run_arrays(scenario)):
        tables, p, deadline = arrays.by_round, arrays.profiles, arrays.rules.deadline
        assert tables is not None and len(tables.scheduled) == int(deadline.max())
        for round_ in range(1, int(deadline.max()) + 1):
            alone = scheduled_fraction(p, round_, deadline)
            assert alone.shape == tables.scheduled[round_ - 1].shape
            assert alone.tobytes() == tables.scheduled[round_ - 1].tobytes()
            assert arrays.scheduled(round_).tobytes() == alone.tobytes()
            outside = outside_options(p.outside, p.outside_trend, round_)
            assert np.array_equal(outside, arrays.outside(round_), equal_nan=True)
            assert outside.tobytes() == arrays.outside(round_).tobytes()


def test_many_runs_compute_their_rounds_as_they_go():
    assert run_arrays(load_scenario(BASELINE), runs=3).by_round is None
