"""The actor colour map of every page, for the dashboard's modules: the one map is `sim.core.colours` (the
classroom's debrief, below the dashboard, draws with it too)."""

from __future__ import annotations

from sim.core.colours import ACTOR_COLOURS, ACTOR_DASHES, ACTOR_SHAPES, actor_colour, actor_colours

__all__ = ["ACTOR_COLOURS", "ACTOR_DASHES", "ACTOR_SHAPES", "actor_colour", "actor_colours"]
