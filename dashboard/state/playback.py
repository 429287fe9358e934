"""How far the run is played: the target round, stepping, playing at a speed, and whether runs draw their uncertain
inputs."""

from __future__ import annotations

import math
import time

import streamlit as st

from dashboard.state.keys import DRAW, DRAW_BOX, END, PLAY_CLOCK, PLAYING, SHOWN, TARGET


def drawing() -> bool:
    """Whether this session's runs draw the uncertain inputs from their seed (else: played as coded)."""
    return bool(st.session_state.get(DRAW, True))


def set_drawing() -> None:
    st.session_state[DRAW] = bool(st.session_state.get(DRAW_BOX, True))


def target() -> int:
    """How far to play: a round number, or END."""
    return int(st.session_state.get(TARGET, 0))


def run_to_end() -> None:
    st.session_state[TARGET] = END
    stop_playing()


def step_one() -> None:
    st.session_state[TARGET] = int(st.session_state.get(SHOWN, 0)) + 1


def reset_run() -> None:
    st.session_state[TARGET] = 0
    stop_playing()


def playing() -> bool:
    return bool(st.session_state.get(PLAYING, False))


def toggle_play() -> None:
    st.session_state[PLAYING] = not playing()
    st.session_state.pop(PLAY_CLOCK, None)  # the clock starts at the first round played
    if playing() and target() == END:  # played to the end already: nothing to play
        st.session_state[PLAYING] = False


def play_schedule(shown: int, start: float, first: int, speed: float, now: float) -> tuple[float, int]:
    """(seconds to wait, round to show next) while playing at `speed` rounds per second from round `first` at
    time `start`: round k is due at start + (k - first) / speed. When a page takes longer to draw than a round
    lasts, the next run shows every round that fell due meanwhile, so the rounds per second stay as named."""
    wait = max(0.0, start + (shown + 1 - first) / speed - now)
    due = first + math.floor((now + wait - start) * speed + 1e-9)
    return wait, max(shown + 1, due)


def next_play_round(speed: float) -> tuple[float, int]:
    """`play_schedule` for this session (its clock starts, or restarts after a change of speed, now)."""
    shown = int(st.session_state.get(SHOWN, 0))
    now = time.monotonic()
    clock = st.session_state.get(PLAY_CLOCK)
    if clock is None or clock[2] != speed:
        clock = (now, shown, speed)
        st.session_state[PLAY_CLOCK] = clock
    return play_schedule(shown, clock[0], clock[1], speed, now)


def stop_playing() -> None:
    st.session_state[PLAYING] = False
    st.session_state.pop(PLAY_CLOCK, None)

