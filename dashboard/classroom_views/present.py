"""The presentation view for the projector (`?view=present&room=CODE`): the room code, the address students
open and its QR code, the round and timer, who sits where and who has moved, the table and what happened.
Nothing in it is secret - no brief, no key, no seat secret, no control - so it is safe to project, and opening
it needs no passphrase."""

from __future__ import annotations

import streamlit as st

from dashboard.classroom_views import common
from sim.classroom import Classroom, ClassroomError


def render(cls: Classroom, code: str) -> None:
    try:
        state = cls.find_room(code, common.client(), ticket=st.query_params.get("ticket"))
    except ClassroomError as err:
        common.error(err)
        return
    st.title(state.room.title)
    common.join_box(state.code, ticket=cls.room_ticket(state.code))
    seen = common.version(state)

    @st.fragment(run_every=common.POLL_SECONDS)
    @common.guarded
    def board() -> None:
        cls.tick(state.code)
        now_state = cls.state(state.code)
        if common.version(now_state) != seen:
            st.rerun()
        now = cls.clock()
        st.info(f"**{common.status_line(now_state, now)}**", icon=":material/schedule:")
        common.table(common.seat_rows(now_state, now, teacher=False))

    board()
    if state.room.status == "lobby":
        return
    common.table_and_log(state, cls.model(state), limit=3)
