"""Debrief of a classroom room: utilities, the Nash point, the class against agent-only runs, exports.

Everything is computed by `sim` functions on the room's rebuilt model: utilities by
`sim.core.spatial.outcome_utilities` / `sim.core.table_rules.outcome_utility`, the Nash bargaining point by
`sim.core.spatial.nash_bargaining` over `sim.core.spatial.outcome_grid`, the agent-only runs by
`sim.service.monte_carlo`. Utilities are measured with the scenario as written (the players' briefs):
injects that shifted saliences during the game change how the actors behaved, not how the outcome is scored.
The room plays the inputs as coded; the agent-only runs draw the scenario's uncertain inputs from their ranges
(one draw per seed), and their outcomes are scored with the scenario as written too.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from sim import mechanisms, service
from sim.classroom import security
from sim.classroom.room_state import RoomState
from sim.classroom.views import CAUSES, fmt_value, move_lines, public_history, short_name
from sim.core import spatial, table_rules
from sim.core.colours import ACTOR_DASHES, ACTOR_SHAPES, actor_colours
from sim.core.utility import to_unit
from sim.scenario import rendered_background, rendered_brief

_TEMPLATES = Environment(loader=PackageLoader("sim.classroom", "templates"),
                         autoescape=select_autoescape(default=True), keep_trailing_newline=True)
"""The debrief's HTML templates: every value escaped unless marked safe (the chart's SVG)."""

if TYPE_CHECKING:
    import altair as alt

    from sim.scenario.schema import Brief
    from sim.service import NegotiationModel


# ====================================================================== the Nash point
@dataclass(frozen=True)
class NashPoint:
    values: dict[str, float]        # the outcome, native units per issue
    utilities: dict[str, float]     # each actor's utility of it
    red_lines: bool                 # True: no red line crossed; False: found only with red lines set aside


def nash_point(state: RoomState, max_points: int = 20_000) -> NashPoint | None:
    """The Nash bargaining solution of all the room's actors over a grid of full agreements: the outcome that
    maximises the product of every actor's gain over its reservation utility (Nash 1950), among outcomes that
    leave every actor at least its reservation utility and cross no red line. When the red lines leave no
    such outcome (no zone of agreement), the point is searched again with red lines set aside (`red_lines`
    False); None when even that finds nothing."""
    spec = state.scenario
    p, low, high = service.profiles_of(spec)
    actors = list(range(len(spec.actors)))
    outcomes = spatial.outcome_grid(len(spec.issues), max_points)
    utilities = spatial.outcome_utilities(outcomes, p, actors)
    for red_lines in (True, False):
        feasible = spatial.acceptable_outcomes(outcomes, p, actors, red_lines=red_lines)
        k = spatial.nash_bargaining(utilities, p.reservation, feasible)
        if k is not None:
            native = low + outcomes[k] * (high - low)
            return NashPoint(values={i: float(native[j]) for j, i in enumerate(spec.issue_ids)},
                             utilities={a: float(utilities[k, n]) for n, a in enumerate(spec.actor_ids)},
                             red_lines=red_lines)
    return None


# ====================================================================== utilities
def outcome_utilities(state: RoomState, model: NegotiationModel) -> dict[str, float]:
    """Each actor's utility of the room's outcome so far (settled issues at their agreed value, the others
    at the actor's reservation utility), scored with the scenario as written."""
    if model.prediction is not None:   # a forecasting mechanism scores its predicted positions (the model's own)
        u = model.outcome_utilities()
    else:
        u = table_rules.outcome_utility(model.agreed_value, ~model.open_issues, service.profiles_of(state.scenario)[0])
    return {a: float(u[n]) for n, a in enumerate(state.scenario.actor_ids)}


def utilities_by_round(state: RoomState, history: pd.DataFrame, nash: NashPoint | None = None) -> pd.DataFrame:
    """Per round: each actor's utility of the standing proposal, the joint utility (their sum) and, with a
    Nash point, the distance to it in utility space. Columns: round, one per actor id, joint, to_nash."""
    spec = state.scenario
    p, low, high = service.profiles_of(spec)
    native = proposal_table(history, spec.issue_ids)
    proposals = to_unit(native.to_numpy(float), low, high)
    u = spatial.outcome_utilities(proposals, p, list(range(len(spec.actors))))
    frame = pd.DataFrame(u, columns=spec.actor_ids)
    frame.insert(0, "round", native.index.to_numpy())
    frame["joint"] = u.sum(axis=1)
    if nash is not None:
        target = np.array([nash.utilities[a] for a in spec.actor_ids])
        frame["to_nash"] = np.sqrt(((u - target) ** 2).sum(axis=1))
    return frame


def proposal_table(history: pd.DataFrame, issues: list[str]) -> pd.DataFrame:
    """The standing proposal after each round (native units): index round, one column per issue."""
    return history.drop_duplicates(["round", "issue"]).pivot(index="round", columns="issue",
                                                             values="proposal")[issues]


def distance(utilities: dict[str, float], nash: NashPoint) -> float:
    """Euclidean distance between two utility profiles (0 = the Nash point exactly)."""
    return float(np.sqrt(sum((utilities[a] - nash.utilities[a]) ** 2 for a in nash.utilities)))


# ====================================================================== the class against the agents
@dataclass(frozen=True)
class Comparison:
    runs: int
    outcome_share: dict[str, float]       # share of agent-only runs per outcome
    class_outcome: str
    percentile: dict[str, float]          # per actor and 'joint': share of agent-only runs the class did at least
                                          # as well as (0-100)
    agent_mean: dict[str, float]          # per actor and 'joint': mean utility over the agent-only runs
    class_utility: dict[str, float]       # per actor and 'joint'


def scored_as_written(state: RoomState, runs: pd.DataFrame) -> np.ndarray:
    """(runs, actors) utilities of the agent-only runs' outcomes, scored with the scenario as written (as the
    class is scored) rather than with the inputs each run drew. Under the expected-utility mechanism the runs'
    own scoring is kept (it scores predicted positions, as `outcome_utilities` does)."""
    spec = state.scenario
    own = runs[[f"utility.{a}" for a in spec.actor_ids]].to_numpy(float)
    value_columns = [f"value.{i}" for i in spec.issue_ids]
    if mechanisms.get(spec.protocol.mechanism).forecasts or not set(value_columns) <= set(runs.columns):
        return own
    profiles, low, high = service.profiles_of(spec)
    agreed = runs[[f"agreed.{i}" for i in spec.issue_ids]].to_numpy(bool)
    values = to_unit(np.nan_to_num(runs[value_columns].to_numpy(float), nan=0.0), low, high)
    return table_rules.outcome_utility(values, agreed, profiles)


def compare(state: RoomState, utilities: dict[str, float], outcome: str, runs: pd.DataFrame) -> Comparison:
    """Where the class's result falls in the distribution of agent-only runs (`sim.service.monte_carlo`)."""
    actors = state.scenario.actor_ids
    table = scored_as_written(state, runs)
    joint_runs = table.sum(axis=1)
    class_utility = dict(utilities) | {"joint": float(sum(utilities.values()))}
    percentile, mean = {}, {}
    for n, a in enumerate([*actors, "joint"]):
        column = joint_runs if a == "joint" else table[:, n]
        percentile[a] = float(100.0 * np.mean(column <= class_utility[a] + 1e-12))
        mean[a] = float(column.mean())
    shares = runs["outcome"].value_counts(normalize=True)
    return Comparison(runs=len(runs), outcome_share={k: float(v) for k, v in shares.items()},
                      class_outcome=outcome, percentile=percentile, agent_mean=mean, class_utility=class_utility)


# ====================================================================== the whole debrief
@dataclass(frozen=True)
class Debrief:
    state: RoomState
    result: service.RunResult
    outcome: str                      # the model's, or the classification when the teacher ended early
    utilities: dict[str, float]
    joint: float
    nash: NashPoint | None
    to_nash: float | None
    by_round: pd.DataFrame
    history: pd.DataFrame
    comparison: Comparison | None


def before_reveal(report: Debrief, me: str | None) -> Debrief:
    """What a seat (`me`; None: no seat, e.g. a visitor) may see before the teacher's Reveal. Every utility is scored
    with a confidential brief, so only its own stays: other seats' utilities, the joint utility, the Nash point,
    the distance to it and the comparison with agent-only runs wait for the Reveal, as do other seats' reasons
    (`views.public_history`)."""
    keep = [me] if me is not None and me in report.utilities else []
    return dataclasses.replace(
        report, utilities={a: report.utilities[a] for a in keep}, joint=float("nan"), nash=None, to_nash=None,
        by_round=report.by_round[["round", *keep]], history=public_history(report.history, me), comparison=None)


def debrief(state: RoomState, model: NegotiationModel, runs: pd.DataFrame | None = None) -> Debrief:
    """Everything the debrief page, the exports and the HTML summary show, for a room's rebuilt model
    (`Classroom.model(state)`); `runs`: agent-only runs (`Classroom.agent_runs`) to compare with."""
    result = service.result_of(model)
    outcome = state.room.outcome or model.outcome or table_rules.classify(~model.open_issues, False)
    if state.room.status != "ended":
        outcome = "running"
    utilities = outcome_utilities(state, model)
    nash = nash_point(state)
    history = service.history_of(model)
    by_round = utilities_by_round(state, history, nash)
    comparison = compare(state, utilities, outcome, runs) if runs is not None and len(runs) else None
    return Debrief(state=state, result=result, outcome=outcome, utilities=utilities,
                   joint=float(sum(utilities.values())), nash=nash,
                   to_nash=distance(utilities, nash) if nash is not None else None,
                   by_round=by_round, history=history, comparison=comparison)


# ====================================================================== transcript
def _iso(ts: float | None) -> str | None:
    return None if ts is None else datetime.fromtimestamp(ts).isoformat(timespec="seconds")


def transcript_rows(state: RoomState, history: pd.DataFrame) -> pd.DataFrame:
    """The tidy transcript: one row per round, actor and issue (round 0 = opening positions), with who
    played the seat, what it did and why, and what happened at the table."""
    spec = state.scenario
    seats = {s.actor: s for s in state.seats}
    moves = {(m.round, m.actor): m for m in state.moves}
    closed = {r.round: r for r in state.rounds}
    table = history.copy()
    table.insert(2, "actor_name", table["actor"].map({a.id: a.name for a in spec.actors}))
    table.insert(3, "seat", table["actor"].map(lambda a: "human" if seats[a].human else "agent"))
    table.insert(4, "player", table["actor"].map(lambda a: seats[a].player or ""))
    table["accepted"] = [bool(moves[(r, a)].accepted) if (r, a) in moves else None
                         for r, a in zip(table["round"], table["actor"], strict=True)]
    table["submitted_at"] = [_iso(moves[(r, a)].submitted_at) if (r, a) in moves else None
                             for r, a in zip(table["round"], table["actor"], strict=True)]
    table["round_closed_by"] = table["round"].map(lambda r: closed[r].closed_by if r in closed else "")
    table["injects_before"] = table["round"].map(lambda r: "; ".join(state.news_before(r)) if r > 0 else "")
    return table


def transcript_csv(state: RoomState, history: pd.DataFrame) -> str:
    """The transcript as CSV; text cells a spreadsheet would run as formulas (a name starting with =, +, -, @)
    are neutralised with a leading quote."""
    return security.csv_text(transcript_rows(state, history))


def transcript_json(state: RoomState, model: NegotiationModel, events: list | None = None, reveal: bool = True,
                    me: str | None = None) -> str:
    """The room as one JSON document: settings, seats, every round (moves, injects, the table's answer and
    each actor's one-line reason), the result, and the event log. `reveal=False` (a student before the reveal):
    other seats' confidential reasons are hidden (`views.public_history`)."""
    spec = state.scenario
    history = service.history_of(model)
    result = service.result_of(model).to_dict()
    if not reveal:
        history = public_history(history, me)
    room = state.room
    labels = {i.id: i.label for i in spec.injects}
    rounds = []
    for closed in state.rounds:
        r = closed.round
        rows = history[history["round"] == r]
        lines = move_lines(state, history, r)
        rounds.append({
            "round": r, "closed_by": closed.closed_by, "closed_at": _iso(closed.closed_at),
            "tension": closed.tension, "proposal": closed.proposal, "outcome": closed.outcome,
            "injects_before": [{"id": i.inject, "label": labels.get(i.inject, i.inject),
                                "played_at": _iso(i.played_at)} for i in state.injects_before(r)]
                              + [{"id": i.id, "label": i.label, "played_at": None, "scheduled": True,
                                  "date": None if i.date is None else i.date.isoformat()}
                                 for i in state.scheduled_before(r)],
            "moves": [{"actor": m.actor, "player": state.seat(m.actor).player, "offers": m.offers,
                       "accepted": m.accepted, "revision": m.revision, "submitted_at": _iso(m.submitted_at)}
                      for m in state.moves_in(r)],
            "table": [{"actor": a, "line": lines[a],
                       "offers": {row.issue: float(row.position) for row in rows[rows["actor"] == a].itertuples()},
                       "reasons": {row.issue: row.reason for row in rows[rows["actor"] == a].itertuples()}}
                      for a in spec.actor_ids],
        })
    later = [{"id": i.inject, "label": labels.get(i.inject, i.inject), "after_round": i.after_round,
              "played_at": _iso(i.played_at)} for i in state.injects if i.after_round >= room.rounds_closed]
    document = {
        "room": {"code": room.code, "title": room.title, "scenario": room.scenario_id, "seed": room.seed,
                 "status": room.status, "outcome": room.outcome, "ended_by": room.ended_by,
                 "timer_seconds": room.timer_seconds, "rounds_closed": room.rounds_closed,
                 "max_rounds": spec.protocol.max_rounds, "created_at": _iso(room.created_at)},
        "seats": [{"actor": s.actor, "name": spec.actor(s.actor).name, "seat": "human" if s.human else "agent",
                   "player": s.player} for s in state.seats],
        "rounds": rounds,
        "injects_pending": later,
        "result": result if reveal else _public_result(result, me),
        "events": [{"at": _iso(e.at), "kind": e.kind, "actor": e.actor, **e.detail} for e in (events or [])],
    }
    return json.dumps(document, indent=2, default=str)


def _public_result(result: dict, me: str | None) -> dict:
    """The run's result as a seat (`me`) may see it before the Reveal: other seats' utilities (scored with their
    confidential briefs) empty, and no issue's 'why' (it names red lines: 'Russia accepts nothing below 75')."""
    out = dict(result)
    out["actors"] = {a: {**v, "utility": v.get("utility") if a == me else None}
                     for a, v in result.get("actors", {}).items()}
    out["issues"] = {i: {**v, "why": None} for i, v in result.get("issues", {}).items()}
    return out


# ====================================================================== printable HTML summary
CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2rem auto; max-width: 60rem;
       color: #1d2430; line-height: 1.4; }
h1 { font-size: 1.6rem; margin-bottom: .2rem; } h2 { font-size: 1.2rem; margin-top: 2rem;
     border-bottom: 1px solid #ccd; padding-bottom: .2rem; }
table { border-collapse: collapse; width: 100%; margin: .5rem 0; font-size: .9rem; }
th, td { border: 1px solid #ccd; padding: .25rem .5rem; text-align: left; vertical-align: top; }
th { background: #eef1f6; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
.meta { color: #556; } .outcome { font-size: 1.2rem; font-weight: 600; padding: .5rem .8rem;
        background: #eef1f6; border-left: 4px solid #3a6ea5; display: inline-block; }
.brief { border: 1px solid #ccd; padding: .5rem .8rem; margin: .5rem 0; page-break-inside: avoid; }
.confidential { background: #fff6e5; } small { color: #667; }
@media print { body { margin: 0; max-width: none; } h2 { page-break-after: avoid; } }
"""


def summary_html(report: Debrief, reveal: bool = True, events: list | None = None) -> str:
    """A self-contained, printable HTML page summarising the room (no scripts, no external files): the Jinja2
    template `templates/summary.html.j2`, every text escaped by the template engine, and its chart an SVG drawn by
    vl-convert (the dashboard's chart stack)."""
    state, spec, room = report.state, report.state.scenario, report.state.room
    seats = {s.actor: s for s in state.seats}
    cmp_ = report.comparison
    keys = [a.id for a in spec.actors if a.id in report.utilities]
    keys += ["joint"] if np.isfinite(report.joint) else []     # NaN before the Reveal (`before_reveal`)
    names = {a.id: a.name for a in spec.actors} | {"joint": "Joint"}
    utilities = [{"name": names[key], "value": report.joint if key == "joint" else report.utilities[key],
                  "nash": None if report.nash is None else (sum(report.nash.utilities.values()) if key == "joint"
                                                            else report.nash.utilities[key]),
                  "agent_mean": cmp_.agent_mean[key] if cmp_ else None,
                  "percentile": cmp_.percentile[key] if cmp_ else None} for key in keys]
    hist = report.history
    rounds = []
    for closed in state.rounds:
        lines = move_lines(state, hist, closed.round)
        rounds.append({"round": closed.round, "news": list(state.news_before(closed.round)),
                       "lines": [{"name": spec.actor(a).name, "text": lines[a]} for a in spec.actor_ids],
                       "closed_by": CAUSES.get(closed.closed_by, closed.closed_by), "tension": closed.tension,
                       "proposal": ", ".join(f"{short_name(i)} {fmt_value(closed.proposal[i.id], i)}"
                                             for i in spec.issues)})
    briefs = []
    for a in spec.actors:
        brief: Brief = rendered_brief(spec, a.id)    # its numbers filled in from the coded values
        shown = reveal and bool(brief.confidential or brief.goals)
        briefs.append({"name": a.name, "public": brief.public, "confidential": brief.confidential if shown else None,
                       "goals": list(brief.goals) if shown else []})
    issues = []
    for issue in spec.issues:
        r = report.result.issues[issue.id]
        issues.append({"label": issue.label, "low": issue.low_label, "high": issue.high_label,
                       "result": f"agreed at {fmt_value(r.value, issue)} in round {r.round}" if r.value is not None
                       else "not agreed", "proposal": fmt_value(r.proposal, issue),
                       "nash": fmt_value(report.nash.values[issue.id], issue) if report.nash else "-"})
    context = {
        "css": CSS, "room": room, "scenario_id": spec.id, "max_rounds": spec.protocol.max_rounds,
        "created": f"{datetime.fromtimestamp(room.created_at):%d %B %Y, %H:%M}",
        "outcome": report.outcome, "tension": report.result.tension,
        "ended": {"teacher": " (ended by the teacher)", "talks ended": ""}.get(room.ended_by or "", ""),
        "seats": [{"name": a.name, "who": seats[a.id].player if seats[a.id].human and seats[a.id].player
                   else "the computer (agent)"} for a in spec.actors],
        "issues": issues, "nash": report.nash, "to_nash": report.to_nash, "comparison": cmp_,
        "utilities": utilities, "hidden_utilities": len(keys) < len(spec.actors) + 1,
        "drawn": bool(spec.uncertainty),
        "shares": ", ".join(f"{k} {100 * v:.0f}%" for k, v in sorted(cmp_.outcome_share.items())) if cmp_ else "",
        "chart": Markup(_rounds_svg(report)), "utilities_chart": Markup(_utilities_svg(report)),
        "rounds": rounds, "background": rendered_background(spec),
        "briefs": briefs,
        "events": [{"time": f"{datetime.fromtimestamp(e.at):%H:%M:%S}",
                    "what": e.kind + (f" ({e.actor})" if e.actor else ""),
                    "detail": ", ".join(f"{k}={v}" for k, v in e.detail.items() if k != "offers")}
                   for e in events or []],
    }
    return _TEMPLATES.get_template("summary.html.j2").render(context)


def utilities_figure(report: Debrief) -> alt.Chart:
    """Each actor's utility of the standing proposal per round, in the one actor colour map
    (`sim.core.colours`) with a dash and a marker per actor: the debrief page and the printable summary draw it."""
    import altair as alt

    spec = report.state.scenario
    frame = report.by_round
    names = {a.id: a.name for a in spec.actors}
    long = frame.melt(id_vars="round", value_vars=[a for a in spec.actor_ids if a in frame.columns],
                      var_name="actor", value_name="utility")
    long["actor"] = long["actor"].map(names)
    colours = actor_colours(list(names.values()))     # by the actor's place in the scenario, shown or not
    shown = [k for k, a in enumerate(spec.actor_ids) if a in frame.columns]   # before the Reveal: the seat's own
    order = [spec.actors[k].name for k in shown]
    return alt.Chart(long).mark_line(strokeWidth=2.25, point=alt.OverlayMarkDef(size=40, filled=True)).encode(
        x=alt.X("round:Q", title="round", axis=alt.Axis(tickMinStep=1)),
        y=alt.Y("utility:Q", title="utility of the standing proposal", scale=alt.Scale(domain=[0, 1])),
        color=alt.Color("actor:N", title=None,
                        scale=alt.Scale(domain=order, range=[colours[name] for name in order])),
        strokeDash=alt.StrokeDash("actor:N", title=None, scale=alt.Scale(
            domain=order, range=[ACTOR_DASHES[k % len(ACTOR_DASHES)] for k in shown])),
        shape=alt.Shape("actor:N", title=None, scale=alt.Scale(
            domain=order, range=[ACTOR_SHAPES[k % len(ACTOR_SHAPES)] for k in shown])),
        tooltip=["round:Q", "actor:N", alt.Tooltip("utility:Q", format=".3f")])


def _utilities_svg(report: Debrief) -> str:
    """`utilities_figure` as an inline SVG ('' when no seat's utility is shown yet)."""
    import vl_convert

    if not any(a in report.by_round.columns for a in report.state.scenario.actor_ids):
        return ""
    chart = utilities_figure(report).properties(width=620, height=180)
    return vl_convert.vegalite_to_svg(chart.to_dict())


def _rounds_svg(report: Debrief) -> str:
    """The standing proposal per issue and the tension (x 100) after each round, as an inline SVG."""
    import altair as alt
    import vl_convert

    spec, hist = report.state.scenario, report.history
    proposals = proposal_table(hist, spec.issue_ids)
    rounds = hist.drop_duplicates("round")
    long = [{"round": int(r), "line": "tension x 100", "value": 100 * float(t)}
            for r, t in zip(rounds["round"], rounds["tension"], strict=True)]
    for issue in spec.issues:
        long += [{"round": int(r), "line": short_name(issue), "value": float(v)}
                 for r, v in zip(proposals.index, proposals[issue.id], strict=True)]
    low = min(0.0, *(i.scale.min for i in spec.issues))
    high = max(100.0, *(i.scale.max for i in spec.issues))
    chart = alt.Chart(pd.DataFrame(long)).mark_line(point=True).encode(
        x=alt.X("round:Q", axis=alt.Axis(tickMinStep=1)),
        y=alt.Y("value:Q", title=None, scale=alt.Scale(domain=[low, high])),
        color=alt.Color("line:N", title=None), strokeDash=alt.StrokeDash("line:N", title=None),
    ).properties(width=620, height=180)
    return vl_convert.vegalite_to_svg(chart.to_dict())


def summary_dict(report: Debrief) -> dict[str, Any]:
    """The debrief's figures as plain data (for tests and JSON)."""
    out: dict[str, Any] = {"outcome": report.outcome, "utilities": report.utilities, "joint": report.joint,
                           "to_nash": report.to_nash}
    if report.nash is not None:
        out["nash"] = {"values": report.nash.values, "utilities": report.nash.utilities,
                       "red_lines": report.nash.red_lines}
    if report.comparison is not None:
        c = report.comparison
        out["agents"] = {"runs": c.runs, "outcome_share": c.outcome_share, "percentile": c.percentile,
                         "mean": c.agent_mean}
    return out
