"""Classroom mode: people and agents at one table, from the students' own browsers.

- `store`: the SQLite file every Streamlit session and process shares (rooms, seats, moves, injects, rounds).
- `rooms`: the room service (create, join, submit, close rounds, teacher controls, rebuild a room's model).
- `debrief`: utilities, the Nash point, the comparison with agent-only runs, transcript and HTML exports.

An interface layer only: the negotiation itself is `sim.model.NegotiationModel`, driven through
`sim.service`; a room is rebuilt at any time from its scenario, seed and logged moves and injects.
"""

from sim.classroom.rooms import (
    Classroom,
    ClassroomError,
    InvalidMove,
    LateMove,
    NotAllowed,
    Receipt,
    RoomNotFound,
    RoomState,
    SeatTaken,
)
from sim.classroom.store import Store, default_path

__all__ = ["Classroom", "ClassroomError", "InvalidMove", "LateMove", "NotAllowed", "Receipt", "RoomNotFound",
           "RoomState", "SeatTaken", "Store", "default_path"]
