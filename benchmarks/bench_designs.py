"""Benchmark of one-replicate designs (Latin hypercube, Sobol) of the Feb-2022 baseline, beside `mesa.batch_run`.

Run from the repository root:
    .venv/bin/python benchmarks/bench_designs.py          # the full set (32 min before lockstep designs, busy machine)
    .venv/bin/python benchmarks/bench_designs.py --quick  # small sizes, a smoke check (about 1.5 min)
Options: --repeats K (default 3: medians of K), --repeats-large K (default 1, for designs of 50,000 runs or more),
--batch-run-points N (default all 10,000 LHS points), --skip CASE[,CASE] (lhs, sobol, command, batch_run, rounds).

The design: 8 numeric parameters of the baseline (`FACTORS`, ranges from its `uncertainty` section where it has
one), one replicate a point, root seed 1, so every point plays the same run seed (common random numbers).

1. `run_sweep` (sim.sweep's public entry point) with the process executor on 2 workers, into a temporary
   directory, progress off: an LHS design of 10,000 and 100,000 points and a Sobol (Saltelli) design of the
   same factors with 1,000 and 10,000 base rows (x (8 + 2) = 10,000 and 100,000 points).
2. The `negsim sweep` command of the 10,000-point LHS design (with and without `--rounds`), as a user types it,
   timed whole: Python start-up, imports, the workers' fork server, design, probe, runs, merge, printed summary.
   This is the end-to-end figure.
3. `mesa.batch_run` of the same LHS points (the first N of the 10,000) on 2 processes: a `NegotiationModel`
   subclass that takes a point's parameter values, applies them with `sim.scenario.apply_params` and plays
   with the sweep's run seed, recording only what batch_run returns (outcome, rounds, tension) in its
   DataCollector. The ratio sweep / batch_run compares the runs/s of both measured in this benchmark run, and
   the outcomes of both are compared run by run (they should be the same numbers). The command over batch_run's
   call (its imports excluded) is the ratio the issue's bar names.
4. `--rounds`: the 10,000-point LHS `run_sweep` that also records every round (rounds.parquet).
5. Peak memory: each measurement runs in a fresh Python process (this script with --child), which reports
   `resource.getrusage` maxrss of itself (the sweep's parent process) and of its largest child (a worker or
   the fork server: the fork server reaps its workers, and this process reaps the fork server), so "memory
   flat from 10k to 100k runs" can be read off the table.

Figures: "call s" is the median wall time of the `run_sweep(...)` / `mesa.batch_run(...)` call in a process that
has done its imports (worker start-up, design, probe, runs and Parquet output included); "e2e runs/s" is runs
over that time; "proc s" is the whole child process (Python start-up and imports too, as for `negsim sweep`);
"runs-only runs/s" is the rate the sweep reports for its runs alone (from its first task to its last part file);
"CPU ms/run" is the CPU time (user + system) of the whole measurement (the process from its start, its workers and
fork server) over the runs: less sensitive than wall time to other work on a shared machine.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import os
import platform
import re
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sim.scenario import apply_params, load_scenario  # noqa: E402

# Mesa and the model are imported only by the batch_run measurement (`point_model`): a sweep's fork server imports
# the script that starts the sweep, and a sweep measurement should not pay for imports only batch_run needs.

FACTORS = [
    "actors.russia.capability=0.6:1",               # ranges as the scenario's `uncertainty` section, where it has one
    "actors.nato.capability=0.45:0.75",
    "actors.us.saliences.missiles=0.4:0.8",
    "actors.russia.reservation_utility=0.35:0.55",
    "actors.us.reservation_utility=0.4:0.6",
    "actors.russia.outside_option.value=0.2:0.5",    # coded 0.35; no uncertainty range given
    "protocol.tension.hardening=0.3:0.7",
    "protocol.noise=0:0.04",
]
ROOT_SEED = 1
WORKERS = 2
LARGE = 50_000
"""Designs of this many runs or more are repeated `--repeats-large` times (each is minutes before lockstep)."""
COMPARED = ("outcome", "rounds", "tension")


# ====================================================================== the measurements (each in a fresh process)
def sweep_case(sampler: str, samples: int, rounds: bool = False, compare: int = 0,
               executor: str = "process") -> dict[str, Any]:
    """One `run_sweep` of the design into a temporary directory; its figures, and the compared columns of its
    first `compare` runs (for the check against batch_run)."""
    from sim.sweep import read_runs, run_sweep

    scenario = _baseline()
    with tempfile.TemporaryDirectory(prefix="negsim-bench-designs-") as tmp:
        start = time.perf_counter()
        report = run_sweep(scenario, FACTORS, out=Path(tmp) / "sweep", sampler=sampler, samples=samples,
                           replicates=1, seed=ROOT_SEED, executor=executor, workers=WORKERS, rounds=rounds,
                           overwrite=True, progress=False)
        call = time.perf_counter() - start
        found: dict[str, Any] = {"runs": report.n_runs, "call": call, "rate": report.runs_per_second,
                                 "failed": report.failed, "ended": time.time(),
                                 "rss_parent_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}
        if compare:
            table = read_runs(report.path).sort_values("run_id").head(compare)
            found["compared"] = {name: table[name].tolist() for name in COMPARED}
    return found


@functools.cache
def point_model() -> type:
    """`PointModel`: the baseline at one design point, for `mesa.batch_run` (which takes the cartesian product of
    its parameter lists, so a point travels as one value: the tuple of its parameter values)."""
    import mesa

    from sim.engine.model import NegotiationModel

    class PointModel(NegotiationModel):
        def __init__(self, paths: tuple[str, ...] = (), values: tuple[float, ...] = (), rng: Any = None) -> None:
            scenario = apply_params(_baseline(), dict(zip(paths, values, strict=True))) if paths else _baseline()
            super().__init__(scenario, rng=rng, collect=False)
            # batch_run reads its results from the model's DataCollector: the least it needs, one row per round
            self.datacollector = mesa.DataCollector(model_reporters={"outcome": "outcome", "rounds": "round",
                                                                     "tension": "tension"})
            self.datacollector.collect(self)

    PointModel.__module__, PointModel.__qualname__ = __name__, "PointModel"     # pickled by name: bench.PointModel
    return PointModel


def __getattr__(name: str) -> Any:
    if name == "PointModel":    # batch_run's worker processes unpickle it from this module
        return point_model()
    raise AttributeError(name)


@functools.cache
def _baseline():
    return load_scenario(ROOT / "scenarios" / "feb2022_baseline.yaml")


def batch_run_case(samples: int, points: int, processes: int = WORKERS) -> dict[str, Any]:
    """`mesa.batch_run` of the first `points` points of the LHS design of `samples` points, on `processes`."""
    from sim.sweep import make_design

    design = make_design(_baseline(), FACTORS, "lhs", samples=samples, replicates=1, root_seed=ROOT_SEED)
    paths = tuple(design.points.columns)        # the factors' paths, in the sweep's order
    values = [tuple(row) for row in design.points.to_numpy().tolist()[:points]]     # plain Python floats
    seed = int(design.seeds[0])     # one replicate: every point plays replicate 0's seed
    start = time.perf_counter()
    import mesa

    results = mesa.batch_run(point_model(), parameters={"paths": [paths], "values": values},
                             rng=[seed], number_processes=processes, max_steps=10_000, data_collection_period=-1,
                             display_progress=False)
    call = time.perf_counter() - start
    ended = time.time()
    results.sort(key=lambda row: row["RunId"])
    assert len(results) == len(values), f"batch_run returned {len(results)} rows for {len(values)} runs"
    return {"runs": len(values), "call": call, "rate": float("nan"), "failed": 0, "ended": ended,
            "compared": {name: [row[name] for row in results] for name in COMPARED}}


def command_line(sampler: str, samples: int, rounds: bool, out: Path) -> list[str]:
    """`negsim sweep` of the design, as a user types it."""
    negsim = Path(sys.executable).with_name("negsim")
    vary = [f"--vary={factor}" for factor in FACTORS]
    return [str(negsim), "sweep", str(ROOT / "scenarios" / "feb2022_baseline.yaml"), *vary, "--sampler", sampler,
            "--samples", str(samples), "--seed", str(ROOT_SEED), "--workers", str(WORKERS), "--out", str(out),
            "--overwrite", *(["--rounds"] if rounds else [])]


def command_case(sampler: str, samples: int, rounds: bool = False) -> dict[str, Any]:
    """The design as the `negsim sweep` command, timed from starting it to its exit: Python start-up, imports,
    the fork server, design, probe, runs, merge and the summary it prints. Memory and CPU (`child`): the command's
    processes (this child process reaps only the command, the command its fork server, the server its workers)."""
    with tempfile.TemporaryDirectory(prefix="negsim-bench-command-") as tmp:
        out = Path(tmp) / "sweep"
        start = time.perf_counter()
        done = subprocess.run(command_line(sampler, samples, rounds, out), cwd=ROOT, capture_output=True,
                              text=True, timeout=3600)
        wall = time.perf_counter() - start
        if done.returncode:
            raise SystemExit(f"negsim sweep failed:\n{done.stderr}")
        status = json.loads((out / "manifest.json").read_text())["status"]
    rate = re.search(r"\(([\d,]+) runs/s\)", done.stdout)
    return {"runs": status["runs"], "call": wall, "proc": wall, "failed": status["failed"], "ended": time.time(),
            "rate": float(rate.group(1).replace(",", "")) if rate else float("nan"), "rss_parent_kb": 0}


def reap_children(patience: float = 5.0) -> None:
    """End and reap this process's remaining children (the sweep's fork server, which has reaped its workers),
    so that RUSAGE_CHILDREN counts them. multiprocessing's resource tracker, which ignores SIGTERM and ends with
    this process, is left alone. Linux only (/proc); elsewhere nothing."""
    me = os.getpid()
    children = []
    for entry in os.listdir("/proc") if os.path.isdir("/proc") else []:
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as handle:
                    parent = int(handle.read().rsplit(")", 1)[1].split()[1])
                with open(f"/proc/{entry}/cmdline", "rb") as handle:
                    tracker = b"resource_tracker" in handle.read()
            except (OSError, ValueError, IndexError):
                continue
            if parent == me and not tracker:
                children.append(int(entry))
    for pid in children:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + patience
    while children and time.monotonic() < deadline:
        for pid in list(children):
            try:
                if os.waitpid(pid, os.WNOHANG)[0]:
                    children.remove(pid)
            except ChildProcessError:
                children.remove(pid)
        time.sleep(0.02)


def child(task: dict[str, Any]) -> None:
    """Run one measurement and print its figures as one JSON line."""
    if task["kind"] == "batch_run":
        found = batch_run_case(task["samples"], task["points"])
    elif task["kind"] == "command":
        found = command_case(task["sampler"], task["samples"], task.get("rounds", False))
    else:
        found = sweep_case(task["sampler"], task["samples"], task.get("rounds", False), task.get("compare", 0))
    reap_children()
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    found.setdefault("rss_parent_kb", own.ru_maxrss)     # a sweep's is taken at its end, before the comparison
    found["rss_child_kb"] = children.ru_maxrss
    found["cpu"] = children.ru_utime + children.ru_stime + (0 if task["kind"] == "command" else
                                                            own.ru_utime + own.ru_stime)
    print(json.dumps(found))


def measure(task: dict[str, Any]) -> dict[str, Any]:
    """One measurement in a fresh Python process; its figures plus `proc`: the wall time from starting the
    process to the end of the measured call (Python start-up and imports included; the checks after it not).
    A command measurement's `proc` is the command's own wall time (its child starts it and times it whole)."""
    start = time.time()
    done = subprocess.run([sys.executable, __file__, "--child", json.dumps(task)], cwd=ROOT, capture_output=True,
                          text=True, timeout=3600)
    if done.returncode:
        raise SystemExit(f"measurement {task} failed:\n{done.stderr}")
    found = json.loads(done.stdout.strip().splitlines()[-1])
    found.setdefault("proc", found["ended"] - start)
    return found


# ====================================================================== the table
def median(values: list[float]) -> float:
    return statistics.median(values)


def run_case(label: str, task: dict[str, Any], repeats: int, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """`repeats` measurements of one case; appends its row (medians of times and rates, the largest peak RSS)
    and prints it at once."""
    found = []
    for index in range(repeats):
        found.append(measure(task if index == 0 else {**task, "compare": 0}))
    call = median([f["call"] for f in found])
    row = {"label": label, "runs": found[0]["runs"], "repeats": repeats, "call": call,
           "e2e": found[0]["runs"] / call, "rate": median([f["rate"] for f in found]),
           "proc": median([f["proc"] for f in found]), "failed": max(f["failed"] for f in found),
           "cpu_ms": median([f["cpu"] for f in found]) / found[0]["runs"] * 1e3,
           "rss_parent": max(f["rss_parent_kb"] for f in found) / 1024,
           "rss_child": max(f["rss_child_kb"] for f in found) / 1024, "compared": found[0].get("compared")}
    rows.append(row)
    print(format_row(row), flush=True)
    return row


HEADER = (f"{'case':<38} {'runs':>8} {'reps':>4} {'call s':>8} {'e2e runs/s':>10} {'runs-only':>10} "
          f"{'proc s':>7} {'CPU ms/run':>10} {'parent MB':>9} {'child MB':>8}")


def format_row(row: dict[str, Any]) -> str:
    only = "-" if row["rate"] != row["rate"] else f"{row['rate']:,.0f}"     # NaN: batch_run reports no such rate
    failed = f"  ({row['failed']:,} failed runs!)" if row["failed"] else ""
    return (f"{row['label']:<38} {row['runs']:>8,} {row['repeats']:>4} {row['call']:>8.2f} {row['e2e']:>10,.0f} "
            f"{only:>10} {row['proc']:>7.1f} {row['cpu_ms']:>10.2f} {row['rss_parent']:>9.0f} "
            f"{row['rss_child']:>8.0f}{failed}")


def same_runs(first: dict[str, list[Any]], second: dict[str, list[Any]]) -> int:
    """How many runs have the same outcome, rounds and tension in both (compared exactly; NaN equals NaN)."""
    def equal(a: Any, b: Any) -> bool:
        return a == b or (a != a and b != b)

    return sum(all(equal(first[name][i], second[name][i]) for name in COMPARED)
               for i in range(min(len(first["outcome"]), len(second["outcome"]))))


def commit() -> str:
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                              check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,
                               capture_output=True, text=True).stdout.strip()
        return head + (" (with uncommitted changes)" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="small sizes and 1 repeat (a smoke check, about 1.5 minutes)")
    ap.add_argument("--repeats", type=int, default=3, help="repeats per measurement; medians are printed (default 3)")
    ap.add_argument("--repeats-large", type=int, default=1,
                    help=f"repeats of designs of {LARGE:,} runs or more (default 1)")
    ap.add_argument("--batch-run-points", type=int, default=None,
                    help="mesa.batch_run only the first N points of the LHS design (default all of them)")
    ap.add_argument("--skip", type=lambda text: set(text.split(",")), default=set(),
                    help="cases to leave out, comma-separated: lhs, sobol, command, batch_run, rounds")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(json.loads(args.child))
        return
    import mesa
    if args.repeats < 1 or args.repeats_large < 1:
        ap.error("--repeats and --repeats-large must be >= 1")
    unknown = args.skip - {"lhs", "sobol", "command", "batch_run", "rounds"}
    if unknown:
        ap.error(f"--skip: unknown case(s) {', '.join(sorted(unknown))} (lhs, sobol, command, batch_run, rounds)")

    d = len(FACTORS)
    from sim.sweep import make_design
    from sim.sweep.samplers import SAMPLERS

    axes = make_design(_baseline(), FACTORS, "lhs", samples=1, replicates=1, root_seed=ROOT_SEED).factors
    lhs_sizes = [1_000, 2_000] if args.quick else [10_000, 100_000]
    sobol_rows = [100, 200] if args.quick else [1_000, 10_000]      # points = rows x (d + 2)
    rounds_size = lhs_sizes[0]
    repeats = 1 if args.quick else args.repeats
    points = min(args.batch_run_points or lhs_sizes[0], lhs_sizes[0])

    print(f"negsim one-replicate designs of the Feb-2022 baseline: {d} factors, 1 replicate a point, root seed "
          f"{ROOT_SEED}; sweeps on the process executor with {WORKERS} workers, batch_run on {WORKERS} processes")
    print(f"CPUs: {os.cpu_count()} (available to this process: {len(os.sched_getaffinity(0))}); load average "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}; Python {platform.python_version()}; mesa "
          f"{mesa.__version__}; commit {commit()}; {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    print("factors: " + ", ".join(FACTORS))
    print(f"medians of {repeats} repeats ({args.repeats_large} for {LARGE:,} runs or more); memory: the largest "
          "peak RSS over the repeats of the sweep's own process (parent) and of its largest child process\n")
    print(HEADER, flush=True)

    rows: list[dict[str, Any]] = []
    by_size: dict[int, dict[str, Any]] = {}
    # the LHS case is the reference (the batch_run comparison, the scaling by size): a flag of the case, and what
    # differs between samplers (points per sample, a Saltelli design's base rows) read from the sampler itself
    for label, sampler, sizes, key, reference in (("LHS sweep", "lhs", lhs_sizes, "lhs", True),
                                                  ("Sobol sweep", "sobol", sobol_rows, "sobol", False)):
        if key in args.skip:
            continue
        plugin = SAMPLERS.get(sampler)
        for samples in sizes:
            runs = plugin.size(axes, samples)
            compare = points if reference and samples == sizes[0] and "batch_run" not in args.skip else 0
            row = run_case(f"{label}{' (' + str(samples) + ' base rows)' if plugin.saltelli else ''}",
                           {"kind": "sweep", "sampler": sampler, "samples": samples, "compare": compare},
                           args.repeats_large if runs >= LARGE else repeats, rows)
            if reference:
                by_size[samples] = row
    commands: dict[bool, dict[str, Any]] = {}
    if "command" not in args.skip:
        for rounds in (False, True):
            if rounds and "rounds" in args.skip:
                continue
            commands[rounds] = run_case(f"negsim sweep command, LHS{' --rounds' if rounds else ''}",
                                        {"kind": "command", "sampler": "lhs", "samples": lhs_sizes[0],
                                         "rounds": rounds}, repeats, rows)
    batch = None
    if "batch_run" not in args.skip:
        subset = "" if points == lhs_sizes[0] else f" (first {points:,})"
        batch = run_case(f"mesa.batch_run, LHS points{subset}",
                         {"kind": "batch_run", "samples": lhs_sizes[0], "points": points}, repeats, rows)
    if "rounds" not in args.skip:
        run_case("LHS sweep --rounds", {"kind": "sweep", "sampler": "lhs", "samples": rounds_size, "rounds": True},
                 repeats, rows)

    print()
    sweep = by_size.get(lhs_sizes[0])
    if batch is not None and False in commands:
        print(f"negsim sweep command / batch_run, {lhs_sizes[0]:,}-point LHS design: "
              f"{commands[False]['e2e'] / batch['e2e']:.1f}x (the whole command, Python start-up included, over "
              "batch_run's call)")
    if batch is not None and sweep is not None:
        which = "all points" if points == lhs_sizes[0] else f"batch_run on the first {points:,} points"
        whole = sweep["runs"] / sweep["proc"] / (batch["runs"] / batch["proc"])
        print(f"sweep / batch_run, {lhs_sizes[0]:,}-point LHS design ({which}): {sweep['e2e'] / batch['e2e']:.1f}x "
              f"end to end (call), {whole:.1f}x as whole processes, {sweep['rate'] / batch['e2e']:.1f}x the sweep's "
              "runs-only rate over batch_run's")
        same = same_runs(sweep["compared"], batch["compared"])
        print(f"same outcome, rounds and tension in sweep and batch_run: {same:,} of {points:,} runs"
              + ("" if same == points else "  <-- NOT THE SAME NUMBERS"))
    if len(by_size) == 2:
        small, large = (by_size[n] for n in lhs_sizes)
        print(f"memory, LHS {lhs_sizes[0]:,} -> {lhs_sizes[1]:,} runs: parent {small['rss_parent']:.0f} -> "
              f"{large['rss_parent']:.0f} MB, largest child {small['rss_child']:.0f} -> {large['rss_child']:.0f} MB")
    print(f"load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())} (other work on the machine "
          "slows the wall-clock figures; CPU ms/run much less)")
    failed = sum(row["failed"] for row in rows)
    if failed:
        print(f"WARNING: {failed:,} runs failed (see the table); their rates are not comparable")


if __name__ == "__main__":
    main()
