"""Forecasting models (sim.forecasting) on cases with known answers: the registry, symmetric pairs, the Nash
bargaining solution, the exchange model's logroll, the agenda-setter model, mirror symmetry."""

from __future__ import annotations

import numpy as np
import pytest

from sim.forecasting import BASELINE, MODELS, Problem, exchange, forecast, nash, procedural


def problem(positions, saliences, capabilities, **kw) -> Problem:
    return Problem(np.array(positions, dtype=float), np.array(saliences, dtype=float),
                   np.array(capabilities, dtype=float), **kw)


def utility(p: Problem, outcome: np.ndarray) -> np.ndarray:
    """Each actor's salience-weighted distance utility of an outcome over all issues, (N,)."""
    return -(p.saliences * np.abs(outcome[:, None] - p.positions)).sum(axis=0)


# ---------------------------------------------------------------------------------------------------- the registry
def test_registry_lists_the_baseline_and_every_model():
    assert BASELINE == "compromise"
    assert set(MODELS) == {"compromise", "nash", "exchange", "procedural", "expected_utility", "concession"}
    with pytest.raises(KeyError, match="unknown forecasting model 'nope'.*compromise"):
        forecast("nope", problem([[0, 100]], [[1, 1]], [1, 1]))


@pytest.mark.parametrize("name", list(MODELS))
def test_every_model_gives_one_value_per_issue_on_the_scale(name):
    rng = np.random.default_rng(3)
    x = rng.uniform(0, 100, size=(3, 6))
    x[0, 2] = np.nan                                                 # an actor without a position on issue 0
    p = problem(x, rng.uniform(0.1, 1, size=(3, 6)), rng.uniform(0.5, 2, size=6),
                reference=np.array([0.0, np.nan, 100.0]), rules=("qmv", "unanimity", "majority"), proposer=0)
    out = forecast(name, p)
    assert out.shape == (3,) and np.all((out >= 0) & (out <= 100))


@pytest.mark.parametrize("name", list(MODELS))
def test_a_symmetric_pair_gives_the_midpoint(name):
    p = problem([[0, 100], [20, 80]], [[0.7, 0.7], [0.3, 0.3]], [2, 2])
    np.testing.assert_allclose(forecast(name, p), [50, 50], atol=1e-6)


@pytest.mark.parametrize("name", list(MODELS))
@pytest.mark.parametrize("seed", range(4))
def test_reversing_the_scale_mirrors_every_forecast(name, seed):
    rng = np.random.default_rng(seed)
    m, n = 3, 7
    x = rng.integers(0, 11, size=(m, n)) * 10.0
    x[rng.random((m, n)) < 0.15] = np.nan
    x[:, :2] = rng.integers(0, 11, size=(m, 2)) * 10.0             # proposer and veto player always take a stand
    p = problem(x, rng.integers(1, 11, size=(m, n)) / 10, rng.integers(1, 5, size=n),
                reference=np.array([0.0, 30.0, np.nan]), rules=("qmv", "unanimity", "qmv"), proposer=0,
                veto_player=1)
    np.testing.assert_allclose(100 - forecast(name, p.mirrored()), forecast(name, p), atol=1e-6)


def test_problem_rejects_bad_input_with_a_message():
    with pytest.raises(ValueError, match="saliences must have shape"):
        problem([[0, 100]], [[1]], [1, 1])
    with pytest.raises(ValueError, match="positions must lie in"):
        problem([[0, 120]], [[1, 1]], [1, 1])
    with pytest.raises(ValueError, match="salience in"):
        problem([[0, 100]], [[1, np.nan]], [1, 1])
    with pytest.raises(ValueError, match="rules"):
        problem([[0, 100]], [[1, 1]], [1, 1], rules=("plurality",))
    with pytest.raises(ValueError, match="proposer"):
        problem([[0, 100]], [[1, 1]], [1, 1], proposer=5)


# ---------------------------------------------------------------------------------------------------- compromise
def test_compromise_is_the_capability_times_salience_mean_of_those_with_a_position():
    p = problem([[10, 40, np.nan], [0, 100, 50]], [[1.0, 0.5, 0.9], [0.2, 0.2, 0.6]], [1, 2, 3])
    np.testing.assert_allclose(forecast("compromise", p), [(10 + 40) / 2, (0 * 0.2 + 100 * 0.4 + 50 * 1.8) / 2.4])


# ---------------------------------------------------------------------------------------------------- Nash
def test_nash_with_a_known_solution_linear_loss():
    """q = 0, actors at 60 and 100 with weights 1 and 2. On [60, 100] the Nash product is (120 - x)^1 x^2,
    maximal at x = 2/3 * 120 = 80 (below 60 both gains are x, the product rises)."""
    p = problem([[60, 100]], [[1, 1]], [1, 2], reference=np.array([0.0]))
    assert nash.forecast(p, exponent=1)[0] == pytest.approx(80.0, abs=1e-6)
    p = problem([[60, 100]], [[1, 1]], [1, 1], reference=np.array([0.0]))      # equal weights: the kink at 60
    assert nash.forecast(p, exponent=1)[0] == pytest.approx(60.0, abs=1e-6)


def test_nash_with_a_known_solution_quadratic_loss():
    """q = 0, actors at 60 and 100, equal weights: gains x(120 - x) and x(200 - x); the first-order condition
    2/x = 1/(120 - x) + 1/(200 - x) gives x^2 - 240x + 12000 = 0, x = 120 - sqrt(2400)."""
    p = problem([[60, 100]], [[1, 1]], [1, 1], reference=np.array([0.0]))
    assert nash.forecast(p, exponent=2)[0] == pytest.approx(120 - np.sqrt(2400), abs=1e-6)


def test_nash_without_a_status_quo_uses_each_actors_worst_point():
    """Disagreement = the far end of the scale: gains 100 - x (actor at 0) and x (actor at 100); weights 1 and 3
    give x = 75."""
    p = problem([[0, 100]], [[1, 1]], [1, 3])
    assert nash.forecast(p)[0] == pytest.approx(75.0, abs=1e-6)


def test_nash_bargains_among_the_side_of_the_status_quo_with_more_weight():
    # q = 50; the actor at 0 (weight 1) loses from any move up, the actors at 70 and 90 (weight 3) win
    p = problem([[0, 70, 90]], [[1, 1, 1]], [1, 1.5, 1.5], reference=np.array([50.0]))
    out = nash.forecast(p)[0]
    assert 50 < out <= 90
    # nobody off the status quo -> the status quo
    p = problem([[40, 40]], [[1, 1]], [1, 1], reference=np.array([40.0]))
    assert nash.forecast(p)[0] == 40.0


# ---------------------------------------------------------------------------------------------------- exchange
KTAB_LOGROLL = problem(
    # issue 1: A at 100 (salience 0.9), B at 0 (0.1); issue 2: A at 0 (0.1), B at 100 (0.9); equal capabilities
    [[100, 0], [0, 100]], [[0.9, 0.1], [0.1, 0.9]], [1, 1])


def test_exchange_logroll_makes_both_actors_better_off_than_the_compromise():
    compromise = forecast("compromise", KTAB_LOGROLL)
    np.testing.assert_allclose(compromise, [90, 90])
    traded = forecast("exchange", KTAB_LOGROLL)
    assert np.all(utility(KTAB_LOGROLL, traded) > utility(KTAB_LOGROLL, compromise))
    # the trade: A gives way on issue 2 (its low salience), B on issue 1, each up to the expected outcome (90)
    after = exchange.exchanged_positions(KTAB_LOGROLL)
    np.testing.assert_allclose(after, [[100, 90], [90, 100]])
    np.testing.assert_allclose(traded, [99, 99])


def test_no_exchange_without_a_difference_in_relative_salience_or_with_one_issue():
    same = problem([[100, 0], [0, 100]], [[0.5, 0.5], [0.5, 0.5]], [1, 1])
    np.testing.assert_allclose(exchange.exchanged_positions(same), same.positions)
    one = problem([[100, 0]], [[0.9, 0.1]], [1, 1])
    np.testing.assert_allclose(forecast("exchange", one), forecast("compromise", one))


def test_exchange_needs_opposite_sides_on_both_issues():
    # B already agrees with A on issue 2 (both at 0): nothing to trade
    p = problem([[100, 0], [0, 0]], [[0.9, 0.1], [0.1, 0.9]], [1, 1])
    np.testing.assert_allclose(exchange.exchanged_positions(p), p.positions)


# ---------------------------------------------------------------------------------------------------- procedural
VOTERS = [[100, 30, 20, 40, 60, 80, 100]]           # proposer, veto player, five equal voters


@pytest.mark.parametrize(("rule", "veto", "expected"), [
    ("unanimity", None, 40.0),     # the voter at 20 accepts up to 40
    ("qmv", None, 80.0),           # 71 %: the pivot is the voter at 40 (4 of 5 at or above it), who accepts up to 80
    ("majority", None, 100.0),     # the pivot at 60 accepts up to 120: the proposer gets its ideal
    ("qmv", 1, 60.0),              # the veto player at 30 accepts up to 60
])
def test_agenda_setter_gets_its_best_point_the_pivots_accept(rule, veto, expected):
    p = problem(VOTERS, [[1] * 7], [1] * 7, reference=np.array([0.0]), rules=(rule,), proposer=0, veto_player=veto,
                vote_weights=np.array([0, 0, 1, 1, 1, 1, 1.0]))
    assert procedural.forecast(p)[0] == pytest.approx(expected)


def test_agenda_setter_model_keeps_the_status_quo_when_no_move_is_acceptable_and_needs_one():
    p = problem([[100, 0, 10, 90]], [[1] * 4], [1] * 4, reference=np.array([50.0]), rules=("unanimity",), proposer=0)
    assert procedural.forecast(p)[0] == 50.0                           # the voter at 10 blocks any move up
    p = problem([[100, 0, 10, 90]], [[1] * 4], [1] * 4, rules=("unanimity",), proposer=0)
    assert procedural.forecast(p)[0] == forecast("compromise", p)[0]   # no status quo: the compromise forecast


def test_one_exchange_per_actor_and_round_by_default():
    """A trades with B (issues 1 <-> 2) and could also trade with C (issues 1 <-> 3). Under LIMIT = "actor" A makes
    one exchange a round; under "position" it can make a second one on an issue it has not shifted yet."""
    p = problem([[100, 0, 0], [0, 100, 50], [0, 50, 100]],
                [[0.9, 0.1, 0.1], [0.05, 0.9, 0.1], [0.05, 0.1, 0.9]], [1, 1, 1])
    assert exchange.LIMIT == "actor"
    one = exchange.exchanged_positions(p)
    several = exchange.exchanged_positions(p, limit="position")
    shifted = lambda x: np.abs(x - p.positions)[:, 0] > 1e-9  # noqa: E731 - which of A's positions moved
    assert shifted(one).sum() == 1 and shifted(several).sum() == 2
    with pytest.raises(ValueError, match="limit"):
        exchange.exchanged_positions(p, limit="nope")


def test_nash_ignores_actors_without_a_stake_and_survives_an_issue_nobody_cares_about():
    # the actor at 10 has salience 0: it does not bargain, so it does not cap the solution at 2 x 10
    p = problem([[10, 60, 100]], [[0, 1, 1]], [1, 1, 2], reference=np.array([0.0]))
    assert nash.forecast(p)[0] == pytest.approx(80.0, abs=1e-6)
    nobody = problem([[0, 100]], [[0, 0]], [1, 1])
    assert nash.forecast(nobody)[0] == pytest.approx(50.0, abs=1e-6)
    for name in MODELS:
        assert np.isfinite(forecast(name, nobody)).all()
