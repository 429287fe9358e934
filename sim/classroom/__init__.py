"""Classroom mode: people and agents at one table, from the students' own browsers.

- `security`: secrets, passphrase hashes, attempt limits, name cleaning (pure functions).
- `store`: the SQLite file every Streamlit session and process shares (rooms, seats, moves, injects, rounds).
- `limits`: who is asking (`Client`) and the attempt limits enforced against the store.
- `room_state`: what a room looks like (`RoomState`, `Receipt`) and its stored scenario.
- `replay`: a room's model rebuilt from its scenario, seed and log.
- `rooms`: the room service (create, join, submit, close rounds, teacher controls).
- `views`: what the views show (values, issue names, moves in words, the history a seat may see).
- `debrief`: utilities, the Nash point, the comparison with agent-only runs, transcript and HTML exports.

An interface layer only: the negotiation itself is `sim.engine.model.NegotiationModel`, driven through
`sim.service`; a room is rebuilt at any time from its scenario, seed and logged moves and injects.
"""

from sim.classroom.errors import (
    ClassroomError,
    InvalidMove,
    LateMove,
    NameTaken,
    NotAllowed,
    RoomNotFound,
    SeatTaken,
    StoreBusy,
    StoreUnavailable,
    TooManyAttempts,
)
from sim.classroom.limits import Client
from sim.classroom.room_state import Receipt, RoomState
from sim.classroom.rooms import Classroom
from sim.classroom.store import Store, default_path

__all__ = ["Classroom", "ClassroomError", "Client", "InvalidMove", "LateMove", "NameTaken", "NotAllowed", "Receipt",
           "RoomNotFound", "RoomState", "SeatTaken", "Store", "StoreBusy", "StoreUnavailable", "TooManyAttempts",
           "default_path"]
