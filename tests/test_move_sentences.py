"""A move that "met the proposal" says so only where the offer ends within the agreement tolerance of the proposal
it answered (issue 25: the classroom log said "met the proposal on expansion 15 -> 17" when the proposal was 34).
The sentences are checked against the run's numbers for several seeds, in the dashboard's move log and per-actor
panel and in the classroom's log, which all say a move the same way (`service.move_sentences`)."""

from __future__ import annotations

import re

import pytest

from sim import service
from sim.classroom.views import fmt_value, move_lines
from sim.scenario import load_scenario
from tests.conftest import SCENARIOS

MET = re.compile(r"met the proposal \((?P<p>[^)]+)\)(?:: (?P<a>\S+) -> (?P<b>\S+)| at (?P<at>\S+))")
TOWARD = re.compile(r"moved toward the proposal \((?P<p>[^)]+)\) from (?P<a>\S+) to (?P<b>\S+?)(;|$)")


def checked(history, scenario, sentences, fmt) -> dict[str, int]:
    """Each "met the proposal" row's sentence against its numbers; how many of each kind were seen."""
    seen = {"met": 0, "toward": 0, "other": 0}
    rows = history.set_index(["round", "actor", "issue"])
    tolerance = scenario.protocol.agreement_tolerance
    for (r, actor, issue_id, reason), sentence in zip(
            history[["round", "actor", "issue", "reason"]].itertuples(index=False), sentences, strict=True):
        if reason != "met the proposal" or r == 0:
            assert sentence == reason
            continue
        issue = scenario.issue(issue_id)
        before, after = float(rows.loc[(r - 1, actor, issue_id), "position"]), float(rows.loc[(r, actor, issue_id),
                                                                                              "position"])
        answered = float(rows.loc[(r - 1, actor, issue_id), "proposal"])
        close = abs(after - answered) <= tolerance * issue.scale.span + 1e-9
        if close:
            found = MET.fullmatch(sentence)
            assert found, sentence
            assert found["p"] == fmt(answered, issue)
            assert (found["b"] or found["at"]) == fmt(after, issue)
            seen["met"] += 1
        else:
            assert "met the proposal" not in sentence, sentence
            found = TOWARD.match(sentence)
            if found:
                assert (found["p"], found["a"], found["b"]) == (fmt(answered, issue), fmt(before, issue),
                                                                fmt(after, issue)), sentence
                assert abs(after - answered) < abs(before - answered)
                seen["toward"] += 1
            else:
                assert f"short of the proposal ({fmt(answered, issue)})" in sentence, sentence
                seen["other"] += 1
    return seen


def plain(value: float, issue) -> str:
    return f"{value:.1f}"


@pytest.mark.parametrize("name", ["feb2022_baseline.yaml", "feb2022_issue_by_issue.yaml"])
def test_a_move_says_met_the_proposal_only_where_the_offer_meets_it(name):
    scenario = load_scenario(SCENARIOS / name)
    totals = {"met": 0, "toward": 0, "other": 0}
    for seed in range(4):
        history = service.run_scenario(scenario, seed).history
        seen = checked(history, scenario, service.move_sentences(history, scenario, plain), plain)
        totals = {k: totals[k] + seen[k] for k in totals}
    assert totals["met"] > 0 and totals["toward"] > 0, totals     # both cases occur: the test sees each


def test_the_dashboard_and_the_classroom_say_a_move_in_the_same_words():
    from dashboard import common
    from dashboard.views import negotiation

    scenario = load_scenario(SCENARIOS / "feb2022_baseline.yaml")
    result = service.run_scenario(scenario, 0)
    history = result.history
    log = negotiation.move_log(result)
    toward = log[log["Move"].str.startswith("moved toward the proposal")]
    assert len(toward) and not log["Move"].str.fullmatch("met the proposal").any()
    fmt = lambda v, issue: common.fmt(v, issue.scale.unit)    # noqa: E731
    assert checked(history, scenario, service.move_sentences(history, scenario, fmt), fmt)["toward"]
    # the per-actor panel of a round where the EU moved toward the proposal
    row = toward.iloc[-1]
    actor = next(a.id for a in scenario.actors if a.name == row["Actor"])
    panel = negotiation.round_rows(result, actor, int(row["Round"]))
    said = panel[panel["Issue"] == row["Issue"]].iloc[0]
    assert said["Move"] == row["Move"] and "ended short of it" in said["Why"]
    # the offers chart's tooltips ("Hover for each move's reason") say it too
    from dashboard import charts

    issue = next(i for i in scenario.issues if i.label == row["Issue"])
    offers = charts.positions_chart(result, issue.id).frame("offers")
    tips = offers[(offers["series"] == row["Actor"]) & (offers["round"] == row["Round"])]["move"]
    assert list(tips) == [row["Move"]], tips


def test_the_classroom_log_says_the_move_with_the_proposal_it_answered(cls):
    from sim.engine.model import baseline

    state = cls.create_room(baseline(), human_seats=["russia"], max_rounds=6, timer_seconds=0)
    token = cls.join(state.code, "russia", "Ana")
    cls.start(state.code, state.room.teacher_key)
    for r in range(1, 4):
        cls.submit_move(state.code, "russia", token, r, offers={"expansion": 90 - 5 * r})
    state = cls.state(state.code)
    history = service.history_of(cls.model(state))
    sentences = service.move_sentences(history, state.scenario, fmt_value)
    checked(history, state.scenario, sentences, fmt_value)
    said = [line for r in range(1, 4) for line in move_lines(state, history, r).values()]
    words = [s.replace(" (", " on expansion (", 1) for s in sentences if s.startswith("moved toward")]
    assert not any(re.search(r"met the proposal on \w+ \d+ -> ", line) for line in said), said   # the old text
    assert words, "no move toward the proposal in three rounds"
    assert any("moved toward the proposal on " in line for line in said), said


def test_the_actors_table_and_the_round_panel_say_when_a_walk_away_utility_was_drawn():
    """A hostile test of issue 25 (item 4): the actors table and the per-actor panel showed the run's drawn
    walk-away utility (Russia 0.4291598346, coded 0.45) under the same words as the sidebar's coded one."""
    from dashboard.views import negotiation

    scenario = load_scenario(SCENARIOS / "feb2022_baseline.yaml")
    drawn = service.run_scenario(scenario, 1)
    table = negotiation.actors_table(drawn)
    russia = table[table["Actor"] == "Russia"].iloc[0]
    assert russia["Walk-away utility"] == round(drawn.scenario.actor("russia").reservation_utility, 3) != 0.45
    assert negotiation.walk_away_label(drawn) == "Walk-away utility (drawn)"
    coded = service.run_scenario(scenario, 1, draw=False)
    assert negotiation.walk_away_label(coded) == "Walk-away utility"
    assert negotiation.actors_table(coded).set_index("Actor").loc["Russia", "Walk-away utility"] == 0.45


def test_a_seat_that_held_an_issue_the_table_then_agreed_is_not_said_to_hold_a_moving_offer(tmp_path):
    """A hostile test of issue 25: a student seat that held CBM at 70 while the table agreed it at 72 read
    "held CBM 70 -> 72" in the log (a hold that moved); it is "agreed CBM 70 -> 72"."""
    from sim.classroom import Classroom

    cls = Classroom(tmp_path / "room.sqlite3")
    state = cls.create_room(load_scenario(SCENARIOS / "feb2022_issue_by_issue.yaml"), human_seats=["us"],
                            max_rounds=8, timer_seconds=0, passphrase="the teacher's own sentence")
    code, key = state.code, state.room.teacher_key
    token = cls.join(code, "us", "Ben")
    cls.start(code, key)
    for _ in range(6):
        room = cls.state(code).room
        if room.status != "running":
            break
        accept = room.open_round % 2 == 0
        cls.submit_move(code, "us", token, room.open_round, accept=accept,
                        offers={} if accept else {"expansion": 20, "missiles": 60})
        cls.force_round(code, key)
    state = cls.state(code)
    history = service.history_of(cls.model(code))
    said = [move_lines(state, history, r)["us"] for r in range(1, int(history["round"].max()) + 1)]
    assert any("agreed CBM" in line for line in said), said
    for line in said:
        for held in re.findall(r"held ([^;]*)", line):
            assert "->" not in held, line
