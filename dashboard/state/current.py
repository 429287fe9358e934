"""The scenario every page works on in a run of the script: its source resolved and the edits applied."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import streamlit as st

from dashboard.state.edits import apply_edits, base_values, clear_edits, edits, value_at
from dashboard.state.keys import BASES, CURRENT, EDITS, LAST_VALID, SOURCE, TARGET, UPLOAD_EDITS
from dashboard.state.playback import target
from dashboard.state.sources import select_source
from sim.scenario import Scenario, ScenarioError


@dataclass(frozen=True)
class Current:
    """What every page works on in this run of the script."""

    base: Scenario                     # as loaded from the file or upload
    scenario: Scenario                 # with the user's edits; the last valid one if the edits are invalid
    key: str                           # canonical JSON of `scenario`: the cache key of every computation
    source: str                        # file name shown to the user
    load_error: ScenarioError | None   # an uploaded file that could not be used
    edit_error: ScenarioError | None   # the edits do not make a valid scenario
    edits: dict[str, Any]
    source_text: str | None = None     # the YAML text of the file or upload (Save YAML edits it in place)
    kind: str = "file"                 # where `base` comes from: "file", "upload" or "link" (see `Source`)

    @property
    def max_rounds(self) -> int:
        return self.scenario.protocol.max_rounds


def current() -> Current:
    """Resolve the scenario source and the edits into the validated scenario every page shows."""
    chosen, load_error = select_source()
    ident, label, base, text = chosen.ident, chosen.label, chosen.scenario, chosen.text
    if st.session_state.get(SOURCE) != ident:
        left = st.session_state.get(SOURCE)
        if left is not None:  # another file: its own values, from round 0
            if left.startswith("upload:"):  # kept, to come back to if the next upload is broken
                st.session_state[UPLOAD_EDITS] = (left, dict(edits()), dict(base_values()), target())
            clear_edits()
        st.session_state[SOURCE] = ident
        st.session_state[TARGET] = 0
        kept = st.session_state.get(UPLOAD_EDITS)
        if load_error is not None and kept is not None and kept[0] == ident:
            # back to the last good upload after a broken one (the browser removes the old file first, which
            # showed the shipped scenario for one run): with the changes made to it
            st.session_state[EDITS], st.session_state[BASES], st.session_state[TARGET] = (
                dict(kept[1]), dict(kept[2]), kept[3])
    changes = edits()
    bases = base_values()
    for path in changes.keys() - bases.keys():  # edits that came with a link: their file values, for the list
        bases[path] = value_at(base, path)
    edit_error = None
    scenario = base
    if changes:
        try:
            scenario = apply_edits(base, changes)
        except ScenarioError as error:
            edit_error = error
            last = st.session_state.get(LAST_VALID)
            scenario = last[1] if last and last[0] == ident else base
    st.session_state[LAST_VALID] = (ident, scenario)
    cur = Current(base=base, scenario=scenario, key=scenario.model_dump_json(), source=label,
                  load_error=load_error, kind=chosen.kind, edit_error=edit_error, edits=dict(changes),
                  source_text=text)
    st.session_state[CURRENT] = cur
    return cur


def get_current() -> Current:
    """The `Current` resolved by app.py in this script run (pages call this)."""
    cur = st.session_state.get(CURRENT)
    return cur if cur is not None else current()
