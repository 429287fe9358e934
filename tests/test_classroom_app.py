"""The classroom app (dashboard/classroom.py) in Streamlit AppTest sessions: a teacher and two students in
their own sessions play one room (two humans + two agents) to an outcome, rejoin, late moves, debrief."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from sim.classroom import Classroom

APP = str(Path(__file__).resolve().parent.parent / "dashboard" / "classroom.py")
TIMEOUT = 60


@pytest.fixture
def db_path(tmp_path, monkeypatch):
    path = tmp_path / "classroom.sqlite3"
    monkeypatch.setenv("NEGSIM_CLASSROOM_DB", str(path))
    monkeypatch.setenv("NEGSIM_CLASSROOM_RUNS", "10")
    return path


def session() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.run()
    assert not at.exception, at.exception
    return at


def button(at: AppTest, label: str):
    matches = [b for b in at.button if b.label == label]
    assert matches, (label, [b.label for b in at.button])
    return matches[0]


def errors(at: AppTest) -> list[str]:
    return [e.value for e in at.error]


def teacher_creates_room(rounds: int = 3, timer: int = 0) -> tuple[AppTest, str, str]:
    at = session()
    at.segmented_control(key="classroom_role").set_value("teacher").run()
    at.number_input(key="new_rounds").set_value(rounds)
    at.number_input(key="new_timer").set_value(timer)
    at.multiselect(key="new_humans").set_value(["russia", "us"])
    button(at, "Create the room").click().run()
    assert not at.exception, at.exception
    room = at.session_state["classroom_teacher"]
    assert any(room["room"] in m.value for m in at.markdown)          # the code is on the page, big
    return at, room["room"], room["key"]


def student_joins(code: str, actor: str, name: str) -> AppTest:
    at = session()
    at.text_input(key="join_code").input(code).run()
    at.text_input(key="join_name").input(name).run()
    at.button(key=f"take_{actor}").click().run()
    assert not at.exception, at.exception
    assert not errors(at), errors(at)
    assert at.session_state["classroom_seat"]["actor"] == actor
    return at


def submit_offers(at: AppTest, r: int, offers: dict[str, float]) -> None:
    at.run()
    for issue, value in offers.items():
        at.slider(key=f"offer_{issue}_{r}").set_value(value)
    button(at, "Submit my offers").click().run()
    assert not at.exception, at.exception


def accept(at: AppTest) -> None:
    at.run()
    button(at, "Accept the proposal").click().run()
    assert not at.exception, at.exception


def test_a_class_plays_one_room_to_an_outcome(db_path):
    teacher, code, key = teacher_creates_room(rounds=3)
    ana = student_joins(code, "russia", "Ana")
    ben = student_joins(code, "us", "Ben")
    # the seat page shows the brief (confidential part too) and waits for the start
    assert any("Confidential instructions" in m.value for m in ana.markdown)
    assert any("not started yet" in i.value for i in ana.info)

    teacher.run()
    teacher.button(key="start").click().run()
    assert not teacher.exception, teacher.exception
    classroom = Classroom(db_path)
    assert classroom.state(code).room.status == "running"

    for r in (1, 2, 3):
        submit_offers(ana, r, {"expansion": 100 - 5 * r, "missiles": 90 - 5 * r})
        assert any(f"Your move for round {r} is recorded" in s.value for s in ana.success), \
            [s.value for s in ana.success] + errors(ana)
        assert classroom.state(code).waiting_for == ["us"]
        accept(ben)
        assert any(f"round {r} has been played" in s.value for s in ben.success), errors(ben)
        assert classroom.state(code).room.rounds_closed == r

    state = classroom.state(code)
    assert state.room.status == "ended" and state.room.outcome
    assert [m.accepted for m in state.moves if m.actor == "us"] == [True, True, True]
    assert [m.offers["expansion"] for m in state.moves if m.actor == "russia"] == [95, 90, 85]
    assert classroom.verify(code) == []

    # students see the outcome and the debrief; the teacher runs the agent-only comparison
    ana.run()
    assert not ana.exception, ana.exception
    assert any(h.value == "Debrief" for h in ana.header)
    teacher.run()
    teacher.segmented_control(key="console_section").set_value("Debrief").run()
    teacher.button(key="run_agents").click().run()
    assert not teacher.exception, teacher.exception
    assert any("negotiations of the same scenario played by the computer alone" in m.value
               for m in teacher.markdown)
    labels = {d.label for d in teacher.get("download_button")}
    assert {"Transcript (CSV)", "Transcript (JSON)", "Printable summary (HTML)"} <= labels
    # the replay slider goes back to any round
    teacher.slider(key=f"replay_{code}").set_value(1).run()
    assert not teacher.exception, teacher.exception
    assert any("After round 1" in m.value for m in teacher.markdown)


def test_a_student_whose_browser_closed_rejoins_with_the_code(db_path):
    teacher, code, key = teacher_creates_room()
    student_joins(code, "russia", "Ana")
    # another student cannot take the seat ...
    eve = session()
    eve.text_input(key="join_code").input(code.lower()).run()
    eve.text_input(key="join_name").input("Eve").run()
    eve.button(key="take_russia").click().run()
    assert any("taken by Ana" in e for e in errors(eve))
    # ... Ana, in a new browser session, gets it back with her name
    again = student_joins(code, "russia", "ana")
    assert again.session_state["classroom_seat"]["token"] == Classroom(db_path).state(code).seat("russia").token
    # a reload keeps the seat: it is in the page address
    assert again.query_params["seat"] == ["russia"] or again.query_params["seat"] == "russia"


def test_late_and_paused_moves_get_clear_messages(db_path):
    teacher, code, key = teacher_creates_room()
    ana = student_joins(code, "russia", "Ana")
    student_joins(code, "us", "Ben")
    classroom = Classroom(db_path)
    classroom.start(code, key)
    ana.run()
    # the page shows round 1; the teacher closes it before Ana submits
    ana.slider(key="offer_expansion_1").set_value(90)
    classroom.force_round(code, key)
    button(ana, "Submit my offers").click().run()
    assert any("too late for round 1" in e and "the teacher closed it" in e for e in errors(ana)), errors(ana)
    assert classroom.state(code).moves == []
    # now at round 2, paused
    classroom.pause(code, key)
    ana.run()
    assert any("paused" in w.value for w in ana.warning)
    button(ana, "Submit my offers").click().run()
    assert any("paused" in e for e in errors(ana)), errors(ana)


def test_teacher_console_injects_reveal_and_end(db_path):
    teacher, code, key = teacher_creates_room()
    teacher.button(key="start").click().run()
    teacher.segmented_control(key="console_section").set_value("Injects").run()
    teacher.button(key="inject_geneva_talks").click().run()
    assert not teacher.exception, teacher.exception
    classroom = Classroom(db_path)
    assert [i.inject for i in classroom.state(code).injects] == ["geneva_talks"]
    teacher.button(key="force").click().run()
    assert classroom.state(code).rounds[0].closed_by == "teacher"
    teacher.segmented_control(key="console_section").set_value("Briefs").run()
    teacher.toggle(key="reveal").set_value(True).run()
    assert classroom.state(code).room.revealed
    teacher.checkbox(key="confirm_end").check().run()
    teacher.button(key="end").click().run()
    assert not teacher.exception, teacher.exception
    state = classroom.state(code)
    assert state.room.status == "ended" and state.room.ended_by == "teacher"
    # a fresh teacher session opens the console with code + key only
    other = session()
    other.segmented_control(key="classroom_role").set_value("teacher").run()
    other.text_input(key="open_code").input(code).run()
    other.text_input(key="open_key").input("WRONG1").run()
    other.button(key="open_btn").click().run()
    assert any("wrong teacher key" in e for e in errors(other))
    other.text_input(key="open_key").input(key).run()
    other.button(key="open_btn").click().run()
    assert other.session_state["classroom_teacher"]["room"] == code
