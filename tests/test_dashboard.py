"""The Streamlit dashboard through `streamlit.testing.v1.AppTest`: every page and control, bad uploads shown as
errors with their field paths, and charts carrying the same numbers as `sim.service`.

Also the bargaining-space functions the Analysis page shows (`sim.core.spatial.pareto_front`, `nash_bargaining`, ...).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from altair.vegalite.v6.schema.core import TopLevelSpec
from streamlit.testing.v1 import AppTest

from sim import service
from sim.compile.arrays import profiles_of
from sim.core.spatial import (
    acceptable_ranges,
    bargaining_space,
    nash_bargaining,
    outcome_grid,
    outcome_utilities,
    pareto_front,
    zone_of_agreement,
)
from sim.core.utility import to_native
from sim.scenario import MAX_FILE_BYTES, apply_params, load_scenario, parse_text, with_protocol

ROOT = Path(__file__).resolve().parent.parent
APP = ROOT / "dashboard" / "app.py"
BASELINE_FILE = ROOT / "scenarios" / "feb2022_baseline.yaml"
EC_FILE = ROOT / "scenarios" / "ec_emissions_1994.csv"
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from dashboard import common, state, sweep_data  # noqa: E402

# ====================================================================== helpers (the `app` fixture: conftest)

def ok(at: AppTest) -> AppTest:
    """The script ran without an exception (a traceback would be a bug)."""
    assert not at.exception, [e.value for e in at.exception]
    return at


def button(at: AppTest, label: str):
    return next(b for b in at.button if b.label == label)


def metric(at: AppTest, label: str) -> str:
    return next(m for m in at.metric if m.label == label).value


def current(at: AppTest) -> state.Current:
    return at.session_state[state.CURRENT]


def charts(at: AppTest, name: str | None = None) -> list[tuple[dict, dict, dict[str, pd.DataFrame]]]:
    """(usermeta, spec, datasets) of every chart on the page (optionally only those named `name`)."""
    out = []
    for element in at.get("vega_lite_chart"):
        spec = json.loads(element.proto.spec)
        data = {d.name: pa.ipc.open_stream(d.data.data).read_pandas() for d in element.proto.datasets}
        meta = spec.get("usermeta", {})
        if name is None or meta.get("negsim") == name:
            out.append((meta, spec, data))
    return out


def texts(at: AppTest) -> str:
    parts = [e.value for kind in ("error", "warning", "info", "success", "markdown", "caption") for e in at.get(kind)]
    return "\n".join(str(p) for p in parts)


def result_of(at: AppTest) -> service.RunResult:
    cur = current(at)
    try:
        draw = bool(at.session_state[state.DRAW])
    except KeyError:
        draw = True
    return state.simulate(cur.key, state.END, cur.scenario, draw=draw)


def deadline(scenario) -> int:
    """The deadline a run of `scenario` with its own seed plays: drawn from its range where it has one."""
    return service.start(scenario, collect=False).spec.protocol.max_rounds


def run_to_end(at: AppTest) -> AppTest:
    return ok(button(at, "Run to the end").click().run())


# ====================================================================== the negotiation page
def test_first_load_shows_round_zero_with_intro_and_charts(app, baseline):
    ok(app)
    assert "negsim" in app.title[0].value
    assert app.subheader[0].value == baseline.title
    assert "February 2022" in app.markdown[0].value or "February 2022" in texts(app)
    assert f"Round 0 of at most {deadline(baseline)}" in app.info[0].value
    assert metric(app, "Round") == f"0 / {deadline(baseline)}"
    assert metric(app, "Outcome") == "Under way"
    names = [meta["negsim"] for meta, _, _ in charts(app)]
    assert names == ["positions"] * 3 + ["tension", "utilities"]
    # the opening positions are the file's
    _, _, data = charts(app, "positions")[0]
    first = data["offers"].set_index("series")["position"]
    assert first["Russia"] == baseline.actor("russia").positions["expansion"]
    assert first["United States"] == baseline.actor("us").positions["expansion"]
    # pole labels beside the sliders
    captions = " ".join(c.value for c in app.sidebar.caption)
    assert baseline.issue("expansion").low_label in captions and baseline.issue("expansion").high_label in captions


def test_run_to_the_end_matches_the_service(app, baseline):
    run_to_end(app)
    result = service.run_scenario(baseline)
    assert metric(app, "Round") == f"{result.rounds} / {result.scenario.protocol.max_rounds}"
    assert metric(app, "Outcome") == common.SHORT_WORDS[result.outcome]
    kind, sentence = common.outcome_sentence(result)
    assert getattr(app, kind)[0].value == sentence
    for meta, _, data in charts(app, "positions"):
        issue = meta["issue"]
        rows = result.history[result.history["issue"] == issue]
        np.testing.assert_allclose(data["offers"]["position"].to_numpy(), rows["position"].to_numpy())
        np.testing.assert_allclose(data["proposal"]["position"].to_numpy(),
                                   rows.drop_duplicates("round")["proposal"].to_numpy())
        baselines = data["baselines"]["value"].to_numpy()
        np.testing.assert_allclose(baselines, [result.issues[issue].weighted_mean,
                                               result.issues[issue].weighted_median])
        assert ("agreed" in data) == result.issues[issue].agreed
    _, _, tension = charts(app, "tension")[0]
    np.testing.assert_allclose(tension["tension"]["tension"].to_numpy(),
                               result.history.drop_duplicates("round")["tension"].to_numpy())
    assert list(tension) == ["tension", "events"]   # derived and shown: no breakdown threshold drawn; dated events
    assert list(tension["events"]["event"]) == [e["label"] for e in result.event_list()]
    _, _, utilities = charts(app, "utilities")[0]
    assert len(utilities["utilities"]) == (result.rounds + 1) * len(baseline.actors)
    # tables: status per issue, actors, log of moves
    status, actors, log = (d.value for d in app.dataframe[:3])
    assert list(status["Issue"]) == [i.label for i in baseline.issues]
    np.testing.assert_allclose(actors["Utility of the outcome"], [round(r.utility, 3) for r in result.actors.values()])
    assert len(log) == result.rounds * len(baseline.actors) * len(baseline.issues)
    h = result.history[result.history["round"] > 0]
    said = service.move_sentences(result.history, result.scenario, lambda v, issue: common.fmt(v, issue.scale.unit))
    assert list(log["Move"]) == list(pd.Series(said, index=result.history.index)[h.index])[::-1]   # latest first
    assert set(log["Move"][h["reason"].to_numpy()[::-1] != "met the proposal"]) <= set(h["reason"])
    assert list(log[log["Round"] == 7]["Date"].unique()) == ["2022-01-10"]      # the baseline's calendar
    assert button(app, "Run to the end").disabled and button(app, "Step one round").disabled


def test_step_one_round_and_reset(app, baseline):
    ok(button(app, "Step one round").click().run())
    assert metric(app, "Round") == f"1 / {deadline(baseline)}"
    assert f"Round 1 of at most {deadline(baseline)}" in app.info[0].value
    _, _, data = charts(app, "positions")[0]
    assert sorted(data["offers"]["round"].unique()) == [0, 1]
    ok(button(app, "Step one round").click().run())
    assert metric(app, "Round") == f"2 / {deadline(baseline)}"
    model = service.start(baseline)
    model.step()
    model.step()
    np.testing.assert_allclose(charts(app, "tension")[0][2]["tension"]["tension"].to_numpy(),
                               service.result_of(model).history.drop_duplicates("round")["tension"].to_numpy())
    ok(button(app, "Back to round 0").click().run())
    assert metric(app, "Round") == f"0 / {deadline(baseline)}"


def test_a_slider_change_reruns_the_talks(app, baseline):
    run_to_end(app)
    path = "actors.russia.positions.expansion"
    ok(app.slider(key=state.WIDGET + path).set_value(60.0).run())
    edited = apply_params(baseline, {path: 60.0})
    assert current(app).scenario == edited
    result = service.run_scenario(edited)
    assert metric(app, "Round") == f"{result.rounds} / {result.scenario.protocol.max_rounds}"
    _, _, data = charts(app, "positions")[0]
    assert data["offers"].query("round == 0 and series == 'Russia'")["position"].item() == 60.0
    np.testing.assert_allclose(data["offers"]["position"].to_numpy(),
                               result.history.query("issue == 'expansion'")["position"].to_numpy())
    assert any("You changed 1 setting" in e.label for e in app.sidebar.expander)
    # the change in words, not as a parameter path (issue 14)
    listed = " ".join(m.value for m in app.sidebar.markdown if "→" in m.value)   # not the uncertain inputs' list
    assert "Russia - position on NATO eastward expansion: 100 → **60**" in listed
    assert "actors.russia" not in listed
    # back to the file's value: no edit left
    ok(app.slider(key=state.WIDGET + path).set_value(100.0).run())
    assert current(app).edits == {}


def test_issue_controls_positions_saliences_red_lines(app, baseline):
    w = state.WIDGET
    ok(app.selectbox(key="negsim.edit_issue").set_value("missiles").run())
    ok(app.slider(key=w + "actors.us.positions.missiles").set_value(50.0).run())
    ok(app.slider(key=w + "actors.eu.saliences.missiles").set_value(0.9).run())
    # remove Russia's red line on expansion (it has none on missiles: switch the issue back)
    ok(app.selectbox(key="negsim.edit_issue").set_value("expansion").run())
    ok(app.toggle(key=w + "actors.russia.red_lines.expansion#on").set_value(False).run())
    assert w + "actors.russia.red_lines.expansion" not in [s.key for s in app.slider]
    # give the EU a red line and move it
    ok(app.toggle(key=w + "actors.eu.red_lines.expansion#on").set_value(True).run())
    ok(app.slider(key=w + "actors.eu.red_lines.expansion").set_value(40.0).run())
    scenario = current(app).scenario
    assert scenario.actor("us").positions["missiles"] == 50.0
    assert scenario.actor("eu").saliences["missiles"] == 0.9
    assert "expansion" not in scenario.actor("russia").red_lines
    assert scenario.actor("eu").red_lines == {"expansion": 40.0}
    assert current(app).edit_error is None


@pytest.mark.parametrize("kind, widgets", [
    ("conceder", ["actors.russia.strategy.exponent#conceder"]),
    ("tit_for_tat", ["actors.russia.strategy.reciprocity", "actors.russia.strategy.opening"]),
    ("hardliner", ["actors.russia.strategy.flexibility"]),
    ("linear", []),
])
def test_actor_controls_strategy_and_its_parameters(app, kind, widgets):
    w = state.WIDGET
    ok(app.segmented_control(key="negsim.section").set_value("Actors").run())
    ok(app.selectbox(key=w + "actors.russia.strategy.kind").set_value(kind).run())
    keys = [s.key for s in app.sidebar.slider]
    for widget in widgets:
        assert w + widget in keys
    for widget in widgets:
        slider = app.slider(key=w + widget)
        ok(slider.set_value(slider.max).run())
    strategy = current(app).scenario.actor("russia").strategy
    assert strategy.kind == kind
    assert current(app).edit_error is None
    if kind == "conceder":
        assert strategy.exponent == 10.0
    if kind == "tit_for_tat":
        assert (strategy.reciprocity, strategy.opening) == (3.0, 1.0)
    if kind == "hardliner":
        assert strategy.flexibility == 1.0
    run_to_end(app)


def test_actor_controls_capability_walk_away_risk_cohesion(app, baseline):
    w = state.WIDGET
    ok(app.segmented_control(key="negsim.section").set_value("Actors").run())
    ok(app.selectbox(key="negsim.edit_actor").set_value("eu").run())
    ok(app.slider(key=w + "actors.eu.capability").set_value(0.9).run())
    ok(app.slider(key=w + "actors.eu.reservation_utility").set_value(0.3).run())
    ok(app.slider(key=w + "actors.eu.risk_attitude").set_value(0.5).run())
    ok(app.slider(key=w + "actors.eu.allies.nato").set_value(0.25).run())
    ok(app.selectbox(key=w + "actors.eu.strategy.kind").set_value("boulware").run())
    ok(app.slider(key=w + "actors.eu.strategy.exponent#boulware").set_value(0.5).run())
    eu = current(app).scenario.actor("eu")
    assert (eu.capability, eu.reservation_utility, eu.risk_attitude) == (0.9, 0.3, 0.5)
    assert eu.allies == {"us": 0.5, "nato": 0.25}
    assert (eu.strategy.kind, eu.strategy.exponent) == ("boulware", 0.5)
    assert len(current(app).edits) == 6


def test_invalid_edits_show_every_problem_with_its_path(app, baseline):
    w = state.WIDGET
    ok(app.segmented_control(key="negsim.section").set_value("Actors").run())
    ok(app.selectbox(key="negsim.edit_actor").set_value("eu").run())
    ok(app.slider(key=w + "actors.eu.allies.nato").set_value(0.8).run())  # with US 0.5: 1.3 > 1
    message = app.error[0].value
    assert "actors.eu.allies" in message and "must sum to <= 1" in message
    assert current(app).scenario == baseline  # the last valid settings are shown
    assert metric(app, "Round") == f"0 / {deadline(baseline)}"


def test_rule_controls(app, baseline):
    w = state.WIDGET
    ok(app.segmented_control(key="negsim.section").set_value("Rules").run())
    ok(app.radio(key=w + "protocol.linkage").set_value("issue_by_issue").run())
    ok(app.selectbox(key=w + "protocol.activation").set_value("random").run())
    for path, value in [("protocol.max_rounds", 30), ("protocol.agreement_tolerance", 0.1), ("protocol.noise", 0.05),
                        ("protocol.tension.initial", 0.4), ("protocol.tension.deadlock_rate", 0.05),
                        ("protocol.tension.hardline_rate", 0.02), ("protocol.tension.concession_relief", 2.0),
                        ("protocol.tension.agreement_relief", 0.2), ("protocol.tension.hardening", 0.3)]:
        ok(app.slider(key=w + path).set_value(value).run())
    ok(app.number_input(key=w + "protocol.seed").set_value(7).run())
    p = current(app).scenario.protocol
    assert (p.linkage, p.activation, p.max_rounds, p.seed) == ("issue_by_issue", "random", 30, 7)
    assert (p.agreement_tolerance, p.noise, p.tension.deadlock_rate) == (0.1, 0.05, 0.05)
    assert (p.tension.initial, p.tension.hardening) == (0.4, 0.3)
    assert not any("breakdown_threshold" in s.key or "drift" in s.key for s in app.sidebar.slider)
    run_to_end(app)
    result = service.run_scenario(current(app).scenario)
    assert metric(app, "Round") == f"{result.rounds} / 30"
    # the expected-utility mechanism brings its own parameters
    ok(app.radio(key=w + "protocol.mechanism").set_value("expected_utility").run())
    ok(app.slider(key=w + "protocol.expected_utility.status_quo_probability").set_value(0.5).run())
    ok(app.selectbox(key=w + "protocol.expected_utility.selection").set_value("least_move").run())
    ok(app.selectbox(key=w + "protocol.expected_utility.normalisation").set_value("pair").run())
    ok(app.slider(key=w + "protocol.expected_utility.t_weight").set_value(0.5).run())
    eu = current(app).scenario.protocol.expected_utility
    assert (eu.status_quo_probability, eu.t_weight, eu.selection, eu.normalisation) == (0.5, 0.5, "least_move", "pair")
    assert "Expected-utility forecast" in app.dataframe[0].value.columns


def test_reset_to_file_undoes_every_edit(app, baseline):
    ok(app.slider(key=state.WIDGET + "actors.russia.positions.expansion").set_value(50.0).run())
    ok(app.slider(key=state.WIDGET + "actors.us.saliences.expansion").set_value(0.2).run())
    assert len(current(app).edits) == 2
    ok(next(b for b in app.sidebar.button if b.label == "Undo my changes").click().run())
    assert current(app).edits == {}
    assert current(app).scenario == baseline
    # the widgets come back under new keys (new identities in the browser) showing the file's values
    assert app.slider(key=state.widget_key("actors.russia.positions.expansion", 1)).value == 100.0
    assert app.slider(key=state.widget_key("actors.us.saliences.expansion", 1)).value == 0.9


def test_pick_another_scenario_file(app):
    ok(app.segmented_control(key="negsim.section").set_value("Rules").run())
    ok(app.selectbox(key=state.FILE).set_value(EC_FILE.name).run())
    scenario = current(app).scenario
    # spatial-model data run with the expected-utility mechanism they were made for (issue 14)
    assert scenario == with_protocol(load_scenario(EC_FILE), mechanism="expected_utility")
    assert app.radio(key=state.widget_key("protocol.mechanism", 1)).value == "expected_utility"
    assert current(app).edits == {}
    # the rule widgets were rebuilt with the new file's values
    assert app.number_input(key=state.widget_key("protocol.seed", 1)).value == scenario.protocol.seed
    assert len(charts(app, "positions")) == 1
    run_to_end(app)
    assert metric(app, "Outcome") != "Under way"


# ====================================================================== uploads
def upload(at: AppTest, name: str, data: bytes) -> AppTest:
    return ok(at.file_uploader(key=state.UPLOAD).set_value((name, data, "application/octet-stream")).run())


def test_upload_a_valid_scenario(app, baseline):
    edited = apply_params(baseline, {"actors.russia.positions.expansion": 70.0})
    doc = edited.model_dump(by_alias=True, exclude_none=True)
    doc["title"] = "My variant"
    upload(app, "variant.json", json.dumps(doc).encode())
    assert app.subheader[0].value == "My variant"
    assert current(app).source == "variant.json"
    assert charts(app, "positions")[0][2]["offers"].query("series == 'Russia'")["position"].item() == 70.0
    run_to_end(app)


@pytest.mark.parametrize("name, data, expected", [
    ("bad.yaml", BASELINE_FILE.read_bytes().replace(b"capability: 0.8 ", b"capability: -1 ")
     .replace(b"missiles: 95 ", b"missiles: lots "),
     ["`actors.russia.capability`: must be > 0", "`actors.russia.positions.missiles`: must be a number"]),
    ("bad.yaml", b"id: x\ntitle: [unclosed\n", ["YAML syntax error"]),
    ("bad.json", b'{"id": "x",}', ["JSON syntax error at line 1"]),
    ("bad.csv", b"Name,Power\nA,1\n", ["unrecognised CSV layout"]),
    ("bad.yaml", b"\x00\x01\x02binary", ["not a text file"]),
    ("big.yaml", b"#" * (MAX_FILE_BYTES + 1), ["file too large"]),
    ("empty.yaml", b"   \n", ["file is empty"]),
])
def test_a_bad_upload_shows_its_problems_not_a_traceback(app, baseline, name, data, expected):
    upload(app, name, data)
    message = app.error[0].value
    assert "Could not use the uploaded file" in message and name in message
    for text in expected:
        assert text in message
    assert current(app).scenario == baseline  # the page keeps showing the picked file
    assert len(charts(app, "positions")) == 3


def test_upload_a_spatial_model_csv(app):
    upload(app, "ec.csv", EC_FILE.read_bytes())
    assert len(current(app).scenario.actors) == 10
    assert current(app).scenario.protocol.mechanism == "expected_utility"
    assert current(app).edits == {}  # a default of the source, not an edit: "Undo my changes" keeps it
    assert "expected-utility model" in texts(app)
    run_to_end(app)
    assert result_of(app).mechanism == "expected_utility"


# ====================================================================== downloads
def test_downloads_carry_the_run_and_the_edited_scenario(app, baseline, tmp_path):
    run_to_end(app)
    ok(app.selectbox(key="negsim.edit_issue").set_value("cbm").run())
    ok(app.slider(key=state.WIDGET + "actors.nato.positions.cbm").set_value(80.0).run())
    labels = [b.label for b in app.get("download_button")]
    assert {"Round history (CSV)", "Outcome (JSON)", "Edited scenario (YAML)", "Save YAML"} <= set(labels)
    scenario = current(app).scenario
    result = service.run_scenario(scenario)
    history = pd.read_csv(pd.io.common.StringIO(common.history_csv(result)))
    assert list(history.columns[:4]) == ["round", "actor", "issue", "position"]
    assert len(history) == len(result.history)
    assert json.loads(common.outcome_json(result)) == json.loads(json.dumps(result.to_dict()))
    text = common.scenario_yaml(scenario)
    assert parse_text(text, "yaml") == scenario
    path = tmp_path / "edited.yaml"
    path.write_text(text)
    done = subprocess.run([sys.executable, "-m", "sim", "validate", str(path)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


# ====================================================================== analysis page
def test_analysis_page_ranges_pareto_nash_forecasts(app, baseline):
    ok(app.switch_page("routes/analysis.py").run())
    profiles, low, high = profiles_of(baseline)
    lo, hi = acceptable_ranges(profiles)
    _, _, exists = zone_of_agreement(lo, hi)
    ranges = charts(app, "ranges")
    assert [m["issue"] for m, _, _ in ranges] == baseline.issue_ids
    for j, (_, _, data) in enumerate(ranges):
        np.testing.assert_allclose(data["ranges"]["low"], to_native(lo, low, high)[:, j])
        np.testing.assert_allclose(data["ranges"]["high"], to_native(hi, low, high)[:, j])
        assert ("zone" in data) == bool(exists[j])
    zopa = app.dataframe[0].value
    assert zopa["Zone of possible agreement"][0].startswith("no zone of agreement: Russia accepts nothing below 75")
    # Russia and the US: no deal respects both red lines
    (meta, _, data), = charts(app, "pareto")
    assert meta["actors"] == ["Russia", "United States"]
    assert "No Nash bargaining point" in app.warning[0].value
    space = bargaining_space(profiles, 0, 1)
    assert data["frontier"].shape[0] == space.frontier.sum()
    result = service.run_scenario(baseline)
    marked = data["marked"].set_index("what")
    assert marked.loc["simulated outcome", "ua"] == pytest.approx(result.actors["russia"].utility)
    # without red lines a Nash point exists and is marked
    ok(app.toggle(key="negsim.pareto_red_lines").set_value(False).run())
    assert "Nash bargaining point" in app.success[0].value
    (_, _, data), = charts(app, "pareto")
    space = bargaining_space(profiles, 0, 1, red_lines=False)
    nash = data["marked"].set_index("what").loc["Nash bargaining point"]
    np.testing.assert_allclose([nash["ua"], nash["ub"]], space.utilities[space.nash])
    # another pair
    ok(app.selectbox(key="negsim.pareto_b").set_value("eu").run())
    assert charts(app, "pareto")[0][0]["actors"] == ["Russia", "European Union"]
    ok(app.selectbox(key="negsim.pareto_b").set_value("russia").run())
    assert "Choose two different actors" in app.warning[0].value
    forecasts = app.dataframe[-2].value
    assert list(forecasts["Weighted mean"]) == [common.fmt(r.weighted_mean) for r in result.issues.values()]


def test_analysis_page_shows_every_forecasting_model_with_its_interval_as_negsim_forecast(app, baseline):
    from sim.forecasting import MODELS
    from sim.forecasting.scenario import forecast_table

    ok(app.switch_page("routes/analysis.py").run())
    shown = app.dataframe[-1].value
    expected = forecast_table(baseline, runs=state.FORECAST_RUNS)
    assert list(shown["Issue"]) == [row.label for row in expected]
    for k, row in enumerate(expected):
        for name in MODELS.names:
            f = row.forecasts[name]
            assert shown[name][k] == f"{common.fmt(f.value)} [{common.fmt(f.low)}, {common.fmt(f.high)}]"
        share = service.wilson(round(row.simulated.agreed * state.FORECAST_RUNS), state.FORECAST_RUNS)
        assert shown["Simulated: agreed"][k] == f"{service.describe_share(share)} of {state.FORECAST_RUNS} runs"


# ====================================================================== Monte Carlo page
def test_monte_carlo_page(app, baseline):
    ok(app.switch_page("routes/monte_carlo.py").run())
    assert "Press **Run the batch**" in texts(app)
    ok(app.number_input(key="negsim.mc_runs").set_value(12).run())
    ok(button(app, "Run the batch").click().run())
    assert app.get("progress")[0].proto.value == 100
    runs = service.monte_carlo(baseline, 12)
    (_, _, data), = charts(app, "mc_outcomes")
    shares = data["shares"].set_index("outcome")["share"]
    assert shares.sum() == pytest.approx(1.0)
    for outcome, share in runs["outcome"].value_counts(normalize=True).items():
        assert shares[outcome] == pytest.approx(share)
    for issue in baseline.issues:
        agreed = runs[f"agreed.{issue.id}"].astype(bool)
        found = [d for m, _, d in charts(app, "mc_values") if m["issue"] == issue.id]
        if agreed.any():
            np.testing.assert_allclose(sorted(found[0]["values"]["value"]),
                                       sorted(runs.loc[agreed, f"value.{issue.id}"]))
        else:
            assert not found and f"Never agreed in {len(runs)} runs." in texts(app)
    frames = [frame.value.reset_index(drop=True) for frame in app.dataframe]
    pd.testing.assert_frame_equal(frames[-1], runs, check_dtype=False)
    # the drawn assumptions that go with the outcomes, strongest first, as `negsim analyze` ranks them
    from sim.sweep.analyze import assumption_influence

    expected = assumption_influence(runs).groupby("output", sort=False).head(6)     # six per outcome
    shown = next(frame for frame in frames if "Drawn input" in frame.columns)
    assert len(expected) and list(shown["Path"]) == list(expected["input"])
    from sim.scenario import label

    assert list(shown["Drawn input"]) == [label(current(app).scenario, p) for p in expected["input"]]   # in words
    np.testing.assert_allclose(shown["ρ"], expected["spearman"])
    assert list(shown["Distinct draws"]) == list(expected["draws"])
    for word, third in (("lowest", "low_third"), ("highest", "high_third")):     # each share: interval and runs
        assert list(shown[f"In the {word} third"]) == [
            f"{service.describe_share(service.wilson(round(share * n), int(n)))} of {int(n)} run{'s' * (n != 1)}"
            for share, n in zip(expected[f"share_{third}"], expected[f"runs_{third}"], strict=True)]
    # a change of settings asks for a new batch
    ok(app.slider(key=state.WIDGET + "actors.russia.positions.expansion").set_value(90.0).run())
    assert "settings changed" in app.warning[0].value


def test_monte_carlo_without_randomness_says_so(app):
    ok(app.checkbox(key=state.DRAW_BOX).uncheck().run())   # the uncertain inputs as coded: no draws either
    ok(app.segmented_control(key="negsim.section").set_value("Rules").run())
    ok(app.slider(key=state.WIDGET + "protocol.noise").set_value(0.0).run())
    ok(app.switch_page("routes/monte_carlo.py").run())
    assert "no randomness" in app.info[0].value


# ====================================================================== sweep explorer page
def fake_sweep(directory: Path, failed: int = 1) -> pd.DataFrame:
    """A small sweep directory with the layout `negsim sweep` writes (runs.parquet + manifest.json)."""
    directory.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    rows = []
    run_id = 0
    for threshold in (0.2, 0.3, 0.4):
        for rounds in (10, 20):
            for replicate in range(4):
                outcome = rng.choice(["agreement", "partial", "stalemate", "breakdown"])
                rows.append({"run_id": run_id, "actors.russia.outside_option.value": threshold,
                             "protocol.max_rounds": rounds, "replicate": replicate, "seed": 100 + replicate,
                             "outcome": outcome, "rounds": int(rng.integers(1, rounds + 1)),
                             "tension": float(rng.random()), "agreed.cbm": outcome == "agreement",
                             "value.cbm": float(rng.random() * 100) if outcome == "agreement" else np.nan,
                             "utility.russia": float(rng.random()), "error": None})
                run_id += 1
    runs = pd.DataFrame(rows)
    runs.loc[runs.index[:failed], "error"] = "ValueError: boom"
    runs.to_parquet(directory / "runs.parquet")
    manifest = {"format": "negsim-sweep/1", "design": {
        "scenario_id": "feb2022_baseline", "sampler": "grid", "replicates": 4, "n_points": 6, "n_runs": len(runs),
        "factors": [{"path": "actors.russia.outside_option.value", "kind": "values", "dtype": "float",
                     "values": [0.2, 0.3, 0.4]},
                    {"path": "protocol.max_rounds", "kind": "values", "dtype": "int", "values": [10, 20]}]},
        "status": {"complete": True}}
    (directory / "manifest.json").write_text(json.dumps(manifest))
    return runs


def test_sweep_explorer_heatmap_distributions_downloads(app, tmp_path, monkeypatch):
    runs = fake_sweep(tmp_path / "sweep")
    monkeypatch.setattr("dashboard.sweep_data.discover", lambda *args, **kwargs: [])  # the repo's sweeps/ aside
    ok(app.switch_page("routes/sweeps.py").run())
    assert "No sweep directory chosen yet" in app.info[0].value
    ok(app.text_input(key="negsim.sweep_path").input(str(tmp_path / "sweep")).run())
    assert metric(app, "Runs") == f"{len(runs):,}"
    assert metric(app, "Failed runs") == "1"
    finished = runs[runs["error"].isna()]
    (meta, _, data), = charts(app, "sweep_heatmap")
    assert (meta["x"], meta["y"]) == ("actors.russia.outside_option.value", "protocol.max_rounds")
    cells = data["cells"].set_index(["x_label", "y_label"])
    expected = finished.assign(hit=finished["outcome"] == "agreement").groupby(
        ["actors.russia.outside_option.value", "protocol.max_rounds"])["hit"].mean()
    for (x, y), value in expected.items():
        assert cells.loc[(f"{x:g}", f"{y:g}"), "value"] == pytest.approx(value)
    # another metric, the axes swapped, a distribution of another column
    ok(app.selectbox(key="negsim.sweep_metric").set_value("rounds").run())
    ok(app.selectbox(key="negsim.sweep_x").set_value("protocol.max_rounds").run())
    (meta, _, data), = charts(app, "sweep_heatmap")
    assert meta["x"] == "protocol.max_rounds"
    assert data["cells"]["value"].mean() == pytest.approx(
        finished.groupby(["protocol.max_rounds", "actors.russia.outside_option.value"])["rounds"].mean().mean())
    ok(app.selectbox(key="negsim.sweep_column").set_value("value.cbm").run())
    (meta, _, data), = charts(app, "sweep_distribution")
    assert meta["column"] == "value.cbm" and len(data["runs"]) == finished["value.cbm"].notna().sum()
    (_, _, shares), = charts(app, "sweep_outcomes")
    assert shares["shares"]["runs"].sum() == len(finished)
    assert {"All runs (CSV)", "This summary (CSV)"} <= {b.label for b in app.get("download_button")}


def test_sweep_explorer_one_parameter_and_continuous_bins(tmp_path):
    runs = fake_sweep(tmp_path / "s", failed=0)
    runs = runs.drop(columns=["protocol.max_rounds"])
    runs["protocol.noise"] = np.linspace(0, 0.2, len(runs))
    runs.to_parquet(tmp_path / "s" / "runs.parquet")
    (tmp_path / "s" / "manifest.json").write_text(json.dumps({"format": "negsim-sweep/1"}))
    sweep = sweep_data.read_sweep(tmp_path / "s")
    assert sweep.parameters == ["actors.russia.outside_option.value", "protocol.noise"]  # inferred: no design
    table, order, _ = sweep_data.summarise(sweep, "agreement", "protocol.noise")
    assert len(order) == sweep_data.BINS and table["runs"].sum() == len(runs)
    at = AppTest.from_file(str(APP), default_timeout=60).run()
    ok(at.switch_page("routes/sweeps.py").run())
    ok(at.text_input(key="negsim.sweep_path").input(str(tmp_path / "s")).run())
    assert charts(at, "sweep_heatmap")


@pytest.mark.parametrize("make, message", [
    (lambda p: p / "missing", "no such directory"),
    (lambda p: p, "no runs.parquet here"),
    (lambda p: (p / "runs.parquet").write_bytes(b"not parquet") and p, "cannot read it"),
])
def test_sweep_explorer_bad_directories(app, tmp_path, make, message):
    path = make(tmp_path)
    ok(app.switch_page("routes/sweeps.py").run())
    ok(app.text_input(key="negsim.sweep_path").input(str(path)).run())
    assert message in app.error[0].value


# ====================================================================== sessions, caching, chart specs
def test_sessions_are_independent(baseline):
    one = AppTest.from_file(str(APP), default_timeout=60).run()
    two = AppTest.from_file(str(APP), default_timeout=60).run()
    ok(one.slider(key=state.WIDGET + "actors.russia.positions.expansion").set_value(10.0).run())
    run_to_end(one)
    ok(two.run())
    assert current(two).scenario == baseline and metric(two, "Round") == f"0 / {deadline(baseline)}"
    own = [ROOT / "dashboard" / name for name in ("app.py", "editor.py", "charts.py", "common.py",
                                                   "sweep_data.py")]
    own += [*(ROOT / "dashboard" / "views").glob("*.py"), *(ROOT / "dashboard" / "routes").glob("*.py"),
            *(ROOT / "dashboard" / "state").glob("*.py")]
    assert "cache_resource" not in "".join(p.read_text() for p in own)


def test_every_chart_spec_is_valid_vega_lite(app, tmp_path):
    """The dashboard skips Altair's validation at run time for speed; check the specs here instead."""
    fake_sweep(tmp_path / "sweep")
    run_to_end(app)
    specs = [spec for _, spec, _ in charts(app)]
    ok(app.switch_page("routes/analysis.py").run())
    ok(app.toggle(key="negsim.pareto_red_lines").set_value(False).run())
    specs += [spec for _, spec, _ in charts(app)]
    ok(app.switch_page("routes/monte_carlo.py").run())
    ok(app.number_input(key="negsim.mc_runs").set_value(10).run())
    ok(button(app, "Run the batch").click().run())
    specs += [spec for _, spec, _ in charts(app)]
    ok(app.switch_page("routes/sweeps.py").run())
    ok(app.text_input(key="negsim.sweep_path").input(str(tmp_path / "sweep")).run())
    specs += [spec for _, spec, _ in charts(app)]
    assert len(specs) >= 12
    for spec in specs:
        spec.pop("datasets", None)
        TopLevelSpec.validate(spec)


# ====================================================================== the bargaining-space functions
def test_outcome_grid_covers_the_box():
    grid = outcome_grid(3, 1000)
    assert grid.shape == (1000, 3) and grid.min() == 0.0 and grid.max() == 1.0
    assert outcome_grid(1, 50).shape == (50, 1)


def test_pareto_front_is_the_non_dominated_set():
    u = np.random.default_rng(1).random((400, 2))
    front = pareto_front(u)
    dominated = np.array([((u >= u[k]).all(axis=1) & (u > u[k]).any(axis=1)).any() for k in range(len(u))])
    assert (front == ~dominated).all()
    assert pareto_front(np.array([[0.5, 0.5], [0.5, 0.5]])).sum() == 1


def test_nash_point_maximises_the_product_of_gains():
    u = np.array([[0.9, 0.2], [0.6, 0.6], [0.3, 0.8], [0.1, 0.1]])
    assert nash_bargaining(u, np.array([0.1, 0.1])) == 1
    assert nash_bargaining(u, np.array([0.7, 0.0])) == 0
    assert nash_bargaining(u, np.array([0.95, 0.95])) is None
    assert nash_bargaining(u, np.array([0.0, 0.0]), feasible=np.array([True, False, True, True])) == 2


def test_bargaining_space_of_two_actors(baseline):
    profiles, _, _ = profiles_of(baseline)
    space = bargaining_space(profiles, 1, 3, max_points=5000)
    assert space.utilities.shape == (len(space.outcomes), 2)
    np.testing.assert_allclose(space.utilities, outcome_utilities(space.outcomes, profiles, (1, 3)))
    assert space.nash is not None and space.feasible[space.nash] and space.frontier[space.nash]
    gains = space.utilities - space.disagreement
    ok = space.feasible & (gains >= 0).all(axis=1)
    assert np.prod(gains[space.nash]) == pytest.approx(np.prod(gains[ok], axis=1).max())
    # each actor's ideal point is on the frontier and gives it utility 1
    assert space.frontier[-2] and space.frontier[-1]
    assert space.utilities[-2, 0] == pytest.approx(1.0) and space.utilities[-1, 1] == pytest.approx(1.0)


# ====================================================================== issue 14: charts that read right
def test_every_button_on_a_page_has_its_own_name(app):
    run_to_end(app)
    ok(app.slider(key=state.WIDGET + "actors.russia.positions.expansion").set_value(60.0).run())
    labels = [b.label for b in app.button] + [b.label for b in app.get("download_button")]
    assert len(labels) == len(set(labels)), labels
    assert {"Undo my changes", "Back to round 0"} <= set(labels)


def test_readable_change_list_names_actors_issues_rules_and_options(baseline):
    from dashboard.editor import changes_text

    changes = {"actors.us.saliences.missiles": 0.5, "protocol.linkage": "issue_by_issue",
               "actors.eu.strategy.kind": "boulware", "actors.eu.allies.nato": 0.25,
               "actors.russia.outside_option.trend": 0.02, "issues.cbm.status_quo": 25.0}
    bases = {"actors.us.saliences.missiles": 0.8, "protocol.linkage": "package", "actors.eu.strategy.kind": "linear",
             "actors.eu.allies.nato": 0.0, "actors.russia.outside_option.trend": 0.01, "issues.cbm.status_quo": 15}
    text = changes_text(baseline, changes, bases)
    lines = text.splitlines()
    assert lines[0] == "- United States - salience of Strike weapons and intermediate-range missiles in Europe: " \
                       "0.8 → **0.5**"
    assert "- Rules - linkage: Package → **Issue by issue**" in lines
    assert "- European Union - strategy, kind: Linear → **Boulware**" in lines
    assert "- European Union - follows NATO: 0 → **0.25**" in lines
    assert "- Russia - outside option, trend per round: 0.01 → **0.02**" in lines
    assert "- Risk reduction and confidence-building measures - status quo: 15 → **25**" in lines


def sweep_heatmap_scale(at: AppTest) -> dict:
    (_, spec, _), = charts(at, "sweep_heatmap")
    return next(layer for layer in spec["layer"] if layer["mark"]["type"] == "rect")["encoding"]["color"]["scale"]


def test_sweep_heatmap_colours_run_from_good_green_to_bad_red(app, tmp_path):
    fake_sweep(tmp_path / "sweep")
    ok(app.switch_page("routes/sweeps.py").run())
    ok(app.text_input(key="negsim.sweep_path").input(str(tmp_path / "sweep")).run())
    for metric_id, reverse in [("agreement", False), ("breakdown", True), ("tension", True)]:
        ok(app.selectbox(key="negsim.sweep_metric").set_value(metric_id).run())
        scale = sweep_heatmap_scale(app)
        # redyellowgreen runs red (0) -> green (1): reversed where a high value is bad, so 100 % breakdown is red
        assert scale["scheme"] == "redyellowgreen" and scale.get("reverse", False) is reverse, (metric_id, scale)
    ok(app.selectbox(key="negsim.sweep_metric").set_value("rounds").run())
    assert sweep_heatmap_scale(app)["scheme"] == "viridis"  # neither good nor bad


def test_a_categorical_one_parameter_sweep_is_drawn_as_bars(tmp_path):
    runs = fake_sweep(tmp_path / "s", failed=0).drop(columns=["actors.russia.outside_option.value",
                                                              "protocol.max_rounds"])
    runs["protocol.linkage"] = np.where(np.arange(len(runs)) % 2 == 0, "package", "issue_by_issue")
    runs.to_parquet(tmp_path / "s" / "runs.parquet")
    (tmp_path / "s" / "manifest.json").write_text(json.dumps({"format": "negsim-sweep/1"}))
    at = AppTest.from_file(str(APP), default_timeout=60).run()
    ok(at.switch_page("routes/sweeps.py").run())
    ok(at.text_input(key="negsim.sweep_path").input(str(tmp_path / "s")).run())
    (meta, spec, data), = charts(at, "sweep_line")
    assert meta["mark"] == "bar" and spec["mark"]["type"] == "bar"
    assert sorted(data["levels"]["x_label"]) == ["issue_by_issue", "package"]
    # a numeric parameter still gets a line
    runs["protocol.noise"] = np.linspace(0, 0.2, len(runs))
    runs.drop(columns=["protocol.linkage"]).to_parquet(tmp_path / "s" / "runs.parquet")
    at = AppTest.from_file(str(APP), default_timeout=60).run()
    ok(at.switch_page("routes/sweeps.py").run())
    ok(at.text_input(key="negsim.sweep_path").input(str(tmp_path / "s")).run())
    (meta, spec, _), = charts(at, "sweep_line")
    assert meta["mark"] == "line"


def test_monte_carlo_in_cached_parts_equals_the_service(baseline, monkeypatch):
    """The page's Monte Carlo is the service's loop (its parts cached by the dashboard), with the same numbers."""
    calls: list[int] = []
    real = service.monte_carlo
    monkeypatch.setattr(service, "monte_carlo",
                        lambda scenario, n, *a, **k: calls.append(n) or real(scenario, n, *a, **k))
    for scenario, n in [(baseline, 300), (with_protocol(baseline, mechanism="expected_utility"), 30)]:
        heard: list[int] = []
        runs = state.monte_carlo(scenario.model_dump_json(), n, scenario,
                                 _progress=lambda done, _total, heard=heard: heard.append(done))
        assert calls[-1] == n       # through the service
        pd.testing.assert_frame_equal(runs, real(scenario, n))
        assert heard[-1] == n and heard == sorted(heard)


def test_compare_page_reuses_a_monte_carlo_batch_of_the_monte_carlo_page(app):
    """Regression: the cached batch replayed the Monte Carlo page's progress bar on the Compare page."""
    ok(app.switch_page("routes/monte_carlo.py").run())
    ok(app.number_input(key="negsim.mc_runs").set_value(20).run())
    ok(button(app, "Run the batch").click().run())
    ok(app.switch_page("routes/compare.py").run())
    ok(app.number_input(key="negsim.cmp_mc_runs").set_value(20).run())
    ok(button(app, "Run both batches").click().run())
    assert charts(app, "compare_shares")


def test_monte_carlo_histograms_keep_short_axis_titles_and_wrapped_titles():
    """The histograms shrank to a hairline at 1280 px: the axis title carried both pole labels. Now it is short,
    the poles go in a subtitle, and titles and subtitles are wrapped onto short lines, never cut (checked in
    Chromium by tests/test_dashboard_upload_layout_browser.py)."""
    scenario = load_scenario(ROOT / "scenarios" / "feb2022_issue_by_issue.yaml")
    runs = service.monte_carlo(scenario, 20)
    from dashboard import charts as figures

    for issue in scenario.issues:
        values = runs.loc[runs[f"agreed.{issue.id}"].astype(bool), f"value.{issue.id}"]
        spec = figures.value_histogram(values, issue).spec()
        assert len(spec["encoding"]["x"]["title"]) <= 30
        title, subtitle = spec["title"]["text"], spec["title"]["subtitle"]
        assert "limit" not in spec["title"]
        assert all(len(line) <= figures.TITLE_CHARS for line in title)
        assert " ".join(title) == issue.label                                  # whole, not cut
        assert all(len(line) <= figures.SUBTITLE_CHARS or " " not in line for line in subtitle)
        assert issue.low_label in " ".join(subtitle) and issue.high_label in " ".join(subtitle)


def test_ten_actors_get_ten_colours_and_a_legend_that_shows_every_series():
    from dashboard import charts as figures

    scenario = with_protocol(load_scenario(EC_FILE), mechanism="expected_utility")
    result = service.run_scenario(scenario)
    spec = figures.positions_chart(result, "issue").spec()
    colour = spec["layer"][0]["encoding"]["color"]
    names = [a.name for a in scenario.actors]
    assert colour["scale"]["domain"][:10] == names
    assert len(set(colour["scale"]["range"])) == len(colour["scale"]["range"])  # no colour twice, no grey actor
    assert colour["legend"]["orient"] == "bottom" and colour["legend"]["symbolLimit"] == 0
    assert spec["height"] > 330  # room for the legend below the plot
    dashes = spec["layer"][0]["encoding"]["strokeDash"]["scale"]["range"]
    shapes = spec["layer"][0]["encoding"]["shape"]["scale"]["range"]
    assert all(dashes[k] != dashes[k + 1] for k in range(9))  # overlapping lines both show
    assert len(set(shapes[:10])) == 10
    utilities = figures.utilities_chart(result).spec()
    assert utilities["layer"][0]["encoding"]["color"]["legend"]["symbolLimit"] == 0


def test_forecast_labels_sit_off_the_lines(baseline):
    """The forecasts are named in the subtitle, not written on the plot where the lines run (issue 25)."""
    result = service.run_scenario(baseline, baseline.protocol.seed)
    spec = figures_of(result)[0].spec()
    texts_on_plot = [layer for layer in spec["layer"] if (layer.get("mark") or {}).get("type") == "text"]
    assert all("agreed" in str(layer) for layer in texts_on_plot)
    r = result.issues["expansion"]
    assert f"weighted mean {r.weighted_mean:.1f}" in spec["title"]["subtitle"][-1]


def figures_of(result):
    from dashboard import charts as figures

    return [figures.positions_chart(result, i.id) for i in result.scenario.issues]


def test_no_deploy_button_and_no_page_icon_from_a_cdn():
    import tomllib

    from streamlit.commands.page_config import _get_favicon_string

    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert config["client"]["toolbarMode"] == "minimal"  # hides Deploy
    assert "page_icon=PAGE_ICON" in APP.read_text()
    favicon = _get_favicon_string(common.PAGE_ICON)  # what the browser gets: inline, nothing to fetch
    assert favicon.startswith("data:image/svg+xml;base64,"), favicon[:60]


# ====================================================================== issue 14: why an issue settled or not
def test_stalemate_banner_explains_each_open_issue_with_the_services_why(baseline):
    """The banner explains every open issue with the service's own sentence (the CLI's), and never claims the
    offers never met where they met on some issue."""
    for scenario in (baseline, baseline.as_coded(), load_scenario(EC_FILE)):
        result = service.run_scenario(scenario)
        kind, text = common.outcome_sentence(result)
        assert "never met" not in text
        for issue_id, r in result.issues.items():
            assert r.why and common.issue_why(result, issue_id) == r.why
            if not r.agreed and result.outcome in ("stalemate", "partial"):
                assert r.why in text, (scenario.id, r.why, text)
        if result.outcome == "stalemate":
            assert kind == "warning" and "nobody walked away" in text and "threshold" not in text


def test_breakdown_banner_names_who_walked_away(baseline):
    walkout = apply_params(baseline.as_coded(), {"actors.russia.outside_option.value": 1.0})
    result = service.run_scenario(walkout, draw=False)
    assert result.outcome == "breakdown" and result.walked_out == ["russia"]
    kind, text = common.outcome_sentence(result)
    assert kind == "error" and "Russia walked away" in text and "outside option" in text
    assert "threshold" not in text and "never met" not in text
    assert all("Russia walked away" in r.why for r in result.issues.values() if not r.agreed)


def test_running_banner_calls_tension_derived(app):
    ok(button(app, "Step one round").click().run())
    assert "tension (derived: deadlock raises it, concessions lower it)" in app.info[0].value
    assert "breakdown at" not in app.info[0].value


def test_status_table_has_a_why_column(app, baseline):
    run_to_end(app)
    status = app.dataframe[0].value
    result = service.run_scenario(baseline)
    assert list(status["Why"]) == [r.why for r in result.issues.values()] and all(status["Why"])


# ====================================================================== the uncertain inputs and the new sliders
def test_uncertain_inputs_are_listed_with_ranges_and_reasons(app, baseline):
    box = app.checkbox(key=state.DRAW_BOX)
    assert box.label == "Draw the uncertain inputs from the seed" and box.value is True and not box.disabled
    assert f"Uncertain inputs ({len(baseline.uncertainty)})" in [e.label for e in app.sidebar.expander]
    [listing] = [m.value for m in app.sidebar.markdown if "`actors.russia.outside_option.value`" in m.value]
    lines = listing.splitlines()
    assert [line.split("`")[1] for line in lines] == list(baseline.uncertainty)
    russia = next(line for line in lines if "`actors.russia.outside_option.value`" in line)
    assert russia.startswith("- **Russia - outside option, value**")
    assert "0.2 … 0.5 (coded 0.35)" in russia and "least knowable" in russia


def test_the_single_run_draws_from_its_seed_unless_the_box_is_unticked(app, baseline):
    run_to_end(app)
    drawn = service.run_scenario(baseline)                     # the service's default: drawn from the seed
    assert result_of(app).inputs == drawn.inputs and drawn.inputs
    assert metric(app, "Round") == f"{drawn.rounds} / {drawn.scenario.protocol.max_rounds}"
    assert "This run drew its" in " ".join(e.label for e in app.expander)
    ok(app.checkbox(key=state.DRAW_BOX).uncheck().run())
    coded = service.run_scenario(baseline, draw=False)
    result = result_of(app)
    assert result.inputs == {} and result.scenario == baseline
    assert result.to_dict() == coded.to_dict()
    assert metric(app, "Round") == f"{coded.rounds} / 20"
    assert "played as coded in the file" in texts(app)
    # the choice outlives a visit to another page
    ok(app.switch_page("routes/analysis.py").run())
    ok(app.switch_page("routes/negotiation.py").run())
    assert app.session_state[state.DRAW] is False
    assert app.checkbox(key=state.DRAW_BOX).value is False


def test_the_monte_carlo_draws_unless_the_box_is_unticked(app, baseline):
    ok(app.switch_page("routes/monte_carlo.py").run())
    ok(app.number_input(key="negsim.mc_runs").set_value(10).run())
    ok(button(app, "Run the batch").click().run())
    drawn = app.dataframe[-1].value.reset_index(drop=True)     # all runs: the last table on the page
    assert any(c.startswith("input.") for c in drawn.columns)
    pd.testing.assert_frame_equal(drawn, service.monte_carlo(baseline, 10), check_dtype=False)
    assert "uncertain inputs" in texts(app)
    ok(app.checkbox(key=state.DRAW_BOX).uncheck().run())
    coded = app.dataframe[-1].value.reset_index(drop=True)
    assert not any(c.startswith("input.") for c in coded.columns)
    assert not any("Drawn input" in frame.value.columns for frame in app.dataframe)   # nothing was drawn
    pd.testing.assert_frame_equal(coded, service.monte_carlo(baseline.as_coded(), 10), check_dtype=False)


def test_status_quo_and_outside_option_sliders(app, baseline):
    w = state.WIDGET
    ok(app.selectbox(key="negsim.edit_issue").set_value("cbm").run())
    ok(app.slider(key=w + "issues.cbm.status_quo").set_value(30.0).run())
    assert current(app).scenario.issue("cbm").status_quo == 30.0
    assert "issues.cbm.status_quo" not in current(app).scenario.uncertainty   # set by hand: no longer drawn
    ok(app.segmented_control(key="negsim.section").set_value("Actors").run())
    ok(app.slider(key=w + "actors.russia.outside_option.value").set_value(0.5).run())
    ok(app.slider(key=w + "actors.russia.outside_option.trend").set_value(0.02).run())
    option = current(app).scenario.actor("russia").outside_option
    assert (option.value, option.trend) == (0.5, 0.02)
    # no breakdown threshold or drift anywhere in the sidebar
    ok(app.segmented_control(key="negsim.section").set_value("Rules").run())
    labels = " ".join(s.label for s in app.sidebar.slider)
    assert "Breakdown threshold" not in labels and "Drift" not in labels


# ====================================================================== issue 14: Save YAML keeps the comments
def comment_lines(text: str) -> list[str]:
    return [line.split("#", 1)[1].strip() for line in text.splitlines() if "#" in line]


def test_save_yaml_without_edits_is_the_file_itself():
    from sim.scenario.yaml_roundtrip import edit_text

    for path in sorted((ROOT / "scenarios").glob("*.yaml")):
        text = path.read_text()
        assert edit_text(text, {}) == text, path.name


def test_save_yaml_changes_only_the_edited_values_and_keeps_every_comment(app, baseline):
    w = state.WIDGET
    ok(app.slider(key=w + "actors.russia.positions.expansion").set_value(60.0).run())
    ok(app.toggle(key=w + "actors.us.red_lines.expansion#on").set_value(False).run())
    ok(app.segmented_control(key="negsim.section").set_value("Rules").run())
    ok(app.slider(key=w + "protocol.tension.initial").set_value(0.6).run())
    ok(app.segmented_control(key="negsim.section").set_value("Actors").run())
    ok(app.selectbox(key="negsim.edit_actor").set_value("eu").run())
    ok(app.selectbox(key=w + "actors.eu.strategy.kind").set_value("boulware").run())
    cur = current(app)
    assert cur.edit_error is None and len(cur.edits) == 5
    original = BASELINE_FILE.read_text()
    saved = common.scenario_yaml(cur.scenario, cur.source_text, cur.edits)
    assert parse_text(saved, "yaml") == cur.scenario
    # every comment of the file is still there, except the one on the removed red line
    before, after = comment_lines(original), comment_lines(saved)
    assert len(before) >= 79 and len(after) == len(before) - 1
    assert set(after) <= set(before)
    assert "      expansion: 60       # \"their primary concern" in saved  # the file's int style and alignment
    import difflib

    diff = [line for line in difflib.unified_diff(original.splitlines(), saved.splitlines(), lineterm="", n=0)
            if line[:1] in "+-" and not line.startswith(("+++", "---"))]
    # removed: the US red line (its only one: the map goes too) and the ranges of the two inputs now set by hand
    # (the US red line, the EU's exponent); changed: Russia's position, the initial tension, the EU's strategy
    # kind and exponent
    assert len([d for d in diff if d.startswith("-")]) == 8 and len([d for d in diff if d.startswith("+")]) == 4
    assert "actors.eu.strategy.exponent" not in saved.split("uncertainty:")[1]
    assert "actors.us.red_lines.expansion" not in saved.split("uncertainty:")[1]


def test_save_yaml_of_a_json_or_csv_source_writes_the_scenario_afresh(app):
    upload(app, "ec.csv", EC_FILE.read_bytes())
    cur = current(app)
    assert cur.source_text is None
    assert parse_text(common.scenario_yaml(cur.scenario, cur.source_text, cur.edits), "yaml") == cur.scenario


def test_roundtrip_adds_missing_sections_and_refuses_what_does_not_fit():
    from sim.scenario.yaml_roundtrip import RoundTripError, edit_text

    text = "# top\nid: x  # the id\nactors:\n  - id: a\n    positions: {i: 1}\n"
    out = edit_text(text, {"protocol.tension.drift": 0.1, "actors.a.positions.i": 2.5, "actors.a.red_lines.i": None})
    assert out.startswith("# top\nid: x  # the id\n") and "drift: 0.1" in out and "i: 2.5" in out
    with pytest.raises(RoundTripError):
        edit_text(text, {"actors.b.capability": 1.0})
    with pytest.raises(RoundTripError):
        edit_text("- just a list\n", {"id": "y"})


# ====================================================================== issue 14: share, replay, export
def test_the_address_carries_file_edits_and_round_and_a_link_reopens_them(app):
    ok(app.selectbox(key=state.FILE).set_value("feb2022_issue_by_issue.yaml").run())
    ok(app.slider(key=state.widget_key("actors.russia.positions.expansion", 1)).set_value(60.0).run())
    ok(app.segmented_control(key="negsim.section").set_value("Rules").run())
    ok(app.number_input(key=state.widget_key("protocol.seed", 1)).set_value(7).run())
    run_to_end(app)
    assert "draw" not in app.query_params                  # drawing from the seed is the default: not said
    ok(app.checkbox(key=state.DRAW_BOX).uncheck().run())
    params = {key: value[0] if isinstance(value, list) else value for key, value in app.query_params.items()}
    assert params["file"] == "feb2022_issue_by_issue.yaml"
    assert json.loads(params["edits"]) == {"actors.russia.positions.expansion": 60.0, "protocol.seed": 7}
    assert params["round"] == "end" and params["draw"] == "0"
    shown = current(app)
    # a new session opened with that address shows the same scenario, settings, seed and round
    other = AppTest.from_file(str(APP), default_timeout=60)
    for key, value in params.items():
        other.query_params[key] = value
    ok(other.run())
    assert current(other).scenario == shown.scenario and current(other).edits == shown.edits
    assert metric(other, "Outcome") == metric(app, "Outcome") and metric(other, "Round") == metric(app, "Round")
    listed = " ".join(m.value for m in other.sidebar.markdown)
    assert "Russia - position on NATO eastward expansion: 100 → **60**" in listed
    assert other.selectbox(key=state.FILE).value == "feb2022_issue_by_issue.yaml"
    assert other.checkbox(key=state.DRAW_BOX).value is False and result_of(other).inputs == {}
    assert result_of(other).to_dict() == result_of(app).to_dict()


def test_a_broken_link_says_what_it_could_not_use():
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.query_params["file"] = "nope.yaml"
    at.query_params["edits"] = "{not json"
    at.query_params["round"] = "x"
    at.query_params["draw"] = "maybe"
    ok(at.run())
    message = at.warning[0].value
    assert "nope.yaml" in message and "edits" in message and "'x'" in message and "draw 'maybe'" in message
    assert metric(at, "Round") == f"0 / {deadline(load_scenario(BASELINE_FILE))}"


def test_play_runs_round_after_round_to_the_end_and_pause_stops(app, baseline):
    ok(app.select_slider(key="negsim.play_speed").set_value(10.0).run())
    ok(button(app, "Play").click().run())
    result = service.run_scenario(baseline)
    assert metric(app, "Round") == f"{result.rounds} / {result.scenario.protocol.max_rounds}"
    assert metric(app, "Outcome") == common.SHORT_WORDS[result.outcome]
    assert app.session_state[state.PLAYING] is False
    assert button(app, "Play").disabled
    # paused half-way: the round stays where it was
    ok(button(app, "Back to round 0").click().run())
    app.session_state[state.PLAYING] = True
    app.session_state[state.TARGET] = 3
    ok(app.button(key="negsim.play").click().run())  # the Pause button (Play/Pause is one widget)
    assert metric(app, "Round") == f"3 / {deadline(baseline)}" and app.session_state[state.PLAYING] is False


def test_chart_export_and_html_report_are_self_contained(baseline):
    import io
    import zipfile

    from dashboard import charts as figures
    from dashboard import report

    result = service.run_scenario(baseline)
    drawn = [figures.positions_chart(result, i) for i in baseline.issue_ids] + [figures.tension_chart(result)]
    with zipfile.ZipFile(io.BytesIO(report.charts_zip(drawn, "svg"))) as archive:
        names = archive.namelist()
        assert names == ["01_positions_expansion.svg", "02_positions_missiles.svg", "03_positions_cbm.svg",
                         "04_tension.svg"]
        svg = archive.read(names[0]).decode()
        assert svg.lstrip().startswith("<svg") and "NATO eastward expansion" in svg and "Russia" in svg
    with zipfile.ZipFile(io.BytesIO(report.charts_zip(drawn[:1], "png"))) as archive:
        assert archive.read(archive.namelist()[0])[:8] == b"\x89PNG\r\n\x1a\n"
    tables = {"Where each issue stands": pd.DataFrame({"Issue": ["A & B"], "Why": ["<because>"]})}
    page = report.html_report(result, drawn, tables, "feb2022_baseline.yaml", "- Russia: x → **1**")
    assert page.count("<svg") == len(drawn) and "<script" not in page and "http" not in page.split("<svg")[0]
    assert "A &amp; B" in page and "&lt;because&gt;" in page and "<strong>1</strong>" in page
    _, sentence = common.outcome_sentence(result)
    assert sentence.split("**")[2].strip()[:40] in page
    from dataclasses import replace  # the template escapes what a scenario file says
    marked = replace(result, played=baseline.model_copy(update={"title": "<i>Talks</i>"}))
    assert "&lt;i&gt;Talks&lt;/i&gt;" in report.html_report(marked, [], {}, "<x>.yaml") and "<i>" not in page


# ====================================================================== issue 14: compare two runs
def test_compare_package_with_issue_by_issue_side_by_side(app, baseline):
    ok(app.switch_page("routes/compare.py").run())
    package = service.run_scenario(baseline)
    split = service.run_scenario(with_protocol(baseline, linkage="issue_by_issue"))
    outcomes = app.dataframe[0].value.set_index("")
    a, b = outcomes.columns[:2]
    assert a.startswith("A: Your settings") and b.endswith("issue by issue")
    assert outcomes.loc["Outcome", a] == common.OUTCOME_WORDS[package.outcome]
    assert outcomes.loc["Outcome", b] == common.OUTCOME_WORDS[split.outcome]
    assert outcomes.loc["Final tension", "Difference (B - A)"] == f"{split.tension - package.tension:+.2f}"
    assert outcomes.loc["Utility to Russia", "Difference (B - A)"] == \
        f"{split.actors['russia'].utility - package.actors['russia'].utility:+.3f}"
    issues = app.dataframe[1].value.set_index("Issue")
    assert issues.loc["Strike weapons and intermediate-range missiles in Europe", "Difference (B - A)"] == \
        "agreed only in B"
    drawn = charts(app, "compare_positions")
    assert [m["issue"] for m, _, _ in drawn] == baseline.issue_ids
    offers = drawn[0][2]["offers"]
    mine = offers[(offers["run"] == b + " (dashed)") & (offers["series"] == "Russia")]["position"].to_numpy()
    np.testing.assert_allclose(mine, split.history.query("issue == 'expansion' and actor == 'russia'")["position"])
    # the Monte Carlo of both
    ok(app.number_input(key="negsim.cmp_mc_runs").set_value(20).run())
    ok(button(app, "Run both batches").click().run())
    (_, _, data), = charts(app, "compare_shares")
    shares = data["shares"]
    assert set(shares["run"]) == {a, b} and shares.groupby("run")["runs"].sum().tolist() == [20, 20]


def test_compare_before_and_after_my_edits(app, baseline):
    ok(app.slider(key=state.WIDGET + "actors.russia.positions.expansion").set_value(40.0).run())
    ok(app.switch_page("routes/compare.py").run())
    outcomes = app.dataframe[0].value
    a, b = outcomes.columns[1:3]
    assert "1 change" in a and "as in the file" in b
    edited = service.run_scenario(apply_params(baseline, {"actors.russia.positions.expansion": 40.0}))
    assert outcomes.set_index("")[a]["Rounds played"] == str(edited.rounds)
    offers = charts(app, "compare_positions")[0][2]["offers"]
    first = offers[(offers["round"] == 0) & (offers["series"] == "Russia")].set_index("run")["position"]
    assert first[a + " (solid)"] == 40.0 and first[b + " (dashed)"] == 100.0
    # another shipped scenario as B
    ok(app.selectbox(key="negsim.cmp_B_source").set_value("file:feb2022_hardline_russia.yaml").run())
    assert app.dataframe[0].value.columns[2] == "B: feb2022_hardline_russia.yaml"


# ====================================================================== issue 14: sensitivity
def test_vary_one_matches_runs_at_each_value(baseline):
    from sim.service import vary_one

    table = vary_one(baseline, "actors.russia.outside_option.value", [0.0, 0.6, 5.0], 4)
    seeds = service.replicate_seeds(baseline.protocol.seed, 4)
    for row in table.itertuples():
        if row.value == 5.0:
            assert row.problem and np.isnan(row.breakdown)  # not a valid outside option: said, not raised
            continue
        edited = apply_params(baseline, {"actors.russia.outside_option.value": row.value})
        outcomes = [service.run_scenario(edited, seed, collect=False).outcome for seed in seeds]
        assert row.breakdown == outcomes.count("breakdown") / 4 and row.stalemate == outcomes.count("stalemate") / 4
        assert row.runs == 4


def test_sensitivity_page_varies_the_slider_moved_last(app, baseline):
    ok(app.segmented_control(key="negsim.section").set_value("Actors").run())
    ok(app.slider(key=state.WIDGET + "actors.russia.outside_option.value").set_value(0.45).run())
    ok(app.switch_page("routes/sensitivity.py").run())
    assert app.selectbox(key="negsim.sens_param").value == "actors.russia.outside_option.value"
    ok(app.number_input(key="negsim.sens_points").set_value(5).run())
    ok(app.number_input(key="negsim.sens_replicates").set_value(5).run())
    ok(button(app, "Run the sensitivity sweep").click().run())
    (meta, _, data), = charts(app, "sensitivity")
    assert meta["now"] == pytest.approx(0.45)
    shares = data["shares"].pivot(index="value", columns="outcome", values="share")
    np.testing.assert_allclose(shares.index, np.linspace(0.0, 1.0, 5))
    np.testing.assert_allclose(shares.sum(axis=1), 1.0)
    # walking away worth everything: Russia leaves at once; worth nothing: it never does
    assert shares.loc[1.0, "breakdown"] == 1.0 and shares.loc[0.0].get("breakdown", 0.0) < 1.0
    # a slider moved since: the page offers that one
    ok(app.selectbox(key="negsim.sens_param").set_value("protocol.noise").run())
    ok(app.segmented_control(key="negsim.section").set_value("Rules").run())
    ok(app.slider(key=state.WIDGET + "protocol.tension.hardening").set_value(0.77).run())
    assert app.selectbox(key="negsim.sens_param").value == "protocol.tension.hardening"
    ok(app.selectbox(key="negsim.sens_param").set_value("protocol.noise").run())  # a choice of the user's stays
    assert app.selectbox(key="negsim.sens_param").value == "protocol.noise"
    # the parameters are offered in words
    options = app.selectbox(key="negsim.sens_param").options
    assert "Russia - red line on NATO eastward expansion" in options and "Breakdown threshold" not in options
    assert "Russia - outside option, value" in options
    assert "Risk reduction and confidence-building measures - status quo" in options


def test_the_new_pages_charts_are_valid_vega_lite(app):
    ok(app.switch_page("routes/compare.py").run())
    ok(app.number_input(key="negsim.cmp_mc_runs").set_value(10).run())
    ok(button(app, "Run both batches").click().run())
    specs = [spec for _, spec, _ in charts(app)]
    ok(app.switch_page("routes/sensitivity.py").run())
    ok(app.number_input(key="negsim.sens_points").set_value(3).run())
    ok(app.number_input(key="negsim.sens_replicates").set_value(2).run())
    ok(button(app, "Run the sensitivity sweep").click().run())
    specs += [spec for _, spec, _ in charts(app)]
    assert {s["usermeta"]["negsim"] for s in specs} == {"compare_positions", "compare_shares", "sensitivity"}
    for spec in specs:
        spec.pop("datasets", None)
        TopLevelSpec.validate(spec)


def test_pages_with_charts_offer_them_as_svg_and_png(app):
    ok(app.switch_page("routes/monte_carlo.py").run())
    ok(app.number_input(key="negsim.mc_runs").set_value(10).run())
    ok(button(app, "Run the batch").click().run())
    for route in ("monte_carlo", "compare", "sensitivity", "negotiation"):
        ok(app.switch_page(f"routes/{route}.py").run())
        if route == "sensitivity":
            ok(button(app, "Run the sensitivity sweep").click().run())
        labels = [b.label for b in app.get("download_button")]
        assert {"Charts (SVG, zip)", "Charts (PNG, zip)"} <= set(labels), route
        assert len(labels) == len(set(labels)), labels


# ====================================================================== uploads that fail, links of uploads (issue 25)
def _variant(baseline, title: str = "My variant") -> bytes:
    doc = apply_params(baseline, {"actors.russia.positions.expansion": 70.0}).model_dump(by_alias=True,
                                                                                        exclude_none=True)
    doc["title"] = title
    return json.dumps(doc).encode()


def test_a_broken_upload_keeps_the_last_good_upload_and_says_so(app, baseline):
    upload(app, "good.json", _variant(baseline))
    ok(app.slider(key=state.widget_key("actors.russia.positions.expansion", 1)).set_value(60.0).run())
    good = current(app).scenario
    upload(app, "broken.yaml", b"id: x\ntitle: [unclosed\n")
    cur = current(app)
    assert cur.source == "good.json" and cur.kind == "upload"
    assert cur.scenario == good and cur.edits == {"actors.russia.positions.expansion": 60.0}  # nothing lost
    assert app.subheader[0].value == "My variant"
    message = app.error[0].value
    assert "keeps showing **good.json** (your last good upload)" in message and "broken.yaml" in message
    assert "YAML syntax error" in message
    run_to_end(app)
    # removing the broken file goes back to the shipped scenarios
    ok(app.file_uploader(key=state.UPLOAD).set_value(None).run())
    assert current(app).source == state.DEFAULT_FILE and not app.error


def test_a_broken_first_upload_keeps_the_shipped_scenario(app, baseline):
    upload(app, "broken.yaml", b"id: x\ntitle: [unclosed\n")
    assert current(app).scenario == baseline
    assert "(the shipped scenario)" in app.error[0].value


def test_a_link_of_a_small_upload_carries_the_scenario_itself(app, baseline):
    upload(app, "good.json", _variant(baseline))
    ok(app.slider(key=state.widget_key("actors.russia.positions.expansion", 1)).set_value(60.0).run())
    run_to_end(app)
    params = {key: value[0] if isinstance(value, list) else value for key, value in app.query_params.items()}
    assert "file" not in params and params["name"] == "good.json" and len(params["scenario"]) <= state.MAX_LINK_SCENARIO
    assert "carries the uploaded scenario itself" in texts(app)
    other = AppTest.from_file(str(APP), default_timeout=60)
    for key, value in params.items():
        other.query_params[key] = value
    ok(other.run())
    assert not other.warning and not other.error
    assert current(other).scenario == current(app).scenario and current(other).kind == "link"
    assert current(other).edits == {"actors.russia.positions.expansion": 60.0}
    assert metric(other, "Outcome") == metric(app, "Outcome")
    assert "came with the link" in " ".join(c.value for c in other.sidebar.caption)
    # closing it goes back to the shipped files
    ok(next(b for b in other.button if b.label == "Close the linked scenario").click().run())
    assert current(other).source == state.DEFAULT_FILE


def test_a_link_of_a_large_upload_says_the_file_must_be_uploaded_again(app, baseline, monkeypatch):
    from dashboard.state import share_links

    monkeypatch.setattr(share_links, "MAX_LINK_SCENARIO", 100)  # every scenario is too large for the link now
    upload(app, "big.json", _variant(baseline))
    ok(app.slider(key=state.widget_key("actors.russia.positions.expansion", 1)).set_value(60.0).run())
    params = {key: value[0] if isinstance(value, list) else value for key, value in app.query_params.items()}
    assert params == {"upload": "big.json"}
    assert "must upload that file again" in texts(app)
    other = AppTest.from_file(str(APP), default_timeout=60)
    other.query_params["upload"] = "big.json"
    ok(other.run())
    assert not other.error  # not "Your last change makes the scenario invalid"
    message = other.warning[0].value
    assert "big.json" in message and "upload that file again" in message
    assert current(other).scenario == baseline and current(other).edits == {}
    upload(other, "big.json", _variant(baseline))
    assert current(other).source == "big.json"
    assert not any("The link you opened" in w.value for w in other.warning)


@pytest.mark.parametrize("packed", ["!!!", state.pack(b"id: x\n"), state.pack(b"#" * (MAX_FILE_BYTES + 10))])
def test_a_broken_embedded_scenario_is_reported_not_applied(packed, baseline):
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.query_params["scenario"] = packed
    at.query_params["edits"] = '{"actors.russia.positions.expansion": 60}'
    ok(at.run())
    assert "the scenario in the link is not" in at.warning[0].value
    assert current(at).scenario == baseline and current(at).edits == {}


def test_coded_and_drawn_values_are_labelled(app):
    """The banner quotes the run's drawn values, the sidebar and Analysis the coded ones: each page says which
    (issue 25); with drawing off nothing needs saying."""
    run_to_end(app)
    assert "**Drawn values**" in texts(app)
    ok(app.switch_page("routes/analysis.py").run())
    assert "**Coded values**" in texts(app)
    ok(app.switch_page("routes/negotiation.py").run())
    ok(app.checkbox(key=state.DRAW_BOX).uncheck().run())
    assert "**Drawn values**" not in texts(app)


# ====================================================================== inspecting one round (issue 25)
def test_the_round_scrubber_goes_both_ways_and_the_panel_shows_each_actor(app, baseline):
    from dashboard.views import negotiation

    run_to_end(app)
    result = result_of(app)
    assert app.slider(key=negotiation.INSPECT_SLIDER).value == result.rounds   # it starts at the newest round
    ok(app.slider(key=negotiation.INSPECT_SLIDER).set_value(3).run())
    ok(button(app, "Previous").click().run())
    assert app.slider(key=negotiation.INSPECT_SLIDER).value == 2
    ok(button(app, "Next").click().run())
    ok(button(app, "Next").click().run())
    assert app.slider(key=negotiation.INSPECT_SLIDER).value == 4
    # one tab per actor; each shows that actor's round 4 as the history has it
    assert [t.label for t in app.tabs] == [a.name for a in baseline.actors]
    h = result.history
    for actor, tab in zip(baseline.actors, app.tabs, strict=True):
        (table,) = [d.value for d in tab.dataframe]
        rows = h[(h["round"] == 4) & (h["actor"] == actor.id)].set_index("issue")
        said = service.move_sentences(h, result.scenario, lambda v, issue: common.fmt(v, issue.scale.unit))
        words = pd.Series(said, index=h.index)[(h["round"] == 4) & (h["actor"] == actor.id)]
        assert list(table["Move"]) == list(words)      # the move in words (issue 25: "met the proposal" misled)
        reasons = [rows.loc[i.id, "reason"] for i in baseline.issues]
        assert [w for w, r in zip(words, reasons, strict=True) if r != "met the proposal"] == [
            r for r in reasons if r != "met the proposal"]                      # the others as recorded
        assert list(table["Offer now"]) == [common.fmt(rows.loc[i.id, "position"], i.scale.unit)
                                            for i in baseline.issues]
        utility = rows["utility"].iloc[0]
        assert any(f"**{utility:.3f}**" in m.value for m in tab.markdown)
    ok(app.slider(key=negotiation.INSPECT_SLIDER).set_value(0).run())
    assert app.slider(key=negotiation.INSPECT_SLIDER).value == 0
    assert button(app, "Previous").disabled and not button(app, "Next").disabled


def test_the_scrubber_follows_the_rounds_being_played(app):
    from dashboard.views import negotiation

    ok(button(app, "Step one round").click().run())
    ok(button(app, "Step one round").click().run())
    assert app.slider(key=negotiation.INSPECT_SLIDER).value == 2
    ok(app.slider(key=negotiation.INSPECT_SLIDER).set_value(1).run())
    ok(button(app, "Step one round").click().run())
    assert app.slider(key=negotiation.INSPECT_SLIDER).value == 1   # left where the user put it


# ====================================================================== names in the sweep explorer; New sweep
def test_sweep_explorer_names_the_parameters_as_the_scenario_does(tmp_path, baseline):
    fake_sweep(tmp_path / "sweep")
    manifest = json.loads((tmp_path / "sweep" / "manifest.json").read_text())
    manifest["scenario"] = baseline.model_dump(mode="json", by_alias=True, exclude_none=True)
    (tmp_path / "sweep" / "manifest.json").write_text(json.dumps(manifest))
    sweep = sweep_data.read_sweep(tmp_path / "sweep")
    assert sweep.name("actors.russia.outside_option.value") == "Russia - outside option, value"
    assert sweep.name("protocol.max_rounds") == "Rules - deadline (rounds)"
    at = AppTest.from_file(str(APP), default_timeout=60).run()
    ok(at.switch_page("routes/sweeps.py").run())
    ok(at.text_input(key="negsim.sweep_path").input(str(tmp_path / "sweep")).run())
    (meta, spec, _), = charts(at, "sweep_heatmap")
    rect = next(layer for layer in spec["layer"] if layer["mark"]["type"] == "rect")["encoding"]
    assert (rect["x"]["title"], rect["y"]["title"]) == ("Russia - outside option, value", "Rules - deadline (rounds)")
    assert meta["x"] == "actors.russia.outside_option.value"           # the path stays the chart's key
    assert "Russia - outside option, value (`actors.russia.outside_option.value`)" in texts(at)
    assert at.selectbox(key="negsim.sweep_x").options[0] == "Russia - outside option, value"


def new_sweep_page(monkeypatch, tmp_path) -> AppTest:
    monkeypatch.setenv("NEGSIM_SWEEPS_DIR", str(tmp_path))
    at = AppTest.from_file(str(APP), default_timeout=60).run()
    return ok(at.switch_page("routes/new_sweep.py").run())


def start_button(at: AppTest):
    return next(b for b in at.button if b.label == "Start the sweep")


def test_new_sweep_bad_input_is_an_error_box_and_the_button_waits(monkeypatch, tmp_path):
    from sim.sweep.command import MAX_PAGE_RUNS

    at = new_sweep_page(monkeypatch, tmp_path)
    assert "no factor chosen" in at.error[0].value and start_button(at).disabled
    options = at.multiselect(key="negsim.ns_factors").options
    assert "Russia - outside option, trend per round" in options          # offered in words
    ok(at.multiselect(key="negsim.ns_factors").select("actors.russia.outside_option.trend").run())
    assert not at.error and not start_button(at).disabled
    ok(at.number_input(key="negsim.ns_low:actors.russia.outside_option.trend").set_value(0.1).run())
    ok(at.number_input(key="negsim.ns_high:actors.russia.outside_option.trend").set_value(0.0).run())
    assert "LO must not exceed HI" in at.error[0].value and start_button(at).disabled
    ok(at.number_input(key="negsim.ns_high:actors.russia.outside_option.trend").set_value(0.2).run())
    ok(at.number_input(key="negsim.ns_levels:actors.russia.outside_option.trend").set_value(1000).run())
    ok(at.number_input(key="negsim.ns_replicates").set_value(100).run())
    assert f"more than the {MAX_PAGE_RUNS:,}" in at.error[0].value and start_button(at).disabled
    ok(at.number_input(key="negsim.ns_levels:actors.russia.outside_option.trend").set_value(3).run())
    ok(at.text_input(key="negsim.ns_name").input("../escape").run())
    assert "the name may hold" in at.error[0].value
    assert not list(tmp_path.iterdir())                                    # nothing written


def test_new_sweep_shows_the_run_count_and_the_command_of_the_same_design(monkeypatch, tmp_path, baseline):
    import shlex

    from sim.sweep.design import make_design

    at = new_sweep_page(monkeypatch, tmp_path)
    ok(at.multiselect(key="negsim.ns_factors").select("actors.russia.reservation_utility")
       .select("protocol.linkage").run())
    ok(at.number_input(key="negsim.ns_replicates").set_value(4).run())
    ok(at.text_input(key="negsim.ns_name").input("demo").run())
    assert metric(at, "Runs") == "24" and metric(at, "Points") == "6"      # 3 levels x 2 linkages x 4 seeds
    command = at.code[0].value
    words = shlex.split(command.replace("\\\n", " "))
    assert words[:3] == ["negsim", "sweep", "scenarios/feb2022_baseline.yaml"]
    assert words[words.index("--out") + 1] == str(tmp_path / "demo")
    vary = [words[i + 1] for i, w in enumerate(words) if w == "--vary"]
    assert vary == ["actors.russia.reservation_utility=0:1:3", "protocol.linkage=package,issue_by_issue"]
    design = make_design(baseline, vary, "grid", None, 4, int(words[words.index("--seed") + 1]))
    assert design.n_runs == 24
    # a setting changed in the sidebar: the command names a YAML of the current settings, written at the start
    ok(at.segmented_control(key="negsim.section").set_value("Rules").run())
    ok(at.slider(key=state.WIDGET + "protocol.noise").set_value(0.1).run())
    words = shlex.split(at.code[0].value.replace("\\\n", " "))
    assert words[2] == str(tmp_path / "demo.yaml") and not (tmp_path / "demo.yaml").exists()


def test_new_sweep_of_edited_settings_runs_and_opens_in_the_explorer(monkeypatch, tmp_path):
    """Start with a setting changed in the sidebar: the YAML of the settings is written where the command says,
    the sweep runs in the background, the explorer opens on it, and the command makes the same table."""
    import shlex
    import time

    from typer.testing import CliRunner

    from dashboard.views import new_sweep
    from sim.cli import app as cli
    from sim.sweep import read_runs

    at = new_sweep_page(monkeypatch, tmp_path)
    ok(at.segmented_control(key="negsim.section").set_value("Rules").run())
    ok(at.slider(key=state.WIDGET + "protocol.noise").set_value(0.1).run())
    ok(at.multiselect(key="negsim.ns_factors").select("protocol.max_rounds").run())
    ok(at.number_input(key="negsim.ns_low:protocol.max_rounds").set_value(5).run())
    ok(at.number_input(key="negsim.ns_high:protocol.max_rounds").set_value(15).run())
    ok(at.number_input(key="negsim.ns_replicates").set_value(2).run())
    ok(at.text_input(key="negsim.ns_name").input("edited").run())
    command = at.code[0].value
    ok(start_button(at).click().run())
    key = at.session_state[new_sweep.JOB]
    deadline = time.monotonic() + 120
    while not new_sweep.JOBS[key].finished and time.monotonic() < deadline:
        time.sleep(0.2)
    assert new_sweep.JOBS[key].error is None, new_sweep.JOBS[key].error
    ok(at.run())                                                     # finished: off to the explorer
    assert metric(at, "Runs") == "6" and metric(at, "Failed runs") == "0"
    assert at.text_input(key="negsim.sweep_path").value == str(tmp_path / "edited")
    runs = read_runs(tmp_path / "edited")
    assert sorted(set(runs["protocol.max_rounds"])) == [5, 10, 15]
    words = shlex.split(command.replace("\\\n", " "))
    assert words[2] == str(tmp_path / "edited.yaml")
    from sim.scenario import load_scenario

    assert load_scenario(tmp_path / "edited.yaml").protocol.noise == 0.1
    words[words.index("--out") + 1] = str(tmp_path / "again")
    result = CliRunner().invoke(cli, words[1:] + ["--quiet"])
    assert result.exit_code == 0, result.output
    pd.testing.assert_frame_equal(read_runs(tmp_path / "again"), runs)


def test_new_sweep_can_be_stopped_and_keeps_its_finished_runs(monkeypatch, tmp_path):
    import threading
    import time

    from dashboard.views import new_sweep
    from sim.sweep import runner

    # deterministic whatever the machine's speed: batches of 500 runs, and the sweep waits after its first batch
    # until Stop is pressed (a fast machine otherwise finishes all 15,000 runs before the click)
    monkeypatch.setattr(runner, "auto_batch_size", lambda *args: 500)
    real_progress, pressed = new_sweep.Job.progress, threading.Event()

    def progress(self, done, total, failed):
        real_progress(self, done, total, failed)
        if done and not self.stop:
            pressed.wait(60)
            real_progress(self, done, total, failed)    # now stopping: raises as the runner's Ctrl-C

    monkeypatch.setattr(new_sweep.Job, "progress", progress)
    at = new_sweep_page(monkeypatch, tmp_path)
    ok(at.multiselect(key="negsim.ns_factors").select("protocol.noise").run())
    ok(at.number_input(key="negsim.ns_replicates").set_value(5000).run())
    ok(at.text_input(key="negsim.ns_name").input("stopped").run())
    ok(start_button(at).click().run())
    key = at.session_state[new_sweep.JOB]
    job = new_sweep.JOBS[key]
    deadline = time.monotonic() + 120
    while job.done == 0 and not job.finished and time.monotonic() < deadline:
        time.sleep(0.05)
    assert 0 < job.done < job.total == 15_000
    ok(next(b for b in at.button if b.label == "Stop").click().run())
    pressed.set()
    while not job.finished and time.monotonic() < deadline:
        time.sleep(0.05)
    ok(at.run())
    assert "stopped after" in at.error[0].value and "finishes the others" in at.error[0].value
    assert any("--replicates 5000" in c.value for c in at.code)
    parts = list((tmp_path / "stopped" / "parts").glob("runs-*"))
    assert parts and not (tmp_path / "stopped" / "runs.parquet").exists()    # kept for a resume, not merged


def test_new_sweep_form_comes_back_as_left_after_the_sweep_stops(monkeypatch, tmp_path):
    """While a sweep runs the form is not drawn; once it stops (or fails) the factors, ranges and replicates are
    still the ones the user picked (Streamlit forgot them: the form came back empty)."""
    from dashboard.views import new_sweep
    from sim.sweep import SweepPlan

    at = new_sweep_page(monkeypatch, tmp_path)
    path = "actors.russia.reservation_utility"
    ok(at.multiselect(key="negsim.ns_factors").select(path).run())
    ok(at.number_input(key=f"negsim.ns_high:{path}").set_value(0.7).run())
    ok(at.number_input(key="negsim.ns_replicates").set_value(7).run())
    job = new_sweep.Job(SweepPlan("x.yaml", "out", (f"{path}=0:0.7:3",)), tmp_path / "x.yaml", tmp_path / "out", 21)
    new_sweep.JOBS["held"] = job
    try:
        at.session_state[new_sweep.JOB] = "held"
        ok(at.run())                                   # running: the progress, not the form
        assert not at.multiselect and any("Running" in m.value for m in at.markdown)
        ok(at.run())
        job.error, job.finished = "stopped after 0 of 21 runs.", True
        ok(at.run())
    finally:
        new_sweep.JOBS.pop("held", None)
    assert "stopped after 0 of 21 runs" in at.error[0].value
    assert at.multiselect(key="negsim.ns_factors").value == [path]
    assert at.number_input(key=f"negsim.ns_high:{path}").value == 0.7
    assert at.number_input(key="negsim.ns_replicates").value == 7
