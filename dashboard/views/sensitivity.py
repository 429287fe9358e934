"""Sensitivity: vary one slider over its range and see how the outcome shares move (a small lockstep sweep of
the current settings, `sim.service.vary_one`), with the current value marked."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from dashboard import charts, common, editor, report, state
from dashboard.text import md
from sim import service
from sim.scenario import Scenario

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
    out: dict[str, tuple[float, float]] = {}      # path -> (low, high)
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


RESULTS = "negsim.sens_results"
KEEP = 8
"""Sensitivity tables kept per session (the last few settings, so going back and forth reruns nothing)."""


def progress_text(done: int, total: int, replicates: int) -> str:
    """What the bar says once the reference (the value in use now) and `done` of the `total` values have been
    played: the runs count the reference's, as the "Playing N runs" it starts with does."""
    runs = f"{(done + 1) * replicates:,} of {(total + 1) * replicates:,} runs"
    return f"The value in use now and {done} of {total} value{'s' * (total != 1)} played ({runs})"


def sweep(key: str, path: str, values: tuple, replicates: int, scenario: Scenario) -> pd.DataFrame:
    """`service.vary_one`, with a progress bar while it runs, kept per session under `key` (not `st.cache_data`:
    a cached function must not draw the bar, which a later run would replay where it does not exist)."""
    kept: dict = st.session_state.setdefault(RESULTS, {})
    whole = (key, path, values, replicates)
    if whole not in kept:
        bar = st.progress(0.0, text=f"Playing {(len(values) + 1) * replicates:,} runs…")

        def progress(done: int, total: int) -> None:
            bar.progress((done + 1) / (total + 1), text=progress_text(done, total, replicates))

        table = service.vary_one(scenario, path, list(values), replicates, progress=progress)
        bar.empty()
        while len(kept) >= KEEP:
            kept.pop(next(iter(kept)))
        kept[whole] = table
    return kept[whole]


def _points(value: float) -> str:
    return "" if pd.isna(value) else service.points(value)


def readable(table: pd.DataFrame, words: str, scenario: Scenario) -> pd.DataFrame:
    """The sensitivity table in words: per value, each outcome's share with its 95 % interval, then its paired
    difference from the value in use now (same seeds), and how many seeds changed outcome."""
    rows = []
    for _, row in table.iterrows():
        out = {words: row["value"]}
        for outcome in ("agreement", "partial", "stalemate", "breakdown"):
            name = common.OUTCOME_WORDS[outcome]
            out[name] = service.describe_share(service.Interval(row[outcome], row[f"{outcome}.low"],
                                                               row[f"{outcome}.high"], int(row["runs"])))
            out[f"{name} vs now"] = (f"{_points(row[f'{outcome}.diff'])} [{_points(row[f'{outcome}.diff_low'])}, "
                                     f"{_points(row[f'{outcome}.diff_high'])}]")
        for issue in scenario.issues:
            name = f"agreed.{issue.id}"
            if name in row:
                out[f"{issue.label} agreed vs now"] = (f"{_points(row[f'{name}.diff'])} "
                                                       f"[{_points(row[f'{name}.diff_low'])}, "
                                                       f"{_points(row[f'{name}.diff_high'])}]")
        out["Seeds that changed outcome"] = int(row["changed"])
        out["Mean rounds"] = round(float(row["rounds"]), 1)
        rows.append(out)
    return pd.DataFrame(rows)


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
    st.caption(f"`{path}`")
    now = state.value_at(s, path)
    is_int = path == "protocol.max_rounds"
    c1, c2, c3 = st.columns([2, 1, 1], vertical_alignment="bottom")
    step = 1 if is_int else editor.nice_step(hi - lo)
    span = c1.slider("Range", min_value=int(lo) if is_int else lo, max_value=int(hi) if is_int else hi,
                     value=(int(lo), int(hi)) if is_int else (lo, hi), step=step, key=f"{SPAN}:{path}")
    points = c2.number_input("Values", min_value=3, max_value=41, value=11, step=1, key=POINTS)
    replicates = c3.number_input("Seeds per value", min_value=1, max_value=2000, value=20, step=5, key=REPLICATES,
                                 help="Runs per value (the same seeds at every value, and at the value in use "
                                      "now). More: smoother shares and narrower intervals.")
    grid = np.linspace(span[0], span[1], int(points))
    values = tuple(sorted({int(round(v)) for v in grid})) if is_int else tuple(float(round(v, 10)) for v in grid)
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
        seeds = f"{replicates} seed{'s' * (replicates != 1)}"
        st.caption(f"{len(values)} value{'s' * (len(values) != 1)} x {seeds} = {len(values) * replicates:,} "
                   f"run{'s' * (len(values) * replicates != 1)}, and {replicates} more with the value in use now "
                   "(each value is compared with it seed by seed).")
        return
    table = sweep(f"{cur.key}|{draw}", path, values, int(replicates), s if draw else s.as_coded())
    bad = table[table["problem"].notna()]
    if len(bad):
        st.warning(f"{len(bad)} value(s) make no valid scenario and are left out: "
                   + "; ".join(f"{v:g}: {p}" for v, p in zip(bad["value"], bad["problem"], strict=True)),
                   icon=":material/warning:")
    fine = table[table["problem"].isna()]
    figure = charts.sensitivity_chart(fine, words, None if now is None else float(now))
    charts.show(figure)
    seeds = f"{int(replicates)} seed{'s' * (int(replicates) != 1)}"
    st.markdown(f"Each share with its 95 % interval over {seeds}; **vs now**: the paired difference "
                "in points from the value in use now, over the same seeds (each seed plays both), with its 95 % "
                "interval.")
    st.dataframe(readable(fine, words, s), hide_index=True, width="stretch")
    d1, d2 = st.columns([1, 2])
    d1.download_button("This sensitivity table (CSV)", icon=":material/download:", on_click="ignore",
                       width="stretch", data=lambda: table.to_csv(index=False), file_name=f"{s.id}_sensitivity.csv",
                       mime="text/csv")
    report.chart_downloads([figure], f"{s.id}_sensitivity", d2)
