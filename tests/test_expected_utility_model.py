"""The expected-utility mechanism inside the Mesa model and the CLI: the published EC trace end to end."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from sim.cli import app
from sim.service import prepare, run_scenario
from tests.conftest import SCENARIOS

EC = SCENARIOS / "ec_emissions_1994.csv"
PUBLISHED_MEDIANS = [7.0, 8.416, 9.611, 9.962, 9.962, 9.962, 7.472, 8.825, 9.671, 9.671, 7.0]


def test_model_reproduces_the_published_median_trace():
    spec = prepare(EC, mechanism="expected_utility", max_rounds=10)
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
    out = CliRunner().invoke(app, ["run", str(EC), "--mechanism", "expected_utility", "--max-rounds", "3", "--json"])
    assert out.exit_code == 0, out.output
    data = json.loads(out.stdout)
    assert data["issues"]["issue"]["prediction"] == pytest.approx(9.962, abs=1e-3)
    assert data["mechanism"] == "expected_utility" and data["rounds"] == 3


def test_multi_issue_scenario_runs_each_issue_independently():
    base = prepare(SCENARIOS / "feb2022_baseline.yaml", mechanism="expected_utility", max_rounds=4)
    result = run_scenario(base, 1)
    assert set(result.issues) == {"expansion", "missiles", "cbm"}
    for issue in result.issues.values():
        assert 0 <= issue.prediction <= 100
