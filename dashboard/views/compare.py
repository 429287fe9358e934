"""Compare two runs side by side: two scenarios, or two settings of one (package vs issue by issue, before
and after your edits). Overlaid offer charts, the outcomes and per-issue results with their differences, and
a Monte Carlo batch of each."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import streamlit as st

from dashboard import charts, common, report, state
from dashboard.text import md
from sim import service
from sim.scenario import Scenario, with_protocol

CURRENT, FILE = "current", "file"
LINKAGE_CHOICES = {"as set": "as set", "package": "package deal", "issue_by_issue": "issue by issue"}
MC_RUNS = "negsim.cmp_mc_runs"
MC_REQUEST = "negsim.cmp_mc_request"


@dataclass(frozen=True)
class Side:
    label: str
    scenario: Scenario
    key: str


def _source_options(cur: state.Current) -> dict[str, str]:
    n = len(cur.edits)
    options = {CURRENT: f"Your settings ({cur.source}" + (f", {n} change{'s' if n != 1 else ''})" if n else ")"),
               FILE: f"{cur.source} as in the file (no changes)"}
    for name in state.scenario_files():
        if name != cur.source:
            options[f"{FILE}:{name}"] = name
    return options


def _resolve(cur: state.Current, source: str, linkage: str) -> Scenario:
    if source == CURRENT:
        scenario = cur.scenario
    elif source == FILE:
        scenario = cur.base
    else:
        name = source.split(":", 1)[1]
        path = state.SCENARIO_DIR / name
        mtime = path.stat().st_mtime_ns
        scenario = state.with_source_defaults(state.load_file(str(path), mtime), name)
    if linkage != "as set" and scenario.protocol.linkage != linkage:
        scenario = with_protocol(scenario, linkage=linkage)
    return scenario


def _side(cur: state.Current, column, letter: str, default_source: str, default_linkage: str) -> Side:
    options = _source_options(cur)
    with column:
        st.markdown(f"**Run {letter}**")
        source = st.selectbox(f"Scenario {letter}", list(options), index=list(options).index(default_source),
                              format_func=options.__getitem__, key=f"negsim.cmp_{letter}_source")
        linkage = st.radio(f"Linkage {letter}", list(LINKAGE_CHOICES), horizontal=True,
                           index=list(LINKAGE_CHOICES).index(default_linkage),
                           format_func=LINKAGE_CHOICES.__getitem__, key=f"negsim.cmp_{letter}_linkage")
    scenario = _resolve(cur, source if source in options else CURRENT, linkage)
    n = len(cur.edits)
    words = {CURRENT: "Your settings" + (f" ({n} change{'s' if n != 1 else ''})" if n else ""),
             FILE: f"{cur.source} as in the file"}.get(source) or options.get(source, options[CURRENT])
    if linkage != "as set":
        words += f", {LINKAGE_CHOICES[linkage]}"
    return Side(f"{letter}: {words}", scenario, scenario.model_dump_json())


def _shown(value: float, digits: int) -> tuple[str, float]:
    """A value as shown with `digits` decimals, and the number shown (differences are taken of the shown numbers,
    so that 0.27 and 0.24 differ by -0.03 on the page, not by the -0.04 of the unrounded values)."""
    text = f"{value:.{digits}f}"
    return text, float(text)


def _shown_diff(a: float, b: float, digits: int) -> str:
    """B - A of the two values as shown with `digits` decimals."""
    diff = round(_shown(b, digits)[1] - _shown(a, digits)[1], digits)
    return f"{0.0:.{digits}f}" if diff == 0 else f"{diff:+.{digits}f}"


def outcome_table(results: list, labels: list[str]) -> pd.DataFrame:
    a, b = results
    agreed = [sum(r.agreed for r in x.issues.values()) for x in results]
    rows = [
        {"": "Outcome", labels[0]: common.OUTCOME_WORDS[a.outcome], labels[1]: common.OUTCOME_WORDS[b.outcome],
         "Difference (B - A)": "same" if a.outcome == b.outcome else "different"},
        {"": "Rounds played", labels[0]: str(a.rounds), labels[1]: str(b.rounds),
         "Difference (B - A)": f"{b.rounds - a.rounds:+d}"},
        {"": "Final tension", labels[0]: f"{a.tension:.2f}", labels[1]: f"{b.tension:.2f}",
         "Difference (B - A)": _shown_diff(a.tension, b.tension, 2)},
        {"": "Issues agreed", labels[0]: f"{agreed[0]} / {len(a.issues)}", labels[1]: f"{agreed[1]} / {len(b.issues)}",
         "Difference (B - A)": f"{agreed[1] - agreed[0]:+d}"},
    ]
    for actor in a.scenario.actors:
        if actor.id in b.actors:
            ua, ub = a.actors[actor.id].utility, b.actors[actor.id].utility
            rows.append({"": f"Utility to {actor.name}", labels[0]: f"{ua:.3f}", labels[1]: f"{ub:.3f}",
                         "Difference (B - A)": _shown_diff(ua, ub, 3)})
    return pd.DataFrame(rows)


def issues_table(results: list, labels: list[str]) -> pd.DataFrame:
    a, b = results
    rows = []
    for issue in a.scenario.issues:
        if issue.id not in b.issues:
            continue
        ra, rb = a.issues[issue.id], b.issues[issue.id]
        unit = issue.scale.unit
        state_of = [f"agreed at {common.fmt(r.value, unit)} (round {r.round})" if r.agreed else "open"
                    for r in (ra, rb)]

        diff = (_shown_diff(ra.value, rb.value, 1) if ra.agreed and rb.agreed
                else "same" if ra.agreed == rb.agreed else "agreed only in " + ("A" if ra.agreed else "B"))
        rows.append({"Issue": issue.label, labels[0]: state_of[0], labels[1]: state_of[1],
                     "Difference (B - A)": diff, f"Why ({labels[0][:1]})": common.issue_why(a, issue.id),
                     f"Why ({labels[1][:1]})": common.issue_why(b, issue.id)})
    return pd.DataFrame(rows)


def pairing_caption(results: list) -> None:
    """Whether the two single runs are paired: the same seed, and so the same draws of every uncertain input
    both sides draw (each input has its own random stream of the seed)."""
    a, b = results
    shared = [path for path in a.inputs if path in b.inputs]
    same = sum(a.inputs[path] == b.inputs[path] for path in shared)
    if a.seed == b.seed:
        text = f"Both runs play seed {a.seed}"
        if shared:
            text += (f" and draw the same values for {same} of the {len(shared)} uncertain inputs both draw "
                     "(each input has its own random stream of the seed): the differences come from the settings.")
        st.caption(text + ("" if shared else "."))
    else:
        st.caption(f"The runs play different seeds (A {a.seed}, B {b.seed}), so their random draws differ too; "
                   "the Monte Carlo below plays both with the same seeds.")


def _request(keys: tuple[str, str]) -> None:
    st.session_state[MC_REQUEST] = (keys, int(st.session_state[MC_RUNS]))


DIGITS = 1
"""Decimals of every share (in %) and paired difference (in points) the Monte Carlo part of the page shows: the
same in each table and line, and each difference is the one of the two shares as shown (`service.shown_difference`),
so that 47.5 % and 48.5 % differ by +1.0 everywhere."""


def paired_table(before, after, scenario: Scenario) -> pd.DataFrame:
    """Each share of both batches and its paired difference (B - A) with its 95 % interval, in words."""
    labels = {f"agreed.{issue.id}": f"{issue.label} agreed" for issue in scenario.issues}
    rows = []
    for row in service.paired_table(before, after, DIGITS).itertuples():
        interval = ("" if pd.isna(row.low) else
                    f"[{service.points(row.low, DIGITS)}, {service.points(row.high, DIGITS)}]")
        rows.append({"": common.OUTCOME_WORDS.get(row.measure) or labels.get(row.measure, row.measure),
                     "A": f"{service.percent(row.share_a, DIGITS)} %", "B": f"{service.percent(row.share_b, DIGITS)} %",
                     "B - A (points)": service.points(service.shown_difference(row.share_a, row.share_b, DIGITS) / 100,
                                                      DIGITS),
                     "95 % interval": interval, "Seeds that changed": row.changed})
    return pd.DataFrame(rows)


def monte_carlo(sides: list[Side]) -> list[charts.Figure]:
    st.markdown("#### Monte Carlo of both, paired")
    c1, c2 = st.columns([1, 3], vertical_alignment="bottom")
    c1.number_input("Seeds (runs of each)", min_value=10, max_value=5000, value=100, step=10, key=MC_RUNS,
                    help="Both settings are played with these same seeds (derived from run A's seed), so the "
                         "difference of each share is measured seed by seed. More seeds: narrower intervals.")
    keys = (sides[0].key, sides[1].key)
    c2.button("Run both batches", icon=":material/casino:", type="primary", on_click=_request, args=(keys,))
    request = st.session_state.get(MC_REQUEST)
    if request is None or request[0] != keys:
        st.caption("Press **Run both batches** to play both settings with the same many seeds and see how each "
                   "share differs, seed by seed.")
        return []
    n = request[1]
    root = sides[0].scenario.protocol.seed      # the same seeds on both sides: a paired comparison
    bar = st.progress(0.0, text=f"Running {n} seeds of each…")
    batches = {}
    for k, side in enumerate(sides):
        def progress(done: int, total: int, k: int = k) -> None:
            bar.progress((k * total + done) / (2 * total), text=f"{k * total + done} of {2 * total} runs")

        batches[side.label] = state.monte_carlo(side.key, n, side.scenario, root=root, _progress=progress)
    bar.progress(1.0, text=f"{2 * n} runs done: {n} seeds, each played by A and by B (root seed {root}).")
    figure = charts.compare_shares_chart({label: runs["outcome"] for label, runs in batches.items()})
    charts.show(figure)
    a, b = batches.values()
    changed = service.changed_outcomes(a, b)
    st.markdown(f"**{changed} of {n} seeds** ({changed / n:.0%}) end in another outcome under B than under A. "
                "Each difference below is B minus A over the same seeds, with its 95 % interval:")
    table = service.paired_table(a, b, DIGITS)
    lines = [f"- {text}" for text, difference in zip(table["text"], table["difference"], strict=True)
             if difference != 0]
    if lines:
        st.markdown("\n".join(lines[:6]))
    st.dataframe(paired_table(a, b, sides[0].scenario), hide_index=True, width="stretch")
    rows = []
    for label, runs in batches.items():
        shares = service.share_intervals(runs).set_index("measure")
        rows.append({"Run": label, **{common.OUTCOME_WORDS[o]: service.describe_share(service.Interval(
            *shares.loc[o, ["share", "low", "high", "runs"]]), DIGITS) for o in ("agreement", "partial", "stalemate",
                                                                         "breakdown")},
            "Mean rounds": f"{runs['rounds'].mean():.1f}"})
    st.caption("Each side's shares with their 95 % (Wilson) intervals:")
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
    return [figure]


def render() -> None:
    cur = state.get_current()
    st.title(":material/compare: Compare two runs")
    st.markdown("Pick two scenarios, or two settings of one, and see them side by side: the same actor keeps its "
                "colour, **run A is drawn solid and run B dashed**. The differences are B minus A.")
    common.show_problems(cur)
    left, right = st.columns(2)
    default_b = FILE if cur.edits else CURRENT
    other = "issue_by_issue" if cur.scenario.protocol.linkage == "package" else "package"
    sides = [_side(cur, left, "A", CURRENT, "as set"),
             _side(cur, right, "B", default_b, "as set" if cur.edits else other)]
    results = [state.simulate(side.key, state.END, side.scenario) for side in sides]
    labels = [side.label for side in sides]
    if sides[0].key == sides[1].key:
        st.info("Runs A and B have the same settings: choose another scenario or linkage for one of them.",
                icon=":material/info:")
    for side, result in zip(sides, results, strict=True):
        kind, text = common.outcome_sentence(result)
        getattr(st, kind)(f"**{md(side.label)}** · " + text)
    pairing_caption(results)
    st.markdown("#### Outcomes")
    st.dataframe(outcome_table(results, labels), hide_index=True, width="stretch")
    st.markdown("#### Issue by issue")
    st.dataframe(issues_table(results, labels), hide_index=True, width="stretch")
    st.markdown("#### Offers round by round")
    shared = [i for i in results[0].scenario.issue_ids if i in results[1].issues]
    if not shared:
        st.warning("The two scenarios have no issue in common: there is nothing to overlay.")
    figures = [charts.compare_positions_chart(results, labels, issue_id) for issue_id in shared]
    for figure in figures:
        charts.show(figure)
    figures += monte_carlo(sides)
    report.chart_downloads(figures, "compare")
