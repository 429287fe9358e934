"""Hostile inputs for sweeps in lockstep: every row a sweep writes is what a model run of its point and seed gives
(its summary row, or its error naming the problem), whatever the design, and lockstep never plays values the
schema would refuse."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim.compile.inputs import field_bounds, runs_to_validate, setter_of
from sim.scenario import ScenarioError, apply_params, load_scenario, params
from sim.service import run_scenario
from sim.sweep import make_design, read_runs, run_sweep
from sim.sweep.worker import describe
from tests.conftest import BASELINE
from tests.test_lockstep import assert_points_same_as_models


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


def errors_by_point(rows, path) -> dict:
    return {row[path]: row["error"] for row in rows}


def test_an_ally_weight_that_breaks_the_sum_with_an_uncertain_one_is_an_error_as_in_the_model(baseline, tmp_path):
    """US -> NATO cohesion is uncertain in [0.05, 0.35]: with US -> EU at 0.8 the high ends sum past 1, which the
    model refuses for the point (every seed), though the coded 0.2 + 0.8 passes."""
    rows = assert_rows_are_model_runs(baseline, ["actors.us.allies.eu=0:0.8:5"], tmp_path)
    errors = errors_by_point(rows, "actors.us.allies.eu")
    assert "cohesion weights must sum to <= 1" in errors[0.8]
    assert not any(isinstance(error, str) for weight, error in errors.items() if weight < 0.65)


def test_a_position_off_a_scale_narrowed_by_another_factor_is_an_error_as_in_the_model(baseline, tmp_path):
    """The scale (no cheap setter) groups the runs; a position the narrowed scale does not hold must not play."""
    rows = assert_rows_are_model_runs(baseline.as_coded(), ["issues.missiles.scale.max=96,100",
                                                            "actors.russia.positions.missiles=80:100:3"], tmp_path)
    bad = [row for row in rows if row["issues.missiles.scale.max"] == 96 and
           row["actors.russia.positions.missiles"] == 100]
    assert bad and all("must be <= 96" in row["error"] for row in bad)


def test_a_whole_number_range_whose_grid_rounds_below_the_field_is_an_error_as_in_the_model(baseline, tmp_path):
    """max_rounds=0.5:20:3: the range holds valid whole numbers (1..20), yet the grid's first level rounds to 0."""
    rows = assert_rows_are_model_runs(baseline.as_coded(), ["protocol.max_rounds=0.5:20:3"], tmp_path)
    assert "must be >= 1" in errors_by_point(rows, "protocol.max_rounds")[0]


def test_runs_to_validate_flags_exactly_the_values_the_schema_refuses(baseline):
    """Just inside and just outside each end of every settable field (bounds read from the schema, scales from the
    scenario), non-finite and huge values, fractions in whole-number fields: a run is sent to validation exactly
    when `apply_params` refuses its value."""
    scenario = baseline.as_coded()
    checked = 0
    for path in params(scenario):
        setter = setter_of(scenario, path)
        if setter is None:
            continue
        bounds = field_bounds(path)
        ends = [bounds.low, bounds.high]
        if setter.field in ("positions", "red_lines", "status_quo"):
            scale = scenario.issues[setter.cell[-1]].scale
            ends += [scale.min, scale.max]
        probes = [x + d for x in ends if np.isfinite(x) for d in (-1e-9, 0.0, 1e-9)]
        probes += [np.nan, np.inf, -np.inf, 2e15] + ([2.5] if bounds.whole else [])
        flagged = runs_to_validate(scenario, [path], np.array(probes)[:, None])
        for value, flag in zip(probes, flagged, strict=True):
            try:
                apply_params(scenario, {path: value})
            except ScenarioError as error:
                if any("needs exponent" in p.message for p in error.problems):
                    continue    # a strategy kind's rule: the design's check of a range's ends covers it
                refused = True
            else:
                refused = False
            assert flag == refused, (path, value)
            checked += 1
    assert checked > 300


@pytest.mark.parametrize("mechanism_name", ["concession", "expected_utility"])
def test_an_actor_with_every_salience_zero_in_some_runs_plays_as_its_model(baseline, mechanism_name):
    """Zero saliences on every issue give the actor equal weights 1/M, with or without a run axis."""
    scenario = apply_params(baseline.as_coded(), {"protocol.mechanism": mechanism_name})
    paths = [f"actors.russia.saliences.{issue}" for issue in scenario.issue_ids]
    values = np.array([[0.0, 0.0, 0.0], [1.0, 0.7, 0.4], [0.0, 0.0, 0.1], [0.0, 0.0, 0.0]])
    assert_points_same_as_models(scenario, [0, 1, 2, 3], paths, values)


def test_runs_sharing_a_choice_play_in_lockstep_even_when_the_choice_varies_fastest(baseline, tmp_path,
                                                                                     monkeypatch):
    """A grid whose last (fastest) factor is a choice interleaves the choice's values run by run: the batch still
    plays each value's runs together, not one model per run (many times slower), and each row is its model run."""
    from sim.sweep import worker

    vary = ["protocol.noise=0:0.1:4", "protocol.linkage=package,issue_by_issue"]
    sizes: list[int] = []     # runs per call of the service: each value's runs together, none alone
    real = worker.play_batch
    monkeypatch.setattr(worker, "play_batch", lambda spec, seeds, *a, **k: sizes.append(len(seeds))
                        or real(spec, seeds, *a, **k))
    rows = assert_rows_are_model_runs(baseline, vary, tmp_path, replicates=1)
    assert sizes and min(sizes) > 1 and sum(sizes) >= len(rows)     # (the probe times a batch too)


def test_negsim_mechanisms_prints_each_parameters_whole_description():
    """A parameter's description spans several source lines: `negsim mechanisms` prints all of it on its line,
    not the first line cut mid-sentence."""
    from typer.testing import CliRunner

    from sim.cli import app
    from sim.mechanisms import REGISTRY

    done = CliRunner().invoke(app, ["mechanisms"])
    assert done.exit_code == 0, done.output
    lines = {line.split("\t")[0].strip(): line.split("\t")[-1] for line in done.output.splitlines()}
    for m in REGISTRY.values():
        for name, field in (m.parameters.model_fields.items() if m.parameters is not None else ()):
            assert lines[f"protocol.{m.name}.{name}"] == " ".join(field.description.split())


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 2**32 - 1), st.sampled_from(["concession", "expected_utility"]))
def test_a_run_lockstep_plays_is_one_the_schema_accepts_and_equals_its_model(seed, mechanism_name):
    """Random values at random settable paths of the baseline (its uncertain inputs still drawn), a third of them
    outside their field, off the scale or past a cohesion sum: every run `runs_to_validate` lets through is valid
    for the schema and equals its model run, bit for bit."""
    rng = np.random.default_rng(seed)
    scenario = apply_params(load_scenario(BASELINE), {"protocol.mechanism": mechanism_name})
    settable = sorted(path for path in params(scenario) if setter_of(scenario, path) is not None
                      and ".exponent" not in path)
    settable += [f"actors.{a}.allies.{b}" for a in scenario.actor_ids for b in scenario.actor_ids if a != b]
    paths = [str(path) for path in dict.fromkeys(rng.choice(settable, size=int(rng.integers(1, 5))))]

    def value(path):
        bounds = field_bounds(path)
        low = bounds.low if np.isfinite(bounds.low) else -10.0
        high = bounds.high if np.isfinite(bounds.high) else 110.0
        if bounds.whole:
            return float(rng.integers(0, 40))
        return float(rng.uniform(low - 0.2 * (high - low), high + 0.2 * (high - low)) if rng.random() < 0.3
                     else rng.uniform(low, high))

    values = np.array([[value(path) for path in paths] for _ in range(6)])
    through = ~runs_to_validate(scenario, paths, values)
    for row in values[through]:
        point = {path: (int(v) if field_bounds(path).whole else v) for path, v in zip(paths, row.tolist(), strict=True)}
        try:
            apply_params(scenario, point)
        except ScenarioError as error:
            raise AssertionError(f"lockstep would play {point}: {error}") from None
    if through.any():
        assert_points_same_as_models(scenario, [int(s) for s in rng.integers(0, 2**62, int(through.sum()))], paths,
                                     values[through])
