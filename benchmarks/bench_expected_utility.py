"""Benchmark of sim.core.expected_utility_kernel.

Run from the repository root:  .venv/bin/python benchmarks/bench_expected_utility.py
Prints the median wall time of repeated runs (time.perf_counter) in ms per run, then one round of many runs
at once (the run axis, --runs of them, the Feb-2022 baseline's shape N=4, M=3) against a loop of single-run calls.
"""

from __future__ import annotations

import argparse
import csv
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sim.core.expected_utility_kernel import EUParams, eu_round, median_voter, run_rounds  # noqa: E402

EC_CSV = ROOT / "scenarios" / "ec_emissions_1994.csv"


def load_ec() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    with EC_CSV.open(newline="") as fh:
        rows = list(csv.DictReader(line for line in fh if not line.lstrip().startswith("#")))
    cap = np.array([float(r["Capability"]) for r in rows])
    pos = np.array([[float(r["Position"])] for r in rows])
    sal = np.array([[float(r["Salience"])] for r in rows])
    return pos, cap, sal


def time_ms(fn, repeats: int) -> tuple[float, float]:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times), min(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--repeats", type=int, default=30)
    ap.add_argument("--runs", type=int, default=1000, help="runs in the run-axis section")
    args = ap.parse_args()

    pos, cap, sal = load_ec()
    params = EUParams()
    med, best = time_ms(lambda: run_rounds(pos, cap, sal, 10, params), args.repeats)
    print(f"EC emissions (N=10, M=1), 10 rounds:   median {med:8.2f} ms/run  (min {best:.2f})")

    rng = np.random.default_rng(12345)
    n, m = 50, 3
    rpos = rng.uniform(0.0, 100.0, size=(n, m))
    rcap = rng.uniform(0.1, 1.0, size=n)
    rsal = rng.uniform(0.1, 1.0, size=(n, m))
    med, best = time_ms(lambda: run_rounds(rpos, rcap, rsal, 20, params), args.repeats)
    print(f"random N=50 x M=3, 20 rounds:          median {med:8.2f} ms/run  (min {best:.2f})")
    for name, p in (
        ("least_move", EUParams(selection="least_move")),
        ("pair", EUParams(normalisation="pair")),
    ):
        med, best = time_ms(lambda p=p: run_rounds(rpos, rcap, rsal, 20, p), args.repeats)
        print(f"random N=50 x M=3, 20 rounds, {name:10s}: median {med:8.2f} ms/run  (min {best:.2f})")
    run_axis(args.runs, max(3, args.repeats // 3))


def feb2022_runs(runs: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, EUParams]:
    """The Feb-2022 baseline under the expected-utility mechanism as the model sets it up, its positions moved a
    little in every run (as drawn inputs would) so that no two runs are the same."""
    from sim.engine.model import NegotiationModel
    from sim.service import prepare

    model = NegotiationModel(prepare(mechanism="expected_utility"), rng=0, collect=False)
    p = model.profiles
    rng = np.random.default_rng(2022)
    x = np.clip(model.offers[None] + rng.normal(0.0, 0.05, (runs,) + model.offers.shape), 0.0, 1.0)
    return x, np.asarray(p.capability), np.asarray(p.salience), np.asarray(model.eu_range), model.eu_params


def run_axis(runs: int, repeats: int) -> None:
    x, cap, sal, scale, params = feb2022_runs(runs)
    n, m = x.shape[1:]
    print(f"one round of {runs} runs, Feb-2022 baseline shape N={n}, M={m}:")

    def report(what: str, loop, batch) -> None:
        loop_ms, _ = time_ms(loop, repeats)
        batch_ms, _ = time_ms(batch, repeats)
        print(f"  {what:44s} {runs} single calls {loop_ms:8.2f} ms   run axis {batch_ms:7.2f} ms"
              f"   ({loop_ms / batch_ms:5.1f}x, {batch_ms / runs * 1e3:5.2f} us/run)")

    report("eu_round", lambda: [eu_round(x[r], cap, sal, scale, params) for r in range(runs)],
           lambda: eu_round(x, cap, sal, scale, params))
    report("median_voter", lambda: [median_voter(x[r], cap, sal, scale) for r in range(runs)],
           lambda: median_voter(x, cap, sal, scale))
    caps = np.broadcast_to(cap, (runs, n)).copy()
    sals = np.broadcast_to(sal, (runs, n, m)).copy()
    scales = np.broadcast_to(scale, (runs, m)).copy()
    report("eu_round, per-run capability/salience/range", lambda: [
        eu_round(x[r], caps[r], sals[r], scales[r], params) for r in range(runs)],
        lambda: eu_round(x, caps, sals, scales, params))
    rng = np.random.default_rng(7)
    mixed = [EUParams(status_quo_probability=float(q), t_weight=float(t), selection=sel, normalisation=norm)
             for q, t, sel, norm in zip(rng.uniform(0.5, 1.0, runs), rng.uniform(0.0, 1.0, runs),
                                        rng.choice(["published", "least_move"], runs),
                                        rng.choice(["all_pairs", "pair"], runs), strict=True)]
    report("eu_round, per-run EUParams (Q, T, rules)", lambda: [
        eu_round(x[r], cap, sal, scale, mixed[r]) for r in range(runs)],
        lambda: eu_round(x, cap, sal, scale, mixed))


if __name__ == "__main__":
    main()
