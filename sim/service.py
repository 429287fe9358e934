"""The one entry point every interface calls: prepare a scenario, run it, describe the result.

The CLI, the sweep runner, the dashboard and the classroom all go through these functions, so a run means
the same thing everywhere.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from sim import mechanisms
from sim.compile.arrays import arrays_of
from sim.compile.arrays import profiles_of as profiles_of  # the scenario as arrays, for the analysis views
from sim.compile.inputs import draw_plan, draw_values, drawn_mapping
from sim.compile.inputs import runs_to_validate as runs_to_validate  # a sweep's values checked before a batch
from sim.compile.inputs import setter_of as setter_of  # which inputs a batch sets without validating
from sim.core import table_rules
from sim.core.intervals import Interval, Paired, paired_share_difference, wilson
from sim.core.intervals import describe_paired as describe_paired  # for the interfaces (dashboard, CLI)
from sim.core.intervals import describe_share as describe_share
from sim.core.intervals import percent as percent
from sim.core.intervals import points as points
from sim.core.intervals import shown_difference as shown_difference
from sim.core.records import built
from sim.core.utility import to_native
from sim.engine import lockstep
from sim.engine.explain import MET_THE_PROPOSAL as MET_THE_PROPOSAL
from sim.engine.explain import in_units as in_units
from sim.engine.explain import issue_reasons
from sim.engine.explain import move_sentence as move_sentence
from sim.engine.explain import move_sentences as move_sentences
from sim.scenario import Calendar, Scenario, ScenarioError, apply_params, baseline, load_scenario, with_protocol

if TYPE_CHECKING:
    import pandas as pd

    from sim.engine.model import NegotiationModel


@dataclass(frozen=True)
class IssueResult:
    agreed: bool
    value: float | None          # agreed value (native units), None if not agreed
    round: int | None            # round of agreement
    proposal: float              # the standing proposal at the end (native units)
    weighted_mean: float         # forecast baselines from the initial positions
    weighted_median: float
    prediction: float | None = None   # expected-utility mechanism: final median-voter position
    why: str = ""                # what settled or blocked the issue, and when (`sim.engine.explain`)


@dataclass(frozen=True)
class ActorResult:
    utility: float
    final_positions: dict[str, float]


@dataclass(frozen=True)
class RunResult:
    played: Scenario | Callable[[], Scenario] = field(repr=False, compare=False)
    """The scenario the run played, or how to build it (a run with drawn inputs: `scenario` builds it once read)."""
    layout: Scenario = field(repr=False, compare=False)
    """The scenario as the run was set up: its ids, names, scales, linkage, calendar and injects, which no input
    drawn straight into the run's arrays changes (`NegotiationModel.layout`). The JSON contract and the summary rows
    read these, so they need not build (and validate) the drawn scenario."""
    seed: int | None
    mechanism: str
    rounds: int
    outcome: str
    tension: float
    issues: dict[str, IssueResult]
    actors: dict[str, ActorResult]
    history: pd.DataFrame | None = field(default=None, repr=False)
    """Tidy per-round table (round 0 = initial), present when the run collected data."""
    walked_out: list[str] = field(default_factory=list)
    """Actors that left the table (a breakdown)."""
    inputs: dict[str, float] = field(default_factory=dict)
    """The uncertain inputs this run drew from its seed, by parameter path (empty: played as coded)."""
    events: list[tuple[int, str]] = field(default_factory=list)
    """The injects that fired or were played: (the round they came before, inject id), in order."""

    @cached_property
    def scenario(self) -> Scenario:
        """The scenario the run played, its drawn inputs set."""
        return self.played if isinstance(self.played, Scenario) else self.played()

    def recorded_history(self) -> pd.DataFrame:
        """`history`, which a run played with `collect=False` has not got (a ValueError saying so)."""
        if self.history is None:
            raise ValueError("the run kept no rounds (played with collect=False)")
        return self.history

    def date_of(self, round_: int | None) -> str | None:
        """A round's date as ISO text (None without a calendar, or for no round)."""
        day = None if round_ is None else self.layout.date_of(round_)
        return None if day is None else day.isoformat()

    def event_list(self) -> list[dict[str, Any]]:
        """The events as the JSON contract lists them: id, label, the round they came before, the date (the
        inject's own, or that round's) and the source."""
        out = []
        for after, inject_id in self.events:
            inject = self.layout.inject(inject_id)
            out.append({"id": inject_id, "label": inject.label, "before_round": after + 1,
                        "date": inject.date.isoformat() if inject.date is not None else self.date_of(after + 1),
                        "scheduled": inject.scheduled, "source": inject.source})
        return out

    def to_dict(self) -> dict[str, Any]:
        """The run as the JSON object of the CLI contract (`negsim run --json`)."""
        calendar = self.layout.protocol.calendar
        dates = None if calendar is None else _round_date_texts(calendar, self.rounds)    # rounds 0..rounds
        issues = {}
        for issue_id, r in self.issues.items():
            entry: dict[str, Any] = {
                "agreed": r.agreed, "value": r.value, "round": r.round, "proposal": r.proposal,
                "baseline": {"weighted_mean": r.weighted_mean, "weighted_median": r.weighted_median},
                "unit": self.layout.issue(issue_id).scale.unit,
            }
            if r.prediction is not None:
                entry["prediction"] = r.prediction
            entry["date"] = None if dates is None or r.round is None else dates[r.round]
            entry["why"] = r.why
            issues[issue_id] = entry
        layout = self.layout
        return {
            "scenario": layout.id, "title": layout.title, "seed": self.seed,
            "mechanism": self.mechanism, "linkage": layout.protocol.linkage, "rounds": self.rounds,
            "date": None if dates is None else dates[-1],
            "round_dates": None if dates is None else list(dates),
            "outcome": self.outcome, "tension": self.tension, "walked_out": self.walked_out, "issues": issues,
            "actors": {a: {"utility": r.utility, "final_positions": r.final_positions}
                       for a, r in self.actors.items()},
            "events": self.event_list(),
            "inputs": self.inputs,
        }

    def summary_row(self) -> dict[str, Any]:
        """One flat row per run (the columns of `summary_fields`), for sweeps and Monte Carlo tables."""
        issues = list(self.issues.values())
        return summary_fields(
            self.layout, self.outcome, self.rounds, self.tension, [r.agreed for r in issues],
            [np.nan if r.value is None else r.value for r in issues],
            [r.utility for r in self.actors.values()],
            None if issues[0].prediction is None else [r.prediction for r in issues], self.inputs)


PerItem = Sequence[Any] | np.ndarray
"""Values indexed by issue or by actor: a list for one run, an array (a column of runs per item) for many."""


def summary_fields(scenario: Scenario, outcome: Any, rounds: Any, tension: Any, agreed: PerItem,
                   value: PerItem, utility: PerItem, prediction: PerItem | None = None,
                   inputs: dict[str, Any] | None = None) -> dict[str, Any]:
    """The flat summary of runs: outcome, rounds, date (of the last round, ISO text; with a calendar only),
    tension, then per issue agreed.<id>, value.<id> (native
    units, NaN unless agreed) and prediction.<id> (expected-utility mechanism), then per actor utility.<id>
    (of the outcome), then input.<path> for each uncertain input the run drew. `agreed`, `value`, `prediction`
    are indexed by issue, `utility` by actor: a value each for one run, a column of all runs' values each for
    many."""
    fields: dict[str, Any] = {"outcome": outcome, "rounds": rounds}
    if scenario.protocol.calendar is not None:
        fields["date"] = round_dates(scenario, rounds)
    fields["tension"] = tension
    for j, issue_id in enumerate(scenario.issue_ids):
        fields[f"agreed.{issue_id}"] = agreed[j]
        fields[f"value.{issue_id}"] = value[j]
        if prediction is not None:
            fields[f"prediction.{issue_id}"] = prediction[j]
    for i, actor_id in enumerate(scenario.actor_ids):
        fields[f"utility.{actor_id}"] = utility[i]
    for path, drawn in (inputs or {}).items():
        fields[f"input.{path}"] = drawn
    return fields


@lru_cache(maxsize=32)
def _round_date_texts(calendar: Calendar, rounds: int) -> tuple[str, ...]:
    """The ISO dates of rounds 0..`rounds` by `calendar` (`Calendar.date_of`), kept for the last few: a scenario's
    runs end after a handful of numbers of rounds, and the JSON contract of each lists its rounds' dates."""
    return tuple(calendar.date_of(r).isoformat() for r in range(rounds + 1))


def round_dates(scenario: Scenario, rounds: Any) -> Any:
    """The ISO dates of rounds (one round, or an array of them: an array of text) by the scenario's calendar."""
    calendar = scenario.protocol.calendar
    if calendar is None:
        raise ValueError(f"scenario {scenario.id} has no calendar: its rounds have no dates")
    if np.ndim(rounds) == 0:
        return calendar.date_of(int(rounds)).isoformat()
    days = np.floor(np.asarray(rounds, dtype=float) * calendar.days_per_round).astype("timedelta64[D]")
    return np.datetime_as_string(np.datetime64(calendar.start, "D") + days, unit="D").astype(object)


def prepare(scenario: Scenario | str | Path | None = None, *, max_rounds: int | None = None,
            mechanism: str | None = None) -> Scenario:
    """Load (if a path) and apply protocol overrides; raises ScenarioError on bad input."""
    if scenario is None:
        scenario = baseline()
    elif not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario)
    return with_protocol(scenario, max_rounds=max_rounds, mechanism=mechanism)


def start(scenario: Scenario, seed: int | None = None, collect: bool = True,
          human_seats: Iterable[str] = (), draw: bool = True) -> NegotiationModel:
    """A model at round 0, ready to step (the dashboard and the classroom step it themselves); people
    choose the offers of `human_seats` through `model.submit_offers` before each step. `draw=False` plays the
    scenario's uncertain inputs as coded (see `NegotiationModel`)."""
    from sim.engine.model import NegotiationModel  # Mesa: imported by the first model run (lockstep needs none)

    return NegotiationModel(scenario, rng=scenario.protocol.seed if seed is None else seed, collect=collect,
                            human_seats=human_seats, draw=draw)


def finish(model: NegotiationModel) -> None:
    """Play the model's remaining rounds."""
    model.run_model()


def result_of(model: NegotiationModel, explain: bool = True) -> RunResult:
    """Describe a model's current state (finished or not) in native units; `explain=False` spares the
    per-issue sentences (`IssueResult.why`) where only summaries are kept (sweeps)."""
    spec = model.layout     # ids and choices; the drawn scenario is built only if the result's `scenario` is read
    forecast = model.prediction
    forecasts = forecast is not None
    # one conversion for every per-issue row and the final offers, then plain floats (cheap per run: sweeps call
    # this per run; the conversion is elementwise, so the same numbers as converting each row alone)
    rows = [model.baseline_mean[None], model.baseline_median[None], model.agreed_value[None], model.proposal[None]]
    if forecast is not None:
        rows.append(forecast[None])
    per_issue = model.native(np.concatenate([*rows, model.offers])).tolist()
    baseline_mean, baseline_median, agreed_value, proposal = per_issue[:4]
    prediction = per_issue[4] if forecasts else None
    offers = per_issue[len(rows):]
    agreed_flags = (~model.open_issues).tolist()
    agreed_rounds = model.agreed_round.tolist()
    reasons = issue_reasons(model) if explain else {}
    issue_ids = spec.issue_ids
    issues = {}
    for j, issue_id in enumerate(issue_ids):
        agreed = agreed_flags[j]
        issues[issue_id] = built(
            IssueResult, agreed=agreed, value=agreed_value[j] if agreed else None,
            round=agreed_rounds[j] if agreed else None, proposal=proposal[j],
            weighted_mean=baseline_mean[j], weighted_median=baseline_median[j],
            prediction=prediction[j] if prediction is not None else None, why=reasons.get(issue_id, ""))
    utilities = model.outcome_utilities().tolist()
    actors = {actor_id: built(ActorResult, utility=utilities[i],
                               final_positions=dict(zip(issue_ids, offers[i], strict=True)))
              for i, actor_id in enumerate(spec.actor_ids)}
    return built(
        RunResult, played=model.spec_source(), layout=spec, seed=model.seed, mechanism=spec.protocol.mechanism,
        rounds=model.round, outcome=model.outcome or "running", tension=float(model.tension), issues=issues,
        actors=actors, history=history_of(model) if model.recorder is not None else None,
        walked_out=list(model.walked_out), inputs=dict(model.drawn_inputs), events=list(model.events))


def run_scenario(scenario: Scenario | str | Path | None = None, seed: int | None = None, *,
                 max_rounds: int | None = None, mechanism: str | None = None,
                 collect: bool = True, draw: bool = True, explain: bool = True) -> RunResult:
    """Run a scenario to its end and describe the result (`draw=False`: uncertain inputs as coded;
    `explain=False`: no per-issue sentences)."""
    spec = prepare(scenario, max_rounds=max_rounds, mechanism=mechanism)
    model = start(spec, seed, collect=collect, draw=draw)
    finish(model)
    return result_of(model, explain)


def history_of(model: NegotiationModel) -> pd.DataFrame:
    """Tidy per-round rows in (round, actor, issue) order: round, actor, issue, position, reason, utility,
    tension, proposal, agreed (+ median and mean under the expected-utility mechanism; + date with a calendar).
    Round 0 is the initial state. The model's round table (`sim.engine.run.RoundRecorder`, which lockstep runs keep
    too) with its actors, issues and reasons named."""
    import pandas as pd  # here: sweep workers, which import this module, need no pandas

    table = named_rounds(rounds_of(model), model.layout, model.reason_names)
    return pd.DataFrame(with_dates(table, model.layout))


def rounds_of(model: NegotiationModel) -> dict[str, np.ndarray]:
    """The model's round table (`sim.engine.run.RoundRecorder.table`); a model started with `collect=False`
    keeps none."""
    if model.recorder is None:
        raise ValueError("the model keeps no rounds (started with collect=False)")
    return model.recorder.table()


def with_dates(table: dict[str, np.ndarray], scenario: Scenario) -> dict[str, np.ndarray]:
    """A round table with a last column `date` (each round's date, ISO text), where the scenario has a calendar
    (last: the tidy table's leading columns stay round, actor, issue, position)."""
    if scenario.protocol.calendar is None:
        return table
    return {**table, "date": round_dates(scenario, table["round"])}


def named_rounds(table: dict[str, np.ndarray], scenario: Scenario, reason_names: Sequence[str]
                 ) -> dict[str, np.ndarray]:
    """A round table (`RoundRecorder.table`) with ids and reasons as text, in the columns of `history_of` (and
    `run` first where it holds several runs)."""
    named = {"round": table["round"],
             "actor": np.asarray(scenario.actor_ids, dtype=object)[table["actor"]],
             "issue": np.asarray(scenario.issue_ids, dtype=object)[table["issue"]],
             "position": table["position"],
             "reason": np.asarray(reason_names, dtype=object)[table["reason"]]}
    named.update({name: table[name] for name in ("utility", "tension", "proposal", "agreed", "median", "mean")
                  if name in table})
    return named


def replicate_seeds(root_seed: int, replicates: int, first: int = 0) -> list[int]:
    """Per-replicate run seeds derived from a root seed with numpy's SeedSequence (replicates `first` to
    `replicates - 1`).

    Replicate r gets the same seed at every parameter point of a sweep (common random numbers), and the
    same seed in a Monte Carlo of the dashboard: seed_r = SeedSequence([root_seed, r]) -> one 63-bit int.
    """
    return [int(np.random.SeedSequence([root_seed, r]).generate_state(2, np.uint64)[0] >> np.uint64(1))
            for r in range(first, replicates)]


@dataclass(frozen=True)
class Batch:
    """Runs played as one batch: their summary columns (those of `summary_fields`, one entry per seed) and, when
    recorded, their round table (`sim.engine.run.RoundRecorder.table`: `run` indexes the seeds; actors, issues
    and `reason_names` by index; `named_rounds` names them)."""

    columns: dict[str, np.ndarray]
    rounds: dict[str, np.ndarray] | None
    reason_names: tuple[str, ...]


def plays_together(scenario: Scenario, paths: Sequence[str] = ()) -> bool:
    """Whether runs of the scenario with values set at `paths` can play all at once (in lockstep)."""
    return lockstep.supports(scenario, list(paths))


def _in_lockstep(scenario: Scenario, n_runs: int, paths: Sequence[str]) -> bool:
    """The engine choice: lockstep where it can play the runs and is the faster, that is for many runs
    (`lockstep.worthwhile`), or for any number while this process has not imported Mesa yet (a model's first run
    would pay that import, ~0.8 s: a sweep worker playing a lone run)."""
    if lockstep.worthwhile(scenario, n_runs, paths):
        return True
    return "mesa" not in sys.modules and plays_together(scenario, paths)


def play_batch(scenario: Scenario, seeds: Sequence[int], paths: Sequence[str] = (),
               values: np.ndarray | None = None, *, rounds: bool = False) -> Batch:
    """One run of the scenario per seed, run r with `values[r]` (R, K) set at `paths` (already valid one by one:
    a design's values), with their round table when `rounds`.

    The one place that chooses the engine (`_in_lockstep`): runs play together in lockstep (the same numbers as
    one NegotiationModel per run, many times faster) where it can play them and that is faster; others run one
    model per run. Raises what a run raises (sweeps then run the runs one by one to record which fail and why)."""
    paths = list(paths)
    reason_names = tuple(mechanisms.get(scenario.protocol.mechanism).reason_names)
    if seeds and _in_lockstep(scenario, len(seeds), paths):
        final = lockstep.play(scenario, seeds, paths, values, record=rounds)
        return Batch(final_summaries(scenario, final), final.rounds_table, reason_names)
    models = []
    for k, seed in enumerate(seeds):
        model = start(point_scenario(scenario, paths, None if values is None else values[k]), seed, collect=rounds)
        finish(model)
        models.append(model)
    rows = [result_of(model, explain=False).summary_row() for model in models]
    columns = {name: np.array([row[name] for row in rows], dtype=object if name == "outcome" else None)
               for name in rows[0]} if rows else {}
    table = None
    if rounds and models:
        tables = [rounds_of(model) for model in models]
        table = {name: np.concatenate([part[name] + k if name == "run" else part[name]
                                       for k, part in enumerate(tables)]) for name in tables[0]}
    return Batch(columns, table, reason_names)


def summaries(scenario: Scenario, seeds: Sequence[int], paths: Sequence[str] = (),
              values: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """The summary columns of one run per seed (`play_batch` without rounds)."""
    return play_batch(scenario, seeds, paths, values).columns


def final_summaries(scenario: Scenario, final: lockstep.Finals) -> dict[str, np.ndarray]:
    """Lockstep runs' final states as the columns of `summary_fields`."""
    low, high = arrays_of(scenario).low, arrays_of(scenario).high
    agreed = ~final.open_issues
    forecasts = mechanisms.get(scenario.protocol.mechanism).forecasts
    return summary_fields(scenario, np.asarray(table_rules.OUTCOMES, dtype=object)[final.outcome], final.rounds,
                          final.tension, agreed.T, to_native(final.agreed_value, low, high).T, final.utility.T,
                          to_native(final.prediction, low, high).T if forecasts else None, final.inputs)


def point_scenario(scenario: Scenario, paths: Sequence[str], values: Sequence[float] | None) -> Scenario:
    """The scenario with numeric `values` set at `paths`, validated (the way a model run takes a design's
    values; whole-number fields get whole numbers)."""
    if not paths or values is None:
        return scenario
    setters = [setter_of(scenario, path) for path in paths]
    return apply_params(scenario, {path: (int(round(v)) if setter is not None and setter.whole else v)
                                   for path, setter, v in zip(paths, setters, np.asarray(values).tolist(),
                                                              strict=True)})


MONTE_CARLO_CHUNK = 256
"""Seeds per `summaries` call in a Monte Carlo: the progress callback hears after each chunk."""
MODEL_CHUNK = 25
"""Seeds per chunk where each run is a model of its own (no lockstep): progress every 25 runs."""


def chunk_size(scenario: Scenario, one_by_one: int = 1) -> int:
    """Seeds per `summaries` call for progress reports: many where the runs play together (lockstep), else
    `one_by_one` (each run is a model of its own)."""
    return MONTE_CARLO_CHUNK if lockstep.supports(scenario) else one_by_one


def monte_carlo_part(scenario: Scenario, first: int, stop: int, root_seed: int | None = None) -> pd.DataFrame:
    """Replicates first..stop-1 of the scenario's Monte Carlo: one summary row per run (replicate, seed, outcome,
    ...), the seeds derived from `root_seed` (default the scenario's seed)."""
    import pandas as pd

    seeds = replicate_seeds(scenario.protocol.seed if root_seed is None else root_seed, stop, first=first)
    return pd.DataFrame({"replicate": np.arange(first, stop), "seed": seeds, **summaries(scenario, seeds)})


def monte_carlo(scenario: Scenario, replicates: int, root_seed: int | None = None,
                progress: Callable[[int, int], None] | None = None, *, one_by_one: int = 1,
                part: Callable[[int, int], pd.DataFrame] | None = None) -> pd.DataFrame:
    """Run the scenario once per replicate seed; one summary row per run (replicate, seed, outcome, ...).

    In chunks (`chunk_size(scenario, one_by_one)` runs each), `progress(done, total)` told after each; a chunk's
    rows are `part(first, stop)` (default `monte_carlo_part`: a caller may cache them, as the dashboard does)."""
    import pandas as pd

    if part is None:
        def part(first: int, stop: int) -> pd.DataFrame:
            return monte_carlo_part(scenario, first, stop, root_seed)

    chunk = chunk_size(scenario, one_by_one)
    parts = []
    for first in range(0, replicates, chunk):
        stop = min(first + chunk, replicates)
        parts.append(part(first, stop))
        if progress is not None:
            progress(stop, replicates)
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def vary_one(scenario: Scenario, path: str, values: Sequence[Any], replicates: int,
             root_seed: int | None = None, progress: Callable[[int, int], None] | None = None) -> pd.DataFrame:
    """One-parameter sensitivity (the dashboard's "vary this slider"): the scenario edited at each value with
    `apply_params` and played with the same replicate seeds (common random numbers), through `summaries`, and
    compared seed by seed with the scenario at its own value of `path` (its reference run, played with the
    same seeds: where the scenario draws `path`, the reference draws it too).

    One row per value of `path`: value, the share of runs ending in each outcome (columns named after the
    outcomes) and the share agreeing each issue (agreed.<id>), each with its 95 % Wilson interval
    (<column>.low, <column>.high) and its paired difference from the reference (<column>.diff, .diff_low,
    .diff_high: B = this value minus A = the reference, over the same seeds); `changed`: seeds whose outcome
    differs from the reference's; mean rounds, runs, and `problem` (why the value makes no valid scenario, else
    None). `progress(done, total)` hears after the reference (done = 0) and after each value."""
    import pandas as pd

    seeds = replicate_seeds(scenario.protocol.seed if root_seed is None else root_seed, replicates)
    reference = summaries(scenario, seeds)
    if progress is not None:        # the reference is played: its runs count too
        progress(0, len(values))
    measures = share_columns(reference)
    rows = []
    for k, value in enumerate(values):
        row: dict[str, Any] = {"value": value, "runs": 0, "rounds": np.nan, "problem": None, "changed": 0,
                               **{name: np.nan for name in measures}}
        try:
            edited = apply_params(scenario, {path: value})
        except ScenarioError as error:
            row["problem"] = "; ".join(str(p) for p in error.problems)
            rows.append(row)
            if progress is not None:
                progress(k + 1, len(values))
            continue
        summary = reference if edited == scenario else summaries(edited, seeds)   # the value in use now: played
        for name, paired in paired_shares(reference, summary).items():
            share = share_interval_of(summary, name)
            row.update({name: share.share, f"{name}.low": share.low, f"{name}.high": share.high,
                        f"{name}.diff": paired.difference, f"{name}.diff_low": paired.low,
                        f"{name}.diff_high": paired.high})
        row["changed"] = changed_outcomes(reference, summary)
        row["rounds"] = float(np.mean(summary["rounds"]))
        row["runs"] = len(seeds)
        rows.append(row)
        if progress is not None:
            progress(k + 1, len(values))
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------- shares, intervals, paired differences
def share_columns(summary: Any) -> list[str]:
    """The shares a batch of runs reports: each outcome, then each issue's agreement (agreed.<id>)."""
    return [*table_rules.OUTCOMES, *(name for name in summary if str(name).startswith("agreed."))]


def _indicator(summary: Any, name: str) -> np.ndarray:
    """Per run, whether it ended in outcome `name` or agreed the issue of `name` (agreed.<id>)."""
    if name.startswith("agreed."):
        return np.asarray(summary[name], dtype=float).astype(bool)
    return np.asarray(summary["outcome"], dtype=object) == name


def share_interval_of(summary: Any, name: str) -> Interval:
    """The share of runs of `summary` (columns of `summary_fields`) ending in outcome `name` (or agreeing the
    issue, agreed.<id>), with its 95 % Wilson interval."""
    hits = _indicator(summary, name)
    return wilson(int(hits.sum()), int(hits.size))


def share_intervals(summary: Any) -> pd.DataFrame:
    """Every share of a batch (`share_columns`) with its 95 % Wilson interval: columns measure, share, low,
    high, runs (measures as `share_columns` names them)."""
    import pandas as pd

    rows = [{"measure": name, **share_interval_of(summary, name)._asdict()} for name in share_columns(summary)]
    return pd.DataFrame(rows).rename(columns={"n": "runs"})


def paired_shares(before: Any, after: Any) -> dict[str, Paired]:
    """Each share's paired difference, `after` minus `before`: two batches run with the same seeds, in the same
    order (summaries, or Monte Carlo tables with a `seed` column, which must match), compared seed by seed
    with a 95 % interval (`sim.core.intervals.paired_share_difference`, Newcombe's for paired shares). Issues
    only one side has are left out."""
    if "seed" in before and "seed" in after and not np.array_equal(np.asarray(before["seed"]),
                                                                   np.asarray(after["seed"])):
        raise ValueError("a paired comparison needs the same seeds on both sides")
    names = [name for name in share_columns(before) if name in share_columns(after)]
    return {name: paired_share_difference(_indicator(before, name), _indicator(after, name)) for name in names}


def changed_outcomes(before: Any, after: Any) -> int:
    """How many seeds ended in another outcome on the `after` side than on the `before` side."""
    return int(np.count_nonzero(np.asarray(before["outcome"], dtype=object)
                                != np.asarray(after["outcome"], dtype=object)))


def paired_table(before: Any, after: Any, digits: int = 0) -> pd.DataFrame:
    """The paired comparison of two batches with the same seeds: one row per share (each outcome, each issue
    agreed on both sides): measure, share_a, share_b, difference (B - A), low, high (its 95 % interval),
    seeds, changed (seeds where this indicator differs), and `text` ("breakdown -12 points [-16, -8] over 500
    paired seeds", in points with `digits` decimals: the difference of the two shares as shown with `digits`
    decimals, `shown_difference`, so that the text agrees with the shares shown beside it)."""
    import pandas as pd

    rows = []
    for name, paired in paired_shares(before, after).items():
        a, b = share_interval_of(before, name), share_interval_of(after, name)
        label = f"agreed on {name.split('.', 1)[1]}" if name.startswith("agreed.") else name
        rows.append({"measure": name, "share_a": a.share, "share_b": b.share, "difference": paired.difference,
                     "low": paired.low, "high": paired.high, "seeds": paired.n, "changed": paired.changed,
                     "text": describe_paired(label, paired._replace(
                         difference=shown_difference(a.share, b.share, digits) / 100), digits)})
    return pd.DataFrame(rows)


def drawn_inputs(scenario: Scenario, seed: int | None = None) -> dict[str, float]:
    """The values a run of the scenario with `seed` (default its own) draws for its uncertain inputs, by path
    (what `RunResult.inputs` reports), without playing the run. Each input has its own stream of the seed, so
    two scenarios differing in some inputs draw the same values for all the others."""
    if not scenario.uncertainty:
        return {}
    plan = draw_plan(scenario)
    return drawn_mapping(plan, draw_values(plan, scenario.protocol.seed if seed is None else seed))
