"""The `negsim` command line: run, validate, brief, schema, params, backtest, forecast (sweeps register their own
commands).

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
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from sim.cli.common import err, load, out, user_errors
from sim.cli.terminal import flush_quietly
from sim.version import __version__

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="negsim: simulate multi-actor, multi-issue negotiations (Mesa agent-based model).")


def _flags_without_type() -> None:
    """Typer's help shows `<bool>` after flags such as --json, which take no value: show nothing there."""
    option = getattr(getattr(typer, "core", None), "TyperOption", None)
    shown = getattr(option, "display_type_rich", None)
    if option is None or shown is None or getattr(shown, "_negsim", False):
        return

    def display_type_rich(self: Any, ctx: Any) -> str | None:
        return None if getattr(self, "is_flag", False) else shown(self, ctx)

    display_type_rich._negsim = True  # type: ignore[attr-defined]
    option.display_type_rich = display_type_rich


_flags_without_type()


def _show_version(value: bool) -> None:
    if value:
        sys.stdout.write(f"negsim {__version__}\n")
        raise typer.Exit()


@app.callback()
def _options(
    version: Annotated[bool, typer.Option("--version", callback=_show_version, is_eager=True,
                                          help="Print negsim's version and exit.")] = False,
) -> None:
    """negsim: simulate multi-actor, multi-issue negotiations (Mesa agent-based model)."""

if TYPE_CHECKING:
    from sim import service

ScaleOption = Annotated[str | None, typer.Option(
    "--scale", metavar="LO:HI", help="CSV import: the issue scale (default: min..max of the positions).")]


def _fmt(value: float | None, unit: str = "") -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{value:.1f}{(' ' + unit) if unit else ''}"


def _day(iso: str | None) -> str:
    """An ISO date as '24 Feb 2022'."""
    import datetime as dt

    if iso is None:
        return "-"
    day = dt.date.fromisoformat(iso)
    return f"{day.day} {day:%b %Y}"


def print_summary(result: service.RunResult) -> None:
    from sim.scenario.limits import for_terminal

    s = result.scenario
    out.print(Text.assemble((for_terminal(s.title, newlines=False), "bold"),
                            f"  ({s.id}, seed {result.seed}, {result.mechanism}, "
                            f"{s.protocol.linkage.replace('_', '-')})"))
    walked = f"; {', '.join(result.walked_out)} walked away" if result.walked_out else ""
    when = f" (round {result.rounds} on {_day(result.date_of(result.rounds))})" if s.protocol.calendar else ""
    out.print(Text.assemble("Outcome: ", (result.outcome, "bold"),
                            f" after {result.rounds} rounds{when}{walked}; final tension {result.tension:.2f}"))
    if s.protocol.calendar is not None:
        deadline = s.protocol.max_rounds
        out.print(f"Calendar: round 0 on {_day(result.date_of(0))}, {s.protocol.calendar.days_per_round:g} days a "
                  f"round; the deadline, round {deadline}, on {_day(result.date_of(deadline))}",
                  markup=False, highlight=False)
    if result.events:
        out.print("Events:", markup=False)
        for event in result.event_list():
            day = f", {_day(event['date'])}" if event["date"] else ""
            how = "" if event["scheduled"] else " (played)"
            out.print(for_terminal(f"  before round {event['before_round']}{day}: {event['label']}{how}",
                                   newlines=False), markup=False, highlight=False)
    if result.inputs:
        drawn = ", ".join(f"{path} = {value:.3g}" for path, value in result.inputs.items())
        out.print(f"Inputs drawn for this seed ({len(result.inputs)} uncertain; --as-coded to play the file's "
                  f"values): {drawn}", markup=False, highlight=False)
    for issue in s.issues:
        out.print(for_terminal(f"  {issue.id}: {issue.label} ({issue.scale.min:g} = {issue.low_label}; "
                               f"{issue.scale.max:g} = {issue.high_label})", newlines=False))
    out.print("Why:", markup=False)
    for issue_id, r in result.issues.items():
        out.print(for_terminal(f"  {issue_id}: {r.why}", newlines=False))
    table = Table(title="Issues", title_justify="left")
    dated = s.protocol.calendar is not None
    for column in ("issue", "agreed", "value", "round", *(("date",) if dated else ()), "proposal", "weighted mean",
                   "weighted median"):
        table.add_column(column, justify="left" if column == "issue" else "right")
    forecasts = any(r.prediction is not None for r in result.issues.values())
    if forecasts:
        table.add_column("prediction", justify="right")
    for issue_id, r in result.issues.items():
        unit = for_terminal(s.issue(issue_id).scale.unit, newlines=False)
        date = (_day(result.date_of(r.round)) if r.round is not None else "-",) if dated else ()
        row = [issue_id, "yes" if r.agreed else "no", _fmt(r.value, unit),
               str(r.round) if r.round is not None else "-", *date, _fmt(r.proposal, unit),
               _fmt(r.weighted_mean, unit), _fmt(r.weighted_median, unit)]
        if forecasts:
            row.append(_fmt(r.prediction, unit))
        table.add_row(*row)
    out.print(table)
    actors = Table(title="Actors (final offers; utility of the outcome)", title_justify="left")
    actors.add_column("actor")
    actors.add_column("utility", justify="right")
    for issue_id in s.issue_ids:
        actors.add_column(issue_id, justify="right")
    for actor_id, a in result.actors.items():
        actors.add_row(actor_id, f"{a.utility:.3f}",
                       *(_fmt(a.final_positions[i]) for i in s.issue_ids))
    out.print(actors)


@app.command()
@user_errors
def run(
    scenario: Annotated[Path, typer.Argument(help="Scenario file: YAML, JSON or CSV (BDM or KTAB layout).")],
    seed: Annotated[int | None, typer.Option(min=0, help="Random seed (default: the scenario's).")] = None,
    max_rounds: Annotated[int | None, typer.Option(min=1, max=10_000, help="Override protocol.max_rounds.")] = None,
    mechanism: Annotated[str | None, typer.Option(
        help="Override protocol.mechanism (`negsim mechanisms` lists them).")] = None,
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
    from sim.mechanisms import REGISTRY
    from sim.scenario import Problem, ScenarioError

    if mechanism is not None and mechanism not in REGISTRY:
        raise ScenarioError([Problem("--mechanism", f"must be one of {', '.join(REGISTRY)} (got {mechanism!r})")])
    spec = service.prepare(load(scenario, scale), max_rounds=max_rounds, mechanism=mechanism)
    result = service.run_scenario(spec, seed, collect=rounds_csv is not None, draw=not as_coded)
    if rounds_csv is not None:
        rounds_csv.parent.mkdir(parents=True, exist_ok=True)
        result.recorded_history().to_csv(rounds_csv, index=False)
    if as_json:
        sys.stdout.write(json.dumps(result.to_dict(), indent=2, allow_nan=False) + "\n")
    else:
        print_summary(result)
        if rounds_csv is not None:
            from sim.scenario.limits import for_terminal

            out.print(f"Per-round table written to {for_terminal(str(rounds_csv), newlines=False)}")


@app.command()
@user_errors
def validate(
    files: Annotated[list[Path], typer.Argument(help="Scenario files to check.")],
    scale: ScaleOption = None,
) -> None:
    """Check scenario files; exit 0 if all are valid, 2 if any is not."""
    from sim.scenario import ScenarioError
    from sim.scenario.limits import for_terminal

    bad = 0
    for path in files:
        name = for_terminal(str(path), newlines=False)
        try:
            spec = load(path, scale)
        except ScenarioError as error:
            bad += 1
            err.print(str(error) if error.source else f"{name}: {error}")
        except OSError as error:
            bad += 1
            err.print(f"{name}: {error.strerror or error}")
        else:
            out.print(f"{name}: ok ({len(spec.actors)} actors x {len(spec.issues)} issues)")
    if bad:
        raise typer.Exit(2)


@app.command()
@user_errors
def brief(
    scenario: Annotated[Path, typer.Argument(help="Scenario file: YAML, JSON or CSV.")],
    actor: Annotated[str | None, typer.Option(help="Only this actor's brief (default: every actor's).")] = None,
    confidential: Annotated[bool, typer.Option(
        "--confidential", help="Show goals, red lines and confidential instructions too (a teacher's view).")] = False,
    placeholders: Annotated[bool, typer.Option(
        "--placeholders", help="List the placeholders a brief of this scenario may use, with their values.")] = False,
    scale: ScaleOption = None,
) -> None:
    """Print the background and role briefs, their numbers filled in from the scenario's coded values."""
    from sim.scenario import Problem, ScenarioError, rendered_background, rendered_brief
    from sim.scenario.briefs import scenario_values
    from sim.scenario.limits import for_terminal

    spec = load(scenario, scale)
    if placeholders:
        for name, value in scenario_values(spec).items():
            out.print(for_terminal(f"{{{name}}}\t{value}", newlines=False), markup=False, highlight=False)
        out.print("In an actor's own brief, its values also without the actor's id: {ideal.ISSUE}, "
                  "{red_line.ISSUE}, {salience.ISSUE}, {reservation_utility}, {outside_option}.",
                  markup=False, highlight=False)
        return
    if actor is not None and actor not in spec.actor_ids:
        raise ScenarioError([Problem("--actor", f"unknown actor id '{actor}' (actors: {', '.join(spec.actor_ids)})")])
    if actor is None and spec.background:
        out.print(Text("Background", style="bold"))
        out.print(for_terminal(rendered_background(spec)), markup=False, highlight=False)
    for a in spec.actors:
        if actor is not None and a.id != actor:
            continue
        b = rendered_brief(spec, a.id)
        out.print(Text(f"\n{for_terminal(a.name, newlines=False)} ({a.id})", style="bold"))
        out.print(for_terminal(b.public or "(no public brief)"), markup=False, highlight=False)
        if confidential:
            for goal in b.goals:
                out.print(for_terminal(f"  - {goal}"), markup=False, highlight=False)
            if b.confidential:
                out.print(for_terminal(f"Confidential: {b.confidential}"), markup=False, highlight=False)


@app.command()
@user_errors
def schema() -> None:
    """Print the JSON Schema of scenario files."""
    from sim.scenario import json_schema

    sys.stdout.write(json.dumps(json_schema(), indent=2) + "\n")


@app.command(name="mechanisms")
@user_errors
def list_mechanisms() -> None:
    """List the bargaining mechanisms (protocol.mechanism): NAME<TAB>LABEL<TAB>what it does, and its parameters."""
    from sim.mechanisms import REGISTRY

    for m in REGISTRY.values():
        sys.stdout.write(f"{m.name}\t{m.label}\t{m.summary}\n")
        for name, field in (m.parameters.model_fields.items() if m.parameters is not None else ()):
            description = " ".join((field.description or "").split())     # the docstring's lines as one
            sys.stdout.write(f"  protocol.{m.name}.{name}\t{field.default}\t{description}\n")


@app.command(name="params")
@user_errors
def list_params(
    scenario: Annotated[Path, typer.Argument(help="Scenario file.")],
    scale: ScaleOption = None,
) -> None:
    """List every numeric or choice field a sweep can vary: PATH<TAB>VALUE<TAB>NAME per line (NAME: the input in
    words, as the dashboard and the sweep tables name it)."""
    from sim.scenario import label, params
    from sim.scenario.limits import for_terminal

    spec = load(scenario, scale)
    for path, value in params(spec).items():
        sys.stdout.write(f"{path}\t{value}\t{for_terminal(label(spec, path), newlines=False)}\n")


@app.command()
def backtest(
    file: Annotated[Path, typer.Argument(help="Past decisions in the DEU layout (docs/forecasting.md).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print {models: {NAME: {mae, n}}, issues: [...]} as JSON.")]
    = False,
    models: Annotated[str | None, typer.Option(
        help="Comma-separated forecasting models (default: all); compromise, the baseline, is always included.")]
    = None,
    png: Annotated[Path | None, typer.Option(
        help="Where the readable form writes its predicted-vs-actual PNG (default: backtest_<FILE stem>.png).")]
    = None,
) -> None:
    """Forecast every issue of a data set of past decisions with each model and score the forecasts."""
    from sim.forecasting import backtest as bt

    try:
        names = bt.model_names(models)
        data = bt.read_deu(file)
    except bt.BacktestError as error:
        err.print(str(error), markup=False, highlight=False)
        raise typer.Exit(2) from None
    except OSError as error:
        err.print(f"error: {error.strerror or error}: {file}", markup=False)
        raise typer.Exit(2) from None
    try:
        result = bt.run_with_progress(data, names, err)
    except ValueError as error:        # a model refusing the data (e.g. a ScenarioError): one line, never a traceback
        first = str(error).splitlines()
        detail = " ".join(line.strip(" -") for line in first[1:3])
        err.print(f"{file}: a forecasting model cannot use this data: {first[0] if first else error}"
                  + (f" {detail}" if detail else ""), markup=False, highlight=False)
        raise typer.Exit(2) from None
    if as_json:
        sys.stdout.write(json.dumps(result.to_dict(), indent=2, allow_nan=False) + "\n")
        return
    bt.print_report(result, data, out)
    path = bt.plot(result, png or Path(f"backtest_{file.stem}.png"))
    out.print(f"Predicted vs actual: {path}", markup=False, highlight=False)


@app.command(name="forecast")
@user_errors
def forecast_scenario(
    scenario: Annotated[Path, typer.Argument(help="Scenario file: YAML, JSON or CSV (BDM or KTAB layout).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object per issue in a list.")] = False,
    runs: Annotated[int, typer.Option(min=0, max=100_000, help="Monte Carlo runs for the simulated agreements.")]
    = 200,
    seed: Annotated[int | None, typer.Option(min=0, help="Root seed of the runs (default: the scenario's).")] = None,
    scale: ScaleOption = None,
) -> None:
    """Every forecasting model on the scenario's issues, with 80 % intervals, beside the simulated agreements."""
    from sim.forecasting.scenario import IssueRow, forecast_table

    rows = forecast_table(load(scenario, scale), runs=runs, seed=seed)
    if as_json:
        sys.stdout.write(json.dumps([row.to_dict() for row in rows], indent=2, allow_nan=False) + "\n")
        return
    # models down, issues across: a scenario has a few issues, and seven models side by side would not fit
    table = Table(title="Forecasts with 80 % intervals, and the simulated agreements", title_justify="left")
    table.add_column("model", justify="left")
    for row in rows:
        table.add_column(row.issue + (f" ({row.unit})" if row.unit else ""), justify="right")
    table.add_row("status quo", *(_fmt(row.status_quo) for row in rows))
    for model in (rows[0].forecasts if rows else ()):
        table.add_row(model, *(f"{row.forecasts[model].value:.1f} ({row.fmt(row.forecasts[model].low)}-"
                               f"{row.fmt(row.forecasts[model].high)})" for row in rows))
    if runs:
        from sim.core.intervals import describe_share, wilson

        def cells(row: IssueRow) -> tuple[str, str]:
            """The simulated agreements of an issue: the share agreed, the median and its 10-90 % range."""
            sim = row.simulated
            if sim is None:
                return "-", "-"
            median = "-" if sim.median is None else f"{sim.median:.1f} ({row.fmt(sim.low)}-{row.fmt(sim.high)})"
            return describe_share(wilson(round(sim.agreed * sim.runs), sim.runs)), median

        simulated = [cells(row) for row in rows]
        table.add_row(f"simulated, {runs} runs: agreed [95 %]", *(share for share, _ in simulated))
        table.add_row("  median (10-90 %)", *(median for _, median in simulated))
    out.print(table)


from sim.cli.sweep import register as _register_sweep  # noqa: E402

_register_sweep(app)


def main() -> None:
    from sim.cli.sweep import start_workers_early

    start_workers_early(sys.argv[1:])
    try:
        app()
    finally:
        flush_quietly()     # stdout into a closed pipe (`negsim params F | head`): a quiet end, not a traceback
        # The command is done: let the interpreter exit without its final garbage collection over every imported
        # module (about 0.3 s once the model, pandas and Arrow are loaded); objects still go by reference count.
        gc.freeze()


if __name__ == "__main__":
    main()
