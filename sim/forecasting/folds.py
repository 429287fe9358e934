"""Leave-one-proposal-out helpers shared by the validation and the models that choose parameters on the development
file (`ForecastingModel.tune`, `.combine`): the issues of a proposal are never split between the part a choice is
made on and the part it is scored on."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from sim.forecasting.problem import Problem


def choose_out_of_fold(errors: np.ndarray, cluster: np.ndarray) -> np.ndarray:
    """(n,) for every issue, the index of the candidate (rows of `errors`, (G, n) absolute errors) with the lowest
    MAE on the issues of the other proposals (ties: the first)."""
    total = errors.sum(axis=1)
    count = len(cluster)
    choice = np.empty(errors.shape[1], dtype=int)
    for c in np.unique(cluster):
        test = cluster == c
        others = (total - errors[:, test].sum(axis=1)) / (count - test.sum())
        choice[test] = int(np.argmin(others))
    return choice


def forecasts_by(problems: Sequence[Problem], model: Callable[[Problem], np.ndarray]) -> np.ndarray:
    return np.concatenate([model(p) for p in problems])


def lad_weights(forecasts: np.ndarray, outcomes: np.ndarray) -> np.ndarray:
    """Non-negative weights summing to 1 that minimise the mean absolute error of forecasts @ w (a linear
    programme)."""
    from scipy.optimize import linprog

    n, m = forecasts.shape
    cost = np.r_[np.zeros(m), np.ones(n)]
    bound = np.block([[forecasts, -np.eye(n)], [-forecasts, -np.eye(n)]])
    result = linprog(cost, A_ub=bound, b_ub=np.r_[outcomes, -outcomes],
                     A_eq=np.r_[np.ones(m), np.zeros(n)][None, :], b_eq=[1.0], bounds=[(0, None)] * (m + n))
    return result.x[:m]


def weighted_out_of_fold(members: np.ndarray, outcomes: np.ndarray, cluster: np.ndarray) -> np.ndarray:
    """(n,) weighted averages of the columns of `members` (n, k), each proposal's with the weights of least
    absolute error on the other proposals."""
    pred = np.empty_like(outcomes)
    for c in np.unique(cluster):
        test = cluster == c
        pred[test] = members[test] @ lad_weights(members[~test], outcomes[~test])
    return pred
