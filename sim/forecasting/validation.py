"""Cross-validation by proposal on a DEU file: how every parameter chosen on the development file was chosen, and
the figures docs/forecasting.md reports (MAE with a 95 % bootstrap interval, interval coverage and width, CRPS).

    python -m sim.forecasting.validation ../shared/data/deu3_dev.tsv              # the figures (markdown)
    python -m sim.forecasting.validation ../shared/data/deu3_dev.tsv --calibrate  # intervals.ERRORS as code

Folds: leave one proposal out (the issues of a proposal share actors and are decided together, so they are never
split between the part a choice is made on and the part it is scored on). A parameter's figure is nested: for each
held-out proposal the parameter is chosen on the other proposals, and the held-out proposal is forecast with that
choice; the value shipped is the one chosen on the whole file. Interval calibration is cross-validated the same
way: the held-out proposal's distributions use error quantiles measured on the other proposals' (cross-validated)
forecasts.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import product
from typing import Any

import numpy as np

from sim.forecasting import MODELS, ensemble, intervals, nash
from sim.forecasting.problem import Problem

BOOTSTRAP_SAMPLES = 2000
BOOTSTRAP_SEED = 20061
NASH_GRID = tuple(product(nash.POWERS, (0.0, 0.1, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0)))
"""(power, failure cost) pairs the Nash model's parameters are chosen from (quadratic utility throughout)."""


@dataclass(frozen=True)
class Scores:
    model: str
    mae: float
    mae_low: float
    mae_high: float
    diff_low: float            # 95 % interval of MAE minus the compromise model's (paired)
    diff_high: float
    coverage: float            # share of outcomes inside the 80 % interval
    width: float               # mean width of the 80 % interval
    crps: float


def _proposal_index(proposal_ids: Sequence[str]) -> np.ndarray:
    return np.unique(np.asarray(proposal_ids), return_inverse=True)[1]


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


def bootstrap_mae(errors: np.ndarray, cluster: np.ndarray, samples: int = BOOTSTRAP_SAMPLES,
                  seed: int = BOOTSTRAP_SEED) -> np.ndarray:
    """(samples, models) MAE of resampled proposals (whole proposals drawn with replacement, the same draws for
    every model)."""
    groups = cluster.max() + 1
    sums = np.zeros((groups, errors.shape[1]))
    np.add.at(sums, cluster, errors)
    counts = np.bincount(cluster, minlength=groups).astype(float)
    picks = np.random.default_rng(seed).integers(0, groups, size=(samples, groups))
    weight = np.zeros((samples, groups))
    np.add.at(weight, (np.repeat(np.arange(samples), groups), picks.ravel()), 1.0)
    return (weight @ sums) / (weight @ counts)[:, None]


def cross_validated_distributions(problems: Sequence[Problem], central: np.ndarray, outcomes: np.ndarray,
                                  cluster: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(intervals (n, 2), crps (n,), standardized errors (n,)) with each proposal's error quantiles measured on the
    other proposals."""
    sigma = np.concatenate([intervals.spread(p) for p in problems])
    standardized = np.abs(outcomes - central) / sigma
    bounds, crps = np.empty((len(outcomes), 2)), np.empty(len(outcomes))
    start = 0
    for k, problem in enumerate(problems):
        rows = slice(start, start + problem.n_issues)
        start += problem.n_issues
        others = cluster != cluster[rows.start]
        table = intervals.error_quantiles(standardized[others])
        dist = intervals.distribution(problem, central[rows], "", table)
        bounds[rows], crps[rows] = dist.interval, dist.crps(outcomes[rows])
        del k
    return bounds, crps, standardized


def evaluate(path: str) -> tuple[list[Scores], dict[str, Any]]:
    """Every model on the file, cross-validated where a parameter is chosen on it."""
    from sim.forecasting.backtest import read_deu

    data = read_deu(path)
    problems = [p.problem for p in data.proposals]
    outcomes = np.concatenate([p.outcomes for p in data.proposals])
    cluster = _proposal_index([p.id for p in data.proposals for _ in p.issue_ids])
    central: dict[str, np.ndarray] = {name: forecasts_by(problems, MODELS[name]) for name in MODELS}
    notes: dict[str, Any] = {}
    # the Nash model: power and failure cost chosen out of fold
    def nash_at(power: str, cost: float) -> Callable[[Problem], np.ndarray]:
        return lambda problem: nash.forecast(problem, "quadratic", cost, power)

    grid = np.array([forecasts_by(problems, nash_at(pw, k)) for pw, k in NASH_GRID])
    grid_errors = np.abs(grid - outcomes)
    choice = choose_out_of_fold(grid_errors, cluster)
    central["nash"] = grid[choice, np.arange(len(outcomes))]
    notes["nash_grid"] = {f"{pw} {k:g}": float(grid_errors[g].mean()) for g, (pw, k) in enumerate(NASH_GRID)}
    notes["nash_chosen_whole_file"] = NASH_GRID[int(np.argmin(grid_errors.mean(axis=1)))]
    notes["nash_chosen_out_of_fold"] = {f"{NASH_GRID[g][0]} {NASH_GRID[g][1]:g}": int((choice == g).sum())
                                        for g in np.unique(choice)}
    if "ensemble" in central:      # its weights fitted out of fold too, on the cross-validated Nash forecasts
        members = np.column_stack([central[m] for m in ensemble.WEIGHTS])
        for c in np.unique(cluster):
            test = cluster == c
            central["ensemble"][test] = members[test] @ lad_weights(members[~test], outcomes[~test])
    names = list(MODELS)
    errors = np.column_stack([np.abs(central[n] - outcomes) for n in names])
    draws = bootstrap_mae(errors, cluster)
    base = names.index("compromise")
    diff = draws - draws[:, [base]]
    scores, standardized = [], {}
    for k, name in enumerate(names):
        bounds, crps, standardized[name] = cross_validated_distributions(problems, central[name], outcomes, cluster)
        inside = (outcomes >= bounds[:, 0] - 1e-9) & (outcomes <= bounds[:, 1] + 1e-9)
        low, high = np.percentile(draws[:, k], [2.5, 97.5])
        dlow, dhigh = np.percentile(diff[:, k], [2.5, 97.5])
        scores.append(Scores(name, float(errors[:, k].mean()), float(low), float(high), float(dlow), float(dhigh),
                             float(inside.mean()), float((bounds[:, 1] - bounds[:, 0]).mean()), float(crps.mean())))
    notes["standardized_errors"] = standardized
    notes["ensembles"] = ensemble_checks(central, outcomes, cluster)
    notes["n"] = (len(outcomes), len(problems), data.skipped)
    return scores, notes


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


ENSEMBLES = (("compromise", "exchange"), ("nash", "exchange"), ("exchange", "expected_utility"),
             ("compromise", "expected_utility"), tuple(m for m in MODELS if m != "ensemble"))


def ensemble_checks(central: dict[str, np.ndarray], outcomes: np.ndarray, cluster: np.ndarray) -> dict[str, tuple]:
    """Cross-validated MAE of weighted averages of models (weights by least absolute error on the other
    proposals), with the weights fitted on the whole file."""
    out = {}
    for members in ENSEMBLES:
        f = np.column_stack([central[m] for m in members])
        pred = np.empty_like(outcomes)
        for c in np.unique(cluster):
            test = cluster == c
            pred[test] = f[test] @ lad_weights(f[~test], outcomes[~test])
        out[" + ".join(members)] = (float(np.abs(pred - outcomes).mean()), lad_weights(f, outcomes).round(3).tolist())
    return out


def report(path: str) -> str:
    scores, notes = evaluate(path)
    n, proposals, skipped = notes["n"]
    lines = [f"{n} issues of {proposals} proposals ({skipped} rows skipped); leave-one-proposal-out",
             "", "| model | MAE | 95 % CI | MAE − compromise, 95 % CI | 80 % coverage | mean width | CRPS |",
             "|---|---|---|---|---|---|---|"]
    for s in sorted(scores, key=lambda s: s.mae):
        lines.append(f"| {s.model} | {s.mae:.2f} | [{s.mae_low:.2f}, {s.mae_high:.2f}] | "
                     f"{s.mae - scores[0].mae:+.2f} [{s.diff_low:+.2f}, {s.diff_high:+.2f}] | "
                     f"{100 * s.coverage:.0f} % | {s.width:.1f} | {s.crps:.2f} |")
    lines += ["", "Nash grid (power, failure cost: MAE on the whole file):",
              "  " + ", ".join(f"{k} {v:.2f}" for k, v in notes["nash_grid"].items()),
              f"Nash chosen on the whole file: {notes['nash_chosen_whole_file']}; out of fold: "
              f"{notes['nash_chosen_out_of_fold']}", "", "Ensembles (cross-validated MAE; weights on the whole file):"]
    lines += [f"  {k}: {mae:.2f} {w}" for k, (mae, w) in notes["ensembles"].items()]
    return "\n".join(lines)


def calibration(path: str) -> str:
    """intervals.ERRORS as Python source, from the cross-validated forecasts of every model."""
    _, notes = evaluate(path)
    rows = [f'    "{name}": ({", ".join(f"{v:.3f}" for v in intervals.error_quantiles(e))}),'
            for name, e in notes["standardized_errors"].items()]
    return "ERRORS = {\n" + "\n".join(rows) + "\n}"


if __name__ == "__main__":       # pragma: no cover - a report for the docs
    arguments = sys.argv[1:]
    if not arguments:
        sys.exit("usage: python -m sim.forecasting.validation FILE [--calibrate]")
    print(calibration(arguments[0]) if "--calibrate" in arguments else report(arguments[0]))
