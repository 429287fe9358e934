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
    st.subheader(common.esc(state.room.title))  # a title's size took the room the issues need at 1080 px
    seen = common.version(state)
    # two columns, so that every issue fits on a 1920 x 1080 projector: the table on the left, how to join, the
    # round, the seats and what happened on the right (one under the other, the charts were cut after the first)
    left, right = st.columns([3, 2], gap="large")
    with right:
        common.join_box(state.code, qr_width=120, ticket=cls.room_ticket(state.code))

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

    with right:
        board()
    if state.room.status == "lobby":
        return
    model = cls.model(state)
    with left:
        common.table_view(state, model)
    with right:
        st.markdown("**What happened**")
        common.log_view(state, common.visible_history(state, model), limit=2)  # no seat's secret reasons
