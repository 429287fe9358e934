"""The user's edits: parameter path -> value, made with the sidebar's widgets (whose keys carry the number of resets,
see `widget_key`), and the scenario they make."""

from __future__ import annotations

import re
from typing import Any

import streamlit as st

from dashboard.state.keys import BASES, EDITS, GENERATION, WIDGET
from sim.scenario import Scenario, apply_params, parse_scenario


def widget_key(path: str, generation: int | None = None) -> str:
    """Key of the widget editing `path` (+ a suffix for helper widgets): WIDGET + path, with the number of
    resets so far in front after the first one. A reset gives every widget a new key, hence a new identity
    in the browser, so that none keeps showing (and sending back) a value from before the reset."""
    gen = int(st.session_state.get(GENERATION, 0)) if generation is None else generation
    return f"{WIDGET}{gen}/{path}" if gen else f"{WIDGET}{path}"


def clear_edits() -> None:
    """Forget every edit; the editing widgets start afresh from the file's values.

    The old widgets' keys are not deleted: the browser may still send their values once more (a new upload
    arrives together with the sliders' states), and their callbacks must then find them. They go stale
    instead (see `live_value`) and Streamlit drops them after the next run, which does not draw them."""
    st.session_state[EDITS] = {}
    st.session_state[BASES] = {}
    st.session_state[GENERATION] = int(st.session_state.get(GENERATION, 0)) + 1


_STALE = object()
_WIDGET_KEY = re.compile(re.escape(WIDGET) + r"(?:(\d+)/)?(.+)", re.DOTALL)


def live_value(key: str) -> Any:
    """The value of the editing widget `key`, or `_STALE` when the widget belongs to an earlier generation
    (drawn before a reset or a change of scenario) or is gone: its change must not become an edit of the
    scenario shown now."""
    match = _WIDGET_KEY.fullmatch(key)
    generation = int(match.group(1) or 0) if match else -1
    if generation != int(st.session_state.get(GENERATION, 0)) or key not in st.session_state:
        return _STALE
    return st.session_state[key]


def is_stale(value: Any) -> bool:
    return value is _STALE


def edits() -> dict[str, Any]:
    if EDITS not in st.session_state:
        st.session_state[EDITS] = {}
    return st.session_state[EDITS]


def base_values() -> dict[str, Any]:
    """The file's value of every edited path (None where the file sets none)."""
    return st.session_state.setdefault(BASES, {})


def set_edit(path: str, value: Any, base_value: Any) -> None:
    """Record an edit; an edit back to the file's value is dropped."""
    changes = edits()
    if value == base_value or (base_value is None and value is None):
        changes.pop(path, None)
    else:
        changes[path] = value
        base_values()[path] = base_value


def apply_edits(base: Scenario, changes: dict[str, Any]) -> Scenario:
    """The base scenario with the edits applied and validated (raises ScenarioError).

    A red line edited to None is removed (and no longer drawn, if the scenario gave it a range); everything
    else goes through `sim.scenario.apply_params`, which stops drawing what it sets.
    """
    removed = [p for p, v in changes.items() if v is None and ".red_lines." in p]
    if removed:
        doc = base.model_dump(by_alias=True, exclude_none=True)
        for path in removed:
            doc.get("uncertainty", {}).pop(path, None)
            _, actor_id, _, issue_id = path.split(".")
            actor = next(a for a in doc["actors"] if a["id"] == actor_id)
            actor.get("red_lines", {}).pop(issue_id, None)
        base = parse_scenario(doc, "dashboard")
    values = {p: v for p, v in changes.items() if p not in removed}
    return apply_params(base, values) if values else base


def value_at(scenario: Scenario, path: str) -> Any:
    """The scenario's value at a parameter path (list items addressed by id); None where it sets none."""
    node: Any = scenario.model_dump(by_alias=True)
    for part in path.split("."):
        if isinstance(node, list):
            node = next((item for item in node if isinstance(item, dict) and item.get("id") == part), None)
        elif isinstance(node, dict):
            node = node.get(part)
        else:
            return None
        if node is None:
            return None
    return node

