"""The teacher's pages: create a room, the console (seats, start/pause/end, force a round, injects, reveal
briefs), every room at a glance, and the debrief."""

from __future__ import annotations

import streamlit as st

from dashboard.classroom_views import common
from dashboard.classroom_views.debrief_view import debrief_page
from sim.classroom import Classroom, ClassroomError, RoomState
from sim.classroom.security import show_secret
from sim.classroom.views import short_name
from sim.scenario import ScenarioError, load_scenario

TEACHER_KEY = "classroom_teacher"    # session: {"room", "key"} - the key never leaves the server session
KNOWN_KEY = "classroom_known_rooms"  # session: {code: teacher key} of rooms this browser session has opened
RECOVERY_KEY = "classroom_recovery"  # session: (code, recovery code) to show once after creating the room
SECTIONS = ["Table", "Injects", "Seats", "Briefs", "Debrief"]


def current_room() -> dict | None:
    """The room whose console this session holds (created here, or opened with its passphrase)."""
    return st.session_state.get(TEACHER_KEY)


def open_room(code: str, key: str) -> None:
    st.session_state[TEACHER_KEY] = {"room": code, "key": key}
    st.session_state.setdefault(KNOWN_KEY, {})[code] = key
    st.query_params.pop("key", None)
    st.query_params.update({"role": "teacher", "room": code})   # the code only: no secret in the address


def close_room() -> None:
    st.session_state.pop(TEACHER_KEY, None)
    st.query_params.pop("key", None)


@st.cache_data(show_spinner=False)
def scenario_files() -> dict[str, str]:
    """Shipped scenarios (path -> title), those with role briefs first."""
    out: dict[str, tuple[bool, str]] = {}
    for path in sorted(common.SCENARIO_DIR.glob("*.yaml")):
        try:
            spec = load_scenario(path)
        except ScenarioError:
            continue
        has_briefs = any(a.brief.public for a in spec.actors)
        out[str(path)] = (not has_briefs, f"{spec.title}" + ("" if has_briefs else " (no role briefs)"))
    return {p: title for p, (_, title) in sorted(out.items(), key=lambda kv: (kv[1][0], kv[0] != str(
        common.SCENARIO_DIR / "feb2022_baseline.yaml"), kv[0]))}


# ====================================================================== no room open
def setup_page(cls: Classroom) -> None:
    st.title("Classroom - teacher")
    st.markdown("Create a room for your class, put its **code** on the board, and let the students join from "
                "their own browsers. Seats nobody takes are played by the computer.")
    create, reopen, mine = st.tabs(["Create a room", "Open a room", "Your rooms"])
    with create:
        create_form(cls)
    with reopen:
        open_form(cls)
    with mine:
        your_rooms(cls)


def open_form(cls: Classroom) -> None:
    st.caption("Reopen the console of a room you created (after a reload, or on another device): its code and the "
               "passphrase you chose. Wrong passphrases are logged and limited.")
    with st.form("open_room"):
        code = st.text_input("Room code", key="open_code", max_chars=8, value=st.query_params.get("room", ""))
        passphrase = st.text_input("Teacher passphrase", key="open_pass", type="password", max_chars=200,
                                   help="Or the room's recovery code, shown once when you made the room: it opens "
                                        "the console even when wrong passphrases from others have used up the tries.")
        submitted = st.form_submit_button("Open the console")
    if submitted:
        try:
            state = cls.open_console(code, passphrase, common.client())
        except ClassroomError as err:
            common.error(err)
        else:
            open_room(state.code, state.room.teacher_key)
            st.rerun()


def create_form(cls: Classroom) -> None:
    files = scenario_files()
    path = st.selectbox("Scenario", list(files), format_func=files.__getitem__, key="new_scenario")
    spec = load_scenario(path)
    st.caption(spec.description)
    with st.form("new_room"):
        title = st.text_input("Room title (optional)", key="new_title", placeholder=spec.title)
        c1, c2, c3 = st.columns(3)
        seed = c1.number_input("Seed", min_value=0, value=int(spec.protocol.seed), step=1, key="new_seed",
                               help="Fixes the small random noise in the computer's moves: the same seed and the "
                                    "same moves give the same negotiation.")
        rounds = c2.number_input("Rounds", min_value=1, max_value=100, value=min(8, spec.protocol.max_rounds),
                                 step=1, key="new_rounds",
                                 help=f"The deadline; the scenario's own is {spec.protocol.max_rounds}. Eight "
                                      f"rounds of three minutes fit a 50-minute lesson.")
        timer = c3.number_input("Round timer (seconds, 0 = none)", min_value=0, max_value=3600, value=180, step=30,
                                key="new_timer", help="When it runs out the round closes; seats that have not "
                                                      "moved keep their offers.")
        names = {a.id: a.name for a in spec.actors}
        humans = st.multiselect("Seats for students", list(names), default=list(names)[:2],
                                format_func=names.__getitem__, key="new_humans",
                                help="The other seats, and any of these nobody takes before the start, are played "
                                     "by the computer.")
        passphrase = st.text_input("Teacher passphrase (at least 8 characters)", type="password", key="new_pass",
                                   max_chars=200, help="Reopens this room's console after a reload or on another "
                                                       "device. Type it where students cannot see; it is never "
                                                       "shown again. A short sentence is best.")
        submitted = st.form_submit_button("Create the room", type="primary")
    if submitted:
        try:
            state = cls.create_room(spec, human_seats=humans, seed=int(seed), timer_seconds=int(timer),
                                    max_rounds=int(rounds), title=title.strip() or None, passphrase=passphrase,
                                    client=common.client())
        except (ClassroomError, ScenarioError) as err:
            common.error(err)
        else:
            open_room(state.code, state.room.teacher_key)
            st.session_state[RECOVERY_KEY] = (state.code, state.recovery_code)
            st.rerun()


def recovery_box(code: str) -> None:
    """The room's recovery code, shown once after creation: it opens the console even when students have used
    up the passphrase attempts (it is never limited, and 80 random bits cannot be guessed)."""
    shown = st.session_state.get(RECOVERY_KEY)
    if not shown or shown[0] != code or not shown[1]:
        return
    with st.container(border=True):
        st.markdown("**Recovery code for this room** - write it down now, where students cannot see; it is shown "
                    "only once")
        st.code(show_secret(shown[1]), language=None)
        st.caption("If wrong passphrases from students ever block 'Open a room', type this code instead of the "
                   "passphrase: it always opens the console.")
        if st.button("I have written it down", key="recovery_noted", icon=":material/check:"):
            st.session_state.pop(RECOVERY_KEY, None)
            st.rerun()


def your_rooms(cls: Classroom) -> None:
    """The rooms this browser session has opened - never anyone else's (students may press 'Teacher' too)."""
    known = st.session_state.get(KNOWN_KEY, {})
    rows = []
    for code, key in known.items():
        try:
            state = cls.check_teacher(code, key)
        except common.KEEP_GOING:
            raise
        except ClassroomError:
            continue
        rows.append({"Code": state.code, "Title": state.room.title,
                     "Status": common.STATUS_WORDS[state.room.status],
                     "Round": f"{state.room.rounds_closed} of {state.scenario.protocol.max_rounds} played",
                     "Created": common.clock(state.room.created_at)})
    if not rows:
        st.caption("No rooms opened in this browser yet. Create one, or open one with its code and passphrase.")
        return
    common.table(rows)
    pick = st.selectbox("Open", [r["Code"] for r in rows], key="pick_room")
    if st.button("Open the console", key="pick_open"):
        open_room(pick, known[pick])
        st.rerun()


# ====================================================================== the console
def console(cls: Classroom, t: dict) -> None:
    try:
        state = cls.check_teacher(t["room"], t["key"])
    except common.KEEP_GOING:
        raise                                 # a database fault: keep the console for when it passes
    except ClassroomError as err:
        common.error(err)
        close_room()
        setup_page(cls)
        return
    key = t["key"]                            # the session's key (the store keeps only its hash)
    spec = state.scenario
    with st.sidebar:
        st.markdown(f"### Room `{state.code}`")
        present = common.room_url(state.code, cls.room_ticket(state.code)).replace("?room=", "?view=present&room=")
        if present:
            st.link_button("Presentation view (for the projector)", present, icon=":material/present_to_all:")
        st.caption("Project the presentation view, not this console: it shows the code, the address and the "
                   "table, and no brief, request or control.")
        if st.button("Back to your rooms", key="close_console", icon=":material/arrow_back:"):
            close_room()
            st.rerun()

    st.title(state.room.title)
    recovery_box(state.code)
    common.join_box(state.code, qr_width=160, ticket=cls.room_ticket(state.code))
    requests_box(cls, state, key)
    for message in st.session_state.pop("classroom_teacher_msgs", []):
        common.error(message)
    controls(cls, state, key)
    live_board(cls, state, key)

    section = st.segmented_control("Show", SECTIONS, key="console_section", required=True,
                                   default=SECTIONS[0], label_visibility="collapsed")
    if section == "Table":
        common.table_and_log(state, cls.model(state), teacher=True)
    elif section == "Injects":
        injects_view(cls, state, key)
    elif section == "Seats":
        seats_view(cls, state, key)
    elif section == "Briefs":
        st.markdown("**Background** (every player sees it)")
        common.background(spec)
        revealed = st.toggle("Reveal every confidential brief to the students (debrief)",
                             value=state.room.revealed, key="reveal")
        if revealed != state.room.revealed:
            act(lambda: cls.reveal(state.code, key, revealed))
        for a in spec.actors:
            with st.expander(a.name):
                common.brief_view(spec, a.id, confidential=True)
    else:
        debrief_page(cls, state, teacher=True)


def act(call) -> None:
    """Run a teacher action; show its refusal instead of a traceback; redraw."""
    try:
        call()
    except ClassroomError as err:
        st.session_state["classroom_teacher_msgs"] = [str(err)]
    st.rerun()


def controls(cls: Classroom, state: RoomState, key: str) -> None:
    """The room's buttons in one row, each as wide as its label (five equal columns cut "Close the roun..." and
    "End the negoti..." at 1280 px)."""
    status = state.room.status
    row = st.container(horizontal=True, vertical_alignment="center")
    with row:
        if status == "lobby":
            free = [state.scenario.actor(s.actor).name for s in state.seats if s.human and not s.taken]
            if st.button("Start round 1", key="start", type="primary", icon=":material/play_arrow:",
                         help="Free student seats are handed to the computer at the start" +
                              (f" ({', '.join(free)})" if free else "")):
                act(lambda: cls.start(state.code, key))
        elif status == "running":
            if st.button("Pause", key="pause", icon=":material/pause:"):
                act(lambda: cls.pause(state.code, key))
        elif status == "paused" and st.button("Resume", key="resume", type="primary", icon=":material/play_arrow:"):
            act(lambda: cls.resume(state.code, key))
        if status == "running" and st.button("Close the round now", key="force", icon=":material/skip_next:",
                                             help="Seats that have not moved keep their offers; the computer's "
                                                  "seats move."):
            act(lambda: cls.force_round(state.code, key))
        if status != "ended":
            confirm = st.checkbox("Really end?", key="confirm_end")
            if st.button("End the negotiation", key="end", icon=":material/stop:", disabled=not confirm):
                act(lambda: cls.end(state.code, key))


def live_board(cls: Classroom, state: RoomState, key: str) -> None:
    """Status, timer and seats, refreshed every few seconds; the page redraws when a round closes or a student
    asks for a seat."""
    seen = common.version(state), [r.id for r in cls.seat_requests(state.code, key)]

    @st.fragment(run_every=common.POLL_SECONDS)
    @common.guarded
    def board() -> None:
        cls.tick(state.code)
        now_state = cls.state(state.code)
        if (common.version(now_state), [r.id for r in cls.seat_requests(state.code, key)]) != seen:
            st.rerun()
        now = cls.clock()
        st.info(f"**{common.status_line(now_state, now)}**", icon=":material/schedule:")
        common.table(common.seat_rows(now_state, now, teacher=True), file_name=f"room_{state.code}_seats.csv",
                     key="dl_seats")

    board()


def requests_box(cls: Classroom, state: RoomState, key: str) -> None:
    """Students asking for a taken seat (a new device, a lost secret): the teacher approves or refuses."""
    requests = cls.seat_requests(state.code, key)
    spec = state.scenario
    for request in requests:
        holder = state.seat(request.actor).player
        with st.container(border=True):
            c1, c2, c3 = st.columns([4, 1, 1], vertical_alignment="center")
            c1.markdown(f"**{common.esc(request.player)}** asks for the seat **{spec.actor(request.actor).name}**"
                        + (f", now held by **{common.esc(holder)}**" if holder else "")
                        + f" (asked at {common.clock(request.asked_at)}). Approve only if you can see who asks: "
                          f"the holder's browser loses the seat.")
            if c2.button("Approve", key=f"approve_{request.id}", type="primary"):
                act(lambda r=request.id: cls.decide_request(state.code, key, r, True))
            if c3.button("Refuse", key=f"refuse_{request.id}"):
                act(lambda r=request.id: cls.decide_request(state.code, key, r, False))


def seats_view(cls: Classroom, state: RoomState, key: str) -> None:
    spec = state.scenario
    lobby = state.room.status == "lobby"
    st.caption("A seat belongs to the browser that took it (it holds the seat's secret); names are only labels. "
               "Releasing a seat frees it for anyone with the code; moving a student takes their browser to a "
               "free student seat. Before the start you can turn seats into student or computer seats.")
    free = [s.actor for s in state.seats if s.human and not s.taken]
    for s in state.seats:
        c1, c2, c3, c4 = st.columns([2, 2, 2, 2], vertical_alignment="center")
        c1.markdown(f"**{spec.actor(s.actor).name}**")
        if lobby:
            human = c2.toggle("student seat", value=s.human, key=f"human_{s.actor}")
            if human != s.human:
                act(lambda a=s.actor, h=human: cls.set_human(state.code, key, a, h))
        else:
            c2.markdown("student seat" if s.human else "computer")
        if s.human and s.taken:
            c3.markdown(f"held by **{common.esc(s.player)}** since {common.clock(s.joined_at)}")
            if c4.button("Release", key=f"release_{s.actor}", help="The student's browser loses the seat."):
                act(lambda a=s.actor: cls.release_seat(state.code, key, a))
            if free:
                to = c4.selectbox("Move to", [""] + free, key=f"move_{s.actor}",
                                  format_func=lambda a: "move to ..." if not a else spec.actor(a).name,
                                  label_visibility="collapsed")
                if to:
                    act(lambda a=s.actor, t=to: cls.move_student(state.code, key, a, t))
        elif s.human:
            c3.markdown(":gray[free]")
    attempts = cls.attempts(state.code, key)
    st.markdown("**Wrong passphrases and seat secrets tried against this room**")
    if not attempts:
        st.caption("None.")
    else:
        common.table([{"When": common.clock(a.at), "What": a.kind, "Browser": a.session.removeprefix("browser:")[:8],
                       "Address": a.address or "?"} for a in attempts], file_name=f"room_{state.code}_attempts.csv",
                     key="dl_attempts")


def injects_view(cls: Classroom, state: RoomState, key: str) -> None:
    spec = state.scenario
    if not spec.injects:
        st.caption("This scenario lists no injects.")
        return
    st.caption("An inject is news you announce to the class. It takes effect before the round being played is "
               "computed: it moves the tension and how much some parties care about some issues.")
    played: dict[str, list[int]] = {}
    for p in state.injects:
        played.setdefault(p.inject, []).append(p.after_round + 1)
    for inject in spec.injects:
        if inject.scheduled:
            continue
        with st.container(border=True):
            c1, c2 = st.columns([4, 1], vertical_alignment="center")
            effects = []
            if inject.tension:
                effects.append(f"tension {inject.tension:+.2f}")
            for actor, changes in inject.saliences.items():
                for issue, delta in changes.items():
                    effects.append(f"{spec.actor(actor).name} cares {'more' if delta > 0 else 'less'} about "
                                   f"{short_name(spec.issue(issue))} ({delta:+.2f})")
            when = played.get(inject.id)
            c1.markdown(f"**{inject.label}** - {inject.description}\n\n:gray[Effect: {'; '.join(effects) or 'none'}"
                        + (f" - played before round {', '.join(map(str, when))}" if when else "") + "]")
            if c2.button("Play", key=f"inject_{inject.id}", disabled=state.room.status == "ended",
                         icon=":material/campaign:"):
                act(lambda i=inject.id: cls.play_inject(state.code, key, i))
    scheduled = [(r, i) for r, injects in sorted(spec.scheduled_injects().items()) for i in injects]
    if scheduled:
        st.caption("Scheduled events fire by themselves before their round (the computer's runs have them too):")
        st.markdown("\n".join(f"- before round {r}" + (f" ({i.date.day} {i.date:%B %Y})" if i.date else "")
                               + f": **{i.label}**" + (" - already past" if r <= state.room.rounds_closed else "")
                               for r, i in scheduled))


def render(cls: Classroom) -> None:
    t = current_room()
    if t is None:
        setup_page(cls)
    else:
        console(cls, t)
