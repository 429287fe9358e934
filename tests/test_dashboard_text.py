"""Labels, names and units of any text in the dashboard (issue 25, item 1): a `%` unit once crashed every slider
of its issue (`SyntaxError: [sprintf] unexpected placeholder`: the unit went into the slider's sprintf-js
format unescaped), `$...$` turned into LaTeX, `*` into emphasis. Sliders, messages and charts are built here
for random units and labels; each slider's format is parsed as sprintf-js parses it in the browser."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parent.parent
APP = ROOT / "dashboard" / "app.py"
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from dashboard import charts, common, editor, state  # noqa: E402
from dashboard.text import md, sprintf_literal  # noqa: E402
from sim import service  # noqa: E402
from sim.scenario import parse_scenario  # noqa: E402

# ---------------------------------------------------------------------- sprintf-js, as the slider reads its format
# The grammar of sprintf-js 1.1 (src/sprintf.js, `sprintf_parse`): text, '%%', or a placeholder; anything else
# starting with '%' throws "[sprintf] unexpected placeholder".
_TEXT = re.compile(r"[^%]+")
_MODULO = re.compile(r"%%")
_PLACEHOLDER = re.compile(r"%(?:([1-9]\d*)\$|\(([^)]+)\))?(\+)?(0|'[^$])?(-)?(\d+)?(?:\.(\d+))?([b-gijostTuvxX])")


def sprintf_placeholders(fmt: str) -> list[str]:
    """The placeholders of a sprintf-js format; raises ValueError where sprintf-js throws a SyntaxError."""
    out, rest = [], fmt
    while rest:
        for pattern, keep in ((_TEXT, False), (_MODULO, False), (_PLACEHOLDER, True)):
            match = pattern.match(rest)
            if match:
                if keep:
                    out.append(match.group(0))
                rest = rest[match.end():]
                break
        else:
            raise ValueError(f"[sprintf] unexpected placeholder in {fmt!r}")
    return out


def sprintf_number(fmt: str, value: float) -> str:
    """What the slider shows for `value` (the one number placeholder filled, '%%' as '%')."""
    (placeholder,) = sprintf_placeholders(fmt)
    head, tail = fmt.split(placeholder, 1)
    return head.replace("%%", "%") + (placeholder % value) + tail.replace("%%", "%")


def test_the_sprintf_parser_refuses_what_sprintf_js_refuses():
    assert sprintf_placeholders("%.1f") == ["%.1f"]
    assert sprintf_placeholders("%.1f %%") == ["%.1f"]
    with pytest.raises(ValueError):
        sprintf_placeholders("%.1f %")  # the bug: unit "%" unescaped
    with pytest.raises(ValueError):
        sprintf_placeholders("%.1f %{}")
    assert sprintf_placeholders("%.0f %d") == ["%.0f", "%d"]  # valid, but a second number is missing


# ---------------------------------------------------------------------- hostile text
NASTY = ["%", "%%", "% pts", "%s", "%d", "{}", "{0}", "$", "$x$", "US$", "*", "**bold**", "_x_", "`code`", "[a](b)",
         "# head", "1. one", "- item", "> quote", "<b>x</b>", "&amp;", ":smile:", ":red[x]", ":material/home:",
         "a|b", "~~s~~", "\\", "\\%", "€/t", "متر", "שקל", "קמ\"ש %", "\u202eevil", "ä ß 中文"]
texts = st.one_of(st.sampled_from(NASTY),
                  st.lists(st.sampled_from(NASTY + ["a", "b", " "]), min_size=1, max_size=4).map("".join),
                  st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=12))
label_texts = texts.filter(lambda t: t.strip() != "")


@given(unit=texts, step=st.sampled_from([0.01, 0.1, 0.5, 1.0, 2.0, 5.0, 10.0]), value=st.floats(0, 100))
def test_a_slider_format_has_one_number_and_shows_the_unit_as_written(unit, step, value):
    fmt = editor.fmt_for(step, unit)
    assert len(sprintf_placeholders(fmt)) == 1
    shown = sprintf_number(fmt, value)
    assert shown.endswith(f" {unit}" if unit else shown[-1])


@given(text=texts)
def test_markdown_escape_leaves_no_markup(text):
    escaped = md(text)
    unescaped = re.sub(r"\\(.)", r"\1", escaped)
    assert unescaped == " ".join(text.split())
    bare = re.sub(r"\\.", "", escaped)  # what is left once every escaped character is taken out
    assert not set(bare) & set("\\*_`[]{}$~|&"), escaped
    assert not re.search(r":\S", bare), escaped
    assert "\n" not in escaped
    assert "%" not in sprintf_literal(text).replace("%%", "")


# ---------------------------------------------------------------------- a scenario of hostile text, end to end
def hostile_scenario(unit: str, label: str, low: str, high: str, name_a: str, name_b: str, title: str):
    doc = {"id": "hostile", "title": title, "description": f"{label} costs $5 and $6 {unit}",
           "issues": [{"id": "tariffs", "label": label, "scale": {"min": 0, "max": 25, "unit": unit},
                       "low_label": low, "high_label": high},
                      {"id": "quota", "label": f"{label} 2", "low_label": high, "high_label": low}],
           "actors": [{"id": "a", "name": name_a, "positions": {"tariffs": 25, "quota": 10},
                       "saliences": {"tariffs": 0.8, "quota": 0.3}, "red_lines": {"tariffs": 10},
                       "outside_option": {"value": 0.2}},
                      {"id": "b", "name": name_b, "positions": {"tariffs": 0, "quota": 90},
                       "saliences": {"tariffs": 0.6, "quota": 0.5}, "allies": {}}],
           "protocol": {"max_rounds": 8, "seed": 3}}
    return parse_scenario(doc, "hostile.json")


def slider_formats(at: AppTest) -> list[str]:
    return [s.proto.format for s in at.slider]


def all_markdown(at: AppTest) -> str:
    parts = [e.value for kind in ("error", "warning", "info", "success", "markdown", "caption", "subheader")
             for e in at.get(kind)]
    parts += [w.label for w in (*at.slider, *at.toggle)] + [w.help or "" for w in at.slider]
    return "\n".join(str(p) for p in parts)


def check_page(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    formats = slider_formats(at)
    assert formats
    for fmt in formats:
        assert len(sprintf_placeholders(fmt)) == 1, fmt


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(unit=texts, label=label_texts, low=label_texts, high=label_texts, name_a=label_texts, name_b=label_texts,
       title=label_texts)
def test_sliders_messages_and_charts_of_any_text_work(unit, label, low, high, name_a, name_b, title):
    """Upload a scenario whose unit, labels, names and title are hostile text; the sidebar's sliders (Issues and
    Actors), the page's messages and the charts build with no error; every slider format is valid sprintf-js
    with one number; the text shows escaped wherever it is Markdown."""
    assume(name_a.strip() != name_b.strip())
    scenario = hostile_scenario(unit, label, low, high, name_a, name_b, title)
    data = json.dumps(scenario.model_dump(by_alias=True, exclude_none=True)).encode()
    at = AppTest.from_file(str(APP), default_timeout=60).run()
    at.file_uploader(key=state.UPLOAD).set_value(("hostile.json", data, "application/json")).run()
    check_page(at)
    assert at.session_state[state.CURRENT].source == "hostile.json"
    shown = all_markdown(at)
    assert md(name_a) in shown and md(low) in shown and md(title) in shown
    if unit:
        issue_formats = [f for f in slider_formats(at) if f != "%.2f"]
        assert issue_formats and all(f.endswith(sprintf_literal(" " + unit)) for f in issue_formats)
    next(b for b in at.button if b.label == "Run to the end").click().run()
    check_page(at)
    specs = [json.loads(e.proto.spec) for e in at.get("vega_lite_chart")]
    assert {s["usermeta"]["negsim"] for s in specs} >= {"positions", "tension", "utilities"}
    at.segmented_control(key=editor.SECTION).set_value("Actors").run()
    check_page(at)
    at.segmented_control(key=editor.SECTION).set_value("Rules").run()
    assert not at.exception


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(unit=texts, label=label_texts, low=label_texts, high=label_texts, name_a=label_texts, name_b=label_texts)
def test_charts_render_for_any_text(unit, label, low, high, name_a, name_b):
    """Every chart of a run renders (vl-convert runs the Vega-Lite spec as the browser would) and carries the
    names as written: Vega titles, legends and tooltips are plain text."""
    assume(name_a.strip() != name_b.strip())
    scenario = hostile_scenario(unit, label, low, high, name_a, name_b, "t")
    result = service.run_scenario(scenario, scenario.protocol.seed)
    figures = [charts.positions_chart(result, "tariffs"), charts.tension_chart(result), charts.utilities_chart(result)]
    for figure in figures:
        svg = charts.to_svg(figure, width=500)
        assert svg.startswith("<svg")
    legend = figures[0].frame("offers")["series"].unique().tolist()
    assert name_a in legend and name_b in legend
    kind, sentence = common.outcome_sentence(result)
    assert kind in ("success", "warning", "error", "info")
    assert "\n" not in md(label)


# ---------------------------------------------------------------------- Play keeps the speed it names (issue 25)
@pytest.mark.parametrize("speed", [0.5, 1.0, 2.0, 4.0, 10.0])
@pytest.mark.parametrize("draw_seconds", [0.0, 0.05, 0.3, 1.5])
def test_play_shows_the_rounds_per_second_it_names_however_slow_the_page(speed, draw_seconds):
    """Simulated: each page takes `draw_seconds` to draw, then waits as `play_schedule` says. After 20 s of
    playing, the round shown is the one due at that speed (the old loop slept 1/speed after each page: at
    10 rounds/s a page of 0.2 s gave about 3)."""
    now, shown, start = 100.0, 0, 100.0
    while now < start + 20.0:
        now += draw_seconds
        wait, shown = state.play_schedule(shown, start, 0, speed, now)
        now += wait
    due = (now - start) * speed
    assert due - 1 <= shown <= due + 1e-9


@pytest.mark.parametrize("seed", range(4))
def test_charts_draw_every_point_inside_their_axes_even_with_much_noise(seed):
    """No jitter or noise puts a line outside its axis (issue 25 saw Russia at ~102, a utility above 1): the
    charts draw the recorded offers, utilities and tension, which stay on their scales."""
    from sim.scenario import apply_params, load_scenario

    scenario = apply_params(load_scenario(ROOT / "scenarios" / "feb2022_baseline.yaml"), {"protocol.noise": 0.5})
    result = service.run_scenario(scenario, seed)
    for issue in scenario.issues:
        figure = charts.positions_chart(result, issue.id)
        domain = figure.spec()["layer"][0]["encoding"]["y"]["scale"]["domain"]
        for name in ("offers", "proposal"):
            values = figure.frame(name)["position"]
            assert values.between(*domain).all(), (issue.id, name, values.min(), values.max())
    assert charts.utilities_chart(result).frame("utilities")["utility"].between(0, 1).all()
    assert charts.tension_chart(result).frame("tension")["tension"].between(0, 1).all()


def test_analysis_and_new_sweep_pages_show_names_and_title_as_written():
    """Found by a hostile test: the Analysis page's Nash box and caption and the New sweep page's caption put
    actor names and the title into Markdown unescaped (`*EU*` came out italic, `$x$` as LaTeX)."""
    scenario = hostile_scenario("%", "Tariffs *x*", "low", "high", "U$ *A* {us}", "_B_ [l](http://x)",
                                "Evil *title* $x$ {0}")
    data = json.dumps(scenario.model_dump(by_alias=True, exclude_none=True)).encode()
    at = AppTest.from_file(str(APP), default_timeout=60).run()
    at.file_uploader(key=state.UPLOAD).set_value(("hostile.json", data, "application/json")).run()
    assert not at.exception
    at.switch_page("routes/analysis.py").run()
    assert not at.exception, [e.value for e in at.exception]
    nash = " ".join(str(e.value) for kind in ("success", "warning", "caption") for e in at.get(kind))
    assert "Nash bargaining point" in nash
    assert md("U$ *A* {us}") in nash and md("_B_ [l](http://x)") in nash, nash
    assert "*A*" not in nash.replace(md("U$ *A* {us}"), "")      # no unescaped copy of the name
    assert "over walking away" not in nash                          # the gain is over the walk-away utility
    at.switch_page("routes/new_sweep.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert md("Evil *title* $x$ {0}") in [str(c.value) for c in at.caption]


def test_one_name_for_the_reservation_utility_in_ui_docs_and_cli():
    """The reservation utility is the "walk-away utility" everywhere: the CLI's and the dashboard's why sentences
    once said "walk-away level" beside a column named "Walk-away utility" (a hostile test of issue 25, item 4)."""
    files = [*ROOT.glob("docs/*.md"), ROOT / "README.md", *ROOT.glob("sim/**/*.py"), *ROOT.glob("dashboard/**/*.py"),
             *ROOT.glob("dashboard/templates/*")]
    said = [str(f.relative_to(ROOT)) for f in files if "walk-away level" in f.read_text(encoding="utf-8").lower()]
    assert not said, said


def test_the_round_panel_says_its_walk_away_utility_was_drawn():
    """The per-actor panel compares the proposal's utility with the run's walk-away utility: drawn from its range
    when the sidebar draws the uncertain inputs, and then it says so (a hostile test of issue 25, item 4)."""
    at = AppTest.from_file(str(APP), default_timeout=60).run()
    next(b for b in at.button if b.label == "Run to the end").click().run()
    assert not at.exception
    panels = [m.value for m in at.markdown if "utility of the proposal on the table after round" in m.value]
    assert panels and all("(drawn for this run)" in p for p in panels), panels


def test_long_actor_names_put_the_utilities_legend_under_the_plot():
    """A hostile test of issue 25: with two names of 30-40 characters the half-width Utilities chart at 1280 px kept
    about 60 px for its plot beside the legend; long names now go under it. Short names keep the legend beside."""
    def orient(scenario) -> str | None:
        spec = charts.utilities_chart(service.run_scenario(scenario, 1)).spec()
        found = [layer["encoding"]["color"].get("legend") or {} for layer in spec["layer"]
                 if "color" in layer.get("encoding", {})]
        return found[0].get("orient")

    long = hostile_scenario("%", "Tariffs", "low", "high", "U$ <script>alert(2)</script> {us} 50%",
                            "الاتحاد الأوروبي *EU* % and more", "t")
    assert orient(long) == "bottom"
    short = hostile_scenario("%", "Tariffs", "low", "high", "United States", "European Union", "t")
    assert orient(short) != "bottom"
    svg = charts.to_svg(charts.utilities_chart(service.run_scenario(long, 1)), width=430)
    assert svg.startswith("<svg")
