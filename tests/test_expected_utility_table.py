"""The expected-utility mechanism at the same table as the concession mechanism (issue 22, item 4): no agent moves
past its red line, an issue is agreed only where every actor its decision rule needs accepts the median voter's
position (red lines, walk-away utility), and the `why` sentences are the mechanism's own."""

from __future__ import annotations

import re

import numpy as np
import pytest

from sim.scenario import apply_params
from sim.service import prepare, run_scenario
from tests.conftest import BASELINE, SCENARIOS, make_scenario

FILES = [BASELINE, SCENARIOS / "feb2022_issue_by_issue.yaml", SCENARIOS / "feb2022_hardline_russia.yaml"]
CONCESSION_ONLY = ("no package gives every actor", "offers still")


def red_line_bounds(scenario):
    """{(actor, issue): (lowest, highest) value the actor accepts} in native units, from its red lines."""
    bounds = {}
    for actor in scenario.actors:
        for issue, line in actor.red_lines.items():
            ideal = actor.positions[issue]
            bounds[actor.id, issue] = (line, np.inf) if ideal >= line else (-np.inf, line)
    return bounds


def crossed(value: float, low: float, high: float) -> bool:
    return value < low - 1e-6 or value > high + 1e-6


def test_the_baseline_as_coded_settles_nothing_past_a_red_line_and_says_why():
    result = run_scenario(prepare(BASELINE, mechanism="expected_utility"), draw=False)
    assert result.outcome != "agreement"
    expansion = result.issues["expansion"]
    assert not expansion.agreed
    assert "red lines exclude each other" in expansion.why
    assert "crosses the red line of Russia" in expansion.why          # the stable forecast, which Russia refuses
    for issue in result.issues.values():
        assert not any(text in issue.why for text in CONCESSION_ONLY), issue.why
    # under package linkage the issues whose positions met wait for expansion, and the sentence says so
    assert "under package linkage nothing is agreed until everything is" in result.issues["cbm"].why


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_no_offer_and_no_agreement_crosses_a_red_line_over_drawn_seeds(path):
    spec = prepare(path, mechanism="expected_utility")
    for seed in range(12):
        result = run_scenario(spec, seed)
        bounds = red_line_bounds(result.scenario)
        history = result.history
        for (actor, issue), (low, high) in bounds.items():
            offers = history[(history["actor"] == actor) & (history["issue"] == issue)]["position"]
            assert not any(crossed(v, low, high) for v in offers), (seed, actor, issue)
            settled = result.issues[issue]
            if settled.agreed:
                assert not crossed(settled.value, low, high), (seed, actor, issue, settled.value)


def test_an_issue_is_agreed_inside_compatible_red_lines_and_the_moves_stop_on_them():
    # a pair whose median voter, alone, would be the midpoint 50; a's red line holds it at 40 at most
    spec = make_scenario([[20.0], [80.0]], saliences=[[0.8], [0.8]], red_lines=[{"i0": 40.0}, {}],
                         protocol={"mechanism": "expected_utility", "max_rounds": 30, "linkage": "issue_by_issue"})
    free = make_scenario([[20.0], [80.0]], saliences=[[0.8], [0.8]],
                         protocol={"mechanism": "expected_utility", "max_rounds": 30, "linkage": "issue_by_issue"})
    alone = run_scenario(free, 0, draw=False)
    assert alone.issues["i0"].prediction == pytest.approx(50.0)
    held = run_scenario(spec, 0, draw=False)
    a_offers = held.history[held.history["actor"] == "a0"]["position"]
    assert a_offers.max() <= 40.0 + 1e-9
    issue = held.issues["i0"]
    if issue.agreed:
        assert issue.value <= 40.0 + 1e-6
    else:
        assert "crosses the red line of Actor 0" in issue.why or "stopped moving" in issue.why


def test_a_walk_away_level_blocks_an_agreement_the_positions_reached():
    # the positions meet at the median voter's 30, which gives the actor at 90 less than a reservation utility of 0.9
    base = {"mechanism": "expected_utility", "max_rounds": 30, "linkage": "issue_by_issue"}
    spec = make_scenario([[10.0], [30.0], [90.0]], saliences=[[1.0], [1.0], [0.5]], capabilities=[3.0, 3.0, 1.0],
                         protocol=base)
    easy = run_scenario(apply_params(spec, {"actors.a2.reservation_utility": 0.0}), 0, draw=False)
    assert easy.outcome == "agreement" and easy.issues["i0"].value == pytest.approx(30.0)
    assert "the positions met on the median voter's position" in easy.issues["i0"].why
    picky = run_scenario(apply_params(spec, {"actors.a2.reservation_utility": 0.9}), 0, draw=False)
    refused = picky.issues["i0"]
    assert picky.outcome == "stalemate" and not refused.agreed
    assert refused.prediction == pytest.approx(30.0)           # the forecast stands; only the agreement is refused
    assert "the positions met at 30.0" in refused.why and "below the walk-away utility of Actor 2" in refused.why


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_the_deadline_a_sentence_names_is_the_deadline(path):
    spec = prepare(path, mechanism="expected_utility")
    for seed in range(12):
        result = run_scenario(spec, seed, collect=False)
        for issue in result.issues.values():
            assert not any(text in issue.why for text in CONCESSION_ONLY), issue.why
            for said in re.findall(r"deadline \(round (\d+)\)", issue.why):
                assert int(said) == result.scenario.protocol.max_rounds == result.rounds, (seed, issue.why)


def cycling_scenario():
    """DEU III n00250i1 as a scenario: six of the 17 actors swap sides every round (a cycle of period 2)."""
    x = [0, 100, 100, 100, 0, 100, 100, 0, 100, 100, 100, 100, 0, 100, 100, 0, 0]
    c = [4.1, 4.1, 0.48, 0.58, 0.37, 0.28, 2.8, 4.1, 0.22, 0.5, 2.09, 0.08, 1.03, 0.27, 1.46, 0.55, 2.64]
    s = [1, 1, 1, 1, 1, .6, 1, .6, .6, .8, .6, .9, 1, .6, .6, 1, 1]
    return make_scenario([[float(v)] for v in x], saliences=[[float(v)] for v in s], capabilities=c,
                         protocol={"mechanism": "expected_utility", "max_rounds": 30, "linkage": "issue_by_issue"})


def test_a_cycle_ends_the_talks_with_the_forecast_of_the_stable_forecast_and_says_so():
    from sim.core import expected_utility_kernel as eu
    from tests.test_lockstep import assert_same_as_models

    spec = cycling_scenario()
    result = run_scenario(spec, 0, draw=False)
    x = np.array([[a.positions["i0"] / 100] for a in spec.actors])
    expected = eu.stable_forecast(x, np.array([a.capability for a in spec.actors]),
                                  np.array([[a.saliences["i0"]] for a in spec.actors]))
    assert expected.period[0] == 2
    assert result.rounds == expected.rounds[0] < 30
    assert result.issues["i0"].prediction == pytest.approx(100 * expected.forecast[0], abs=1e-9)
    assert "the positions cycle: from round" in result.issues["i0"].why
    assert "repeat every 2 rounds" in result.issues["i0"].why
    assert_same_as_models(spec, [0, 1, 2])
