"""The classroom's SQLite store: rooms, seats, moves, injects, closed rounds and an event log.

One file shared by every Streamlit session and process (WAL mode, so readers never block the writer).
Every change runs in a `BEGIN IMMEDIATE` transaction (`Store.write`), which takes the write lock up front:
concurrent writers queue instead of failing half-way, and a read-check-write sequence (is the round still
open? has every seat moved?) cannot interleave with another. A call returns only after COMMIT, with
`synchronous=FULL`, so an acknowledged move survives a crash or a server restart.

Faults become one-line `ClassroomError`s, never tracebacks: a write lock still held by others after retries
with growing, jittered pauses (`WRITE_PATIENCE_S` in all) is `StoreBusy` (nothing was stored; the person can
press the button again); a file that cannot be used at all (damaged, not a database, read-only, a directory)
is `StoreUnavailable`, naming the path and NEGSIM_CLASSROOM_DB.

The file holds what happened, not the model's state: a room is rebuilt from its scenario (stored as JSON),
its seed, and the logged moves and injects (`sim.classroom.replay`).

Path: the argument, else the environment variable NEGSIM_CLASSROOM_DB, else ~/.negsim/classroom.sqlite3.

Secrets at rest: seat secrets, request tokens, teacher session keys and recovery codes are stored only as keyed
hashes (`security.digest`) under a random key kept next to the database in `<file>.key` (0600). The database
file is created 0600 and a folder it creates 0700 (the default folder is tightened to 0700). A file written
before hashing (schema < 3) is migrated in place on first open; a file whose secrets are hashed but whose key file
is gone is refused with a message that says so (its secrets can no longer be checked).
"""

from __future__ import annotations

import json
import logging
import os
import random
import secrets
import sqlite3
import stat
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sim.classroom import security
from sim.classroom.errors import StoreBusy, StoreUnavailable

ENV_VAR = "NEGSIM_CLASSROOM_DB"
SCHEMA_VERSION = 3           # 3: secrets stored as keyed hashes; recovery codes
KEY_SUFFIX = ".key"          # the database's hashing key: <file>.key next to it
SECRET_COLUMNS = (("seats", "token"), ("seat_requests", "token"), ("rooms", "teacher_key"))
BUSY_TIMEOUT_S = 2.0         # SQLite's own wait for the lock, per try
WRITE_PATIENCE_S = 20.0      # all tries together, before a writer gives up with StoreBusy
FIRST_PAUSE_S = 0.02         # pause after the first failed try; doubles (with jitter) up to MAX_PAUSE_S
MAX_PAUSE_S = 1.0
LOG = logging.getLogger("negsim.classroom")

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS rooms (
    code             TEXT PRIMARY KEY,
    title            TEXT NOT NULL,
    scenario_id      TEXT NOT NULL,
    scenario_json    TEXT NOT NULL,      -- the prepared scenario, exactly as played
    seed             INTEGER NOT NULL,
    timer_seconds    INTEGER NOT NULL DEFAULT 0,   -- 0: no round timer
    teacher_key      TEXT NOT NULL,      -- keyed hash of the console's session secret (never shown)
    status           TEXT NOT NULL CHECK (status IN ('lobby', 'running', 'paused', 'ended')),
    rounds_closed    INTEGER NOT NULL DEFAULT 0,
    round_started_at REAL,               -- wall clock when the open round began (running rooms)
    paused_left      REAL,               -- seconds left on the round timer when paused
    revealed         INTEGER NOT NULL DEFAULT 0,   -- confidential briefs shown to everyone
    outcome          TEXT,
    ended_by         TEXT,
    created_at       REAL NOT NULL,
    updated_at       REAL NOT NULL,
    teacher_hash     TEXT,               -- scrypt hash of the teacher's passphrase (v1 rooms: NULL)
    recovery_hash    TEXT                -- keyed hash of the recovery code shown at creation (v3 on)
);
CREATE TABLE IF NOT EXISTS seats (
    room       TEXT NOT NULL REFERENCES rooms(code) ON DELETE CASCADE,
    actor      TEXT NOT NULL,
    ord        INTEGER NOT NULL,         -- the actor's place in the scenario
    human      INTEGER NOT NULL,         -- 1: a person plays it; 0: an agent
    player     TEXT,                     -- the student's name once taken
    token      TEXT,                     -- keyed hash of the seat's secret (kept in the student's browser)
    joined_at  REAL,
    last_seen  REAL,
    PRIMARY KEY (room, actor)
);
CREATE TABLE IF NOT EXISTS moves (
    room         TEXT NOT NULL REFERENCES rooms(code) ON DELETE CASCADE,
    round        INTEGER NOT NULL,       -- the round the move is for (1 = first)
    actor        TEXT NOT NULL,
    offers       TEXT NOT NULL,          -- JSON {issue id: native value}
    accepted     INTEGER NOT NULL,       -- 1: the seat accepted the standing proposal
    revision     INTEGER NOT NULL,       -- 1 = first submission this round; a resubmission replaces it
    submitted_at REAL NOT NULL,
    PRIMARY KEY (room, round, actor)
);
CREATE TABLE IF NOT EXISTS injects (
    room        TEXT NOT NULL REFERENCES rooms(code) ON DELETE CASCADE,
    seq         INTEGER NOT NULL,
    after_round INTEGER NOT NULL,        -- played after this many rounds had closed
    inject      TEXT NOT NULL,
    played_at   REAL NOT NULL,
    PRIMARY KEY (room, seq)
);
CREATE TABLE IF NOT EXISTS rounds (
    room      TEXT NOT NULL REFERENCES rooms(code) ON DELETE CASCADE,
    round     INTEGER NOT NULL,
    closed_by TEXT NOT NULL,             -- 'all moved', 'timer' or 'teacher'
    closed_at REAL NOT NULL,
    tension   REAL NOT NULL,             -- state after the round, to check replays against
    proposal  TEXT NOT NULL,             -- JSON {issue id: native value}
    outcome   TEXT,                      -- set when the talks ended in this round
    PRIMARY KEY (room, round)
);
CREATE TABLE IF NOT EXISTS events (
    id     INTEGER PRIMARY KEY AUTOINCREMENT,
    room   TEXT NOT NULL REFERENCES rooms(code) ON DELETE CASCADE,
    at     REAL NOT NULL,
    kind   TEXT NOT NULL,
    actor  TEXT,
    detail TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS events_room ON events (room, id);
CREATE TABLE IF NOT EXISTS seat_requests (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    room      TEXT NOT NULL REFERENCES rooms(code) ON DELETE CASCADE,
    actor     TEXT NOT NULL,
    player    TEXT NOT NULL,             -- the name the asker typed (a label, not a credential)
    token     TEXT NOT NULL,             -- keyed hash; becomes the seat's if the teacher approves
    session   TEXT NOT NULL DEFAULT '',  -- the asking browser session (caps per requester)
    address   TEXT NOT NULL DEFAULT '',  -- and its network address bucket
    status    TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'refused')),
    asked_at  REAL NOT NULL,
    decided_at REAL
);
CREATE INDEX IF NOT EXISTS seat_requests_room ON seat_requests (room, status);
CREATE TABLE IF NOT EXISTS attempts (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    at      REAL NOT NULL,
    kind    TEXT NOT NULL,               -- 'room code', 'seat secret', 'teacher passphrase'
    session TEXT NOT NULL,               -- the browser session that tried
    address TEXT NOT NULL,               -- its network address ('' if unknown)
    target  TEXT NOT NULL,               -- the room tried against, or the code typed
    ok      INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS attempts_session ON attempts (kind, session, at);
CREATE INDEX IF NOT EXISTS attempts_address ON attempts (kind, address, at);
CREATE INDEX IF NOT EXISTS attempts_target ON attempts (kind, target, at);
CREATE TABLE IF NOT EXISTS console_browsers (
    room    TEXT NOT NULL REFERENCES rooms(code) ON DELETE CASCADE,
    browser TEXT NOT NULL,               -- keyed hash of a browser that made or opened the room's console
    at      REAL NOT NULL,
    PRIMARY KEY (room, browser)
);
CREATE TABLE IF NOT EXISTS agent_runs (
    scenario_hash TEXT NOT NULL,
    root_seed     INTEGER NOT NULL,
    replicates    INTEGER NOT NULL,
    data          BLOB NOT NULL,         -- Parquet bytes of the sim.service.monte_carlo table
    created_at    REAL NOT NULL,
    PRIMARY KEY (scenario_hash, root_seed, replicates)
);
"""


def default_path() -> Path:
    """NEGSIM_CLASSROOM_DB if set, else ~/.negsim/classroom.sqlite3."""
    env = os.environ.get(ENV_VAR, "").strip()
    return Path(env).expanduser() if env else Path.home() / ".negsim" / "classroom.sqlite3"


# ====================================================================== rows
@dataclass(frozen=True)
class Room:
    code: str
    title: str
    scenario_id: str
    scenario_json: str
    seed: int
    timer_seconds: int
    teacher_key: str
    status: str
    rounds_closed: int
    round_started_at: float | None
    paused_left: float | None
    revealed: bool
    outcome: str | None
    ended_by: str | None
    created_at: float
    updated_at: float
    teacher_hash: str | None = None
    recovery_hash: str | None = None

    @property
    def open_round(self) -> int:
        """The round being played (1 = first); while in the lobby, the round about to start."""
        return self.rounds_closed + 1


@dataclass(frozen=True)
class Seat:
    room: str
    actor: str
    ord: int
    human: bool
    player: str | None
    token: str | None
    joined_at: float | None
    last_seen: float | None

    @property
    def taken(self) -> bool:
        return self.player is not None


@dataclass(frozen=True)
class Move:
    room: str
    round: int
    actor: str
    offers: dict[str, float]
    accepted: bool
    revision: int
    submitted_at: float


@dataclass(frozen=True)
class PlayedInject:
    room: str
    seq: int
    after_round: int
    inject: str
    played_at: float


@dataclass(frozen=True)
class ClosedRound:
    room: str
    round: int
    closed_by: str
    closed_at: float
    tension: float
    proposal: dict[str, float]
    outcome: str | None


@dataclass(frozen=True)
class SeatRequest:
    id: int
    room: str
    actor: str
    player: str
    token: str
    status: str
    asked_at: float
    decided_at: float | None
    session: str = ""
    address: str = ""


@dataclass(frozen=True)
class Attempt:
    id: int
    at: float
    kind: str
    session: str
    address: str
    target: str
    ok: bool


@dataclass(frozen=True)
class Event:
    id: int
    room: str
    at: float
    kind: str
    actor: str | None
    detail: dict[str, Any]


def _room(row: sqlite3.Row) -> Room:
    data = dict(row)
    data["revealed"] = bool(data["revealed"])
    return Room(**data)


def _seat(row: sqlite3.Row) -> Seat:
    data = dict(row)
    data["human"] = bool(data["human"])
    return Seat(**data)


def _move(row: sqlite3.Row) -> Move:
    data = dict(row)
    data["offers"] = json.loads(data["offers"])
    data["accepted"] = bool(data["accepted"])
    return Move(**data)


def _round(row: sqlite3.Row) -> ClosedRound:
    data = dict(row)
    data["proposal"] = json.loads(data["proposal"])
    return ClosedRound(**data)


def _event(row: sqlite3.Row) -> Event:
    data = dict(row)
    data["detail"] = json.loads(data["detail"])
    return Event(**data)


# ====================================================================== the store
class Store:
    """The SQLite file. Thread- and process-safe: every operation opens its own short-lived connection.

    Raises StoreUnavailable (naming the path and NEGSIM_CLASSROOM_DB) when the file cannot be used."""

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path).expanduser() if path is not None else default_path()
        self.key_path = self.path.with_name(self.path.name + KEY_SUFFIX)
        try:
            _private_folder(self.path.parent, tighten=path is None or self.path == default_path())
        except OSError as err:
            raise self._unavailable(err) from None
        with self._guard():
            if self.path.is_dir():
                raise self._unavailable("it is a directory, not a file")
            _private_file(self.path)
            self.key = self._key()
            con = self._connect()
            try:
                if _is_current(con):                     # set up already: open without taking any lock
                    return
                self._retry(lambda: con.execute("PRAGMA journal_mode=WAL"))   # persistent: recorded in the file
                self._begin_immediate(con)               # one process creates or migrates; the others wait
                try:
                    for statement in _statements(SCHEMA):   # idempotent (IF NOT EXISTS)
                        con.execute(statement)
                    _migrate(con, self.key)
                    con.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('schema_version', ?)",
                                (str(SCHEMA_VERSION),))
                except BaseException:
                    con.execute("ROLLBACK")
                    raise
                con.execute("COMMIT")
            finally:
                con.close()

    # ------------------------------------------------------------------ the hashing key
    def _key(self) -> bytes:
        """The database's hashing key (created with a new database; refused when a hashed database lost it)."""
        for _ in range(50):
            try:
                text = self.key_path.read_text().strip()
            except FileNotFoundError:
                if self._hashed_already():
                    raise self._unavailable(
                        f"its seat secrets and teacher keys are stored hashed under the key file {self.key_path}, "
                        f"which is missing, so no secret in it can be checked. Restore that file next to the "
                        f"database") from None
                _write_key(self.key_path)
                continue
            if len(text) == 64 and all(c in "0123456789abcdef" for c in text):
                _private_file(self.key_path)
                return bytes.fromhex(text)
            if text:
                raise self._unavailable(f"its key file {self.key_path} is damaged (64 hex digits expected)")
            time.sleep(0.01)                          # another process is writing it right now
        raise self._unavailable(f"its key file {self.key_path} stays empty")

    def _hashed_already(self) -> bool:
        """True if the database file holds hashed secrets (schema 3 or later)."""
        if not self.path.exists() or self.path.stat().st_size == 0:
            return False
        con = self._connect()
        try:
            row = con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        except sqlite3.OperationalError:
            return False
        finally:
            con.close()
        return row is not None and row[0].isdigit() and int(row[0]) >= 3

    def digest(self, secret: str) -> str:
        """How a secret is stored (`security.digest` under this database's key)."""
        return security.digest(self.key, secret)

    def matches(self, stored: str | None, given: object) -> bool:
        """Constant-time: does what a browser sent open the secret stored as `stored`?"""
        return security.digest_matches(self.key, stored, given)

    def derive(self, purpose: str, *parts: str) -> str:
        return security.derive(self.key, purpose, *parts)

    def _connect(self) -> sqlite3.Connection:
        con = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False)
        con.row_factory = sqlite3.Row
        con.execute("PRAGMA synchronous=FULL")      # a commit is on disk before the call returns
        con.execute("PRAGMA foreign_keys=ON")
        return con

    # ------------------------------------------------------------------ faults -> one-line messages
    def _unavailable(self, why: object) -> StoreUnavailable:
        reason = _reason(why)
        LOG.error("classroom database %s unusable: %s", self.path, why)
        return StoreUnavailable(f"the classroom database {self.path} cannot be used: {reason}. Move or repair "
                                f"that file, or set {ENV_VAR} to another file, then restart the app")

    @contextmanager
    def _guard(self) -> Iterator[None]:
        """SQLite and file-system errors inside -> StoreBusy / StoreUnavailable (ClassroomErrors pass through)."""
        try:
            yield
        except (sqlite3.ProgrammingError, sqlite3.InterfaceError):
            raise                                    # a bug in the caller, not a fault of the file
        except sqlite3.OperationalError as err:
            if _busy(err):
                raise StoreBusy("the classroom is very busy right now and nothing was stored - wait a moment "
                                "and press the button again") from None
            raise self._unavailable(err) from None
        except (sqlite3.DatabaseError, OSError) as err:
            raise self._unavailable(err) from None

    def _begin_immediate(self, con: sqlite3.Connection) -> None:
        """Take the write lock (see `_retry`)."""
        self._retry(lambda: con.execute("BEGIN IMMEDIATE"))

    @staticmethod
    def _retry(take_lock: Callable[[], object]) -> None:
        """Run `take_lock`; when other writers hold the lock past SQLite's busy timeout, pause (doubling, with
        jitter so queued writers do not retry in step) and try again until WRITE_PATIENCE_S has passed."""
        deadline = time.monotonic() + WRITE_PATIENCE_S
        pause = FIRST_PAUSE_S
        while True:
            try:
                take_lock()
                return
            except sqlite3.OperationalError as err:
                left = deadline - time.monotonic()
                if not _busy(err) or left <= 0:
                    raise
                LOG.info("classroom database busy, retrying in %.2f s", pause)
                time.sleep(min(left, pause * (0.5 + random.random())))   # jitter: timing only, not the model
                pause = min(MAX_PAUSE_S, pause * 2)

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """A write transaction: BEGIN IMMEDIATE ... COMMIT (ROLLBACK on any exception)."""
        with self._guard():
            con = self._connect()
            try:
                self._begin_immediate(con)
                try:
                    yield con
                except BaseException:
                    con.execute("ROLLBACK")
                    raise
                con.execute("COMMIT")
            finally:
                con.close()

    @contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        """A read transaction: one consistent snapshot across several queries."""
        with self._guard():
            con = self._connect()
            try:
                con.execute("BEGIN")
                try:
                    yield con
                finally:
                    con.execute("ROLLBACK")
            finally:
                con.close()

    def journal_mode(self) -> str:
        with self.read() as con:
            return con.execute("PRAGMA journal_mode").fetchone()[0]

    # ------------------------------------------------------------------ queries (inside read/write)
    @staticmethod
    def room(con: sqlite3.Connection, code: str) -> Room | None:
        row = con.execute("SELECT * FROM rooms WHERE code = ?", (code,)).fetchone()
        return _room(row) if row else None

    @staticmethod
    def rooms(con: sqlite3.Connection) -> list[Room]:
        return [_room(r) for r in con.execute("SELECT * FROM rooms ORDER BY created_at DESC")]

    @staticmethod
    def seats(con: sqlite3.Connection, code: str) -> list[Seat]:
        return [_seat(r) for r in con.execute("SELECT * FROM seats WHERE room = ? ORDER BY ord", (code,))]

    @staticmethod
    def moves(con: sqlite3.Connection, code: str, round: int | None = None) -> list[Move]:
        if round is None:
            rows = con.execute("SELECT * FROM moves WHERE room = ? ORDER BY round, actor", (code,))
        else:
            rows = con.execute("SELECT * FROM moves WHERE room = ? AND round = ? ORDER BY actor", (code, round))
        return [_move(r) for r in rows]

    @staticmethod
    def injects(con: sqlite3.Connection, code: str) -> list[PlayedInject]:
        rows = con.execute("SELECT * FROM injects WHERE room = ? ORDER BY seq", (code,))
        return [PlayedInject(**dict(r)) for r in rows]

    @staticmethod
    def closed_rounds(con: sqlite3.Connection, code: str) -> list[ClosedRound]:
        return [_round(r) for r in con.execute("SELECT * FROM rounds WHERE room = ? ORDER BY round", (code,))]

    @staticmethod
    def events(con: sqlite3.Connection, code: str, limit: int | None = None) -> list[Event]:
        if limit is None:
            rows = con.execute("SELECT * FROM events WHERE room = ? ORDER BY id", (code,))
        else:
            rows = con.execute("SELECT * FROM (SELECT * FROM events WHERE room = ? ORDER BY id DESC LIMIT ?) "
                               "ORDER BY id", (code, limit))
        return [_event(r) for r in rows]

    # ------------------------------------------------------------------ changes (inside write)
    @staticmethod
    def insert_room(con: sqlite3.Connection, room: Room) -> None:
        fields = room.__dataclass_fields__
        con.execute(f"INSERT INTO rooms ({', '.join(fields)}) VALUES ({', '.join('?' * len(fields))})",
                    tuple(getattr(room, f) for f in fields))

    @staticmethod
    def update_room(con: sqlite3.Connection, code: str, now: float, **changes: Any) -> None:
        changes["updated_at"] = now
        sets = ", ".join(f"{key} = ?" for key in changes)
        con.execute(f"UPDATE rooms SET {sets} WHERE code = ?", (*changes.values(), code))

    @staticmethod
    def insert_seat(con: sqlite3.Connection, seat: Seat) -> None:
        fields = seat.__dataclass_fields__
        con.execute(f"INSERT INTO seats ({', '.join(fields)}) VALUES ({', '.join('?' * len(fields))})",
                    tuple(getattr(seat, f) for f in fields))

    @staticmethod
    def update_seat(con: sqlite3.Connection, code: str, actor: str, **changes: Any) -> None:
        sets = ", ".join(f"{key} = ?" for key in changes)
        con.execute(f"UPDATE seats SET {sets} WHERE room = ? AND actor = ?", (*changes.values(), code, actor))

    @staticmethod
    def put_move(con: sqlite3.Connection, code: str, round: int, actor: str, offers: dict[str, float],
                 accepted: bool, now: float) -> int:
        """Insert or replace a seat's move for a round; returns its revision number."""
        row = con.execute("SELECT revision FROM moves WHERE room = ? AND round = ? AND actor = ?",
                          (code, round, actor)).fetchone()
        revision = 1 if row is None else row[0] + 1
        con.execute("INSERT OR REPLACE INTO moves (room, round, actor, offers, accepted, revision, submitted_at) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (code, round, actor, json.dumps(offers), int(accepted), revision, now))
        return revision

    @staticmethod
    def add_inject(con: sqlite3.Connection, code: str, after_round: int, inject: str, now: float) -> int:
        seq = con.execute("SELECT COALESCE(MAX(seq), 0) + 1 FROM injects WHERE room = ?", (code,)).fetchone()[0]
        con.execute("INSERT INTO injects (room, seq, after_round, inject, played_at) VALUES (?, ?, ?, ?, ?)",
                    (code, seq, after_round, inject, now))
        return seq

    @staticmethod
    def add_round(con: sqlite3.Connection, closed: ClosedRound) -> None:
        con.execute("INSERT INTO rounds (room, round, closed_by, closed_at, tension, proposal, outcome) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (closed.room, closed.round, closed.closed_by, closed.closed_at, closed.tension,
                     json.dumps(closed.proposal), closed.outcome))

    @staticmethod
    def log(con: sqlite3.Connection, code: str, now: float, kind: str, actor: str | None = None,
            **detail: Any) -> None:
        con.execute("INSERT INTO events (room, at, kind, actor, detail) VALUES (?, ?, ?, ?, ?)",
                    (code, now, kind, actor, json.dumps(detail)))

    # ------------------------------------------------------------------ seat requests and attempts
    @staticmethod
    def requests(con: sqlite3.Connection, code: str, status: str | None = "pending") -> list[SeatRequest]:
        if status is None:
            rows = con.execute("SELECT * FROM seat_requests WHERE room = ? ORDER BY id", (code,))
        else:
            rows = con.execute("SELECT * FROM seat_requests WHERE room = ? AND status = ? ORDER BY id",
                               (code, status))
        return [SeatRequest(**dict(r)) for r in rows]

    @staticmethod
    def request(con: sqlite3.Connection, code: str, request_id: int) -> SeatRequest | None:
        row = con.execute("SELECT * FROM seat_requests WHERE room = ? AND id = ?", (code, int(request_id))).fetchone()
        return SeatRequest(**dict(row)) if row else None

    @staticmethod
    def add_request(con: sqlite3.Connection, code: str, actor: str, player: str, token: str, now: float,
                    session: str = "", address: str = "") -> int:
        cur = con.execute("INSERT INTO seat_requests (room, actor, player, token, status, asked_at, session, "
                          "address) VALUES (?, ?, ?, ?, 'pending', ?, ?, ?)",
                          (code, actor, player, token, now, session, address))
        assert cur.lastrowid is not None        # set by every INSERT
        return int(cur.lastrowid)

    @staticmethod
    def decide_request(con: sqlite3.Connection, request_id: int, status: str, now: float) -> None:
        con.execute("UPDATE seat_requests SET status = ?, decided_at = ? WHERE id = ?", (status, now, request_id))

    @staticmethod
    def add_attempt(con: sqlite3.Connection, now: float, kind: str, session: str, address: str, target: str,
                    ok: bool) -> None:
        con.execute("INSERT INTO attempts (at, kind, session, address, target, ok) VALUES (?, ?, ?, ?, ?, ?)",
                    (now, kind, session, address, target[:40], int(ok)))

    @staticmethod
    def failures(con: sqlite3.Connection, kind: str, column: str, value: str, since: float) -> list[float]:
        """When the failed attempts of `kind` by one session / address / against one target since `since` were."""
        if column not in ("session", "address", "target"):
            raise ValueError(column)
        rows = con.execute(f"SELECT at FROM attempts WHERE kind = ? AND {column} = ? AND at >= ? AND ok = 0 "
                           f"ORDER BY at", (kind, value, since))
        return [float(r[0]) for r in rows]

    @staticmethod
    def tries(con: sqlite3.Connection, kind: str, column: str, value: str, since: float) -> list[float]:
        """When the attempts of `kind` (failed or not) by one session / address since `since` were."""
        if column not in ("session", "address", "target"):
            raise ValueError(column)
        rows = con.execute(f"SELECT at FROM attempts WHERE kind = ? AND {column} = ? AND at >= ? ORDER BY at",
                           (kind, value, since))
        return [float(r[0]) for r in rows]

    @staticmethod
    def attempts(con: sqlite3.Connection, target: str | None = None, failed_only: bool = True,
                 limit: int = 50) -> list[Attempt]:
        where, args = ["1 = 1"], []
        if target is not None:
            where.append("target = ?")
            args.append(target)
        if failed_only:
            where.append("ok = 0")
        rows = con.execute(f"SELECT * FROM attempts WHERE {' AND '.join(where)} ORDER BY id DESC LIMIT ?",
                           (*args, limit))
        return [Attempt(**{**dict(r), "ok": bool(r["ok"])}) for r in rows]

    @staticmethod
    def trust_browser(con: sqlite3.Connection, code: str, browser: str, now: float) -> None:
        con.execute("INSERT OR IGNORE INTO console_browsers (room, browser, at) VALUES (?, ?, ?)",
                    (code, browser, now))

    @staticmethod
    def trusted_browser(con: sqlite3.Connection, code: str, browser: str) -> bool:
        return con.execute("SELECT 1 FROM console_browsers WHERE room = ? AND browser = ?",
                           (code, browser)).fetchone() is not None

    # ------------------------------------------------------------------ agent-only runs (debrief cache)
    def cached_runs(self, scenario_hash: str, root_seed: int, replicates: int) -> bytes | None:
        with self.read() as con:
            row = con.execute("SELECT data FROM agent_runs WHERE scenario_hash = ? AND root_seed = ? AND "
                              "replicates = ?", (scenario_hash, root_seed, replicates)).fetchone()
        return row[0] if row else None

    def has_cached_runs(self, scenario_hash: str, root_seed: int, replicates: int) -> bool:
        """Whether `cached_runs` has them (without reading them: students' pages ask every few seconds)."""
        with self.read() as con:
            row = con.execute("SELECT 1 FROM agent_runs WHERE scenario_hash = ? AND root_seed = ? AND "
                              "replicates = ?", (scenario_hash, root_seed, replicates)).fetchone()
        return row is not None

    def cache_runs(self, scenario_hash: str, root_seed: int, replicates: int, data: bytes, now: float) -> None:
        with self.write() as con:
            con.execute("INSERT OR REPLACE INTO agent_runs (scenario_hash, root_seed, replicates, data, "
                        "created_at) VALUES (?, ?, ?, ?, ?)", (scenario_hash, root_seed, replicates, data, now))


# ====================================================================== helpers
def _is_current(con: sqlite3.Connection) -> bool:
    """The file is in WAL mode and at SCHEMA_VERSION (reads only: no lock is taken)."""
    try:
        if con.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
            return False
        row = con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    except sqlite3.OperationalError as err:
        if "no such table" in str(err).lower():
            return False
        raise
    return row is not None and row[0] == str(SCHEMA_VERSION)


def _statements(script: str) -> Iterator[str]:
    """The complete SQL statements of a script (semicolons inside comments do not split one)."""
    buffer = ""
    for line in script.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            yield buffer.strip()
            buffer = ""
    if buffer.strip():
        yield buffer.strip()


def _migrate(con: sqlite3.Connection, key: bytes) -> None:
    """Bring a file written by an older negsim up to SCHEMA_VERSION (new tables come from SCHEMA)."""
    columns = {row[1] for row in con.execute("PRAGMA table_info(rooms)")}
    if "teacher_hash" not in columns:      # v1 -> v2: teacher passphrases
        con.execute("ALTER TABLE rooms ADD COLUMN teacher_hash TEXT")
    if "recovery_hash" not in columns:     # v2 -> v3: recovery codes
        con.execute("ALTER TABLE rooms ADD COLUMN recovery_hash TEXT")
    asked = {row[1] for row in con.execute("PRAGMA table_info(seat_requests)")}
    for column in ("session", "address"):
        if column not in asked:
            con.execute(f"ALTER TABLE seat_requests ADD COLUMN {column} TEXT NOT NULL DEFAULT ''")
    for table, column in SECRET_COLUMNS:   # v2 -> v3: secrets in clear -> keyed hashes (browsers keep theirs)
        rows = con.execute(f"SELECT rowid, {column} FROM {table} WHERE {column} IS NOT NULL").fetchall()
        for rowid, value in rows:
            if not security.is_digest(value):
                con.execute(f"UPDATE {table} SET {column} = ? WHERE rowid = ?",
                            (security.digest(key, value), rowid))


def _private_folder(folder: Path, tighten: bool) -> None:
    """Create the database's folder user-only (0700); `tighten` an existing one (the default ~/.negsim)."""
    if not folder.exists():
        folder.mkdir(parents=True, mode=0o700)
        folder.chmod(0o700)
    elif tighten and folder.is_dir() and folder.stat().st_mode & 0o077 and folder.stat().st_uid == os.getuid():
        folder.chmod(0o700)


def _private_file(path: Path) -> None:
    """Create `path` (and tighten it and SQLite's side files, if ours) as user-only: 0600."""
    with suppress(FileExistsError):
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    for each in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        try:
            info = each.stat()
        except FileNotFoundError:
            continue
        if stat.S_ISREG(info.st_mode) and info.st_mode & 0o077 and info.st_uid == os.getuid():
            each.chmod(0o600)


def _write_key(path: Path) -> None:
    """A new random key in `path`, written whole (a temporary file linked into place: never half a key)."""
    temporary = path.with_name(f"{path.name}.{secrets.token_hex(6)}.tmp")
    fd = os.open(temporary, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    try:
        os.write(fd, (secrets.token_hex(32) + "\n").encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    try:
        os.link(temporary, path)               # fails if another process was first: its key is kept
    except FileExistsError:
        pass
    finally:
        temporary.unlink()


def _busy(err: sqlite3.OperationalError) -> bool:
    text = str(err).lower()
    return "locked" in text or "busy" in text


def _reason(err: object) -> str:
    """Why a database file cannot be used, in the teacher's words."""
    if isinstance(err, str):
        return err
    text = str(err).lower()
    if isinstance(err, IsADirectoryError) or "is a directory" in text:
        return "it is a directory, not a file"
    if isinstance(err, PermissionError) or "readonly" in text or "read-only" in text or "permission" in text:
        return "it (or its folder) is read-only for this user"
    if "not a database" in text or "malformed" in text or "corrupt" in text:
        return "it is not a SQLite database, or it is damaged"
    if "unable to open" in text:
        return "it cannot be opened (missing folder, no permission, or not a file)"
    if isinstance(err, OSError):
        return f"{err.strerror or err}".lower()
    return f"SQLite says '{err}'"
