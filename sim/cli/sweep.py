"""`negsim sweep`, `negsim export` and `negsim analyze` (registered on the main typer app by `register`).

Bad input (scenario, --vary, directory, design mismatch) gives a message on stderr and exit code 2, never a
traceback; Ctrl-C gives a resume hint and exit code 130.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from sim.cli.terminal import PlainConsole
from sim.sweep.base import SweepError, SweepInterrupted
from sim.sweep.executors import DEFAULT_EXECUTOR, EXECUTORS
from sim.sweep.samplers import SAMPLERS

# markup off (titles come from scenario files); piped tables are not cut at 80 columns
out = PlainConsole(soft_wrap=True, width=None if sys.stdout.isatty() else 160)
err = PlainConsole(stderr=True, soft_wrap=True)


def sweep_errors(command: Callable[..., Any]) -> Callable[..., Any]:
    """SweepError -> message and exit 2; Ctrl-C -> how to resume and exit 130."""
    @wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except SweepError as error:
            err.print(f"error: {_plain(str(error))}")
            raise typer.Exit(2) from None
        except SweepInterrupted as stop:
            err.print(f"{_plain(str(stop))}; re-run the same command to finish the missing runs")
            raise typer.Exit(130) from None
        except KeyboardInterrupt:
            err.print("interrupted")
            raise typer.Exit(130) from None
    return wrapper


def _plain(text: str) -> str:
    from sim.scenario.limits import for_terminal

    return for_terminal(text, newlines=False)


def _pct(value: float | None) -> str:
    return "-" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{100 * value:.1f}%"


def _pct_interval(share: float | None, low: float | None, high: float | None) -> str:
    """'42.0% [36-48]': a share and its 95 % interval."""
    if share is None or low is None or high is None or any(math.isnan(v) for v in (share, low, high)):
        return _pct(share)
    from sim.core.intervals import percent

    return f"{100 * share:.1f}% [{percent(low)}-{percent(high)}]"


def _wilson_text(share: float, ok: int) -> str:
    from sim.core.intervals import wilson

    interval = wilson(round(share * ok), ok)
    return _pct_interval(interval.share, interval.low, interval.high)


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def _num(value: Any) -> str:
    if isinstance(value, float):
        return "-" if math.isnan(value) else f"{value:.4g}"
    return str(value)


# ====================================================================== negsim sweep
def sweep(
    scenario: Annotated[Path, typer.Argument(help="Scenario file: YAML, JSON or CSV (BDM or KTAB layout).")],
    out_dir: Annotated[Path, typer.Option("--out", help="Output directory (created; re-running the same command "
                                                        "resumes an interrupted sweep).")],
    vary: Annotated[list[str] | None, typer.Option(
        "--vary", metavar="PATH=LO:HI:N|PATH=a,b,c",
        help="A parameter to vary (repeatable); PATHs are those `negsim params` lists. LO:HI:N = N grid levels "
             "(LO:HI for other samplers), a,b,c = values. None: a Monte Carlo over seeds.")] = None,
    sampler: Annotated[str, typer.Option(help=f"Design: {' | '.join(SAMPLERS)} (grid = full factorial; sobol = "
                                              "Saltelli design for `negsim analyze --sobol`).")] = "grid",
    samples: Annotated[int | None, typer.Option(
        min=1, help="Points for lhs/random; base rows for sobol (points = N x (parameters + 2)). Default 128.")
    ] = None,
    replicates: Annotated[int, typer.Option(min=1, help="Runs per point, with seeds shared across points.")] = 1,
    seed: Annotated[int | None, typer.Option(min=0, max=2**63 - 1,
                                             help="Root seed (default: the scenario's protocol.seed).")] = None,
    executor: Annotated[str | None, typer.Option(
        help=f"{' | '.join(EXECUTORS)} (default process; dask when --scheduler is given).")] = None,
    workers: Annotated[int | None, typer.Option(min=1, help="Worker processes (default: the CPUs available).")
                       ] = None,
    scheduler: Annotated[str | None, typer.Option(
        metavar="ADDRESS", help="Dask scheduler, e.g. tcp://host:8786 (without it, dask starts a LocalCluster).")
    ] = None,
    batch_size: Annotated[int | None, typer.Option(
        min=1, help="Runs per task (default: about 0.5 s of work, timed on the scenario).")] = None,
    rounds: Annotated[bool, typer.Option("--rounds", help="Also record every round: rounds.parquet.")] = False,
    assumptions: Annotated[bool, typer.Option(
        "--assumptions", help="Also vary every uncertain input of the scenario over its range (its `uncertainty` "
                              "block); with --sampler sobol, `negsim analyze --sobol` then says which assumptions "
                              "decide the outcome.")] = False,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Start over in --out, deleting the earlier "
                                                                "sweep's files.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
    scale: Annotated[str | None, typer.Option(
        "--scale", metavar="LO:HI", help="CSV import: the issue scale (default: min..max of the positions).")
    ] = None,
) -> None:
    """Run many seeded negotiations over a design of parameter values; write runs.parquet and a manifest."""
    from sim.cli.common import load
    from sim.sweep.executors import scheduled_executors, start_early

    if sampler not in SAMPLERS:
        raise SweepError(f"--sampler must be one of {', '.join(SAMPLERS)} (got {sampler!r})")
    kind = executor or ((scheduled_executors() or [DEFAULT_EXECUTOR])[0] if scheduler else DEFAULT_EXECUTOR)
    if kind not in EXECUTORS:
        raise SweepError(f"--executor must be one of {', '.join(EXECUTORS)} (got {kind!r})")
    start_early(kind)     # the workers' imports (~0.7 s) now overlap with this process's own
    from sim.sweep.runner import run_sweep

    spec = load(scenario, scale)
    vary = list(vary or [])
    if assumptions:
        if not spec.uncertainty:
            raise SweepError(f"--assumptions: {scenario} has no uncertain inputs (no `uncertainty` block)")
        if not SAMPLERS.get(sampler).sized:
            ranged = sorted((s for s in SAMPLERS.values() if s.sized), key=lambda s: not s.saltelli)  # Sobol first
            names = [s.name for s in ranged]
            raise SweepError(f"--assumptions samples ranges: use --sampler {', '.join(names[:-1])} or {names[-1]}")
        named = {item.split("=", 1)[0] for item in vary}
        vary += [f"{path}={u.low!r}:{u.high!r}" for path, u in spec.uncertainty.items() if path not in named]
    report = run_sweep(spec, vary, out=out_dir, sampler=sampler, samples=samples, replicates=replicates,
                       seed=seed, executor=kind, workers=workers, scheduler=scheduler, batch_size=batch_size,
                       rounds=rounds, overwrite=overwrite, progress=not quiet)
    print_report(report, spec.title)


def start_workers_early(args: list[str]) -> None:
    """`negsim sweep`: let its executor start early (the process pool's fork server) before the command line is even
    parsed (typer builds its commands in ~0.15 s, which the server's imports would otherwise wait for). Only the
    plain case is recognised here (one --executor or none, no --scheduler); `sweep` starts the executor itself in
    every other case, and a bad command line leaves an unused server that exits with this process."""
    if args[:1] != ["sweep"] or "--help" in args or any(a == "--scheduler" or a.startswith("--scheduler=")
                                                        for a in args):
        return
    kinds = [a.split("=", 1)[1] for a in args if a.startswith("--executor=")]
    kinds += [args[i + 1] for i, a in enumerate(args[:-1]) if a == "--executor"]
    chosen = set(kinds) or {DEFAULT_EXECUTOR}
    if len(chosen) == 1:
        from sim.sweep.executors import start_early

        start_early(chosen.pop())


def print_report(report: Any, title: str = "") -> None:
    replicates = report.n_runs // max(report.n_points, 1)
    out.print(Text.assemble(("Sweep", "bold"), f" {_plain(title)}: {_plural(report.n_runs, 'run')} "
                            f"({_plural(report.n_points, 'point')} x {_plural(replicates, 'replicate')}) in "
                            f"{_plain(str(report.path))}"))
    if report.ran:
        batch = f", {report.batch_size:,} runs per task" if report.batch_size else ""
        started = f" (started in {report.startup:.1f} s)" if report.startup >= 0.05 else ""
        out.print(f"This session: {report.ran:,} runs in {report.seconds:.1f} s "
                  f"({report.runs_per_second:,.0f} runs/s) on {report.executor}{started}{batch}")
    if report.resumed == report.n_runs:
        out.print("Already complete: nothing to run (--overwrite starts over)")
    elif report.resumed:
        out.print(f"Resumed: {report.resumed:,} runs were already on disk")
    failed = Text.assemble((f"{report.failed:,} failed", "red"), " (see the error column)") if report.failed \
        else "0 failed"
    out.print(Text.assemble(f"Runs: {report.n_runs - report.failed:,} ok, ", failed))
    ok = report.n_runs - report.failed
    table = Table(title="Summary (successful runs; 95 % Wilson intervals)", title_justify="left")
    table.add_column("outcome / issue")
    table.add_column("share [95 % interval]", justify="right")
    for outcome, share in report.outcomes.items():
        table.add_row(f"outcome: {outcome}", _wilson_text(share, ok))
    for issue, rate in report.agreement.items():
        table.add_row(f"agreed: {issue}", _wilson_text(rate, ok))
    out.print(table)


# ====================================================================== negsim export
def export(
    directory: Annotated[Path, typer.Argument(help="A finished sweep directory.")],
    csv: Annotated[bool, typer.Option("--csv", help="Write runs.csv (and rounds.csv).")] = False,
    to: Annotated[Path | None, typer.Option("--out", help="Where to write the CSVs (default: the sweep "
                                                          "directory).")] = None,
) -> None:
    """Convert a sweep's Parquet tables to another format."""
    from sim.sweep.results import export_csv

    if not csv:
        raise SweepError("choose an output format: --csv")
    for path in export_csv(directory, to):
        out.print(f"wrote {_plain(str(path))}")


# ====================================================================== negsim analyze
def analyze(
    directory: Annotated[Path, typer.Argument(help="A finished sweep directory.")],
    bins: Annotated[int, typer.Option(min=2, max=200, help="Bins for parameters sampled continuously.")] = 10,
    plot: Annotated[Path | None, typer.Option(help="PNG of agreement by parameter (default DIR/agreement.png).")
                    ] = None,
    sobol: Annotated[bool, typer.Option("--sobol", help="First- and total-order Sobol indices (needs a sweep "
                                                        "run with --sampler sobol).")
                     ] = False,
    output: Annotated[list[str] | None, typer.Option(
        "--output", help="With --sobol: an output to analyse (repeatable): agreement, partial, stalemate, "
                         "breakdown, rounds, tension, agreed.ISSUE, utility.ACTOR, ... "
                         "(default: agreement, agreed.*, utility.*).")] = None,
) -> None:
    """Summarise a sweep: agreement probability by parameter value (table, CSV, PNG), or with --sobol the
    first- and total-order Sobol indices of chosen outputs."""
    from sim.sweep import analyze as analysis

    manifest, factors, runs = analysis.load(directory)
    sampler = manifest["design"]["sampler"]
    if sobol and not (sampler in SAMPLERS and SAMPLERS.get(sampler).saltelli):
        saltelli = " or ".join(f"--sampler {name}" for name, s in SAMPLERS.items() if s.saltelli)
        raise SweepError(f"Sobol indices need a sweep run with {saltelli} (this one used {sampler})")
    directory = Path(directory)
    if sobol:
        indices = analysis.sobol_indices(runs, factors, output, n_points=manifest["design"]["n_points"],
                                         seed=manifest["design"]["root_seed"])
        view = Table(title="Sobol indices (first order S1, total order ST; ± 95% bootstrap half-width)",
                     title_justify="left")
        named = analysis.names(manifest, [f.path for f in factors])
        indices.insert(2, "name", indices["parameter"].map(lambda p: named.get(p, p)))
        for column in ("output", "parameter", "path", "S1", "±", "ST", "± ", "note"):
            view.add_column(column, justify="left" if column in ("output", "parameter", "path", "note") else "right")
        for row in indices.itertuples(index=False):
            view.add_row(row.output, _plain(row.name), row.parameter, _num(row.S1), _num(row.S1_conf), _num(row.ST),
                         _num(row.ST_conf), row.note)
        out.print(view)
        indices.to_csv(directory / "sobol.csv", index=False)
        out.print(f"Indices written to {_plain(str(directory / 'sobol.csv'))}")
        return
    table = analysis.agreement_table(runs, factors, sampler, bins)
    influence = analysis.assumption_influence(runs)
    named = analysis.names(manifest, [f.path for f in factors] + list(dict.fromkeys(influence["input"])))
    table.insert(1, "name", table["parameter"].map(lambda p: named.get(p, p)))
    issues = [c for c in table.columns if c.startswith("agreed.")]
    out.print(Text.assemble(("Agreement probability by parameter value", "bold"),
                            " (shares of the successful runs, with 95 % Wilson intervals)"))
    for parameter in dict.fromkeys(table["parameter"]):
        title = named.get(parameter, parameter)
        view = Table(title=_plain(f"{title} ({parameter})" if title != parameter else parameter),
                     title_justify="left")
        headers = ("value", "runs", "failed", *analysis.OUTCOMES, *(f"{c.split('.', 1)[1]} agreed" for c in issues))
        for column in headers:
            view.add_column(column, justify="right")
        for _, record in table[table["parameter"] == parameter].iterrows():
            view.add_row(record["bin"] or _num(record["value"]), f"{record['runs']:,}", f"{record['failed']:,}",
                         *(_pct_interval(record[c], record.get(f"low.{c}"), record.get(f"high.{c}"))
                           for c in (*analysis.OUTCOMES, *issues)))
        out.print(view)
    table.to_csv(directory / "agreement.csv", index=False)
    png = analysis.plot_agreement(table, plot or directory / "agreement.png",
                                  title=manifest.get("scenario", {}).get("title", ""), names=named)
    out.print(f"Table written to {_plain(str(directory / 'agreement.csv'))}; plot to {_plain(str(png))}")
    if len(influence):
        influence.insert(2, "name", influence["input"].map(lambda p: named.get(p, p)))
        view = Table(title="Which drawn assumptions go with the outcome (Spearman's rho over the distinct draws; "
                           "share of the outcome among the runs that drew the lowest / highest third, with its 95 % "
                           "Wilson interval and runs), strongest first", title_justify="left")
        for column in ("output", "input", "path", "rho", "draws", "low third", "high third"):
            view.add_column(column, justify="left" if column in ("output", "input", "path") else "right")
        for name in dict.fromkeys(influence["output"]):
            for row in influence[influence["output"] == name].head(8).itertuples(index=False):
                view.add_row(row.output, _plain(row.name), row.input, _num(row.spearman), f"{row.draws:,}",
                             *(f"{_pct_interval(share, low, high)} of {_plural(int(n), 'run')}" for share, low, high, n
                               in ((row.share_low_third, row.low_low_third, row.high_low_third, row.runs_low_third),
                                   (row.share_high_third, row.low_high_third, row.high_high_third,
                                    row.runs_high_third))))
        out.print(view)
        influence.to_csv(directory / "assumptions.csv", index=False)
        out.print(f"All inputs in {_plain(str(directory / 'assumptions.csv'))}; for Sobol indices of the "
                  "assumptions: negsim sweep FILE --assumptions --sampler sobol")


def register(app: typer.Typer) -> None:
    """Add the sweep, export and analyze commands to the `negsim` app."""
    from sim.cli.common import user_errors

    app.command(name="sweep")(user_errors(sweep_errors(sweep)))
    app.command(name="export")(user_errors(sweep_errors(export)))
    app.command(name="analyze")(user_errors(sweep_errors(analyze)))
