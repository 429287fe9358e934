"""Benchmark of headless sweeps: `negsim sweep` against `mesa.batch_run`, and the sweep's peak memory.

Run from the repository root:  .venv/bin/python benchmarks/bench_sweep.py [--runs 2000,10000] [--repeats 3] [--full]

1. Throughput, same model (the Feb-2022 baseline `NegotiationModel`), same number of runs (2k and 10k), 2 workers:
   - `negsim sweep --replicates RUNS --executor process --workers 2`, end to end as a command (Python start-up,
     imports, worker pool, Parquet output included), and the rate it reports for the runs alone (a point's
     replicates run in lockstep, `sim.engine.lockstep`: the same numbers as one model per seed);
   - `mesa.batch_run(NegotiationModel, parameters={}, rng=[seeds], number_processes=2)`: batch_run needs the
     model's DataCollector, so the model records every round (its default);
   - `mesa.batch_run` of a lean subclass that records only the outcome, to separate the cost of per-round
     collection from the cost of one task per run.
   batch_run is timed both as a script in a fresh Python process (start-up and imports included, like the
   command) and inside this already warm process (like the runs-only rate the sweep reports).
   Each is timed `--repeats` times (wall clock); medians are printed, with the fixed cost of the command: the wall
   time of `negsim validate` (start-up and the CLI's imports) and the worker start-up the sweep reports (the time
   it waited for its worker pool once its own imports, the scenario, the design and the probe were done).
2. Peak memory of `negsim sweep` at two sizes (default 2k and 10k runs; `--full`: 10k and 100k, which takes
   several minutes): the sweep process's peak RSS (VmHWM) and the peak summed RSS of the process tree (the
   sweep, its fork server and workers), sampled every 0.1 s from /proc (Linux).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import mesa  # noqa: E402

from sim.engine.model import NegotiationModel  # noqa: E402
from sim.service import replicate_seeds, run_scenario, summaries  # noqa: E402

BASELINE = ROOT / "scenarios" / "feb2022_baseline.yaml"
NEGSIM = [sys.executable, "-m", "sim"]


class OutcomeOnlyModel(NegotiationModel):
    """The same negotiation, recording only the outcome and tension (what batch_run needs, nothing more)."""

    def __init__(self, rng=None):
        super().__init__(rng=rng, collect=False)
        self.datacollector = mesa.DataCollector(model_reporters={"outcome": "outcome", "tension": "tension"})
        self.datacollector.collect(self)


# ====================================================================== helpers
def _parents() -> dict[int, int]:
    """pid -> parent pid of every process (one pass over /proc)."""
    found = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as handle:
                    found[int(entry)] = int(handle.read().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
    return found


def _status_kb(pid: int, key: str) -> int:
    try:
        with open(f"/proc/{pid}/status") as handle:
            for line in handle:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def run_measured(command: list[str], sample: bool) -> tuple[float, str, int, int]:
    """Run a command; return (wall seconds, stdout, peak RSS of the process in KB, peak RSS of its process tree
    in KB, sampled every 0.1 s when `sample`)."""
    start = time.perf_counter()
    child = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    own_peak = tree_peak = 0
    while child.poll() is None:
        if sample:
            own_peak = max(own_peak, _status_kb(child.pid, "VmHWM"))
            parents = _parents()
            tree, members = 0, {child.pid}
            for _ in range(4):      # the sweep, its fork server and the workers: at most 3 levels
                members |= {pid for pid, ppid in parents.items() if ppid in members}
            tree = sum(_status_kb(pid, "VmRSS") for pid in members)
            tree_peak = max(tree_peak, tree)
        time.sleep(0.1 if sample else 0.01)
    wall = time.perf_counter() - start
    stdout, stderr = child.communicate()
    if child.returncode:
        raise SystemExit(f"{' '.join(command)} failed:\n{stderr}")
    return wall, stdout, own_peak, tree_peak


def negsim_sweep(runs: int, out: Path, sample: bool = False) -> tuple[float, float, int, int, float]:
    """(wall seconds, runs/s the sweep reports, peak RSS KB, peak tree RSS KB, worker start-up seconds it reports)
    of one `negsim sweep`."""
    command = [*NEGSIM, "sweep", str(BASELINE), "--replicates", str(runs), "--seed", "1", "--executor", "process",
               "--workers", "2", "--quiet", "--overwrite", "--out", str(out)]
    wall, stdout, own, tree = run_measured(command, sample)
    session = next(line for line in stdout.splitlines() if line.startswith("This session"))
    rate = float(session.split("(")[1].split(" runs/s")[0].replace(",", ""))
    startup = float(session.split("(started in ")[1].split(" s)")[0]) if "(started in " in session else 0.0
    return wall, rate, own, tree, startup


def batch_run(model_cls: type, runs: int) -> float:
    """Wall seconds of `mesa.batch_run` of `runs` baseline runs on 2 processes, in this (warm) process."""
    seeds = replicate_seeds(1, runs)
    start = time.perf_counter()
    results = mesa.batch_run(model_cls, parameters={}, rng=seeds, number_processes=2, display_progress=False)
    wall = time.perf_counter() - start
    assert len({r["RunId"] for r in results}) == runs
    return wall


def batch_run_command(lean: bool, runs: int) -> float:
    """Wall seconds of the same batch_run as a fresh Python process (start-up and imports included, as for the
    `negsim sweep` command): this script re-run with --batch-run-child."""
    command = [sys.executable, __file__, "--batch-run-child", str(runs), *(["--lean"] if lean else [])]
    return run_measured(command, False)[0]


def median(values: list[float]) -> float:
    return statistics.median(values)


def throughput(n: int, repeats: int, out: Path) -> None:
    """negsim sweep against mesa.batch_run, both on 2 workers, n runs of the baseline each."""
    print(f"\nThroughput: {n:,} runs of the baseline, 2 workers, median of {repeats}")
    ours = [negsim_sweep(n, out) for _ in range(repeats)]
    wall, rate = median([w for w, *_ in ours]), median([r for _, r, *_ in ours])
    print(f"  negsim sweep, command (end to end)              {wall:6.2f} s {n / wall:7,.0f} runs/s")
    print(f"  negsim sweep, runs only (the rate it reports)            {rate:7,.0f} runs/s")
    validate = median([run_measured([*NEGSIM, "validate", str(BASELINE)], False)[0] for _ in range(repeats)])
    print(f"    its fixed cost: negsim validate {validate:.2f} s (start-up, CLI imports); worker start-up the "
          f"sweep waited for {median([o[4] for o in ours]):.2f} s")
    rates = {}
    for lean, label in ((False, "as is"), (True, "outcome-only collector")):
        command = n / median([batch_run_command(lean, n) for _ in range(repeats)])
        warm = n / median([batch_run(OutcomeOnlyModel if lean else NegotiationModel, n) for _ in range(repeats)])
        rates[label] = (command, warm)
        print(f"  mesa.batch_run ({label}), script (end to end) {n / command:6.2f} s {command:7,.0f} runs/s")
        print(f"  mesa.batch_run ({label}), in this process     {n / warm:6.2f} s {warm:7,.0f} runs/s")
    for label, (command, warm) in rates.items():
        print(f"  speed-up over batch_run {label}: {n / wall / command:.1f}x end to end (both a fresh process), "
              f"{rate / warm:.1f}x runs only (both without start-up)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=lambda text: [int(n) for n in text.split(",")], default=[2000, 10000],
                    help="runs per throughput measurement, comma-separated sizes (default 2000,10000)")
    ap.add_argument("--repeats", type=int, default=3, help="repeats per measurement; medians are printed")
    ap.add_argument("--full", action="store_true", help="memory at 10k and 100k runs (slow) instead of 2k and 10k")
    ap.add_argument("--skip-throughput", action="store_true")
    ap.add_argument("--skip-memory", action="store_true")
    ap.add_argument("--batch-run-child", type=int, metavar="RUNS", help=argparse.SUPPRESS)
    ap.add_argument("--lean", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.batch_run_child:
        batch_run(OutcomeOnlyModel if args.lean else NegotiationModel, args.batch_run_child)
        return

    print(f"CPUs available: {len(os.sched_getaffinity(0))}; Python {sys.version.split()[0]}; mesa {mesa.__version__}")
    times = []
    for seed in range(50):
        start = time.perf_counter()
        run_scenario(BASELINE if seed == 0 else _baseline(), seed, collect=False)
        times.append(time.perf_counter() - start)
    one = median(times[5:])
    seeds = replicate_seeds(1, 1000)
    together = []
    for _ in range(5):
        start = time.perf_counter()
        summaries(_baseline(), seeds)
        together.append((time.perf_counter() - start) / len(seeds))
    print(f"one baseline run, collect=False, in this process: {one * 1e3:.2f} ms as a model, "
          f"{median(together) * 1e6:.0f} us in lockstep with 999 other replicates (as sweeps run a point's "
          f"replicates)")

    with tempfile.TemporaryDirectory(prefix="negsim-bench-") as tmp:
        out = Path(tmp) / "sweep"
        if not args.skip_throughput:
            for n in args.runs:
                throughput(n, args.repeats, out)

        if not args.skip_memory:
            sizes = (10_000, 100_000) if args.full else (2_000, 10_000)
            print("\nPeak memory of negsim sweep (process executor, 2 workers)")
            for size in sizes:
                wall, rate, own, tree, _ = negsim_sweep(size, out, sample=True)
                print(f"  {size:>7,} runs: sweep process {own / 1024:6.0f} MB, process tree {tree / 1024:6.0f} MB "
                      f"({wall:.0f} s, {rate:,.0f} runs/s)")


def _baseline():
    from sim.engine.model import baseline

    return baseline()


if __name__ == "__main__":
    main()
