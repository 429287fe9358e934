"""Parameter paths: dotted paths through a scenario document, list items addressed by id
(`actors.russia.positions.expansion`, `protocol.max_rounds`), as `negsim params` lists them and sweeps vary them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal, get_args

from pydantic import BaseModel

from sim.scenario.errors import Problem

if TYPE_CHECKING:
    from sim.scenario.schema import Scenario


def _is_choice(annotation: Any) -> bool:
    return getattr(annotation, "__origin__", None) is Literal or (
        any(getattr(a, "__origin__", None) is Literal for a in get_args(annotation)))


def params(scenario: Scenario) -> dict[str, float | int | str | bool]:
    """Every numeric or choice field a sweep can vary, by dotted path (list items addressed by id)."""
    out: dict[str, Any] = {}

    def walk(node: Any, prefix: str) -> None:
        if isinstance(node, BaseModel):
            for name, field in type(node).model_fields.items():
                value = getattr(node, name)
                path = f"{prefix}{field.alias or name}"
                if name in ("id", "schema_ref", "uncertainty"):  # ranges describe inputs; they are not inputs
                    continue
                if isinstance(value, (BaseModel, list, dict)):
                    walk(value, path + ".")
                elif isinstance(value, (bool, int, float)) or _is_choice(field.annotation):
                    out[path] = value
        elif isinstance(node, list):  # lists of items with ids; plain lists (e.g. brief goals) are text
            for item in node:
                if isinstance(item, BaseModel):
                    walk(item, f"{prefix}{item.id}.")
        elif isinstance(node, dict):
            for key, value in node.items():
                if isinstance(value, dict):
                    walk(value, f"{prefix}{key}.")
                elif isinstance(value, (int, float)):
                    out[f"{prefix}{key}"] = value

    walk(scenario, "")
    return out


def set_paths(doc: dict[str, Any], values: Mapping[str, Any]) -> list[Problem]:
    """Set each dotted path of `values` in the document `doc` (in place), creating the optional mappings a path
    may open (red lines, allies, outside options, decision rules, weights); the problems of paths that lead
    nowhere."""
    problems: list[Problem] = []
    for path, value in values.items():
        node: Any = doc
        keys = path.split(".")
        for depth, key in enumerate(keys):
            last = depth == len(keys) - 1
            if isinstance(node, list):
                match = next((item for item in node if item.get("id") == key), None)
                if match is None or last:
                    ids = ", ".join(item.get("id", "?") for item in node)
                    problems.append(Problem(path, f"no item with id '{key}' (ids: {ids})"))
                    break
                node = match
            elif isinstance(node, dict):
                if last:
                    node[key] = value
                elif key in node:
                    node = node[key]
                elif key in ("red_lines", "allies", "outside_option", "outside_options", "decision_rule",
                             "weights"):
                    node = node.setdefault(key, {})
                else:
                    problems.append(Problem(path, f"unknown key '{key}'"))
                    break
            else:
                problems.append(Problem(path, f"'{keys[depth - 1]}' is a value, not a group"))
                break
    return problems
