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

import html
import io
import json
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from sim import mechanisms, service
from sim.classroom import security
from sim.classroom.rooms import CAUSES, RoomState, fmt_value, move_lines, short_name
from sim.core import spatial, table_rules
from sim.core.utility import to_unit
from sim.scenario import rendered_background, rendered_brief

if TYPE_CHECKING:
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
    table = transcript_rows(state, history)
    for column in table.columns:
        if not pd.api.types.is_numeric_dtype(table[column]):
            table[column] = table[column].map(security.csv_safe)
    buffer = io.StringIO()
    table.to_csv(buffer, index=False)
    return buffer.getvalue()


def transcript_json(state: RoomState, model: NegotiationModel, events: list | None = None) -> str:
    """The room as one JSON document: settings, seats, every round (moves, injects, the table's answer and
    each actor's one-line reason), the result, and the event log."""
    spec = state.scenario
    history = service.history_of(model)
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
        "result": service.result_of(model).to_dict(),
        "events": [{"at": _iso(e.at), "kind": e.kind, "actor": e.actor, **e.detail} for e in (events or [])],
    }
    return json.dumps(document, indent=2, default=str)


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


def _svg_lines(series: dict[str, list[float]], lo: float, hi: float, width: int = 760, height: int = 180,
               colours: tuple[str, ...] = ("#3a6ea5", "#c0504d", "#9bbb59", "#8064a2", "#f79646")) -> str:
    """A small inline SVG line chart with its legend on the right (no scripts: it prints)."""
    n = max((len(v) for v in series.values()), default=0)
    if n < 2:
        return ""
    left, right, top, bottom = 34, 170, 10, 26
    plot_w, plot_h = width - left - right, height - top - bottom

    def xy(k: int, v: float) -> str:
        x = left + plot_w * k / (n - 1)
        y = top + plot_h * (1 - (v - lo) / ((hi - lo) or 1))
        return f"{x:.1f},{y:.1f}"

    parts = [f'<svg width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img" '
             f'font-family="sans-serif">',
             f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}" stroke="#999"/>',
             f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + plot_h}" stroke="#999"/>',
             f'<text x="{left}" y="{height - 6}" font-size="11">round 0</text>',
             f'<text x="{left + plot_w}" y="{height - 6}" font-size="11" text-anchor="end">round {n - 1}</text>',
             f'<text x="{left - 4}" y="{top + 10}" font-size="11" text-anchor="end">{hi:g}</text>',
             f'<text x="{left - 4}" y="{top + plot_h}" font-size="11" text-anchor="end">{lo:g}</text>']
    for k, (name, values) in enumerate(series.items()):
        colour = colours[k % len(colours)]
        points = " ".join(xy(i, v) for i, v in enumerate(values))
        parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{points}"/>')
        y = top + 14 + 18 * k
        parts.append(f'<line x1="{width - right + 14}" y1="{y - 4}" x2="{width - right + 34}" y2="{y - 4}" '
                     f'stroke="{colour}" stroke-width="3"/>')
        parts.append(f'<text x="{width - right + 40}" y="{y}" font-size="12">{html.escape(name)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def summary_html(report: Debrief, reveal: bool = True, events: list | None = None) -> str:
    """A self-contained, printable HTML page summarising the room (no scripts, no external files)."""
    state, spec, room = report.state, report.state.scenario, report.state.room
    esc = html.escape
    seats = {s.actor: s for s in state.seats}
    out: list[str] = [f"<!doctype html><html lang='en'><head><meta charset='utf-8'>"
                      f"<title>negsim classroom - room {esc(room.code)}</title><style>{CSS}</style></head><body>"]
    out.append(f"<h1>{esc(room.title)}</h1>")
    out.append(f"<p class='meta'>Room <b>{esc(room.code)}</b> &middot; scenario <code>{esc(spec.id)}</code> "
               f"&middot; seed {room.seed} &middot; {room.rounds_closed} of {spec.protocol.max_rounds} rounds "
               f"played &middot; {datetime.fromtimestamp(room.created_at):%d %B %Y, %H:%M}</p>")
    ended = {"teacher": " (ended by the teacher)", "talks ended": ""}.get(room.ended_by or "", "")
    out.append(f"<p class='outcome'>Outcome: {esc(report.outcome)}{ended} &middot; final tension "
               f"{report.result.tension:.2f}</p>")

    out.append("<h2>Seats</h2><table><tr><th>Actor</th><th>Played by</th></tr>")
    for a in spec.actors:
        seat = seats[a.id]
        who = esc(seat.player) if seat.human and seat.player else "the computer (agent)"
        out.append(f"<tr><td>{esc(a.name)}</td><td>{who}</td></tr>")
    out.append("</table>")

    out.append("<h2>Issues</h2><table><tr><th>Issue</th><th>Result</th><th>Standing proposal at the end</th>"
               "<th>Nash point</th></tr>")
    for issue in spec.issues:
        r = report.result.issues[issue.id]
        res = f"agreed at {fmt_value(r.value, issue)} in round {r.round}" if r.agreed else "not agreed"
        nash = fmt_value(report.nash.values[issue.id], issue) if report.nash else "-"
        out.append(f"<tr><td>{esc(issue.label)}<br><small>0 = {esc(issue.low_label)}; 100 = "
                   f"{esc(issue.high_label)}</small></td><td>{res}</td><td class='num'>"
                   f"{fmt_value(r.proposal, issue)}</td><td class='num'>{nash}</td></tr>")
    out.append("</table>")

    out.append("<h2>Utilities</h2>")
    out.append("<p><small>Utility 0-1 of the outcome to each actor, scored with its brief (unsettled issues count "
               "at the actor's walk-away level). Joint = the sum over the table.</small></p>")
    cmp_ = report.comparison
    head = "<tr><th>Actor</th><th>Class</th><th>Nash point</th>"
    if cmp_:
        head += f"<th>Agent-only mean ({cmp_.runs} runs)</th><th>Class did at least as well as</th>"
    out.append("<table>" + head + "</tr>")
    rows = [(a.name, a.id) for a in spec.actors] + [("Joint", "joint")]
    for name, key in rows:
        value = report.joint if key == "joint" else report.utilities[key]
        nash = (sum(report.nash.utilities.values()) if key == "joint" else report.nash.utilities[key]) \
            if report.nash else None
        cells = f"<td>{esc(name)}</td><td class='num'>{value:.3f}</td><td class='num'>" \
                f"{'-' if nash is None else f'{nash:.3f}'}</td>"
        if cmp_:
            cells += f"<td class='num'>{cmp_.agent_mean[key]:.3f}</td><td class='num'>" \
                     f"{cmp_.percentile[key]:.0f}% of runs</td>"
        out.append(f"<tr>{cells}</tr>")
    out.append("</table>")
    if cmp_ and spec.uncertainty:
        out.append("<p><small>The agent-only runs were played with the assumptions drawn from their ranges (one "
                   "draw per seed); the room played them as coded in the briefs.</small></p>")
    if report.nash is not None:
        note = "" if report.nash.red_lines else (" No outcome respects every red line, so this Nash point sets "
                                                 "the red lines aside.")
        out.append(f"<p>Distance to the Nash point (utility space): <b>{report.to_nash:.3f}</b>.{esc(note)}</p>")
    if cmp_:
        shares = ", ".join(f"{k} {100 * v:.0f}%" for k, v in sorted(cmp_.outcome_share.items()))
        out.append(f"<p>Agent-only runs of the same scenario ({cmp_.runs}): {esc(shares)}.</p>")

    hist = report.history
    proposals = proposal_table(hist, spec.issue_ids)
    series = {"tension x 100": [100 * t for t in hist.drop_duplicates("round")["tension"]]}
    for issue in spec.issues:
        series[short_name(issue)] = list(proposals[issue.id])
    lo = min(i.scale.min for i in spec.issues)
    hi = max(i.scale.max for i in spec.issues)
    out.append("<h2>Round by round</h2>")
    out.append("<p><small>Standing proposal per issue and tension (x 100) after each round.</small></p>")
    out.append(_svg_lines(series, min(lo, 0), max(hi, 100)))
    out.append("<table><tr><th>Round</th><th>What happened</th></tr>")
    for closed in state.rounds:
        r = closed.round
        lines = move_lines(state, hist, r)
        items = [f"<i>Event: {esc(news)}</i>" for news in state.news_before(r)]
        items += [f"<b>{esc(spec.actor(a).name)}</b>: {esc(lines[a])}" for a in spec.actor_ids]
        proposal = ", ".join(f"{short_name(i)} {fmt_value(closed.proposal[i.id], i)}" for i in spec.issues)
        items.append(f"<small>Closed: {esc(CAUSES.get(closed.closed_by, closed.closed_by))}. Tension "
                     f"{closed.tension:.2f}. Proposal: {esc(proposal)}.</small>")
        out.append(f"<tr><td class='num'>{r}</td><td>{'<br>'.join(items)}</td></tr>")
    out.append("</table>")

    out.append("<h2>Briefs</h2>")
    if spec.background:
        out.append(f"<p>{esc(rendered_background(spec))}</p>")
    for a in spec.actors:
        brief = rendered_brief(spec, a.id)    # its numbers filled in from the coded values
        out.append(f"<div class='brief'><b>{esc(a.name)}</b><p>{esc(brief.public)}</p>")
        if reveal and (brief.confidential or brief.goals):
            goals = "".join(f"<li>{esc(g)}</li>" for g in brief.goals)
            out.append(f"<div class='confidential'><p><i>Confidential:</i> {esc(brief.confidential)}</p>"
                       f"<ul>{goals}</ul></div>")
        out.append("</div>")
    if events:
        out.append("<h2>Event log</h2><table><tr><th>Time</th><th>Event</th></tr>")
        for e in events:
            detail = ", ".join(f"{k}={v}" for k, v in e.detail.items() if k != "offers")
            who = f" ({e.actor})" if e.actor else ""
            out.append(f"<tr><td>{datetime.fromtimestamp(e.at):%H:%M:%S}</td><td>{esc(e.kind + who)} "
                       f"<small>{esc(detail)}</small></td></tr>")
        out.append("</table>")
    out.append("<p><small>Generated by negsim classroom mode.</small></p></body></html>")
    return "".join(out)


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
