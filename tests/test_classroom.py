"""Classroom rooms over the SQLite store: seats, moves, rounds, timer, injects, restart, replay, concurrency."""

from __future__ import annotations

import json
import sqlite3
import threading

import pandas as pd
import pytest

from sim import service
from sim.classroom import (
    Classroom,
    ClassroomError,
    InvalidMove,
    LateMove,
    NotAllowed,
    SeatTaken,
    Store,
    default_path,
)
from sim.classroom import debrief as db
from sim.classroom.views import move_lines
from sim.scenario import baseline
from tests.conftest import SCENARIOS, make_scenario

HUMANS = ["russia", "us"]


def new_room(cls: Classroom, rounds: int = 4, timer: int = 0, humans=HUMANS, scenario=None):
    state = cls.create_room(scenario or baseline(), human_seats=humans, max_rounds=rounds, timer_seconds=timer)
    tokens = {a: cls.join(state.code, a, f"player {a}") for a in humans}
    return state.code, state.room.teacher_key, tokens


# Moves the two students make, round by round: offers (native) or "accept".
SCRIPT = [
    {"russia": {"expansion": 95, "missiles": 85, "cbm": 80}, "us": {"expansion": 5, "missiles": 45, "cbm": 75}},
    {"russia": {"expansion": 90, "missiles": 75}, "us": "accept"},
    {"russia": "accept", "us": {"missiles": 60, "cbm": 78}},
    {"russia": {"expansion": 85, "missiles": 70, "cbm": 78}, "us": {"expansion": 10, "missiles": 65, "cbm": 78}},
]


def play_round(cls, code, tokens, r, moves):
    receipts = []
    for actor, move in moves.items():
        if move == "accept":
            receipts.append(cls.submit_move(code, actor, tokens[actor], r, accept=True))
        else:
            receipts.append(cls.submit_move(code, actor, tokens[actor], r, offers=move))
    return receipts


def reference_model(cls, code):
    """The same negotiation driven directly through the model (no store), from the room's logged moves."""
    state = cls.state(code)
    model = service.start(state.scenario, state.room.seed, human_seats=state.human_seats, draw=False)
    for r in range(1, state.room.rounds_closed + 1):
        for inject in state.injects_before(r):
            model.play_inject(inject.inject)
        for move in state.moves_in(r):
            model.submit_offers(move.actor, move.offers)
        model.step()
    return model


# ====================================================================== the store
def test_store_is_wal_and_path_is_configurable(tmp_path, monkeypatch):
    monkeypatch.setenv("NEGSIM_CLASSROOM_DB", str(tmp_path / "x" / "rooms.db"))
    assert default_path() == tmp_path / "x" / "rooms.db"
    store = Store()
    assert store.path == tmp_path / "x" / "rooms.db" and store.path.exists()
    assert store.journal_mode() == "wal"
    monkeypatch.delenv("NEGSIM_CLASSROOM_DB")
    assert default_path().name == "classroom.sqlite3" and default_path().parent.name == ".negsim"


def test_a_failed_write_leaves_nothing_behind(cls, clock):
    state = cls.create_room(baseline(), human_seats=HUMANS)
    with pytest.raises(RuntimeError), cls.store.write() as con:
        cls.store.log(con, state.code, clock(), "half-done")
        raise RuntimeError("boom")
    assert [e.kind for e in cls.events(state.code)] == ["created"]


# ====================================================================== rooms and seats
def test_create_join_rejoin_and_seat_rules(cls):
    state = cls.create_room(baseline(), human_seats=HUMANS, max_rounds=3, timer_seconds=60)
    code, key = state.code, state.room.teacher_key
    assert len(code) == 6 and code.isupper() and not set(code) & set("01IO")
    assert state.human_seats == HUMANS and state.room.status == "lobby"
    token = cls.join(code, "russia", "Ana")
    for name in ("Ana", "  ana ", "ANA", "Ben"):                        # a name is a label, never a credential
        with pytest.raises(SeatTaken, match="this seat is taken") as refused:
            cls.join(code.lower(), "russia", name)
        assert "Ana" not in str(refused.value)
    assert cls.rejoin(code.lower(), token).actor == "russia"            # the seat secret is
    assert cls.rejoin(code, "-".join([token[:4], token[4:8], token[8:]]).lower()).actor == "russia"
    with pytest.raises(NotAllowed, match="played by the computer"):
        cls.join(code, "nato", "Ben")
    with pytest.raises(ClassroomError, match="type your name"):
        cls.join(code, "us", "   ")
    with pytest.raises(ClassroomError, match="no room with code 'ZZZZ'"):
        cls.join("ZZZZ", "us", "Ben")
    with pytest.raises(NotAllowed, match="not the teacher of room"):
        cls.start(code, "nope")
    # the teacher releases the seat: the old token no longer works, someone else can sit down
    cls.release_seat(code, key, "russia")
    with pytest.raises(NotAllowed, match="no longer hold a seat"):
        cls.seat_for(code, token)
    assert cls.join(code, "russia", "Ben") != token


def test_free_human_seats_go_to_agents_at_the_start(cls):
    state = cls.create_room(baseline(), human_seats=["russia", "us", "eu"])
    code, key = state.code, state.room.teacher_key
    cls.join(code, "russia", "Ana")
    cls.set_human(code, key, "nato", True)
    cls.set_human(code, key, "nato", False)
    state = cls.start(code, key)
    assert state.human_seats == ["russia"] and state.room.status == "running"
    with pytest.raises(NotAllowed, match="only before the start"):
        cls.set_human(code, key, "us", True)
    assert any(e.kind == "started" and e.detail["to_agents"] == ["us", "eu"] for e in cls.events(code))


def test_bad_settings_are_refused_with_a_message(cls):
    with pytest.raises(ClassroomError, match="unknown seats \\['china'\\]"):
        cls.create_room(baseline(), human_seats=["china"])
    with pytest.raises(ClassroomError, match="round timer"):
        cls.create_room(baseline(), human_seats=HUMANS, timer_seconds=-5)


# ====================================================================== playing
def test_two_humans_and_two_agents_play_to_an_outcome(cls):
    code, key, tokens = new_room(cls, rounds=4)
    cls.start(code, key)
    for r, moves in enumerate(SCRIPT, start=1):
        receipts = play_round(cls, code, tokens, r, moves)
        assert [x.round_closed for x in receipts] == [False, True]
        assert receipts[0].waiting_for == ["us"]
    state = cls.state(code)
    assert state.room.status == "ended" and state.room.outcome in ("agreement", "partial", "stalemate", "breakdown")
    assert [r.closed_by for r in state.rounds] == ["all moved"] * 4
    model = cls.model(state)
    assert not model.running and model.outcome == state.room.outcome
    history = service.history_of(model)
    reasons = history[(history["round"] == 1) & (history["actor"].isin(HUMANS))]["reason"]
    assert set(reasons) == {"human move"}
    lines = move_lines(state, history, 2)
    assert lines["us"].startswith("accepted the standing proposal (")
    assert lines["russia"].startswith("offered expansion 95 -> 90, missiles 85 -> 75")
    assert lines["nato"] and lines["eu"]                                  # the agents say why
    assert cls.verify(code) == []


def test_accepting_offers_the_standing_proposal(cls):
    code, key, tokens = new_room(cls)
    cls.start(code, key)
    model = cls.model(code)
    receipt = cls.submit_move(code, "us", tokens["us"], 1, accept=True)
    assert receipt.accepted
    assert receipt.offers == pytest.approx(dict(zip(model.spec.issue_ids, model.native(model.proposal),
                                                    strict=True)))


def test_a_resubmission_replaces_the_move(cls):
    code, key, tokens = new_room(cls)
    cls.start(code, key)
    cls.submit_move(code, "russia", tokens["russia"], 1, offers={"expansion": 99})
    receipt = cls.submit_move(code, "russia", tokens["russia"], 1, offers={"expansion": 90, "cbm": 80})
    assert receipt.revision == 2
    [move] = cls.state(code).moves_in(1)
    assert move.offers == {"expansion": 90, "cbm": 80} and move.revision == 2


@pytest.mark.parametrize("offers,message", [
    ({"expansion": 140}, "move not recorded: expansion: offer must be between 0 and 100 (got 140.0)"),
    ({"trade": 10}, "move not recorded: unknown issue 'trade' (issues: expansion, missiles, cbm)"),
    ({"expansion": "a lot"}, "move not recorded: expansion: offer must be between 0 and 100"),
    ({"expansion": True}, "move not recorded: an offer must be a number (got True)"),
    ({}, "an empty move"),
])
def test_invalid_moves_get_a_clear_message_and_store_nothing(cls, offers, message):
    code, key, tokens = new_room(cls)
    cls.start(code, key)
    with pytest.raises(InvalidMove) as caught:
        cls.submit_move(code, "russia", tokens["russia"], 1, offers=offers)
    assert str(caught.value).startswith(message)
    assert cls.state(code).moves == []


def test_moves_on_an_agreed_issue_are_refused():
    """Issue i0: everyone already agrees, so it settles in round 1; offering on it afterwards is refused."""
    scenario = make_scenario([[50, 0], [50, 100], [50, 60]], protocol={"linkage": "issue_by_issue",
                                                                      "max_rounds": 5})
    import tempfile
    with tempfile.TemporaryDirectory() as tmp:
        cls = Classroom(f"{tmp}/c.sqlite3")
        state = cls.create_room(scenario, human_seats=["a0", "a1"])
        code, key = state.code, state.room.teacher_key
        tokens = {a: cls.join(code, a, a) for a in ("a0", "a1")}
        cls.start(code, key)
        cls.force_round(code, key)
        assert not cls.model(code).open_issues[0]
        with pytest.raises(InvalidMove, match="i0: already agreed; no more offers on it"):
            cls.submit_move(code, "a0", tokens["a0"], 2, offers={"i0": 40})
        receipt = cls.submit_move(code, "a0", tokens["a0"], 2, accept=True)
        assert set(receipt.offers) == {"i1"}                       # accepting covers the open issues only


def test_moves_out_of_turn_get_clear_messages(cls, clock):
    code, key, tokens = new_room(cls, rounds=3)
    with pytest.raises(NotAllowed, match="has not started the negotiation yet"):
        cls.submit_move(code, "russia", tokens["russia"], 1, offers={"expansion": 90})
    cls.start(code, key)
    with pytest.raises(NotAllowed, match="do not hold the seat"):
        cls.submit_move(code, "russia", "forged", 1, offers={"expansion": 90})
    with pytest.raises(NotAllowed, match="played by the computer"):
        cls.submit_move(code, "nato", tokens["russia"], 1, offers={"expansion": 90})
    with pytest.raises(InvalidMove, match="round 2 has not started; the table is at round 1"):
        cls.submit_move(code, "russia", tokens["russia"], 2, offers={"expansion": 90})
    cls.pause(code, key)
    with pytest.raises(NotAllowed, match="paused"):
        cls.submit_move(code, "russia", tokens["russia"], 1, offers={"expansion": 90})
    cls.resume(code, key)
    cls.submit_move(code, "russia", tokens["russia"], 1, offers={"expansion": 90})
    cls.force_round(code, key)                                     # us had not moved: it holds its offers
    with pytest.raises(LateMove, match="too late for round 1: .*the teacher closed it.*held its previous offers"):
        cls.submit_move(code, "us", tokens["us"], 1, offers={"expansion": 5})
    with pytest.raises(LateMove, match="your earlier move for it was counted"):
        cls.submit_move(code, "russia", tokens["russia"], 1, offers={"expansion": 80})
    lines = move_lines(cls.state(code), service.history_of(cls.model(code)), 1)
    assert lines["us"] == "did not move this round (held its offers)"
    cls.end(code, key)
    with pytest.raises(NotAllowed, match="the negotiation is over"):
        cls.submit_move(code, "russia", tokens["russia"], 2, offers={"expansion": 80})
    state = cls.state(code)
    assert state.room.ended_by == "teacher" and state.room.outcome in ("stalemate", "partial", "agreement")


def test_the_round_timer_closes_rounds_and_late_moves_are_refused(cls, clock):
    code, key, tokens = new_room(cls, rounds=5, timer=60)
    cls.start(code, key)
    clock.now += 30
    assert not cls.tick(code)
    assert cls.state(code).time_left(clock()) == pytest.approx(30)
    cls.submit_move(code, "russia", tokens["russia"], 1, offers={"expansion": 90})
    clock.now += 31
    # nobody looked at the room after the deadline: the late move itself closes the round first, then is refused
    with pytest.raises(LateMove, match="too late for round 1: .*the round timer ran out"):
        cls.submit_move(code, "us", tokens["us"], 1, offers={"expansion": 5})
    state = cls.state(code)
    assert state.room.rounds_closed == 1 and state.rounds[0].closed_by == "timer"
    assert [m.actor for m in state.moves_in(1)] == ["russia"]
    # pausing keeps the time left; resuming continues from there
    clock.now += 20
    cls.pause(code, key)
    clock.now += 500
    assert cls.state(code).time_left(clock()) == pytest.approx(40)
    assert not cls.tick(code)
    cls.resume(code, key)
    clock.now += 39
    assert not cls.tick(code)
    clock.now += 2
    assert cls.tick(code)
    assert cls.state(code).rounds[-1].closed_by == "timer"
    assert cls.verify(code) == []


def test_injects_are_logged_and_replayed(cls):
    code, key, tokens = new_room(cls, rounds=4)
    scenario = cls.state(code).scenario
    assert {"deescalation_ukraine", "geneva_talks"} <= {i.id for i in scenario.injects}
    cls.play_inject(code, key, "geneva_talks")          # in the lobby: before round 1
    cls.start(code, key)
    play_round(cls, code, tokens, 1, SCRIPT[0])
    before = cls.model(code).tension
    cls.play_inject(code, key, "deescalation_ukraine")  # before round 2
    assert cls.model(code).tension == pytest.approx(max(0.0, before - 0.15))
    with pytest.raises(ClassroomError, match="unknown inject 'war'"):
        cls.play_inject(code, key, "war")
    play_round(cls, code, tokens, 2, SCRIPT[1])
    state = cls.state(code)
    assert [(i.inject, i.after_round) for i in state.injects] == [("geneva_talks", 0), ("deescalation_ukraine", 1)]
    model = cls.model(state)
    # the teacher's injects, and the scheduled one (Russia's draft treaties, dated 17 Dec 2021: before round 1)
    assert model.events == [(0, "geneva_talks"), (0, "draft_treaties"), (1, "deescalation_ukraine")]
    assert state.news_before(1) == ["Talks in Geneva", "Russia's draft treaties (17 December 2021)"]
    with pytest.raises(NotAllowed, match="'invasion' is scheduled: it fires by itself before round 20"):
        cls.play_inject(code, key, "invasion")
    assert cls.verify(code) == []
    pd.testing.assert_frame_equal(service.history_of(model), service.history_of(reference_model(cls, code)))


# ====================================================================== restart and replay
def test_restart_mid_room_resumes_identically(classroom_db, clock):
    """Play two rounds, drop every object, open the same file with a new store: the rebuilt model is the
    uninterrupted one, and the room plays on to the same end."""
    first = Classroom(classroom_db, clock=clock)
    code, key, tokens = new_room(first, rounds=4)
    first.start(code, key)
    play_round(first, code, tokens, 1, SCRIPT[0])
    first.play_inject(code, key, "geneva_talks")
    play_round(first, code, tokens, 2, SCRIPT[1])
    first.submit_move(code, "russia", tokens["russia"], 3, offers={"expansion": 88})   # half a round
    uninterrupted = first.model(code)
    del first

    second = Classroom(Store(classroom_db), clock=clock)            # "after a server restart"
    resumed = second.model(code)
    assert resumed.round == uninterrupted.round == 2
    assert resumed.tension == uninterrupted.tension
    pd.testing.assert_frame_equal(service.history_of(resumed), service.history_of(uninterrupted))
    assert second.state(code).waiting_for == ["us"]            # russia's half-round move survived
    second.submit_move(code, "us", tokens["us"], 3, accept=True)
    play_round(second, code, tokens, 4, SCRIPT[3])
    assert second.state(code).room.status == "ended"

    # the whole negotiation without any restart, in a fresh file, gives the same history
    other = Classroom(classroom_db.parent / "other.sqlite3", clock=clock)
    code2, key2, tokens2 = new_room(other, rounds=4)
    other.start(code2, key2)
    play_round(other, code2, tokens2, 1, SCRIPT[0])
    other.play_inject(code2, key2, "geneva_talks")
    play_round(other, code2, tokens2, 2, SCRIPT[1])
    other.submit_move(code2, "russia", tokens2["russia"], 3, offers={"expansion": 88})
    other.submit_move(code2, "us", tokens2["us"], 3, accept=True)
    play_round(other, code2, tokens2, 4, SCRIPT[3])
    pd.testing.assert_frame_equal(service.history_of(second.model(code)), service.history_of(other.model(code2)))


def test_replay_reproduces_the_room_exactly(cls):
    code, key, tokens = new_room(cls, rounds=4)
    cls.start(code, key)
    for r, moves in enumerate(SCRIPT[:3], start=1):
        if r == 2:
            cls.play_inject(code, key, "deescalation_ukraine")   # build_up now ends the talks (Russia walks)
        play_round(cls, code, tokens, r, moves)
    cls.force_round(code, key)
    assert cls.verify(code) == []                                # each round as recorded when it closed
    rebuilt = cls.model(code)
    direct = reference_model(cls, code)
    pd.testing.assert_frame_equal(service.history_of(rebuilt), service.history_of(direct))
    # any earlier round replays to the recorded state too
    state = cls.state(code)
    for closed in state.rounds:
        model = cls.model(state, upto=closed.round)
        assert model.tension == closed.tension
    # tampering with the log is detected
    with sqlite3.connect(cls.store.path) as con:
        con.execute("UPDATE moves SET offers = ? WHERE round = 1 AND actor = 'russia'",
                    (json.dumps({"expansion": 60}),))
    assert any(p.startswith("round 1:") for p in cls.verify(code))


# ====================================================================== concurrency
def test_concurrent_submissions_lose_nothing(tmp_path):
    """Eight student seats submit at the same moment from eight threads, round after round: every move is
    stored, each round closes exactly once, and the replay matches what was recorded."""
    n, rounds = 8, 4
    scenario = make_scenario([[10 * i + 5, 90 - 10 * i] for i in range(n)], protocol={"max_rounds": rounds,
                                                                                        "noise": 0.01})
    cls = Classroom(tmp_path / "c.sqlite3")
    actors = scenario.actor_ids
    state = cls.create_room(scenario, human_seats=actors)
    code, key = state.code, state.room.teacher_key
    tokens = {a: cls.join(code, a, a) for a in actors}
    cls.start(code, key)
    barrier = threading.Barrier(n)

    def offers(i: int, r: int) -> dict[str, float]:   # far apart: no agreement before the deadline
        return {"i0": 10 * i + 5 + r, "i1": 90 - 10 * i - r}

    receipts: list = []
    errors: list = []
    lock = threading.Lock()

    def student(i: int) -> None:
        actor = actors[i]
        for r in range(1, rounds + 1):
            barrier.wait()
            try:
                receipt = cls.submit_move(code, actor, tokens[actor], r, offers=offers(i, r))
            except Exception as err:  # noqa: BLE001 - collected and asserted below
                with lock:
                    errors.append(err)
            else:
                with lock:
                    receipts.append(receipt)

    threads = [threading.Thread(target=student, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(receipts) == n * rounds
    state = cls.state(code)
    assert len(state.moves) == n * rounds
    for r in range(1, rounds + 1):
        assert sum(x.round_closed for x in receipts if x.round == r) == 1
        assert {m.actor: m.offers for m in state.moves_in(r)} == {a: offers(i, r) for i, a in enumerate(actors)}
    assert [c.closed_by for c in state.rounds] == ["all moved"] * rounds
    assert state.room.status == "ended"
    assert cls.verify(code) == []


def test_concurrent_resubmissions_keep_every_revision(tmp_path):
    """Many threads revising the same open round: each submission is counted (revision numbers 1..k)."""
    cls = Classroom(tmp_path / "c.sqlite3")
    state = cls.create_room(baseline(), human_seats=HUMANS)
    code, key = state.code, state.room.teacher_key
    tokens = {a: cls.join(code, a, a) for a in HUMANS}
    cls.start(code, key)
    k = 12

    def revise(i: int) -> None:
        cls.submit_move(code, "russia", tokens["russia"], 1, offers={"expansion": 80 + i})

    threads = [threading.Thread(target=revise, args=(i,)) for i in range(k)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    [move] = cls.state(code).moves_in(1)
    assert move.revision == k
    moves = [e for e in cls.events(code) if e.kind == "move"]
    assert sorted(e.detail["revision"] for e in moves) == list(range(1, k + 1))
    assert move.offers == moves[-1].detail["offers"]              # the last one committed is the one that counts


# ====================================================================== debrief
def test_debrief_figures_and_exports(cls):
    code, key, tokens = new_room(cls, rounds=4)
    cls.start(code, key)
    cls.play_inject(code, key, "geneva_talks")
    for r, moves in enumerate(SCRIPT, start=1):
        play_round(cls, code, tokens, r, moves)
    state = cls.state(code)
    runs = cls.agent_runs(state, 12)
    assert len(runs) == 12 and cls.agent_runs(state, 12).equals(runs)           # second call: from the cache
    model = cls.model(state)
    report = db.debrief(state, model, runs)
    assert report.outcome == state.room.outcome
    assert report.joint == pytest.approx(sum(report.utilities.values()))
    assert report.nash is not None and set(report.nash.values) == {"expansion", "missiles", "cbm"}
    assert report.nash.red_lines is False        # Russia's and the US's red lines on expansion leave no ZOPA
    assert report.to_nash == pytest.approx(db.distance(report.utilities, report.nash))
    assert list(report.by_round["round"]) == [0, 1, 2, 3, 4]
    assert report.comparison.runs == 12 and 0 <= report.comparison.percentile["joint"] <= 100
    # a stalemate is worth each actor's disagreement utility (the status quo's where an issue has one)
    if report.outcome == "stalemate":
        from sim.compile.arrays import profiles_of
        from sim.core import table_rules

        m = len(state.scenario.issues)
        nothing = table_rules.outcome_utility(pd.Series([0.0] * m).to_numpy(), pd.Series([False] * m).to_numpy(),
                                            profiles_of(state.scenario)[0])
        assert report.utilities == pytest.approx(dict(zip(state.scenario.actor_ids, nothing.tolist(), strict=True)))

    csv_text = db.transcript_csv(state, report.history)
    table = pd.read_csv(__import__("io").StringIO(csv_text))
    assert len(table) == 5 * 4 * 3                                # rounds 0-4 x actors x issues
    assert {"round", "actor", "seat", "player", "issue", "position", "reason", "accepted",
            "round_closed_by", "injects_before"} <= set(table.columns)
    assert set(table[table["actor"] == "russia"]["player"]) == {"player russia"}
    assert table[table["round"] == 1]["injects_before"].iloc[0] == ("Talks in Geneva; Russia's draft treaties "
                                                                    "(17 December 2021)")

    doc = json.loads(db.transcript_json(state, model, cls.events(code)))
    assert doc["room"]["code"] == code and len(doc["rounds"]) == 4
    assert doc["rounds"][1]["moves"][1]["accepted"] is True
    assert all(row["line"] for row in doc["rounds"][0]["table"])
    assert doc["result"]["outcome"] == state.room.outcome

    page = db.summary_html(report, reveal=True, events=cls.events(code))
    assert page.startswith("<!doctype html>") and "<script" not in page
    assert code in page and "Confidential" in page and "Distance to the Nash point" in page
    assert "Confidential" not in db.summary_html(report, reveal=False)


def test_the_room_plays_the_coded_values_its_briefs_quote(cls):
    """The Feb-2022 scenario codes ranges for its assumptions; a room never draws from them: its model plays
    the values in the file (those the briefs quote), whatever the room's seed."""
    code, key, tokens = new_room(cls, rounds=4)
    state = cls.state(code)
    assert state.scenario.uncertainty                        # there would be something to draw
    cls.start(code, key)
    play_round(cls, code, tokens, 1, SCRIPT[0])
    model = cls.model(code)
    assert model.drawn_inputs == {} and model.spec == state.scenario
    drawn = service.start(state.scenario, state.room.seed)   # what a drawing run would have played instead
    assert drawn.drawn_inputs and drawn.spec != state.scenario


def test_agent_runs_draw_the_assumptions_and_are_scored_as_written(cls):
    """The debrief's agent-only runs draw the uncertain inputs per seed (input.* columns differ between runs),
    and their outcomes are scored with the scenario as written, as the class is."""
    from sim.compile.arrays import profiles_of
    from sim.core import table_rules
    from sim.core.utility import to_unit

    code, key, tokens = new_room(cls, rounds=4)
    cls.start(code, key)
    for r, moves in enumerate(SCRIPT, start=1):
        play_round(cls, code, tokens, r, moves)
    state = cls.state(code)
    runs = cls.agent_runs(state, 6)
    inputs = [c for c in runs.columns if c.startswith("input.")]
    assert len(inputs) == len(state.scenario.uncertainty) and runs[inputs].nunique().max() > 1
    scored = db.scored_as_written(state, runs)
    p, low, high = profiles_of(state.scenario)
    issues = state.scenario.issue_ids
    for n in range(len(runs)):
        agreed = runs.loc[n, [f"agreed.{i}" for i in issues]].to_numpy(bool)
        values = to_unit(runs.loc[n, [f"value.{i}" for i in issues]].fillna(0.0).to_numpy(float), low, high)
        assert scored[n] == pytest.approx(table_rules.outcome_utility(values, agreed, p))
    report = db.debrief(state, cls.model(state), runs)
    assert report.comparison.agent_mean["joint"] == pytest.approx(scored.sum(axis=1).mean())
    page = db.summary_html(report, reveal=False)
    assert "assumptions drawn from their ranges" in page


def test_every_feb2022_scenario_has_briefs_and_the_two_named_injects():
    from sim.scenario import load_scenario
    for path in sorted(SCENARIOS.glob("feb2022_*.yaml")):
        spec = load_scenario(path)
        assert spec.background, path
        for actor in spec.actors:
            assert actor.brief.public and actor.brief.confidential and actor.brief.goals, (path, actor.id)
        labels = {i.label for i in spec.injects}
        assert {"De-escalation around Ukraine", "Talks in Geneva"} <= labels, path
        assert len(spec.injects) >= 4


# ====================================================================== several processes
def _process_student(path: str, code: str, actor: str, token: str, i: int, rounds: int, barrier, out) -> None:
    cls = Classroom(path)
    for r in range(1, rounds + 1):
        barrier.wait()
        first = 10 + r if i == 0 else 90 - r                   # far apart: no agreement before the deadline
        receipt = cls.submit_move(code, actor, token, r, offers={"i0": first, "i1": 100 - first})
        out.put((actor, r, receipt.round_closed))


def test_several_processes_share_one_room(tmp_path):
    """Two server processes (as with several Streamlit workers) submit into one room through the same file."""
    import multiprocessing

    n, rounds = 2, 3
    scenario = make_scenario([[10, 90], [90, 10]], protocol={"max_rounds": rounds})
    path = str(tmp_path / "c.sqlite3")
    cls = Classroom(path)
    state = cls.create_room(scenario, human_seats=scenario.actor_ids)
    code, key = state.code, state.room.teacher_key
    tokens = {a: cls.join(code, a, a) for a in scenario.actor_ids}
    cls.start(code, key)
    ctx = multiprocessing.get_context("spawn")    # fresh interpreters, like separate server processes
    barrier, out = ctx.Barrier(n), ctx.Queue()
    workers = [ctx.Process(target=_process_student, args=(path, code, a, tokens[a], i, rounds, barrier, out))
               for i, a in enumerate(scenario.actor_ids)]
    for w in workers:
        w.start()
    acks = [out.get(timeout=60) for _ in range(n * rounds)]
    for w in workers:
        w.join(timeout=60)
        assert w.exitcode == 0
    assert sorted(r for _, r, closed in acks if closed) == list(range(1, rounds + 1))   # each round closed once
    state = cls.state(code)
    assert len(state.moves) == n * rounds and state.room.status == "ended"
    assert cls.verify(code) == []


# ====================================================================== a killed server
KILLED_WRITER = """
import sys
from sim.classroom import Classroom
path, code, actor, token = sys.argv[1:5]
cls = Classroom(path)
n = 0
while True:
    n += 1
    receipt = cls.submit_move(code, actor, token, 1, offers={"i0": 10 + n % 50, "i1": 90 - n % 50})
    print(receipt.round, receipt.revision, flush=True)     # the acknowledgement a browser would get
"""


def test_acknowledged_moves_survive_sigkill(tmp_path):
    """A server process acknowledging moves is killed with SIGKILL mid-stream: every move it acknowledged is
    in the file afterwards (at most one more, committed but not yet acknowledged, may be there too)."""
    import os
    import signal
    import subprocess
    import sys

    from tests.conftest import ROOT

    scenario = make_scenario([[10, 90], [90, 10]], protocol={"max_rounds": 5})
    path = tmp_path / "c.sqlite3"
    cls = Classroom(path)
    state = cls.create_room(scenario, human_seats=scenario.actor_ids)
    code, key = state.code, state.room.teacher_key
    tokens = {a: cls.join(code, a, a) for a in scenario.actor_ids}
    cls.start(code, key)
    child = subprocess.Popen([sys.executable, "-c", KILLED_WRITER, str(path), code, "a0", tokens["a0"]],
                             cwd=ROOT, stdout=subprocess.PIPE, text=True)
    acked = []
    try:
        for line in child.stdout:
            acked.append(tuple(map(int, line.split())))
            if len(acked) == 25:
                break
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
        child.stdout.close()
    assert child.returncode == -signal.SIGKILL and len(acked) == 25
    after = Classroom(Store(path))                              # "after a restart"
    moves = after.state(code).moves
    assert [m.round for m in moves] == [1] and moves[0].actor == "a0"
    assert moves[0].revision in (acked[-1][1], acked[-1][1] + 1)
    assert after.verify(code) == []
