"""Sensitivity: vary one slider over its range and see how the outcome shares move (a small lockstep sweep of
the current settings, `sim.service.vary_one`), with the current value marked."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from dashboard import charts, common, editor, report, state
from dashboard.text import md
from sim.scenario import Scenario
from sim.service import vary_one

PARAM = "negsim.sens_param"
SPAN = "negsim.sens_span"
POINTS = "negsim.sens_points"
REPLICATES = "negsim.sens_replicates"
REQUEST = "negsim.sens_request"
LAST_MOVED = "negsim.sens_last_moved"
PROTOCOL_RANGES = {
    "protocol.max_rounds": (2, 100), "protocol.agreement_tolerance": (0.01, 0.5), "protocol.noise": (0.0, 0.5),
    "protocol.tension.initial": (0.0, 1.0), "protocol.tension.deadlock_rate": (0.0, 1.0),
    "protocol.tension.hardline_rate": (0.0, 1.0), "protocol.tension.concession_relief": (0.0, 5.0),
    "protocol.tension.agreement_relief": (0.0, 1.0), "protocol.tension.hardening": (0.0, 1.0),
}


def numeric_parameters(scenario: Scenario) -> dict[str, tuple[str, float, float]]:
    """Parameter path -> (words, low, high) of every numeric setting the sidebar has a slider for."""
    out: dict[str, tuple[str, float, float]] = {}
    top = max(a.capability for a in scenario.actors)
    for issue in scenario.issues:
        for actor in scenario.actors:
            out[f"actors.{actor.id}.positions.{issue.id}"] = (issue.scale.min, issue.scale.max)
            out[f"actors.{actor.id}.saliences.{issue.id}"] = (0.0, 1.0)
            if issue.id in actor.red_lines:
                out[f"actors.{actor.id}.red_lines.{issue.id}"] = (issue.scale.min, issue.scale.max)
    for actor in scenario.actors:
        out[f"actors.{actor.id}.capability"] = (top / 20, top * 2)
        out[f"actors.{actor.id}.reservation_utility"] = (0.0, 1.0)
        out[f"actors.{actor.id}.risk_attitude"] = (-1.0, 1.0)
        if actor.outside_option is not None:
            out[f"actors.{actor.id}.outside_option.value"] = (0.0, 1.0)
            out[f"actors.{actor.id}.outside_option.trend"] = (-0.05, 0.05)
    for issue in scenario.issues:
        if issue.status_quo is not None:
            out[f"issues.{issue.id}.status_quo"] = (issue.scale.min, issue.scale.max)
    out.update(PROTOCOL_RANGES)
    return {path: (editor.describe(scenario, path)[0], float(lo), float(hi)) for path, (lo, hi) in out.items()}


@st.cache_data(show_spinner=False, max_entries=16)
def sweep(key: str, path: str, values: tuple, replicates: int, _scenario: Scenario) -> pd.DataFrame:
    return vary_one(_scenario, path, list(values), replicates)


def _request(key: str) -> None:
    st.session_state[REQUEST] = key


def render() -> None:
    cur = state.get_current()
    s = cur.scenario
    st.title(":material/tune: Sensitivity")
    st.caption(md(s.title))
    common.show_problems(cur)
    st.markdown("Pick a setting and a range: the current settings are played at evenly spaced values of it, "
                "many seeds each, and the chart shows how often each outcome happens along the range. The dashed "
                "line marks the value in use now. Everything else stays as set in the sidebar.")
    params = numeric_parameters(s)
    recent = [p for p in reversed(list(cur.edits)) if p in params]  # "vary this slider": the one moved last
    default = recent[0] if recent else f"actors.{s.actors[0].id}.positions.{s.issues[0].id}"
    moved = recent[0] if recent else None
    if st.session_state.get(PARAM) not in params or moved != st.session_state.get(LAST_MOVED):
        st.session_state[PARAM] = default  # a slider moved since the last visit: vary that one
    st.session_state[LAST_MOVED] = moved
    path = st.selectbox("Vary", list(params), format_func=lambda p: params[p][0], key=PARAM,
                        help="Every numeric setting of the sidebar; the one you moved last comes first.")
    words, lo, hi = params[path]
    now = state.value_at(s, path)
    is_int = path == "protocol.max_rounds"
    c1, c2, c3 = st.columns([2, 1, 1], vertical_alignment="bottom")
    step = 1 if is_int else editor.nice_step(hi - lo)
    span = c1.slider("Range", min_value=int(lo) if is_int else lo, max_value=int(hi) if is_int else hi,
                     value=(int(lo), int(hi)) if is_int else (lo, hi), step=step, key=f"{SPAN}:{path}")
    points = c2.number_input("Values", min_value=3, max_value=41, value=11, step=1, key=POINTS)
    replicates = c3.number_input("Seeds per value", min_value=1, max_value=500, value=20, step=5, key=REPLICATES,
                                 help="Runs per value (the same seeds at every value). More: smoother shares.")
    values = np.linspace(span[0], span[1], int(points))
    values = tuple(sorted({int(round(v)) for v in values})) if is_int else tuple(float(round(v, 10)) for v in values)
    draw = state.drawing() and bool(s.uncertainty)
    key = f"{cur.key}|{path}|{values}|{replicates}|{draw}"
    st.button("Run the sensitivity sweep", icon=":material/play_arrow:", type="primary", on_click=_request,
              args=(key,))
    if draw:
        st.caption(f"Each seed draws the scenario's {len(s.uncertainty)} uncertain inputs from their ranges "
                   "(the setting varied here excepted): untick *Draw the uncertain inputs from the seed* in the "
                   "sidebar to play them as coded.")
    elif s.protocol.noise == 0 and s.protocol.activation != "random":
        st.caption("These settings have no randomness: every seed gives the same run, so each share is 0 or 1.")
    if st.session_state.get(REQUEST) != key:
        st.caption(f"{len(values)} values x {replicates} seeds = {len(values) * replicates:,} runs.")
        return
    with st.spinner(f"Playing {len(values) * replicates:,} runs…"):
        table = sweep(f"{cur.key}|{draw}", path, values, int(replicates), s if draw else s.as_coded())
    bad = table[table["problem"].notna()]
    if len(bad):
        st.warning(f"{len(bad)} value(s) make no valid scenario and are left out: "
                   + "; ".join(f"{v:g}: {p}" for v, p in zip(bad["value"], bad["problem"], strict=True)),
                   icon=":material/warning:")
    fine = table[table["problem"].isna()]
    figure = charts.sensitivity_chart(fine, words, None if now is None else float(now))
    charts.show(figure)
    shown = fine.rename(columns={"value": words, "rounds": "mean rounds"}).drop(columns=["problem"])
    st.dataframe(shown, hide_index=True, width="stretch")
    d1, d2 = st.columns([1, 2])
    d1.download_button("This sensitivity table (CSV)", icon=":material/download:", on_click="ignore",
                       width="stretch", data=lambda: table.to_csv(index=False), file_name=f"{s.id}_sensitivity.csv",
                       mime="text/csv")
    report.chart_downloads([figure], f"{s.id}_sensitivity", d2)
