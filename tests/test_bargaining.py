"""Status quo, the Nash package, walking away, derived tension and uncertain inputs (issue: the Feb-2022 model must
be able to surprise)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.compile.arrays import arrays_of
from sim.compile.inputs import draw_inputs
from sim.core import bargaining, table_rules
from sim.core.utility import total_utility
from sim.scenario import ScenarioError, apply_params, load_scenario, parse_scenario
from sim.service import run_scenario
from tests.conftest import SCENARIOS
from tests.test_model import scenarios

BASELINE = SCENARIOS / "feb2022_baseline.yaml"


def two_by_two(linkage: str = "package") -> dict:
    """The logroll case: A cares about issue 1 (salience 0.9), B about issue 2; their ideals are opposite."""
    return {"id": "logroll", "title": "2 x 2 logroll",
            "issues": [{"id": "one", "label": "One"}, {"id": "two", "label": "Two"}],
            "actors": [{"id": "a", "name": "A", "positions": {"one": 100, "two": 0},
                        "saliences": {"one": 0.9, "two": 0.1}, "reservation_utility": 0.0,
                        "strategy": {"kind": "linear"}},
                       {"id": "b", "name": "B", "positions": {"one": 0, "two": 100},
                        "saliences": {"one": 0.1, "two": 0.9}, "reservation_utility": 0.0,
                        "strategy": {"kind": "linear"}}],
            "protocol": {"linkage": linkage, "max_rounds": 20, "agreement_tolerance": 0.02}}


def test_the_package_on_the_table_trades_across_issues_and_no_package_is_better_for_both():
    scenario = parse_scenario(two_by_two())
    result = run_scenario(scenario, 0)
    assert result.outcome == "agreement"
    agreed = np.array([result.issues["one"].value, result.issues["two"].value])
    np.testing.assert_allclose(agreed, [100, 100], atol=1e-6)     # each gets the issue it cares about
    p = arrays_of(scenario).profiles
    worth = total_utility(agreed / 100, p.ideal, p.weights, p.risk_exponent)
    grid = np.array(list(itertools.product(np.linspace(0, 1, 51), repeat=2)))
    others = bargaining.package_utilities(grid, p.ideal, p.weights, p.risk_exponent)
    assert not ((others > worth + 1e-9).all(axis=1)).any()      # not Pareto-dominated
    compromise = total_utility(np.array([0.9, 0.9]), p.ideal, p.weights, p.risk_exponent)
    assert (worth > compromise).all()                          # both better off than the weighted mean


def test_nash_package_has_the_known_solution_and_respects_the_status_quo():
    # one issue, linear utilities, ideals 0 and 1, equal power: max (1 - x - d)(x - d) at x = 1/2
    ideal, weights, exponent = np.array([[0.0], [1.0]]), np.ones((2, 1)), np.ones(2)
    none = np.zeros((2, 1))
    x = bargaining.nash_package(ideal, weights, exponent, np.ones(2), none, np.zeros(2), np.zeros(1), np.ones(1))
    assert x == pytest.approx([0.5], abs=1e-6)
    # power 3:1 -> x* = 1/4 (the weighted Nash product's maximum lies at c_b / (c_a + c_b) from a's ideal)
    x = bargaining.nash_package(ideal, weights, exponent, np.array([3.0, 1.0]), none, np.zeros(2), np.zeros(1),
                                np.ones(1))
    assert x == pytest.approx([0.25], abs=1e-6)
    # a status quo at 0.2 is worth 0.8 to a and 0.2 to b: the gains split x - 0.2 = 0.8 - x ... -> 0.5 again, but a
    # reservation level of 0.9 for a leaves no package better for both
    at = bargaining.disagreement_utilities(np.array([0.2]), ideal, exponent, np.zeros(2))
    assert bargaining.nash_package(ideal, weights, exponent, np.ones(2), at, np.array([0.9, 0.0]), np.zeros(1),
                                   np.ones(1)) is None


def test_best_deal_left_is_the_ideal_clipped_to_what_all_the_others_could_accept():
    ideal = np.array([[0.0], [0.6], [0.8]])
    offers = ideal.copy()
    room = np.full((3, 1), 0.3)
    best = bargaining.best_deal_left(ideal, offers, room, room, 1.0, np.ones((3, 1)), np.ones(3),
                                     np.zeros((3, 1)), np.ones(1, dtype=bool), np.full(1, np.nan), package=False)
    # actor 0: the others accept [0.5, 0.9] and [0.3, 0.9]... -> [0.5, 0.9]; its best is 0.5, worth 0.5
    assert best[0] == pytest.approx(0.5)
    # actor 2: the others accept [0, 0.3] and [0.3, 0.9] -> only 0.3, worth 1 - 0.5
    assert best[2] == pytest.approx(0.5)
    # at full tension with hardening 1 nobody can move: no deal, each keeps its status quo value (0)
    assert bargaining.best_deal_left(ideal, offers, room, room, 0.0, np.ones((3, 1)), np.ones(3), np.zeros((3, 1)),
                                     np.ones(1, dtype=bool), np.full(1, np.nan), package=False)[0] == 0.0


@settings(max_examples=25, deadline=None)
@given(scenarios(noise=False), st.integers(0, 3), st.floats(0.01, 0.5), st.integers(0, 2**16))
def test_a_higher_outside_option_never_makes_breakdown_less_likely(scenario, who, more, seed):
    actor = scenario.actors[who % len(scenario.actors)]
    base = actor.outside_option.value if actor.outside_option else 0.0
    low = apply_params(scenario, {f"actors.{actor.id}.outside_option.value": base})
    high = apply_params(scenario, {f"actors.{actor.id}.outside_option.value": min(1.0, base + more)})
    a, b = run_scenario(low, seed, collect=False), run_scenario(high, seed, collect=False)
    if a.outcome == "breakdown":
        assert b.outcome == "breakdown" and b.rounds <= a.rounds


@settings(max_examples=30, deadline=None)
@given(st.data())
def test_conceding_never_raises_tension(data):
    n, m = data.draw(st.integers(2, 4)), data.draw(st.integers(1, 3))
    unit = st.floats(0, 1, allow_nan=False)
    table = lambda: np.array([[data.draw(unit) for _ in range(m)] for _ in range(n)])    # noqa: E731
    before, after, proposal = table(), table(), table()
    row, share = data.draw(st.integers(0, n - 1)), data.draw(unit)
    closer = after.copy()
    closer[row] = after[row] + share * (proposal[row] - after[row])     # actor `row` concedes more
    tension = data.draw(unit)

    def next_tension(offers):
        move, held = table_rules.round_movement(before, offers, proposal, None, 0.05)
        return table_rules.next_tension(tension, float(move), float(held), 0, 0.04, 0.03, 1.0, 0.1)

    assert next_tension(closer) <= next_tension(after) + 1e-12


def test_relaxing_russias_red_line_never_lowers_agreement_over_fixed_seeds():
    scenario = apply_params(load_scenario(BASELINE).as_coded(), {"actors.russia.outside_option.trend": 0.0,
                                                                 "actors.us.red_lines.expansion": 40,
                                                                 "actors.nato.red_lines.expansion": 40})
    shares = []
    for line in (90, 60, 40, 30, 20):       # towards the others
        relaxed = apply_params(scenario, {"actors.russia.red_lines.expansion": line})
        shares.append(np.mean([run_scenario(relaxed, seed, collect=False).outcome == "agreement"
                               for seed in range(40)]))
    assert shares == sorted(shares) and shares[-1] > 0


def test_inputs_are_drawn_from_their_ranges_by_the_seed():
    scenario = load_scenario(BASELINE)
    first, values = draw_inputs(scenario, 7)
    again, same = draw_inputs(scenario, 7)
    assert values == same and first == again and not first.uncertainty
    for path, spec in scenario.uncertainty.items():
        assert spec.low <= values[path] <= spec.high, path
    assert isinstance(values["protocol.max_rounds"], int)
    # a run draws them; --as-coded (draw=False) plays the file
    assert run_scenario(scenario, 3).inputs == draw_inputs(scenario, 3)[1]
    assert run_scenario(scenario, 3, draw=False).inputs == {}
    # a path a sweep varies is fixed there, no longer drawn
    assert "actors.russia.capability" not in apply_params(scenario, {"actors.russia.capability": 0.7}).uncertainty


def test_bad_uncertainty_and_removed_tension_keys_are_named():
    doc = two_by_two()
    doc["uncertainty"] = {"actors.a.capability": {"low": 2, "high": 3}, "actors.zz.capability": {"low": 0, "high": 1},
                          "actors.b.capability": {"low": 1, "high": 0}}
    with pytest.raises(ScenarioError) as error:
        parse_scenario({**doc, "uncertainty": {k: v for k, v in doc["uncertainty"].items() if "b." not in k}})
    text = str(error.value)
    assert "uncertainty.actors.a.capability: the coded value 1 lies outside [2, 3]" in text
    assert "uncertainty.actors.zz.capability: not a numeric parameter" in text
    with pytest.raises(ScenarioError, match=r"uncertainty.actors.b.capability.high: must be >= low"):
        parse_scenario(doc)
    # both ends of a range must be valid values, or some seeds would fail
    ranged = two_by_two()
    ranged["actors"][0]["strategy"] = {"kind": "boulware", "exponent": 0.5}
    ranged["uncertainty"] = {"actors.a.strategy.exponent": {"low": 0.3, "high": 3},
                             "actors.b.saliences.one": {"low": -1, "high": 0.5},
                             "actors.a.red_lines.one": {"low": 10, "high": 20}}
    with pytest.raises(ScenarioError) as error:
        parse_scenario(ranged)
    assert "uncertainty.actors.a.red_lines.one: not a numeric parameter" in str(error.value)   # none to draw around
    del ranged["uncertainty"]["actors.a.red_lines.one"]
    with pytest.raises(ScenarioError) as error:
        parse_scenario(ranged)
    text = str(error.value)
    assert ("uncertainty.actors.a.strategy.exponent.high: a run could draw 3 here, and boulware needs exponent < 1"
            in text)
    assert "uncertainty.actors.b.saliences.one.low: a run could draw -1 here, and must be >= 0" in text
    doc = two_by_two()
    doc["protocol"]["tension"] = {"drift": 0.02, "breakdown_threshold": 0.9}
    with pytest.raises(ScenarioError) as error:
        parse_scenario(doc)
    text = str(error.value)
    assert "protocol.tension.drift: removed" in text and "outside_option.trend" in text
    assert "protocol.tension.breakdown_threshold: removed" in text


def test_why_names_what_blocked_each_issue():
    result = run_scenario(load_scenario(BASELINE), 4)
    whys = {issue: r.why for issue, r in result.issues.items()}
    assert all(whys.values())
    assert "red lines exclude each other" in whys["expansion"]
    if result.outcome == "breakdown":
        assert all(f"{result.walked_out and 'Russia'} walked away" in why for why in whys.values())
    else:
        assert "package linkage" in whys["cbm"]
    agreed = run_scenario(parse_scenario(two_by_two()), 0)
    assert agreed.issues["one"].why.startswith("settled in round")
    assert result.to_dict()["issues"]["expansion"]["why"] == whys["expansion"]


def test_drawn_inputs_are_the_numbers_numpys_own_distributions_draw():
    """`inputs.values_from_uniforms` applies numpy's uniform and triangular formulas to one uniform number per
    path; the draws equal one Generator.uniform / .triangular call per path on the same doubles, bit for bit."""
    from sim.compile.inputs import draw_plan, values_from_uniforms

    scenario = load_scenario(SCENARIOS / "feb2022_baseline.yaml")
    mixed = apply_params(scenario, {})
    mixed = mixed.model_copy(update={"uncertainty": {
        path: spec.model_copy(update={"distribution": "uniform" if k % 3 == 0 else spec.distribution})
        for k, (path, spec) in enumerate(scenario.uncertainty.items())}})
    plan = draw_plan(mixed)
    assert plan.triangular.any() and not plan.triangular.all() and plan.whole.any()
    for seed in range(200):
        got = values_from_uniforms(plan, np.random.default_rng(seed).random(len(plan.paths)))
        rng = np.random.default_rng(seed)
        expected = [rng.triangular(lo, mode, hi) if tri else rng.uniform(lo, hi)
                    for tri, lo, mode, hi in zip(plan.triangular, plan.low, plan.mode, plan.high, strict=True)]
        np.testing.assert_array_equal(got, np.where(plan.whole, np.round(expected), expected), strict=False)
