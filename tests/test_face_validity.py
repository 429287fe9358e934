"""Face validity: over many seeds the Feb-2022 baseline reproduces what happened in February 2022 -
no deal on NATO expansion, movement on missiles and on confidence-building measures."""

from __future__ import annotations

import numpy as np

from sim.scenario import load_scenario
from sim.service import monte_carlo, run_scenario
from tests.conftest import SCENARIOS

SEEDS = 200


def test_baseline_never_agrees_on_expansion_but_moves_on_missiles_and_cbms():
    scenario = load_scenario(SCENARIOS / "feb2022_baseline.yaml")
    runs = monte_carlo(scenario, SEEDS)
    assert not runs["agreed.expansion"].any()
    initial_gap = {"missiles": 95 - 35, "cbm": 85 - 65}     # widest distance between actors at the start
    for seed in runs["seed"][:50]:
        result = run_scenario(scenario, int(seed), collect=False)
        finals = {i: [a.final_positions[i] for a in result.actors.values()] for i in ("expansion", "missiles", "cbm")}
        # missiles and CBMs: the parties end far closer than they began ...
        assert np.ptp(finals["missiles"]) < 0.3 * initial_gap["missiles"]
        assert np.ptp(finals["cbm"]) < 0.5 * initial_gap["cbm"]
        # ... while on expansion Russia stays at or beyond its red line, the West at or below its own
        assert result.actors["russia"].final_positions["expansion"] >= 75 - 1e-9
        assert result.actors["us"].final_positions["expansion"] <= 10 + 1e-9


def test_decoupled_issues_give_the_deals_the_us_offered():
    """Issue by issue, the 'second part' of the US answer is agreed in most runs; expansion never is."""
    runs = monte_carlo(load_scenario(SCENARIOS / "feb2022_issue_by_issue.yaml"), SEEDS)
    assert not runs["agreed.expansion"].any()
    assert runs["agreed.cbm"].mean() > 0.9
    assert runs["agreed.missiles"].mean() > 0.8
    assert set(runs["outcome"]) <= {"partial", "breakdown"}
    agreed_missiles = runs.loc[runs["agreed.missiles"], "value.missiles"]
    assert agreed_missiles.between(35, 95).all()           # between the US offer and Russia's moratorium


def test_a_hardline_russia_breaks_the_talks_down_more_often():
    base = monte_carlo(load_scenario(SCENARIOS / "feb2022_baseline.yaml"), SEEDS)
    hard = monte_carlo(load_scenario(SCENARIOS / "feb2022_hardline_russia.yaml"), SEEDS)
    assert (hard["outcome"] == "breakdown").mean() > (base["outcome"] == "breakdown").mean() + 0.5
