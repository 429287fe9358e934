"""A model run that draws its inputs sets the draws straight into its arrays (`inputs.settable_draws`) and builds
its scenario only when something reads it, as a copy with the draws set (`scenario.with_checked_values`): the
arrays, the scenario and every failure must be exactly those of validating the draws first
(`scenario.apply_params`)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from sim.compile.arrays import arrays_of, run_arrays
from sim.compile.inputs import (
    _out_of_bounds,
    checks_of,
    draw_plan,
    draw_values,
    drawn_mapping,
    runs_to_validate,
    values_from_uniforms,
)
from sim.engine.model import NegotiationModel, baseline
from sim.scenario import ScenarioError, Uncertain, apply_params, load_scenario, with_checked_values
from sim.service import result_of, run_scenario
from tests.conftest import BASELINE, SCENARIOS


def _same(a, b, where: str) -> None:
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        a, b = np.asarray(a), np.asarray(b)
        assert a.dtype == b.dtype and a.shape == b.shape, where
        assert np.array_equal(a, b, equal_nan=a.dtype.kind == "f"), where
        assert (np.signbit(a) == np.signbit(b)).all() if a.dtype.kind == "f" else True, where
    elif isinstance(a, tuple) and not isinstance(a, str):
        assert len(a) == len(b), where
        for k, (x, y) in enumerate(zip(a, b, strict=True)):
            _same(x, y, f"{where}[{k}]")
    else:
        assert a == b, where


def _uncertain_scenarios():
    return [path for path in sorted(SCENARIOS.glob("*.yaml")) if load_scenario(path).uncertainty]


@pytest.mark.parametrize("path", _uncertain_scenarios(), ids=lambda p: p.stem)
def test_drawn_arrays_are_those_of_the_validated_draws(path):
    scenario = load_scenario(path)
    for seed in range(12):
        model = NegotiationModel(scenario, rng=seed, collect=False)
        validated = apply_params(scenario, model.drawn_inputs)
        shared, runs = arrays_of(validated), run_arrays(validated)
        for field in dataclasses.fields(shared.profiles):
            _same(getattr(model.profiles, field.name), getattr(shared.profiles, field.name), field.name)
        for name in ("low", "high", "baseline_mean", "baseline_median", "de_escalating"):
            _same(getattr(model, name), getattr(shared, name), name)
        _same(tuple(model.arrays.rules), tuple(runs.rules), "rules")
        _same(tuple(model.arrays[2:]), tuple(runs[2:]), "shared arrays")
        assert model.deadline == validated.protocol.max_rounds
        # built when read, as a copy with the draws set: the same scenario, to the types and order of its values
        assert model.spec == validated and repr(model.spec) == repr(validated)
        assert model.spec.model_dump_json() == validated.model_dump_json()


def test_a_drawn_run_plays_and_reports_as_with_its_validated_scenario():
    scenario = baseline()
    for seed in range(8):
        model = NegotiationModel(scenario, rng=seed, collect=True)
        model.run_model()
        fixed = apply_params(scenario, model.drawn_inputs)
        replay = NegotiationModel(fixed, rng=seed, collect=True)   # nothing to draw: its own rounds' noise ...
        replay.noise_draws, replay.order_draws = model.noise_draws, model.order_draws   # ... replaced by the run's
        replay.run_model()
        _same(model.state.offers, replay.state.offers, "offers")
        assert model.outcome == replay.outcome and model.round == replay.round
        mine, theirs = result_of(model), result_of(replay)
        assert mine.scenario == theirs.scenario == fixed
        assert mine.issues == theirs.issues and mine.actors == theirs.actors
        assert mine.history.equals(theirs.history)


def test_a_draw_the_schema_refuses_fails_at_construction_as_validation_does():
    scenario = baseline()
    # a range no loaded file could have (capability must be > 0): every draw is invalid
    broken = scenario.model_copy(update={"uncertainty": {
        **scenario.uncertainty, "actors.russia.capability": Uncertain(low=-2.0, high=-1.0, reason="test")}})
    with pytest.raises(ScenarioError) as raised:
        NegotiationModel(broken, rng=5, collect=False)
    # the same draws (a model's rng is numpy's default generator of its seed), validated, give the same message
    plan = draw_plan(broken)
    drawn = drawn_mapping(plan, draw_values(plan, 5))
    assert runs_to_validate(broken, plan.paths, np.array([list(drawn.values())], dtype=float))[0]
    with pytest.raises(ScenarioError) as expected:
        apply_params(broken, drawn)
    assert str(raised.value) == str(expected.value)


def test_a_plan_within_the_bounds_draws_nothing_a_check_would_refuse():
    """Where `DrawPlan.always_valid` holds, a run skips checking its draws (`settable_draws`): no uniform number, the
    extremes and the ones at a triangular draw's turn included, gives a draw `_out_of_bounds` flags. Ranges that
    touch the fields' bounds, the scales' ends and MAX_MAGNITUDE, with the coded value inside or at either end; and
    allies' cohesion weights that could sum past 1 are checked."""
    scenario = baseline()
    plan = draw_plan(scenario)
    checks = checks_of(scenario, plan.paths)
    assert plan.always_valid and checks is not None
    first, last, coded = checks.first, np.minimum(checks.last, 1e6), plan.mode
    stretched = {"to the bounds": (first, last), "down to them": (first, coded), "up to them": (coded, last),
                 "down, mode inside": (first, (coded + last) / 2), "up, mode inside": ((first + coded) / 2, last)}
    within = []
    for name, (lows, highs) in stretched.items():
        for distribution in ("triangular", "uniform"):
            variant = scenario.model_copy(update={"uncertainty": {
                path: spec.model_copy(update={"low": float(lo), "high": float(hi), "distribution": distribution})
                for (path, spec), lo, hi in zip(scenario.uncertainty.items(), lows, highs, strict=True)}})
            stretched_plan = draw_plan(variant)
            within.append(stretched_plan.always_valid)
            if not stretched_plan.always_valid:
                continue
            turns = np.nan_to_num(stretched_plan.ratio)
            extremes = [np.zeros_like(turns), np.ones_like(turns), turns, np.nextafter(turns, 0.0),
                        np.nextafter(turns, 1.0), *np.random.default_rng(7).random((2000, len(turns)))]
            for u in extremes:
                u = np.minimum(u, np.nextafter(1.0, 0.0))   # (uniform numbers are < 1)
                assert not _out_of_bounds(checks, values_from_uniforms(stretched_plan, u)), (name, distribution)
    assert any(within) and not all(within)   # (the checks are skipped where they could fail: not everywhere)
    # cohesion: beside US -> EU at 0.6, US -> NATO uncertain in [0.05, 0.35] cannot sum past 1; up to 0.5 it can (a
    # range no loaded file could have: loading checks the high ends together)
    allied = apply_params(scenario, {"actors.us.allies.eu": 0.6})
    assert draw_plan(allied).always_valid
    wider = allied.uncertainty["actors.us.allies.nato"].model_copy(update={"high": 0.5})
    assert not draw_plan(allied.model_copy(update={"uncertainty": {**allied.uncertainty,
                                                                   "actors.us.allies.nato": wider}})).always_valid


def test_draws_without_a_setter_go_the_validated_way():
    scenario = baseline()
    spec = Uncertain(low=0.6, high=0.9, reason="test")     # a number no setter reaches
    uncertain = apply_params(scenario, {}).model_copy(update={"uncertainty": {
        **scenario.uncertainty, "protocol.decision_rule.threshold": spec}})
    model = NegotiationModel(uncertain, rng=2, collect=False)
    validated = apply_params(uncertain, model.drawn_inputs)
    assert model.spec == validated
    for field in dataclasses.fields(model.profiles):
        _same(getattr(model.profiles, field.name), getattr(arrays_of(validated).profiles, field.name), field.name)


def test_a_copy_with_checked_values_is_the_validated_scenario():
    scenario = baseline()
    values = {"actors.russia.outside_option.value": 0.3, "actors.us.allies.nato": 0.1, "issues.cbm.status_quo": 20.0,
              "protocol.tension.hardening": 0.4, "protocol.max_rounds": 17, "actors.eu.red_lines.missiles": 40.0,
              "actors.nato.strategy.exponent": 1.0}
    copied, validated = with_checked_values(scenario, values), apply_params(scenario, values)
    assert copied == validated and repr(copied) == repr(validated)
    # a value where the scenario has none yet, and a nested model that is not there (the validated way builds it)
    bare = scenario.as_coded().model_copy(update={
        "issues": [i.model_copy(update={"status_quo": None}) for i in scenario.issues],
        "actors": [a.model_copy(update={"outside_option": None}) for a in scenario.actors]})
    more = {"issues.cbm.status_quo": 30.0, "actors.eu.outside_option.value": 0.2}
    assert repr(with_checked_values(bare, more)) == repr(apply_params(bare, more))
    # what the copy cannot reach goes the validated way, with its errors
    with pytest.raises(ScenarioError):
        with_checked_values(scenario, {"actors.nobody.capability": 1.0})


def test_the_history_of_a_model_that_keeps_no_rounds_is_a_clear_error():
    from sim import service

    model = NegotiationModel(baseline(), rng=1, collect=False)
    model.run_model()
    with pytest.raises(ValueError, match="keeps no rounds"):
        service.history_of(model)
    assert service.result_of(model).history is None


def test_a_run_that_kept_no_rounds_says_so_when_its_history_is_asked_for():
    from sim import service

    result = service.run_scenario(baseline(), 1, collect=False)
    with pytest.raises(ValueError, match="kept no rounds"):
        result.recorded_history()
    assert len(service.run_scenario(baseline(), 1).recorded_history()) > 0


def test_the_json_contract_and_summary_row_do_not_build_the_drawn_scenario():
    """A drawn run's JSON and summary row read what no draw changes (ids, units, calendar, injects) from the
    scenario as the run was set up: its drawn scenario is built (and validated) only for who reads `scenario`, and
    then says the same."""
    result = run_scenario(BASELINE, 7, collect=False)
    assert result.inputs
    as_json, row = result.to_dict(), result.summary_row()
    assert "scenario" not in vars(result)       # the cached property was never read
    read_from_drawn = dataclasses.replace(result, layout=result.scenario)
    assert read_from_drawn.to_dict() == as_json and read_from_drawn.summary_row() == row


def test_the_scales_cache_holds_under_threads(baseline_doc):
    """`arrays.unit_scales` keeps the last few scenarios' scales; a model run on each of several threads (a Dask
    worker's, the dashboard's sessions) evicting at once must neither fail (KeyError, 'dictionary changed size')
    nor hand back another scenario's scales."""
    import copy
    import sys
    import threading

    from sim.compile.arrays import poles, unit_scales
    from sim.scenario import parse_scenario

    def widened(k: int):
        doc = copy.deepcopy(baseline_doc)
        for issue in doc["issues"]:
            issue.setdefault("scale", {})["max"] = 100.0 + k
        return parse_scenario(doc)

    scales = [widened(k) for k in range(6)]
    scenarios = [scales[k % 6].model_copy() for k in range(48)]    # more than the cache keeps: every call evicts
    errors: list[str] = []

    def work(k: int) -> None:
        try:
            for i in range(20_000):
                unit_scales(scenarios[(i * 7 + k) % len(scenarios)])
            for scenario in scenarios:
                if not np.array_equal(unit_scales(scenario).poles[1], poles(scenario)[1]):
                    errors.append("another scenario's scales")
        except Exception as error:     # noqa: BLE001 (the race's KeyError or RuntimeError)
            errors.append(repr(error))

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)     # switch threads as often as possible: the race shows within these calls
    try:
        threads = [threading.Thread(target=work, args=(k,)) for k in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        sys.setswitchinterval(interval)
    assert errors == []
