"""P(talks broken off by a date): the share of seeds whose talks end in breakdown in a round dated on or before it.

    .venv/bin/python scripts/broken_off_by.py [SCENARIO] [--date 2022-02-24] [--seeds 1000]

A report of the model (its uncertain inputs drawn per seed, its dated injects on their dates), not a fit: nothing
in the scenario is tuned to the date. Prints the share with its 95 % Wilson score interval, and the outcome shares
by that date. The README and docs/model.md quote its figure for the Feb-2022 baseline.
"""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path

import numpy as np

from sim import service
from sim.core.intervals import wilson
from sim.scenario import ScenarioError, load_scenario

BASELINE = Path(__file__).resolve().parents[1] / "scenarios" / "feb2022_baseline.yaml"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("scenario", nargs="?", default=str(BASELINE))
    parser.add_argument("--date", default="2022-02-24", type=dt.date.fromisoformat)
    parser.add_argument("--seeds", default=1000, type=int)
    args = parser.parse_args()
    try:
        scenario = load_scenario(args.scenario)
    except ScenarioError as error:
        raise SystemExit(str(error)) from None
    if scenario.protocol.calendar is None:
        raise SystemExit(f"{args.scenario}: no protocol.calendar, so no round has a date")
    runs = service.monte_carlo(scenario, args.seeds)
    dates = np.array([dt.date.fromisoformat(d) for d in runs["date"]])
    by_then = dates <= args.date
    broken = int(((runs["outcome"] == "breakdown") & by_then).sum())
    low, high = wilson(broken, len(runs))[1:3]
    print(f"{scenario.id}: P(talks broken off by {args.date:%d %b %Y}) = {broken}/{len(runs)} = "
          f"{broken / len(runs):.3f} (95 % Wilson interval {low:.3f}-{high:.3f}); seeds from root "
          f"{scenario.protocol.seed}, uncertain inputs drawn")
    print(f"  ended by then: {int(by_then.sum())} runs; outcomes of all runs: "
          + ", ".join(f"{k} {v / len(runs):.3f}" for k, v in runs["outcome"].value_counts().items()))
    late = runs["outcome"][~by_then].value_counts()
    print("  runs still talking on that date end later in: " + ", ".join(f"{k} {v}" for k, v in late.items()))


if __name__ == "__main__":
    main()
