"""Hostile inputs for sweeps in lockstep: every row a sweep writes is what a model run of its point and seed gives
(its summary row, or its error naming the problem), whatever the design, and lockstep never plays values the
schema would refuse."""

from __future__ import annotations

import math

import numpy as np
import pytest

from sim import lockstep
from sim.scenario import apply_params, load_scenario
from sim.service import run_scenario
from sim.sweep import make_design, read_runs, run_sweep
from sim.sweep.runner import describe
from tests.conftest import BASELINE


@pytest.fixture(scope="module")
def baseline():
    return load_scenario(BASELINE)


def model_row(scenario, point: dict, seed: int) -> dict:
    """What a model run of the point and seed gives: its summary row, or its error."""
    try:
        spec = apply_params(scenario, point) if point else scenario
        return {"error": None, **run_scenario(spec, seed, collect=False, explain=False).summary_row()}
    except Exception as error:      # noqa: BLE001 - the sweep records any failure as the row's error
        return {"error": describe(error)}


def same(a, b) -> bool:
    return a == b or (isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b))


def assert_rows_are_model_runs(scenario, vary, tmp_path, **options) -> list[dict]:
    """Sweep serially (one batch holds many points) and compare every row with its model run; returns the rows."""
    options = {"replicates": 3, "seed": 5, **options}
    out = tmp_path / "sweep"
    run_sweep(scenario, vary, out=out, executor="serial", progress=False, **options)
    design = make_design(scenario, vary, options.get("sampler", "grid"), options.get("samples"),
                         options["replicates"], options["seed"])
    rows = read_runs(out).to_dict("records")
    assert [row["run_id"] for row in rows] == list(range(design.n_runs))
    for row, (run_id, _, _, seed, values) in zip(rows, design.runs(range(design.n_runs)), strict=True):
        point = dict(zip(design.paths, values, strict=True))
        assert {path: row[path] for path in design.paths} == point, run_id
        expected = model_row(scenario, point, seed)
        got = {name: row.get(name) for name in expected}
        got["error"] = None if not isinstance(got["error"], str) else got["error"]     # pandas reads null as NaN
        assert all(same(got[name], value) for name, value in expected.items()), (point, seed, got, expected)
    return rows


def test_each_row_of_a_lockstep_batch_reports_its_own_point(baseline, tmp_path):
    """A batch in lockstep holds many points: each row's factor columns are its own point's values."""
    rows = assert_rows_are_model_runs(baseline, ["protocol.noise=0:0.1:3", "actors.russia.capability=0.5:1.5:2"],
                                      tmp_path)
    assert len({(row["protocol.noise"], row["actors.russia.capability"]) for row in rows}) == 6
