"""The classroom's refusals. str(error) is the one-line message shown to the person who made the request."""

from __future__ import annotations


class ClassroomError(ValueError):
    """A request the room refuses; str(error) is the message to show the person who made it."""


class RoomNotFound(ClassroomError):
    pass


class SeatTaken(ClassroomError):
    pass


class NameTaken(ClassroomError):
    """A name that is (or looks just like) the name of a student already seated in the room."""


class NotAllowed(ClassroomError):
    """Wrong state (not started, paused, ended), wrong seat secret or teacher passphrase."""


class LateMove(ClassroomError):
    """A move for a round that has already closed."""


class InvalidMove(ClassroomError):
    """A move the model's rules refuse (unknown issue, off the scale, an agreed issue ...)."""


class TooManyAttempts(ClassroomError):
    """Too many wrong codes, passphrases or seat secrets from one browser (or against one room) lately."""


class StoreBusy(ClassroomError):
    """The database stayed locked by other writers after every retry; nothing was stored."""


class StoreUnavailable(ClassroomError):
    """The database file cannot be used at all (damaged, not a database, read-only, a directory ...)."""
