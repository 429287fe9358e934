"""Parameter paths: dotted paths through a scenario document, list items addressed by id
(`actors.russia.positions.expansion`, `protocol.max_rounds`), as `negsim params` lists them and sweeps vary them."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, Protocol, get_args, runtime_checkable

from pydantic import BaseModel
from pydantic.fields import FieldInfo

from sim.scenario.errors import Problem

if TYPE_CHECKING:
    from sim.scenario.schema import Scenario


@runtime_checkable
class _Identified(Protocol):
    """An item of a list addressed by its id (an issue, an actor, an inject)."""

    id: str


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
                if isinstance(item, BaseModel) and isinstance(item, _Identified):
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


# ====================================================================== readable names
@dataclass(frozen=True)
class PathLabel:
    """A parameter path as people read it: `label` names it the way the scenario does ("Russia - outside option,
    trend per round"), `description` is the schema's description of the field, `unit` the issue's unit where the
    value is in native units."""

    path: str
    label: str
    description: str = ""
    unit: str = ""
    low: float | None = None        # the smallest value the schema allows (the issue's scale for native units)
    high: float | None = None       # the largest
    options: tuple[Any, ...] = ()   # the values of a choice (a Literal field, or true/false)

    @property
    def hover(self) -> str:
        """The text of a tooltip: the description and the raw path."""
        return f"{self.description} ({self.path})" if self.description else self.path


SUBJECTS = {"actors": "actor", "issues": "issue", "injects": "event"}
"""List fields of the scenario whose items are addressed by id: their items name the subject of a label."""
NATIVE_UNITS = frozenset({"positions", "red_lines", "status_quo", "min", "max"})
"""Fields whose values are in the issue's native units (the unit is shown beside them)."""


def _words(name: str, field: FieldInfo) -> str:
    """A field's short name: its schema `title`, else its name in words."""
    return field.title or name.replace("_", " ")


def _field(model: type[BaseModel], key: str) -> tuple[str, FieldInfo] | None:
    for name, field in model.model_fields.items():
        if key in (name, field.alias):
            return name, field
    return None


def _model_in(annotation: Any) -> type[BaseModel] | None:
    """The pydantic model an annotation holds (`OutsideOption | None` -> OutsideOption), if any."""
    for candidate in (annotation, *get_args(annotation)):
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return candidate
    return None


def _item_model(annotation: Any) -> type[BaseModel] | None:
    """The model of the items of a list annotation (`list[Actor]` -> Actor)."""
    return next((m for m in map(_model_in, get_args(annotation)) if m is not None), None)


def _is_mapping(annotation: Any) -> bool:
    return any(getattr(a, "__origin__", a) is dict for a in (annotation, *get_args(annotation)))


def _limits(annotation: Any, field: FieldInfo | None = None) -> tuple[float | None, float | None, tuple[Any, ...]]:
    """(low, high, options) a field or a mapping's value allows: its ge/gt/le/lt bounds, or its choices."""
    metadata = list(field.metadata) if field is not None else []
    for candidate in (annotation, *get_args(annotation)):
        for extra in getattr(candidate, "__metadata__", ()):
            metadata += list(getattr(extra, "metadata", [extra]))
    low = high = None
    for item in metadata:
        for name, is_low in (("ge", True), ("gt", True), ("le", False), ("lt", False)):
            bound = getattr(item, name, None)
            if isinstance(bound, (int, float)):
                if is_low:
                    low = float(bound)
                else:
                    high = float(bound)
    options: tuple[Any, ...] = ()
    if _is_choice(annotation):
        literal = annotation if getattr(annotation, "__origin__", None) is Literal else next(
            a for a in get_args(annotation) if getattr(a, "__origin__", None) is Literal)
        options = get_args(literal)
    elif annotation is bool or bool in get_args(annotation):
        options = (False, True)
    return low, high, options


def describe_path(scenario: Scenario, path: str) -> PathLabel:
    """The readable name of a parameter path of `scenario`: the actor's, issue's or event's display name, then
    the schema's title (or name in words) of each field down the path, and the display name of each key of a
    mapping (an issue id as its label, an actor id as its name). The schema is the only source of the words.
    A path that leads nowhere in the schema is its own label."""
    actors = {a.id: a.name for a in scenario.actors}
    issues = {i.id: i for i in scenario.issues}
    items: dict[str, dict[str, Any]] = {
        "actors": {a.id: a for a in scenario.actors}, "issues": issues,
        "injects": {i.id: i for i in scenario.injects}}

    def key_name(key: str) -> str:
        return actors[key] if key in actors else issues[key].label if key in issues else key

    keys = path.split(".")
    model: type[BaseModel] | None = type(scenario)
    subject, parts, description, unit = "", [], "", ""
    issue_of_path = None
    i = 0
    while i < len(keys):
        found = _field(model, keys[i]) if model is not None else None
        if found is None:
            return PathLabel(path, path)
        name, field = found
        description = " ".join((field.description or "").split())
        if model is type(scenario) and name in SUBJECTS:
            if i + 1 >= len(keys) or keys[i + 1] not in items[name]:
                return PathLabel(path, path)
            item = items[name][keys[i + 1]]
            subject = getattr(item, "name", None) or item.label
            if name == "issues":
                issue_of_path = item
            elif name == "injects":
                subject = f"Event '{subject}'"
            model = _item_model(field.annotation)
            i += 2
            continue
        if model is type(scenario):     # protocol: the subject is the group itself ("Rules")
            subject = _words(name, field)
            model = _model_in(field.annotation)
            i += 1
            continue
        words = _words(name, field)
        sub = _model_in(field.annotation)
        if sub is not None:
            parts.append(words)
            model = sub
            i += 1
            continue
        rest = keys[i + 1:]
        scale = None
        if rest and _is_mapping(field.annotation):
            parts.append(f"{words} {key_name(rest[0])}".strip())
            parts.extend(key_name(k) for k in rest[1:])
            value = field.annotation
            for _ in rest:      # the annotation of the values, through nested mappings
                value = next((a for a in get_args(value)[1:]), value)
            limits = _limits(value)
            if name in NATIVE_UNITS and rest[0] in issues:
                scale = issues[rest[0]].scale
        else:
            if rest:
                return PathLabel(path, path)
            parts.append(words)
            limits = _limits(field.annotation, field)
            if name in NATIVE_UNITS and issue_of_path is not None and name == "status_quo":
                scale = issue_of_path.scale
            elif name in NATIVE_UNITS and issue_of_path is not None:
                unit = issue_of_path.scale.unit
        if scale is not None:
            unit, limits = scale.unit, (scale.min, scale.max, ())
        break
    else:
        if not parts:
            return PathLabel(path, path)
    text = ", ".join(parts)
    return PathLabel(path, f"{subject} - {text}" if subject else text, description, unit, *limits)


def label(scenario: Scenario, path: str) -> str:
    """The readable name of a parameter path ("Russia - outside option, trend per round"); see `describe_path`."""
    return describe_path(scenario, path).label


def labels(scenario: Scenario, paths: Iterable[str]) -> dict[str, str]:
    """Path -> readable name, for the columns and axes of a table of runs."""
    return {path: label(scenario, path) for path in paths}
