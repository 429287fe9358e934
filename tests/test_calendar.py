"""The calendar (`protocol.calendar`) and scheduled injects: dated rounds, injects that fire by themselves on their
round or date in every run, identically in the Mesa model and in lockstep."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from sim import service
from sim.engine import lockstep
from sim.engine.model import NegotiationModel
from sim.scenario import ScenarioError, apply_params, load_scenario, parse_scenario
from sim.scenario.schema import Calendar
from tests.conftest import SCENARIOS
from tests.test_lockstep import assert_same_as_models
from tests.test_lockstep import variants as variants_of_lockstep
from tests.test_model import FAST, scenarios

BASELINE = SCENARIOS / "feb2022_baseline.yaml"
FEB2022 = sorted(SCENARIOS.glob("feb2022_*.yaml"))


def test_round_dates_and_the_round_of_a_date():
    calendar = Calendar(start="2021-12-17", days_per_round=3.5)
    assert calendar.date_of(0) == dt.date(2021, 12, 17)
    assert calendar.date_of(1) == dt.date(2021, 12, 20)       # floor(3.5)
    assert calendar.date_of(20) == dt.date(2022, 2, 25)
    for day in (dt.date(2021, 12, 10), dt.date(2021, 12, 17), dt.date(2022, 1, 10), dt.date(2022, 2, 24)):
        r = calendar.round_of(day)
        assert calendar.date_of(r) >= day and (r == 1 or calendar.date_of(r - 1) < day)
    assert calendar.round_of(dt.date(2022, 2, 24)) == 20
    assert Calendar(start="2022-01-03", days_per_round=7).round_of(dt.date(2022, 1, 10)) == 1


@pytest.mark.parametrize("path", FEB2022, ids=lambda p: p.stem)
def test_the_feb2022_files_date_their_rounds_and_the_history(path):
    s = load_scenario(path)
    assert s.protocol.calendar.start == dt.date(2021, 12, 17)
    events = {i.id: (i.date, s.inject_round(i)) for i in s.injects if i.scheduled}
    assert [d for d, _ in events.values()] == [dt.date(*d) for d in [
        (2021, 12, 17), (2022, 1, 10), (2022, 1, 12), (2022, 1, 13), (2022, 1, 26), (2022, 2, 14), (2022, 2, 24)]]
    assert all(s.inject(i).source for i in events)
    # the coded deadline falls the day after the invasion: every round up to 24 Feb is played
    assert s.date_of(s.protocol.max_rounds) == dt.date(2022, 2, 25)
    assert events["invasion"][1] == s.protocol.max_rounds
    assert s.date_of(s.protocol.max_rounds - 1) < dt.date(2022, 2, 24)
    assert s.inject("invasion").tension == 0 and not s.inject("invasion").saliences


def test_schedules_are_checked(baseline_doc):
    doc = json.loads(json.dumps(baseline_doc))
    del doc["protocol"]["calendar"]
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(doc)
    assert "injects.geneva_dialogue.date: a dated inject needs protocol.calendar" in str(caught.value)
    doc = json.loads(json.dumps(baseline_doc))
    doc["injects"][-1]["round"] = 3
    with pytest.raises(ScenarioError, match="injects.invasion.date: give a round or a date, not both"):
        parse_scenario(doc)
    for bad in ("24 Feb 2022", "2022-02-30", "2022-2-4"):
        doc = json.loads(json.dumps(baseline_doc))
        doc["protocol"]["calendar"]["start"] = bad
        with pytest.raises(ScenarioError, match="protocol.calendar.start: must be a date YYYY-MM-DD"):
            parse_scenario(doc, strict=True)


def shocked(scenario, round_, **effects):
    """The scenario with one more inject, scheduled for `round_`."""
    inject = {"id": "shock", "label": "A shock", "round": round_, **effects}
    return parse_scenario({**scenario.model_dump(by_alias=True, exclude_none=True),
                           "injects": [*[i.model_dump(exclude_none=True) for i in scenario.injects], inject]})


def test_a_scheduled_inject_fires_by_itself_before_its_round():
    base = load_scenario(BASELINE).as_coded()
    plain = NegotiationModel(base, rng=1)
    shock = NegotiationModel(shocked(base, 5, tension=0.3), rng=1)
    for _ in range(4):
        plain.step()
        shock.step()
    assert plain.tension == shock.tension
    plain.step()
    shock.step()
    assert shock.tension > plain.tension
    assert (4, "shock") in shock.events and (4, "shock") not in plain.events
    assert [e for e in shock.events if e[1] == "geneva_dialogue"] == []    # dated 10 Jan: before round 7
    shock.step()
    shock.step()
    assert [e for e in shock.events if e[1] == "geneva_dialogue"] == [(6, "geneva_dialogue")]


def test_scheduled_injects_change_saliences_and_outside_options_for_the_computer_agents():
    base = load_scenario(BASELINE).as_coded()
    edited = shocked(base, 3, saliences={"russia": {"expansion": -0.6}}, outside_options={"eu": 0.5, "us": 0.2})
    model = NegotiationModel(edited, rng=2)
    for _ in range(3):
        model.step()
    assert model.spec.actor("russia").saliences["expansion"] == pytest.approx(0.4)
    assert model.spec.actor("eu").outside_option.value == pytest.approx(0.7)


def variants():
    base = load_scenario(BASELINE)
    yield "dated as shipped", base.as_coded()
    yield "drawn", base
    yield "profiles changed, drawn", shocked(base, 4, tension=0.2, saliences={"russia": {"expansion": -0.5}},
                                             outside_options={"russia": 0.3, "eu": -0.1})
    heated = variants_of_lockstep(base)["heated"]
    yield "late, after ended runs were dropped", shocked(heated, 8, tension=-0.1,
                                                          saliences={"nato": {"cbm": 0.4}}, outside_options={"us": 0.3})
    yield "profiles changed twice in one round, as coded", shocked(
        apply_params(base.as_coded(), {"injects.geneva_talks.tension": 0.1}), 7,
        saliences={"us": {"missiles": 0.9}}, outside_options={"us": 0.6})


@pytest.mark.parametrize("name", [name for name, _ in variants()])
def test_lockstep_plays_scheduled_injects_as_the_model_does(name):
    scenario = dict(variants())[name]
    seen = assert_same_as_models(scenario, list(range(30)))
    assert sum(seen.values()) == 30


@FAST
@given(scenarios(), st.lists(st.integers(0, 2**63 - 1), min_size=2, max_size=5, unique=True), st.data())
def test_lockstep_equals_the_model_with_random_scheduled_injects(scenario, seeds, data):
    scenario = apply_params(scenario, {"protocol.activation": "simultaneous"})
    actor = data.draw(st.sampled_from(scenario.actor_ids))
    issue = data.draw(st.sampled_from(scenario.issue_ids))
    effect = st.floats(-1, 1, allow_nan=False)
    scenario = shocked(scenario, data.draw(st.integers(1, scenario.protocol.max_rounds)),
                       tension=data.draw(effect), saliences={actor: {issue: data.draw(effect)}},
                       outside_options={actor: data.draw(effect)})
    assert_same_as_models(scenario, seeds)


def test_the_json_and_the_round_table_carry_dates():
    result = service.run_scenario(BASELINE, seed=5)
    out = result.to_dict()
    assert out["date"] == result.scenario.date_of(result.rounds).isoformat()
    assert out["round_dates"][0] == "2021-12-17" and len(out["round_dates"]) == result.rounds + 1
    assert [e["id"] for e in out["events"]][:2] == ["draft_treaties", "geneva_dialogue"]
    history = result.history
    assert list(history.columns[:4]) == ["round", "actor", "issue", "position"] and history.columns[-1] == "date"
    assert set(history.loc[history["round"] == 7, "date"]) == {"2022-01-10"}
    summary = service.summaries(load_scenario(BASELINE), [1, 2, 3])
    assert list(summary)[:3] == ["outcome", "rounds", "date"]
    assert all(summary["date"][k] == result.scenario.date_of(int(summary["rounds"][k])).isoformat()
               for k in range(3))
    undated = service.run_scenario(SCENARIOS / "ec_emissions_1994.csv", seed=1).to_dict()
    assert undated["date"] is None and undated["round_dates"] is None


def test_every_date_of_the_json_is_its_rounds_date_by_the_calendar():
    # runs of different lengths, with agreed issues: the contract's dates are kept per calendar and number of rounds
    for seed in (0, 1, 2):
        result = service.run_scenario(SCENARIOS / "feb2022_issue_by_issue.yaml", seed=seed, collect=False)
        out, calendar = result.to_dict(), result.layout.protocol.calendar
        assert out["round_dates"] == [calendar.date_of(r).isoformat() for r in range(result.rounds + 1)]
        assert out["date"] == calendar.date_of(result.rounds).isoformat()
        dated = {issue_id: entry["date"] for issue_id, entry in out["issues"].items() if entry["agreed"]}
        assert dated, "each of these seeds agrees on some issue"
        assert dated == {issue_id: calendar.date_of(out["issues"][issue_id]["round"]).isoformat()
                         for issue_id in dated}
        assert all(entry["date"] is None for entry in out["issues"].values() if not entry["agreed"])


def test_the_cli_prints_dates():
    from sim.cli.app import app

    text = CliRunner().invoke(app, ["run", str(BASELINE), "--as-coded", "--seed", "1"])
    assert text.exit_code == 0, text.output
    assert "on 25 Feb 2022" in text.output and "10 Jan 2022: Strategic stability dialogue in Geneva" in text.output
    raw = CliRunner().invoke(app, ["run", str(BASELINE), "--seed", "1", "--json"])
    assert json.loads(raw.output)["date"] is not None


def test_lockstep_rounds_table_dates(tmp_path):
    final = lockstep.play(load_scenario(BASELINE), [1, 2], record=True)
    rounds = final.rounds_table["round"]
    dates = service.round_dates(load_scenario(BASELINE), rounds)
    assert dates[0] == "2021-12-17" and np.all(dates[rounds == 20] == "2022-02-25")


def test_sweep_tables_carry_dates(tmp_path):
    from sim.sweep import analyze, read_rounds, read_runs, run_sweep
    from sim.sweep.design import make_design

    scenario = load_scenario(BASELINE)
    vary = ["actors.russia.reservation_utility=0.3:0.6:2", "protocol.linkage=package,issue_by_issue"]
    for batch in (1, 6):    # one model per run, and runs together in lockstep
        out = tmp_path / f"sweep{batch}"
        run_sweep(scenario, vary, out=out, replicates=3, seed=7, executor="serial", batch_size=batch, rounds=True,
                  progress=False)
        runs, rounds = read_runs(out), read_rounds(out)
        assert list(runs["date"]) == [scenario.date_of(int(r)).isoformat() for r in runs["rounds"]]
        assert list(rounds["date"]) == [scenario.date_of(int(r)).isoformat() for r in rounds["round"]]
    table = analyze.agreement_table(runs, make_design(scenario, vary, replicates=3).factors)
    for _, row in table.iterrows():
        chosen = runs[runs[row["parameter"]] == row["value"]]
        dates = sorted(chosen["date"])
        assert row["median_end_date"] == dates[(len(dates) - 1) // 2]


def test_a_bad_start_date_is_one_clear_line_and_a_calendar_past_the_year_9999_is_refused(baseline_doc):
    doc = json.loads(json.dumps(baseline_doc))
    doc["protocol"]["calendar"]["start"] = "2021-02-30"
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(doc)
    assert "{" not in str(caught.value) and str(caught.value).count("(got") == 1     # no template left unfilled
    for start, rounds, days in (("9999-12-01", 20, 3.5), ("2021-12-17", 10_000, 366)):
        doc = json.loads(json.dumps(baseline_doc))
        doc["protocol"]["calendar"].update(start=start, days_per_round=days)
        doc["protocol"]["max_rounds"] = rounds
        doc.pop("uncertainty", None)
        doc["injects"] = [i for i in doc["injects"] if "date" not in i]
        with pytest.raises(ScenarioError, match="would fall after the year 9999"):
            parse_scenario(doc)


@settings(max_examples=200, deadline=None)
@given(st.floats(1e-6, 366), st.integers(-400, 4000))
def test_round_of_is_the_first_round_dated_on_or_after_the_day(days_per_round, offset):
    from sim.scenario.schema import Calendar
    calendar = Calendar(start="2021-12-17", days_per_round=days_per_round)
    day = calendar.start + dt.timedelta(days=offset)
    r = calendar.round_of(day)
    assert r >= 1 and calendar.date_of(r) >= day
    assert r == 1 or calendar.date_of(r - 1) < day


def test_an_inject_dated_before_the_start_is_refused_and_a_tiny_round_length_does_not_hang(baseline_doc):
    doc = json.loads(json.dumps(baseline_doc))
    doc["injects"][-1]["date"] = "2021-01-01"
    with pytest.raises(ScenarioError, match="injects.invasion.date: dated before the calendar starts"):
        parse_scenario(doc)
    doc = json.loads(json.dumps(baseline_doc))
    doc["protocol"]["calendar"]["days_per_round"] = 1e-300     # every round on 17 Dec 2021: dated injects never fire
    scenario = parse_scenario(doc)
    assert scenario.inject_round(scenario.inject("invasion")) > 10**300


def test_round_dates_of_a_scenario_without_a_calendar_is_a_clear_error():
    scenario = service.prepare()
    scenario = scenario.model_copy(update={"protocol": scenario.protocol.model_copy(update={"calendar": None})})
    with pytest.raises(ValueError, match="no calendar"):
        service.round_dates(scenario, 3)
