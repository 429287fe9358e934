"""Per-run time of the Feb-2022 baseline, with per-round collection on and off (median of repeats); a scenario
with uncertain inputs is measured as shipped (each run draws them) and as coded.

Target (issue 2): a whole run with collection off in <= 2 ms on one core.
A run is built, played to the end (`model.run_model()`: Mesa's own loop of `step()` calls, each through Mesa's
event list, as the dashboard and `mesa.batch_run` step a model) and described (`service.result_of`), as a sweep played
run by run and `negsim run` do; a further line adds the JSON contract (`RunResult.to_dict()`, what
`negsim run --json` prints). The last lines play the same seeds
in lockstep (`service.summaries`, what sweeps and the Monte Carlo do with many runs): per-run time
at several numbers of replicates played together, and the ratio to a model run.
Beside them, a 4-agent Mesa toy of 100 steps (Mesa's tutorial model, Boltzmann wealth, with its DataCollector) in
the same process, and the ratio of a model run to it, also with the two played in turn (ten model runs, ten toy
runs, and so on; per block of runs, five blocks): a noisy machine's drift then weighs on both alike.
Target (issue 21): ratio <= 0.25 on the baseline.
Speed work must leave every number as it was: tests/test_state_hashes.py pins them (model, lockstep, DataCollector).
The Nash package's solve (package linkage, a Sensitivity page) has its own benchmark: benchmarks/bench_nash.py.
Usage: python benchmarks/bench_model.py [--repeats N] [--scenario FILE]
"""

from __future__ import annotations

import argparse
import statistics
import time

import mesa

from sim.engine import lockstep
from sim.engine.model import NegotiationModel
from sim.service import finish, prepare, replicate_seeds, result_of, summaries


class Holder(mesa.Agent):
    def __init__(self, model: mesa.Model):
        super().__init__(model)
        self.wealth = 1

    def step(self) -> None:
        if self.wealth > 0:
            other = self.model.agents.select(lambda agent: agent is not self)
            self.model.rng.choice(list(other)).wealth += 1
            self.wealth -= 1


def gini(model: mesa.Model) -> float:
    wealth = sorted(agent.wealth for agent in model.agents)
    n, total = len(wealth), sum(wealth)
    return 1 + 1 / n - 2 * sum((n - i) * w for i, w in enumerate(wealth)) / (n * total)


class Toy(mesa.Model):
    """The yardstick: Mesa's own tutorial model (Boltzmann wealth) with 4 agents, random activation and a
    DataCollector of the Gini coefficient every step."""

    def __init__(self, seed: int):
        super().__init__(rng=seed)
        for _ in range(4):
            Holder(self)
        self.datacollector = mesa.DataCollector(model_reporters={"gini": gini})

    def step(self) -> None:
        self.agents.shuffle_do("step")
        self.datacollector.collect(self)


def toy_run(seed: int) -> float:
    start = time.perf_counter()
    model = Toy(seed)
    for _ in range(100):
        model.step()
    return time.perf_counter() - start


def one_run(scenario, seed: int, collect: bool, as_json: bool = False) -> tuple[float, int]:
    start = time.perf_counter()
    model = NegotiationModel(scenario, rng=seed, collect=collect)
    finish(model)
    result = result_of(model)
    if as_json:
        result.to_dict()
    return time.perf_counter() - start, model.round


def paired_ratios(scenario, repeats: int, blocks: int = 5, stretch: int = 10, as_json: bool = False) -> list[float]:
    """The ratio of a model run (collection off) to the toy with the two played in turn, `stretch` model runs then
    `stretch` toy runs, so that a machine's drift (a noisy VM, a neighbour's load) weighs on both alike while each
    still runs warm, as in a sweep: per block of runs, the median model run over the median toy run."""
    size = max(stretch, repeats // blocks)
    ratios = []
    for block in range(blocks):
        model_times, toy_times = [], []
        for first in range(block * size, (block + 1) * size, stretch):
            seeds = range(first, first + stretch)
            model_times += [one_run(scenario, seed, False, as_json)[0] for seed in seeds]
            toy_times += [toy_run(seed) for seed in seeds]
        ratios.append(statistics.median(model_times) / statistics.median(toy_times))
    return ratios


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=1000)
    parser.add_argument("--scenario", default=None, help="scenario file (default: the Feb-2022 baseline)")
    args = parser.parse_args()
    scenario = prepare(args.scenario)
    for version in (scenario, scenario.as_coded()) if scenario.uncertainty else (scenario,):
        if version is not scenario:
            print(f"{scenario.id} as coded (no inputs drawn):")
        measure(version, args.repeats)


def measure(scenario, repeats: int) -> None:
    args = argparse.Namespace(repeats=repeats)
    model_median = 0.0
    for collect, as_json in ((False, False), (False, True), (True, False)):
        one_run(scenario, 0, collect, as_json)  # warm-up: imports, caches
        times, rounds = zip(*(one_run(scenario, seed, collect, as_json) for seed in range(args.repeats)),
                            strict=True)
        ordered = sorted(times)
        median = statistics.median(times)
        how = "run_model() + to_dict()" if as_json else "run_model()"
        print(f"{scenario.id}: collect={str(collect):5} {how}  median {median * 1e3:5.2f} ms/run  "
              f"(p10 {ordered[len(times) // 10] * 1e3:.2f}, p90 {ordered[9 * len(times) // 10] * 1e3:.2f})"
              f"  rounds/run {statistics.mean(rounds):.1f}  {median / statistics.mean(rounds) * 1e6:.0f} us/round")
        if not collect and not as_json:
            model_median = median
    toy_run(0)
    toy = statistics.median(toy_run(seed) for seed in range(args.repeats))
    print(f"{scenario.id}: Mesa toy (Boltzmann wealth, 4 agents, 100 steps)  median {toy * 1e3:5.2f} ms/run;  "
          f"a model run / the toy = {model_median / toy:.2f}  (target <= 0.25)")
    for as_json in (False, True):
        ratios = paired_ratios(scenario, args.repeats, as_json=as_json)
        what = "a run + to_dict()" if as_json else "a run"
        print(f"{scenario.id}: in turn (10 model runs, 10 toy runs, ...), {what} / the toy, per block of "
              f"{max(10, args.repeats // 5)}:  ratio {'  '.join(f'{r:.3f}' for r in ratios)}  "
              f"median {statistics.median(ratios):.3f}  (target <= 0.25)")
    if not lockstep.supports(scenario):
        print(f"{scenario.id}: lockstep does not play this scenario (sweeps run one model per seed)")
        return
    for together in (2, 10, 100, 1000):
        seeds = replicate_seeds(1, together)
        summaries(scenario, seeds)  # warm-up
        repeats = max(5, args.repeats // together)
        per_run = []
        for _ in range(repeats):
            start = time.perf_counter()
            summaries(scenario, seeds)
            per_run.append((time.perf_counter() - start) / together)
        median = statistics.median(per_run)
        print(f"{scenario.id}: lockstep, {together:>4} replicates together  median {median * 1e6:6.1f} us/run  "
              f"({model_median / median:.1f}x faster than a model run)")


if __name__ == "__main__":
    main()
