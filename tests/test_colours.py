"""One actor colour map for every page (issue 25): the dashboard's charts, the HTML report's charts and the
classroom debrief give each actor the same colour (its place in the scenario), from a colour-blind-safe
palette; overlapping actors differ by dash and marker as well."""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from dashboard import charts, colours, report  # noqa: E402
from dashboard.classroom_views import common, debrief_view  # noqa: E402
from sim import service  # noqa: E402
from sim.classroom import Classroom  # noqa: E402
from sim.classroom import debrief as db  # noqa: E402
from sim.scenario import baseline  # noqa: E402
from tests.conftest import Clock  # noqa: E402
from tests.test_classroom import SCRIPT, play_round  # noqa: E402


def colour_map(encoding: dict) -> dict[str, str]:
    scale = encoding["color"]["scale"]
    return dict(zip(scale["domain"], scale["range"], strict=False))


def svg_legend(svg: str) -> dict[str, str]:
    """Label -> symbol colour of every legend entry of the SVGs drawn by vl-convert in `svg`."""
    entries = re.findall(r'role-legend-symbol.*?fill="(#[0-9A-Fa-f]{6})".*?role-legend-label.*?>([^<]+)</text>', svg)
    return {label: colour for colour, label in entries}


def layers(spec: dict) -> list[dict]:
    return spec.get("layer", [spec])


def relative_luminance(hex_colour: str) -> float:
    rgb = [int(hex_colour[k:k + 2], 16) / 255 for k in (1, 3, 5)]
    lin = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in rgb]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def test_the_palette_is_readable_on_white_and_has_no_grey():
    for colour in colours.ACTOR_COLOURS:
        contrast = 1.05 / (relative_luminance(colour) + 0.05)
        assert contrast >= 2.0, colour  # a line on white (WCAG's 3:1 is for text; none is yellow)
        r, g, b = (int(colour[k:k + 2], 16) for k in (1, 3, 5))
        assert max(r, g, b) - min(r, g, b) > 40, colour  # not a grey: greys are the proposal and forecasts
    assert len(set(colours.ACTOR_COLOURS)) == len(colours.ACTOR_COLOURS)


def test_the_same_actor_has_the_same_colour_on_every_page(tmp_path):
    scenario = baseline()
    expected = colours.actor_colours([a.name for a in scenario.actors])
    result = service.run_scenario(scenario, scenario.protocol.seed)
    seen = {}
    # the dashboard: offers, utilities, ranges, the comparison of two runs
    figures = [charts.positions_chart(result, "expansion"), charts.utilities_chart(result),
               charts.compare_positions_chart([result, result], ["A", "B"], "expansion")]
    for figure in figures:
        for layer in layers(figure.spec()):
            if "color" in layer.get("encoding", {}) and "scale" in layer["encoding"]["color"]:
                seen[str(figure.layout.get("usermeta") or layer.get("usermeta"))] = colour_map(layer["encoding"])
    # the HTML report draws the same figures
    html = report.html_report(result, figures[:2], {}, "feb2022_baseline.yaml")
    for name, colour in expected.items():
        assert colour.lower() in html.lower(), name
    # the classroom debrief
    cls = Classroom(tmp_path / "c.sqlite3", clock=Clock())
    state = cls.create_room(scenario, human_seats=["russia", "us"], max_rounds=2, timer_seconds=0)
    tokens = {a: cls.join(state.code, a, f"player {a}") for a in ("russia", "us")}
    cls.start(state.code, state.room.teacher_key)
    for r, moves in enumerate(SCRIPT[:2], start=1):
        play_round(cls, state.code, tokens, r, moves)
    state = cls.state(state.code)
    debrief = db.debrief(state, cls.model(state))
    chart = debrief_view.utilities_figure(state, debrief).to_dict(validate=False)
    seen["debrief"] = colour_map(chart["encoding"])
    # the classroom's issue charts: a student's seat (Russia), the teacher's console and the projector (no seat);
    # the seat type is the dot's shape, not its colour
    model = cls.model(state)
    offers, proposal = model.native(model.offers), model.native(model.proposal)
    for page, me in (("student", "russia"), ("teacher", None), ("presentation", None)):
        for j, issue in enumerate(scenario.issues):
            spec = common.issue_chart(state, j, offers[:, j], float(proposal[j]), False, me).to_dict(validate=False)
            dots = [layer for layer in spec["layer"] if layer["encoding"].get("color", {}).get("field") == "actor"]
            assert len(dots) == 1, (page, issue.id)
            seen[f"{page}/{issue.id}"] = colour_map(dots[0]["encoding"])
            assert dots[0]["encoding"]["shape"]["field"] == "seat"
    # the printable summary: its utilities chart, read from the SVG's legend (symbol colour -> label)
    html = db.summary_html(debrief)
    seen["summary"] = svg_legend(html)
    assert len(seen) >= 4 + 3 * len(scenario.issues) + 1
    for where, mapping in seen.items():
        assert {name: mapping[name].upper() for name in expected} == {n: c.upper() for n, c in expected.items()}, where
    # US and NATO (same offers in the baseline) differ by dash and marker too
    encoding = chart["encoding"]
    order = encoding["strokeDash"]["scale"]["domain"]
    us, nato = order.index("United States"), order.index("NATO")
    assert encoding["strokeDash"]["scale"]["range"][us] != encoding["strokeDash"]["scale"]["range"][nato]
    assert encoding["shape"]["scale"]["range"][us] != encoding["shape"]["scale"]["range"][nato]
    assert re.fullmatch(r"#[0-9A-Fa-f]{6}", expected["NATO"])
