"""The classroom against a class that abuses it: no formula through any table's download, no markup through the
page address, no lockout of the teacher, joins and requests limited per browser, names that imitate the interface
refused, secrets hashed at rest in a user-only file, nothing confidential before the reveal."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import re
import sqlite3
import stat

import pytest
from markdown_it import MarkdownIt
from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage
from streamlit.testing.v1 import AppTest

from sim import service
from sim.classroom import (
    Classroom,
    ClassroomError,
    Client,
    NotAllowed,
    StoreUnavailable,
    TooManyAttempts,
    security,
    store,
)
from sim.classroom.views import move_lines, public_history
from sim.scenario import baseline
from tests.conftest import ROOM_PASSPHRASE
from tests.test_classroom_app import APP, PASS, TIMEOUT, button, session, student_joins, teacher_creates_room

HUMANS = ["russia", "us"]
FORMULAS = ['=HYPERLINK("http://evil.example","Zed")', "@SUM(1+1)", "+cmd", "-2+3"]
HOSTILE = ["[X](http://evil.example/r)", "![P](http://host/r.png)", "[OPEN THE ROOM](HTTP://EVIL.EXAMPLE/R)",
           "<img src=http://host/x.png>", "http://evil.example/r", "www.evil.example"]


# ====================================================================== secrets at rest
def test_secrets_are_stored_only_as_keyed_hashes_in_a_user_only_file(cls, room):
    code, key = room.code, room.room.teacher_key
    secret = cls.join(code, "russia", "Ana")
    request = cls.ask_seat(code, "russia", "Ana phone")
    raw = sqlite3.connect(cls.store.path)
    stored = [*raw.execute("SELECT token FROM seats WHERE token IS NOT NULL"),
              *raw.execute("SELECT token FROM seat_requests"), *raw.execute("SELECT teacher_key FROM rooms"),
              *raw.execute("SELECT recovery_hash FROM rooms")]
    raw.close()
    assert len(stored) == 4 and all(security.is_digest(value) for (value,) in stored)
    whole = cls.store.path.read_bytes() + b"".join(
        p.read_bytes() for p in cls.store.path.parent.glob("*.sqlite3-wal"))
    for clear in (secret, request.token, key, room.recovery_code):
        assert clear.encode() not in whole                         # in no table, no page, no log of the file
    assert cls.seat_for(code, secret).actor == "russia"            # ... and they still work
    assert cls.request_status(code, request.id, request.token).status == "pending"
    assert cls.check_teacher(code, key).code == code
    assert stat.S_IMODE(cls.store.path.stat().st_mode) == 0o600
    assert stat.S_IMODE(cls.store.key_path.stat().st_mode) == 0o600
    assert stat.S_IMODE(cls.store.path.parent.stat().st_mode) == 0o700   # the folder it created
    for side in cls.store.path.parent.glob("*.sqlite3-*"):
        assert stat.S_IMODE(side.stat().st_mode) & 0o077 == 0, side


def test_an_older_file_is_tightened_and_its_secrets_hashed_in_place(tmp_path):
    path = tmp_path / "old.sqlite3"
    cls = Classroom(path)
    state = cls.create_room(baseline(), human_seats=HUMANS, passphrase=PASS)
    con = sqlite3.connect(path, isolation_level=None)              # make it look like a version-2 file
    con.execute("UPDATE seats SET token = 'ABCDEFGHJKMN', player = 'Ana' WHERE actor = 'russia'")
    con.execute("UPDATE rooms SET teacher_key = 'an-old-session-key'")
    con.execute("UPDATE meta SET value = '2' WHERE key = 'schema_version'")
    con.close()
    path.chmod(0o644)
    again = Classroom(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    seat = again.state(state.code).seat("russia")
    assert security.is_digest(seat.token) and again.seat_for(state.code, "ABCD-EFGH-JKMN").actor == "russia"
    assert again.check_teacher(state.code, "an-old-session-key").code == state.code
    # the console opened with the passphrase hands out the derived key, which works from then on
    key = again.open_console(state.code, PASS).room.teacher_key
    assert again.check_teacher(state.code, key).code == state.code


def test_a_hashed_file_without_its_key_file_is_refused_plainly(tmp_path):
    path = tmp_path / "classroom.sqlite3"
    Classroom(path).create_room(baseline(), human_seats=HUMANS)
    key_file = path.with_name(path.name + store.KEY_SUFFIX)
    key_file.unlink()
    with pytest.raises(StoreUnavailable, match="key file .* is missing") as refused:
        Classroom(path)
    assert "\n" not in str(refused.value)
    assert not key_file.exists()                                   # no new key that would open nothing


# ====================================================================== the teacher is never locked out
def test_students_using_up_every_limit_never_lock_out_the_teacher(cls, room, clock):
    code = room.code
    nobody = [Client(session=f"student{n}") for n in range(40)]    # no known address: one shared bucket
    refused = 0
    for n, student in enumerate(nobody):
        for guess in (f"guess number {n}", "ZZZZZZ"):
            try:
                if guess == "ZZZZZZ":
                    cls.find_room(guess, student)
                else:
                    cls.open_console(code, guess, student)
            except TooManyAttempts:
                refused += 1
            except ClassroomError:
                pass
    assert refused > 0                                             # the limits did bite
    teacher = Client(session="the teacher, after a reload")
    with pytest.raises(TooManyAttempts, match="recovery code") as locked:
        cls.open_console(code, ROOM_PASSPHRASE, teacher)
    assert "never limited" in str(locked.value)
    opened = cls.open_console(code, security.show_secret(room.recovery_code).lower(), teacher)
    assert opened.room.teacher_key == room.room.teacher_key        # the same console key, from any session
    assert "console opened" in [e.kind for e in cls.events(code)]
    clock.now += 3600                                              # and, after the window, the passphrase again
    assert cls.open_console(code, ROOM_PASSPHRASE, teacher).code == code


def test_the_teachers_own_browser_has_its_own_passphrase_budget(cls):
    desk = Client(session="created it", browser="teacher-browser-token")
    state = cls.create_room(baseline(), human_seats=HUMANS, passphrase=PASS, client=desk)
    target = security.LIMITS["teacher passphrase"].per_target
    for n in range(target):                                        # students use up the room's budget
        with contextlib.suppress(NotAllowed, TooManyAttempts):
            cls.open_console(state.code, f"guess {n}", Client(session=f"s{n}", address=f"10.0.0.{n}",
                                                                   browser=f"student{n}"))
    with pytest.raises(TooManyAttempts):                           # a student's browser: refused
        cls.open_console(state.code, PASS, Client(session="s99", address="10.0.0.99", browser="student0"))
    reloaded = Client(session="after a reload", browser="teacher-browser-token")   # same browser, new session
    assert cls.open_console(state.code, PASS, reloaded).room.teacher_key == state.room.teacher_key
    for n in range(security.LIMITS["teacher passphrase"].per_session):   # its own wrong tries still count
        with pytest.raises(NotAllowed):
            cls.open_console(state.code, f"typo {n}", Client(session=f"r{n}", browser="teacher-browser-token"))
    with pytest.raises(TooManyAttempts):
        cls.open_console(state.code, PASS, Client(session="again", browser="teacher-browser-token"))


def test_the_rooms_own_addresses_find_it_past_a_flood_of_wrong_codes(cls, room):
    codes = security.LIMITS["room code"]
    for n in range(codes.per_address):                             # a flood from browsers without an address
        with pytest.raises(ClassroomError):
            cls.find_room(f"ZZZZ{n:02d}", Client(session=f"flood{n}"))
    with pytest.raises(TooManyAttempts):                           # guessing stays limited ...
        cls.find_room(room.code, Client(session="the projector"))
    with pytest.raises(TooManyAttempts):
        cls.find_room(room.code, Client(session="the projector"), ticket="not-the-ticket")
    ticket = cls.room_ticket(room.code)                            # ... the QR code and the console link are not
    assert cls.find_room(room.code.lower(), Client(session="the projector"), ticket=ticket).code == room.code
    other = cls.create_room(baseline(), human_seats=HUMANS)
    with pytest.raises(TooManyAttempts):                           # one room's ticket finds no other room
        cls.find_room(other.code, Client(session="the projector"), ticket=ticket)


def test_a_wrong_recovery_code_is_just_a_wrong_passphrase(cls, room):
    with pytest.raises(NotAllowed, match="wrong passphrase"):
        cls.open_console(room.code, security.new_recovery_code(), Client(session="s"))
    other = cls.create_room(baseline(), human_seats=HUMANS, passphrase=PASS)
    with pytest.raises(NotAllowed):                                # one room's code opens no other room
        cls.open_console(room.code, other.recovery_code, Client(session="s"))


# ====================================================================== joins, requests, names
def test_a_reload_does_not_reset_a_browsers_budget(cls, room):
    limit = security.LIMITS["seat secret"]
    for n in range(limit.per_session):                             # a new session for every guess ...
        with pytest.raises(NotAllowed):
            cls.rejoin(room.code, security.new_seat_secret(), Client(session=f"r{n}", address="10.0.0.5",
                                                                     browser="same browser"))
    with pytest.raises(TooManyAttempts, match="from this browser"):   # ... the same browser all along
        cls.rejoin(room.code, security.new_seat_secret(), Client(session="r99", address="10.0.0.5",
                                                                 browser="same browser"))


def test_one_browser_cannot_take_seat_after_seat(cls):
    state = cls.create_room(baseline(), human_seats=["russia", "us", "eu", "nato"], passphrase=PASS)
    squatter = Client(session="squatter", address="10.0.0.7")
    limit = security.ACTIONS["join"].per_session
    for actor in ["russia", "us", "eu", "nato"][:limit]:
        cls.join(state.code, actor, f"Name {actor}", squatter)      # takes a seat, "leaves", takes the next ...
    with pytest.raises(TooManyAttempts, match="too many joins from this browser"):
        cls.join(state.code, "nato", "Another name", squatter)
    cls.join(state.code, "nato", "Dana", Client(session="dana", address="10.0.0.7"))   # classmates still join


def test_a_request_flood_never_blocks_the_owners_own_request(cls, room):
    code, key = room.code, room.room.teacher_key
    cls.join(code, "russia", "Ana")
    flooder = Client(session="flooder", address="10.0.0.9")
    cls.ask_seat(code, "russia", "Mallory", flooder)
    with pytest.raises(NotAllowed, match="already asked for this seat"):
        cls.ask_seat(code, "russia", "Mallory two", flooder)
    for n in range(8):                                             # many sessions (reloads) from one browser
        with contextlib.suppress(NotAllowed, TooManyAttempts):
            cls.ask_seat(code, "russia", f"Mallory {n}", Client(session=f"reload{n}"))
    asked = 1
    with pytest.raises(TooManyAttempts, match="too many seat requests from this browser"):
        while asked < 50:                                          # refused, asked again, refused ...
            for r in cls.seat_requests(code, key):
                if r.session == "flooder":
                    cls.decide_request(code, key, r.id, approve=False)
            cls.ask_seat(code, "russia", f"Mal {asked}", flooder)
            asked += 1
    assert asked == security.ACTIONS["seat request"].per_session   # refusals do not refill the budget
    owner = cls.ask_seat(code, "russia", "Ana new phone", Client(session="ana's phone", address="10.0.0.3"))
    assert owner.status == "pending" and owner.id in [r.id for r in cls.seat_requests(code, key)]


@pytest.mark.parametrize("name", ["(free)", "free", "Computer", "the computer", "TEACHER", "t e a c h e r",
                                  "empty seat", "Empty  Seat", "free - join now", "(free - join now)",
                                  "Cоmputer", "ＴＥＡＣＨＥＲ", "played by the computer", "Standing proposal",
                                  # the interface's words in another order or another label of the app
                                  "the computer (agent)", "Computer (agent)", "played by computer", "Seat free",
                                  "(free - take it)", "free seat - click here", "Teacher (you)", "Your teacher",
                                  "Played by students", "after the Reveal", "Waiting for the teacher"])
def test_names_that_imitate_the_interface_are_refused(cls, room, name):
    with pytest.raises(ClassroomError, match="reads like a label of the app"):
        cls.join(room.code, "russia", name)
    with pytest.raises(ClassroomError, match="reads like a label of the app"):
        cls.ask_seat(room.code, "russia", name)


def test_ordinary_names_still_pass(cls, room):
    for actor, name in zip(HUMANS, ["Freya", "Computer Science Cleo"], strict=True):
        cls.join(room.code, actor, name)


# ====================================================================== nothing before the reveal
def played_room(cls: Classroom, rounds: int = 4):
    state = cls.create_room(baseline(), human_seats=HUMANS, max_rounds=12, passphrase=PASS)
    code, key = state.code, state.room.teacher_key
    tokens = {a: cls.join(code, a, f"Player {a}") for a in HUMANS}
    cls.start(code, key)
    for r in range(1, rounds + 1):
        for actor, token in tokens.items():
            cls.submit_move(code, actor, token, r, accept=True)
    return cls.state(code), key


def test_the_log_tells_no_red_line_of_another_seat_before_the_reveal(cls):
    state, _ = played_room(cls)
    history = service.history_of(cls.model(state))
    rounds = range(1, state.room.rounds_closed + 1)
    full = [line for r in rounds for line in move_lines(state, history, r).values()]
    assert any("red line" in line for line in full)                # the model did hold red lines ...
    for me in (None, "russia"):
        shown = public_history(history, me)
        for r in rounds:
            for actor, line in move_lines(state, shown, r).items():
                if actor != me:                                    # ... nobody else may read them
                    assert "red line" not in line and "reservation" not in line, (actor, line)


def test_the_projector_and_other_seats_show_no_red_line_before_the_reveal(app_db):
    classroom = Classroom(app_db)
    state, key = played_room(classroom)
    view = AppTest.from_file(APP, default_timeout=TIMEOUT)
    view.query_params.update({"view": "present", "room": state.code})
    view.run()
    assert not view.exception, view.exception
    assert any("Round 4" in m.value for m in view.markdown)
    assert not any("red line" in m.value for m in view.markdown)
    classroom.reveal(state.code, key)
    view.run()
    assert any("red line" in m.value for m in view.markdown)      # after the reveal, the reasons are shown


# ====================================================================== no markup through the address
MD = MarkdownIt("commonmark").enable("table").enable("strikethrough")


def live_markup(source: str) -> list[str]:
    """What in a Markdown text would make a hostile address live: a link or image to it, or the bare address
    (which GitHub-flavoured Markdown turns into a link). The app's own addresses do not count."""
    html = MD.render(source)
    found = re.findall(r"<(?:a|img)\b[^>]*(?:evil|host)[^>]*>", html, flags=re.IGNORECASE)
    found += re.findall(r"(?i)(?:https?://|\bwww\.)(?:evil|host)", source)
    return found


def every_text(at: AppTest) -> list[str]:
    texts = []
    for kind in ("markdown", "caption", "title", "header", "subheader", "info", "warning", "error", "success",
                 "text", "toast"):
        texts += [str(getattr(e, "value", "")) for e in at.get(kind)]
    for element in at.get("table"):
        frame = element.value
        texts += [str(c) for c in frame.columns] + [str(v) for v in frame.to_numpy().ravel()]
    return texts


@pytest.mark.parametrize("hostile", HOSTILE)
def test_no_view_renders_a_link_or_image_from_the_address(app_db, hostile):
    teacher, code, _ = teacher_creates_room()
    for params in ({"view": "present", "room": hostile},
                   {"room": hostile, "token": "x"}, {"role": "student", "room": hostile},
                   {"room": code, "token": hostile}, {"room": hostile, "token": hostile, "role": hostile},
                   {"role": "teacher", "room": hostile}, {"role": "teacher", "room": code, "key": hostile}):
        at = AppTest.from_file(APP, default_timeout=TIMEOUT)
        at.query_params.update(params)
        at.run()
        assert not at.exception, (params, at.exception)
        for text in every_text(at):
            assert not live_markup(text), (params, text)
        if params.get("role") == "teacher":                        # the teacher's open form, with the code typed
            button(at, "Open the console").click().run() if any(
                b.label == "Open the console" for b in at.button) else None
            for text in every_text(at):
                assert not live_markup(text), (params, text)


def test_names_reach_no_table_as_markup(app_db):
    teacher, code, key = teacher_creates_room()
    student_joins(code, "russia", "[X](http://evil.example/r)")
    student_joins(code, "us", "![P](http://host/r.png)")
    teacher.run()
    view = AppTest.from_file(APP, default_timeout=TIMEOUT)
    view.query_params.update({"view": "present", "room": code})
    view.run()
    for at in (teacher, view):
        assert at.get("table"), "the seat board is a static table"
        assert not at.dataframe                                    # no table with a toolbar download
        for text in every_text(at):
            assert not live_markup(text), text


# ====================================================================== every CSV the console offers
@pytest.fixture
def downloads(monkeypatch) -> dict[str, bytes]:
    """Every file a download button offers in AppTest sessions, by its URL."""
    offered: dict[str, bytes] = {}
    original = MemoryMediaFileStorage.load_and_get_id

    def keep(self, path_or_data, mimetype, kind, filename=None):
        file_id = original(self, path_or_data, mimetype, kind, filename)
        data = path_or_data if isinstance(path_or_data, bytes) else str(path_or_data).encode()
        offered[self.get_url(file_id)] = data
        return file_id

    monkeypatch.setattr(MemoryMediaFileStorage, "load_and_get_id", keep)
    return offered


def csv_cells(data: bytes) -> list[str]:
    return [cell for row in csv.reader(io.StringIO(data.decode("utf-8"))) for cell in row]


def test_every_csv_the_console_offers_is_neutralised(app_db, downloads):
    teacher, code, key = teacher_creates_room()
    students = {actor: student_joins(code, actor, name) for actor, name in zip(HUMANS, FORMULAS, strict=False)}
    with pytest.raises(ClassroomError):
        Classroom(app_db).rejoin(code, "WRONGSECRET1", Client(session="=cmd|' /C calc'!A0", address=""))
    teacher.button(key="start").click().run()
    for at in students.values():
        at.run()
        button(at, "Accept the proposal").click().run()
    offered: dict[str, str] = {}
    for section in ("Table", "Injects", "Seats", "Briefs", "Debrief"):
        teacher.segmented_control(key="console_section").set_value(section).run()
        assert not teacher.exception, teacher.exception
        for element in teacher.get("download_button"):
            url = element.proto.url
            if url in downloads and (url.endswith(".csv") or b"," in downloads[url][:200]):
                offered[element.proto.label + " " + section] = url
        assert not any(name in str(frame.value) for frame in teacher.dataframe for name in FORMULAS)
    labels = " | ".join(offered)
    assert "Download (CSV) Table" in labels and "Transcript (CSV) Debrief" in labels, labels
    assert "Download (CSV) Seats" in labels, labels
    seen_names = set()
    for label, url in offered.items():
        if label.startswith("Transcript (JSON)") or label.startswith("Printable"):
            continue
        cells = csv_cells(downloads[url])
        bad = [c for c in cells if c.startswith(security.CSV_TRIGGERS)]
        assert not bad, (label, bad)
        seen_names |= {name for name in FORMULAS if "'" + name in cells}
    assert seen_names == set(FORMULAS[:2]), seen_names              # the names are there, neutralised
    assert os.environ.get("NEGSIM_CLASSROOM_DB") == str(app_db)


def test_the_rejoin_code_is_shown_once_and_never_in_the_address(app_db):
    teacher, code, key = teacher_creates_room()
    ana = student_joins(code, "russia", "Ana")
    secret = ana.session_state["classroom_seat"]["token"]
    assert "token" not in ana.query_params
    assert [c.value for c in ana.code] == [security.show_secret(secret)]
    ana.button(key="secret_noted").click().run()
    assert not [c for c in ana.code if secret[:4] in c.value]       # shown once
    assert ana.session_state["classroom_seat"]["actor"] == "russia"  # the session keeps the seat
    recovery = [c.value for c in teacher.code]
    assert len(recovery) == 1 and len(security.normalise_code(recovery[0])) == security.RECOVERY_LENGTH
    teacher.button(key="recovery_noted").click().run()
    assert not teacher.code
    other = session()
    other.segmented_control(key="classroom_role").set_value("teacher").run()
    other.text_input(key="open_code").input(code)
    other.text_input(key="open_pass").input(recovery[0])
    other.button(key="FormSubmitter:open_room-Open the console").click().run()
    assert other.session_state["classroom_teacher"]["room"] == code


def test_a_students_exports_before_the_reveal_tell_no_other_red_line(cls):
    from sim.classroom import debrief as db

    state, _ = played_room(cls)
    model = cls.model(state)
    full = db.transcript_json(state, model)
    assert "red line" in full                                      # the teacher's (or revealed) transcript has them
    mine = db.transcript_json(state, model, reveal=False, me="russia")
    lines = re.findall(r'"line": "([^"]*)"', mine)                # russia's own line is a person's move
    assert lines and not any("red line" in line for line in lines) and '"held red line"' not in mine
    history = public_history(service.history_of(model), "russia")
    others = history[history["actor"] != "russia"]
    assert not others["reason"].isin(["held red line", "at reservation"]).any()
    table = db.transcript_csv(state, history)
    assert "red line" not in "".join(line for line in table.splitlines() if ",russia," not in line)


def test_a_seats_debrief_before_the_reveal_shows_its_own_utility_only(cls):
    """Every utility is scored with a confidential brief: before the Reveal a seat sees its own, never the others',
    the joint one, the Nash point or the agent-only comparison (on the page and in its printable summary)."""
    from sim.classroom import debrief as db
    from sim.core.colours import actor_colour
    from tests.test_colours import svg_legend

    state, _ = played_room(cls)
    full = db.debrief(state, cls.model(state))
    mine = db.before_reveal(full, "russia")
    assert mine.utilities == {"russia": full.utilities["russia"]}
    assert mine.nash is None and mine.to_nash is None and mine.comparison is None and mine.joint != mine.joint
    assert list(mine.by_round.columns) == ["round", "russia"]
    page = db.summary_html(mine, reveal=False)
    others = [a for a in state.scenario.actors if a.id != "russia"]
    assert f"{full.utilities['russia']:.3f}" in page
    assert not any(f"<td>{a.name}</td><td class='num'>" in page for a in others)
    assert "Nash point" not in page.split("<h2>Utilities</h2>")[1].split("</table>")[0]
    assert "after the teacher's Reveal" in page
    said = page.split("<h2>Utilities</h2>")[1].split("<table>")[0]    # as `table_rules.outcome_utility` scores
    assert "utility of its status quo, or at its walk-away utility where the issue has none" in " ".join(said.split())
    actors = {a.name for a in state.scenario.actors}
    drawn = {name: colour for name, colour in svg_legend(page).items() if name in actors}
    assert drawn == {"Russia": actor_colour(0)}    # its own line only, in its colour of every page
    nobody = db.before_reveal(full, None)
    assert nobody.utilities == {} and list(nobody.by_round.columns) == ["round"]
    assert db.summary_html(nobody, reveal=False)


def test_a_students_transcript_exports_before_the_reveal_hold_no_other_utility_nor_red_line(cls):
    """The student's debrief offers the transcript as CSV and JSON: before the Reveal neither holds another seat's
    utility (scored with its confidential brief) nor an issue's 'why' naming another seat's red line."""
    from sim.classroom import debrief as db

    state, _ = played_room(cls)
    model = cls.model(state)
    full = json.loads(db.transcript_json(state, model))
    assert all(a["utility"] is not None for a in full["result"]["actors"].values())
    mine = json.loads(db.transcript_json(state, model, reveal=False, me="russia"))
    assert mine["result"]["actors"]["russia"]["utility"] == full["result"]["actors"]["russia"]["utility"]
    assert all(a["utility"] is None for actor, a in mine["result"]["actors"].items() if actor != "russia")
    assert not any(issue.get("why") for issue in mine["result"]["issues"].values())
    report = db.before_reveal(db.debrief(state, model), "russia")
    rows = list(csv.DictReader(io.StringIO(db.transcript_csv(state, report.history))))
    assert rows and all(r["utility"] == "" for r in rows if r["actor"] != "russia")
    assert all(r["utility"] != "" for r in rows if r["actor"] == "russia")
