"""Monte Carlo: the current settings run with many seeds; outcome shares and agreed values per issue."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import charts, common, editor, report, state
from dashboard.text import md
from sim import service
from sim.sweep.analyze import assumption_influence

RUNS = "negsim.mc_runs"
REQUEST = "negsim.mc_request"


def _request(key: str) -> None:
    st.session_state[REQUEST] = (key, int(st.session_state[RUNS]))


def render() -> None:
    cur = state.get_current()
    s = cur.scenario
    p = s.protocol
    drawn = state.drawing() and bool(s.uncertainty)
    st.title(":material/casino: Monte Carlo")
    st.caption(md(s.title))
    common.show_problems(cur)
    st.markdown(
        "One run shows one possible course of the talks. Here the **same settings** are played with many "
        "different random seeds, so you can see how often each outcome happens and where agreements land. "
        f"Runs differ through the noise in how offers are read (now {p.noise:g} of the scale)"
        + (" and the random order of moves" if p.activation == "random" else "")
        + (f" and the {len(s.uncertainty)} uncertain inputs, which each run draws from their ranges with its "
           "seed." if drawn else "."))
    if p.noise == 0 and p.activation != "random" and not drawn:
        st.info("These settings have no randomness (noise 0 and a fixed order of moves): every seed gives the "
                "same run. Raise **Noise** under *Rules* in the sidebar to see a spread.", icon=":material/info:")
    c1, c2 = st.columns([1, 3], vertical_alignment="bottom")
    c1.number_input("Number of runs", min_value=10, max_value=5000, value=100, step=10, key=RUNS,
                    help="Seeds are derived from the scenario's seed, so the same number of runs gives the same "
                         "batch every time.")
    c2.button("Run the batch", icon=":material/casino:", type="primary", on_click=_request, args=(cur.key,))
    request = st.session_state.get(REQUEST)
    if request is None:
        st.caption("Press **Run the batch** to start.")
        return
    if request[0] != cur.key:
        st.warning("The settings changed since the last batch: press **Run the batch** again.",
                   icon=":material/refresh:")
        return
    n = request[1]
    bar = st.progress(0.0, text=f"Running {n} seeds…")

    def progress(done: int, total: int) -> None:
        bar.progress(done / total, text=f"{done} of {total} runs")

    runs = state.monte_carlo(cur.key, n, s, _progress=progress)
    bar.progress(1.0, text=f"{n} runs done (seed {p.seed}; repeated batches come from the cache).")
    show(runs, cur)


def share_table(runs, scenario) -> pd.DataFrame:
    """Every share of the batch (each outcome, each issue agreed) with its 95 % Wilson interval, in words."""
    labels = {f"agreed.{issue.id}": f"{issue.label} agreed" for issue in scenario.issues}
    rows = []
    for row in service.share_intervals(runs).itertuples():
        rows.append({"": common.OUTCOME_WORDS.get(row.measure) or labels.get(row.measure, row.measure),
                     "Share": row.share, "95 % interval": f"{service.percent(row.low)} – {service.percent(row.high)} %",
                     "Runs": row.runs})
    return pd.DataFrame(rows)


def show(runs, cur: state.Current) -> None:
    s = cur.scenario
    intervals = service.share_intervals(runs).set_index("measure")
    row = st.container(horizontal=True)   # each metric as wide as its label (five columns cut "Partial agreem...")
    for outcome in ["agreement", "partial", "stalemate", "breakdown"]:
        share = intervals.loc[outcome]
        row.metric(common.OUTCOME_WORDS[outcome], f"{share['share']:.0%}", border=True, width="content",
                   delta=f"95 %: {service.percent(share['low'])} – {service.percent(share['high'])} %",
                   delta_color="off",
                   delta_arrow="off",
                   help=f"Share of the {len(runs)} runs, with its 95 % Wilson interval: where the share of many "
                        "more seeds would lie.")
    row.metric("Mean rounds", f"{runs['rounds'].mean():.1f}", border=True, width="content")
    st.markdown("#### How often each outcome happens")
    figures = [charts.outcome_shares_chart(runs["outcome"])]
    charts.show(figures[0])
    st.dataframe(share_table(runs, s), hide_index=True, width="stretch",
                 column_config={"Share": st.column_config.NumberColumn(format="percent")})
    st.caption(f"Each share with its 95 % interval (Wilson) over {len(runs)} runs: more runs narrow it.")
    st.markdown("#### Where the agreements land")
    per_row = min(2, len(s.issues))  # at 1280 px three columns left each plot too narrow
    columns = st.columns(per_row)
    for j, issue in enumerate(s.issues):
        with columns[j % per_row]:
            values = runs.loc[runs[f"agreed.{issue.id}"].astype(bool), f"value.{issue.id}"]
            if values.empty:
                st.markdown(f"**{md(issue.label)}**")
                st.caption(f"Never agreed in {len(runs)} runs.")
            else:
                figures.append(charts.value_histogram(values, issue))
                charts.show(figures[-1])
                st.caption(f"Agreed in {len(values)} of {len(runs)} runs; median "
                           f"{md(common.fmt(float(values.median()), issue.scale.unit))}.")
    influence = assumption_influence(runs)
    if len(influence):
        st.markdown("#### Which assumptions decide the outcome")
        st.caption("Each run drew the uncertain inputs from their ranges. For each outcome that happened in some runs "
                   "but not all: how strongly each drawn input goes with it (Spearman's rank correlation ρ, from −1 "
                   "to 1, over the distinct draws) and how often the outcome happened among the runs that drew the "
                   "input's lowest and highest third, with its 95 % (Wilson) interval and the number of runs. The "
                   "six strongest per outcome; a screening over this batch, not a proof of cause "
                   "(for Sobol indices: `negsim sweep FILE --assumptions --sampler sobol`).")
        top = influence.groupby("output", sort=False).head(6)
        thirds = {f"In the {word} third": [
            f"{service.describe_share(service.Interval(share, low, high, int(n)))} of {int(n)} run{'s' * (n != 1)}"
            for share, low, high, n in zip(top[f"share_{third}"], top[f"low_{third}"], top[f"high_{third}"],
                                           top[f"runs_{third}"], strict=True)]
            for word, third in (("lowest", "low_third"), ("highest", "high_third"))}
        view = pd.DataFrame({"Outcome": top["output"], "Drawn input": top["input"].map(
            lambda p: editor.describe(s, p)[0]), "Path": top["input"], "ρ": top["spearman"],
            "Distinct draws": top["draws"], **thirds})
        st.dataframe(view, hide_index=True, width="stretch", column_config={
            "ρ": st.column_config.NumberColumn(format="%.2f",
                                               help="Spearman's rank correlation over the distinct draws")})
    with st.expander("All runs"):
        st.dataframe(runs, hide_index=True, width="stretch", height=300)
    d1, d2 = st.columns([1, 2])
    d1.download_button("Monte Carlo runs (CSV)", icon=":material/download:", data=lambda: runs.to_csv(index=False),
                       file_name=f"{s.id}_monte_carlo.csv", mime="text/csv", on_click="ignore", width="stretch")
    report.chart_downloads(figures, f"{s.id}_monte_carlo", d2)
