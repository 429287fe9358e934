"""Per-solve time of the Nash package (`sim.core.bargaining.nash_package`, what package linkage puts on the table
and a Sensitivity page solves once per value): as it runs now (BLAS on one thread during the search, the forward
differences of `bargaining.ForwardDifferences`) and as it ran before issue 21 (scipy's own finite differences,
BLAS's threads as they come), and whether the two give the same packages (they must: bit for bit).

The problems: the shipped scenarios under package linkage with their red lines removed (else no package is
solvable in most of them), each at 20 draws of its uncertain inputs, and 200 random problems (2-6 actors, 1-5
issues, random saliences, capabilities, risk attitudes, reservation utilities and status quo).
Usage: python benchmarks/bench_nash.py [--repeats N]
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import time
from pathlib import Path

import numpy as np
import scipy.optimize

from sim.compile.arrays import profiles_from
from sim.compile.inputs import draw_plan, draw_values, settable_draws
from sim.core import bargaining
from sim.core.bargaining import disagreement_utilities
from sim.core.utility import EPS, red_line_bounds, risk_exponent, salience_weights
from sim.scenario import load_scenario, with_protocol

SCENARIOS = Path(__file__).resolve().parents[1] / "sim" / "scenarios"


def scenario_problems(draws: int = 20) -> list[tuple]:
    """(ideal, weights, exponent, capability, disagreement, reservation, low, high) of the shipped scenarios."""
    problems = []
    for path in sorted(SCENARIOS.glob("*.yaml")):
        scenario = with_protocol(load_scenario(path), linkage="package")
        actors = [a.model_copy(update={"red_lines": {}}) for a in scenario.actors]
        scenario = scenario.model_copy(update={"actors": actors, "uncertainty": {
            k: v for k, v in scenario.uncertainty.items() if ".red_lines." not in k}})
        plan = draw_plan(scenario)
        for seed in range(draws):
            inputs = settable_draws(scenario, plan, draw_values(plan, seed))
            if inputs is None:
                continue
            p = profiles_from(inputs, scenario)
            problems.append((p.ideal, p.weights, p.risk_exponent, p.capability, p.disagreement, p.reservation,
                             p.agreeable_low + EPS, p.agreeable_high - EPS))
    return problems


def random_problems(count: int = 200, seed: int = 7) -> list[tuple]:
    rng = np.random.default_rng(seed)
    problems = []
    for _ in range(count):
        n, m = int(rng.integers(2, 7)), int(rng.integers(1, 6))
        ideal, salience = rng.random((n, m)), rng.random((n, m))
        exponent = risk_exponent(rng.uniform(-1, 1, n))
        reservation = rng.uniform(0, 0.5, n)
        status_quo = np.where(rng.random(m) < 0.5, rng.random(m), np.nan)
        low, high = red_line_bounds(np.full((n, m), np.nan), ideal)
        problems.append((ideal, salience_weights(salience), exponent, rng.uniform(0.2, 1, n),
                         disagreement_utilities(status_quo, ideal, exponent, reservation), reservation,
                         low.max(axis=0) + EPS, high.min(axis=0) - EPS))
    return problems


def timed(problem: tuple, repeats: int) -> tuple[float, np.ndarray | None]:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        x = bargaining.nash_package(*problem)
        times.append(time.perf_counter() - start)
    return min(times), x


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=3, help="solves per problem (the fastest counts)")
    args = parser.parse_args()
    bargaining.nash_package(*random_problems(1)[0])   # warm-up: scipy's imports
    one_thread, minimize = bargaining.one_blas_thread, scipy.optimize.minimize

    def as_before(fun, x0, jac=None, **options):    # scipy differentiates the objective itself
        return minimize(fun.objective, x0, **options)

    for name, problems in (("shipped scenarios", scenario_problems()), ("random problems", random_problems())):
        before, after, different, solved = [], [], 0, 0
        for problem in problems:
            bargaining.one_blas_thread, scipy.optimize.minimize = contextlib.nullcontext, as_before
            t_before, x_before = timed(problem, args.repeats)
            bargaining.one_blas_thread, scipy.optimize.minimize = one_thread, minimize
            t_after, x_after = timed(problem, args.repeats)
            before.append(t_before)
            after.append(t_after)
            solved += x_after is not None
            different += not ((x_before is None and x_after is None) or np.array_equal(x_before, x_after))
        print(f"{name}: {len(problems)} problems, {solved} with a package; per solve median "
              f"{statistics.median(before) * 1e3:.2f} ms before, {statistics.median(after) * 1e3:.2f} ms now; "
              f"packages that differ: {different}")


if __name__ == "__main__":
    main()
