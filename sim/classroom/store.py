"""The classroom's SQLite store: rooms, seats, moves, injects, closed rounds and an event log.

One file shared by every Streamlit session and process (WAL mode, so readers never block the writer).
Every change runs in a `BEGIN IMMEDIATE` transaction (`Store.write`), which takes the write lock up front:
concurrent writers queue (busy timeout) instead of failing half-way, and a read-check-write sequence (is the
round still open? has every seat moved?) cannot interleave with another. A call returns only after COMMIT,
with `synchronous=FULL`, so an acknowledged move survives a crash or a server restart.

The file holds what happened, not the model's state: a room is rebuilt from its scenario (stored as JSON),
its seed, and the logged moves and injects (`sim.classroom.rooms`).

Path: the argument, else the environment variable NEGSIM_CLASSROOM_DB, else ~/.negsim/classroom.sqlite3.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ENV_VAR = "NEGSIM_CLASSROOM_DB"
SCHEMA_VERSION = 1
BUSY_TIMEOUT_S = 30.0

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
    teacher_key      TEXT NOT NULL,
    status           TEXT NOT NULL CHECK (status IN ('lobby', 'running', 'paused', 'ended')),
    rounds_closed    INTEGER NOT NULL DEFAULT 0,
    round_started_at REAL,               -- wall clock when the open round began (running rooms)
    paused_left      REAL,               -- seconds left on the round timer when paused
    revealed         INTEGER NOT NULL DEFAULT 0,   -- confidential briefs shown to everyone
    outcome          TEXT,
    ended_by         TEXT,
    created_at       REAL NOT NULL,
    updated_at       REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS seats (
    room       TEXT NOT NULL REFERENCES rooms(code) ON DELETE CASCADE,
    actor      TEXT NOT NULL,
    ord        INTEGER NOT NULL,         -- the actor's place in the scenario
    human      INTEGER NOT NULL,         -- 1: a person plays it; 0: an agent
    player     TEXT,                     -- the student's name once taken
    token      TEXT,                     -- the seat's secret (kept in the student's browser)
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
    """The SQLite file. Thread- and process-safe: every operation opens its own short-lived connection."""

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path).expanduser() if path is not None else default_path()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        con = self._connect()
        try:
            con.execute("PRAGMA journal_mode=WAL")   # persistent: recorded in the file
            con.executescript(SCHEMA)                # idempotent (IF NOT EXISTS)
            con.execute("INSERT OR IGNORE INTO meta (key, value) VALUES ('schema_version', ?)",
                        (str(SCHEMA_VERSION),))
        finally:
            con.close()

    def _connect(self) -> sqlite3.Connection:
        con = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False)
        con.row_factory = sqlite3.Row
        con.execute("PRAGMA synchronous=FULL")      # a commit is on disk before the call returns
        con.execute("PRAGMA foreign_keys=ON")
        return con

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """A write transaction: BEGIN IMMEDIATE ... COMMIT (ROLLBACK on any exception)."""
        con = self._connect()
        try:
            con.execute("BEGIN IMMEDIATE")
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

    # ------------------------------------------------------------------ agent-only runs (debrief cache)
    def cached_runs(self, scenario_hash: str, root_seed: int, replicates: int) -> bytes | None:
        with self.read() as con:
            row = con.execute("SELECT data FROM agent_runs WHERE scenario_hash = ? AND root_seed = ? AND "
                              "replicates = ?", (scenario_hash, root_seed, replicates)).fetchone()
        return row[0] if row else None

    def cache_runs(self, scenario_hash: str, root_seed: int, replicates: int, data: bytes, now: float) -> None:
        with self.write() as con:
            con.execute("INSERT OR REPLACE INTO agent_runs (scenario_hash, root_seed, replicates, data, "
                        "created_at) VALUES (?, ?, ?, ?, ?)", (scenario_hash, root_seed, replicates, data, now))
