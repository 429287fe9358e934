"""Analysis: acceptable ranges and the zone of possible agreement, the Pareto frontier and Nash bargaining
point of two actors, and the forecasts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from dashboard import charts, common, state
from dashboard.text import md
from sim import service
from sim.core.spatial import acceptable_ranges, zone_of_agreement
from sim.core.utility import to_native

PARETO_A = "negsim.pareto_a"
PARETO_B = "negsim.pareto_b"
PARETO_LINES = "negsim.pareto_red_lines"


def ranges(cur: state.Current) -> None:
    s = cur.scenario
    st.header("Where could they meet?")
    st.markdown(
        "Each bar is the range of values an actor would accept on that issue **taken alone**: no further than "
        "its red line (black tick), and only as far from its ideal (dot) as keeps the issue above its walk-away "
        "utility. Where all the bars overlap (green band) lies the **zone of possible agreement (ZOPA)**. In a "
        "package deal an actor may give more on one issue for a gain on another, so read the ranges as a guide.")
    profiles, low, high = service.profiles_of(s)
    lo, hi = acceptable_ranges(profiles)
    lo_native, hi_native = to_native(lo, low, high), to_native(hi, low, high)
    ideal = to_native(profiles.ideal, low, high)
    red = to_native(profiles.red_line, low, high)
    zl, zh, exists = zone_of_agreement(lo, hi)
    zl_native, zh_native = to_native(zl, low, high), to_native(zh, low, high)
    names = [a.name for a in s.actors]
    summary = []
    for j, issue in enumerate(s.issues):
        table = pd.DataFrame({"actor": names, "low": lo_native[:, j], "high": hi_native[:, j],
                              "ideal": ideal[:, j], "red_line": red[:, j]})
        zone = (float(zl_native[j]), float(zh_native[j])) if exists[j] else None
        charts.show(charts.ranges_chart(issue, table, zone, s))
        unit = issue.scale.unit
        if zone is not None:
            verdict = f"ZOPA from {common.fmt(zone[0], unit)} to {common.fmt(zone[1], unit)}"  # plain text
        else:
            floor, ceiling = int(np.argmax(lo_native[:, j])), int(np.argmin(hi_native[:, j]))
            verdict = (f"no zone of agreement: {names[floor]} accepts nothing below "
                       f"{common.fmt(lo_native[floor, j], unit)}, {names[ceiling]} nothing above "
                       f"{common.fmt(hi_native[ceiling, j], unit)}")
        summary.append({"Issue": issue.label, "Zone of possible agreement": verdict})
        st.caption(f"**{md(issue.label)}**: {md(verdict)}.")
    st.dataframe(pd.DataFrame(summary), hide_index=True, width="stretch")


def pareto(cur: state.Current, result) -> None:
    s = cur.scenario
    st.header("Who gains from which deal?")
    st.markdown(
        "Pick two actors. Every grey or blue dot is one possible deal (a value on every issue), placed by how "
        "much each of the two would like it. Blue deals are ones both could accept (no red line crossed, both "
        "above their walk-away utility). The black line is the **Pareto frontier**: deals that cannot be made "
        "better for one without making them worse for the other. The **Nash bargaining point** is the "
        "acceptable deal that maximises the product of both actors' gains over their walk-away utilities (the "
        "grey cross). The red diamond is what the simulation produced: an issue left unsettled counts at the "
        "actor's utility of its **status quo** (what holds without a deal), or at its walk-away utility where the "
        "issue has no status quo, as the outcome's utilities everywhere else in negsim.")
    ids = s.actor_ids
    names = {a.id: a.name for a in s.actors}
    c1, c2, c3 = st.columns([1, 1, 1], vertical_alignment="bottom")
    a = c1.selectbox("First actor", ids, index=0, format_func=names.__getitem__, key=PARETO_A)
    b = c2.selectbox("Second actor", ids, index=1, format_func=names.__getitem__, key=PARETO_B)
    red_lines = c3.toggle("Respect their red lines", value=True, key=PARETO_LINES,
                          help="Off: deals beyond a red line count as acceptable when they are worth enough.")
    if a is None or b is None or a == b:
        st.warning("Choose two different actors.")
        return
    ia, ib = ids.index(a), ids.index(b)
    space = state.bargaining(cur.key, ia, ib, red_lines, s)
    _, low, high = service.profiles_of(s)
    native = to_native(space.outcomes, low, high)
    outcome = (result.actors[a].utility, result.actors[b].utility)
    chart = charts.pareto_chart(space, (names[a], names[b]), outcome, native, [i.label for i in s.issues])
    left, right = st.columns([3, 2])
    charts.show(chart, left)
    rows = []
    with right:
        if space.nash is None:
            hint = (" without crossing a red line. Switch off *Respect their red lines* to see the deal they "
                    "would strike without them." if red_lines else ".")
            st.warning(f"**No Nash bargaining point**: no deal is acceptable to both {md(names[a])} and "
                       f"{md(names[b])}"
                       + hint, icon=":material/block:")
        else:
            gains = space.utilities[space.nash] - space.disagreement
            st.success(f"**Nash bargaining point**: {md(names[a])} gains {gains[0]:.3f} and {md(names[b])} "
                       f"{gains[1]:.3f} over its walk-away utility.", icon=":material/star:")
        st.caption(f"Utilities of the simulated outcome: {md(names[a])} {outcome[0]:.3f}, {md(names[b])} "
                   f"{outcome[1]:.3f} "
                   f"(walk-away utilities: {space.disagreement[0]:.2f}, {space.disagreement[1]:.2f}). Deals sampled "
                   "on a "
                   f"grid of {len(space.outcomes):,} points.")
        for j, issue in enumerate(s.issues):
            r = result.issues[issue.id]
            unit = issue.scale.unit
            rows.append({
                "Issue": issue.label,
                "Nash point": common.fmt(float(native[space.nash, j]), unit) if space.nash is not None else "–",
                "Simulated": common.fmt(r.value, unit) if r.agreed else "not agreed",
                f"{names[a]}'s ideal": common.fmt(s.actor(a).positions[issue.id], unit),
                f"{names[b]}'s ideal": common.fmt(s.actor(b).positions[issue.id], unit)})
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")


def forecasts(cur: state.Current, result) -> None:
    s = cur.scenario
    st.header("Forecasts")
    st.markdown(
        "Simple forecasts from the opening positions, weighting each actor by capability × salience: the "
        "**weighted mean** (a compromise in proportion to power) and the **weighted median** (the position "
        "that a coalition holding half the weight would back). Compare them with the simulated outcome.")
    rows = []
    for issue in s.issues:
        r = result.issues[issue.id]
        unit = issue.scale.unit
        row = {"Issue": issue.label, "Weighted mean": common.fmt(r.weighted_mean, unit),
               "Weighted median": common.fmt(r.weighted_median, unit)}
        if r.prediction is not None:
            row["Expected-utility forecast"] = common.fmt(r.prediction, unit)
        row["Simulated outcome"] = (f"agreed at {common.fmt(r.value, unit)} (round {r.round})" if r.agreed
                                    else f"not agreed (last proposal {common.fmt(r.proposal, unit)})")
        rows.append(row)
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
    kind, text = common.outcome_sentence(result)
    st.caption(f"The simulated run (seed {s.protocol.seed}): {text.replace('**', '')}")


def model_forecasts(cur: state.Current) -> None:
    st.header("What the forecasting models say")
    st.markdown(
        "Each forecasting model of `negsim backtest` (scored on real EU decisions: see docs/forecasting.md) applied "
        "to this scenario's coded positions, capabilities, saliences, status quo and decision rule, with its "
        "**80 % interval**; beside them, the share of simulated runs that agreed on the issue (with its 95 % "
        "interval) and the median of "
        f"the agreed values (10th-90th percentile) over {state.FORECAST_RUNS} runs with the uncertain inputs drawn. "
        "The same table as `negsim forecast FILE`.")
    try:
        with st.spinner("Forecasting with every model..."):
            rows = state.model_forecasts(cur.key, cur.scenario)
    except Exception as error:     # a model that cannot read this scenario: say so, keep the rest of the page
        st.error(f"The forecasting models could not run on this scenario: {error}")
        return
    table = []
    for row in rows:
        unit = row["unit"]
        line = {"Issue": row["label"]}
        for name, forecast in row["forecasts"].items():
            low, high = forecast["interval"]
            line[name] = f"{common.fmt(forecast['value'], unit)} [{common.fmt(low, unit)}, {common.fmt(high, unit)}]"
        simulated = row.get("simulated")
        if simulated is not None:
            runs = int(simulated["runs"])
            share = service.wilson(round(simulated["agreed"] * runs), runs)   # with its 95 % interval
            line["Simulated: agreed"] = f"{service.describe_share(share)} of {runs} runs"
            line["Simulated: agreed value"] = (
                "-" if simulated["median"] is None else
                f"{common.fmt(simulated['median'], unit)} [{common.fmt(simulated['interval'][0], unit)}, "
                f"{common.fmt(simulated['interval'][1], unit)}]")
        table.append(line)
    st.dataframe(pd.DataFrame(table), hide_index=True, width="stretch")


def render() -> None:
    cur = state.get_current()
    st.title(":material/query_stats: Analysis")
    st.caption(md(cur.scenario.title))
    common.show_problems(cur)
    result = state.full_result(cur)
    if note := common.values_note(result, "analysis"):
        st.caption(note)
    ranges(cur)
    pareto(cur, result)
    forecasts(cur, result)
    model_forecasts(cur)
