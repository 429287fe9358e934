"""Running a sweep: batches of runs on an executor, per-run error capture, streaming to disk, resume.

The parent process owns the directory: it submits batches (a bounded number in flight, so memory does not
grow with the number of runs), writes each finished batch as a part file, and at the end merges the parts
into ``runs.parquet`` / ``rounds.parquet``. Workers only compute: `run_batch` gets the base scenario once per
batch plus ``(run_id, point, replicate, seed, parameter values)`` per run, and returns Arrow tables.
"""

from __future__ import annotations

import asyncio
import concurrent.futures as cf
import contextlib
import math
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from sim.core.streams import DRAWS
from sim.scenario import Scenario, ScenarioError, apply_params
from sim.service import play_batch, prepare, replicate_seeds
from sim.sweep.base import SweepError, SweepInterrupted
from sim.sweep.columns import schema_to_json
from sim.sweep.design import Design, Vary, make_design
from sim.sweep.directory import RUNS, Expected, SweepDir
from sim.sweep.executors import EXECUTORS, open_executor, scheduled_executors, start_early
from sim.sweep.manifest import (
    FORMAT,
    differences,
    refuse_other_draws,
    refuse_other_version,
    scenario_hash,
    timestamp,
    versions,
)
from sim.sweep.merge import InOrderWriter
from sim.sweep.results import damaged_result
from sim.sweep.worker import describe, history_table, run_batch

TASK_SECONDS = 0.5
"""Target work per task: per-task overhead (pickling, scheduling, a part file) dwarfs a single ~2 ms run."""
MAX_BATCH = 10_000
PROBE_RUNS = 256
"""Runs timed before a sweep starts (a batch of the design's first runs) to size its batches."""
ID_COLUMNS = ("run_id", "point")
SEED_COLUMNS = ("replicate", "seed")
ARROW_TYPES = {"float": pa.float64(), "int": pa.int64(), "str": pa.string(), "bool": pa.bool_()}


# ====================================================================== the worker side
def _arrow_type(value: Any) -> pa.DataType:
    if isinstance(value, (bool, np.bool_)):
        return pa.bool_()
    if isinstance(value, (int, np.integer)):
        return pa.int64()
    if isinstance(value, str):
        return pa.string()
    return pa.float64()


def _union(order: list[str], keys: Sequence[str]) -> None:
    """Add the new keys to `order`, each after its predecessor in `keys`."""
    previous = None
    for key in keys:
        if key not in order:
            order.insert(order.index(previous) + 1 if previous is not None else 0, key)
        previous = key


def _plain_type(t: pa.DataType) -> pa.DataType:
    if pa.types.is_large_string(t) or pa.types.is_string_view(t):
        return pa.string()
    if pa.types.is_dictionary(t):
        return _plain_type(t.value_type)
    return t


def probe(scenario: Scenario, design: Design, rounds: bool) -> tuple[pa.Schema, pa.Schema | None, float]:
    """Output schemas (from runs of the base scenario and of each choice value set alone, so that columns such
    as `prediction.*` are known when the mechanism is varied) and the seconds one run takes, timed on a batch
    of the design's first runs as the sweep will run them."""
    variants = [scenario]
    for factor in design.factors:
        if factor.dtype in ("str", "bool"):
            for value in factor.values[:20]:
                with contextlib.suppress(ScenarioError):
                    variants.append(apply_params(scenario, {factor.path: value}))
    keys: list[str] = []
    types: dict[str, pa.DataType] = {}
    hist_names: list[str] = []
    hist_types: dict[str, pa.DataType] = {}
    seeds = replicate_seeds(design.root_seed, 2)
    for index, variant in enumerate(variants):
        try:    # two runs, whatever the replicates: the engine the service picks gives the columns
            batch = play_batch(variant, seeds, rounds=rounds)
        except Exception as error:
            if index == 0:
                raise SweepError(f"the scenario itself fails to run: {describe(error)}") from None
            continue
        row = {name: column[0] for name, column in batch.columns.items()}
        if batch.rounds is not None:
            history = history_table(variant, batch, range(len(seeds)))
            _union(hist_names, history.schema.names)
            for f in history.schema:
                hist_types.setdefault(f.name, _plain_type(f.type))
        _union(keys, list(row))
        for key, value in row.items():
            types.setdefault(key, _arrow_type(value))
    fields = [pa.field(c, pa.int64()) for c in ID_COLUMNS]
    fields += [pa.field(f.path, ARROW_TYPES[f.dtype]) for f in design.factors]
    fields += [pa.field(c, pa.int64()) for c in SEED_COLUMNS]
    fields += [pa.field(k, types[k]) for k in keys if k not in {f.name for f in fields}]
    fields.append(pa.field("error", pa.string()))
    runs_schema = pa.schema(fields)
    rounds_schema = None
    if rounds:
        rounds_schema = pa.schema([pa.field("run_id", pa.int64())] +
                                  [pa.field(n, hist_types[n]) for n in hist_names if n != "run_id"])
    # the seconds a run takes, as the sweep will run them: a batch of the design's first runs
    sample = design.runs(range(min(design.n_runs, PROBE_RUNS)))
    start = time.perf_counter()
    run_batch(scenario, design.paths, sample, rounds, runs_schema, rounds_schema)
    return runs_schema, rounds_schema, (time.perf_counter() - start) / len(sample)


# ====================================================================== batching
def auto_batch_size(seconds_per_run: float, pending: int, workers: int, in_process: bool = False) -> int:
    """About TASK_SECONDS of work per task, but at least ~4 tasks per worker so the pool stays balanced (a pool
    that runs batches in this process has none to balance)."""
    size = int(TASK_SECONDS / max(seconds_per_run, 1e-5))
    if not in_process:
        size = min(size, math.ceil(pending / (4 * max(workers, 1))))
    return max(1, min(size, MAX_BATCH))


def batches(pending: np.ndarray, size: int) -> Iterator[np.ndarray]:
    """Batches of at most `size` runs, as even as can be (50 runs by 7: seven of 7 and one of 1 would leave the
    last batch to one worker while the other idles; 7 of 6 or 7 do not)."""
    count = math.ceil(len(pending) / max(size, 1))
    yield from (part for part in np.array_split(pending, count) if len(part)) if count else ()


# ====================================================================== progress
ProgressCallback = Callable[[int, int, int], None]
"""Told (runs done, runs in all, failed runs) when a sweep starts and after each batch: a dashboard's bar."""


class Progress:
    """A rich progress bar on stderr (runs, runs/s, ETA, failures); silent when disabled or not a TTY. Given a
    callable instead of True/False, tells it the progress instead (`ProgressCallback`)."""

    def __init__(self, total: int, done: int, failed: int, enabled: bool | ProgressCallback):
        self.callback = enabled if callable(enabled) else None
        self.enabled = enabled is True and sys.stderr.isatty()
        self.total, self.done, self.failed = total, done, failed
        self.started = time.perf_counter()
        self.session = 0
        self._bar: Any = None

    def __enter__(self) -> Progress:
        if self.enabled:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeRemainingColumn
            from rich.progress import Progress as Bar

            self._bar = Bar(TextColumn("[bold]sweep"), BarColumn(), MofNCompleteColumn(),
                            TextColumn("{task.fields[rate]}"), TextColumn("ETA"), TimeRemainingColumn(),
                            TextColumn("{task.fields[failed]}"), console=Console(stderr=True), transient=False)
            self._bar.start()
            self._task = self._bar.add_task("sweep", total=self.total, completed=self.done,
                                            rate="", failed=self._failed_text())
        if self.callback is not None:
            self.callback(self.done, self.total, self.failed)
        return self

    def _failed_text(self) -> str:
        return f"[red]{self.failed:,} failed" if self.failed else ""

    def advance(self, runs: int, failed: int) -> None:
        self.session += runs
        self.done += runs
        self.failed += failed
        if self._bar is not None:
            rate = self.session / max(time.perf_counter() - self.started, 1e-9)
            self._bar.update(self._task, advance=runs, rate=f"{rate:,.0f} runs/s", failed=self._failed_text())
        if self.callback is not None:
            self.callback(self.done, self.total, self.failed)

    def __exit__(self, *exc: Any) -> None:
        if self._bar is not None:
            self._bar.stop()


# ====================================================================== the sweep
@dataclass
class SweepReport:
    """What a sweep did; `summary` holds outcome shares and per-issue agreement rates of the whole table."""

    path: Path
    n_points: int
    n_runs: int
    resumed: int                # runs found on disk from an earlier, interrupted session
    ran: int                    # runs computed in this session
    failed: int                 # failed runs in the whole table
    seconds: float              # wall time of this session's runs (from the first task to the last part file)
    executor: str
    batch_size: int | None
    outcomes: dict[str, float] = field(default_factory=dict)
    agreement: dict[str, float] = field(default_factory=dict)
    startup: float = 0.0        # seconds to start the executor (worker processes, cluster connection)

    @property
    def runs_per_second(self) -> float:
        return self.ran / self.seconds if self.seconds > 0 else float("nan")




def _summarise(path: Path) -> tuple[dict[str, float], dict[str, float], int]:
    """Outcome shares and per-issue agreement rates over the successful runs, and the number of failures
    (streaming over row groups, so memory stays flat)."""
    with damaged_result(path / RUNS):
        return _summarise_file(path)


def _summarise_file(path: Path) -> tuple[dict[str, float], dict[str, float], int]:
    source = pq.ParquetFile(path / RUNS)
    names = source.schema_arrow.names
    issues = [n for n in names if n.startswith("agreed.")]
    columns = ["error"] + (["outcome"] if "outcome" in names else []) + issues
    total = ok_rows = 0
    counts: dict[str, int] = {}
    agreed = dict.fromkeys(issues, 0)
    for batch in source.iter_batches(batch_size=65_536, columns=columns):
        total += batch.num_rows
        ok = pa.Table.from_batches([batch]).filter(pc.is_null(batch.column("error")))
        ok_rows += ok.num_rows
        if "outcome" in names:
            for item in pc.value_counts(ok["outcome"]).to_pylist():
                if item["values"] is not None:
                    counts[item["values"]] = counts.get(item["values"], 0) + int(item["counts"])
        for name in issues:
            agreed[name] += int(pc.sum(pc.cast(ok[name], pa.int64())).as_py() or 0)
    order = ["agreement", "partial", "stalemate", "breakdown"]
    outcomes = {value: counts[value] / ok_rows
                for value in sorted(counts, key=lambda v: (order.index(v) if v in order else 99, v))}
    agreement = {name.split(".", 1)[1]: agreed[name] / ok_rows for name in issues} if ok_rows else {}
    return outcomes, agreement, total - ok_rows


def run_sweep(scenario: Scenario | str | Path, vary: Vary = None, *, out: str | Path, sampler: str = "grid",
              samples: int | None = None, replicates: int = 1, seed: int | None = None,
              executor: Any = "process", workers: int | None = None, scheduler: str | None = None,
              batch_size: int | None = None, rounds: bool = False, overwrite: bool = False,
              progress: bool | ProgressCallback = True) -> SweepReport:
    """Run (or resume) a sweep into the directory `out`; see `sim.sweep.sweep` for the arguments. `progress` may be
    a callable, told (runs done, runs in all, failed) as the batches finish."""
    start_early(executor)     # if it is not running yet: it starts while the design and probe run here
    spec = prepare(scenario)
    design = make_design(spec, vary, sampler, samples, replicates, seed)
    if isinstance(executor, str) and executor not in EXECUTORS:
        raise SweepError(f"--executor must be one of {', '.join(EXECUTORS)} (got {executor!r})")
    if scheduler and not (isinstance(executor, str) and EXECUTORS.get(executor).scheduler):
        raise SweepError(f"--scheduler needs --executor {' or '.join(scheduled_executors())}")
    if workers is not None and workers < 1:
        raise SweepError(f"--workers must be >= 1 (got {workers})")
    if batch_size is not None and batch_size < 1:
        raise SweepError(f"--batch-size must be >= 1 (got {batch_size})")
    store = SweepDir(out)
    store.check_usable()
    opened = time.perf_counter()
    # The executor first: a scheduler that cannot be reached (or workers that cannot start) leaves --out untouched.
    with open_executor(executor, workers, scheduler) as pool:
        startup = time.perf_counter() - opened
        store.path.mkdir(parents=True, exist_ok=True)
        with store.lock():
            manifest = store.read_manifest()
            if manifest is not None and overwrite:
                store.reset()
                manifest = None
            runs_schema, rounds_schema, per_run = probe(spec, design, rounds)
            design_doc = {"scenario_id": spec.id, "scenario_sha256": scenario_hash(spec), **design.to_json(),
                          "rounds": bool(rounds)}
            columns = {"runs": schema_to_json(runs_schema), "rounds": schema_to_json(rounds_schema)}
            if manifest is not None:
                refuse_other_draws(store.path, manifest)
                if not manifest.get("status", {}).get("complete"):
                    refuse_other_version(store.path, manifest)
                diffs = differences(manifest.get("design", {}), design_doc)
                if diffs:
                    raise SweepError(f"{store.path} holds a different sweep: {'; '.join(diffs)}. "
                                     "Use --overwrite to start over, or choose another --out.")
                if manifest.get("columns") != columns:
                    raise SweepError(f"{store.path} was written with other output columns (by another negsim "
                                     "version?). Use --overwrite to start over, or choose another --out.")
            else:
                manifest = {"format": FORMAT, "draws": DRAWS, "created": timestamp(), "design": design_doc,
                            "columns": columns,
                            "versions": versions(), "status": {"complete": False},
                            "scenario": spec.model_dump(mode="json", by_alias=True, exclude_none=True)}
                store.write_manifest(manifest)

            if manifest.get("status", {}).get("complete") and store.runs_path.exists() and (
                    not rounds or store.rounds_path.exists()):
                store.remove_parts()
                outcomes, agreement, failed = _summarise(store.path)
                return SweepReport(store.path, design.n_points, design.n_runs, design.n_runs, 0, failed, 0.0,
                                   "none (already complete)", None, outcomes, agreement)

            expected = Expected(design.replicates, design.seeds.of, design.columns)
            parts, done = store.scan(design.n_runs, rounds_schema is not None, expected)
            pending = np.flatnonzero(~done)
            resumed = design.n_runs - len(pending)
            failed_before = sum(p.failed for p in parts)
            size = batch_size
            description = "none (all runs on disk)"
            seconds = 0.0
            # a sweep from its first run writes its tables as the batches finish; a resumed one merges its parts
            writer = (InOrderWriter(store.runs_path, store.rounds_path, runs_schema, rounds_schema)
                      if not resumed and len(pending) else None)
            merged = False
            try:
                if len(pending):
                    started = time.perf_counter()
                    description = pool.description
                    size = batch_size or auto_batch_size(per_run, len(pending), pool.workers, pool.in_process)
                    with Progress(design.n_runs, resumed, failed_before, progress) as bar:
                        _execute(pool, spec, design, pending, size, rounds, runs_schema, rounds_schema, store, bar,
                                 writer)
                    seconds = time.perf_counter() - started
                merged = writer is not None and writer.finish(design.n_runs)
            finally:
                if writer is not None and not merged:
                    writer.abort()
            if not merged:     # (a writer that finished holds every run)
                parts, done = store.scan(design.n_runs, rounds_schema is not None, expected)
                if not done.all():     # pragma: no cover - defensive: every batch was written
                    raise SweepError(f"{store.path}: {int((~done).sum())} runs are missing; re-run to finish them")
                store.consolidate(parts, design.n_runs, runs_schema, rounds_schema)
            manifest["status"] = {"complete": True, "runs": design.n_runs, "finished": timestamp()}
            if rounds_schema is None and store.rounds_path.exists():
                store.rounds_path.unlink()
            store.write_manifest(manifest)
            store.remove_parts()
            outcomes, agreement, failed = _summarise(store.path)
            manifest["status"]["failed"] = failed
            store.write_manifest(manifest)
    return SweepReport(store.path, design.n_points, design.n_runs, resumed, len(pending), failed, seconds,
                       description, size, outcomes, agreement, startup)


def _execute(pool: Any, spec: Scenario, design: Design, pending: np.ndarray, size: int, rounds: bool,
             runs_schema: pa.Schema, rounds_schema: pa.Schema | None, store: SweepDir, bar: Progress,
             writer: InOrderWriter | None = None) -> None:
    """Submit batches with a bounded number in flight; write each finished batch as a part file (and hand it to
    `writer`, which writes the final tables as the batches finish)."""
    todo = batches(pending, size)
    in_flight: dict[cf.Future, np.ndarray] = {}
    limit = 2 * pool.workers + 2
    paths = design.paths

    def submit_next() -> None:
        batch = next(todo, None)
        if batch is not None:
            future = pool.executor.submit(run_batch, spec, paths, design.runs(batch), rounds, runs_schema,
                                          rounds_schema)
            in_flight[future] = batch

    try:
        for _ in range(limit):
            submit_next()
        while in_flight:
            finished, _ = cf.wait(list(in_flight), return_when=cf.FIRST_COMPLETED)
            for future in sorted(finished, key=lambda f: int(in_flight[f][0])):
                batch = in_flight.pop(future)
                try:
                    runs_table, rounds_table, failed = future.result()
                except (Exception, asyncio.CancelledError) as error:
                    lost = pool.lost(error)     # the executor itself is gone (its own words), not a failing batch
                    if lost:
                        raise SweepError(f"{lost}; the finished runs are saved in {store.path}, re-run the same "
                                         "command to resume") from None
                    what = f"{type(error).__name__}: {error}".splitlines()[0]
                    raise SweepError(f"a batch of runs {int(batch[0])}..{int(batch[-1])} failed outside the "
                                     f"model ({what}); the finished runs are saved in "
                                     f"{store.path}, re-run the same command to resume") from None
                store.write_batch(int(batch[0]), runs_table, rounds_table)
                if writer is not None:
                    tables = [runs_table] + ([] if rounds_table is None else [rounds_table])
                    writer.add(int(batch[0]), len(batch), tables)
                bar.advance(len(batch), failed)
                submit_next()
    except KeyboardInterrupt:
        for future in in_flight:
            future.cancel()
        raise SweepInterrupted(store.path, bar.done, design.n_runs) from None
