"""The worker side of a sweep: play a batch of runs and return them as Arrow tables.

Kept apart from the parent's machinery (design, probe, scheduling, storage) so that the workers' fork server
imports only what a batch needs: no pandas, no samplers (`sim.sweep.executors.process` preloads this module).
"""

from __future__ import annotations

import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from sim.scenario import Scenario, ScenarioError, apply_params
from sim.service import Batch, play_batch, round_dates, runs_to_validate, setter_of
from sim.sweep.columns import arrow_array, conform, numbers_of

HISTORY_COLUMNS = ("round", "actor", "issue", "position", "reason", "utility", "tension", "proposal", "agreed",
                   "median", "mean", "date")
"""The columns of rounds.parquet after run_id, in the order of `service.history_of` (those a run has; `date` with a
calendar)."""

def describe(error: BaseException) -> str:
    """One line for the `error` column."""
    if isinstance(error, ScenarioError):
        return "invalid parameters: " + "; ".join(str(p) for p in error.problems)
    frames = traceback.extract_tb(error.__traceback__)
    where = f" (at {Path(frames[-1].filename).name}:{frames[-1].lineno})" if frames else ""
    message = str(error).replace("\n", " ")
    return f"{type(error).__name__}: {message}{where}" if message else f"{type(error).__name__}{where}"


def run_batch(scenario: Scenario, paths: Sequence[str], runs: Sequence[tuple[int, int, int, int, tuple]],
              rounds: bool, runs_schema: pa.Schema, rounds_schema: pa.Schema | None
              ) -> tuple[pa.Table, pa.Table | None, int]:
    """Run a batch; a run that raises becomes a row with its `error` and null outputs.

    Runs that share their values of the factors that need a scenario of their own (choices such as the mechanism
    or linkage, scales) go to `service.play_batch` together, each with its own values of the numeric factors and
    its own seed, rounds recorded or not; the service chooses the engine. Runs the schema could refuse, and the
    runs of a group that raised, go to the service one by one, so that each failure is recorded with its message.
    Returns (runs table, rounds table or None, number of failed runs)."""
    cheap = [k for k, path in enumerate(paths) if setter_of(scenario, path) is not None]
    cheap_paths = [paths[k] for k in cheap]
    dear = [k for k in range(len(paths)) if k not in set(cheap)]
    tables: list[pa.Table] = []
    histories: list[pa.Table] = []
    errors: list[dict[str, Any]] = []
    failed = 0

    def play(spec: Scenario, chosen: Sequence[tuple[int, int, int, int, tuple]], batch_paths: Sequence[str],
             values: np.ndarray | None) -> None:
        batch = play_batch(spec, [run[3] for run in chosen], batch_paths, values, rounds=rounds)
        tables.append(_columns_table(paths, chosen, batch.columns, runs_schema))
        if batch.rounds is not None:
            histories.append(conform(history_table(spec, batch, [run[0] for run in chosen]), rounds_schema))

    # runs that share their values of the dear factors play together wherever they are in the batch (a grid whose
    # last factor is a choice interleaves its values run by run); the rows are put back in run order below
    groups: dict[tuple, list[tuple[int, int, int, int, tuple]]] = {}
    for run in runs:
        groups.setdefault(tuple(run[4][k] for k in dear), []).append(run)
    for group_runs in groups.values():
        try:
            spec = apply_params(scenario, {paths[k]: group_runs[0][4][k] for k in dear}) if dear else scenario
        except Exception:
            spec = None     # invalid without the numeric values (a scale narrowed below a position): run by run
        alone = group_runs
        if spec is not None:
            values = np.array([[run[4][k] for k in cheap] for run in group_runs], dtype=float).reshape(
                len(group_runs), len(cheap))
            # runs whose values the schema could refuse run alone, which reports the problem as the run's error
            broken = runs_to_validate(spec, cheap_paths, values).tolist()
            together = [k for k in range(len(group_runs)) if not broken[k]]
            if together:
                try:
                    play(spec, [group_runs[k] for k in together], cheap_paths, values[together])
                except Exception:
                    pass    # run them one by one below, to record which runs fail and why
                else:
                    alone = [group_runs[k] for k in range(len(group_runs)) if broken[k]]
        for run in alone:
            try:
                play(apply_params(scenario, dict(zip(paths, run[4], strict=True))) if paths else scenario, [run],
                     (), None)
            except Exception as error:
                errors.append({**_ids(paths, run), "error": describe(error)})
                failed += 1
    if errors or not tables:
        tables.append(pa.Table.from_pylist(errors, schema=runs_schema))
    runs_table = _in_run_order(tables[0] if len(tables) == 1 else pa.concat_tables(tables))
    rounds_table = None
    if rounds_schema is not None:
        rounds_table = _in_run_order(pa.concat_tables(histories) if histories else rounds_schema.empty_table())
    return runs_table, rounds_table, failed


def _in_run_order(table: pa.Table) -> pa.Table:
    """The rows by run id (stable: a run's rounds keep their order); groups of a batch may interleave."""
    ids = numbers_of(table["run_id"])
    if len(ids) < 2 or (ids[1:] >= ids[:-1]).all():
        return table
    return table.take(arrow_array(np.argsort(ids, kind="stable")))


def history_table(scenario: Scenario, batch: Batch, run_ids: Sequence[int]) -> pa.Table:
    """A batch's round table as rounds.parquet rows: `run_id` from `run_ids` (one per seed of the batch), actors,
    issues and reasons as text (dictionary-encoded: ids by index), the columns in the order of `history_of`."""
    table = batch.rounds
    assert table is not None

    def labels(codes: np.ndarray, names: Sequence[str]) -> pa.Array:    # ids by index, cast to text in Arrow
        return pa.DictionaryArray.from_arrays(arrow_array(codes, pa.int32()),
                                              arrow_array(np.array(names, dtype=object)))

    columns = {"run_id": np.asarray(run_ids, dtype=np.int64)[table["run"]],
               "round": table["round"], "actor": labels(table["actor"], scenario.actor_ids),
               "issue": labels(table["issue"], scenario.issue_ids),
               "reason": labels(table["reason"], batch.reason_names)}
    if scenario.protocol.calendar is not None:
        columns["date"] = round_dates(scenario, table["round"])
    return pa.table({name: arrow_array(columns[name] if name in columns else table[name])     # model's order
                     for name in ("run_id", *HISTORY_COLUMNS) if name in columns or name in table})


def _ids(paths: Sequence[str], run: tuple[int, int, int, int, tuple]) -> dict[str, Any]:
    run_id, point, replicate, seed, values = run
    return {"run_id": run_id, "point": point, **dict(zip(paths, values, strict=True)), "replicate": replicate,
            "seed": seed}


def _columns_table(paths: Sequence[str], runs: Sequence[tuple], fields: dict[str, Any],
                   schema: pa.Schema) -> pa.Table:
    """Runs played together with their summary columns, in the schema's columns (absent ones null). Every column
    reaches Arrow through `columns.arrow_array`, which does not import pandas."""
    n = len(runs)
    ids, points, replicates, seeds, values = zip(*runs, strict=True) if n else ((), (), (), (), ())
    factor_values = dict(zip(paths, zip(*values, strict=True), strict=True))
    columns: dict[str, Any] = {"run_id": ids, "point": points, **factor_values, "replicate": replicates,
                               "seed": seeds, **fields}

    return pa.Table.from_arrays([arrow_array(columns[f.name], f.type) if f.name in columns else pa.nulls(n, f.type)
                                 for f in schema], schema=schema)
