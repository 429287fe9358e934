"""Benchmark of sim.expected_utility.

Run from the repository root:  .venv/bin/python benchmarks/bench_expected_utility.py
Prints the median wall time of repeated runs (time.perf_counter) in ms per run.
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

from sim.expected_utility import EUParams, run_rounds  # noqa: E402

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


if __name__ == "__main__":
    main()
