"""The room service: a teacher's room, students' seats, moves, rounds, injects, and rebuilding the model.

A room is a negotiation over one scenario and seed, with some seats played by people and the rest by agents.
Only what happened is stored (`sim.classroom.store`): the scenario as played, the seed, each round's human
moves, the injects and when they were played. The model is rebuilt from that log whenever it is needed
(`Classroom.model`), so any number of Streamlit sessions and processes see the same table, and a room
resumes after a server restart exactly where it was. Every rule of the negotiation is the model's:
a move is checked by `NegotiationModel.submit_offers` before it is stored, a round is `model.step()`.

Life of a room: lobby (students take seats) -> running <-> paused -> ended. At the start, human seats
nobody took are handed to agents. A round closes when every human seat has moved, when the round timer
runs out (checked whenever anyone looks at the room: `tick`), or when the teacher forces it.

Who may do what (students are treated as adversaries; see `sim.classroom.security`):
- the teacher's actions need the room's teacher key, a 192-bit session secret handed only to the session that
  created the room or typed the room's passphrase or recovery code (`open_console`); it is never shown or put in
  an address, and the store keeps only its keyed hash (as for every secret: `Store.digest`);
- the recovery code, shown once when the room is made, opens the console past every attempt limit, so students
  who use up the passphrase budget never lock the teacher out;
- a seat belongs to whoever holds its seat secret (names are labels): a student who lost it asks for the seat
  (`ask_seat`) and the teacher approves or refuses on the console (`decide_request`); requests are capped per
  asking browser (never per seat, so nobody can fill a seat's queue before its owner asks);
- joins and requests count per browser session and network address (`security.ACTIONS`);
- wrong room codes, passphrases and seat secrets are logged and limited per browser session, per network
  address and (passphrases) per room (`sim.classroom.limits`, `security.LIMITS`).
"""

from __future__ import annotations

import dataclasses
import hmac
import io
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, cast

import numpy as np
import pandas as pd

from sim import service
from sim.classroom import limits, security
from sim.classroom.errors import (
    ClassroomError,
    InvalidMove,
    LateMove,
    NameTaken,
    NotAllowed,
    RoomNotFound,
    SeatTaken,
    TooManyAttempts,
)
from sim.classroom.limits import Client
from sim.classroom.replay import native_proposal, replay
from sim.classroom.room_state import Receipt, RoomState, scenario_hash, scenario_json
from sim.classroom.security import new_code, normalise_code
from sim.classroom.store import Attempt, ClosedRound, Room, Seat, SeatRequest, Store
from sim.classroom.views import CAUSES
from sim.core import table_rules
from sim.scenario import Scenario

if TYPE_CHECKING:
    from sim.service import NegotiationModel


# ====================================================================== the service
class Classroom:
    """Rooms over one store. Safe to share between threads and Streamlit sessions.

    Args:
        store: a Store or a path to the SQLite file (default: `sim.classroom.store.default_path()`).
        clock: seconds since the epoch (injectable for tests).
    """

    def __init__(self, store: Store | str | Path | None = None, clock: Callable[[], float] = time.time) -> None:
        self.store = store if isinstance(store, Store) else Store(store)
        self.clock = clock

    # ------------------------------------------------------------------ reading
    def _snapshot(self, con, code: str) -> RoomState:
        code = normalise_code(code)
        room = self.store.room(con, code)
        if room is None:
            shown = f" '{code}'" if code.isascii() and code.isalnum() and len(code) <= 12 else ""
            raise RoomNotFound(f"no room with code{shown} - check the code on the board")   # never echoes markup
        return RoomState(room=room, seats=self.store.seats(con, code), moves=self.store.moves(con, code),
                         injects=self.store.injects(con, code), rounds=self.store.closed_rounds(con, code))

    def state(self, code: str) -> RoomState:
        with self.store.read() as con:
            return self._snapshot(con, code)

    def rooms(self) -> list[RoomState]:
        with self.store.read() as con:
            return [self._snapshot(con, room.code) for room in self.store.rooms(con)]

    def events(self, code: str, limit: int | None = None):
        with self.store.read() as con:
            return self.store.events(con, normalise_code(code), limit)

    def model(self, state: RoomState | str, collect: bool = True, upto: int | None = None) -> NegotiationModel:
        """The room's model, rebuilt from its log (see `replay`)."""
        return replay(self.state(state) if isinstance(state, str) else state, collect=collect, upto=upto)

    def verify(self, code: str) -> list[str]:
        """Replay the room and compare each round with the state recorded when it closed; [] = identical."""
        state = self.state(code)
        recorded = {r.round: r for r in state.rounds}
        problems: list[str] = []

        def check(r: int, model: NegotiationModel) -> None:
            rec = recorded.get(r)
            if rec is None:
                problems.append(f"round {r}: not recorded")
                return
            if model.tension != rec.tension:
                problems.append(f"round {r}: tension {model.tension!r} != recorded {rec.tension!r}")
            if native_proposal(model) != rec.proposal:
                problems.append(f"round {r}: proposal {native_proposal(model)} != recorded {rec.proposal}")
            if model.outcome != rec.outcome:
                problems.append(f"round {r}: outcome {model.outcome} != recorded {rec.outcome}")

        replay(state, collect=False, after_round=check)
        return problems

    # ------------------------------------------------------------------ the teacher sets up
    def create_room(self, scenario: Scenario | str | Path | None, *, human_seats: Iterable[str],
                    seed: int | None = None, timer_seconds: int = 0, max_rounds: int | None = None,
                    title: str | None = None, passphrase: str | None = None,
                    client: Client | None = None) -> RoomState:
        """A new room in the lobby; its `room.code` goes on the board, `room.teacher_key` stays in the teacher's
        session (never on screen). With a `passphrase` (at least 8 characters; stored hashed) the teacher can
        reopen the console from another session with the code and the passphrase (`open_console`).
        Raises ScenarioError for a bad scenario, ClassroomError for bad settings."""
        try:
            hashed = None if passphrase is None else security.hash_passphrase(
                security.check_new_passphrase(passphrase))
        except ValueError as err:
            raise ClassroomError(str(err)) from None
        spec = service.prepare(scenario, max_rounds=max_rounds)
        humans = list(dict.fromkeys(human_seats))
        unknown = [a for a in humans if a not in spec.actor_ids]
        if unknown:
            raise ClassroomError(f"unknown seats {unknown}: the actors of {spec.id} are "
                                 f"{', '.join(spec.actor_ids)}")
        if not isinstance(timer_seconds, int) or timer_seconds < 0:
            raise ClassroomError(f"the round timer must be a whole number of seconds >= 0 (got {timer_seconds!r})")
        seed = spec.protocol.seed if seed is None else int(seed)
        if not 0 <= seed <= 2**63 - 1:
            raise ClassroomError(f"the seed must be between 0 and 2^63-1 (got {seed})")
        now = self.clock()
        text = scenario_json(spec)
        with self.store.write() as con:
            code = new_code()
            while self.store.room(con, code) is not None:
                code = new_code()
            key = self.store.derive("teacher key", code, repr(now))
            recovery = security.new_recovery_code()
            room = Room(code=code, title=title or spec.title, scenario_id=spec.id, scenario_json=text, seed=seed,
                        timer_seconds=timer_seconds, teacher_key=self.store.digest(key), status="lobby",
                        rounds_closed=0, round_started_at=None, paused_left=None, revealed=False, outcome=None,
                        ended_by=None, created_at=now, updated_at=now, teacher_hash=hashed,
                        recovery_hash=self.store.digest(recovery))
            self.store.insert_room(con, room)
            for n, actor in enumerate(spec.actor_ids):
                self.store.insert_seat(con, Seat(room=code, actor=actor, ord=n, human=actor in humans, player=None,
                                                 token=None, joined_at=None, last_seen=None))
            self.store.log(con, code, now, "created", scenario=spec.id, seed=seed, human_seats=humans,
                           timer_seconds=timer_seconds, max_rounds=spec.protocol.max_rounds)
            self._trust(con, code, client, now)
            state = self._snapshot(con, code)
            return dataclasses.replace(state, room=dataclasses.replace(state.room, teacher_key=key),
                                       recovery_code=recovery)

    def _teacher(self, con, code: str, key: str) -> RoomState:
        state = self._snapshot(con, code)
        if not self.store.matches(state.room.teacher_key, key):
            raise NotAllowed(f"this browser is not the teacher of room {state.code} - open the console with the "
                             f"room's passphrase")
        return state

    def check_teacher(self, code: str, key: str) -> RoomState:
        """The room, if `key` is its teacher key (the session secret from `create_room` / `open_console`)."""
        with self.store.read() as con:
            return self._teacher(con, code, key)

    # ------------------------------------------------------------------ guesses: logged and limited
    def _guarded(self, kind: str, client: Client | None, target: str, attempt: Callable, per_target: bool = True):
        """Run `attempt(con)` in a write transaction after checking the limits; record the try (kept even when
        the attempt is refused: the refusal is raised after COMMIT)."""
        now = self.clock()
        error: ClassroomError | None = None
        result = None
        with self.store.write() as con:
            limits.check_guesses(self.store, con, kind, client, target, now, per_target)
            try:
                result = attempt(con)
            except (RoomNotFound, NotAllowed) as err:
                error = err
            limits.record_try(self.store, con, kind, client, target, error is None, now)
        if error is not None:
            raise error
        return result

    def room_ticket(self, code: str) -> str:
        """The room's ticket: rides in the addresses the room itself hands out (the QR code, the projector link),
        so that whoever opens them finds the room without counting as a guess. Nothing secret: it opens what
        the room code opens; it only proves the code came from the room, not from guessing."""
        return self.store.derive("room ticket", normalise_code(code))[:20]

    def find_room(self, code: str, client: Client | None = None, ticket: str | None = None) -> RoomState:
        """A room by the code a student typed; wrong codes count against the browser (`security.LIMITS`),
        except with the room's `ticket` (the address from its QR code or the console): never limited, so a
        flood of wrong codes from others never keeps the projector or the class out."""
        typed = normalise_code(code)
        if ticket and hmac.compare_digest(str(ticket).encode(), self.room_ticket(typed).encode()):
            return self.state(typed)
        now = self.clock()
        error: ClassroomError | None = None
        with self.store.write() as con:
            limits.check_guesses(self.store, con, "room code", client, typed, now)
            try:
                return self._snapshot(con, typed)
            except RoomNotFound as err:
                error = err
                # only wrong codes are logged
                limits.record_try(self.store, con, "room code", client, typed, False, now)
        raise error

    def open_console(self, code: str, passphrase: str, client: Client | None = None) -> RoomState:
        """The room (with its teacher key) for the teacher who typed its passphrase or its recovery code. Wrong
        passphrases are logged and limited per session, address and room; the recovery code (80 random bits,
        shown once at creation) is checked before any limit, so the teacher is never locked out. A browser that
        made or opened this room's console before (`Client.browser`: it survives reloads) has its own budget,
        which nobody else's wrong guesses use up."""
        room_code = normalise_code(code)
        recovered = self._recover(room_code, passphrase, client)
        if recovered is not None:
            return recovered
        trusted = self._trusted(room_code, client)

        def attempt(con) -> RoomState:
            state = self._snapshot(con, room_code)
            stored = state.room.teacher_hash
            typed = str(passphrase).strip().upper()
            ok = security.passphrase_matches(stored, passphrase) if stored else \
                self.store.matches(state.room.teacher_key, typed)                     # a v1 room's key
            if not ok:
                raise NotAllowed(f"wrong passphrase for room {state.code}"
                                 + ("" if stored else " (a room made before passphrases: type its teacher key)"))
            self.store.log(con, state.code, self.clock(), "console opened")
            self._trust(con, state.code, client, self.clock())
            return self._console(con, state) if stored else \
                dataclasses.replace(state, room=dataclasses.replace(state.room, teacher_key=typed))

        if trusted and client is not None:   # the browser that made or opened this console: its own budget
            own = Client(session=client.key, address=client.key)
            return self._guarded("teacher passphrase", own, room_code, attempt, per_target=False)
        try:
            self.find_room(room_code, client)    # a wrong code counts as a wrong code, not as a passphrase
            return self._guarded("teacher passphrase", client, room_code, attempt)
        except TooManyAttempts as err:
            raise TooManyAttempts(f"{err}. You are the teacher? Type the room's recovery code (shown when you "
                                  f"made the room) instead of the passphrase: it is never limited") from None

    def _trust(self, con, code: str, client: Client | None, now: float) -> None:
        """Remember the browser that made or opened a room's console (a keyed hash of its cookie's token)."""
        if client is not None and client.browser:
            self.store.trust_browser(con, code, self.store.digest("browser:" + client.browser), now)

    def _trusted(self, code: str, client: Client | None) -> bool:
        if client is None or not client.browser:
            return False
        with self.store.read() as con:
            return self.store.trusted_browser(con, code, self.store.digest("browser:" + client.browser))

    def _recover(self, room_code: str, given: object, client: Client | None = None) -> RoomState | None:
        """The console for a correct recovery code (else None: the caller goes on as with a passphrase)."""
        if len(normalise_code(given)) != security.RECOVERY_LENGTH:
            return None
        with self.store.read() as con:
            room = self.store.room(con, room_code)
            if room is None or not self.store.matches(room.recovery_hash, given):
                return None
        with self.store.write() as con:
            state = self._snapshot(con, room_code)
            self.store.log(con, state.code, self.clock(), "console opened", way="recovery code")
            self._trust(con, state.code, client, self.clock())
            return self._console(con, state)

    def _console(self, con, state: RoomState) -> RoomState:
        """`state` with the room's teacher key in clear (derived again: it is stored only hashed)."""
        key = self.store.derive("teacher key", state.code, repr(state.room.created_at))
        if not self.store.matches(state.room.teacher_key, key):     # a room from before keys were derived
            con.execute("UPDATE rooms SET teacher_key = ? WHERE code = ?", (self.store.digest(key), state.code))
        return dataclasses.replace(state, room=dataclasses.replace(state.room, teacher_key=key))

    def set_human(self, code: str, key: str, actor: str, human: bool) -> RoomState:
        """Lobby only: make a seat a human or an agent seat."""
        with self.store.write() as con:
            state = self._teacher(con, code, key)
            seat = state.seat(actor)
            if state.room.status != "lobby":
                raise NotAllowed("seats can be changed between human and agent only before the start")
            if not human and seat.taken:
                raise NotAllowed(f"a student sits at {actor}; release the seat first")   # no name: shown as Markdown
            self.store.update_seat(con, state.code, actor, human=int(human))
            self.store.log(con, state.code, self.clock(), "seat changed", actor, human=human)
            return self._snapshot(con, state.code)

    def release_seat(self, code: str, key: str, actor: str) -> RoomState:
        """Free a human seat (its player leaves; someone else can take it with the room code)."""
        with self.store.write() as con:
            state = self._teacher(con, code, key)
            seat = state.seat(actor)
            self.store.update_seat(con, state.code, actor, player=None, token=None, joined_at=None, last_seen=None)
            self.store.log(con, state.code, self.clock(), "seat released", actor, player=seat.player)
            return self._snapshot(con, state.code)

    def move_student(self, code: str, key: str, actor: str, to: str) -> RoomState:
        """Move the student at `actor` to the free human seat `to` (their browser keeps its secret and follows)."""
        with self.store.write() as con:
            state = self._teacher(con, code, key)
            seat, target = state.seat(actor), state.seat(to)
            if not seat.taken:
                raise NotAllowed(f"nobody sits at {actor}")
            if not target.human or target.taken:
                raise NotAllowed(f"{to} is not a free student seat")
            self.store.update_seat(con, state.code, to, player=seat.player, token=seat.token,
                                   joined_at=seat.joined_at, last_seen=seat.last_seen)
            self.store.update_seat(con, state.code, actor, player=None, token=None, joined_at=None, last_seen=None)
            self.store.log(con, state.code, self.clock(), "student moved", actor, to=to, player=seat.player)
            return self._snapshot(con, state.code)

    def seat_requests(self, code: str, key: str) -> list[SeatRequest]:
        """Pending requests for taken seats (the teacher approves or refuses them on the console)."""
        with self.store.read() as con:
            state = self._teacher(con, code, key)
            return self.store.requests(con, state.code)

    def decide_request(self, code: str, key: str, request_id: int, approve: bool) -> RoomState:
        """Approve: the asker gets the seat (a new secret; the old browser loses it). Refuse: nothing changes."""
        now = self.clock()
        with self.store.write() as con:
            state = self._teacher(con, code, key)
            request = self.store.request(con, state.code, request_id)
            if request is None or request.status != "pending":
                raise NotAllowed("that request has already been answered")
            seat = state.seat(request.actor)
            if approve:
                if not seat.human or state.room.status == "ended":
                    raise NotAllowed(f"{request.actor} can no longer be played by a student")
                if name_in_use(state, request.player, besides=request.actor):
                    raise NameTaken("a student at another seat now uses the name in this request (or one that "
                                    "looks the same) - refuse it, and ask the student to ask again with a name "
                                    "you can tell apart")
                self.store.update_seat(con, state.code, request.actor, player=request.player, token=request.token,
                                       joined_at=now, last_seen=now)
                for other in self.store.requests(con, state.code):
                    if other.actor == request.actor and other.id != request.id:
                        self.store.decide_request(con, other.id, "refused", now)
            self.store.decide_request(con, request.id, "approved" if approve else "refused", now)
            self.store.log(con, state.code, now, "seat handed over" if approve else "seat request refused",
                           request.actor, player=request.player, before=seat.player)
            return self._snapshot(con, state.code)

    def attempts(self, code: str, key: str, limit: int = 20) -> list[Attempt]:
        """Recent wrong passphrases and seat secrets tried against this room (for the teacher)."""
        with self.store.read() as con:
            state = self._teacher(con, code, key)
            return self.store.attempts(con, state.code, failed_only=True, limit=limit)

    # ------------------------------------------------------------------ students
    def join(self, code: str, actor: str, player: str, client: Client | None = None) -> str:
        """Take a free human seat; returns the seat's secret (kept by the student's browser, shown only to that
        student; stored hashed). A taken seat is never handed over by name: see `rejoin` and `ask_seat`. Joins
        count per browser session and address (`security.ACTIONS`): nobody takes seat after seat."""
        name = _clean_name(player)
        now = self.clock()
        with self.store.write() as con:
            state = self._snapshot(con, code)
            limits.check_actions(self.store, con, "join", client, now)
            seat = state.seat(actor)
            if state.room.status == "ended":
                raise NotAllowed(f"room {state.code} has ended - ask the teacher for the debrief")
            if not seat.human:
                raise NotAllowed(f"{actor} is played by the computer in this room; pick a free seat")
            if seat.taken:
                raise SeatTaken("this seat is taken. If it is yours, type your seat secret under 'Back to my "
                                "seat', or ask the teacher to let you back in")
            _refuse_used_name(state, name)
            token = security.new_seat_secret()
            self.store.update_seat(con, state.code, actor, player=name, token=self.store.digest(token),
                                   joined_at=now, last_seen=now)
            limits.record_try(self.store, con, "join", client, state.code, True, now)
            self.store.log(con, state.code, now, "joined", actor, player=name)
            return token

    def rejoin(self, code: str, secret: str, client: Client | None = None) -> Seat:
        """The seat whose secret a student typed (or whose secret came with an address they opened); wrong
        secrets are logged and limited."""
        room_code = normalise_code(code)

        def attempt(con) -> Seat:
            state = self._snapshot(con, room_code)
            seat = next((s for s in state.seats if s.human and self.store.matches(s.token, secret)), None)
            if seat is None:
                raise NotAllowed(f"no seat in room {state.code} has that secret (the teacher may have released or "
                                 f"handed over the seat) - check it, or ask the teacher to let you in")
            self.store.update_seat(con, state.code, seat.actor, last_seen=self.clock())
            self.store.log(con, state.code, self.clock(), "rejoined", seat.actor, player=seat.player)
            return dataclasses.replace(seat, token=normalise_code(secret))    # the secret as the browser keeps it

        self.find_room(room_code, client)
        return self._guarded("seat secret", client, room_code, attempt)

    def ask_seat(self, code: str, actor: str, player: str, client: Client | None = None) -> SeatRequest:
        """Ask the teacher for a taken seat (e.g. from a new device without the secret). The request's token
        becomes the seat's secret if the teacher approves; the asker's browser keeps it and waits.

        Capped per asker, never per seat (a seat's queue cannot be filled before its owner asks): one pending
        request per seat and `security.MAX_OPEN_REQUESTS_PER_REQUESTER` in the room per browser session,
        `security.MAX_REQUESTS_PER_ADDRESS` per seat from one known network address, and every request counts
        against `security.ACTIONS['seat request']` (a refusal does not refill it)."""
        name = _clean_name(player)
        now = self.clock()
        with self.store.write() as con:
            state = self._snapshot(con, code)
            seat = state.seat(actor)
            if state.room.status == "ended" or not seat.human:
                raise NotAllowed(f"{actor} cannot be asked for in room {state.code}")
            _refuse_used_name(state, name)         # even the holder's: the teacher must see two different names
            limits.check_actions(self.store, con, "seat request", client, now)
            if client is not None:
                mine = [r for r in self.store.requests(con, state.code) if r.session == client.key]
                if sum(r.actor == actor for r in mine) >= security.MAX_REQUESTS_PER_REQUESTER:
                    raise NotAllowed("you have already asked for this seat - wait for the teacher's answer")
                if len(mine) >= security.MAX_OPEN_REQUESTS_PER_REQUESTER:
                    raise NotAllowed("you are already waiting for the teacher's answer to other requests")
                if client.address and sum(r.actor == actor and r.address == client.address for r in
                                          self.store.requests(con, state.code)) >= security.MAX_REQUESTS_PER_ADDRESS:
                    raise NotAllowed("the teacher already has several requests for this seat from this network - "
                                     "ask them in person")
            token = security.new_seat_secret()
            request_id = self.store.add_request(con, state.code, actor, name, self.store.digest(token), now,
                                                session=client.key if client else "",
                                                address=client.address if client else "")
            limits.record_try(self.store, con, "seat request", client, state.code, True, now)
            self.store.log(con, state.code, now, "seat requested", actor, player=name, holder=seat.player)
            request = self.store.request(con, state.code, request_id)
            assert request is not None          # inserted just above, in this transaction
            return dataclasses.replace(request, token=token)

    def request_status(self, code: str, request_id: int, token: str) -> SeatRequest:
        """A student's own request (by its token): pending, approved (the token now opens the seat) or refused."""
        with self.store.read() as con:
            request = self.store.request(con, normalise_code(code), request_id)
        if request is None or not self.store.matches(request.token, token):
            raise NotAllowed("no such request")
        return dataclasses.replace(request, token=normalise_code(token))

    def seat_for(self, code: str, token: str) -> Seat:
        """The seat a browser holds (by its secret); raises NotAllowed when the seat was released or handed
        over. For a browser that has already proved the secret (no attempt is counted)."""
        state = self.state(code)
        for seat in state.seats:
            if seat.human and self.store.matches(seat.token, token):
                return seat
        raise NotAllowed(f"you no longer hold a seat in room {state.code} (the teacher may have released it or "
                         f"handed it to someone else) - join again with the code")

    def submit_move(self, code: str, actor: str, token: str, round: int,
                    offers: Mapping[str, float] | None = None, accept: bool = False) -> Receipt:
        """Store a seat's move for `round` (the round the student was shown) and acknowledge it.

        `accept=True` accepts the standing proposal (the seat offers its values on every open issue);
        otherwise `offers` are the seat's offers per issue (native units). The move is checked by the model's
        rules, committed, and only then acknowledged. A resubmission in the same round replaces the move.
        If it was the last human move missing, the round is played at once.
        """
        now = self.clock()
        error: ClassroomError | None = None
        with self.store.write() as con:
            state = self._snapshot(con, code)
            state = self._expire(con, state, now)
            seat = state.seat(actor)
            room = state.room
            if not seat.human:
                raise NotAllowed(f"{actor} is played by the computer in this room")
            if not self.store.matches(seat.token, token):
                error = NotAllowed(f"you do not hold the seat {actor} in room {room.code} any more - join again "
                                   f"with the code")
            elif room.status == "ended":
                error = NotAllowed(f"the negotiation is over (it ended after round {room.rounds_closed}) - "
                                   f"no more moves")
            elif round < room.open_round:
                error = late_message(state, actor, round)
            elif room.status == "lobby":
                error = NotAllowed("the teacher has not started the negotiation yet - wait for round 1")
            elif room.status == "paused":
                error = NotAllowed("the teacher has paused the negotiation - your move was not recorded; "
                                   "submit it again when the round resumes")
            elif round > room.open_round:
                error = InvalidMove(f"round {round} has not started; the table is at round {room.open_round}")
            if error is None:
                model = replay(state, collect=False)
                values = dict(native_proposal(model)) if accept else dict(offers or {})
                if accept:
                    values = {issue: v for j, (issue, v) in enumerate(values.items()) if model.open_issues[j]}
                if not values:
                    error = InvalidMove("an empty move: set your offers or accept the standing proposal")
                else:
                    try:
                        # numbers as floats; anything else is passed on for the model to refuse with its message
                        values = cast("dict[str, float]", {issue: _number(v) for issue, v in values.items()})
                        model.submit_offers(actor, values)
                    except ValueError as err:
                        error = InvalidMove(f"move not recorded: {err}")
            if error is None:
                revision = self.store.put_move(con, room.code, room.open_round, actor, values, accept, now)
                self.store.update_seat(con, room.code, actor, last_seen=now)
                self.store.log(con, room.code, now, "move", actor, round=room.open_round, accepted=accept,
                               offers=values, revision=revision)
                after = self._snapshot(con, room.code)
                closed = not after.waiting_for
                if closed:
                    self._close_round(con, after, "all moved", now)
                receipt = Receipt(room=room.code, actor=actor, round=room.open_round, revision=revision,
                                  submitted_at=now, accepted=accept, offers=values, round_closed=closed,
                                  waiting_for=[] if closed else after.waiting_for)
        # committed (or rolled back) here: a timer close above stays committed even when the move is refused
        if error is not None:
            raise error
        return receipt

    def heartbeat(self, code: str, actor: str, token: str) -> None:
        """A seated student's page is open (for the teacher's 'last seen')."""
        with self.store.write() as con:
            seat = self.store.seats(con, normalise_code(code))
            if any(s.actor == actor and self.store.matches(s.token, token) for s in seat):
                self.store.update_seat(con, normalise_code(code), actor, last_seen=self.clock())

    # ------------------------------------------------------------------ rounds
    def tick(self, code: str) -> bool:
        """Close the open round if its timer ran out; True if a round was closed. Cheap when nothing is due."""
        now = self.clock()
        state = self.state(code)
        deadline = state.deadline()
        if deadline is None or now < deadline:
            return False
        with self.store.write() as con:
            before = self._snapshot(con, code)
            after = self._expire(con, before, now)
            return after.room.rounds_closed > before.room.rounds_closed

    def _expire(self, con, state: RoomState, now: float) -> RoomState:
        deadline = state.deadline()
        if deadline is not None and now >= deadline:
            return self._close_round(con, state, "timer", now)
        return state

    def force_round(self, code: str, key: str) -> RoomState:
        """The teacher closes the open round now (seats that have not moved hold their offers)."""
        with self.store.write() as con:
            state = self._teacher(con, code, key)
            if state.room.status != "running":
                raise NotAllowed(f"the room is {state.room.status}; rounds can be forced only while it runs")
            return self._close_round(con, state, "teacher", self.clock())

    def _close_round(self, con, state: RoomState, cause: str, now: float) -> RoomState:
        """Play the open round: the agents move, the human moves logged for it are applied, model.step()."""
        room = state.room
        r = room.open_round
        model = replay(state, collect=False)
        for move in state.moves_in(r):
            model.submit_offers(move.actor, move.offers)
        model.step()
        self.store.add_round(con, ClosedRound(room=room.code, round=r, closed_by=cause, closed_at=now,
                                              tension=float(model.tension), proposal=native_proposal(model),
                                              outcome=model.outcome))
        changes: dict = {"rounds_closed": r, "round_started_at": now}
        if not model.running:
            changes.update(status="ended", outcome=model.outcome, ended_by="talks ended",
                           round_started_at=None, paused_left=None)
        self.store.update_room(con, room.code, now, **changes)
        self.store.log(con, room.code, now, "round closed", round=r, cause=cause, outcome=model.outcome)
        return self._snapshot(con, room.code)

    # ------------------------------------------------------------------ teacher controls
    def start(self, code: str, key: str) -> RoomState:
        """Lobby -> running: round 1 begins; human seats nobody took are played by agents from now on."""
        now = self.clock()
        with self.store.write() as con:
            state = self._teacher(con, code, key)
            if state.room.status != "lobby":
                raise NotAllowed(f"the room has already started (it is {state.room.status})")
            handed = [s.actor for s in state.seats if s.human and not s.taken]
            for actor in handed:
                self.store.update_seat(con, state.code, actor, human=0)
            self.store.update_room(con, state.code, now, status="running", round_started_at=now)
            self.store.log(con, state.code, now, "started", to_agents=handed)
            return self._snapshot(con, state.code)

    def pause(self, code: str, key: str) -> RoomState:
        now = self.clock()
        with self.store.write() as con:
            state = self._expire(con, self._teacher(con, code, key), now)
            if state.room.status != "running":
                raise NotAllowed(f"only a running room can be paused (it is {state.room.status})")
            self.store.update_room(con, state.code, now, status="paused", paused_left=state.time_left(now),
                                   round_started_at=None)
            self.store.log(con, state.code, now, "paused", round=state.room.open_round)
            return self._snapshot(con, state.code)

    def resume(self, code: str, key: str) -> RoomState:
        now = self.clock()
        with self.store.write() as con:
            state = self._teacher(con, code, key)
            room = state.room
            if room.status != "paused":
                raise NotAllowed(f"only a paused room can be resumed (it is {room.status})")
            started = now - (room.timer_seconds - room.paused_left) if room.paused_left is not None else now
            self.store.update_room(con, state.code, now, status="running", paused_left=None, round_started_at=started)
            self.store.log(con, state.code, now, "resumed", round=room.open_round)
            return self._snapshot(con, state.code)

    def end(self, code: str, key: str) -> RoomState:
        """Stop the talks now; the outcome is what has been agreed so far (partial, stalemate or agreement)."""
        now = self.clock()
        with self.store.write() as con:
            state = self._teacher(con, code, key)
            if state.room.status == "ended":
                return state
            model = replay(state, collect=False)
            outcome = model.outcome or table_rules.classify(~model.open_issues, False)
            self.store.update_room(con, state.code, now, status="ended", outcome=outcome, ended_by="teacher",
                                   round_started_at=None, paused_left=None)
            self.store.log(con, state.code, now, "ended", round=state.room.rounds_closed, outcome=outcome)
            return self._snapshot(con, state.code)

    def play_inject(self, code: str, key: str, inject_id: str) -> RoomState:
        """An event from the scenario's list takes effect before the open round is played."""
        now = self.clock()
        with self.store.write() as con:
            state = self._teacher(con, code, key)
            if state.room.status == "ended":
                raise NotAllowed("the negotiation is over; injects can no longer be played")
            ids = [i.id for i in state.scenario.injects if not i.scheduled]
            if inject_id not in ids:
                if any(i.id == inject_id for i in state.scenario.injects):
                    raise NotAllowed(f"'{inject_id}' is scheduled: it fires by itself before round "
                                     f"{state.scenario.inject_round(state.scenario.inject(inject_id))}")
                raise ClassroomError(f"unknown inject '{inject_id}' (this scenario has: {', '.join(ids) or 'none'})")
            self.store.add_inject(con, state.code, state.room.rounds_closed, inject_id, now)
            self.store.log(con, state.code, now, "inject", inject=inject_id, before_round=state.room.open_round)
            return self._snapshot(con, state.code)

    def reveal(self, code: str, key: str, revealed: bool = True) -> RoomState:
        """Show (or hide again) every seat's confidential brief to everyone in the room (debrief)."""
        with self.store.write() as con:
            state = self._teacher(con, code, key)
            self.store.update_room(con, state.code, self.clock(), revealed=int(revealed))
            self.store.log(con, state.code, self.clock(), "revealed" if revealed else "hidden")
            return self._snapshot(con, state.code)

    # ------------------------------------------------------------------ agent-only comparison (debrief)
    def agent_runs(self, state: RoomState, replicates: int = 1000,
                   progress: Callable[[int, int], None] | None = None) -> pd.DataFrame:
        """`sim.service.monte_carlo` of the room's scenario with every seat an agent (root seed = the room's
        seed), cached in the store per scenario, seed and count. Unlike the room itself, each of these runs draws
        the scenario's uncertain inputs from its seed (the assumptions drawn from their ranges)."""
        key = scenario_hash(state.room.scenario_json)
        cached = self.store.cached_runs(key, state.room.seed, replicates)
        if cached is not None:
            return pd.read_parquet(io.BytesIO(cached))
        runs = service.monte_carlo(state.scenario, replicates, root_seed=state.room.seed, progress=progress)
        buffer = io.BytesIO()
        runs.to_parquet(buffer, index=False)
        self.store.cache_runs(key, state.room.seed, replicates, buffer.getvalue(), self.clock())
        return runs


# ====================================================================== helpers
def name_in_use(state: RoomState, name: str, besides: str | None = None) -> bool:
    """True if a student seated in the room (at a seat other than `besides`) has a name that looks the same
    as `name` (`security.name_key`: case, accents, invisible characters and look-alike letters ignored)."""
    key = security.name_key(name)
    return any(s.player and s.actor != besides and security.name_key(s.player) == key for s in state.seats)


def _clean_name(player: str) -> str:
    """A student's name as shown to everyone (`security.clean_name`); a name it refuses is the student's error."""
    try:
        return security.clean_name(player)
    except ValueError as err:
        raise ClassroomError(str(err)) from None


def _refuse_used_name(state: RoomState, name: str) -> None:
    if name_in_use(state, name):
        raise NameTaken("that name (or one that looks just like it) is already used in this room - add an initial "
                        "or a word the teacher will recognise, e.g. 'Ana L.' or 'Ana, new phone'")


def _number(value: object) -> object:
    """Numbers (numpy's too) as plain floats for the model and the JSON log; anything else as given, for the
    model to refuse with its own message. Booleans are not numbers here."""
    if isinstance(value, bool):
        raise ValueError(f"an offer must be a number (got {value!r})")
    return float(value) if isinstance(value, (int, float, np.number)) else value


def late_message(state: RoomState, actor: str, round: int) -> LateMove:
    closed = next((r for r in state.rounds if r.round == round), None)
    counted = any(m.round == round and m.actor == actor for m in state.moves)
    why = CAUSES.get(closed.closed_by, closed.closed_by) if closed else "it was closed"
    at = datetime.fromtimestamp(closed.closed_at).strftime("%H:%M:%S") if closed else "earlier"
    if counted:
        return LateMove(f"round {round} closed at {at} ({why}); your earlier move for it was counted, this one "
                        f"was not. The table now shows round {state.room.open_round}.")
    return LateMove(f"too late for round {round}: it closed at {at} ({why}), so your seat held its previous "
                    f"offers. The table now shows round {state.room.open_round} - look at it and move again.")
