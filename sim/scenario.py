"""The scenario schema: the single source of truth for every input negsim accepts.

A scenario is N >= 2 actors x M >= 1 issues plus a negotiation protocol. Everything a user can set is a
field here; loaders (YAML, JSON, two CSV formats) only turn files into the document this schema validates,
and every problem is reported with a dotted path that addresses list items by id
(``actors.russia.positions.expansion``), the same paths `negsim params` lists and sweeps vary.
"""

from __future__ import annotations

import csv
import io
import math
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal, get_args

import yaml
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, create_model, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError

from sim import mechanisms
from sim.loading import (
    MAX_FILE_BYTES,
    MAX_MAGNITUDE,
    MAX_MAGNITUDE_TEXT,
    InputError,
    document_problems,
    for_terminal,
    parse_json,
    parse_yaml,
    read_file,
)

Id = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,39}$")]
UnitInterval = Annotated[float, Field(ge=0.0, le=1.0)]

StrategyKind = Literal["boulware", "linear", "conceder", "tit_for_tat", "hardliner"]
DEFAULT_EXPONENTS: dict[str, float] = {"boulware": 0.2, "linear": 1.0, "conceder": 3.0}


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)


class Scale(_Model):
    min: float = 0.0
    """Value of the issue's low pole, in native units."""
    max: float = 100.0
    """Value of the issue's high pole, in native units."""
    unit: str = ""
    """Unit shown beside values (e.g. 'years'); empty for an abstract 0-100 scale."""

    @model_validator(mode="after")
    def _ordered(self) -> Scale:
        if not (math.isfinite(self.min) and math.isfinite(self.max)) or self.max <= self.min:
            raise PydanticCustomError("scale_order", "max must be greater than min (got min={lo}, max={hi})",
                                      {"lo": self.min, "hi": self.max})
        return self

    @property
    def span(self) -> float:
        return self.max - self.min


DecisionRuleKind = Literal["unanimity", "qualified_majority", "simple_majority"]
DEFAULT_QMV_THRESHOLD = 0.71
"""Default share of the vote weight a qualified majority needs: the Council of the EU's weighted-vote threshold
under the Amsterdam Treaty (62 of 87 votes, 71.3 %), the period of much of the DEU data, and the default of the
procedural forecasting model (`sim.forecasting.problem`)."""


class DecisionRule(_Model):
    """How an issue is decided: which sets of accepting actors carry it (`sim.decision_rules`)."""

    kind: DecisionRuleKind = "unanimity"
    """unanimity: every actor with a vote accepts; simple_majority: the accepting actors hold more than half of
    the vote weight; qualified_majority: they hold at least `threshold` of it."""
    threshold: float = Field(default=DEFAULT_QMV_THRESHOLD, gt=0.5, le=1.0)
    """qualified_majority only: share of the vote weight the accepting actors need (0.5 < threshold <= 1;
    default 0.71, the Council's weighted-vote quota under the Amsterdam Treaty). Ignored by the other kinds."""
    weights: dict[str, Annotated[float, Field(ge=0.0, allow_inf_nan=False)]] = {}
    """Vote weight per actor id (only ratios matter). Left out: one vote per actor except the agenda setter,
    which proposes but does not vote. Given: an actor it leaves out has no vote (weight 0)."""
    agenda_setter: Id | None = None
    """The actor that proposes (e.g. the European Commission): nothing passes that it does not accept, whatever
    the votes."""


class Issue(_Model):
    id: Id
    """Short snake_case id, used in parameter paths (e.g. 'expansion')."""
    label: str
    """Human-readable name of the issue."""
    description: str = ""
    """What the issue is about, for briefs and the dashboard."""
    scale: Scale = Scale()
    """Native scale of the issue; positions everywhere are in these units."""
    low_label: str = "low"
    """What a position at scale.min means."""
    high_label: str = "high"
    """What a position at scale.max means."""
    de_escalating: bool = False
    """Agreement on this issue lowers tension (e.g. confidence-building measures)."""
    status_quo: float | None = Field(default=None, allow_inf_nan=False)
    """What holds if nothing is agreed on the issue (native units): the disagreement point of the bargaining.
    Left out, an actor values no agreement on the issue at its reservation utility."""
    decision_rule: DecisionRule | None = None
    """How this issue is decided, in place of `protocol.decision_rule` (the whole rule, not merged with it)."""


class Strategy(_Model):
    kind: StrategyKind = "linear"
    """Concession strategy: time-dependent boulware/linear/conceder (Faratin et al. 1998), tit_for_tat
    (concede as much as the others conceded last round) or hardliner (holds near its position)."""
    exponent: float | None = Field(default=None, gt=0.0, le=50.0)
    """Concession exponent e of time-dependent strategies: fraction conceded by round t is (t/T)^(1/e).
    boulware needs e < 1, conceder e > 1, linear e = 1; left out, the kind's default (0.2, 1, 3)."""
    reciprocity: float = Field(default=1.0, ge=0.0, le=3.0)
    """tit_for_tat: multiple of the others' last concession that the actor returns."""
    opening: UnitInterval = 0.05
    """tit_for_tat: fraction of its room the actor concedes in round 1, before anyone has moved."""
    flexibility: UnitInterval = 0.1
    """hardliner: largest fraction of its room it will ever concede (reached at the deadline)."""

    @model_validator(mode="before")
    @classmethod
    def _default_exponent(cls, data: Any) -> Any:
        if isinstance(data, Mapping) and data.get("exponent") is None:
            kind = data.get("kind", "linear")
            if isinstance(kind, str) and kind in DEFAULT_EXPONENTS:
                return {**data, "exponent": DEFAULT_EXPONENTS[kind]}
        return data

    @model_validator(mode="after")
    def _exponent_fits_kind(self) -> Strategy:
        e = self.exponent
        problem = None
        if self.kind == "boulware" and e is not None and e >= 1:
            problem = "boulware needs exponent < 1"
        elif self.kind == "conceder" and e is not None and e <= 1:
            problem = "conceder needs exponent > 1"
        elif self.kind == "linear" and e is not None and e != 1:
            problem = "linear needs exponent = 1 (use boulware or conceder for other values)"
        if problem:
            raise _errors([(("exponent",), f"{problem} (got {e:g})", e)])
        return self


class Brief(_Model):
    public: str = ""
    """What every player at the table knows about this actor."""
    confidential: str = ""
    """Instructions only this actor's player sees (revealed at the debrief)."""
    goals: list[str] = []
    """Goals and red lines in plain words, for the player's brief."""


class Inject(_Model):
    id: Id
    """Short snake_case id (e.g. 'geneva_talks')."""
    label: str
    """What happened, in a few words (e.g. 'Talks in Geneva')."""
    description: str = ""
    """The event as the teacher announces it."""
    tension: float = Field(default=0.0, ge=-1.0, le=1.0)
    """Added to the tension level when the teacher plays the inject."""
    saliences: dict[str, dict[str, Annotated[float, Field(ge=-1.0, le=1.0)]]] = {}
    """Per actor id, per issue id: change of that actor's salience (the result is kept within 0-1)."""
    outside_options: dict[str, Annotated[float, Field(ge=-1.0, le=1.0)]] = {}
    """Per actor id: change of the value of its outside option (an actor without one gets one from 0)."""


class OutsideOption(_Model):
    value: UnitInterval
    """Utility (0-1, on the scale of the actor's utility of a deal) of walking away from the talks, e.g.
    coercion for a revisionist power, sanctions and deterrence for the status-quo side."""
    trend: float = Field(default=0.0, ge=-0.2, le=0.2)
    """Change of that value per round (e.g. > 0 while forces mass: coercion looks ever more promising)."""


class Actor(_Model):
    id: Id
    """Short snake_case id (e.g. 'russia')."""
    name: str
    """Human-readable name."""
    capability: float = Field(default=1.0, gt=0.0, allow_inf_nan=False)
    """Relative power to shape outcomes; only ratios between actors matter."""
    positions: dict[str, float]
    """Ideal position per issue id, in the issue's native units."""
    saliences: dict[str, UnitInterval]
    """Importance of each issue to the actor, 0-1."""
    red_lines: dict[str, float] = {}
    """Worst acceptable value per issue (native units); an agreement past it is never accepted."""
    strategy: Strategy = Strategy()
    """How the actor concedes over the rounds."""
    reservation_utility: UnitInterval = 0.5
    """Walk-away level: the actor accepts no proposal whose utility is below it."""
    risk_attitude: float = Field(default=0.0, ge=-1.0, le=1.0)
    """-1 risk-averse (concave utility) .. 0 neutral .. +1 risk-acceptant (convex utility)."""
    allies: dict[str, UnitInterval] = {}
    """Cohesion weight per allied actor id: how far this actor's offers follow that ally's (sum <= 1)."""
    outside_option: OutsideOption | None = None
    """The actor's value of walking away. It leaves the table (breakdown) once this beats the best deal the
    others could still accept; left out, it never walks away."""
    brief: Brief = Brief()
    """Role brief for a player taking this seat in classroom mode."""


REMOVED_TENSION_KEYS = {
    "drift": "removed: tension no longer drifts by a constant; outside pressure is an actor's "
             "outside_option.trend",
    "breakdown_threshold": "removed: the talks break down when an actor's outside_option beats the best deal the "
                           "others could still accept, not at a tension level",
}


class Tension(_Model):
    """Tension is derived from what the actors do (deadlock raises it, concessions and de-escalating agreements
    lower it); it slows concessions (`hardening`) and is shown, but no longer ends the talks by itself."""

    initial: UnitInterval = 0.3
    """Escalation level at the start, 0 (calm) .. 1 (crisis)."""
    deadlock_rate: float = Field(default=0.04, ge=0.0, le=1.0)
    """Added in a round in which no offer moved."""
    hardline_rate: float = Field(default=0.03, ge=0.0, le=1.0)
    """Added per round times the share of actors that held firm (could still concede, and did not)."""
    concession_relief: float = Field(default=1.0, ge=0.0, le=20.0)
    """Subtracted per round times the mean concession (fraction of the scale)."""
    agreement_relief: float = Field(default=0.1, ge=0.0, le=1.0)
    """Subtracted once when an issue marked de_escalating is agreed."""
    hardening: UnitInterval = 0.5
    """How much tension slows concessions: the fraction of its room an actor means to have conceded, f(t), becomes
    f(t)^(1 / (1 - hardening x tension)): later, but still all of it by the deadline."""

    @model_validator(mode="before")
    @classmethod
    def _removed_keys(cls, data: Any) -> Any:
        if isinstance(data, Mapping):
            removed = [(key,) for key in REMOVED_TENSION_KEYS if key in data]
            if removed:
                raise _errors([(key, REMOVED_TENSION_KEYS[key[0]], data[key[0]]) for key in removed])
        return data


class _Protocol(_Model):
    mechanism: Literal[mechanisms.NAMES] = mechanisms.DEFAULT  # type: ignore[valid-type]
    """How actors move: the bargaining mechanism (`negsim mechanisms` lists them)."""
    max_rounds: int = Field(default=20, ge=1, le=10_000)
    """Deadline T: the talks end in stalemate after this many rounds."""
    agreement_tolerance: float = Field(default=0.05, gt=0.0, le=0.5)
    """An offer within this fraction of the scale of the proposal counts as matching it."""
    linkage: Literal["package", "issue_by_issue"] = "package"
    """package: nothing is agreed until everything is; issue_by_issue: each issue closes on its own."""
    decision_rule: DecisionRule = DecisionRule()
    """Who must accept for an issue to be agreed (unanimity by default); `issues[].decision_rule` overrides it."""
    activation: Literal["simultaneous", "sequential", "random"] = "simultaneous"
    """Order of moves within a round: all at once, in file order, or shuffled each round."""
    noise: float = Field(default=0.0, ge=0.0, le=0.5)
    """Standard deviation of random perturbations of offers, as a fraction of the scale."""
    tension: Tension = Tension()
    """Escalation dynamics."""
    seed: int = Field(default=0, ge=0, le=2**63 - 1)
    """Default random seed when none is given on the command line."""


Protocol = create_model(
    "Protocol", __base__=_Protocol, __doc__="The rules of the negotiation.",
    **{m.name: (m.parameters, Field(default_factory=m.parameters, description=f"Parameters of the {m.label} "
                                    "mechanism (used when it is the protocol's mechanism)."))
       for m in mechanisms.REGISTRY.values() if m.parameters is not None})
"""The rules of the negotiation, with a group of parameters per mechanism that has any (`sim.mechanisms`)."""


class Uncertain(_Model):
    """The range an input coded as an assumption may take: each run's seed draws the value from it."""

    low: float = Field(allow_inf_nan=False)
    """Lowest plausible value (the field's units)."""
    high: float = Field(allow_inf_nan=False)
    """Highest plausible value."""
    distribution: Literal["uniform", "triangular"] = "triangular"
    """uniform over [low, high], or triangular with its mode at the value coded in the file."""
    reason: str = ""
    """Why this range: what the source leaves open."""

    @model_validator(mode="after")
    def _ordered(self) -> Uncertain:
        if self.high < self.low:
            raise _errors([(("high",), f"must be >= low ({self.low:g}) (got {self.high:g})", self.high)])
        return self


class Scenario(_Model):
    model_config = ConfigDict(populate_by_name=True)

    schema_ref: str | None = Field(default=None, alias="$schema")
    """Path or URL of scenario.schema.json, for editor autocompletion; ignored by the model."""
    id: Id
    """Short snake_case id of the scenario."""
    title: str
    """Human-readable title."""
    description: str = ""
    """What the scenario represents and how it differs from its siblings."""
    source: str = ""
    """Where the numbers come from."""
    issues: list[Issue] = Field(min_length=1)
    """The issues on the table (M >= 1)."""
    actors: list[Actor] = Field(min_length=2)
    """The parties at the table (N >= 2)."""
    protocol: Protocol = Protocol()
    """The rules of the negotiation."""
    background: str = ""
    """The situation as every player is told it (classroom briefing)."""
    injects: list[Inject] = []
    """Events a teacher can play during a classroom negotiation."""
    uncertainty: dict[str, Uncertain] = {}
    """Ranges of inputs coded as assumptions, by parameter path (as `negsim params` lists them): every run
    draws these inputs from its seed, so many seeds show the spread the assumptions imply."""

    @model_validator(mode="after")
    def _cross_references(self) -> Scenario:
        problems = list(_reference_problems(self.model_dump()))
        problems += list(_uncertainty_problems(self))
        if problems:
            raise _errors(problems)
        return self

    # ------------------------------------------------------------------ convenience look-ups
    @property
    def issue_ids(self) -> list[str]:
        return [issue.id for issue in self.issues]

    @property
    def actor_ids(self) -> list[str]:
        return [actor.id for actor in self.actors]

    def issue(self, issue_id: str) -> Issue:
        return next(i for i in self.issues if i.id == issue_id)

    def actor(self, actor_id: str) -> Actor:
        return next(a for a in self.actors if a.id == actor_id)

    def inject(self, inject_id: str) -> Inject:
        return next(i for i in self.injects if i.id == inject_id)

    def as_coded(self) -> Scenario:
        """The scenario with its inputs as coded: no ranges left to draw from."""
        return self if not self.uncertainty else self.model_copy(update={"uncertainty": {}})

    def with_protocol(self, **changes: Any) -> Scenario:
        """A copy with protocol fields replaced (validated); None values are ignored."""
        changes = {k: v for k, v in changes.items() if v is not None}
        if not changes:
            return self
        return apply_params(self, {f"protocol.{key}": value for key, value in changes.items()})


def _uncertainty_problems(scenario: Scenario) -> Iterable[tuple[tuple, str, Any]]:
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
            apply_params(scenario, values)
        except ScenarioError as error:
            for problem in error.problems:
                where = problem.path if problem.path in values else ""
                yield (("uncertainty", where, end) if where else ("uncertainty",),
                       f"a run could draw {values[where]:g} here, and {problem.message}" if where
                       else f"the {end} ends of the ranges together: {problem}", values.get(where))


def _reference_problems(doc: Mapping[str, Any]) -> Iterable[tuple[tuple, str, Any]]:
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
    actor_ids = {a.get("id") for a in items("actors") if isinstance(a.get("id"), str)}
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
    rules = [(("protocol", "decision_rule"), mapping(mapping(doc, "protocol"), "decision_rule"))]
    rules += [(("issues", issue.get("id") if isinstance(issue.get("id"), str) else index, "decision_rule"),
               mapping(issue, "decision_rule")) for index, issue in enumerate(items("issues"))]
    for where, rule in rules:
        yield from _decision_rule_problems(where, rule, actor_ids)
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


def _decision_rule_problems(where: tuple, rule: Mapping[str, Any], actor_ids: set[str]
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


def _errors(problems: Iterable[tuple[tuple, str, Any]]) -> ValidationError:
    details = [
        InitErrorDetails(type=PydanticCustomError("scenario", message), loc=tuple(loc), input=value)
        for loc, message, value in problems
    ]
    return ValidationError.from_exception_data("Scenario", details)


# ====================================================================== errors the user sees
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


def _path(loc: tuple, raw: Any) -> str:
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
        out.append(Problem(_path(loc, raw), _friendly(e)))
    return out


def parse_scenario(data: Any, source: str = "", strict: bool = False, limits: bool = True) -> Scenario:
    """Validate a scenario document (dict); raise ScenarioError listing every problem.

    The document is checked for size, text lengths and number ranges first (`sim.loading`; `limits=False` skips
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
    try:
        return Scenario.model_validate(data, strict=strict)
    except ValidationError as err:
        problems = problems_from(err, data)
        seen = {p.path for p in problems}
        for loc, message, _ in _reference_problems(data):
            problem = Problem(".".join(str(k) for k in loc), message)
            if problem.path not in seen:
                problems.append(problem)
                seen.add(problem.path)
        raise ScenarioError(problems, source) from None


# ====================================================================== files
def _read_text(path: Path) -> str:
    try:
        raw = read_file(path)
    except InputError as error:
        raise ScenarioError([Problem("", error.message)], str(path)) from None
    return decode(raw, str(path))


def decode(raw: bytes, source: str = "") -> str:
    """Bytes of a scenario file as text; binary junk and over-large input are refused."""
    if len(raw) > MAX_FILE_BYTES:
        raise ScenarioError([Problem("", f"file too large ({len(raw):,} bytes; the limit is "
                                         f"{MAX_FILE_BYTES:,})")], source)
    if b"\x00" in raw:
        raise ScenarioError([Problem("", "not a text file (contains binary data)")], source)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise ScenarioError([Problem("", f"not UTF-8 text (bad byte at offset {err.start})")], source) from None
    if not text.strip():
        raise ScenarioError([Problem("", "file is empty")], source)
    return text


def parse_text(text: str, fmt: str, source: str = "", scale: tuple[float, float] | None = None) -> Scenario:
    """Parse scenario text in format 'yaml', 'json' or 'csv' (strictly typed: see `parse_scenario`)."""
    if fmt == "csv":
        return parse_scenario(csv_document(text, source, scale=scale), source, strict=True)
    if scale is not None:
        raise ScenarioError([Problem("", "a scale override applies to CSV imports only")], source)
    try:
        data = parse_json(text) if fmt == "json" else parse_yaml(text)
    except InputError as error:
        raise ScenarioError([Problem(error.path, error.message)], source) from None
    return parse_scenario(data, source, strict=True)


def format_of(path: str | Path) -> str:
    suffix = Path(path).suffix.lower()
    return {".json": "json", ".csv": "csv", ".yaml": "yaml", ".yml": "yaml"}.get(suffix, "yaml")


def load_scenario(path: str | Path, scale: tuple[float, float] | None = None) -> Scenario:
    """Load a YAML, JSON or CSV scenario file; raise ScenarioError with every problem found."""
    path = Path(path)
    return parse_text(_read_text(path), format_of(path), str(path), scale=scale)


def parse_scale(text: str) -> tuple[float, float]:
    """'LO:HI' -> (lo, hi); raises ScenarioError."""
    try:
        lo, hi = (float(part) for part in text.split(":"))
    except ValueError:
        raise ScenarioError([Problem("--scale", f"must be LO:HI, two numbers (got {text!r})")]) from None
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
        raise ScenarioError([Problem("--scale", f"HI must be greater than LO (got {text!r})")])
    return lo, hi


# ---------------------------------------------------------------------- CSV import
def _slug(name: str, taken: set[str]) -> str:
    plain = unicodedata.normalize("NFKD", name.strip().lower())     # 'Österreich' -> 'osterreich'
    base = "".join(ch if ch.isascii() and ch.isalnum() else "_" for ch in plain if not unicodedata.combining(ch))
    base = base.strip("_") or "actor"
    base = ("a_" + base) if not base[0].isalpha() else base
    base = base[:36]
    slug, n = base, 2
    while slug in taken:
        slug, n = f"{base}_{n}", n + 1
    taken.add(slug)
    return slug


def csv_document(text: str, source: str = "", scale: tuple[float, float] | None = None) -> dict[str, Any]:
    """Turn a spatial-model CSV into a scenario document.

    Two published layouts are recognised by their header:
    BDM replication ``Actor,Capability,Position,Salience`` (one issue) and
    KTAB ``Actor,Description,Power,Pstn1,Sal1,Pstn2,Sal2,...``.
    Lines starting with '#' are comments. Saliences may be 0-1 or 0-100 (the whole file uses one).
    The issue scale is [min, max] of the positions unless ``scale`` is given.
    """
    lines = [line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    comments = [line.lstrip()[1:].strip() for line in text.splitlines() if line.lstrip().startswith("#")]
    rows = list(csv.reader(io.StringIO("\n".join(lines))))
    if not rows:
        raise ScenarioError([Problem("", "CSV has no header row")], source)
    header = [h.strip().lower() for h in rows[0]]
    body = rows[1:]
    problems: list[Problem] = []
    if header[:4] == ["actor", "capability", "position", "salience"] and len(header) == 4:
        layout, issue_cols = "bdm", [(2, 3)]
        name_col, power_col = 0, 1
    elif header[:3] == ["actor", "description", "power"] and len(header) >= 5 and (len(header) - 3) % 2 == 0:
        layout, name_col, power_col = "ktab", 0, 2
        issue_cols = [(3 + 2 * k, 4 + 2 * k) for k in range((len(header) - 3) // 2)]
        for k, (p, s) in enumerate(issue_cols, start=1):
            if header[p] != f"pstn{k}" or header[s] != f"sal{k}":
                problems.append(Problem("header", f"KTAB columns must alternate Pstn{k},Sal{k} "
                                                  f"(got {rows[0][p]},{rows[0][s]})"))
    else:
        raise ScenarioError([Problem("header", "unrecognised CSV layout: expected 'Actor,Capability,Position,"
                                               "Salience' (BDM) or 'Actor,Description,Power,Pstn1,Sal1,...' "
                                               f"(KTAB); got {','.join(rows[0])!r}")], source)
    if not body:
        problems.append(Problem("", "CSV has a header but no actor rows"))
    parsed: list[tuple[str, float, list[float], list[float]]] = []
    rows_of: dict[str, tuple[int, str]] = {}     # actor id -> (line, name) of the row that gave it
    for line_no, row in enumerate(body, start=2):
        if len(row) != len(header):
            problems.append(Problem(f"row {line_no}", f"expected {len(header)} columns, got {len(row)}"))
            continue
        values: dict[int, float] = {}
        for col in [power_col] + [c for pair in issue_cols for c in pair]:
            try:
                values[col] = float(row[col])
                if not math.isfinite(values[col]):
                    raise ValueError
            except ValueError:
                problems.append(Problem(f"row {line_no}.{rows[0][col].strip()}",
                                        f"must be a number (got {row[col][:40]!r})"))
            else:
                if abs(values[col]) > MAX_MAGNITUDE:
                    del values[col]
                    problems.append(Problem(f"row {line_no}.{rows[0][col].strip()}",
                                            f"must be within ±{MAX_MAGNITUDE_TEXT} (got {row[col].strip()[:40]})"))
        name = row[name_col].strip()
        actor_id = _slug(name, set())
        if actor_id in rows_of:     # two rows for one actor: an error, never a silent rename
            first_line, first_name = rows_of[actor_id]
            same = "the same name" if first_name == name else f"the same actor id '{actor_id}' as {first_name!r}"
            problems.append(Problem(f"row {line_no}.{rows[0][name_col].strip()}",
                                    f"{name!r} has {same} in row {first_line}; actor names must be unique"))
        rows_of.setdefault(actor_id, (line_no, name))
        if len(values) == 1 + 2 * len(issue_cols):
            parsed.append((name, values[power_col],
                           [values[p] for p, _ in issue_cols], [values[s] for _, s in issue_cols]))
    if problems:
        raise ScenarioError(problems, source)
    all_sal = [s for _, _, _, sal in parsed for s in sal]
    sal_factor = 100.0 if max(all_sal, default=0.0) > 1.0 else 1.0
    issues = []
    for k in range(len(issue_cols)):
        positions = [pos[k] for _, _, pos, _ in parsed]
        lo, hi = scale if scale is not None else (min(positions), max(positions))
        if hi <= lo:  # all actors agree: give the scale some width so it is valid
            lo, hi = lo - 1.0, hi + 1.0
        issue_id = "issue" if len(issue_cols) == 1 else f"issue{k + 1}"
        issues.append({"id": issue_id, "label": f"Issue {k + 1}" if len(issue_cols) > 1 else "Issue",
                       "scale": {"min": lo, "max": hi}, "low_label": f"{lo:g}", "high_label": f"{hi:g}"})
    taken: set[str] = set()
    actors = []
    for name, power, positions, saliences in parsed:
        actors.append({
            "id": _slug(name, taken), "name": name or "actor", "capability": power,
            "positions": {iss["id"]: p for iss, p in zip(issues, positions, strict=True)},
            "saliences": {iss["id"]: s / sal_factor for iss, s in zip(issues, saliences, strict=True)},
        })
    stem = Path(source).stem if source else "csv_import"
    return {"id": _slug(stem, set()), "title": stem.replace("_", " "),
            "description": " ".join(comments), "source": f"CSV import ({layout} layout) of {source}".strip(),
            "issues": issues, "actors": actors}


# ====================================================================== parameter paths
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
    if problems:
        raise ScenarioError(problems)
    return parse_scenario(doc, limits=False)


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


def json_schema() -> dict[str, Any]:
    """JSON Schema of scenario files (for editors and `negsim schema`)."""
    schema = Scenario.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "scenario.schema.json"
    return schema


def dump_yaml(scenario: Scenario) -> str:
    """The scenario as YAML that `load_scenario` and `negsim validate` accept."""
    doc = scenario.model_dump(by_alias=True, exclude_none=True, exclude_defaults=False)
    return yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)
