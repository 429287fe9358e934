"""Sweep explorer: open a `negsim sweep` output directory; heatmap of a metric over two varied parameters,
distributions of the results, CSV downloads."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import charts, sweep_data
from sim import service

PICK = "negsim.sweep_pick"
TYPED = "negsim.sweep_path"
X = "negsim.sweep_x"
Y = "negsim.sweep_y"
METRIC = "negsim.sweep_metric"
COLUMN = "negsim.sweep_column"
OPEN = "negsim.sweep_open"
"""A sweep directory to open on the next visit (set by the New sweep page when its sweep has finished)."""

EXAMPLE = ("negsim sweep scenarios/feb2022_baseline.yaml --out sweeps/demo \\\n"
           "    --vary protocol.linkage=package,issue_by_issue \\\n"
           "    --vary actors.russia.outside_option.value=0.2:0.5:7 --replicates 10")


def choose_directory() -> str | None:
    if OPEN in st.session_state:      # before the text box is drawn: a widget's value cannot be set after
        st.session_state[TYPED] = st.session_state.pop(OPEN)
    found = sweep_data.discover()
    c1, c2 = st.columns(2)
    picked = c1.selectbox("Sweeps found in sweeps/ and out/", found, index=0 if found else None, key=PICK,
                          placeholder="none found", help="Directories holding a runs.parquet.")
    typed = c2.text_input("…or type the path of a sweep directory", key=TYPED,
                          placeholder="e.g. sweeps/demo or /data/my_sweep").strip()
    return typed or picked


def render() -> None:
    st.title(":material/grid_on: Sweep explorer")
    st.markdown(
        "A **sweep** runs the model over a grid (or a random sample) of parameter values, many times each; "
        "`negsim sweep` writes the results to a directory. Open one here to see where agreement becomes "
        f"likely. To make one, use the **New sweep** page or run:\n\n```\n{EXAMPLE}\n```")
    path = choose_directory()
    if not path:
        st.info("No sweep directory chosen yet.", icon=":material/folder_open:")
        return
    try:
        sweep = sweep_data.load_sweep(path, sweep_data.stamp(path))
    except sweep_data.SweepLoadError as error:
        st.error(str(error), icon=":material/error:")
        return
    runs = sweep.runs
    design = sweep.manifest.get("design", {}) if isinstance(sweep.manifest.get("design"), dict) else {}
    c1, c2, c3, c4 = st.columns(4)
    c1.metric("Runs", f"{len(runs):,}", border=True)
    c2.metric("Parameter points", f"{design.get('n_points', runs.drop_duplicates(sweep.parameters).shape[0]):,}",
              border=True)
    c3.metric("Replicates per point", f"{design.get('replicates', '?')}", border=True)
    c4.metric("Failed runs", f"{sweep.failed:,}", border=True, help="Runs that raised an error; left out below.")
    scenario = design.get("scenario_id") or sweep.manifest.get("scenario", {}).get("id", "?")
    st.caption(f"Scenario `{scenario}` · varied: " + (", ".join(f"{sweep.name(p)} (`{p}`)" for p in sweep.parameters)
                                                      or "nothing")
               + f" · sampler {design.get('sampler', '?')} · {sweep.path}")
    if sweep.ok.empty:
        st.warning("Every run in this sweep failed; see the `error` column of runs.parquet.")
        return
    metrics = sweep_data.metrics(sweep)
    st.markdown("#### How the outcome depends on the parameters")
    default = 0 if (sweep.ok["outcome"] == "agreement").any() else 1  # "some agreement" when none is full
    metric = st.selectbox("Show", list(metrics), index=default, format_func=metrics.__getitem__, key=METRIC)
    params = sweep.parameters
    table = None
    if len(params) >= 2:
        a, b = st.columns(2)
        x = a.selectbox("Across (x)", params, index=0, key=X, format_func=sweep.name,
                        help="The varied parameters, named as the scenario names them; the caption above gives "
                             "their paths.")
        y = b.selectbox("Up (y)", [p for p in params if p != x], index=0, key=Y, format_func=sweep.name)
        table, x_order, y_order = sweep_data.summarise(sweep, metric, x, y)
        charts.show(charts.heatmap_chart(table, x, y, metrics[metric], x_order, y_order,
                                         higher_is_better=sweep_data.higher_is_better(metric),
                                         x_title=sweep.name(x), y_title=sweep.name(y)))
        st.caption("Each cell averages the runs at that pair of values (over the replicates and any other varied "
                   "parameter). Continuous parameters are cut into equal bins.")
    elif len(params) == 1:
        x = params[0]
        table, x_order, _ = sweep_data.summarise(sweep, metric, x)
        charts.show(charts.metric_line_chart(table, x, metrics[metric], x_order,
                                             categorical=not sweep_data.is_numeric(sweep.ok[x]), x_title=sweep.name(x)))
    else:
        st.info("This sweep varies no parameter: it is a Monte Carlo batch of one setting.")
    if table is not None and "low" in table:
        with st.expander("These shares with their 95 % intervals"):
            shown = table.rename(columns={"x_label": x, "y_label": y if len(params) >= 2 else "y",
                                          "value": metrics[metric]})
            st.dataframe(shown, hide_index=True, width="stretch", column_config={
                name: st.column_config.NumberColumn(format="percent") for name in (metrics[metric], "low", "high")})
            st.caption("Each cell's share of its runs, with its 95 % (Wilson) interval: cells with few runs are "
                       "uncertain.")
    st.markdown("#### Distributions")
    left, right = st.columns(2)
    with left:
        charts.show(charts.outcome_shares_chart(sweep.ok["outcome"], name="sweep_outcomes"))
        shares = service.share_intervals(sweep.ok)
        st.dataframe(pd.DataFrame({"Share of the successful runs": shares["measure"],
                                   "Share": shares["share"],
                                   "95 % interval": [f"{service.percent(lo)} – {service.percent(hi)} %"
                                                     for lo, hi in zip(shares["low"], shares["high"], strict=True)],
                                   "Runs": shares["runs"]}),
                     hide_index=True, width="stretch",
                     column_config={"Share": st.column_config.NumberColumn(format="percent")})
    with right:
        columns: list[str] = ["rounds", "tension"] + [c for c in runs.columns
                                                      if c.startswith(("value.", "utility."))]
        column = st.selectbox("Distribution of", columns, key=COLUMN)
        charts.show(charts.distribution_chart(sweep.ok, column, column))
    st.markdown("##### Downloads")
    d1, d2 = st.columns(2)
    d1.download_button("All runs (CSV)", icon=":material/download:", data=lambda: runs.to_csv(index=False),
                       file_name="runs.csv", mime="text/csv", on_click="ignore", width="stretch")
    if table is not None:
        summary = table.rename(columns={"x_label": x, "y_label": y if len(params) >= 2 else "y",
                                        "value": metric})     # paths as column names: the CSV is for scripts
        d2.download_button("This summary (CSV)", icon=":material/download:", data=lambda: summary.to_csv(index=False),
                           file_name=f"summary_{metric}.csv", mime="text/csv", on_click="ignore", width="stretch")
    with st.expander("Run table"):
        st.caption("Columns of the varied parameters are named by their paths; hover over a column's name for the "
                   "parameter in words.")
        st.dataframe(runs, hide_index=True, width="stretch", height=300, column_config={
            p: st.column_config.Column(help=f"{sweep.name(p)} ({p})") for p in sweep.parameters})
