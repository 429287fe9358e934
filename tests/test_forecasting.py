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
    assert set(MODELS) == {"compromise", "nash", "exchange", "procedural", "expected_utility", "concession",
                           "ensemble"}
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
def test_nash_with_equal_disagreement_utilities_and_quadratic_utility_is_the_compromise_model():
    """Achen (2006): with quadratic utilities and equal disagreement utilities far below every utility on the scale,
    the asymmetric Nash bargaining solution is the capability x salience weighted mean."""
    rng = np.random.default_rng(7)
    for _ in range(20):
        n = int(rng.integers(2, 9))
        x, s, c = rng.uniform(0, 100, n), rng.uniform(0.05, 1, n), rng.uniform(0.1, 5, n)
        nbs = nash.nash_point(x, s, c, np.full(n, -1e18), 0.0, 100.0, exponent=2)
        assert nbs == pytest.approx(np.average(x, weights=c * s), abs=1e-9)
    # and the gap closes as the common disagreement utility falls (the limit, not a coincidence)
    x, s, c = np.array([0.0, 30.0, 100.0]), np.array([1.0, 0.5, 0.8]), np.array([1.0, 2.0, 1.5])
    gaps = [abs(nash.nash_point(x, s, c, np.full(3, -d), 0, 100) - np.average(x, weights=c * s))
            for d in (1.0, 10.0, 100.0)]
    assert gaps[0] > gaps[1] > gaps[2] > 0


def test_nash_two_actors_linear_utilities():
    """u = -s|x - x_i|/100, disagreement at the far end of the scale (d_i = -1): gains 1 - x/100 (actor at 0) and
    x/100 (actor at 100); powers 1 and 3 maximise (1 - t) t^3 at t = 3/4."""
    x, s = np.array([0.0, 100.0]), np.ones(2)
    assert nash.nash_point(x, s, np.array([1.0, 3.0]), -s, 0, 100, exponent=1) == pytest.approx(75.0, abs=1e-9)


def test_nash_two_actors_quadratic_utilities():
    """Gains 1 - t^2 and 1 - (1 - t)^2 = t(2 - t) (t = x/100), powers 1 and 2: the first-order condition
    t / (1 - t^2) = 2 (1 - t) / (t (2 - t)), a cubic with one root in (0, 1)."""
    x, s = np.array([0.0, 100.0]), np.ones(2)
    got = nash.nash_point(x, s, np.array([1.0, 2.0]), -s, 0, 100, exponent=2) / 100
    # t^2 (2 - t) = 2 (1 - t)^2 (1 + t)  <=>  -t^3 + 2t^2 = 2t^3 - 2t^2 - 2t + 2  <=>  3t^3 - 4t^2 - 2t + 2 = 0
    roots = [r.real for r in np.roots([3, -4, -2, 2]) if abs(r.imag) < 1e-12 and 0 < r.real < 1]
    assert len(roots) == 1 and got == pytest.approx(roots[0], abs=1e-9)
    # equal powers and saliences: the midpoint
    assert nash.nash_point(x, s, np.ones(2), -s, 0, 100, exponent=2) == pytest.approx(50.0, abs=1e-9)


def test_nash_keeps_every_actor_and_the_status_quo_pulls_only_when_failure_is_cheap():
    """q = 50 survives under unanimity (members on both sides). With no cost of failing, an actor on each side of q
    means no point gives all a gain: the forecast is q. With a cost of failing every actor bargains, and as the
    cost grows the solution goes to the compromise forecast (power from capability)."""
    p = problem([[0, 70, 90]], [[1, 1, 1]], [1, 1.5, 1.5], reference=np.array([50.0]), rules=("unanimity",))
    assert nash.forecast(p, failure_cost=0.0, power="capability")[0] == 50.0
    mild = nash.forecast(p, failure_cost=0.05, power="capability")[0]
    strong = nash.forecast(p, failure_cost=1e6, power="capability")[0]
    assert 50.0 < mild < strong
    assert strong == pytest.approx(forecast("compromise", p)[0], abs=1e-3)
    # the actor at 0 counts: dropping it would move the solution up
    without = problem([[np.nan, 70, 90]], [[1, 1, 1]], [1, 1.5, 1.5], reference=np.array([50.0]),
                      rules=("unanimity",))
    assert nash.forecast(without, failure_cost=0.05, power="capability")[0] > mild


def test_nash_disagreement_is_the_status_quo_only_where_the_rule_lets_it_survive():
    """Four voters at 60-90 and the status quo at 0: a qualified majority wants change, so the status quo does not
    survive; the disagreement outcome is the procedure's (the setter's best passing proposal, 100 here)."""
    p = problem([[100, 60, 70, 80, 90]], [[1] * 5], [1] * 5, reference=np.array([0.0]), proposer=0)
    assert nash.disagreement_outcomes(p)[0] == pytest.approx(procedural.forecast(p)[0])
    blocked = problem([[100, 10, 70, 80, 90]], [[1] * 5], [1] * 5, reference=np.array([50.0]), proposer=0,
                      rules=("unanimity",))
    assert nash.disagreement_outcomes(blocked)[0] == 50.0                    # the voter at 10 keeps q


def test_nash_formal_power_follows_the_council_voting_power():
    """On an EU problem the member states bargain with their Shapley-Shubik index in the Council's rule on the
    proposal's date; under unanimity every member has the same power."""
    from datetime import date

    p = problem([[50, 50, 0, 100], [50, 50, 0, 100]], [[1] * 4] * 2, [4, 4, 1, 1], actors=("com", "ep", "de", "lu"),
                date=date(1999, 1, 1), rules=("qmv", "unanimity"))
    qmv, unanimity = nash.bargaining_power(p, 0), nash.bargaining_power(p, 1)
    np.testing.assert_allclose(qmv[:2], [4, 4])                               # Commission, Parliament: capability
    assert qmv[2] + qmv[3] == pytest.approx(2) and qmv[2] > 3 * qmv[3]       # DE 10 votes, LU 2 of 87
    np.testing.assert_allclose(unanimity[2:], [1, 1])
    with pytest.raises(ValueError, match="power"):
        nash.bargaining_power(p, 0, "votes")


def test_nash_ignores_actors_without_a_stake_and_survives_an_issue_nobody_cares_about():
    p = problem([[10, 60, 100]], [[0, 1, 1]], [1, 1, 2])
    with_zero = nash.forecast(p)[0]
    assert with_zero == pytest.approx(nash.forecast(problem([[np.nan, 60, 100]], [[0, 1, 1]], [1, 1, 2]))[0])
    nobody = problem([[0, 100]], [[0, 0]], [1, 1])
    assert nash.forecast(nobody)[0] == pytest.approx(50.0, abs=1e-6)
    for name in MODELS:
        assert np.isfinite(forecast(name, nobody)).all()


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
