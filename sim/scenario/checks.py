"""Checks across fields that no single field can see (duplicate ids, unknown references, values off an issue's
scale, decision rules naming unknown actors), on the raw document: they are reported together with field errors,
not only once every field is valid."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any


def reference_problems(doc: Mapping[str, Any]) -> Iterable[tuple[tuple, str, Any]]:
    """Problems no single field can see: duplicate ids, unknown references, values off an issue's scale.

    Works on the raw document, tolerating malformed parts, so that these problems are reported together
    with field errors rather than only once every field is valid.
    """
    def items(key: str) -> list[Mapping[str, Any]]:
        value = doc.get(key)
        return [x for x in value if isinstance(x, Mapping)] if isinstance(value, list) else []

    def mapping(node: Mapping[str, Any], key: str) -> Mapping[str, Any]:
        value = node.get(key)
        return value if isinstance(value, Mapping) else {}

    def number(value: Any) -> float | None:
        return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None

    for kind in ("issues", "actors", "injects"):
        seen: set[str] = set()
        for item in items(kind):
            item_id = item.get("id")
            if isinstance(item_id, str) and item_id in seen:
                yield (kind, item_id, "id"), f"duplicate id '{item_id}'", item_id
            seen.add(item_id) if isinstance(item_id, str) else None
    scales: dict[str, tuple[float, float]] = {}
    for issue in items("issues"):
        if isinstance(issue.get("id"), str):
            scale = mapping(issue, "scale")
            lo, hi = number(scale.get("min", 0.0)), number(scale.get("max", 100.0))
            scales[issue["id"]] = (lo if lo is not None else -math.inf, hi if hi is not None else math.inf)
    for issue in items("issues"):
        value = number(issue.get("status_quo"))
        if value is not None and isinstance(issue.get("id"), str) and issue["id"] in scales:
            lo, hi = scales[issue["id"]]
            if not lo <= value <= hi:
                yield (("issues", issue["id"], "status_quo"), f"must lie on the issue's scale [{lo:g}, {hi:g}] "
                       f"(got {value:g})", value)
    actor_ids: set[str] = {a["id"] for a in items("actors") if isinstance(a.get("id"), str)}
    for index, actor in enumerate(items("actors")):
        aid = actor.get("id") if isinstance(actor.get("id"), str) else index
        for field in ("positions", "saliences"):
            values = mapping(actor, field)
            if field in actor and not isinstance(actor.get(field), Mapping):
                continue
            for issue_id in scales:
                if issue_id not in values:
                    yield (("actors", aid, field, issue_id),
                           f"missing: every actor needs a {field[:-1]} on every issue", None)
        for field in ("positions", "saliences", "red_lines"):
            for issue_id in mapping(actor, field):
                if issue_id not in scales:
                    yield (("actors", aid, field, issue_id),
                           f"unknown issue id '{issue_id}' (issues: {', '.join(scales)})", issue_id)
        for field in ("positions", "red_lines"):
            for issue_id, raw in mapping(actor, field).items():
                value = number(raw)
                if issue_id not in scales or value is None:
                    continue
                lo, hi = scales[issue_id]
                if not math.isfinite(value):
                    yield ("actors", aid, field, issue_id), f"must be a finite number (got {value})", value
                elif value < lo:
                    yield ("actors", aid, field, issue_id), f"must be >= {lo:g} (got {value:g})", value
                elif value > hi:
                    yield ("actors", aid, field, issue_id), f"must be <= {hi:g} (got {value:g})", value
        allies = mapping(actor, "allies")
        for ally in allies:
            if ally == aid:
                yield ("actors", aid, "allies", ally), "an actor cannot be its own ally", ally
            elif ally not in actor_ids:
                yield (("actors", aid, "allies", ally),
                       f"unknown actor id '{ally}' (actors: {', '.join(sorted(actor_ids))})", ally)
        total = sum(v for v in (number(w) for w in allies.values()) if v is not None)
        if total > 1.0 + 1e-9:
            yield ("actors", aid, "allies"), f"cohesion weights must sum to <= 1 (got {total:g})", total
    rules: list[tuple[tuple[Any, ...], Mapping[str, Any]]] = [
        (("protocol", "decision_rule"), mapping(mapping(doc, "protocol"), "decision_rule"))]
    rules += [(("issues", issue.get("id") if isinstance(issue.get("id"), str) else index, "decision_rule"),
               mapping(issue, "decision_rule")) for index, issue in enumerate(items("issues"))]
    for where, rule in rules:
        yield from decision_rule_problems(where, rule, actor_ids)
    for index, inject in enumerate(items("injects")):
        iid = inject.get("id") if isinstance(inject.get("id"), str) else index
        for actor_id, changes in mapping(inject, "saliences").items():
            if actor_id not in actor_ids:
                yield (("injects", iid, "saliences", actor_id),
                       f"unknown actor id '{actor_id}' (actors: {', '.join(sorted(actor_ids))})", actor_id)
            for issue_id in changes if isinstance(changes, Mapping) else ():
                if issue_id not in scales:
                    yield (("injects", iid, "saliences", actor_id, issue_id),
                           f"unknown issue id '{issue_id}' (issues: {', '.join(scales)})", issue_id)
        for actor_id in mapping(inject, "outside_options"):
            if actor_id not in actor_ids:
                yield (("injects", iid, "outside_options", actor_id),
                       f"unknown actor id '{actor_id}' (actors: {', '.join(sorted(actor_ids))})", actor_id)


def decision_rule_problems(where: tuple, rule: Mapping[str, Any], actor_ids: set[str]
                            ) -> Iterable[tuple[tuple, str, Any]]:
    """A decision rule's references to actors (vote weights, agenda setter) must name actors of the scenario,
    and some actor must have a vote."""
    known = ", ".join(sorted(actor_ids))
    weights = rule.get("weights")
    if isinstance(weights, Mapping):
        for actor_id in weights:
            if actor_id not in actor_ids:
                yield (*where, "weights", actor_id), f"unknown actor id '{actor_id}' (actors: {known})", actor_id
        values = [v for v in weights.values() if isinstance(v, (int, float)) and not isinstance(v, bool)]
        if weights and len(values) == len(weights) and all(v == 0 for v in values):
            yield ((*where, "weights"), "every vote weight is 0: no set of actors could carry a vote (give the "
                   "voters a weight > 0, or leave weights out for one vote each)", dict(weights))
    setter = rule.get("agenda_setter")
    if isinstance(setter, str) and setter not in actor_ids:
        yield (*where, "agenda_setter"), f"unknown actor id '{setter}' (actors: {known})", setter
