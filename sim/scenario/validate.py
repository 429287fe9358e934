"""Validation of a scenario document: its fields (`sim.scenario.schema`), the checks across fields
(`sim.scenario.checks`), and the ranges of its uncertain inputs (both ends of every range must be valid values);
and validated copies with values set at parameter paths (`apply_params`).

Each step runs once: checking a range's ends validates the fields and cross-references of the document with the
ends set, never the whole parse again.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import BaseModel, ValidationError

from sim.scenario.briefs import placeholder_problems
from sim.scenario.checks import reference_problems
from sim.scenario.errors import Problem, ScenarioError, field_path, problems_from
from sim.scenario.limits import InputError, document_problems
from sim.scenario.paths import params, set_paths
from sim.scenario.schema import Scenario

Located = tuple[tuple, str, Any]
"""A problem found by a check: (location as path keys, message, the value concerned)."""


def _fields_and_references(data: Mapping[str, Any], strict: bool, source: str) -> tuple[Scenario, list[Located]]:
    """The scenario of a document whose fields are valid, with its cross-field problems; raises ScenarioError
    listing every field problem together with the cross-field problems of the raw document."""
    try:
        scenario = Scenario.model_validate(data, strict=strict)
    except ValidationError as err:
        problems = problems_from(err, data)
        seen = {p.path for p in problems}
        for loc, message, _ in reference_problems(data):
            problem = Problem(".".join(str(k) for k in loc), message)
            if problem.path not in seen:
                problems.append(problem)
                seen.add(problem.path)
        raise ScenarioError(problems, source) from None
    return scenario, list(reference_problems(scenario.model_dump()))


def _raise_located(problems: Iterable[Located], data: Any, source: str) -> None:
    found = [Problem(field_path(loc, data), message) for loc, message, _ in problems]
    if found:
        raise ScenarioError(found, source)


def parse_scenario(data: Any, source: str = "", strict: bool = False, limits: bool = True) -> Scenario:
    """Validate a scenario document (dict); raise ScenarioError listing every problem.

    The document is checked for size, text lengths and number ranges first (`sim.scenario.limits`; `limits=False` skips
    that for a document whose values were all checked already); `strict` (files) takes no value of another type
    for a field (`capability: true` is not 1.0, `max_rounds: 20.5` not 20).
    """
    if not isinstance(data, Mapping):
        kind = "a list" if isinstance(data, list) else "empty" if data is None else type(data).__name__
        raise ScenarioError([Problem("", f"a scenario must be a mapping of keys to values (got {kind})")], source)
    try:
        early = document_problems(data) if limits else []
    except InputError as error:
        raise ScenarioError([Problem(error.path, error.message)], source) from None
    if early:
        raise ScenarioError([Problem(e.path, e.message) for e in early], source)
    scenario, problems = _fields_and_references(data, strict, source)
    problems = [*problems, *uncertainty_problems(scenario)]
    _raise_located(problems or placeholder_problems(scenario), data, source)   # briefs: once their values are sound
    return scenario


def uncertainty_problems(scenario: Scenario) -> Iterable[tuple[tuple, str, Any]]:
    """Each uncertain input must name a numeric parameter of the scenario whose coded value lies in its range,
    and both ends of every range must be valid values (then so is every draw: the field's bounds and the
    strategies' rules are intervals), checked by setting all lows, then all highs."""
    if not scenario.uncertainty:
        return
    table = params(scenario)
    bad = False
    for path, spec in scenario.uncertainty.items():
        value = table.get(path)
        if value is None or isinstance(value, (bool, str)):
            bad = True
            yield ("uncertainty", path), "not a numeric parameter of this scenario (see `negsim params`)", path
        elif not spec.low - 1e-12 <= value <= spec.high + 1e-12:
            bad = True
            yield (("uncertainty", path), f"the coded value {value:g} lies outside [{spec.low:g}, {spec.high:g}]",
                   value)
    if bad:
        return
    for end in ("low", "high"):
        values = {path: getattr(spec, end) for path, spec in scenario.uncertainty.items()}
        values = {path: round(x) if isinstance(table[path], int) else x for path, x in values.items()}
        try:
            _with_ends(scenario, values)
        except ScenarioError as error:
            for problem in error.problems:
                where = problem.path if problem.path in values else ""
                yield (("uncertainty", where, end) if where else ("uncertainty",),
                       f"a run could draw {values[where]:g} here, and {problem.message}" if where
                       else f"the {end} ends of the ranges together: {problem}", values.get(where))


def _with_ends(scenario: Scenario, values: Mapping[str, Any]) -> None:
    """Validate the scenario with `values` set at its uncertain inputs' paths (every range's low or high ends), as
    fields and cross-references: the ends set, nothing is left to draw. Raises ScenarioError."""
    doc = scenario.model_dump(by_alias=True, exclude_none=True)
    doc.pop("uncertainty", None)
    try:
        problems = [Problem(e.path, e.message) for e in document_problems(dict(values))]
    except InputError as error:
        problems = [Problem(error.path, error.message)]
    problems += set_paths(doc, values)
    if problems:
        raise ScenarioError(problems)
    _, located = _fields_and_references(doc, False, "")
    _raise_located(located, doc, "")


def apply_params(scenario: Scenario, values: Mapping[str, Any]) -> Scenario:
    """A validated copy of the scenario with the given dotted paths set (see `params`).

    A value set here is no longer uncertain: its entry in `uncertainty` is dropped (a sweep that varies an
    assumption fixes it at each point; a drawn scenario is not drawn again)."""
    doc = scenario.model_dump(by_alias=True, exclude_none=True)
    if doc.get("uncertainty"):
        doc["uncertainty"] = {path: spec for path, spec in doc["uncertainty"].items() if path not in values}
    try:     # the scenario's own values passed these checks already: only the new ones need them (sweeps call
        problems = [Problem(e.path, e.message) for e in document_problems(dict(values))]     # this per point)
    except InputError as error:
        problems = [Problem(error.path, error.message)]
    problems += set_paths(doc, values)
    if problems:
        raise ScenarioError(problems)
    return parse_scenario(doc, limits=False)


def with_protocol(scenario: Scenario, **changes: Any) -> Scenario:
    """A copy with protocol fields replaced (validated); None values are ignored."""
    changes = {k: v for k, v in changes.items() if v is not None}
    if not changes:
        return scenario
    return apply_params(scenario, {f"protocol.{key}": value for key, value in changes.items()})


def with_checked_values(scenario: Scenario, values: Mapping[str, Any]) -> Scenario:
    """`apply_params(scenario, values)` for values already checked, as a copy of the scenario with them set rather
    than a validation of the whole document again (which costs a model run a sixth of its time).

    For numbers at paths into existing fields and mappings (an actor's numbers, positions, saliences, red lines
    and allies' weights, its strategy's and outside option's numbers; an issue's status quo; the protocol's and
    its tension's numbers): a model run's draws, which `inputs.runs_to_validate` passed, from ranges the scenario's
    validation checked at both ends. Other paths go the validated way. The copy equals the validated scenario
    (tests/test_single_run.py)."""
    changes: dict[tuple[str, str], list[tuple[list[str], Any]]] = {}
    for path, value in values.items():
        kind, *keys = path.split(".")
        item = keys.pop(0) if kind in ("actors", "issues") and keys else ""
        if kind not in ("actors", "issues", "protocol") or not keys:
            return apply_params(scenario, values)
        changes.setdefault((kind, item), []).append((keys, value))
    update: dict[str, Any] = {"uncertainty": {path: spec for path, spec in scenario.uncertainty.items()
                                              if path not in values}}
    for kind in ("actors", "issues"):
        items = getattr(scenario, kind)
        ids = [x.id for x in items]
        if any(key[0] == kind and key[1] not in ids for key in changes):
            return apply_params(scenario, values)
        copied = [_with_changes(x, changes[(kind, x.id)]) if (kind, x.id) in changes else x for x in items]
        if any(x is None for x in copied):
            return apply_params(scenario, values)
        update[kind] = copied
    if ("protocol", "") in changes:
        update["protocol"] = _with_changes(scenario.protocol, changes[("protocol", "")])
        if update["protocol"] is None:
            return apply_params(scenario, values)
    return scenario.model_copy(update=update)


def _with_changes(node: BaseModel, changes: list[tuple[list[str], Any]]) -> BaseModel | None:
    """A copy of `node` with each (keys, value) set: keys into its fields, nested models and mappings of numbers;
    None where a key leads nowhere that exists (the validated way then builds or refuses it)."""
    by_field: dict[str, list[tuple[list[str], Any]]] = {}
    for keys, value in changes:
        by_field.setdefault(keys[0], []).append((keys[1:], value))
    fields = node.__dict__     # a model's field values by name
    update: dict[str, Any] = {}
    for name, rest in by_field.items():
        current = fields.get(name, _MISSING)
        depths = {len(keys) for keys, _ in rest}
        if isinstance(current, BaseModel) and 0 not in depths:
            update[name] = _with_changes(current, rest)
            if update[name] is None:
                return None
        elif isinstance(current, dict) and depths == {1}:
            update[name] = {**current, **{keys[0]: value for keys, value in rest}}
        elif (current is None or isinstance(current, (int, float))) and depths == {0}:
            update[name] = rest[-1][1]
        else:
            return None
    return node.model_copy(update=update)


_MISSING = object()
