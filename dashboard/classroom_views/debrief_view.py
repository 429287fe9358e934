"""The debrief: replay the room round by round, utilities and the Nash point, the class against agent-only
runs, the confidential briefs, exports (CSV, JSON, printable HTML)."""

from __future__ import annotations

import os
import threading
from typing import NotRequired, TypedDict

import altair as alt
import numpy as np
import pandas as pd
import streamlit as st

from dashboard.classroom_views import common
from sim.classroom import Classroom, RoomState
from sim.classroom import debrief as db
from sim.classroom.room_state import scenario_hash
from sim.classroom.views import CAUSES, fmt_value, move_lines
from sim.core.table_rules import OUTCOMES as OUTCOME_ORDER

RUNS_ENV = "NEGSIM_CLASSROOM_RUNS"


def default_runs() -> int:
    """How many agent-only runs to compare with (1,000; NEGSIM_CLASSROOM_RUNS overrides, e.g. in tests)."""
    try:
        return max(1, int(os.environ.get(RUNS_ENV, "1000")))
    except ValueError:
        return 1000


class AgentJob(TypedDict):
    """A batch of agent-only runs being computed: its progress, its end and its thread."""

    done: int
    total: int
    finished: bool
    error: str | None
    thread: NotRequired[threading.Thread]

_JOBS: dict[tuple[int, str, int, int], AgentJob] = {}
"""Agent-only batches being computed, by (classroom, scenario hash, seed, runs): each in its own thread, so a
page rerun (the live board refreshes every few seconds) neither interrupts it nor starts it twice."""
_JOBS_LOCK = threading.Lock()
WAIT_S = 5.0
"""How long the click that starts a batch waits for it: a small batch is shown at once, a large one with its
progress as it runs."""


def start_agent_runs(cls: Classroom, state: RoomState, n: int) -> AgentJob:
    """The job computing `n` agent-only runs of the room's scenario (started now unless already running or
    done); `done`/`total` follow its progress, `finished` and `error` its end. The result goes to the store's
    cache, where `Classroom.agent_runs` finds it."""
    key = (id(cls), db_hash(state), state.room.seed, n)
    with _JOBS_LOCK:
        job = _JOBS.get(key)
        if job is not None and not job.get("error"):
            return job
        job = {"done": 0, "total": n, "finished": False, "error": None}
        _JOBS[key] = job

    def progress(done: int, total: int) -> None:
        job["done"], job["total"] = done, total

    def work() -> None:
        try:
            cls.agent_runs(state, n, progress=progress)
        except Exception as error:  # noqa: BLE001 - shown to the teacher as one line, never a traceback
            job["error"] = f"{type(error).__name__}: {error}"
        finally:
            job["finished"] = True

    thread = threading.Thread(target=work, name=f"agent-runs-{state.code}", daemon=True)
    job["thread"] = thread
    thread.start()
    return job


def agent_runs(cls: Classroom, state: RoomState, teacher: bool) -> pd.DataFrame | None:
    """Cached agent-only runs of the room's scenario; the teacher starts them, and the comparison appears as
    soon as they are computed, with their progress meanwhile."""
    n = default_runs()
    if not teacher and not state.room.revealed:     # it scores every seat with its confidential brief
        st.caption("The class against the computer (negotiations played by the computer alone) comes with the "
                   "teacher's Reveal.")
        return None
    cached = cls.store.cached_runs(db_hash(state), state.room.seed, n)
    if cached is not None:
        return cls.agent_runs(state, n)
    if not teacher:
        waiting_for_runs(cls, state, n)
        return None
    job = _JOBS.get((id(cls), db_hash(state), state.room.seed, n))
    if job is None:
        st.markdown(f"**Compare with {n:,} agent-only runs** of the same scenario, with the assumptions drawn from "
                    f"their ranges (every seat played by the computer, seeds derived from the room's seed "
                    f"{state.room.seed}).")
        if not st.button(f"Run {n:,} agent-only negotiations", key="run_agents", icon=":material/casino:"):
            return None
        job = start_agent_runs(cls, state, n)
        thread = job.get("thread")
        if isinstance(thread, threading.Thread):
            thread.join(WAIT_S)
    if job["finished"] and not job["error"]:
        return cls.agent_runs(state, n)
    if job["error"]:
        st.error(f"The agent-only runs failed: {job['error']}", icon=":material/error:")
        with _JOBS_LOCK:
            _JOBS.pop((id(cls), db_hash(state), state.room.seed, n), None)
        return None

    @st.fragment(run_every=1.0)
    def progress_box() -> None:
        done, total = job["done"], max(1, job["total"])
        if job["finished"]:
            st.rerun()   # the whole page: the comparison appears
        st.progress(done / total, text=f"{done:,} of {total:,} agent-only negotiations: the comparison appears "
                                        "here when they are done")

    progress_box()
    return None


def waiting_for_runs(cls: Classroom, state: RoomState, n: int) -> None:
    """A student's debrief before the teacher has run the agent-only negotiations: it looks for them every few
    seconds and shows the comparison as soon as they are there (it stayed away until the page was reloaded)."""
    @st.fragment(run_every=common.POLL_SECONDS)
    @common.guarded
    def wait() -> None:
        if cls.store.has_cached_runs(db_hash(state), state.room.seed, n):
            st.rerun()   # the whole page: the comparison appears
        st.caption("The comparison with agent-only runs appears here once the teacher has run it.")

    wait()


def db_hash(state: RoomState) -> str:
    return scenario_hash(state.room.scenario_json)


def debrief_page(cls: Classroom, state: RoomState, teacher: bool, me: str | None = None) -> None:
    spec = state.scenario
    model = cls.model(state)
    st.header("Debrief")
    if state.room.status != "ended":
        st.caption("The negotiation is still open: these are the figures so far.")
    runs_box = st.container()
    with runs_box:
        runs = agent_runs(cls, state, teacher)
    report = db.debrief(state, model, runs)
    reveal = teacher or state.room.revealed
    if not reveal:          # others' utilities, reasons, the Nash point: after the Reveal (scored with briefs)
        report = db.before_reveal(report, me)

    # ---------------------------------------------------------------- headline
    # one row of metrics each as wide as its value, wrapping when the page is narrow (four equal columns cut
    # "Talks under way" and "after the Reveal" at 1280 px)
    row = st.container(horizontal=True, gap="large")
    row.metric("Outcome", common.OUTCOME_WORDS.get(report.outcome, report.outcome).split(":")[0], width="content",
              help="agreement: every issue; partial: some; stalemate: none; breakdown: an actor walked away "
                   "(its outside option beat the best deal every actor, itself included, could still accept)")
    row.metric("Rounds played", f"{state.room.rounds_closed} of {spec.protocol.max_rounds}", width="content")
    nash_joint = sum(report.nash.utilities.values()) if report.nash else None
    if reveal:
        row.metric("Joint utility", f"{report.joint:.2f}", width="content",
                  delta=None if nash_joint is None else f"{report.joint - nash_joint:+.2f} vs the Nash point",
                  help="The sum of every actor's utility (0-1 each) of the outcome. An unsettled issue counts at the "
                       "actor's utility of its status quo (or at its walk-away utility where the issue has none).")
        row.metric("Distance to the Nash point", "-" if report.to_nash is None else f"{report.to_nash:.2f}",
                  width="content",
                  help="How far the actors' utilities are from those of the Nash bargaining solution (the deal "
                       "that maximises the product of everyone's gains over no deal); 0 = exactly there.")
    else:
        row.metric("Your utility", f"{report.utilities[me]:.2f}" if me in report.utilities else "-", width="content",
                  help="Your seat's utility (0-1) of the outcome, scored with your brief.")
        row.metric("Everyone's utilities", "after the Reveal", width="content",
                  help="Other seats' utilities, the joint utility and the Nash point are scored with their "
                       "confidential briefs: the teacher's Reveal shows them.")
    if report.nash is not None and not report.nash.red_lines:
        st.caption("No full agreement respects every red line in the briefs, so the Nash point shown sets the red "
                   "lines aside: it is the deal the parties could have had if they had been willing to cross them.")
    outcome_table(report, state)

    # ---------------------------------------------------------------- replay
    st.subheader("Replay")
    last = state.room.rounds_closed
    if last == 0:
        st.caption("No round was played.")
    else:
        r = st.slider("Round", 0, last, last, key=f"replay_{state.code}",
                      help="Drag to see the table as it stood after each round (0 = opening positions).")
        replay_round(state, report, r, me)
        utility_chart(state, report, r)

    # ---------------------------------------------------------------- agents
    if report.comparison is not None:
        st.subheader("The class against the computer")
        comparison_view(state, report.comparison, runs)

    # ---------------------------------------------------------------- briefs
    if teacher or state.room.revealed:
        st.subheader("The confidential briefs")
        for a in spec.actors:
            with st.expander(f"{a.name} - confidential instructions and goals"):
                common.brief_view(spec, a.id, confidential=True)
    else:
        st.caption("The teacher will reveal everyone's confidential instructions at the debrief.")

    # ---------------------------------------------------------------- exports
    st.subheader("Export")
    events = cls.events(state.code)
    cols = st.columns(3)
    cols[0].download_button("Transcript (CSV)", db.transcript_csv(state, report.history),
                            file_name=f"room_{state.code}_transcript.csv", mime="text/csv", key="dl_csv",
                            icon=":material/table:")
    cols[1].download_button("Transcript (JSON)", db.transcript_json(state, model, events, reveal=reveal, me=me),
                            file_name=f"room_{state.code}_transcript.json", mime="application/json", key="dl_json",
                            icon=":material/data_object:")
    cols[2].download_button("Printable summary (HTML)",
                            db.summary_html(report, reveal=teacher or state.room.revealed, events=events),
                            file_name=f"room_{state.code}_summary.html", mime="text/html", key="dl_html",
                            icon=":material/print:")


def outcome_table(report: db.Debrief, state: RoomState) -> None:
    spec = state.scenario
    rows = []
    for a in spec.actors:
        seat = state.seat(a.id)
        row = {"Actor": a.name, "Played by": (seat.player or "student") if seat.human else "computer",
               "Utility of the outcome": report.utilities.get(a.id, "after the Reveal")}
        if report.nash is not None:
            row["At the Nash point"] = report.nash.utilities[a.id]
        rows.append(row)
    frame = pd.DataFrame(rows)
    issues = []
    for issue in spec.issues:
        res = report.result.issues[issue.id]
        issues.append({"Issue": issue.label,
                       "Result": f"agreed at {fmt_value(res.value, issue)} (round {res.round})"
                       if res.agreed and res.value is not None else "not agreed",    # agreed: a value
                       "Nash point": fmt_value(report.nash.values[issue.id], issue) if report.nash else "-"})
    common.table(frame, digits=3)                 # names: no toolbar download, no Markdown (common.table)
    common.table(pd.DataFrame(issues))


def replay_round(state: RoomState, report: db.Debrief, r: int, me: str | None) -> None:
    spec = state.scenario
    hist = report.history
    at = hist[hist["round"] == r]
    left, right = st.columns([3, 2], gap="large")
    with left:
        tension = float(at["tension"].iloc[0])
        st.markdown(f"**After round {r}** - tension {tension:.2f}")
        common.legend(me)
        red = spec.actor(me).red_lines if me else {}
        for j, issue in enumerate(spec.issues):
            rows = at[at["issue"] == issue.id].set_index("actor").loc[spec.actor_ids]
            common.show_chart(common.issue_chart(state, j, rows["position"].to_numpy(float),
                                                 float(rows["proposal"].iloc[0]), bool(rows["agreed"].iloc[0]), me,
                                                 red.get(issue.id)))
    with right:
        if r == 0:
            st.markdown("Opening positions: every actor starts at its ideal point.")
        else:
            lines = move_lines(state, hist, r)
            closed = next(c for c in state.rounds if c.round == r)
            text = [f"Round {r} closed at {common.clock(closed.closed_at)} ({CAUSES.get(closed.closed_by)})."]
            text += [f"- :orange[News: {news}]" for news in state.news_before(r)]
            text += [f"- **{a.name}**: {lines[a.id]}" for a in spec.actors]
            st.markdown("\n".join(text))
        u = report.by_round[report.by_round["round"] == r].iloc[0]
        shown = [a for a in spec.actors if a.id in u.index]
        joint = f"; joint {u['joint']:.2f}" if "joint" in u.index else " (the others' after the Reveal)"
        if shown:
            st.markdown("Utility of the standing proposal, if it were agreed: " + ", ".join(
                f"{a.name} {u[a.id]:.2f}" for a in shown) + joint)


CLASS_MARK = "#212529"
"""The class's own marks (its outcome, its utilities, its distance to the Nash point): black, not a colour of the
actor map (they were orange, the United States' colour, on Russia's row too)."""


def utilities_figure(state: RoomState, report: db.Debrief) -> alt.Chart:
    """Each actor's utility of the standing proposal per round (`debrief.utilities_figure`: the printable
    summary draws the same chart, in the actor colours of every page)."""
    return db.utilities_figure(report)


def utility_chart(state: RoomState, report: db.Debrief, r: int) -> None:
    frame = report.by_round
    lines = utilities_figure(state, report)
    rule = alt.Chart(pd.DataFrame({"round": [r]})).mark_rule(color="#888", strokeDash=[3, 3]).encode(x="round:Q")
    left, right = st.columns(2)
    with left:
        common.show_chart(alt.layer(lines, rule).properties(title="Each actor's utility, round by round"), 300)
    if "to_nash" in frame:
        dist = alt.Chart(frame).mark_line(point=alt.OverlayMarkDef(color=CLASS_MARK), color=CLASS_MARK).encode(
            x=alt.X("round:Q", title="round", axis=alt.Axis(tickMinStep=1)),
            y=alt.Y("to_nash:Q", title="distance to the Nash point"),
            tooltip=["round:Q", alt.Tooltip("to_nash:Q", format=".3f"), alt.Tooltip("joint:Q", format=".3f")])
        with right:
            # the standing proposal's distance, as if agreed; the metric above is the outcome's (0.61 vs 0.32 with
            # nothing agreed). One line of title: a subtitle pushed it out of the chart's fixed height
            common.show_chart(alt.layer(dist, rule).properties(
                title="Standing proposal vs the Nash point"), 300)


def same_utility_note(runs: int, outcome_share: dict[str, float]) -> str:
    """What to say when every agent-only run gives each seat the same utility: that they ended alike only where
    they did (a stalemate and a breakdown that settle nothing score the same, yet are not the same result)."""
    shares = ", ".join(f"{k} {100 * v:.0f}%" for k, v in sorted(outcome_share.items(), key=lambda kv: -kv[1]))
    if len(outcome_share) == 1:
        said = (f"All {runs:,} agent-only runs ended alike ({shares}), every seat with the same utility: the computer "
                "alone always reaches the same result here.")
    else:
        said = (f"The {runs:,} agent-only runs did not all end alike ({shares}), yet each seat's utility was the same "
                "in every one of them: they settled the same issues the same way (or none).")
    return said + " The class's place is therefore one of three: better, the same or worse, seat by seat (below)."


def comparison_view(state: RoomState, c: db.Comparison, runs: pd.DataFrame) -> None:
    """The class against the agent-only runs: the distribution of their outcomes and of each seat's utility,
    with the class's place in each (better than, tied with, worse than how many runs). It stays informative
    when every run ends alike (all stalemates score the same: a histogram of them was one spike)."""
    spec = state.scenario
    shares = ", ".join(f"{k} {100 * v:.0f}%" for k, v in sorted(c.outcome_share.items(), key=lambda kv: -kv[1]))
    drawn = " with the assumptions drawn from their ranges" if spec.uncertainty else ""
    st.markdown(f"In **{c.runs:,} negotiations of the same scenario played by the computer alone**{drawn}, the "
                f"outcomes were: {shares}. Your class reached **{c.class_outcome}**"
                + (" (your room played the assumptions as coded in the briefs; every outcome is scored with "
                   "them)." if drawn else "."))
    table = db.scored_as_written(state, runs)
    names = [a.name for a in spec.actors]
    joint = table.sum(axis=1)
    if float(np.ptp(table, axis=0).max()) < 1e-9:
        st.info(same_utility_note(c.runs, c.outcome_share), icon=":material/info:")
    left, right = st.columns([1, 1])
    counts = runs["outcome"].value_counts()
    outcomes = pd.DataFrame({"outcome": list(OUTCOME_ORDER), "runs": [int(counts.get(o, 0)) for o in OUTCOME_ORDER],
                             "class": ["your class" if o == c.class_outcome else "" for o in OUTCOME_ORDER]})
    bars = alt.Chart(outcomes).mark_bar(color="#adb5bd").encode(
        x=alt.X("runs:Q", title="agent-only runs"), y=alt.Y("outcome:N", sort=list(OUTCOME_ORDER), title=None),
        tooltip=["outcome:N", "runs:Q"])
    mark = alt.Chart(outcomes[outcomes["class"] != ""]).mark_text(align="left", dx=6, color=CLASS_MARK,
                                                                  fontWeight="bold").encode(
        x="runs:Q", y=alt.Y("outcome:N", sort=list(OUTCOME_ORDER)), text="class:N")
    with left:
        common.show_chart(alt.layer(bars, mark).properties(title="Outcomes of the agent-only runs"), 230)
    per_seat = pd.DataFrame({"actor": np.repeat(names, len(table)), "utility": table.T.reshape(-1)})
    ticks = alt.Chart(per_seat).mark_tick(color="#868e96", opacity=0.25, thickness=2).encode(
        x=alt.X("utility:Q", title="utility of the outcome (0-1)", scale=alt.Scale(domain=[0, 1])),
        y=alt.Y("actor:N", sort=names, title=None))
    own = pd.DataFrame({"actor": names, "utility": [c.class_utility[a] for a in spec.actor_ids]})
    dots = alt.Chart(own).mark_point(shape="diamond", filled=True, size=160, color=CLASS_MARK).encode(
        x="utility:Q", y=alt.Y("actor:N", sort=names),
        tooltip=["actor:N", alt.Tooltip("utility:Q", format=".3f", title="your class")])
    with right:
        common.show_chart(alt.layer(ticks, dots).properties(
            title=alt.TitleParams("Each seat's utility", anchor="start",
                                  subtitle="agent-only runs: grey ticks; your class: black diamond")), 230)
    rows = []
    for n, a in enumerate([*spec.actor_ids, "joint"]):
        column = joint if a == "joint" else table[:, n]
        mine = c.class_utility[a]
        better, tied = float(np.mean(column < mine - 1e-9)), float(np.mean(np.abs(column - mine) <= 1e-9))
        rows.append({"Seat": "Joint" if a == "joint" else spec.actor(a).name, "Class": mine,
                     "Agent-only mean": c.agent_mean[a], "Class better than": f"{100 * better:.0f}% of runs",
                     "Same as": f"{100 * tied:.0f}%", "Worse than": f"{100 * (1 - better - tied):.0f}%"})
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch",
                 column_config={k: st.column_config.NumberColumn(format="%.3f") for k in ("Class", "Agent-only mean")})
