"""The expected-utility mechanism inside the Mesa model and the CLI: the published EC trace end to end."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from sim.cli import app
from sim.compile.arrays import arrays_of
from sim.core import expected_utility_kernel as eu
from sim.mechanisms.expected_utility import SCHOLZ_2011
from sim.scenario import apply_params, parse_scenario
from sim.service import prepare, run_scenario
from tests.conftest import SCENARIOS

EC = SCENARIOS / "ec_emissions_1994.csv"
PUBLISHED_MEDIANS = [7.0, 8.416, 9.611, 9.962, 9.962, 9.962, 7.472, 8.825, 9.671, 9.671, 7.0]


def scholz_2011(spec):
    """The documented options that reproduce the published trace."""
    return apply_params(spec, {f"protocol.expected_utility.{key}": value for key, value in SCHOLZ_2011.items()})


def test_model_reproduces_the_published_median_trace():
    spec = scholz_2011(prepare(EC, mechanism="expected_utility", max_rounds=10))
    result = run_scenario(spec, 0)
    per_round = result.history.groupby("round")["median"].first()
    assert list(per_round.index) == list(range(11))
    assert per_round.to_numpy() == pytest.approx(PUBLISHED_MEDIANS, abs=1e-3)
    first = result.history[result.history["round"] == 0]
    assert first["mean"].iloc[0] == pytest.approx((0.08 * 0.8 * 4 + 0.08 * 0.4 * 7 + 0.03 * 0.2 * 4 + 0.16 * 0.8 * 4
                                                    + 0.16 * 0.6 * 10 * 2 + 0.16 * 0.9 * 10 + 0.05 * 0.1 * 7
                                                    + 0.05 * 1.0 * 4 + 0.08 * 0.7 * 7)
                                                   / (0.064 + 0.032 + 0.006 + 0.128 + 0.192 + 0.144 + 0.005
                                                      + 0.05 + 0.056), abs=1e-9)
    assert result.issues["issue"].prediction == pytest.approx(7.0, abs=1e-3)
    assert set(result.history["reason"]) <= {"opening position", "took confrontation offer",
                                             "took compromise offer", "took capitulation offer", "no offer received"}


def test_cli_json_has_a_prediction_per_issue():
    out = CliRunner().invoke(app, ["run", str(EC), "--mechanism", "expected_utility", "--max-rounds", "60", "--json"])
    assert out.exit_code == 0, out.output
    data = json.loads(out.stdout)
    # the default stopping rule: the forecast once nothing moves (round 37 here), as
    # sim.core.expected_utility_kernel computes it
    expected = eu.stable_forecast(*ec_arrays())
    assert expected.stable.all() and data["rounds"] == expected.rounds[0] == 37
    assert data["issues"]["issue"]["prediction"] == pytest.approx(4 + 6 * expected.forecast[0], abs=1e-9)
    assert data["mechanism"] == "expected_utility"


def ec_arrays():
    p = arrays_of(prepare(EC)).profiles
    return p.ideal, p.capability, p.salience


def test_a_cycle_still_running_at_the_deadline_is_forecast_at_its_late_mean():
    spec = prepare(EC, mechanism="expected_utility", max_rounds=10)
    cycling = apply_params(spec, {"protocol.expected_utility.selection": "published",
                                  "protocol.expected_utility.normalisation": "all_pairs"})
    result = run_scenario(cycling, 0)
    medians = result.history.groupby("round")["median"].first().to_numpy()
    assert result.rounds == 10 and len(set(np.round(medians, 6))) > 2       # the published cycle
    assert result.issues["issue"].prediction == pytest.approx(medians[5:].mean(), abs=1e-9)   # rounds 5..10
    assert abs(result.issues["issue"].prediction - medians[-1]) > 1e-3     # not where the deadline caught it


def test_the_default_forecast_mirrors_with_the_scale_and_splits_a_symmetric_pair():
    pair = parse_scenario({"id": "pair", "title": "P", "issues": [{"id": "x", "label": "X"}],
                           "actors": [{"id": "a", "name": "A", "positions": {"x": 20}, "saliences": {"x": 0.8}},
                                      {"id": "b", "name": "B", "positions": {"x": 80}, "saliences": {"x": 0.8}}],
                           "protocol": {"mechanism": "expected_utility", "max_rounds": 30}})
    assert run_scenario(pair, 0).issues["x"].prediction == pytest.approx(50.0, abs=1e-9)
    ec = prepare(EC, mechanism="expected_utility", max_rounds=60)
    flipped = apply_params(ec, {f"actors.{a.id}.positions.issue": 14 - a.positions["issue"] for a in ec.actors})
    assert run_scenario(flipped, 0).issues["issue"].prediction == pytest.approx(
        14 - run_scenario(ec, 0).issues["issue"].prediction, abs=1e-9)


def test_multi_issue_scenario_runs_each_issue_independently():
    base = prepare(SCENARIOS / "feb2022_baseline.yaml", mechanism="expected_utility", max_rounds=4)
    result = run_scenario(base, 1)
    assert set(result.issues) == {"expansion", "missiles", "cbm"}
    for issue in result.issues.values():
        assert 0 <= issue.prediction <= 100
