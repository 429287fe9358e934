"""Altair charts of runs, analyses, Monte Carlo batches and sweeps (pure functions: data in, figure out).

A `Figure` is an Altair chart whose layers read named datasets, plus those datasets (pandas frames). `show`
renders it with `st.vega_lite_chart`: the spec is made with `to_dict(validate=False)` and the frames go to the
browser as Arrow, as `st.altair_chart` would send them, but without Altair's JSON-Schema validation (about
four fifths of the time `st.altair_chart` takes; the charts here are fixed code, checked by the tests).
Channels are explicit field/type objects (Altair's shorthand parsing is slow too). Every figure carries
`usermeta={"negsim": <name>, ...}` so tests can find it and check its data.
"""

from __future__ import annotations

import functools
import math
import textwrap
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import altair as alt
import numpy as np
import pandas as pd
import pyarrow as pa
import streamlit as st
from altair.utils.schemapi import debug_mode

from dashboard.colours import ACTOR_COLOURS, ACTOR_DASHES, ACTOR_SHAPES
from sim import service
from sim.core.spatial import BargainingSpace
from sim.core.table_rules import OUTCOMES
from sim.scenario import Calendar, Issue, Scenario
from sim.service import RunResult

PALETTE = ACTOR_COLOURS
"""The actor colours (`dashboard.colours`: one map for every page); none is a grey, the colours of the
proposal (dark) and the median voter (light)."""
OUTCOME_COLORS = {"agreement": "#2ca02c", "partial": "#98c46e", "stalemate": "#f0b429", "breakdown": "#d62728",
                  "running": "#7f7f7f"}
PROPOSAL = "Proposal on the table"
MEDIAN = "Median voter (expected utility)"


_DEFAULT = "\0default"


def Q(field: str, title: str | None = _DEFAULT, **kw) -> dict:  # noqa: N802 - short channel helpers
    """A quantitative channel's fields; title None hides the axis/legend title, left out it is the field name."""
    return {"field": field, "type": "quantitative", **({"title": title} if title != _DEFAULT else {}), **kw}


def N(field: str, title: str | None = _DEFAULT, **kw) -> dict:  # noqa: N802
    """A nominal channel's fields (see `Q`)."""
    return {"field": field, "type": "nominal", **({"title": title} if title != _DEFAULT else {}), **kw}


def quick[F: Callable[..., Any]](build: F) -> F:
    """Build without Altair's debug-mode validation of every object as it is made (the same checks run once
    on the whole spec in the tests)."""
    @functools.wraps(build)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with debug_mode(False):
            return build(*args, **kwargs)
    return wrapper  # type: ignore[return-value]


@dataclass
class Figure:
    """Altair charts reading named datasets, and the datasets.

    `chart` is one Altair chart, or a list of them drawn as layers with the top-level properties `layout`
    (title, height, usermeta ...). Layers are combined into the Vega-Lite `layer` spec directly rather than
    with `alt.layer`, whose constructor deep-copies every layer several times.
    """

    chart: Any
    data: dict[str, pa.Table] = field(default_factory=dict)
    layout: dict[str, Any] = field(default_factory=dict)

    def use(self, name: str, frame: pd.DataFrame | dict[str, Any]) -> alt.Chart:
        """A chart (to draw, or to add as a layer) reading `frame` (a DataFrame, or columns) under `name`."""
        self.data[name] = (pa.Table.from_pandas(frame, preserve_index=False) if isinstance(frame, pd.DataFrame)
                           else pa.table(frame))
        return alt.Chart(alt.NamedData(name=name))

    def frame(self, name: str) -> pd.DataFrame:
        return self.data[name].to_pandas()

    @quick
    def spec(self) -> dict[str, Any]:
        """The Vega-Lite spec, with the frames under `datasets` (Streamlit sends them to the browser as Arrow)."""
        spec: dict[str, Any]
        if isinstance(self.chart, list):
            layers = [_bare(layer.to_dict(validate=False)) for layer in self.chart]
            spec = {"$schema": alt.SCHEMA_URL, "layer": layers}
            for key, value in self.layout.items():
                spec[key] = value.to_dict(validate=False) if isinstance(value, alt.SchemaBase) else value
        else:
            spec = self.chart.to_dict(validate=False)
            spec.pop("config", None)  # Altair's default theme sizes; Streamlit sizes and styles the chart
        spec["datasets"] = {name: _arrow_bytes(table) for name, table in self.data.items()}
        return spec


EXPORT_WIDTH = 760
"""Width in pixels of exported charts (in the page they stretch to the column)."""


def static_spec(figure: Figure, width: int = EXPORT_WIDTH) -> dict[str, Any]:
    """The figure's spec with its data inline (JSON values) and a fixed width: what a renderer outside the
    browser (vl-convert) or a saved file needs."""
    spec = figure.spec()
    spec["datasets"] = {name: table.to_pylist() for name, table in figure.data.items()}
    spec["width"] = width
    spec.setdefault("background", "white")
    return spec


def to_svg(figure: Figure, width: int = EXPORT_WIDTH) -> str:
    """The chart as an SVG document, rendered offline by vl-convert (no browser, nothing fetched)."""
    import vl_convert

    return vl_convert.vegalite_to_svg(static_spec(figure, width), allowed_base_urls=[])


def to_png(figure: Figure, width: int = EXPORT_WIDTH, scale: float = 2.0) -> bytes:
    """The chart as a PNG (twice the pixels of its size on screen by default)."""
    import vl_convert

    return vl_convert.vegalite_to_png(static_spec(figure, width), scale=scale, allowed_base_urls=[])


def _arrow_bytes(table: pa.Table) -> bytes:
    """Arrow IPC stream bytes: what Streamlit sends the browser for each dataset."""
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue().to_pybytes()


def _bare(spec: dict[str, Any]) -> dict[str, Any]:
    """A top-level chart's spec as a layer: without $schema and theme config."""
    spec.pop("$schema", None)
    spec.pop("config", None)
    return spec


def show(figure: Figure, where: Any = None) -> None:
    """Render a figure at full width (in `where`, a Streamlit container, if given)."""
    (where or st).vega_lite_chart(spec=figure.spec(), width="stretch")


def actor_scale(scenario: Scenario, extra: Sequence[tuple[str, str]] = ()) -> alt.Scale:
    """The same colour for an actor on every chart (plus extra (name, colour) series)."""
    names = [a.name for a in scenario.actors]
    colours = [PALETTE[i % len(PALETTE)] for i in range(len(names))]
    return alt.Scale(domain=names + [n for n, _ in extra], range=colours + [c for _, c in extra])


MANY = 6
"""With more series than this a legend goes below the plot, in columns, instead of a column beside it that
the chart's height cuts off (ten actors, plus the proposal and the median)."""


LONG_NAME = 24
"""Characters of an actor name beyond which a half-width chart puts its legend under the plot."""


def legend(n_series: int, title: str | None) -> alt.Legend:
    """A legend that shows every series, whatever their number."""
    if n_series > MANY:
        return alt.Legend(title=title, orient="bottom", columns=4, symbolLimit=0, labelLimit=220)
    return alt.Legend(title=title, symbolLimit=0, labelLimit=220)


def legend_height(n_series: int) -> int:
    """Pixels a bottom legend takes from the chart's height (Streamlit fits legend and plot into it)."""
    return 0 if n_series <= MANY else 20 * -(-n_series // 4) + 24


def actor_dashes(scenario: Scenario, extra: Sequence[tuple[str, list[int]]] = (), title: str | None = "Who",
                 field: str = "series") -> alt.StrokeDash:
    """Each actor's line dash (`colours.ACTOR_DASHES`), plus extra (name, dash) series: two actors with the same
    offers (the US and NATO in the baseline) show both, one through the gaps of the other."""
    names = [a.name for a in scenario.actors]
    dashes = [ACTOR_DASHES[k % len(ACTOR_DASHES)] for k in range(len(names))]
    return alt.StrokeDash(**N(field, title), scale=alt.Scale(domain=names + [n for n, _ in extra],
                                                            range=dashes + [d for _, d in extra]), legend=None)


def actor_shapes(scenario: Scenario, extra: Sequence[str] = (), title: str | None = "Who",
                 field: str = "series") -> alt.Shape:
    """Each actor's point shape (`colours.ACTOR_SHAPES`); extra series get small circles."""
    names = [a.name for a in scenario.actors]
    shapes = [ACTOR_SHAPES[k % len(ACTOR_SHAPES)] for k in range(len(names))]
    return alt.Shape(**N(field, title), scale=alt.Scale(domain=names + list(extra),
                                                       range=shapes + ["circle"] * len(extra)), legend=None)


def short(text: str, limit: int = 70) -> str:
    return text if len(text) <= limit else text[:limit - 1].rstrip() + "…"


def issue_title(issue: Issue) -> alt.Title:
    s = issue.scale
    return alt.Title(issue.label, anchor="start", subtitle=[f"▲ {s.max:g} = {short(issue.high_label, 90)}",
                                                             f"▼ {s.min:g} = {short(issue.low_label, 90)}"])


def names_of(scenario: Scenario) -> dict[str, str]:
    return {a.id: a.name for a in scenario.actors}


# ====================================================================== a run
def columns(result: RunResult) -> dict[str, np.ndarray]:
    """The run's history as numpy columns (much faster to slice than the DataFrame, for every rerun)."""
    history = result.recorded_history()
    return {name: history[name].to_numpy() for name in history.columns}


def _round_axis(max_rounds: int, title: str | None = "Round", calendar: Calendar | None = None) -> alt.X:
    """The x axis of a run's rounds; with a calendar (`protocol.calendar`), labelled with each round's date."""
    if calendar is None:
        return alt.X(**Q("round", title), scale=alt.Scale(domain=[0, max_rounds], nice=False),
                     axis=alt.Axis(tickMinStep=1, format="d"))
    return alt.X(**Q("round", f"Date (round every {calendar.days_per_round:g} days)"),
                 scale=alt.Scale(domain=[0, max_rounds], nice=False),
                 axis=alt.Axis(tickMinStep=1, labelExpr=date_label_expression(calendar), labelAngle=0))


def date_label_expression(calendar: Calendar) -> str:
    """A Vega expression giving round `datum.value`'s date as '17 Dec' ('17 Dec 2021' where the year is new):
    the calendar's start plus floor(round x days per round) days (`Calendar.date_of`; JavaScript's Date carries
    days past a month's end into the next month)."""
    start = calendar.start
    day = (f"datetime({start.year}, {start.month - 1}, {start.day} + "
           f"floor(datum.value * {calendar.days_per_round!r}))")
    return (f"datum.value == 0 || month({day}) == 0 && date({day}) <= {math.ceil(calendar.days_per_round)} "
            f"? timeFormat({day}, '%-d %b %Y') : timeFormat({day}, '%-d %b')")


def calendar_of(scenarios: Sequence[Scenario]) -> Calendar | None:
    """The calendar the scenarios share (None if any has none, or they differ)."""
    calendars = {s.protocol.calendar for s in scenarios}
    return calendars.pop() if len(calendars) == 1 else None


def event_rules(fig: Figure, result: RunResult) -> list[alt.Chart]:
    """Vertical rules at the rounds before which an inject fired, with its label (and date) in the tooltip."""
    events = result.event_list()
    if not events:
        return []
    data = {"round": [e["before_round"] - 0.5 for e in events], "event": [e["label"] for e in events],
            "date": [e["date"] or "" for e in events]}
    return [fig.use("events", data).mark_rule(color="#9467bd", strokeDash=[1, 3], opacity=0.8).encode(
        x=alt.X(**Q("round")), tooltip=[alt.Tooltip(**N("event", "Event")), alt.Tooltip(**N("date", "Date"))])]


def moves_on(result: RunResult, issue_id: str) -> list[str]:
    """Each actor's move on one issue, round by round, in words (`service.move_sentences`: "moved toward the
    proposal (34.2) from 15.7 to 18.1" where the reason alone, "met the proposal", would mislead)."""
    history = result.recorded_history()
    return service.move_sentences(history[history["issue"] == issue_id], result.scenario,
                                  lambda value, issue: f"{value:.1f}" + (f" {issue.scale.unit}" if issue.scale.unit
                                                                         else ""))


@quick
def positions_chart(result: RunResult, issue_id: str) -> Figure:
    """Offers per round on one issue: a line per actor, the proposal on the table (dashed), the forecast
    baselines (weighted mean and median of the opening positions) and the agreed value if any."""
    scenario = result.scenario
    issue = scenario.issue(issue_id)
    unit = issue.scale.unit
    h = columns(result)
    on_issue = h["issue"] == issue_id
    once = on_issue & (h["actor"] == scenario.actors[0].id)  # one row per round
    names = names_of(scenario)
    fig = Figure(None)
    n = int(once.sum())
    offers = {"round": h["round"][on_issue], "series": [names[a] for a in h["actor"][on_issue]],
              "position": h["position"][on_issue], "move": moves_on(result, issue_id)}
    proposal = {"round": h["round"][once], "series": [PROPOSAL] * n, "position": h["proposal"][once],
                "move": ["weighted mean of the offers"] * n}
    extra = [(PROPOSAL, "#333333")]
    if "median" in h:
        extra.append((MEDIAN, "#aaaaaa"))
        offers = {"round": np.concatenate([offers["round"], h["round"][once]]),
                  "series": offers["series"] + [MEDIAN] * n,
                  "position": np.concatenate([offers["position"], h["median"][once]]),
                  "move": offers["move"] + ["forecast"] * n}
    max_rounds = scenario.protocol.max_rounds
    x = _round_axis(max_rounds, calendar=scenario.protocol.calendar)
    y = alt.Y(**Q("position", f"Position ({unit})" if unit else "Position"),
              scale=alt.Scale(domain=[issue.scale.min, issue.scale.max], nice=False))
    colour = alt.Color(**N("series"), scale=actor_scale(scenario, extra),
                       legend=legend(len(scenario.actors) + len(extra), "Who"))
    tooltip = [alt.Tooltip(**N("series", "Who")), alt.Tooltip(**Q("round", "Round")),
               alt.Tooltip(**Q("position", "Offer"), format=".1f"), alt.Tooltip(**N("move", "Move"))]
    layers = [
        fig.use("offers", offers).mark_line(strokeWidth=2.25, point=alt.OverlayMarkDef(size=40, filled=True)).encode(
            x=x, y=y, color=colour, tooltip=tooltip,
            strokeDash=actor_dashes(scenario, [(MEDIAN, [2, 2])]), shape=actor_shapes(scenario, [MEDIAN])),
        fig.use("proposal", proposal).mark_line(strokeDash=[6, 3], strokeWidth=2.5,
                                                point=alt.OverlayMarkDef(size=18)).encode(
            x=x, y=y, color=colour, tooltip=tooltip),
    ]
    r = result.issues[issue_id]
    ref = {"value": [r.weighted_mean, r.weighted_median],
           "label": [f"weighted mean {r.weighted_mean:.1f}", f"weighted median {r.weighted_median:.1f}"]}
    baselines = fig.use("baselines", ref)
    layers.append(baselines.mark_rule(color="#888888", strokeDash=[2, 3]).encode(
        y=alt.Y(**Q("value")), tooltip=[alt.Tooltip(**N("label", "Forecast baseline"))]))
    if r.agreed:
        agreed = fig.use("agreed", {"round": [r.round], "value": [r.value], "label": [f"agreed: {r.value:.1f}"]})
        where = {"x": alt.X(**Q("round")), "y": alt.Y(**Q("value"))}
        layers.append(agreed.mark_point(shape="diamond", size=260, filled=True, color="#2ca02c", stroke="black")
                      .encode(**where, tooltip=[alt.Tooltip(**N("label", "Agreement")),
                                                alt.Tooltip(**Q("round", "Round"))]))
        layers.append(agreed.mark_text(align="left", dx=10, fontWeight="bold", color="#2ca02c")
                      .encode(**where, text=alt.Text(**N("label"))))
    fig.chart = layers
    title = issue_title(issue)  # the forecasts in words under the poles: a label on the plot sat on the lines
    title.subtitle = [*title.subtitle, f"··· forecasts: weighted mean {r.weighted_mean:.1f}, "
                                       f"weighted median {r.weighted_median:.1f}"]
    fig.layout = {"title": title, "height": 330 + legend_height(len(scenario.actors) + len(extra)),
                  "usermeta": {"negsim": "positions", "issue": issue_id}}
    return fig


@quick
def tension_chart(result: RunResult) -> Figure:
    """Tension per round (derived from the moves: shown, with no threshold: it does not end the talks)."""
    scenario = result.scenario
    fig = Figure(None)
    h = columns(result)
    once = (h["actor"] == scenario.actors[0].id) & (h["issue"] == scenario.issues[0].id)
    data = {"round": h["round"][once], "tension": h["tension"][once]}
    line = fig.use("tension", data).mark_line(point=alt.OverlayMarkDef(color="#d62728"), color="#d62728").encode(
        x=_round_axis(scenario.protocol.max_rounds, calendar=scenario.protocol.calendar),
        y=alt.Y(**Q("tension", "Tension (0 calm … 1 crisis)"), scale=alt.Scale(domain=[0, 1])),
        tooltip=[alt.Tooltip(**Q("round", "Round")), alt.Tooltip(**Q("tension", "Tension"), format=".2f")])
    fig.chart = [line, *event_rules(fig, result)]
    fig.layout = {"height": 300, "usermeta": {"negsim": "tension"},
                  "title": alt.Title("Tension", anchor="start",
                                     subtitle="Derived: deadlock raises it, concessions lower it.")}
    return fig


@quick
def utilities_chart(result: RunResult) -> Figure:
    """Each actor's utility of the proposal on the table per round, with its walk-away utility (thin dotted)."""
    scenario = result.scenario
    names = names_of(scenario)
    fig = Figure(None)
    h = columns(result)
    once = h["issue"] == scenario.issues[0].id  # one row per round and actor
    data = {"round": h["round"][once], "actor": [names[a] for a in h["actor"][once]], "utility": h["utility"][once]}
    n = len(scenario.actors)
    # a half-width chart: at 1280 px long names (up to the legend's 220 px) left the plot about 60 px wide, so
    # they go under it, one a line
    below = max(len(name) for name in names.values()) > LONG_NAME and n <= MANY
    colour = alt.Color(**N("actor"), scale=actor_scale(scenario), legend=alt.Legend(
        title="Actor", orient="bottom", columns=1, symbolLimit=0, labelLimit=400) if below else legend(n, "Actor"))
    line = fig.use("utilities", data).mark_line(strokeWidth=2.25,
                                                point=alt.OverlayMarkDef(size=40, filled=True)).encode(
        x=_round_axis(scenario.protocol.max_rounds, calendar=scenario.protocol.calendar),
        y=alt.Y(**Q("utility", "Utility of the proposal (0-1)"), scale=alt.Scale(domain=[0, 1])),
        strokeDash=actor_dashes(scenario, title="Actor", field="actor"),
        shape=actor_shapes(scenario, title="Actor", field="actor"),
        color=colour, tooltip=[alt.Tooltip(**N("actor", "Actor")), alt.Tooltip(**Q("round", "Round")),
                               alt.Tooltip(**Q("utility", "Utility"), format=".3f")])
    walk = {"actor": [a.name for a in scenario.actors], "reservation": [a.reservation_utility for a in scenario.actors]}
    rules = fig.use("walk_away", walk).mark_rule(strokeDash=[1, 3], strokeWidth=1.5, opacity=0.9).encode(
        y=alt.Y(**Q("reservation")), color=colour,
        tooltip=[alt.Tooltip(**N("actor", "Actor")), alt.Tooltip(**Q("reservation", "Walk-away utility"))])
    fig.chart = [line, rules]
    fig.layout = {"height": 300 + (20 * n + 24 if below else legend_height(n)), "usermeta": {"negsim": "utilities"},
                  "title": alt.Title("Utilities", anchor="start", subtitle=[  # two lines: one was cut at 1280 px
                      "How good the proposal on the table is for each actor;", "thin dotted: its walk-away utility."])}
    return fig


# ====================================================================== analysis
@quick
def ranges_chart(issue: Issue, table: pd.DataFrame, zone: tuple[float, float] | None, scenario: Scenario) -> Figure:
    """Acceptable range of each actor on one issue (bar from `low` to `high`), its ideal point (dot), red line
    (tick) and the zone of possible agreement (green band) where all ranges overlap."""
    s = issue.scale
    fig = Figure(None)
    x_scale = alt.Scale(domain=[s.min, s.max], nice=False)
    colour = alt.Color(**N("actor", "Actor"), scale=actor_scale(scenario), legend=None)
    y = alt.Y(**N("actor", None), sort=[a.name for a in scenario.actors])
    tooltip = [alt.Tooltip(**N("actor", "Actor")), alt.Tooltip(**Q("low", "Accepts from"), format=".1f"),
               alt.Tooltip(**Q("high", "to"), format=".1f"), alt.Tooltip(**Q("ideal", "Ideal"), format=".1f")]
    layers = []
    if zone is not None:
        band = pd.DataFrame({"low": [zone[0]], "high": [zone[1]], "label": [f"ZOPA {zone[0]:.1f}–{zone[1]:.1f}"]})
        layers.append(fig.use("zone", band).mark_rect(color="#2ca02c", opacity=0.18).encode(
            x=alt.X(**Q("low"), scale=x_scale), x2=alt.X2(field="high"),
            tooltip=[alt.Tooltip(**N("label", "Zone of possible agreement"))]))
    ranges = fig.use("ranges", table)
    layers.append(ranges.mark_bar(height=12, opacity=0.55).encode(
        x=alt.X(**Q("low", f"Acceptable values ({s.unit})" if s.unit else "Acceptable values"), scale=x_scale),
        x2=alt.X2(field="high"), y=y, color=colour, tooltip=tooltip))
    layers.append(ranges.mark_point(filled=True, size=90, stroke="black").encode(
        x=alt.X(**Q("ideal")), y=y, color=colour, tooltip=tooltip))
    lines = table.dropna(subset=["red_line"])
    if len(lines):
        layers.append(fig.use("red_lines", lines).mark_tick(color="black", thickness=3, size=22).encode(
            x=alt.X(**Q("red_line")), y=y,
            tooltip=[alt.Tooltip(**N("actor", "Actor")), alt.Tooltip(**Q("red_line", "Red line"), format=".1f")]))
    fig.chart = layers
    fig.layout = {"title": issue_title(issue), "height": 150 + 34 * len(table),
                  "usermeta": {"negsim": "ranges", "issue": issue.id}}
    return fig


@quick
def pareto_chart(space: BargainingSpace, names: tuple[str, str], outcome: tuple[float, float],
                 native: np.ndarray, issue_labels: Sequence[str], max_points: int = 2500) -> Figure:
    """Utilities of two actors over sampled outcomes: all deals (grey), those both could accept (blue), the
    Pareto frontier (line), their walk-away point, the Nash bargaining point (triangle) and the simulated
    outcome (red diamond). `native` holds the sampled outcomes in native units (for the tooltips)."""
    a, b = names
    u = space.utilities
    fig = Figure(None)

    def deals(rows: np.ndarray) -> list[str]:
        return ["; ".join(f"{label}: {v:.1f}" for label, v in zip(issue_labels, native[k], strict=True))
                for k in rows]

    keep = np.unique(np.concatenate([np.linspace(0, len(u) - 1, min(max_points, len(u))).astype(int),
                                     np.flatnonzero(space.frontier)]))
    cloud = pd.DataFrame({"ua": u[keep, 0], "ub": u[keep, 1], "deal": deals(keep),
                          "kind": np.where(space.feasible[keep], "acceptable to both", "not acceptable to both")})
    front_idx = np.flatnonzero(space.frontier)
    front = pd.DataFrame({"ua": u[front_idx, 0], "ub": u[front_idx, 1], "deal": deals(front_idx)}).sort_values("ua")
    x = alt.X(**Q("ua", f"Utility to {a}"), scale=alt.Scale(domain=[0, 1]))
    y = alt.Y(**Q("ub", f"Utility to {b}"), scale=alt.Scale(domain=[0, 1]))
    tip = [alt.Tooltip(**N("deal", "Deal")), alt.Tooltip(**Q("ua", a), format=".3f"),
           alt.Tooltip(**Q("ub", b), format=".3f")]
    d = space.disagreement
    marks = [{"ua": d[0], "ub": d[1], "what": "walk-away utilities", "deal": "the least a deal must be worth"},
             {"ua": outcome[0], "ub": outcome[1], "what": "simulated outcome", "deal": "the run's result"}]
    if space.nash is not None:
        marks.append({"ua": u[space.nash, 0], "ub": u[space.nash, 1], "what": "Nash bargaining point",
                      "deal": deals(np.array([space.nash]))[0]})
    kinds = [m["what"] for m in marks]
    layers = [
        fig.use("deals", cloud).mark_circle(size=12, opacity=0.45).encode(
            x=x, y=y, color=alt.Color(**N("kind", "Possible deals"), scale=alt.Scale(
                domain=["acceptable to both", "not acceptable to both"], range=["#6baed6", "#d0d0d0"])),
            tooltip=tip),
        fig.use("frontier", front).mark_line(color="black", strokeWidth=2).encode(x=x, y=y, tooltip=tip),
        fig.use("marked", pd.DataFrame(marks)).mark_point(filled=True, size=260, stroke="black", strokeWidth=1)
        .encode(x=x, y=y,
                shape=alt.Shape(**N("what", "Marked"), scale=alt.Scale(
                    domain=kinds, range=["cross", "diamond", "triangle-up"][:len(marks)])),
                color=alt.Color(**N("what", "Marked"), scale=alt.Scale(
                    domain=kinds, range=["#555555", "#d62728", "#f0b429"][:len(marks)])),
                tooltip=[alt.Tooltip(**N("what", "Point")), *tip]),
    ]
    fig.chart = layers
    fig.layout = {"height": 420, "usermeta": {"negsim": "pareto", "actors": list(names)},
                  "resolve": {"scale": {"color": "independent", "shape": "independent"}}}
    return fig


# ====================================================================== Monte Carlo and sweeps


@quick
def outcome_shares_chart(outcomes: pd.Series, name: str = "mc_outcomes") -> Figure:
    """Share of runs per outcome (fixed order and colours)."""
    counts = outcomes.value_counts()
    data = pd.DataFrame({"outcome": OUTCOMES, "runs": [int(counts.get(o, 0)) for o in OUTCOMES]})
    data["share"] = data["runs"] / max(1, len(outcomes))
    fig = Figure(None)
    fig.chart = fig.use("shares", data).mark_bar().encode(
        x=alt.X(**Q("share", "Share of runs"), scale=alt.Scale(domain=[0, 1]), axis=alt.Axis(format="%")),
        y=alt.Y(**N("outcome", None), sort=list(OUTCOMES)),
        color=alt.Color(**N("outcome", None), scale=alt.Scale(domain=OUTCOMES,
                                                              range=[OUTCOME_COLORS[o] for o in OUTCOMES]),
                        legend=None),
        tooltip=[alt.Tooltip(**N("outcome", "Outcome")), alt.Tooltip(**Q("runs", "Runs")),
                 alt.Tooltip(**Q("share", "Share"), format=".1%")],
    ).properties(height=230, usermeta={"negsim": name})
    return fig


TITLE_CHARS, SUBTITLE_CHARS = 40, 56
"""Longest title and subtitle line, in characters, on the charts drawn side by side (two in a row at 1280 px, about
330 px each): longer ones are wrapped onto more lines. A line wider than the chart pushed the plot into a hairline;
cut with an ellipsis at a pixel limit, it hid the end of the title ("Risk reduction and confidence-building mea…")."""


def wrapped(text: str, width: int) -> list[str]:
    """`text` on lines of at most `width` characters (a longer word keeps a line of its own)."""
    return textwrap.wrap(text, width, break_long_words=False, break_on_hyphens=False) or [text]


@quick
def value_histogram(values: pd.Series, issue: Issue, name: str = "mc_values") -> Figure:
    """Distribution of agreed values on one issue (runs that agreed on it). The axis title stays short and the
    poles go in the subtitle: a long axis title made Vega-Lite shrink the plot to a hairline in a narrow column."""
    s = issue.scale
    fig = Figure(None)
    data = pd.DataFrame({"value": values.dropna().to_numpy(dtype=float)})
    fig.chart = fig.use("values", data).mark_bar(color="#2ca02c").encode(
        x=alt.X(**Q("value", f"Agreed value ({s.unit})" if s.unit else "Agreed value"),
                bin=alt.Bin(extent=[s.min, s.max], maxbins=25), scale=alt.Scale(domain=[s.min, s.max]),
                axis=alt.Axis(labelOverlap=True)),
        y=alt.Y(aggregate="count", type="quantitative", title="Runs"),
        tooltip=[alt.Tooltip(**Q("value", "Agreed value"), bin=True),
                 alt.Tooltip(aggregate="count", type="quantitative", title="Runs")],
    ).properties(title=alt.Title(wrapped(issue.label, TITLE_CHARS), anchor="start",
                                 subtitle=[*wrapped(f"{s.min:g} = {issue.low_label}", SUBTITLE_CHARS),
                                           *wrapped(f"{s.max:g} = {issue.high_label}", SUBTITLE_CHARS)]),
                 height=240, usermeta={"negsim": name, "issue": issue.id})
    return fig


@quick
def heatmap_chart(table: pd.DataFrame, x: str, y: str, metric_label: str, x_order: Sequence[str],
                  y_order: Sequence[str], higher_is_better: bool | None = True, x_title: str | None = None,
                  y_title: str | None = None) -> Figure:
    """Mean of a metric at each pair of levels of two varied parameters (columns x_label, y_label, value, runs);
    the axes are titled `x_title` and `y_title` (the parameters' readable names), else by their paths.

    Colours say good or bad: green where the metric is good (a high probability of agreement, a low one of
    breakdown), red where it is bad; a neutral metric (None: mean rounds) in a scale without either."""
    share = bool(table["value"].between(0, 1).all())
    domain = [0, 1] if share else [float(table["value"].min()), float(table["value"].max())]
    colour = (alt.Scale(scheme="viridis", domain=domain) if higher_is_better is None
              else alt.Scale(scheme="redyellowgreen", domain=domain, reverse=not higher_is_better))
    x_title, y_title = x_title or x, y_title or y
    xe = alt.X(**N("x_label", x_title), sort=list(x_order), axis=alt.Axis(labelAngle=0, titleLimit=600))
    ye = alt.Y(**N("y_label", y_title), sort=list(reversed(y_order)), axis=alt.Axis(titleLimit=400))
    fig = Figure(None)
    cells = fig.use("cells", table)
    rect = cells.mark_rect().encode(
        x=xe, y=ye, color=alt.Color(**Q("value", metric_label), scale=colour),
        tooltip=[alt.Tooltip(**N("x_label", x_title)), alt.Tooltip(**N("y_label", y_title)),
                 alt.Tooltip(**Q("value", metric_label), format=".2f"), alt.Tooltip(**Q("runs", "Runs"))])
    low, high = table["value"].min(), table["value"].max()
    dark = f"datum.value < {low + 0.25 * (high - low)} || datum.value > {low + 0.8 * (high - low)}"
    text = cells.mark_text(fontSize=12, fontWeight="bold").encode(
        x=xe, y=ye, text=alt.Text(**Q("value"), format=".2f"),
        color=alt.ColorValue(value="black", condition={"test": dark, "value": "white"}))
    fig.chart = [rect, text]
    fig.layout = {"height": max(300, 36 * len(y_order) + 80),
                  "usermeta": {"negsim": "sweep_heatmap", "x": x, "y": y, "higher_is_better": higher_is_better}}
    return fig


@quick
def metric_line_chart(table: pd.DataFrame, x: str, metric_label: str, x_order: Sequence[str],
                      categorical: bool = False, x_title: str | None = None) -> Figure:
    """Mean of a metric at each level of one varied parameter: a line along a numeric parameter, bars for a
    categorical one (package / issue by issue has no 'in between' to draw a line through). The axis is titled
    `x_title` (the parameter's readable name), else by its path."""
    fig = Figure(None)
    base = fig.use("levels", table)
    chart = base.mark_bar(color="#4c78a8") if categorical else base.mark_line(point=True)
    x_title = x_title or x
    fig.chart = chart.encode(
        x=alt.X(**N("x_label", x_title), sort=list(x_order), axis=alt.Axis(labelAngle=0, titleLimit=600)),
        y=alt.Y(**Q("value", metric_label)),
        tooltip=[alt.Tooltip(**N("x_label", x_title)), alt.Tooltip(**Q("value", metric_label), format=".2f"),
                 alt.Tooltip(**Q("runs", "Runs"))],
    ).properties(height=320, usermeta={"negsim": "sweep_line", "x": x, "mark": "bar" if categorical else "line"})
    return fig


@quick
def distribution_chart(runs: pd.DataFrame, column: str, label: str) -> Figure:
    """Histogram of one result column over the runs of a sweep, stacked by outcome."""
    data = runs[[column, "outcome"]].dropna().rename(columns={column: "value"})
    fig = Figure(None)
    fig.chart = fig.use("runs", data).mark_bar().encode(
        x=alt.X(**Q("value", label), bin=alt.Bin(maxbins=30)),
        y=alt.Y(aggregate="count", type="quantitative", title="Runs"),
        color=alt.Color(**N("outcome", "Outcome"), scale=alt.Scale(domain=OUTCOMES,
                                                                   range=[OUTCOME_COLORS[o] for o in OUTCOMES])),
        tooltip=[alt.Tooltip(**N("outcome", "Outcome")), alt.Tooltip(aggregate="count", type="quantitative",
                                                                      title="Runs")],
    ).properties(height=320, usermeta={"negsim": "sweep_distribution", "column": column})
    return fig


# ====================================================================== comparing two runs
RUN_DASHES = ([1, 0], [7, 4])
"""Run A solid, run B dashed."""


@quick
def compare_positions_chart(results: Sequence[RunResult], labels: Sequence[str], issue_id: str) -> Figure:
    """Offers per round on one issue in two runs overlaid: an actor keeps its colour, run A is drawn solid and
    run B dashed; each run's proposal on the table in dark grey."""
    issue = results[0].scenario.issue(issue_id)
    labels = [f"{label} ({'solid' if k == 0 else 'dashed'})" for k, label in enumerate(labels)]  # the legend
    rounds, series, runs, position = [], [], [], []
    for result, label in zip(results, labels, strict=True):
        h = columns(result)
        on_issue = h["issue"] == issue_id
        names = names_of(result.scenario)
        once = on_issue & (h["actor"] == result.scenario.actors[0].id)
        rounds += [h["round"][on_issue], h["round"][once]]
        series += [names[a] for a in h["actor"][on_issue]] + [PROPOSAL] * int(once.sum())
        runs += [label] * (int(on_issue.sum()) + int(once.sum()))
        position += [h["position"][on_issue], h["proposal"][once]]
    data = {"round": np.concatenate(rounds), "series": series, "run": runs, "position": np.concatenate(position)}
    actors = list(dict.fromkeys(a.name for r in results for a in r.scenario.actors))
    colours = [PALETTE[i % len(PALETTE)] for i in range(len(actors))]
    fig = Figure(None)
    max_rounds = max(r.scenario.protocol.max_rounds for r in results)
    fig.chart = fig.use("offers", data).mark_line(point=alt.OverlayMarkDef(size=18)).encode(
        x=_round_axis(max_rounds, calendar=calendar_of([r.scenario for r in results])),
        y=alt.Y(**Q("position", f"Position ({issue.scale.unit})" if issue.scale.unit else "Position"),
                scale=alt.Scale(domain=[issue.scale.min, issue.scale.max], nice=False)),
        color=alt.Color(**N("series"), scale=alt.Scale(domain=actors + [PROPOSAL], range=colours + ["#555555"]),
                        legend=legend(len(actors) + 1, "Who")),
        strokeDash=alt.StrokeDash(**N("run"), scale=alt.Scale(domain=list(labels), range=list(RUN_DASHES)),
                                  legend=alt.Legend(title=None, orient="top", direction="horizontal",
                                                    symbolType="stroke", symbolStrokeColor="#333333",
                                                    symbolStrokeWidth=2, symbolSize=400, labelLimit=300)),
        detail=alt.Detail(**N("run")),
        tooltip=[alt.Tooltip(**N("run", "Run")), alt.Tooltip(**N("series", "Who")),
                 alt.Tooltip(**Q("round", "Round")), alt.Tooltip(**Q("position", "Offer"), format=".1f")],
    ).properties(title=issue_title(issue), height=360 + legend_height(len(actors) + 1),
                 usermeta={"negsim": "compare_positions", "issue": issue_id})
    return fig


@quick
def compare_shares_chart(outcomes: dict[str, pd.Series]) -> Figure:
    """Share of runs per outcome in two Monte Carlo batches, side by side (A above B in each outcome's row)."""
    rows = []
    for label, values in outcomes.items():
        counts = values.value_counts()
        for outcome in OUTCOMES:
            rows.append({"run": label, "outcome": outcome, "runs": int(counts.get(outcome, 0)),
                         "share": int(counts.get(outcome, 0)) / max(1, len(values))})
    fig = Figure(None)
    labels = list(outcomes)
    fig.chart = fig.use("shares", pd.DataFrame(rows)).mark_bar().encode(
        x=alt.X(**Q("share", "Share of runs"), scale=alt.Scale(domain=[0, 1]), axis=alt.Axis(format="%")),
        y=alt.Y(**N("outcome", None), sort=list(OUTCOMES)),
        yOffset=alt.YOffset(**N("run"), sort=labels),
        color=alt.Color(**N("run", "Run"), scale=alt.Scale(domain=labels, range=["#4c78a8", "#f58518"]),
                        legend=alt.Legend(orient="bottom", labelLimit=320)),
        tooltip=[alt.Tooltip(**N("run", "Run")), alt.Tooltip(**N("outcome", "Outcome")),
                 alt.Tooltip(**Q("runs", "Runs")), alt.Tooltip(**Q("share", "Share"), format=".1%")],
    ).properties(height=300, usermeta={"negsim": "compare_shares"})
    return fig


@quick
def sensitivity_chart(table: pd.DataFrame, label: str, now: float | None) -> Figure:
    """Share of runs per outcome along one varied setting (stacked areas in the outcome colours), with the
    value in use now marked by a dashed rule."""
    long = table.melt(id_vars=["value"], value_vars=list(OUTCOMES), var_name="outcome", value_name="share")
    long["order"] = long["outcome"].map({o: k for k, o in enumerate(OUTCOMES)})
    fig = Figure(None)
    x = alt.X(**Q("value", label), scale=alt.Scale(zero=False, nice=False))
    layers = [fig.use("shares", long).mark_area(opacity=0.85, interpolate="monotone").encode(
        x=x, y=alt.Y(**Q("share", "Share of runs"), stack="zero", scale=alt.Scale(domain=[0, 1]),
                     axis=alt.Axis(format="%")),
        color=alt.Color(**N("outcome", "Outcome"), scale=alt.Scale(domain=list(OUTCOMES),
                                                                   range=[OUTCOME_COLORS[o] for o in OUTCOMES])),
        order=alt.Order(field="order", type="quantitative"),
        tooltip=[alt.Tooltip(**Q("value", label), format=".3g"), alt.Tooltip(**N("outcome", "Outcome")),
                 alt.Tooltip(**Q("share", "Share"), format=".0%")])]
    if now is not None:
        marker = fig.use("now", {"value": [now], "label": [f"now: {now:g}"]})
        layers.append(marker.mark_rule(color="black", strokeDash=[6, 3], strokeWidth=2).encode(x=alt.X(**Q("value"))))
        layers.append(marker.mark_text(align="left", dx=4, dy=-6, baseline="bottom", fontWeight="bold").encode(
            x=alt.X(**Q("value")), y=alt.YValue(0), text=alt.Text(**N("label"))))
    fig.chart = layers
    fig.layout = {"height": 340, "usermeta": {"negsim": "sensitivity", "now": now},
                  "title": alt.Title(label, anchor="start", subtitle="How often each outcome happens along the range")}
    return fig
