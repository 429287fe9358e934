"""The errors a user sees: every problem with the dotted path of the field it concerns (list items by id)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from pydantic_core import InitErrorDetails, PydanticCustomError

from sim.scenario.limits import for_terminal


def validation_error(problems: Iterable[tuple[tuple, str, Any]]) -> ValidationError:
    details = [
        InitErrorDetails(type=PydanticCustomError("scenario", message), loc=tuple(loc), input=value)
        for loc, message, value in problems
    ]
    return ValidationError.from_exception_data("Scenario", details)


@dataclass(frozen=True)
class Problem:
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


class ScenarioError(ValueError):
    """Invalid input; carries every problem found, each with its field path."""

    def __init__(self, problems: list[Problem], source: str = ""):
        self.problems = problems
        self.source = source
        # user text (file names, keys, values) shown escaped: it can neither restyle nor rewrite the terminal
        head = f"{for_terminal(source, newlines=False)}: " if source else ""
        if len(problems) == 1:      # one problem, one line
            super().__init__(f"{head}{for_terminal(str(problems[0]), newlines=False)}")
            return
        lines = [f"{head}{len(problems)} problems:"]
        lines += [f"  - {for_terminal(str(p), newlines=False)}" for p in problems]
        super().__init__("\n".join(lines))


def _friendly(error: Mapping[str, Any]) -> str:
    kind, ctx, value = error["type"], error.get("ctx") or {}, error.get("input")
    got = f" (got {value!r})" if not isinstance(value, (dict, list)) else ""
    bounds = {"greater_than": ">", "greater_than_equal": ">=", "less_than": "<", "less_than_equal": "<="}
    if kind in bounds:
        limit = next(iter(ctx.values()))
        return f"must be {bounds[kind]} {limit}{got}"
    if kind == "missing":
        return "required field missing"
    if kind == "extra_forbidden":
        return "unknown key (not part of the scenario schema)"
    if kind == "literal_error":
        return f"must be one of {ctx.get('expected', '')}{got}"
    if kind in ("float_parsing", "float_type", "int_parsing", "int_type", "int_from_float"):
        what = "a whole number" if kind.startswith("int") else "a number"
        return f"must be {what}{got}"
    if kind in ("dict_type", "model_type", "model_attributes_type"):
        return f"must be a mapping of keys to values{got if not isinstance(value, list) else ' (got a list)'}"
    if kind == "list_type":
        return f"must be a list{got}"
    if kind in ("string_type", "string_sub_type"):
        return f"must be text{got if not isinstance(value, (dict, list)) else ' (got a ' + type(value).__name__ + ')'}"
    if kind == "bool_type":
        return f"must be true or false{got}"
    if kind == "string_pattern_mismatch":
        return f"must be a short snake_case id (a-z, 0-9, _; starting with a letter){got}"
    if kind == "too_short":
        return error["msg"].replace("List should", "must")
    if kind in ("scenario", "scale_order"):
        return error["msg"]
    return f"{error['msg']}{got}"


def field_path(loc: tuple, raw: Any) -> str:
    """Dotted path with list indices replaced by the item's id where it has one."""
    parts: list[str] = []
    node = raw
    for key in loc:
        if isinstance(key, int) and isinstance(node, list):
            item = node[key] if 0 <= key < len(node) else None
            item_id = item.get("id") if isinstance(item, Mapping) else None
            parts.append(str(item_id) if isinstance(item_id, str) and item_id else str(key))
            node = item
        else:
            parts.append(str(key))
            node = node.get(key) if isinstance(node, Mapping) else None
    return ".".join(parts)


def problems_from(error: ValidationError, raw: Any) -> list[Problem]:
    out: list[Problem] = []
    for e in error.errors():
        loc = tuple(k for k in e["loc"] if not (isinstance(k, str) and k.startswith("function-")))
        out.append(Problem(field_path(loc, raw), _friendly(e)))
    return out
