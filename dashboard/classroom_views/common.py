"""Pieces the classroom pages share: the room service, the table (offers, proposal, tension), briefs, the log.

Views only: every number comes from the room's rebuilt model (`sim.classroom`), every rule from `sim.model`.
"""

from __future__ import annotations

import time
from pathlib import Path

import altair as alt
import pandas as pd
import streamlit as st

from sim.classroom import Classroom, RoomState, default_path
from sim.classroom.rooms import CAUSES, fmt_value, move_lines, short_name
from sim.model import NegotiationModel
from sim.scenario import Scenario

ROOT = Path(__file__).resolve().parent.parent.parent
SCENARIO_DIR = ROOT / "scenarios"
POLL_SECONDS = 2.0
OUTCOME_WORDS = {"agreement": "Agreement on every issue", "partial": "Partial agreement",
                 "stalemate": "Stalemate: nothing agreed", "breakdown": "Breakdown: the talks collapsed",
                 "running": "Talks under way"}
STATUS_WORDS = {"lobby": "Waiting to start", "running": "Running", "paused": "Paused", "ended": "Ended"}
YOU, PEOPLE, AGENTS, PROPOSAL = "You", "Played by students", "Played by the computer", "Standing proposal"
COLOURS = {YOU: "#e8590c", PEOPLE: "#1c7ed6", AGENTS: "#868e96", PROPOSAL: "#212529"}


@st.cache_resource(show_spinner=False)
def _classroom(path: str) -> Classroom:
    return Classroom(path)


def classroom() -> Classroom:
    """The room service over the shared SQLite file (NEGSIM_CLASSROOM_DB or ~/.negsim/classroom.sqlite3)."""
    return _classroom(str(default_path()))


def clock(ts: float | None) -> str:
    return "-" if ts is None else time.strftime("%H:%M:%S", time.localtime(ts))


def countdown(seconds: float | None) -> str:
    if seconds is None:
        return ""
    s = int(round(seconds))
    return f"{s // 60}:{s % 60:02d}"


def version(state: RoomState) -> tuple:
    """What, when it changes, makes a page redraw everything (not just its live strip)."""
    r = state.room
    return r.status, r.rounds_closed, len(state.injects), r.revealed, tuple((s.actor, s.human, s.player)
                                                                           for s in state.seats)


def status_line(state: RoomState, now: float) -> str:
    r, spec = state.room, state.scenario
    if r.status == "lobby":
        return "Waiting for the teacher to start"
    if r.status == "ended":
        return f"Ended after round {r.rounds_closed}: {OUTCOME_WORDS.get(r.outcome or '', r.outcome)}"
    text = f"Round {r.open_round} of {spec.protocol.max_rounds}"
    if r.status == "paused":
        text += " - paused by the teacher"
    left = state.time_left(now)
    if left is not None:
        text += f" - {countdown(left)} left" if r.status == "running" else f" ({countdown(left)} left on the timer)"
    return text


def seat_kind(state: RoomState, actor: str, me: str | None) -> str:
    if actor == me:
        return YOU
    return PEOPLE if state.seat(actor).human else AGENTS


# ====================================================================== the table
def show_chart(chart: alt.TopLevelMixin, height: int | None = None) -> None:
    """Render an Altair chart without Altair's schema validation (most of `st.altair_chart`'s time; the charts
    here are fixed code, exercised by the tests). Streamlit sizes a chart itself: charts over a continuous
    y axis need their `height` here; the strip charts size themselves by a step per actor."""
    st.vega_lite_chart(spec=chart.to_dict(validate=False), width="stretch", height=height or "content")


def tension_box(model: NegotiationModel) -> None:
    t = model.protocol.tension
    st.markdown(f"**Tension {model.tension:.2f}** - 0 calm, 1 crisis; the talks break down at "
                f"{t.breakdown_threshold:.2f}")
    st.progress(min(1.0, model.tension / t.breakdown_threshold), text=None)


def offers_table(state: RoomState, model: NegotiationModel, me: str | None = None) -> pd.DataFrame:
    """Rows: every actor's current offer, then the standing proposal; one column per issue (native units)."""
    spec = state.scenario
    offers = model.native(model.offers)
    proposal = model.native(model.proposal)
    rows = {}
    for n, actor in enumerate(spec.actors):
        seat = state.seat(actor.id)
        who = "you" if actor.id == me else (seat.player or "student") if seat.human else "computer"
        rows[f"{actor.name} ({who})"] = [fmt_value(float(offers[n, j]), issue) for j, issue in enumerate(spec.issues)]
    rows["Standing proposal"] = [
        fmt_value(float(proposal[j]), issue) + (" - agreed" if not model.open_issues[j] else "")
        for j, issue in enumerate(spec.issues)]
    return pd.DataFrame.from_dict(rows, orient="index", columns=[i.label for i in spec.issues])


def issue_chart(state: RoomState, j: int, offers, proposal: float, agreed: bool, me: str | None = None,
                red_line: float | None = None) -> alt.LayerChart:
    """One issue: each actor's offer (native units, in actor order) as a dot on the issue's scale, the
    standing proposal as a black bar, the viewer's red line dashed."""
    spec = state.scenario
    issue = spec.issues[j]
    data = pd.DataFrame({"actor": [a.name for a in spec.actors], "offer": [float(v) for v in offers],
                         "seat": [seat_kind(state, a.id, me) for a in spec.actors]})
    scale = alt.Scale(domain=[issue.scale.min, issue.scale.max])
    colour = alt.Color("seat:N", scale=alt.Scale(domain=list(COLOURS), range=list(COLOURS.values())),
                       legend=None)
    dots = alt.Chart(data).mark_circle(size=160, opacity=0.9).encode(
        x=alt.X("offer:Q", scale=scale, title=None), y=alt.Y("actor:N", sort=None, title=None), color=colour,
        tooltip=["actor:N", alt.Tooltip("offer:Q", format=".1f"), "seat:N"])
    rule = alt.Chart(pd.DataFrame({"proposal": [proposal]})).mark_rule(color=COLOURS[PROPOSAL], size=3).encode(
        x=alt.X("proposal:Q", scale=scale), tooltip=[alt.Tooltip("proposal:Q", format=".1f")])
    layers = [rule, dots]
    if red_line is not None:
        layers.insert(0, alt.Chart(pd.DataFrame({"red": [red_line]})).mark_rule(
            color="#c92a2a", strokeDash=[4, 3], size=2).encode(x=alt.X("red:Q", scale=scale)))
    state_word = "AGREED at" if agreed else "proposal"
    title = alt.TitleParams(f"{issue.label} - {state_word} {fmt_value(proposal, issue)}", anchor="start",
                            fontSize=14, subtitle=f"{issue.scale.min:g} = {issue.low_label}   |   "
                                                  f"{issue.scale.max:g} = {issue.high_label}",
                            subtitleFontSize=11, subtitleColor="#555")
    return alt.layer(*layers).properties(height=alt.Step(26), title=title)


def legend(me: str | None) -> None:
    items = [(YOU, COLOURS[YOU])] if me else []
    items += [(PEOPLE, COLOURS[PEOPLE]), (AGENTS, COLOURS[AGENTS]), (PROPOSAL + " (bar)", COLOURS[PROPOSAL])]
    if me:
        items.append(("your red line (dashed)", "#c92a2a"))
    st.markdown(" &nbsp; ".join(f"<span style='color:{c}'>&#9679;</span> {label}" for label, c in items),
                unsafe_allow_html=True)


def table_view(state: RoomState, model: NegotiationModel, me: str | None = None) -> None:
    """The table as everyone sees it: tension, each issue's offers and standing proposal, the numbers."""
    spec = state.scenario
    tension_box(model)
    legend(me)
    red = spec.actor(me).red_lines if me else {}
    offers, proposal = model.native(model.offers), model.native(model.proposal)
    for j, issue in enumerate(spec.issues):
        show_chart(issue_chart(state, j, offers[:, j], float(proposal[j]), not model.open_issues[j], me,
                               red.get(issue.id)))
    with st.expander("The numbers", expanded=False):
        st.dataframe(offers_table(state, model, me), width="stretch")


def log_view(state: RoomState, history: pd.DataFrame, limit: int | None = None, me: str | None = None) -> None:
    """What happened, latest round first: injects, each actor's move in one line, how the round closed."""
    spec = state.scenario
    labels = {i.id: i for i in spec.injects}
    pending = [i for i in state.injects if i.after_round == state.room.rounds_closed]
    for inject in pending:
        item = labels.get(inject.inject)
        st.warning(f"**News before round {state.room.open_round}: {item.label if item else inject.inject}** - "
                   f"{item.description if item else ''}", icon=":material/campaign:")
    rounds = list(reversed(state.rounds))
    if limit is not None:
        rounds = rounds[:limit]
    if not rounds:
        st.caption("No round has been played yet.")
    for closed in rounds:
        r = closed.round
        lines = move_lines(state, history, r)
        text = [f"**Round {r}** - closed at {clock(closed.closed_at)} ({CAUSES.get(closed.closed_by, '')}); "
                f"tension {closed.tension:.2f}"]
        for inject in state.injects_before(r):
            item = labels.get(inject.inject)
            text.append(f"- :orange[News: {item.label if item else inject.inject}]")
        for a in spec.actors:
            who = " (you)" if a.id == me else ""
            text.append(f"- **{a.name}**{who}: {lines[a.id]}")
        proposal = ", ".join(f"{short_name(i)} {fmt_value(closed.proposal[i.id], i)}" for i in spec.issues)
        text.append(f"- *Standing proposal after the round:* {proposal}")
        st.markdown("\n".join(text))


# ====================================================================== briefs
def background(spec: Scenario) -> None:
    if spec.background:
        st.markdown(spec.background)
    else:
        st.caption("This scenario has no background text.")


def brief_view(spec: Scenario, actor: str, confidential: bool) -> None:
    """An actor's brief: (if `confidential`) goals and red lines, then the confidential instructions; then the
    public brief everyone can read."""
    a = spec.actor(actor)
    b = a.brief
    if confidential:
        if b.goals:
            st.markdown("**Goals and red lines**")
            st.markdown("\n".join(f"- {g}" for g in b.goals))
        if b.confidential:
            st.markdown("**Confidential instructions**")
            st.warning(b.confidential, icon=":material/lock:")
    st.markdown(f"**Public brief** - what everyone knows about {a.name}")
    st.markdown(b.public or "_(none)_")


def other_briefs(spec: Scenario, me: str | None, confidential: bool) -> None:
    for a in spec.actors:
        if a.id == me:
            continue
        with st.expander(a.name):
            brief_view(spec, a.id, confidential)
