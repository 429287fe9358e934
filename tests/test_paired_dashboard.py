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
    assert float(breakdown["B - A (points)"]) == pytest.approx(100 * expected.loc["breakdown", "difference"], abs=0.1)
    assert breakdown["95 % interval"] == (f"[{service.points(expected.loc['breakdown', 'low'], 1)}, "
                                          f"{service.points(expected.loc['breakdown', 'high'], 1)}]")
    changed = service.changed_outcomes(a, b)
    assert f"{changed} of 40 seeds" in texts(app)
    assert any("paired seeds" in line for line in texts(app).splitlines()) or changed == 0


def _number(text: str) -> float:
    return float(text.split()[0].rstrip("%"))


def test_compare_shows_every_number_the_same_way_in_every_table(app, baseline):
    """Hostile test of issue 23: the Wilson row said "48 % [41, 54]" where the paired table said 47.5 % vs 48.5 %
    (+1.0 point), agreement was "2 %" in one table and "1.5%" in the other, and final tension 0.27 vs 0.24 had the
    difference -0.04. Every share is now shown with one decimal in every table and line, and every difference is
    the one of the two numbers shown beside it."""
    import re

    ok(app.switch_page("routes/compare.py").run())
    outcomes = next(f.value for f in app.dataframe if "Difference (B - A)" in f.value.columns
                    and "Final tension" in set(f.value[""]))
    a_col, b_col = [c for c in outcomes.columns if c not in ("", "Difference (B - A)")]
    for row in outcomes.itertuples(index=False):
        name, a, b, diff = row
        if name == "Final tension" or name.startswith("Utility"):
            digits = len(a.split(".")[1])
            assert len(b.split(".")[1]) == digits == len(diff.split(".")[1]), row
            assert float(diff) == pytest.approx(float(b) - float(a), abs=1e-9), row
    ok(app.number_input(key="negsim.cmp_mc_runs").set_value(30).run())   # 30 seeds: shares are not x.5 %
    ok(button(app, "Run both batches").click().run())
    paired = next(f.value for f in app.dataframe if "B - A (points)" in f.value.columns).set_index("")
    wilson = next(f.value for f in app.dataframe if "Run" in f.value.columns).reset_index(drop=True)
    from dashboard.common import OUTCOME_WORDS

    for outcome in (OUTCOME_WORDS[o] for o in ("agreement", "partial", "stalemate", "breakdown")):
        row = paired.loc[outcome]
        for side, k in (("A", 0), ("B", 1)):
            shown = wilson.loc[k, outcome]                        # '47.5 % [40.6, 54.4]'
            assert shown.startswith(row[side] + " ["), (outcome, shown, row[side])
            assert re.fullmatch(r"\d+\.\d % \[\d+\.\d+, \d+\.\d+\]", shown), shown
        assert re.fullmatch(r"\d+\.\d %", row["A"]) and re.fullmatch(r"\d+\.\d %", row["B"]), row
        diff = 0.0 if row["B - A (points)"] == "0" else float(row["B - A (points)"])
        assert diff == pytest.approx(_number(row["B"]) - _number(row["A"]), abs=1e-9), row
    for line in texts(app).splitlines():             # the lines above the table: the same differences
        match = re.match(r"(\w+) ([+-][\d.]+) points? \[", line.lstrip("- "))
        if match and match.group(1) in ("agreement", "partial", "stalemate", "breakdown"):
            assert match.group(2) == paired.loc[OUTCOME_WORDS[match.group(1)], "B - A (points)"], line


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
    assert row["95 % interval"] == (f"{service.percent(expected.loc['breakdown', 'low'])} – "
                                    f"{service.percent(expected.loc['breakdown', 'high'])} %")

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
    assert breakdown["95 % interval"] == f"{service.percent(expected.low)} – {service.percent(expected.high)} %"


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


def test_sensitivity_counts_the_reference_runs_and_says_one_seed(app, baseline):
    """Hostile test of issue 23: the progress text left out the runs of the value in use now (the reference) that
    its "Playing N runs" counted, and one seed per value read "over 1 seeds"."""
    from dashboard.views.sensitivity import progress_text

    assert progress_text(0, 3, 10) == "The value in use now and 0 of 3 values played (10 of 40 runs)"
    assert progress_text(3, 3, 10).endswith("(40 of 40 runs)")
    heard = []
    service.vary_one(baseline, "actors.russia.capability", [1.0, 1.5], 2,
                     progress=lambda done, total: heard.append((done, total)))
    assert heard == [(0, 2), (1, 2), (2, 2)]           # the reference is heard of too
    ok(app.switch_page("routes/sensitivity.py").run())
    ok(app.number_input(key="negsim.sens_points").set_value(3).run())
    ok(app.number_input(key="negsim.sens_replicates").set_value(1).run())
    assert "x 1 seed = 3 runs" in texts(app)
    ok(button(app, "Run the sensitivity sweep").click().run())
    assert "over 1 seed;" in texts(app) and "1 seeds" not in texts(app)
