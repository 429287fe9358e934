"""Face validity, as a pattern and not a verdict: over 300 seeds (each drawing the inputs coded as assumptions from
their ranges) the Feb-2022 baseline mostly ends without a deal on NATO expansion - in stalemate or with Russia
walking away - yet its outcome is a distribution, agreement stays reachable when the inputs move, and breakdown
comes from outside options."""

from __future__ import annotations

import numpy as np

from sim.scenario import apply_params, load_scenario
from sim.service import monte_carlo
from tests.conftest import SCENARIOS

SEEDS = 300
BASELINE = SCENARIOS / "feb2022_baseline.yaml"


def test_the_baseline_is_a_distribution_with_no_deal_on_expansion():
    runs = monte_carlo(load_scenario(BASELINE), SEEDS)
    shares = runs["outcome"].value_counts(normalize=True)
    assert shares.max() <= 0.95, shares                  # not fixed by construction
    assert set(shares.index) >= {"stalemate", "breakdown"}
    assert runs["agreed.expansion"].mean() < 0.10
    # the inputs really were drawn: every run its own capability for Russia, within the file's range
    drawn = runs["input.actors.russia.capability"]
    assert drawn.nunique() == SEEDS and drawn.between(0.6, 1.0).all()


def test_issue_by_issue_cbms_settle_more_often_than_expansion_but_not_always():
    runs = monte_carlo(load_scenario(SCENARIOS / "feb2022_issue_by_issue.yaml"), SEEDS)
    cbm, expansion = runs["agreed.cbm"].mean(), runs["agreed.expansion"].mean()
    assert 0.05 <= cbm <= 0.99 and cbm > expansion
    agreed_missiles = runs.loc[runs["agreed.missiles"].astype(bool), "value.missiles"]
    assert len(agreed_missiles) and agreed_missiles.between(20, 100).all()


def test_agreement_is_reachable_when_russia_relaxes_its_red_line():
    relaxed = apply_params(load_scenario(BASELINE), {"actors.russia.red_lines.expansion": 30,
                                                     "actors.russia.outside_option.trend": 0.0})
    runs = monte_carlo(relaxed, SEEDS)
    assert (runs["outcome"] == "agreement").mean() > 0.0
    assert runs["agreed.expansion"].mean() > 0.0


def test_breakdown_comes_from_outside_options_not_from_a_constant():
    scenario = load_scenario(BASELINE)
    without = apply_params(scenario, {f"actors.{a}.outside_option.{field}": 0.0
                                      for a in scenario.actor_ids for field in ("value", "trend")})
    assert not (monte_carlo(without, 100)["outcome"] == "breakdown").any()
    hard = monte_carlo(load_scenario(SCENARIOS / "feb2022_hardline_russia.yaml"), SEEDS)
    base = monte_carlo(scenario, SEEDS)
    # the hardline Russia breaks off more often and sooner (baseline ~0.82 since the walk-away test counts the
    # actor's own red line, issue 22: little room is left above it, hence a margin of 0.03, not 0.1)
    assert (hard["outcome"] == "breakdown").mean() > (base["outcome"] == "breakdown").mean() + 0.03
    assert np.median(hard.loc[hard["outcome"] == "breakdown", "rounds"]) < \
        np.median(base.loc[base["outcome"] == "breakdown", "rounds"])
