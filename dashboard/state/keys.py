"""The session state's keys (`st.session_state`), and the run target meaning 'to the end'."""

from __future__ import annotations

END = -1
"""Run target meaning 'play until the talks end'."""

# session_state keys
FILE = "negsim.file"
UPLOAD = "negsim.upload"
SOURCE = "negsim.source"
EDITS = "negsim.edits"
BASES = "negsim.edit_bases"
TARGET = "negsim.target"
SHOWN = "negsim.shown"
LAST_VALID = "negsim.last_valid"
LAST_GOOD = "negsim.last_good_source"
"""The `Source` shown last: a broken upload keeps it."""
LAST_UPLOAD = "negsim.last_good_upload"
"""The last upload that worked: a broken upload that replaces it shows it again (the browser removes the old
file before it sends the new one, so the shipped scenario was shown for one run in between)."""
UPLOAD_EDITS = "negsim.upload_edits"
"""(source id, edits, their bases, round) of the last upload left: restored when a broken upload falls back to it."""
LINKED = "negsim.linked"
"""(file name, bytes) of a scenario that came embedded in a share link."""
CURRENT = "negsim.current"
GENERATION = "negsim.generation"
PLAYING = "negsim.playing"
PLAY_CLOCK = "negsim.play_clock"
"""(start time, first round, speed) of the rounds being played: see `play_schedule`."""
RESTORED = "negsim.restored_from_url"
DRAW = "negsim.draw"
"""Whether runs draw the scenario's uncertain inputs from their seed (the sidebar's checkbox; default on)."""
DRAW_BOX = "negsim.draw_box"
"""Key of that checkbox: its value is copied to DRAW, which outlives pages that do not draw the sidebar."""
WIDGET = "w:"
"""Prefix of the keys of the editing widgets: see `widget_key`."""
