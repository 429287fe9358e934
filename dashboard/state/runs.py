"""The run shown, cached: a pure function of scenario, seed and rounds, replayed from round 0."""

from __future__ import annotations

import streamlit as st

from dashboard.state.current import Current
from dashboard.state.keys import END, SHOWN
from dashboard.state.playback import drawing, target
from sim import service
from sim.scenario import Scenario
from sim.service import RunResult


def simulate(key: str, rounds: int, _scenario: Scenario, draw: bool | None = None) -> RunResult:
    """The run of the scenario (its own seed) after `rounds` rounds, or to its end (rounds = END); `draw`:
    whether it draws the uncertain inputs from the seed (None: as the session's checkbox says).

    Stepping replays from round 0: a run is a pure function of scenario and seed, so round k looks the same
    however it was reached. Cached on the scenario's canonical JSON.
    """
    return _simulate(key, rounds, drawing() if draw is None else draw, _scenario)


@st.cache_data(show_spinner=False, max_entries=256)
def _simulate(key: str, rounds: int, draw: bool, _scenario: Scenario) -> RunResult:
    model = service.start(_scenario, draw=draw)
    if rounds == END:
        service.finish(model)
    else:
        while model.running and model.round < rounds:
            model.step()
    return service.result_of(model)


def shown_result(cur: Current) -> RunResult:
    """The run as far as this session has played it; remembers the round shown (for 'Step one round')."""
    result = simulate(cur.key, target(), cur.scenario)
    st.session_state[SHOWN] = result.rounds
    return result


def full_result(cur: Current) -> RunResult:
    """The run played to its end (the simulated outcome the analysis pages compare with)."""
    return simulate(cur.key, END, cur.scenario)

