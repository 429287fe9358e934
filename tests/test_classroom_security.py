"""The classroom against students who cheat: seat secrets, the teacher's passphrase and key, attempt limits
and their log, names that try to look like someone else or to run as Markdown or spreadsheet formulas, and a
database that is locked, damaged, read-only or a directory."""

from __future__ import annotations

import csv
import io
import os
import re
import sqlite3
import threading

import pytest

from sim.classroom import (
    Classroom,
    ClassroomError,
    Client,
    NameTaken,
    NotAllowed,
    SeatTaken,
    Store,
    StoreBusy,
    StoreUnavailable,
    TooManyAttempts,
    security,
    store,
)
from sim.classroom import debrief as db
from sim.scenario import baseline
from tests.conftest import ROOM_PASSPHRASE

HUMANS = ["russia", "us"]
PASS = ROOM_PASSPHRASE     # the `room` fixture's (tests/conftest.py)


# ====================================================================== secrets
def test_codes_and_secrets_are_long_random_and_typeable():
    codes = {security.new_code() for _ in range(2000)}
    assert len(codes) == 2000                                   # 2^30 codes: no repeats in 2,000 draws
    for code in list(codes)[:50]:
        assert len(code) == 6 and set(code) <= set(security.ALPHABET)
    secret = security.new_seat_secret()
    assert len(secret) == 12 and set(secret) <= set(security.ALPHABET)
    assert security.normalise_code(security.show_secret(secret).lower()) == secret
    assert len(security.new_teacher_key()) >= 32


def test_a_name_never_opens_a_taken_seat(cls, room):
    code = room.code
    secret = cls.join(code, "russia", "Alice")
    for impostor in ("Alice", "ALICE", "alice ", "\u202eecilA", "Al\u200bice", "Ａｌｉｃｅ"):
        with pytest.raises(SeatTaken) as refused:
            cls.join(code, "russia", impostor)
        assert "Alice" not in str(refused.value)                # the refusal does not name the holder
    assert cls.seat_for(code, secret).actor == "russia"        # the seat is untouched
    assert cls.state(code).seat("russia").token == cls.store.digest(secret)   # and its secret kept hashed
    assert cls.rejoin(code, secret).actor == "russia"
    with pytest.raises(NotAllowed, match="no seat in room"):
        cls.rejoin(code, security.new_seat_secret())


def test_a_new_device_gets_a_taken_seat_only_with_the_teachers_approval(cls, room):
    code, key = room.code, room.room.teacher_key
    old = cls.join(code, "russia", "Alice")
    request = cls.ask_seat(code, "russia", "Alice (new phone)")
    assert request.status == "pending" and request.token != old
    with pytest.raises(NotAllowed):                             # not a seat yet
        cls.seat_for(code, request.token)
    with pytest.raises(NotAllowed):                             # nor can a student answer requests
        cls.decide_request(code, "guess", request.id, True)
    assert [r.id for r in cls.seat_requests(code, key)] == [request.id]
    cls.decide_request(code, key, request.id, approve=True)
    assert cls.request_status(code, request.id, request.token).status == "approved"
    assert cls.seat_for(code, request.token).actor == "russia"
    with pytest.raises(NotAllowed, match="no longer hold a seat"):
        cls.seat_for(code, old)                                 # the old browser lost it
    refused = cls.ask_seat(code, "russia", "Mallory")
    cls.decide_request(code, key, refused.id, approve=False)
    assert cls.request_status(code, refused.id, refused.token).status == "refused"
    assert cls.state(code).seat("russia").player == "Alice (new phone)"
    with pytest.raises(NotAllowed):
        cls.request_status(code, refused.id, "not its token")
    kinds = [e.kind for e in cls.events(code)]
    assert "seat handed over" in kinds and "seat request refused" in kinds


def test_the_teacher_moves_a_student_and_their_browser_follows(cls, room):
    code, key = room.code, room.room.teacher_key
    secret = cls.join(code, "russia", "Alice")
    cls.move_student(code, key, "russia", "us")
    state = cls.state(code)
    assert state.seat("us").player == "Alice" and not state.seat("russia").taken
    assert cls.seat_for(code, secret).actor == "us"
    with pytest.raises(NotAllowed):
        cls.move_student(code, key, "us", "nato")               # an agent seat


def test_the_console_needs_the_passphrase_or_the_session_key(cls, room):
    code, key = room.code, room.room.teacher_key
    assert cls.check_teacher(code, key).code == code
    stored = cls.state(code).room.teacher_hash
    assert stored.startswith("scrypt$") and PASS not in stored  # never kept in clear
    for guess in ("", "nope", key[:6], code):
        with pytest.raises(NotAllowed):
            cls.check_teacher(code, guess)
        with pytest.raises(NotAllowed):
            cls.start(code, guess)
    with pytest.raises(NotAllowed, match="wrong passphrase"):
        cls.open_console(code, "correct horse")
    assert cls.open_console(code.lower(), PASS).room.teacher_key == key
    with pytest.raises(ClassroomError, match="at least 8 characters"):
        cls.create_room(baseline(), human_seats=HUMANS, passphrase="short")


# ====================================================================== limits and the log
def test_wrong_guesses_are_limited_per_session_address_and_room_and_logged(cls, room, clock):
    code, key = room.code, room.room.teacher_key
    secret = cls.join(code, "russia", "Alice")
    eve = Client(session="eve", address="10.0.0.9")
    limit = security.LIMITS["seat secret"]
    for _ in range(limit.per_session):
        with pytest.raises(NotAllowed):
            cls.rejoin(code, security.new_seat_secret(), eve)
    with pytest.raises(TooManyAttempts, match="wait 10 minutes"):
        cls.rejoin(code, secret, eve)                           # even the right secret: the session is blocked
    # a new session from the same address has its own allowance, until the address's runs out
    for n in range(limit.per_address - limit.per_session):
        with pytest.raises(NotAllowed):
            cls.rejoin(code, security.new_seat_secret(), Client(session=f"eve{n // 5}", address="10.0.0.9"))
    with pytest.raises(TooManyAttempts, match="network address"):
        cls.rejoin(code, secret, Client(session="fresh", address="10.0.0.9"))
    assert cls.rejoin(code, secret, Client(session="alice", address="10.0.0.2")).actor == "russia"
    clock.now += limit.window + 1                               # the window passes: eve may try again
    assert cls.rejoin(code, secret, eve).actor == "russia"
    logged = cls.attempts(code, key, limit=100)
    assert len(logged) == limit.per_address and {a.kind for a in logged} == {"seat secret"}
    assert all(not a.ok and a.target == code for a in logged)

    # room codes: per session
    for n in range(security.LIMITS["room code"].per_session):
        with pytest.raises(ClassroomError, match="no room with code"):
            cls.find_room(f"ZZZZZ{n}", Client("guesser"))
    with pytest.raises(TooManyAttempts, match="room codes"):
        cls.find_room(code, Client("guesser"))
    assert cls.find_room(code, Client("student")).code == code


def test_guesses_from_browsers_without_an_address_share_one_address_limit(cls, room, clock):
    """Streamlit gives no address for a browser on 127.0.0.1 / ::1 or behind a proxy on the machine, and a
    reload is a new session: a fresh session per guess must still run into the per-address limit."""
    code, key = room.code, room.room.teacher_key
    secret = cls.join(code, "russia", "Alice")
    limit = security.LIMITS["seat secret"]
    for n in range(limit.per_address):
        with pytest.raises(NotAllowed):
            cls.rejoin(code, security.new_seat_secret(), Client(session=f"reload{n}"))     # every guess a reload
    with pytest.raises(TooManyAttempts, match="without a known network address"):
        cls.rejoin(code, secret, Client(session="one more reload"))
    assert cls.rejoin(code, secret, Client(session="alice", address="10.0.0.2")).actor == "russia"   # a known one
    logged = cls.attempts(code, key, limit=100)
    assert len(logged) == limit.per_address and {a.address for a in logged} == {security.UNKNOWN_ADDRESS}

    codes = security.LIMITS["room code"]
    for n in range(codes.per_address):
        with pytest.raises(ClassroomError, match="no room with code"):
            cls.find_room(f"ZZZZ{n:02d}", Client(session=f"guess{n}"))
    with pytest.raises(TooManyAttempts, match="room codes from browsers without a known network address"):
        cls.find_room(code, Client(session="another reload"))
    clock.now += codes.window + 1                               # the window passes: the bucket empties
    assert cls.find_room(code, Client(session="later")).code == code


def test_passphrase_guesses_against_one_room_are_capped_across_sessions(cls, room):
    code, key = room.code, room.room.teacher_key
    cap = security.LIMITS["teacher passphrase"].per_target
    for n in range(cap):
        with pytest.raises(NotAllowed):
            cls.open_console(code, f"guess number {n}", Client(session=f"s{n}", address=f"10.0.0.{n}"))
    with pytest.raises(TooManyAttempts, match=f"room {code}") as refused:
        cls.open_console(code, PASS, Client(session="teacher", address="10.0.0.200"))
    assert f"passphrases against room {code} lately" in str(refused.value)     # not "from room ..."
    assert "from room" not in str(refused.value)
    assert cls.check_teacher(code, key)                         # the open console is not locked out


# ====================================================================== names
@pytest.mark.parametrize(("raw", "clean"), [
    ("  Ana   Lopez ", "Ana Lopez"),
    ("\u202eecilA", "ecilA"),                                   # a right-to-left override cannot fake "Alice"
    ("Al\u200bi\u200dce\ufeff", "Alice"),                       # zero-width characters go
    ("Ａｌｉｃｅ", "Alice"),                                    # full-width letters are letters (NFKC)
    ("𝐀𝐥𝐢𝐜𝐞", "Alice"),                                       # so are mathematical bold ones
    ("\u034fAlice", "Alice"),                                  # a combining grapheme joiner is invisible
    ("Al\u034fi\ufe0fce\U000e0041", "Alice"),                  # so are variation selectors and tags
    ("\u0301Alice \u0301B", "Alice B"),                         # a mark with no letter to sit on goes
    ("Zoe\u0308", "Zoë"),                                       # one on a letter stays
    ("x" * 60, "x" * security.MAX_NAME),
    ("**bold** ![](http://h/px.png)", "**bold** ![](http://h/px.png)"),   # kept, escaped where shown
])
def test_names_are_normalised_and_stripped(raw, clean):
    assert security.clean_name(raw) == clean


@pytest.mark.parametrize("raw", ["", "   ", "\u200b\u200c\u200d", "\u202e\u202c", "\u3164\u3164", "***", "\u2800"])
def test_invisible_or_empty_names_are_refused(raw):
    with pytest.raises(ValueError, match="type your name"):
        security.clean_name(raw)


LOOKS_LIKE_ALICE = ["Alice", "ALICE", "alice ", "Al\u200bice", "Ａｌｉｃｅ", "𝐀lice", "\u0410lice",  # Cyrillic A
                    "\u0410l\u0456\u0441\u0435",                     # Cyrillic A, i, c, e
                    "\u0391lice", "\u034fAlice", "\u034f\u0410lice",  # Greek Alpha; a leading joiner
                    "AIice", "A1ice", "Alicé", "A-lice", "\u202eAlice"]


@pytest.mark.parametrize("name", LOOKS_LIKE_ALICE)
def test_names_that_look_the_same_have_the_same_key(name):
    assert security.name_key(security.clean_name(name)) == security.name_key("Alice")


@pytest.mark.parametrize(("a", "b"), [("Alice", "Alina"), ("Alice", "Alice B"), ("Ana", "Ann"), ("Ivan", "Иван"),
                                      ("李明", "李朋"), ("Team 1", "Team 2"), ("Zoë", "Zoa")])
def test_different_names_keep_different_keys(a, b):
    assert security.name_key(a) != security.name_key(b)


def test_a_name_that_looks_like_a_seated_students_is_refused(cls, room):
    code, key = room.code, room.room.teacher_key
    cls.join(code, "russia", "Alice")
    for impostor in LOOKS_LIKE_ALICE:
        with pytest.raises(NameTaken, match="already used in this room") as refused:
            cls.join(code, "us", impostor)                      # a free seat, under her name
        assert "Alice" not in str(refused.value)
        with pytest.raises(NameTaken, match="already used in this room"):
            cls.ask_seat(code, "russia", impostor)              # "Alice asks for Russia, now held by Alice"
    state = cls.state(code)
    assert not state.seat("us").taken and cls.seat_requests(code, key) == []
    assert cls.ask_seat(code, "russia", "Alice, new phone").status == "pending"   # told apart: allowed
    assert cls.join(code, "us", "Alice B")


def test_a_request_whose_name_is_taken_meanwhile_is_not_approved(cls, room):
    code, key = room.code, room.room.teacher_key
    cls.join(code, "russia", "Alice")
    request = cls.ask_seat(code, "russia", "Bob")
    cls.join(code, "us", "B\u043eb")                          # someone sits down as "Bob" (Cyrillic o) meanwhile
    with pytest.raises(NameTaken, match="refuse it"):
        cls.decide_request(code, key, request.id, approve=True)
    assert cls.state(code).seat("russia").player == "Alice"
    assert [r.id for r in cls.seat_requests(code, key)] == [request.id]
    cls.decide_request(code, key, request.id, approve=False)


def gfm_autolinks(markdown: str) -> list[str]:
    """The addresses GitHub-flavoured Markdown (Streamlit's renderer, remark-gfm) would turn into links in this
    text: its literal-autolink patterns, run as it runs them, on the text after backslash escapes are resolved."""
    text = re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", markdown)
    urls = re.findall(r"(?:https?://|www(?=\.))[-.\w]+", text, flags=re.IGNORECASE | re.ASCII)
    mails = re.findall(r"[-.\w+]+@[-\w]+(?:\.[-\w]+)+", text, flags=re.ASCII)
    return urls + mails


@pytest.mark.parametrize("name", ["http://127.0.0.1:9/p.png", "see HTTPS://evil.example/x", "www.evil.example",
                                  "WwW.evil.example", "eve@evil.example", "![](http://h/px.png)",
                                  "http://www.evil.example", "https://xn--80ak6aa92e.com"])
def test_an_address_in_a_name_is_not_a_live_link(name):
    assert gfm_autolinks(security._MARKDOWN_SPECIAL.sub(r"\\\1", name))   # escaping alone: still a link
    escaped = security.markdown_escape(name)
    assert gfm_autolinks(escaped) == []
    shown = re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", escaped)
    assert "://" not in shown.replace("://\u200b", "")        # no '://' that an address could follow
    assert shown.replace("\u200b", "") == name                 # and the name still reads as typed


def test_markdown_in_names_is_shown_literally():
    escaped = security.markdown_escape("![](http://h/px.png) **b** [x](y) :red[z] $x$ <img>")
    for ch in "![]()*:$<>":
        assert ch not in escaped.replace("\\" + ch, "")        # every special character is escaped


def test_csv_export_neutralises_formulas(cls, room):
    code, key = room.code, room.room.teacher_key
    tokens = {"russia": cls.join(code, "russia", "=HYPERLINK(\"http://evil\")"),
              "us": cls.join(code, "us", "@SUM(A1)")}
    cls.start(code, key)
    cls.submit_move(code, "russia", tokens["russia"], 1, offers={"expansion": 90})
    cls.submit_move(code, "us", tokens["us"], 1, accept=True)
    state = cls.state(code)
    model = cls.model(state)
    report = db.debrief(state, model)
    text = db.transcript_csv(state, report.history)
    rows = list(csv.reader(io.StringIO(text)))
    cells = [cell for row in rows[1:] for cell in row]
    assert not any(cell.startswith(("=", "+", "@")) for cell in cells)
    players = {row[rows[0].index("player")] for row in rows[1:]}
    assert {"'=HYPERLINK(\"http://evil\")", "'@SUM(A1)"} <= players


# ====================================================================== faults
def test_a_locked_database_is_retried_then_refused_plainly(cls, room, monkeypatch):
    code, key = room.code, room.room.teacher_key
    secret = cls.join(code, "russia", "Alice")
    cls.start(code, key)
    monkeypatch.setattr(store, "BUSY_TIMEOUT_S", 0.05)
    monkeypatch.setattr(store, "WRITE_PATIENCE_S", 0.6)
    holder = sqlite3.connect(cls.store.path, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")                           # another writer holds the lock ...
    try:
        with pytest.raises(StoreBusy, match="nothing was stored - wait a moment and press the button again"):
            cls.submit_move(code, "russia", secret, 1, offers={"expansion": 90})
    finally:
        holder.execute("ROLLBACK")
    assert cls.state(code).moves == []
    # ... and a lock released during the retries is waited for
    holder.execute("BEGIN IMMEDIATE")
    timer = threading.Timer(0.3, lambda: holder.execute("ROLLBACK"))
    timer.start()
    receipt = cls.submit_move(code, "russia", secret, 1, offers={"expansion": 90})
    timer.join()
    holder.close()
    assert receipt.revision == 1 and len(cls.state(code).moves) == 1


def test_a_damaged_or_unusable_file_gives_one_message_naming_it(tmp_path):
    damaged = tmp_path / "damaged.sqlite3"
    damaged.write_bytes(b"this is not a database" * 300)
    with pytest.raises(StoreUnavailable) as err:
        Store(damaged)
    assert str(damaged) in str(err.value) and "NEGSIM_CLASSROOM_DB" in str(err.value)
    assert "damaged" in str(err.value) and "\n" not in str(err.value)
    with pytest.raises(StoreUnavailable, match="is a directory"):
        Store(tmp_path)
    # a file damaged while the app runs: the next request gets the same kind of message
    path = tmp_path / "live.sqlite3"
    cls = Classroom(path)
    state = cls.create_room(baseline(), human_seats=HUMANS)
    for suffix in ("", "-wal", "-shm"):
        p = path.with_name(path.name + suffix)
        if p.exists():
            p.write_bytes(b"\x00garbage" * 1000)
    with pytest.raises(StoreUnavailable, match="NEGSIM_CLASSROOM_DB"):
        cls.state(state.code)


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores file permissions")
def test_a_read_only_file_gives_one_message_naming_it(tmp_path):
    path = tmp_path / "ro.sqlite3"
    Store(path)
    folder = tmp_path
    for p in folder.iterdir():
        p.chmod(0o444)
    folder.chmod(0o555)
    try:
        with pytest.raises(StoreUnavailable, match="read-only|cannot be opened") as err:
            Classroom(path).create_room(baseline(), human_seats=HUMANS)
        assert str(path) in str(err.value)
    finally:
        folder.chmod(0o755)


def test_a_file_from_before_passphrases_is_migrated_and_its_rooms_open_with_the_old_key(tmp_path):
    path = tmp_path / "v1.sqlite3"
    cls = Classroom(path)
    state = cls.create_room(baseline(), human_seats=HUMANS)
    con = sqlite3.connect(path, isolation_level=None)          # make it look like a version-1 file
    con.execute("UPDATE rooms SET teacher_key = 'K7QM2X', teacher_hash = NULL")
    con.execute("ALTER TABLE rooms DROP COLUMN teacher_hash")
    con.execute("DROP TABLE seat_requests")
    con.execute("DROP TABLE attempts")
    con.execute("UPDATE meta SET value = '1' WHERE key = 'schema_version'")
    con.close()
    again = Classroom(path)
    room = again.state(state.code).room
    assert room.teacher_hash is None
    assert again.open_console(state.code, "k7qm2x").room.teacher_key == "K7QM2X"
    with pytest.raises(NotAllowed, match="type its teacher key"):
        again.open_console(state.code, "wrong one")
    assert again.ask_seat(state.code, "russia", "Ana").status == "pending"     # the new tables exist


# ====================================================================== the address students open
@pytest.mark.parametrize(("browser", "lan", "override", "expected"), [
    ("http://localhost:8501/?role=teacher", "192.168.1.5", None, "http://192.168.1.5:8501/?room=K7QM2X"),
    ("http://127.0.0.1:8501/", "10.0.0.7", None, "http://10.0.0.7:8501/?room=K7QM2X"),
    ("http://10.0.0.3:8501/", "192.168.1.5", None, "http://10.0.0.3:8501/?room=K7QM2X"),     # as the teacher typed
    ("https://class.school.org/negsim/", None, None, "https://class.school.org/negsim/?room=K7QM2X"),
    ("http://localhost:8501/", None, None, "http://localhost:8501/?room=K7QM2X"),          # no LAN: flagged
    ("http://localhost:8501/", "192.168.1.5", "http://laptop.local:8501", "http://laptop.local:8501/?room=K7QM2X"),
])
def test_the_join_address_is_one_students_can_open(browser, lan, override, expected):
    from dashboard.classroom_views.common import join_url

    assert join_url(browser, "K7QM2X", lan, override) == expected


def test_the_qr_code_is_a_png():
    from dashboard.classroom_views.common import qr_png

    assert qr_png("http://192.168.1.5:8501/?room=K7QM2X").startswith(b"\x89PNG\r\n\x1a\n")


@pytest.mark.parametrize(("error", "words"), [
    (sqlite3.OperationalError("attempt to write a readonly database"), "read-only"),
    (PermissionError(13, "Permission denied"), "read-only"),
    (sqlite3.DatabaseError("file is not a database"), "damaged"),
    (sqlite3.DatabaseError("database disk image is malformed"), "damaged"),
    (sqlite3.OperationalError("unable to open database file"), "cannot be opened"),
    (IsADirectoryError(21, "Is a directory"), "directory"),
])
def test_every_unusable_file_is_explained_in_the_teachers_words(tmp_path, error, words):
    message = str(Store(tmp_path / "ok.sqlite3")._unavailable(error))
    assert words in message and "NEGSIM_CLASSROOM_DB" in message and str(tmp_path / "ok.sqlite3") in message


def test_a_path_under_a_file_is_refused_with_the_message(tmp_path):
    blocker = tmp_path / "not_a_folder"
    blocker.write_text("x")
    with pytest.raises(StoreUnavailable, match="NEGSIM_CLASSROOM_DB"):
        Store(blocker / "classroom.sqlite3")
