"""`negsim forecast SCENARIO`: every forecasting model on a negsim scenario (sim.forecasting.scenario), in native
units, with 80 % intervals, beside the simulated agreements; the JSON form and bad input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from sim.cli import app
from sim.forecasting import MODELS
from sim.forecasting.scenario import forecast_table, problem_of
from sim.scenario import csv_document, load_scenario, parse_scenario

runner = CliRunner()
BASELINE = Path("sim/scenarios/feb2022_baseline.yaml")
CLOSE = "Actor,Capability,Position,Salience\na,1,4,0.8\nb,1,5,0.8\nc,2,5.5,0.5\n"     # near agreement, 0-10 scale


def close_scenario():
    return parse_scenario(csv_document(CLOSE, scale=(0, 10)))


def test_the_problem_carries_positions_status_quo_and_rule_on_a_common_scale():
    scenario = load_scenario(BASELINE)
    problem = problem_of(scenario)
    assert problem.positions.shape == (len(scenario.issues), len(scenario.actors))
    russia = [a.id for a in scenario.actors].index("russia")
    assert problem.positions[0, russia] == 100.0 and problem.saliences[0, russia] == 1.0
    np.testing.assert_allclose(problem.reference, [0.0, 0.0, 15.0])
    assert problem.rules == ("unanimity",) * 3 and problem.actors == tuple(a.id for a in scenario.actors)


def test_every_model_on_every_issue_in_native_units_with_intervals_beside_the_simulation():
    rows = forecast_table(close_scenario(), runs=20, seed=3)
    assert [r.issue for r in rows] == ["issue"] and rows[0].scale == (0.0, 10.0)
    row = rows[0]
    assert set(row.forecasts) == set(MODELS)
    assert row.forecasts["compromise"].value == pytest.approx((4 * 0.8 + 5 * 0.8 + 5.5 * 1.0) / 2.6)
    for f in row.forecasts.values():
        assert 0.0 <= f.low <= f.value <= f.high <= 10.0
    assert row.simulated.runs == 20 and row.simulated.agreed > 0
    assert 4.0 <= row.simulated.low <= row.simulated.median <= row.simulated.high <= 5.5
    assert forecast_table(close_scenario(), runs=0)[0].simulated is None


def test_json_gives_one_object_per_issue():
    result = runner.invoke(app, ["forecast", str(BASELINE), "--json", "--runs", "4"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert [d["issue"] for d in data] == ["expansion", "missiles", "cbm"]
    for entry in data:
        assert set(entry) == {"issue", "label", "unit", "scale", "status_quo", "forecasts", "simulated"}
        assert set(entry["forecasts"]) == set(MODELS)
        for f in entry["forecasts"].values():
            assert f["interval"][0] <= f["value"] <= f["interval"][1]
        assert entry["simulated"]["runs"] == 4 and 0.0 <= entry["simulated"]["agreed"] <= 1.0


def test_readable_form_lists_every_model_and_the_simulation(tmp_path):
    path = tmp_path / "close.csv"
    path.write_text(CLOSE)
    result = runner.invoke(app, ["forecast", str(path), "--scale", "0:10", "--runs", "5"])
    assert result.exit_code == 0, result.output
    for text in (*MODELS, "status quo", "simulated, 5 runs", "80 % intervals"):
        assert text in result.output


def test_bad_input_exits_2_with_a_message(tmp_path):
    result = runner.invoke(app, ["forecast", str(tmp_path / "nope.yaml")])
    assert result.exit_code == 2 and "file not found" in result.output
    result = runner.invoke(app, ["forecast", str(BASELINE), "--runs", "-1"])
    assert result.exit_code == 2
