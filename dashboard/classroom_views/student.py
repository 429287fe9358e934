"""The student's pages: join a room with its code, then play a seat (brief, table, move, log)."""

from __future__ import annotations

from typing import cast

import streamlit as st

from dashboard.classroom_views import common
from dashboard.classroom_views.debrief_view import debrief_page
from sim.classroom import Classroom, ClassroomError, RoomState
from sim.classroom.security import normalise_code, show_secret
from sim.classroom.views import fmt_value

SEAT_KEY = "classroom_seat"        # session: {"room", "actor", "token"} - the seat this browser holds (never in the
                                   # page address: a reload asks for the rejoin code, shown once when joining)
NEW_SECRET_KEY = "classroom_new_secret"   # session: the rejoin code to show once, right after taking the seat
PENDING_KEY = "classroom_request"  # session: {"room", "id", "token", "actor"} - a request waiting for the teacher
FOUND_KEY = "classroom_found"      # session: {typed code: room code} - codes this session has already found
HEARTBEAT_SECONDS = 15.0


# ====================================================================== which seat this browser holds
def current_seat(cls: Classroom) -> dict | None:
    """The seat this session holds. An address from an older negsim may still carry a seat secret: it is
    taken out of the address at once and checked once, as a guess (limited and logged)."""
    seat = st.session_state.get(SEAT_KEY)
    if seat:
        return seat
    q = st.query_params
    token = q.get("token")
    if token:
        st.query_params.pop("token", None)          # out of the address and the browser's history from now on
        if not q.get("room"):
            return None
        try:
            found = cls.rejoin(q["room"], token, common.client())
        except common.KEEP_GOING as err:         # busy, broken or rate-limited: keep the secret, try later
            common.error(err)
            st.stop()
        except ClassroomError as err:
            common.warning(err)
            return None
        # a seat `rejoin` gives back holds the secret as its token (sim.classroom types Seat.token Optional:
        # a computer's seat has none)
        return hold_seat(found.room, found.actor, cast(str, found.token))
    return None


def hold_seat(room: str, actor: str, token: str, new: bool = False) -> dict:
    """This session holds the seat; its secret stays in the session (never in the address). `new`: the
    student has just been given the secret, which is shown once as a rejoin code."""
    seat = {"room": room, "actor": actor, "token": token}
    st.session_state[SEAT_KEY] = seat
    st.session_state.pop(PENDING_KEY, None)
    if new:
        st.session_state[NEW_SECRET_KEY] = token
    for key in ("seat", "token"):
        st.query_params.pop(key, None)
    st.query_params.update({"role": "student", "room": room})
    return seat


def leave_seat() -> None:
    st.session_state.pop(SEAT_KEY, None)
    st.session_state.pop(NEW_SECRET_KEY, None)
    for key in ("seat", "token"):
        st.query_params.pop(key, None)


def find_room(cls: Classroom, typed: str) -> RoomState:
    """The room for a typed code: a code this session has not found before counts as a guess (limited)."""
    found = st.session_state.setdefault(FOUND_KEY, {})
    code = normalise_code(typed)
    if code in found:
        return cls.state(code)
    linked = normalise_code(st.query_params.get("room", "")) == code      # the room's own address (QR code)
    state = cls.find_room(code, common.client(), ticket=st.query_params.get("ticket") if linked else None)
    found[code] = state.code
    return state


# ====================================================================== join
def join_page(cls: Classroom) -> None:
    st.title("Join a negotiation")
    st.markdown("Type the **room code** your teacher shows, then your **name**, and take a free seat. "
                "Seats nobody takes are played by the computer.")
    typed = st.text_input("Room code", key="join_code", max_chars=8, placeholder="e.g. K7QM2X",
                          value=st.query_params.get("room", ""))
    if not typed.strip():
        return
    try:
        state = find_room(cls, typed)
    except ClassroomError as err:
        common.error(err)
        return
    spec = state.scenario
    st.subheader(state.room.title)
    st.caption(f"Room {state.code} - {common.STATUS_WORDS[state.room.status]}")
    if state.room.status == "ended":
        st.info("This negotiation is over. The debrief is below.")
        debrief_page(cls, state, teacher=False)
        return
    name = st.text_input("Your name", key="join_name", max_chars=40,
                         help="The teacher sees it next to your seat. It is only a label: to get back into your "
                              "seat later you need your seat secret, which your seat page shows you.")
    back_to_my_seat(cls, state)
    with st.expander("Background (read this first)", expanded=False):
        common.background(spec)
    if state.room.status != "lobby" and not any(s.human and not s.taken for s in state.seats):
        st.info("Every student seat is taken. If one of them is yours, use 'Back to my seat' with your seat "
                "secret, or ask the teacher to let you back in.", icon=":material/info:")
    for seat in state.seats:
        actor = spec.actor(seat.actor)
        left, right = st.container(border=True).columns([3, 1], vertical_alignment="center")
        with left:
            st.markdown(f"**{actor.name}**")
            if actor.brief.public:
                st.caption(actor.brief.public[:220] + ("..." if len(actor.brief.public) > 220 else ""))
        with right:
            if not seat.human:
                st.markdown(":gray[played by the computer]")
            elif not seat.taken:
                if st.button("Take this seat", key=f"take_{seat.actor}", type="primary", width="stretch"):
                    try:
                        token = cls.join(state.code, seat.actor, name, common.client())
                    except ClassroomError as err:
                        common.error(err)
                    else:
                        hold_seat(state.code, seat.actor, token, new=True)
                        st.rerun()
            else:
                st.markdown(":gray[taken]")
                if st.button("Ask the teacher for it", key=f"ask_{seat.actor}", width="stretch",
                             help="If this is your seat and you lost your secret (a new device, a closed "
                                  "browser): the teacher can hand it back to you."):
                    try:
                        request = cls.ask_seat(state.code, seat.actor, name, common.client())
                    except ClassroomError as err:
                        common.error(err)
                    else:
                        st.session_state[PENDING_KEY] = {"room": state.code, "id": request.id,
                                                         "token": request.token, "actor": request.actor}
                        st.rerun()


def back_to_my_seat(cls: Classroom, state: RoomState) -> None:
    with st.expander("Back to my seat (I have my seat secret)"):
        with st.form("rejoin"):
            secret = st.text_input("Seat secret", key="rejoin_secret", type="password", max_chars=30,
                                   placeholder="XXXX-XXXX-XXXX")
            go = st.form_submit_button("Back to my seat")
        if go:
            try:
                seat = cls.rejoin(state.code, secret, common.client())
            except ClassroomError as err:
                common.error(err)
            else:
                hold_seat(state.code, seat.actor, cast(str, seat.token))     # rejoin's: the secret (above)
                st.rerun()


def waiting_page(cls: Classroom, pending: dict) -> None:
    """A request for a taken seat, waiting for the teacher's answer (polled)."""
    st.title("Waiting for the teacher")
    st.info("You asked the teacher for a seat that someone holds. Tell your teacher; this page opens your seat as "
            "soon as they approve.", icon=":material/hourglass_top:")

    @st.fragment(run_every=common.POLL_SECONDS)
    @common.guarded
    def poll() -> None:
        request = cls.request_status(pending["room"], pending["id"], pending["token"])
        if request.status == "approved":
            hold_seat(request.room, request.actor, pending["token"], new=True)
            st.rerun(scope="app")
        elif request.status == "refused":
            st.session_state.pop(PENDING_KEY, None)
            st.session_state["classroom_errors"] = ["the teacher did not hand you that seat"]
            st.rerun(scope="app")
        else:
            st.caption(f"Asked at {common.clock(request.asked_at)} - still waiting.")

    poll()
    if st.button("Cancel", key="cancel_request"):
        st.session_state.pop(PENDING_KEY, None)
        st.rerun()


# ====================================================================== the seat
def seat_page(cls: Classroom) -> None:
    seat = current_seat(cls)
    if seat is None:
        pending = st.session_state.get(PENDING_KEY)
        if pending:
            waiting_page(cls, pending)
            return
        for message in st.session_state.pop("classroom_errors", []):
            common.error(message)
        join_page(cls)
        return
    try:
        held = cls.seat_for(seat["room"], seat["token"])
        state = cls.state(seat["room"])
    except common.KEEP_GOING:
        raise                                 # a database fault is not a lost seat: the app shows the message
    except ClassroomError as err:
        common.warning(err)
        leave_seat()
        join_page(cls)
        return
    if held.actor != seat["actor"]:          # the teacher moved this student to another seat
        seat = hold_seat(state.code, held.actor, seat["token"])
    heartbeat(cls, seat)
    spec = state.scenario
    me = seat["actor"]
    actor = spec.actor(me)
    model = cls.model(state)
    history = common.visible_history(state, model, me=me)

    with st.sidebar:
        st.markdown(f"### Your brief: {actor.name}")
        st.caption(f"Room {state.code} - seat held by {common.esc(state.seat(me).player)}")
        with st.expander("Background", expanded=False):
            common.background(spec)
        common.brief_view(spec, me, confidential=True)
        st.markdown("**The other parties**")
        common.other_briefs(spec, me, confidential=state.room.revealed)
        st.divider()
        st.caption("Your rejoin code was shown once when you took the seat. With the room code it brings you back "
                   "from any device (a reload too); lost it? Ask the teacher to let you back in.")
        if st.button("Leave this seat on this browser", key="leave"):
            leave_seat()
            st.rerun()

    rejoin_code_box()
    st.title(f"Your seat: {actor.name}")
    st.caption(f"{state.room.title} - room {state.code}")
    live_strip(cls, state, me)
    receipt = st.session_state.get("classroom_receipt")
    if receipt and receipt.room == state.code:
        if receipt.round == state.room.open_round and state.room.status != "ended":
            what = "accepted the standing proposal" if receipt.accepted else "offers"
            st.success(f"Your move for round {receipt.round} is recorded ({what}, at "
                       f"{common.clock(receipt.submitted_at)}). You can change it until the round closes.",
                       icon=":material/check_circle:")
        elif receipt.round_closed and receipt.round == state.room.rounds_closed:
            st.success(f"Yours was the last move: round {receipt.round} has been played."
                       + (" The negotiation is over." if state.room.status == "ended" else " Here is the new table."),
                       icon=":material/check_circle:")
    for message in st.session_state.pop("classroom_errors", []):
        common.error(message)
    if state.room.status == "ended":
        debrief_page(cls, state, teacher=False, me=me)
        return

    table_col, move_col = st.columns([3, 2], gap="large")
    with table_col:
        st.subheader("The table")
        common.table_view(state, model, me)
    with move_col:
        move_form(cls, state, model, seat)
        st.subheader("What happened")
        common.log_view(state, history, limit=3, me=me)


def rejoin_code_box() -> None:
    """The seat's secret as a copyable rejoin code, shown once (until the student says it is written down);
    it is never in the page address, so a reload or the browser's history does not give it away."""
    secret = st.session_state.get(NEW_SECRET_KEY)
    if not secret:
        return
    with st.container(border=True):
        st.markdown("**Your rejoin code** - write it down now and keep it to yourself; it is shown only once")
        st.code(show_secret(secret), language=None)
        st.caption("With the room code it brings you back to this seat from any device, or after a reload. "
                   "Whoever has it can play your seat; your name alone cannot.")
        if st.button("I have written it down", key="secret_noted", icon=":material/check:"):
            st.session_state.pop(NEW_SECRET_KEY, None)
            st.rerun()


def heartbeat(cls: Classroom, seat: dict) -> None:
    """Tell the teacher's seat board this page is open (a write at most every HEARTBEAT_SECONDS)."""
    now = cls.clock()
    if seat and now - st.session_state.get("classroom_heartbeat", 0.0) >= HEARTBEAT_SECONDS:
        try:
            cls.heartbeat(seat["room"], seat["actor"], seat["token"])
        except common.KEEP_GOING:
            return                            # only the teacher's "last seen": never worth an error
        st.session_state["classroom_heartbeat"] = now


def live_strip(cls: Classroom, state: RoomState, me: str) -> None:
    """Round, timer and who we are waiting for; polls the room and redraws the page when the round changes."""
    seen = common.version(state)

    @st.fragment(run_every=common.POLL_SECONDS)
    @common.guarded
    def strip() -> None:
        heartbeat(cls, st.session_state.get(SEAT_KEY) or {})
        cls.tick(state.code)
        now_state = cls.state(state.code)
        if common.version(now_state) != seen:
            st.rerun()
        now = cls.clock()
        line = common.status_line(now_state, now)
        waiting = ["you" if a == me else now_state.scenario.actor(a).name for a in now_state.waiting_for]
        if now_state.room.status == "running":
            others = [w for w in now_state.waiting_for if w != me]
            mine = "You have moved." if me in now_state.moved else "**Your move.**"
            wait = ", ".join(waiting) if waiting else "nobody"
            st.info(f"**{line}** - {mine} Waiting for: {wait}." + (
                "" if others or me not in now_state.moved else " The round closes when the last move is in."),
                icon=":material/schedule:")
        elif now_state.room.status == "ended":
            st.info(f"**{line}**", icon=":material/flag:")
        else:
            st.warning(f"**{line}**", icon=":material/pause_circle:")

    strip()


def move_form(cls: Classroom, state: RoomState, model, seat: dict) -> None:
    spec = state.scenario
    me = seat["actor"]
    room = state.room
    r = room.open_round
    st.subheader(f"Your move - round {r}")
    if room.status == "lobby":
        st.info("The teacher has not started yet. Read your brief (left) and the others' public briefs.")
        return
    # The round this browser was showing when the button was pressed: a click that arrives after the round
    # closed is then refused as late, with a message, instead of silently counting for the next round.
    shown_rounds = st.session_state.setdefault("classroom_shown_round", {})
    shown = shown_rounds.get(state.code, r)
    shown_rounds[state.code] = r
    row = spec.actor_ids.index(me)
    offers = model.native(model.offers)[row]
    proposal = model.native(model.proposal)
    red = spec.actor(me).red_lines
    p = model.profiles
    crossed = [j for j, issue in enumerate(spec.issues) if model.open_issues[j] and not (
        p.red_low[row, j] <= model.proposal[j] <= p.red_high[row, j])]
    if crossed:
        moves = ", ".join(common.esc(f"{spec.issues[j].label} from {fmt_value(float(offers[j]), spec.issues[j])} "
                                     f"to {fmt_value(float(proposal[j]), spec.issues[j])}") for j in crossed)
        st.warning("The standing proposal crosses your red line. **Accept the proposal** would still move your "
                   f"offers to it ({moves}), so the next proposal (the weighted mean of every offer) moves on "
                   "toward the others' offers, but the table will not count it as "
                   "agreement on those issues: your brief forbids it. To hold your line, set your offers and "
                   "submit them instead.", icon=":material/block:")
    with st.form(f"move_{state.code}", border=True):
        chosen = {}
        for j, issue in enumerate(spec.issues):
            if not model.open_issues[j]:
                agreed_at = common.esc(fmt_value(float(proposal[j]), issue))
                st.markdown(f"**{common.esc(issue.label)}**: agreed at {agreed_at}")
                continue
            span = issue.scale.max - issue.scale.min
            step = 1.0 if span >= 20 else span / 100
            value = min(issue.scale.max, max(issue.scale.min, round(float(offers[j]) / step) * step))
            hint = f"proposal {common.esc(fmt_value(float(proposal[j]), issue))}"
            if issue.id in red:
                hint += f" - your red line {common.esc(fmt_value(red[issue.id], issue))}"
            ends = (f"{issue.scale.min:g} = {common.esc(issue.low_label)}",
                    f"{issue.scale.max:g} = {common.esc(issue.high_label)}")
            chosen[issue.id] = st.slider(
                f"**{common.esc(issue.label)}** ({hint})", min_value=float(issue.scale.min),
                max_value=float(issue.scale.max),
                value=float(value), step=float(step), key=f"offer_{issue.id}_{r}",
                format="%.0f" if step >= 1 else "%.2f",
                help="; ".join(ends))
            st.caption(" | ".join(ends))
        # one under the other: side by side in the move column they were cut ("Accept the pro...") at 1280 px
        submit = st.form_submit_button("Submit my offers", type="primary", width="stretch", key="submit_offers")
        accept = st.form_submit_button("Accept the proposal", width="stretch", key="accept_proposal")
    st.caption("Accept the proposal = your offers become exactly the standing proposal (the black bars) on every "
               "open issue, red line or not. "
               "An issue is agreed when every party accepts it" + (
                   " - and, in a package deal, all issues are agreed together."
                   if spec.protocol.linkage == "package" else "."))
    if submit or accept:
        try:
            receipt = cls.submit_move(state.code, me, seat["token"], shown, offers=chosen, accept=bool(accept))
        except ClassroomError as err:
            st.session_state["classroom_errors"] = [str(err)]
        else:
            st.session_state["classroom_receipt"] = receipt
        st.rerun()


def render(cls: Classroom) -> None:
    seat_page(cls)


__all__ = ["render", "join_page", "seat_page", "normalise_code"]
