"""The debrief: replay the room round by round, utilities and the Nash point, the class against agent-only
runs, the confidential briefs, exports (CSV, JSON, printable HTML)."""

from __future__ import annotations

import os

import altair as alt
import pandas as pd
import streamlit as st

from dashboard.classroom_views import common
from sim.classroom import Classroom, RoomState
from sim.classroom import debrief as db
from sim.classroom.rooms import CAUSES, fmt_value, move_lines, scenario_hash

RUNS_ENV = "NEGSIM_CLASSROOM_RUNS"


def default_runs() -> int:
    """How many agent-only runs to compare with (1,000; NEGSIM_CLASSROOM_RUNS overrides, e.g. in tests)."""
    try:
        return max(1, int(os.environ.get(RUNS_ENV, "1000")))
    except ValueError:
        return 1000


def agent_runs(cls: Classroom, state: RoomState, teacher: bool) -> pd.DataFrame | None:
    """Cached agent-only runs of the room's scenario; the teacher can start them (a few seconds)."""
    n = default_runs()
    cached = cls.store.cached_runs(db_hash(state), state.room.seed, n)
    if cached is not None:
        return cls.agent_runs(state, n)
    if not teacher:
        st.caption("The comparison with agent-only runs appears here once the teacher has run it.")
        return None
    st.markdown(f"**Compare with {n:,} agent-only runs** of the same scenario, with the assumptions drawn from "
                f"their ranges (every seat played by the "
                f"computer, seeds derived from the room's seed {state.room.seed}).")
    if st.button(f"Run {n:,} agent-only negotiations", key="run_agents", icon=":material/casino:"):
        bar = st.progress(0.0, text="Running agent-only negotiations ...")

        def progress(done: int, total: int) -> None:
            if done % max(1, total // 50) == 0 or done == total:
                bar.progress(done / total, text=f"{done:,} of {total:,} agent-only negotiations")

        runs = cls.agent_runs(state, n, progress=progress)
        bar.empty()
        return runs
    return None


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

    # ---------------------------------------------------------------- headline
    c1, c2, c3, c4 = st.columns(4)
    c1.metric("Outcome", common.OUTCOME_WORDS.get(report.outcome, report.outcome).split(":")[0],
              help="agreement: every issue; partial: some; stalemate: none; breakdown: an actor walked away "
                   "(its outside option beat the best deal every actor, itself included, could still accept)")
    c2.metric("Rounds played", f"{state.room.rounds_closed} of {spec.protocol.max_rounds}")
    nash_joint = sum(report.nash.utilities.values()) if report.nash else None
    c3.metric("Joint utility", f"{report.joint:.2f}",
              delta=None if nash_joint is None else f"{report.joint - nash_joint:+.2f} vs the Nash point",
              help="The sum of every actor's utility (0-1 each) of the outcome. Unsettled issues count at each "
                   "actor's walk-away level.")
    c4.metric("Distance to the Nash point", "-" if report.to_nash is None else f"{report.to_nash:.2f}",
              help="How far the actors' utilities are from those of the Nash bargaining solution (the deal that "
                   "maximises the product of everyone's gains over no deal); 0 = exactly there.")
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
        comparison_view(state, report, runs)

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
    cols[1].download_button("Transcript (JSON)", db.transcript_json(state, model, events),
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
               "Utility of the outcome": report.utilities[a.id]}
        if report.nash is not None:
            row["At the Nash point"] = report.nash.utilities[a.id]
        rows.append(row)
    frame = pd.DataFrame(rows)
    issues = []
    for issue in spec.issues:
        res = report.result.issues[issue.id]
        issues.append({"Issue": issue.label,
                       "Result": f"agreed at {fmt_value(res.value, issue)} (round {res.round})" if res.agreed
                       else "not agreed",
                       "Nash point": fmt_value(report.nash.values[issue.id], issue) if report.nash else "-"})
    st.dataframe(frame, hide_index=True, width="stretch",
                 column_config={c: st.column_config.NumberColumn(format="%.3f")
                                for c in ("Utility of the outcome", "At the Nash point")})
    st.dataframe(pd.DataFrame(issues), hide_index=True, width="stretch")


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
        st.markdown("Utility of the standing proposal, if it were agreed: " + ", ".join(
            f"{a.name} {u[a.id]:.2f}" for a in spec.actors) + f"; joint {u['joint']:.2f}")


def utility_chart(state: RoomState, report: db.Debrief, r: int) -> None:
    spec = state.scenario
    frame = report.by_round
    names = {a.id: a.name for a in spec.actors}
    long = frame.melt(id_vars="round", value_vars=spec.actor_ids, var_name="actor", value_name="utility")
    long["actor"] = long["actor"].map(names)
    lines = alt.Chart(long).mark_line(point=True).encode(
        x=alt.X("round:Q", title="round", axis=alt.Axis(tickMinStep=1)),
        y=alt.Y("utility:Q", title="utility of the standing proposal", scale=alt.Scale(domain=[0, 1])),
        color=alt.Color("actor:N", sort=list(names.values()), title=None),
        tooltip=["round:Q", "actor:N", alt.Tooltip("utility:Q", format=".3f")])
    rule = alt.Chart(pd.DataFrame({"round": [r]})).mark_rule(color="#888", strokeDash=[3, 3]).encode(x="round:Q")
    left, right = st.columns(2)
    with left:
        common.show_chart(alt.layer(lines, rule).properties(title="Each actor's utility, round by round"), 300)
    if "to_nash" in frame:
        dist = alt.Chart(frame).mark_line(point=True, color="#e8590c").encode(
            x=alt.X("round:Q", title="round", axis=alt.Axis(tickMinStep=1)),
            y=alt.Y("to_nash:Q", title="distance to the Nash point"),
            tooltip=["round:Q", alt.Tooltip("to_nash:Q", format=".3f"), alt.Tooltip("joint:Q", format=".3f")])
        with right:
            common.show_chart(alt.layer(dist, rule).properties(title="How close the table came to the Nash point"),
                              300)


def comparison_view(state: RoomState, report: db.Debrief, runs: pd.DataFrame) -> None:
    spec = state.scenario
    c = report.comparison
    shares = ", ".join(f"{k} {100 * v:.0f}%" for k, v in sorted(c.outcome_share.items(), key=lambda kv: -kv[1]))
    drawn = " with the assumptions drawn from their ranges" if spec.uncertainty else ""
    st.markdown(f"In **{c.runs:,} negotiations of the same scenario played by the computer alone**{drawn}, the "
                f"outcomes were: {shares}. Your class reached **{c.class_outcome}**"
                + (" (your room played the assumptions as coded in the briefs; every outcome is scored with "
                   "them)." if drawn else "."))
    joint = pd.DataFrame({"joint": db.scored_as_written(state, runs).sum(axis=1)})
    lo = min(float(joint["joint"].min()), report.joint) - 0.05
    hi = max(float(joint["joint"].max()), report.joint) + 0.05
    hist = alt.Chart(joint).mark_bar(color="#adb5bd").encode(
        x=alt.X("joint:Q", bin=alt.Bin(maxbins=30, extent=[lo, hi]), title="joint utility of the outcome",
                scale=alt.Scale(domain=[lo, hi])),
        y=alt.Y("count():Q", title="agent-only runs"))
    mark = alt.Chart(pd.DataFrame({"joint": [report.joint], "label": ["your class"]})).mark_rule(
        color="#e8590c", size=3).encode(x="joint:Q", tooltip=["label:N", alt.Tooltip("joint:Q", format=".3f")])
    left, right = st.columns([3, 2])
    with left:
        common.show_chart(alt.layer(hist, mark).properties(title="Joint utility: agent-only runs (grey) and your "
                                                                  "class (orange)"), 280)
    rows = [{"Actor": a.name, "Class": c.class_utility[a.id], "Agent-only mean": c.agent_mean[a.id],
             "Class did at least as well as": f"{c.percentile[a.id]:.0f}% of runs"} for a in spec.actors]
    rows.append({"Actor": "Joint", "Class": c.class_utility["joint"], "Agent-only mean": c.agent_mean["joint"],
                 "Class did at least as well as": f"{c.percentile['joint']:.0f}% of runs"})
    right.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch",
                    column_config={k: st.column_config.NumberColumn(format="%.3f")
                                   for k in ("Class", "Agent-only mean")})
