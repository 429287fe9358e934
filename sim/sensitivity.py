"""One-parameter sensitivity: the outcome shares of a scenario as one parameter moves along a range.

A small sweep for interactive use (the dashboard's "vary this slider"): at each value the scenario is edited
with `apply_params` and played with the same replicate seeds (common random numbers, as in `negsim sweep`),
through `service.summaries` - lockstep where the scenario allows it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from sim import service
from sim.mechanism import OUTCOMES
from sim.scenario import Scenario, ScenarioError, apply_params


def vary_one(scenario: Scenario, path: str, values: Sequence[Any], replicates: int,
             root_seed: int | None = None) -> pd.DataFrame:
    """One row per value of `path`: value, the share of runs ending in each outcome (columns named after the
    outcomes), mean rounds, runs, and `problem` (why the value makes no valid scenario, else None)."""
    seeds = service.replicate_seeds(scenario.protocol.seed if root_seed is None else root_seed, replicates)
    rows = []
    for value in values:
        row: dict[str, Any] = {"value": value, "runs": 0, "rounds": np.nan, "problem": None,
                               **{outcome: np.nan for outcome in OUTCOMES}}
        try:
            edited = apply_params(scenario, {path: value})
        except ScenarioError as error:
            row["problem"] = "; ".join(str(p) for p in error.problems)
            rows.append(row)
            continue
        summary = service.summaries(edited, seeds)
        outcomes = np.asarray(summary["outcome"], dtype=object)
        row.update({outcome: float(np.mean(outcomes == outcome)) for outcome in OUTCOMES})
        row["rounds"] = float(np.mean(summary["rounds"]))
        row["runs"] = len(seeds)
        rows.append(row)
    return pd.DataFrame(rows)
