"""Per-run time of the Feb-2022 baseline, with per-round collection on and off (median of repeats).

Target (issue 2): a whole run with collection off in <= 2 ms on one core.
Usage: python benchmarks/bench_model.py [--repeats N]
"""

from __future__ import annotations

import argparse
import statistics
import time

from sim.model import NegotiationModel
from sim.service import prepare, result_of


def one_run(scenario, seed: int, collect: bool) -> tuple[float, int]:
    start = time.perf_counter()
    model = NegotiationModel(scenario, rng=seed, collect=collect)
    while model.running:
        model.step()
    result_of(model)
    return time.perf_counter() - start, model.round


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=300)
    parser.add_argument("--scenario", default=None, help="scenario file (default: the Feb-2022 baseline)")
    args = parser.parse_args()
    scenario = prepare(args.scenario)
    for collect in (False, True):
        one_run(scenario, 0, collect)  # warm-up: imports, caches
        times, rounds = zip(*(one_run(scenario, seed, collect) for seed in range(args.repeats)), strict=True)
        median = statistics.median(times)
        print(f"{scenario.id}: collect={str(collect):5}  median {median * 1e3:6.2f} ms/run  "
              f"(p10 {sorted(times)[len(times) // 10] * 1e3:.2f}, p90 {sorted(times)[9 * len(times) // 10] * 1e3:.2f})"
              f"  rounds/run {statistics.mean(rounds):.1f}  {median / statistics.mean(rounds) * 1e6:.0f} us/round")


if __name__ == "__main__":
    main()
