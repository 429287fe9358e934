"""Cross-validation by proposal on a DEU file: how every parameter chosen on the development file was chosen, and
the figures docs/forecasting.md reports (MAE with a 95 % bootstrap interval, interval coverage and width, CRPS).

    python -m sim.forecasting.validation ../shared/data/deu3_dev.tsv              # the figures (markdown)
    python -m sim.forecasting.validation ../shared/data/deu3_dev.tsv --calibrate  # each model's ERRORS as code

Folds: leave one proposal out (the issues of a proposal share actors and are decided together, so they are never
split between the part a choice is made on and the part it is scored on). A parameter's figure is nested: for each
held-out proposal the parameter is chosen on the other proposals, and the held-out proposal is forecast with that
choice; the value shipped is the one chosen on the whole file. Interval calibration is cross-validated the same
way: the held-out proposal's distributions use error quantiles measured on the other proposals' (cross-validated)
forecasts.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from sim.forecasting import BASELINE, MODELS, intervals
from sim.forecasting.folds import choose_out_of_fold as choose_out_of_fold  # the helpers, for the tests
from sim.forecasting.folds import forecasts_by, weighted_out_of_fold
from sim.forecasting.folds import lad_weights as lad_weights
from sim.forecasting.problem import Problem

BOOTSTRAP_SAMPLES = 2000
BOOTSTRAP_SEED = 20061


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
    notes: dict[str, Any] = {"tuning": {}}
    # a model whose parameters were chosen on the file: chosen out of fold; then those that combine the others,
    # fitted out of fold on the others' cross-validated forecasts
    for name, model in MODELS.items():
        if model.tune is not None:
            tuned = model.tune(problems, outcomes, cluster)
            central[name] = tuned.forecasts
            notes["tuning"][name] = tuned.lines
    for name, model in MODELS.items():
        if model.combine is not None:
            central[name] = model.combine(central, outcomes, cluster)
    names = list(MODELS)
    errors = np.column_stack([np.abs(central[n] - outcomes) for n in names])
    draws = bootstrap_mae(errors, cluster)
    base = names.index(BASELINE)
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


ENSEMBLES = (("compromise", "exchange"), ("nash", "exchange"), ("exchange", "expected_utility"),
             ("compromise", "expected_utility"))
"""The combinations docs/forecasting.md reports, besides all the models that combine none of the others."""


def ensembles() -> tuple[tuple[str, ...], ...]:
    return (*ENSEMBLES, tuple(m for m, model in MODELS.items() if not model.combines_others))


def ensemble_checks(central: dict[str, np.ndarray], outcomes: np.ndarray, cluster: np.ndarray) -> dict[str, tuple]:
    """Cross-validated MAE of weighted averages of models (weights by least absolute error on the other
    proposals), with the weights fitted on the whole file."""
    out = {}
    for members in ensembles():
        f = np.column_stack([central[m] for m in members])
        pred = weighted_out_of_fold(f, outcomes, cluster)
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
    for tuning in notes["tuning"].values():
        lines += ["", *tuning]
    lines += ["", "Ensembles (cross-validated MAE; weights on the whole file):"]
    lines += [f"  {k}: {mae:.2f} {w}" for k, (mae, w) in notes["ensembles"].items()]
    return "\n".join(lines)


def calibration(path: str) -> str:
    """Every model's interval calibration (its `ERRORS`, declared in its module) as Python source, from the
    cross-validated forecasts of every model."""
    _, notes = evaluate(path)
    rows = [f'{name}: ERRORS = ({", ".join(f"{v:.3f}" for v in intervals.error_quantiles(e))})'
            for name, e in notes["standardized_errors"].items()]
    return "\n".join(rows)


if __name__ == "__main__":       # pragma: no cover - a report for the docs
    arguments = sys.argv[1:]
    if not arguments:
        sys.exit("usage: python -m sim.forecasting.validation FILE [--calibrate]")
    print(calibration(arguments[0]) if "--calibrate" in arguments else report(arguments[0]))
