"""Headless parameter sweeps: thousands of seeded negotiations from a script or `negsim sweep`.

    >>> from sim.sweep import sweep
    >>> runs = sweep("scenarios/feb2022_baseline.yaml",
    ...              vary=["actors.russia.reservation_utility=0.2:0.8:4", "protocol.linkage=package,issue_by_issue"],
    ...              replicates=5, seed=1)            # a DataFrame, one row per run

`sweep` returns the run table as a pandas DataFrame (written to a temporary directory, or to `out`);
`run_sweep` writes a directory without loading the table (for sweeps too large for memory) and returns a
`SweepReport`. See docs/sweeps.md.
"""

from __future__ import annotations

import importlib
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sim.sweep.base import SweepError, SweepInterrupted
from sim.sweep.executors import EXECUTORS
from sim.sweep.samplers import SAMPLERS

if TYPE_CHECKING:
    import pandas as pd

    from sim.scenario import Scenario
    from sim.sweep.command import SweepPlan
    from sim.sweep.design import Design, Factor, Vary, build_points, make_design, parse_vary
    from sim.sweep.results import export_csv, read_rounds, read_runs
    from sim.sweep.runner import SweepReport, run_sweep

__all__ = [
    "EXECUTORS", "SAMPLERS", "Design", "Factor", "SweepError", "SweepInterrupted", "SweepPlan", "SweepReport",
    "build_points",
    "export_csv", "make_design", "parse_vary", "read_rounds", "read_runs", "run_sweep", "sweep",
]

_LAZY = {
    "Design": "design", "Factor": "design", "Vary": "design", "build_points": "design", "make_design": "design",
    "parse_vary": "design", "SweepPlan": "command", "SweepReport": "runner", "run_sweep": "runner",
    "export_csv": "results", "read_rounds": "results", "read_runs": "results",
}
"""Imported on first access (PEP 562): `import sim.cli.sweep` (hence `negsim --help`) needs none of numpy, pandas,
pyarrow or the model."""


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


def sweep(scenario: Scenario | str | Path, vary: Vary = None, *, sampler: str = "grid", samples: int | None = None,
          replicates: int = 1, seed: int | None = None, executor: Any = "process", workers: int | None = None,
          scheduler: str | None = None, batch_size: int | None = None, rounds: bool = False,
          out: str | Path | None = None, overwrite: bool = False, progress: bool = True) -> pd.DataFrame:
    """Run a parameter sweep and return its run table (one row per run, sorted by run_id).

    Args:
        scenario: a Scenario or a scenario file.
        vary: ``--vary`` specs (``"PATH=LO:HI:N"``, ``"PATH=LO:HI"``, ``"PATH=a,b,c"``) or a mapping
            ``{path: (lo, hi, n) | (lo, hi) | [values]}``; paths are those `negsim params` lists. None: a
            Monte Carlo over `replicates` seeds.
        sampler: "grid" (full factorial), "lhs", "sobol" (Saltelli design for Sobol indices) or "random".
        samples: points for lhs/random, base rows for sobol (points = samples x (factors + 2)); default 128.
        replicates: runs per point; replicate r has the same seed at every point.
        seed: root seed (default the scenario's protocol.seed); run seeds = SeedSequence([seed, replicate]).
        executor: "serial", "process" (default), "dask", or any concurrent.futures Executor / dask Client.
        workers: processes (default: the CPUs available) or LocalCluster workers.
        scheduler: a Dask scheduler address (tcp://host:8786); without it "dask" starts a LocalCluster.
        batch_size: runs per task (default: about 0.5 s of work, from a timing of the scenario).
        rounds: also record every round (rounds.parquet; read it with `read_rounds(out)`).
        out: the output directory (kept; re-running resumes it); default a temporary directory.
        overwrite: start over in `out` even if it holds another sweep.
        progress: a progress bar on stderr when it is a terminal.

    Raises ScenarioError (bad scenario or --vary), SweepError (directory problems), SweepInterrupted (Ctrl-C).
    """
    from sim.sweep.executors import start_early

    start_early(executor)     # its imports overlap with this process's (the first call imports the model)
    from sim.sweep.results import read_runs
    from sim.sweep.runner import run_sweep

    options = dict(sampler=sampler, samples=samples, replicates=replicates, seed=seed, executor=executor,
                   workers=workers, scheduler=scheduler, batch_size=batch_size, rounds=rounds,
                   overwrite=overwrite, progress=progress)
    if out is not None:
        report = run_sweep(scenario, vary, out=out, **options)
        return read_runs(report.path)
    with tempfile.TemporaryDirectory(prefix="negsim-sweep-") as tmp:
        report = run_sweep(scenario, vary, out=Path(tmp) / "sweep", **options)
        return read_runs(report.path)
