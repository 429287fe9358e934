"""negsim dashboard: `streamlit run dashboard/app.py`.

The entry page sets up the session, draws the sidebar (scenario source and settings) and hands over to the
page chosen in the navigation. Views only: every number comes from `sim.service` and `sim.core.spatial`.
"""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # `streamlit run` puts dashboard/ on the path; the package needs the repo root
    sys.path.insert(0, str(ROOT))

import streamlit as st  # noqa: E402

from dashboard import editor, state  # noqa: E402
from dashboard.common import PAGE_ICON  # noqa: E402
from dashboard.text import md  # noqa: E402

st.set_page_config(page_title="negsim dashboard", page_icon=PAGE_ICON, layout="wide")

PAGES = [
    st.Page("routes/negotiation.py", title="Negotiation", icon=":material/handshake:", default=True),
    st.Page("routes/analysis.py", title="Analysis", icon=":material/query_stats:"),
    st.Page("routes/monte_carlo.py", title="Monte Carlo", icon=":material/casino:"),
    st.Page("routes/compare.py", title="Compare", icon=":material/compare:"),
    st.Page("routes/sensitivity.py", title="Sensitivity", icon=":material/tune:"),
    st.Page("routes/new_sweep.py", title="New sweep", icon=":material/science:"),
    st.Page("routes/sweeps.py", title="Sweep explorer", icon=":material/grid_on:"),
]
page = st.navigation(PAGES)
link_problems = state.restore_from_url()  # a shared link: before the widgets that show what it sets

with st.sidebar:
    st.markdown("### Scenario")
    editor.source_controls()
current = state.current()
state.share_to_url()
if link_problems:
    st.warning("Part of the link could not be used: " + "; ".join(link_problems) + ".", icon=":material/link_off:")
if st.session_state.get(state.LINK_UPLOAD) and current.kind == "upload":
    del st.session_state[state.LINK_UPLOAD]
if st.session_state.get(state.LINK_UPLOAD):
    st.warning(f"The link you opened was made from an uploaded file, **{md(st.session_state[state.LINK_UPLOAD])}**, "
               "too large to travel in a link: upload that file again (sidebar) to see the run. Until then the "
               f"dashboard shows **{md(current.source)}**; the link's settings were not applied to it.",
               icon=":material/upload_file:")
with st.sidebar:
    if page.url_path == "sweeps":
        st.caption("The sweep explorer reads the output of `negsim sweep`; the settings below the file picker "
                   "apply to the other pages.")
    else:
        editor.edit_controls(current)

page.run()
