"""`table_rules.walkouts` skips the best deal left in a round where no outside option beats what no deal is worth
(most rounds): it must find exactly who walks as computing the best deal left every round does."""

from __future__ import annotations

import numpy as np
import pytest

from sim.core import table_rules
from sim.core.bargaining import best_deal_left, outside_options, walking_away
from sim.engine.model import NegotiationModel
from sim.scenario import load_scenario, with_protocol
from tests.conftest import BASELINE, SCENARIOS


@pytest.mark.parametrize("file", ["feb2022_baseline.yaml", "feb2022_issue_by_issue.yaml",
                                  "feb2022_hardline_russia.yaml"])
def test_who_walks_is_what_the_best_deal_left_says(file):
    scenario = load_scenario(SCENARIOS / file)
    skipped = computed = walked = 0
    for seed in range(40):
        model = NegotiationModel(with_protocol(scenario, max_rounds=20), rng=seed, collect=False)
        while model.running:
            a, s = model.arrays, model.state
            p = a.profiles
            factor = (1.0 - a.rules.hardening * s.tension)[:, None, None]
            leaving, outside, best = table_rules.walkouts(p, s.offers, factor, model.round + 1, s.open_issues,
                                                          s.agreed_value, a.package)
            full = best_deal_left(p.ideal, s.offers, p.room_up, p.room_down, factor, p.weights, p.risk_exponent,
                                  p.disagreement, s.open_issues, s.agreed_value, a.package, p.red_low, p.red_high,
                                  p.reservation)
            np.testing.assert_array_equal(leaving, walking_away(outside_options(p.outside, p.outside_trend,
                                                                                model.round + 1), full))
            if np.isnan(best).all():
                skipped += 1
            else:
                computed += 1
                np.testing.assert_array_equal(best, full)
            walked += int(leaving.any())
            model.step()
    assert skipped and computed and walked      # both ways taken, and someone walked somewhere


def test_every_walker_outside_option_beats_the_best_deal_left_it():
    """`walkout_values` says (outside option, best deal left) per walker: only the sentences read them, which the
    state hashes leave out, so their meaning is pinned here (an actor walks only when its option beats the deal)."""
    spec = load_scenario(BASELINE)
    walkers = 0
    for seed in range(40):
        model = NegotiationModel(spec, rng=seed, collect=False)
        model.run_model()
        for actor, (option, best) in model.walkout_values.items():
            walkers += 1
            assert option > best, (seed, actor, option, best)
            assert actor in model.walked_out
    assert walkers > 0
