"""The dashboard's comparisons are paired (issue 23): a slider move keeps every other drawn input, Compare plays
both sides with the same seeds and shows paired differences with 95 % intervals, and every share carries its
interval (Monte Carlo, Compare, Sensitivity)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from sim import service
from sim.scenario import with_protocol

ROOT = Path(__file__).resolve().parent.parent
APP = ROOT / "dashboard" / "app.py"
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from dashboard import state  # noqa: E402
from tests.test_dashboard import button, current, ok, result_of, run_to_end, texts  # noqa: E402


@pytest.fixture
def app() -> AppTest:
    return AppTest.from_file(str(APP), default_timeout=90).run()


def test_a_slider_move_keeps_every_other_drawn_input(app, baseline):
    run_to_end(app)
    before = result_of(app).inputs
    assert len(before) > 30
    w = state.WIDGET
    ok(app.selectbox(key="negsim.edit_issue").set_value("expansion").run())
    ok(app.slider(key=w + "actors.russia.red_lines.expansion").set_value(35.0).run())
    after = result_of(app)
    assert current(app).scenario.actor("russia").red_lines["expansion"] == 35
    moved = "actors.russia.red_lines.expansion"
    assert set(before) - set(after.inputs) == {moved}
    assert {p: v for p, v in before.items() if p != moved} == after.inputs     # 0 other draws changed
    label = next(e.label for e in app.expander if "This run drew" in e.label)
    assert f"{len(after.inputs)} the same as the file's run" in label
    assert f"{len(after.inputs)} of the {len(after.inputs)} inputs drawn here are the same on both sides" in texts(app)


def test_compare_shows_paired_differences_with_intervals(app, baseline):
    ok(app.switch_page("routes/compare.py").run())
    ok(app.number_input(key="negsim.cmp_mc_runs").set_value(40).run())
    ok(button(app, "Run both batches").click().run())
    a = service.monte_carlo(baseline, 40)
    other = with_protocol(baseline, linkage="issue_by_issue")      # B by default: the other linkage
    b = service.monte_carlo(other, 40, root_seed=baseline.protocol.seed)
    expected = service.paired_table(a, b).set_index("measure")
    table = next(f.value for f in app.dataframe if "B - A (points)" in f.value.columns)
    breakdown = table[table[""] == "Breakdown"].iloc[0]
    assert breakdown["B - A (points)"] == pytest.approx(round(100 * expected.loc["breakdown", "difference"], 1))
    assert breakdown["95 % interval"] == (f"[{service.points(expected.loc['breakdown', 'low'])}, "
                                          f"{service.points(expected.loc['breakdown', 'high'])}]")
    changed = service.changed_outcomes(a, b)
    assert f"{changed} of 40 seeds" in texts(app)
    assert any("paired seeds" in line for line in texts(app).splitlines()) or changed == 0


def test_monte_carlo_and_sensitivity_show_intervals(app, baseline):
    ok(app.switch_page("routes/monte_carlo.py").run())
    ok(app.number_input(key="negsim.mc_runs").set_value(30).run())
    ok(button(app, "Run the batch").click().run())
    assert all("95 %" in str(m.proto.delta) for m in app.metric if m.label != "Mean rounds")
    shares = next(f.value for f in app.dataframe if "95 % interval" in f.value.columns)
    runs = service.monte_carlo(baseline, 30)
    expected = service.share_intervals(runs).set_index("measure")
    row = shares[shares[""] == "Breakdown"].iloc[0]
    assert row["Share"] == pytest.approx(expected.loc["breakdown", "share"])
    assert row["95 % interval"] == (f"{100 * expected.loc['breakdown', 'low']:.0f} – "
                                    f"{100 * expected.loc['breakdown', 'high']:.0f} %")

    ok(app.switch_page("routes/sensitivity.py").run())
    ok(app.number_input(key="negsim.sens_points").set_value(3).run())
    ok(app.number_input(key="negsim.sens_replicates").set_value(10).run())
    ok(button(app, "Run the sensitivity sweep").click().run())
    table = next(f.value for f in app.dataframe if "Breakdown vs now" in f.value.columns)
    assert len(table) == 3 and "Seeds that changed outcome" in table.columns
    assert table["Breakdown"].str.contains(r"% \[").all()


def test_the_sweep_explorer_gives_every_share_its_interval(tmp_path):
    from dashboard import sweep_data
    from tests.test_dashboard import fake_sweep

    runs = fake_sweep(tmp_path / "s", failed=0)
    sweep = sweep_data.read_sweep(tmp_path / "s")
    x = sweep.parameters[0]
    table, _, _ = sweep_data.summarise(sweep, "breakdown", x)
    for row in table.itertuples():
        expected = service.wilson(round(row.value * row.runs), row.runs)
        assert (row.low, row.high) == (expected.low, expected.high) and row.low <= row.value <= row.high
    assert "low" not in sweep_data.summarise(sweep, "rounds", x)[0]
    at = AppTest.from_file(str(APP), default_timeout=90).run()
    ok(at.switch_page("routes/sweeps.py").run())
    ok(at.text_input(key="negsim.sweep_path").input(str(tmp_path / "s")).run())
    shares = next(f.value for f in at.dataframe if "Share of the successful runs" in f.value.columns)
    breakdown = shares[shares["Share of the successful runs"] == "breakdown"].iloc[0]
    expected = service.wilson(int((runs["outcome"] == "breakdown").sum()), len(runs))
    assert breakdown["Share"] == expected.share
    assert breakdown["95 % interval"] == f"{100 * expected.low:.0f} – {100 * expected.high:.0f} %"


def test_a_label_with_markdown_keeps_the_drawn_inputs_table_in_its_columns(app, baseline_doc):
    """An issue label with '|' (and an actor name with '*') once split the "This run drew" table: the drawn value
    showed under Coded and the coded one under Range. Every row has the header's columns, the words as written."""
    import json

    from tests.test_dashboard import upload

    doc = dict(baseline_doc)
    doc["issues"] = [{**issue, "label": "CBMs | transparency"} if issue["id"] == "cbm" else issue
                     for issue in doc["issues"]]
    doc["actors"] = [{**actor, "name": "E*U*"} if actor["id"] == "eu" else actor for actor in doc["actors"]]
    upload(app, "pipes.json", json.dumps(doc).encode())
    run_to_end(app)
    inputs = result_of(app).inputs
    table = next(m.value for m in app.markdown if m.value.startswith("| Setting | Drawn |"))
    rows = table.splitlines()
    columns = rows[0].count(" | ")
    assert all(row.replace("\\|", "").count(" | ") == columns for row in rows[2:]), table
    status_quo = next(row for row in rows if "`issues.cbm.status_quo`" in row)
    assert status_quo.startswith(r"| CBMs \| transparency - status quo | ")
    assert f"| {inputs['issues.cbm.status_quo']:.3g} |" in status_quo
    assert any(row.startswith(r"| E\*U\* - capability | ") for row in rows)
