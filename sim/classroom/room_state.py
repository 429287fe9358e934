"""What a room looks like: one consistent snapshot of it (`RoomState`), the acknowledgement of a stored move
(`Receipt`), and its scenario as stored (JSON text, its hash, and the Scenario it parses to).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from functools import lru_cache

from sim.classroom.errors import RoomNotFound
from sim.classroom.store import ClosedRound, Move, PlayedInject, Room, Seat
from sim.scenario import Inject, Scenario, parse_scenario


# ====================================================================== what a room looks like
@dataclass(frozen=True)
class Receipt:
    """The acknowledgement of a stored (committed) move."""

    room: str
    actor: str
    round: int
    revision: int
    submitted_at: float
    accepted: bool
    offers: dict[str, float]
    round_closed: bool                 # this move was the last one missing: the round has been played
    waiting_for: list[str] = field(default_factory=list)   # human seats yet to move (if still open)


@dataclass(frozen=True)
class RoomState:
    """One consistent snapshot of a room (everything the views need except the model)."""

    room: Room
    seats: list[Seat]
    moves: list[Move]
    injects: list[PlayedInject]
    rounds: list[ClosedRound]
    recovery_code: str | None = None   # only from create_room: shown to the teacher once, stored hashed

    @property
    def code(self) -> str:
        return self.room.code

    @property
    def scenario(self) -> Scenario:
        return scenario_from_json(self.room.scenario_json)

    @property
    def human_seats(self) -> list[str]:
        return [s.actor for s in self.seats if s.human]

    def seat(self, actor: str) -> Seat:
        for s in self.seats:
            if s.actor == actor:
                return s
        raise RoomNotFound(f"room {self.code} has no seat '{actor}'")

    def moves_in(self, round: int) -> list[Move]:
        return [m for m in self.moves if m.round == round]

    @property
    def moved(self) -> set[str]:
        """Human seats that have moved in the open round."""
        return {m.actor for m in self.moves_in(self.room.open_round)}

    @property
    def waiting_for(self) -> list[str]:
        return [a for a in self.human_seats if a not in self.moved]

    def deadline(self) -> float | None:
        r = self.room
        if r.status != "running" or r.timer_seconds <= 0 or r.round_started_at is None:
            return None
        return r.round_started_at + r.timer_seconds

    def time_left(self, now: float) -> float | None:
        """Seconds left on the round timer (None without a timer or when not running)."""
        if self.room.status == "paused" and self.room.timer_seconds > 0:
            return self.room.paused_left
        deadline = self.deadline()
        return None if deadline is None else max(0.0, deadline - now)

    def injects_before(self, round: int) -> list[PlayedInject]:
        """Injects the teacher played before `round` was played (played after round - 1 had closed)."""
        return [i for i in self.injects if i.after_round == round - 1]

    def scheduled_before(self, round: int) -> list[Inject]:
        """Scheduled injects (a round or a date in the scenario) that fire by themselves before `round`, after the
        teacher's (the model plays them in its step)."""
        return self.scenario.scheduled_injects().get(round, []) if round > 0 else []

    def news_before(self, round: int) -> list[str]:
        """What the class hears before `round`: the labels of the injects the teacher played, then of the
        scheduled ones (with their date, if dated)."""
        labels = {i.id: i.label for i in self.scenario.injects}
        news = [labels.get(i.inject, i.inject) for i in self.injects_before(round)]
        return news + [f"{i.label} ({i.date.day} {i.date:%B %Y})" if i.date is not None else i.label
                       for i in self.scheduled_before(round)]


@lru_cache(maxsize=64)
def scenario_from_json(text: str) -> Scenario:
    """A room's stored scenario (validated once per process; Scenario objects are immutable)."""
    return parse_scenario(json.loads(text))


def scenario_json(scenario: Scenario) -> str:
    return scenario.model_dump_json(by_alias=True, exclude_none=True)


def scenario_hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]
