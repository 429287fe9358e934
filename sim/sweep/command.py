"""A sweep as a plan: the design a user picks (factors, sampler, replicates, seed) and the `negsim sweep` command
line that runs exactly that sweep. The dashboard's sweep page builds a `SweepPlan`, shows its `command()` and
runs it through `run_sweep` with the same arguments, so the command reproduces the page's table run for run.

A factor is written as ``--vary`` takes it (`range_spec`, `values_spec`: `Factor.spec`, numbers with every
digit), so the command's design is the plan's design: the same points and the same seeds.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sim.sweep.design import Factor, _dtype_of, make_design
from sim.sweep.samplers import SAMPLERS

if TYPE_CHECKING:
    from sim.scenario import Scenario
    from sim.sweep.design import Design

MAX_PAGE_RUNS = 20_000
"""The most runs a sweep started from the dashboard may have (documented in docs/dashboard.md): about a minute
on two cores at ~3 ms a run; larger sweeps belong on the command line the page shows."""


def range_spec(path: str, low: float, high: float, levels: int | None = None, value: Any = 0.0) -> str:
    """``PATH=LO:HI[:N]`` of a numeric factor (`value`: the parameter's current value, for its type)."""
    return Factor.range(path, low, high, levels, _dtype_of(value)).spec


def values_spec(path: str, values: Sequence[Any]) -> str:
    """``PATH=a,b,c`` of a factor given by its values."""
    return Factor.choice(path, list(values), _dtype_of(values[0]) if len(values) else "str").spec


@dataclass(frozen=True)
class SweepPlan:
    """Everything `negsim sweep` needs: the scenario file and output directory as the command names them (paths
    relative to the folder the command runs in), the ``--vary`` specs and the design's options."""

    scenario: str
    out: str
    vary: tuple[str, ...]
    sampler: str = "grid"
    samples: int | None = None
    replicates: int = 1
    seed: int | None = None
    executor: str = "serial"
    workers: int | None = None

    @property
    def sized(self) -> bool:
        return self.sampler in SAMPLERS and SAMPLERS.get(self.sampler).sized

    def argv(self) -> list[str]:
        """The arguments after `negsim`."""
        args = ["sweep", self.scenario, "--out", self.out]
        for spec in self.vary:
            args += ["--vary", spec]
        args += ["--sampler", self.sampler]
        if self.sized and self.samples is not None:
            args += ["--samples", str(self.samples)]
        args += ["--replicates", str(self.replicates)]
        if self.seed is not None:
            args += ["--seed", str(self.seed)]
        args += ["--executor", self.executor]
        if self.workers is not None:
            args += ["--workers", str(self.workers)]
        return args

    def command(self) -> str:
        """The shell command, one option per line (each line but the last ends with a backslash)."""
        args = self.argv()
        lines = ["negsim " + shlex.join(args[:2])]
        options = args[2:]
        while options:
            name, value = options[0], options[1]
            lines.append(f"    {name} {shlex.quote(value)}")
            options = options[2:]
        return " \\\n".join(lines)

    def design(self, scenario: Scenario) -> Design:
        """The design this plan runs on `scenario` (raises ScenarioError listing the problems)."""
        return make_design(scenario, list(self.vary), self.sampler, self.samples if self.sized else None,
                           self.replicates, self.seed)

    def options(self) -> dict[str, Any]:
        """The keyword arguments of `run_sweep` (after the scenario and the vary specs) that run this plan."""
        return {"sampler": self.sampler, "samples": self.samples if self.sized else None,
                "replicates": self.replicates, "seed": self.seed, "executor": self.executor,
                "workers": self.workers}
