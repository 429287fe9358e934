"""Forecast distributions (sim.forecasting.intervals) and cross-validation by proposal (sim.forecasting.validation):
the CRPS against its definition, intervals that mirror with the scale and widen with disagreement, calibration
tables for every model, and choices made only on the other proposals."""

from __future__ import annotations

import numpy as np
import pytest

from sim.forecasting import MODELS, Problem, intervals, validation


def test_every_model_declares_a_calibrated_error_table():
    for name, model in MODELS.items():
        table = model.errors
        assert table is not None and intervals.calibration(name) == table, name
        assert len(table) == intervals.QUANTILES and list(table) == sorted(table) and min(table) >= 0


def test_crps_of_a_point_is_the_absolute_error_and_matches_the_integral_definition():
    y = np.array([30.0, 70.0])
    np.testing.assert_allclose(intervals.crps_of_points(np.full((2, 4), 50.0), y), [20.0, 20.0])
    rng = np.random.default_rng(1)
    points = rng.uniform(0, 100, size=(1, 9))
    grid = np.linspace(-10, 110, 240_001)
    cdf = (points[0][None, :] <= grid[:, None]).mean(axis=1)
    for outcome in (-5.0, 37.0, 80.0):
        integral = np.sum((cdf - (grid >= outcome)) ** 2) * (grid[1] - grid[0])   # int (F - 1{x >= y})^2
        assert intervals.crps_of_points(points, np.array([outcome]))[0] == pytest.approx(integral, abs=2e-2)


def test_intervals_widen_with_disagreement_mirror_with_the_scale_and_stay_on_it():
    p = Problem(np.array([[45.0, 55.0], [0.0, 100.0]]), np.ones((2, 2)), np.ones(2))
    dist = intervals.distribution(p, np.array([50.0, 50.0]), "compromise")
    low, high = dist.interval.T
    assert high[1] - low[1] > high[0] - low[0] > 0                   # far apart: wider
    np.testing.assert_allclose(50 - low, high - 50)                  # symmetric around the central forecast
    assert np.all(dist.points >= 0) and np.all(dist.points <= 100)
    skewed = intervals.distribution(p, np.array([95.0, 95.0]), "compromise")
    mirrored = intervals.distribution(p.mirrored(), np.array([5.0, 5.0]), "compromise")
    np.testing.assert_allclose(100 - mirrored.interval[:, ::-1], skewed.interval)


def test_a_model_without_its_own_calibration_gets_no_intervals():
    """A new model's intervals are never borrowed from another model's: refused, loudly."""
    from sim.forecasting.model import ForecastingModel

    p = Problem(np.array([[0.0, 100.0]]), np.ones((1, 2)), np.ones(2))
    MODELS.register("uncalibrated", ForecastingModel(lambda problem: np.full(1, 50.0), errors=None))
    try:
        with pytest.raises(intervals.Uncalibrated, match="'uncalibrated' declares no interval calibration"):
            intervals.distribution(p, np.array([50.0]), "uncalibrated")
    finally:
        MODELS.unregister("uncalibrated")
    with pytest.raises(KeyError, match="no-such-model"):
        intervals.distribution(p, np.array([50.0]), "no-such-model")


def test_out_of_fold_choice_never_looks_at_the_held_out_proposal():
    # candidate 0 is perfect on proposal "a" and bad elsewhere; candidate 1 the reverse
    errors = np.array([[0.0, 0.0, 9.0, 9.0], [5.0, 5.0, 1.0, 1.0]])
    cluster = np.array([0, 0, 1, 1])
    # for proposal a the choice is made on b alone (candidate 1 wins there), and vice versa
    np.testing.assert_array_equal(validation.choose_out_of_fold(errors, cluster), [1, 1, 0, 0])


def test_bootstrap_resamples_whole_proposals_with_a_fixed_seed():
    errors = np.array([[1.0], [3.0], [10.0]])
    cluster = np.array([0, 0, 1])
    draws = validation.bootstrap_mae(errors, cluster, samples=300, seed=5)
    possible = {2.0, 10.0, 14 / 3, 24 / 4, 18 / 5}
    assert {round(float(v), 9) for v in draws[:, 0]} <= {round(v, 9) for v in possible}
    np.testing.assert_array_equal(draws, validation.bootstrap_mae(errors, cluster, samples=300, seed=5))


def test_least_absolute_error_weights_recover_an_exact_mix():
    rng = np.random.default_rng(2)
    f = rng.uniform(0, 100, size=(40, 2))
    w = validation.lad_weights(f, f @ np.array([0.3, 0.7]))
    np.testing.assert_allclose(w, [0.3, 0.7], atol=1e-6)


def test_the_validation_report_runs_on_a_small_file(tmp_path):
    from tests.test_backtest import CAPABILITY, HEADER, ISSUES, write

    path = write(tmp_path / "small.tsv", [HEADER, CAPABILITY, *ISSUES])
    text = validation.report(path)
    assert "leave-one-proposal-out" in text and "80 % coverage" in text
    for name in MODELS:
        assert f"| {name} |" in text
    assert "compromise: ERRORS = (" in validation.calibration(path)
