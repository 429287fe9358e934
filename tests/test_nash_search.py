"""The Nash package's search (`bargaining.nash_package`) differentiates its objective itself
(`bargaining.ForwardDifferences`) and keeps BLAS on one thread: the same packages, bit for bit, as L-BFGS-B with
scipy's own finite differences (how it searched before issue 21)."""

from __future__ import annotations

import contextlib

import numpy as np
import pytest
import scipy.optimize

from sim.core import bargaining
from sim.core.utility import EPS, red_line_bounds, risk_exponent, salience_weights


def problem(rng: np.random.Generator, bounded: bool) -> tuple:
    n, m = int(rng.integers(2, 6)), int(rng.integers(1, 5))
    ideal, salience = rng.random((n, m)), rng.random((n, m))
    exponent = risk_exponent(rng.uniform(-1, 1, n))
    reservation = rng.uniform(0, 0.5, n)
    status_quo = np.where(rng.random(m) < 0.5, rng.random(m), np.nan)
    red_line = np.where(rng.random((n, m)) < (0.3 if bounded else 0.0), rng.random((n, m)), np.nan)
    low, high = red_line_bounds(red_line, ideal)
    return (ideal, salience_weights(salience), exponent, rng.uniform(0.2, 1, n),
            bargaining.disagreement_utilities(status_quo, ideal, exponent, reservation), reservation,
            low.max(axis=0) + EPS, high.min(axis=0) - EPS)


@pytest.mark.parametrize("bounded", [False, True])
def test_the_search_finds_what_scipys_own_differences_find(monkeypatch, bounded):
    rng = np.random.default_rng(2022 + bounded)
    problems = [problem(rng, bounded) for _ in range(25)]
    now = [bargaining.nash_package(*p) for p in problems]
    minimize = scipy.optimize.minimize
    seen: list[bool] = []

    def scipys_own(fun, x0, jac=None, **options):
        assert jac is True and isinstance(fun, bargaining.ForwardDifferences)
        seen.append(True)
        return minimize(fun.objective, x0, **options)

    monkeypatch.setattr(scipy.optimize, "minimize", scipys_own)
    monkeypatch.setattr(bargaining, "one_blas_thread", contextlib.nullcontext)
    before = [bargaining.nash_package(*p) for p in problems]
    assert len(seen) >= 15          # most problems have a package to refine
    for a, b in zip(now, before, strict=True):
        assert (a is None) == (b is None)
        if a is not None:
            np.testing.assert_array_equal(a, b, strict=True)


def test_forward_differences_are_scipys_numbers():
    """At points inside the box, on its faces and in its corners, the gradient is scipy's `approx_derivative`
    with L-BFGS-B's settings, exactly."""
    from scipy.optimize._numdiff import approx_derivative

    rng = np.random.default_rng(5)
    low, high = np.array([0.0, 0.2, -np.inf]), np.array([1.0, 0.2 + 1e-9, np.inf])

    def objective(x):
        return float(np.sum(np.abs(x - 0.3) ** 0.7) + x[0] * x[1])

    fd = bargaining.ForwardDifferences(objective, low, high)
    for x in [np.array([0.5, 0.2, 3.0]), np.array([1.0, 0.2 + 1e-9, -2.0]), np.array([0.0, 0.2, 0.0]),
              np.array([1.0 - 1e-9, 0.2, 1e20]), *(np.array([u, 0.2, v]) for u, v in rng.random((5, 2)))]:
        value, gradient = fd(x)
        expected = approx_derivative(objective, x, method="2-point", abs_step=bargaining.FD_STEP,
                                     bounds=(low, high), f0=objective(x))
        assert value == objective(x)
        np.testing.assert_array_equal(gradient, expected, strict=True)
