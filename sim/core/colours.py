"""The one actor colour map of every page: dashboard charts, the HTML report, the classroom (its issue charts, its
debrief page and its printable summary). It lives here, below every layer that draws, so that `sim.classroom`
and `dashboard` (`dashboard.colours` re-exports it) read the same map.

An actor's colour is its place in the scenario's list of actors, so the same actor has the same colour on
every chart of a scenario. The first eight are Okabe & Ito's colour-blind-safe palette (2008) without its
yellow (unreadable on white) and black (the proposal's colour), followed by three of Paul Tol's (2021);
none is a grey, which the proposal and the forecasts use.
"""

from __future__ import annotations

from collections.abc import Sequence

ACTOR_COLOURS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#882255", "#44AA99",
                 "#999933", "#332288")
ACTOR_DASHES = ([1, 0], [8, 3], [3, 3], [8, 3, 2, 3], [1, 3], [12, 4])
"""Line dashes by actor, so that two actors with the same offers (the US and NATO in the baseline) stay
visible: solid, long dash, short dash, dash-dot, dotted, very long dash, then again."""
ACTOR_SHAPES = ("circle", "square", "triangle-up", "diamond", "cross", "triangle-down", "wedge", "stroke",
                "arrow", "triangle-left")
"""Point shapes by actor: a second cue besides the colour (and one that prints in black and white)."""


def actor_colour(k: int) -> str:
    """The colour of the k-th actor of a scenario."""
    return ACTOR_COLOURS[k % len(ACTOR_COLOURS)]


def actor_colours(names: Sequence[str]) -> dict[str, str]:
    """Name (or id) -> colour, in the scenario's order of actors."""
    return {name: actor_colour(k) for k, name in enumerate(names)}
