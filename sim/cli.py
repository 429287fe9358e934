"""The `negsim` command line: run, validate, schema, params (sweeps register their own commands).

Bad input never produces a traceback: every problem is printed with its field path and the exit code is 2.

Importing this module stays light (typer and rich): the scenario schema (pydantic), Mesa, numpy, pandas and
pyarrow are imported inside the commands that need them, so `negsim --help`, `validate`, `schema` and `params`
start fast, and `negsim sweep` starts its workers' fork server before importing the model (tests/test_cli.py checks
what `import sim.cli` imports).
"""

from __future__ import annotations

import gc
import json
import math
import sys
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="negsim: simulate multi-actor, multi-issue negotiations (Mesa agent-based model).")
out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)

if TYPE_CHECKING:
    from sim import service
    from sim.scenario import Scenario

MECHANISMS = ("concession", "expected_utility")

ScaleOption = Annotated[str | None, typer.Option(
    "--scale", metavar="LO:HI", help="CSV import: the issue scale (default: min..max of the positions).")]


def user_errors(command: Callable[..., Any]) -> Callable[..., Any]:
    """Turn invalid input into a clear message on stderr and exit code 2."""
    @wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except ValueError as error:
            from sim.scenario import ScenarioError  # a ValueError; imported here to keep `import sim.cli` light

            if not isinstance(error, ScenarioError):
                raise
            err.print(str(error), markup=False, highlight=False)
            raise typer.Exit(2) from None
        except OSError as error:
            err.print(f"error: {error.strerror or error}: {error.filename or ''}".rstrip(": "), markup=False)
            raise typer.Exit(2) from None
    return wrapper


def load(path: Path, scale: str | None) -> Scenario:
    from sim.scenario import load_scenario, parse_scale

    return load_scenario(path, scale=parse_scale(scale) if scale else None)


def _fmt(value: float | None, unit: str = "") -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{value:.1f}{(' ' + unit) if unit else ''}"


def print_summary(result: service.RunResult) -> None:
    s = result.scenario
    out.print(f"[bold]{s.title}[/bold]  ({s.id}, seed {result.seed}, {result.mechanism}, "
              f"{s.protocol.linkage.replace('_', '-')})")
    walked = f"; {', '.join(result.walked_out)} walked away" if result.walked_out else ""
    out.print(f"Outcome: {result.outcome} after {result.rounds} rounds{walked}; "
              f"final tension {result.tension:.2f}", markup=False, highlight=False)
    if result.inputs:
        drawn = ", ".join(f"{path} = {value:.3g}" for path, value in result.inputs.items())
        out.print(f"Inputs drawn for this seed ({len(result.inputs)} uncertain; --as-coded to play the file's "
                  f"values): {drawn}", markup=False, highlight=False)
    for issue in s.issues:
        out.print(f"  {issue.id}: {issue.label} ({issue.scale.min:g} = {issue.low_label}; "
                  f"{issue.scale.max:g} = {issue.high_label})", markup=False, highlight=False)
    out.print("Why:", markup=False)
    for issue_id, r in result.issues.items():
        out.print(f"  {issue_id}: {r.why}", markup=False, highlight=False)
    table = Table(title="Issues", title_justify="left")
    for column in ("issue", "agreed", "value", "round", "proposal", "weighted mean", "weighted median"):
        table.add_column(column, justify="left" if column == "issue" else "right")
    is_eu = result.mechanism == "expected_utility"
    if is_eu:
        table.add_column("prediction", justify="right")
    for issue_id, r in result.issues.items():
        unit = s.issue(issue_id).scale.unit
        row = [issue_id, "yes" if r.agreed else "no", _fmt(r.value, unit),
               str(r.round) if r.round is not None else "-", _fmt(r.proposal, unit),
               _fmt(r.weighted_mean, unit), _fmt(r.weighted_median, unit)]
        if is_eu:
            row.append(_fmt(r.prediction, unit))
        table.add_row(*row)
    out.print(table)
    actors = Table(title="Actors (final offers; utility of the outcome)", title_justify="left")
    actors.add_column("actor")
    actors.add_column("utility", justify="right")
    for issue_id in s.issue_ids:
        actors.add_column(issue_id, justify="right")
    for actor_id, r in result.actors.items():
        actors.add_row(actor_id, f"{r.utility:.3f}",
                       *(_fmt(r.final_positions[i]) for i in s.issue_ids))
    out.print(actors)


@app.command()
@user_errors
def run(
    scenario: Annotated[Path, typer.Argument(help="Scenario file: YAML, JSON or CSV (BDM or KTAB layout).")],
    seed: Annotated[int | None, typer.Option(min=0, help="Random seed (default: the scenario's).")] = None,
    max_rounds: Annotated[int | None, typer.Option(min=1, max=10_000, help="Override protocol.max_rounds.")] = None,
    mechanism: Annotated[str | None, typer.Option(
        help="Override protocol.mechanism: concession or expected_utility.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as one JSON object.")] = False,
    rounds_csv: Annotated[Path | None, typer.Option(
        help="Write the tidy per-round table (round,actor,issue,position,...) to this CSV file.")] = None,
    scale: ScaleOption = None,
    as_coded: Annotated[bool, typer.Option(
        "--as-coded", help="Play the uncertain inputs as the file codes them instead of drawing them from the seed.")]
        = False,
) -> None:
    """Run one negotiation and print its outcome, with why each issue ended as it did."""
    from sim import service
    from sim.scenario import Problem, ScenarioError

    if mechanism is not None and mechanism not in MECHANISMS:
        raise ScenarioError([Problem("--mechanism", f"must be one of {', '.join(MECHANISMS)} "
                                                            f"(got {mechanism!r})")])
    spec = service.prepare(load(scenario, scale), max_rounds=max_rounds, mechanism=mechanism)
    result = service.run_scenario(spec, seed, collect=rounds_csv is not None, draw=not as_coded)
    if rounds_csv is not None:
        rounds_csv.parent.mkdir(parents=True, exist_ok=True)
        result.history.to_csv(rounds_csv, index=False)
    if as_json:
        sys.stdout.write(json.dumps(result.to_dict(), indent=2, allow_nan=False) + "\n")
    else:
        print_summary(result)
        if rounds_csv is not None:
            out.print(f"Per-round table written to {rounds_csv}")


@app.command()
def validate(
    files: Annotated[list[Path], typer.Argument(help="Scenario files to check.")],
    scale: ScaleOption = None,
) -> None:
    """Check scenario files; exit 0 if all are valid, 2 if any is not."""
    from sim.scenario import ScenarioError

    bad = 0
    for path in files:
        try:
            spec = load(path, scale)
        except ScenarioError as error:
            bad += 1
            err.print(str(error) if error.source else f"{path}: {error}", markup=False, highlight=False)
        except OSError as error:
            bad += 1
            err.print(f"{path}: {error.strerror or error}", markup=False)
        else:
            out.print(f"{path}: ok ({len(spec.actors)} actors x {len(spec.issues)} issues)", markup=False)
    if bad:
        raise typer.Exit(2)


@app.command()
def schema() -> None:
    """Print the JSON Schema of scenario files."""
    from sim.scenario import json_schema

    sys.stdout.write(json.dumps(json_schema(), indent=2) + "\n")


@app.command(name="params")
@user_errors
def list_params(
    scenario: Annotated[Path, typer.Argument(help="Scenario file.")],
    scale: ScaleOption = None,
) -> None:
    """List every numeric or choice field a sweep can vary: PATH<TAB>VALUE per line."""
    from sim.scenario import params

    for path, value in params(load(scenario, scale)).items():
        sys.stdout.write(f"{path}\t{value}\n")


from sim.sweep.cli import register as _register_sweep  # noqa: E402

_register_sweep(app)


def main() -> None:
    from sim.sweep.cli import start_workers_early

    start_workers_early(sys.argv[1:])
    try:
        app()
    finally:
        # The command is done: let the interpreter exit without its final garbage collection over every imported
        # module (about 0.3 s once the model, pandas and Arrow are loaded); objects still go by reference count.
        gc.freeze()


if __name__ == "__main__":
    main()
