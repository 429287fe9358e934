"""The overfitting checks behind docs/forecasting.md: every forecasting model, and each parameter chosen on a data
file against its alternatives, scored on the whole file, on its two halves and over random halves.

    .venv/bin/python scripts/forecast_checks.py ../shared/data/deu3_dev.tsv [--splits 1000]

Halves: the proposals (`prnr`) sorted, alternately into A and B. Random halves: `--splits` random partitions of the
proposals into two halves (seed 0); "both" is the share of them in which a variant beats the compromise model on
both halves.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sim.core import expected_utility_kernel as eu  # noqa: E402
from sim.forecasting import MODELS, Problem, compromise, exchange, nash  # noqa: E402
from sim.forecasting import backtest as bt  # noqa: E402
from sim.forecasting import expected_utility as eu_model  # noqa: E402

Variant = Callable[[Problem], np.ndarray]

VARIANTS: dict[str, Variant] = {
    "exchange LIMIT=actor (default)": exchange.forecast,
    "exchange LIMIT=position": lambda p: compromise.weighted_mean(
        exchange.exchanged_positions(p, limit="position"), p.weights()),
    **{f"exchange LIMIT=actor ROUNDS={r}": (lambda p, r=r: compromise.weighted_mean(
        exchange.exchanged_positions(p, rounds=r), p.weights())) for r in (2, 3)},
    **{f"exchange LIMIT=position ROUNDS={r}": (lambda p, r=r: compromise.weighted_mean(
        exchange.exchanged_positions(p, rounds=r, limit="position"), p.weights())) for r in (2, 3, 5)},
    "expected_utility SYMMETRIC (default)": eu_model.forecast,
    "expected_utility SCHOLZ_2011": lambda p: eu_model.forecast(p, eu.SCHOLZ_2011),
    "nash (default: quadratic, formal power)": nash.forecast,
    "nash linear": lambda p: nash.forecast(p, "linear"),
}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("file", type=Path)
    parser.add_argument("--splits", type=int, default=1000)
    args = parser.parse_args()
    data = bt.read_deu(args.file)
    outcomes = np.concatenate([p.outcomes for p in data.proposals])
    proposal = np.concatenate([[p.id] * len(p.issue_ids) for p in data.proposals])
    ids = np.array(sorted(set(proposal)))
    half_a = np.isin(proposal, ids[::2])
    rng = np.random.default_rng(0)
    splits = [np.isin(proposal, rng.choice(ids, len(ids) // 2, replace=False)) for _ in range(args.splits)]

    def errors(model: Variant) -> np.ndarray:
        return np.abs(np.concatenate([model(p.problem) for p in data.proposals]) - outcomes)

    base = errors(compromise.forecast)
    print(f"{len(outcomes)} issues, {len(ids)} proposals; half A {half_a.sum()} issues, half B {(~half_a).sum()}")
    print(f"{'':40s} {'all':>6s} {'A':>6s} {'B':>6s} {'both':>6s}")
    for name, model in {**{f"model {m}": MODELS[m] for m in MODELS}, **VARIANTS}.items():
        e = errors(model)
        both = np.mean([e[h].mean() < base[h].mean() and e[~h].mean() < base[~h].mean() for h in splits])
        print(f"{name:40s} {e.mean():6.2f} {e[half_a].mean():6.2f} {e[~half_a].mean():6.2f} {both:6.1%}")


if __name__ == "__main__":
    main()
