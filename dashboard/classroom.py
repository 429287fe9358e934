"""negsim classroom: `streamlit run dashboard/classroom.py` (add `--server.address 0.0.0.0` for a class).

Humans and agents at one table. The teacher creates a room (scenario, seed, student seats, round timer, a
passphrase) and projects its presentation view (`?view=present&room=CODE`: code, address, QR code, no secrets);
students join from their own browsers, take a seat, read their brief and move each round; the computer plays
the other seats. Room state lives in a SQLite file shared by every session (NEGSIM_CLASSROOM_DB, default
~/.negsim/classroom.sqlite3), so the app can be restarted at any time.
Views only: rooms are `sim.classroom`, the negotiation is `sim.engine.model`.
"""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # `streamlit run` puts dashboard/ on the path; the package needs the repo root
    sys.path.insert(0, str(ROOT))

import streamlit as st  # noqa: E402

from dashboard.classroom_views import common, present, student, teacher  # noqa: E402
from sim.classroom import ClassroomError  # noqa: E402

st.set_page_config(page_title="negsim classroom", page_icon=":material/school:", layout="wide")

ROLES = {"student": "Student", "teacher": "Teacher"}


def main() -> None:
    try:
        cls = common.classroom()
    except ClassroomError as err:          # the database file cannot be used: say which, and how to fix it
        common.error(err, icon=":material/database:")
        return
    if st.query_params.get("view") == "present":
        present.render(cls, st.query_params.get("room", ""))
        return
    if "classroom_role" not in st.session_state:
        st.session_state["classroom_role"] = st.query_params.get("role") if st.query_params.get(
            "role") in ROLES else "student"
    with st.sidebar:
        # required, and its state set above: a role always (None only for a required control with neither)
        role = st.segmented_control("I am a", list(ROLES), format_func=ROLES.__getitem__, key="classroom_role",
                                    required=True) or "student"
    if st.query_params.get("role") != role:
        st.query_params["role"] = role
    if role == "teacher":
        teacher.render(cls)
    else:
        student.render(cls)


try:
    main()
except ClassroomError as err:             # a busy or broken database mid-page: a message, never a traceback
    common.error(err)
