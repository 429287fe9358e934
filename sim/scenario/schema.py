"""The scenario schema: the single source of truth for every input negsim accepts.

A scenario is N >= 2 actors x M >= 1 issues plus a negotiation protocol. Everything a user can set is a
field here; loaders (YAML, JSON, two CSV formats; `sim.scenario.files`) only turn files into the document this
schema validates (`sim.scenario.validate`: the fields here, then the checks across fields in
`sim.scenario.checks`), and every problem is reported with a dotted path that addresses list items by id
(``actors.russia.positions.expansion``), the same paths `negsim params` lists and sweeps vary.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    StringConstraints,
    create_model,
    model_validator,
)
from pydantic_core import PydanticCustomError

from sim import mechanisms
from sim.scenario.errors import validation_error

Id = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,39}$")]
UnitInterval = Annotated[float, Field(ge=0.0, le=1.0)]
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _a_date(value: Any) -> Any:
    """A calendar date: a date, or its ISO text YYYY-MM-DD (JSON has no dates; YAML's are read as text)."""
    if isinstance(value, dt.datetime):
        raise PydanticCustomError("date_only", "must be a date YYYY-MM-DD, without a time", {})
    if isinstance(value, str):
        try:
            if not _ISO_DATE.match(value):
                raise ValueError
            return dt.date.fromisoformat(value)
        except ValueError:
            raise PydanticCustomError("date_text", "must be a date YYYY-MM-DD", {}) from None
    return value


Date = Annotated[dt.date, BeforeValidator(_a_date), PlainSerializer(lambda day: day.isoformat(), return_type=str)]
"""A date, given as YYYY-MM-DD in files (a date object from Python), and dumped as that text (a scenario's document
is plain JSON data, whatever reads it)."""

StrategyKind = Literal["boulware", "linear", "conceder", "tit_for_tat", "hardliner"]
DEFAULT_EXPONENTS: dict[str, float] = {"boulware": 0.2, "linear": 1.0, "conceder": 3.0}


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)


class Scale(_Model):
    min: float = Field(default=0.0, title="low pole")
    """Value of the issue's low pole, in native units."""
    max: float = Field(default=100.0, title="high pole")
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
    """How an issue is decided: which sets of accepting actors carry it (`sim.core.voting`)."""

    kind: DecisionRuleKind = Field(default="unanimity", title="kind")
    """unanimity: every actor with a vote accepts; simple_majority: the accepting actors hold more than half of
    the vote weight; qualified_majority: they hold at least `threshold` of it."""
    threshold: float = Field(default=DEFAULT_QMV_THRESHOLD, gt=0.5, le=1.0, title="qualified-majority threshold")
    """qualified_majority only: share of the vote weight the accepting actors need (0.5 < threshold <= 1;
    default 0.71, the Council's weighted-vote quota under the Amsterdam Treaty). Ignored by the other kinds."""
    weights: dict[str, Annotated[float, Field(ge=0.0, allow_inf_nan=False)]] = Field(default={}, title="vote weight of")
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
    de_escalating: bool = Field(default=False, title="de-escalating")
    """Agreement on this issue lowers tension (e.g. confidence-building measures)."""
    status_quo: float | None = Field(default=None, allow_inf_nan=False, title="status quo")
    """What holds if nothing is agreed on the issue (native units): the disagreement point of the bargaining.
    Left out, an actor values no agreement on the issue at its reservation utility."""
    decision_rule: DecisionRule | None = None
    """How this issue is decided, in place of `protocol.decision_rule` (the whole rule, not merged with it)."""


class Strategy(_Model):
    kind: StrategyKind = Field(default="linear", title="kind")
    """Concession strategy: time-dependent boulware/linear/conceder (Faratin et al. 1998), tit_for_tat
    (concede as much as the others conceded last round) or hardliner (holds near its position)."""
    exponent: float | None = Field(default=None, gt=0.0, le=50.0, title="concession exponent")
    """Concession exponent e of time-dependent strategies: fraction conceded by round t is (t/T)^(1/e).
    boulware needs e < 1, conceder e > 1, linear e = 1; left out, the kind's default (0.2, 1, 3)."""
    reciprocity: float = Field(default=1.0, ge=0.0, le=3.0)
    """tit_for_tat: multiple of the others' last concession that the actor returns."""
    opening: UnitInterval = Field(default=0.05, title="opening concession")
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
            raise validation_error([(("exponent",), f"{problem} (got {e:g})", e)])
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
    tension: float = Field(default=0.0, ge=-1.0, le=1.0, title="change of tension")
    """Added to the tension level when the inject fires (scheduled) or a teacher plays it."""
    saliences: dict[str, dict[str, Annotated[float, Field(ge=-1.0, le=1.0)]]] = Field(default={},
                                                                                     title="change of salience for")
    """Per actor id, per issue id: change of that actor's salience (the result is kept within 0-1)."""
    outside_options: dict[str, Annotated[float, Field(ge=-1.0, le=1.0)]] = Field(default={},
                                                                              title="change of outside option of")
    """Per actor id: change of the value of its outside option (an actor without one gets one from 0)."""
    round: int | None = Field(default=None, ge=1, le=10_000)
    """Scheduled: the inject fires by itself just before this round is played, in every run (computer agents
    and classes alike). Left out (and no `date`), only a teacher plays it."""
    date: Date | None = None
    """Scheduled by date (needs `protocol.calendar`): fires just before the first round dated on or after it
    (round 1 at the earliest). A date past the last round never fires."""
    source: str = ""
    """Where the event is documented (a scheduled inject codes history: say where it comes from)."""

    @model_validator(mode="after")
    def _one_schedule(self) -> Inject:
        if self.round is not None and self.date is not None:
            raise validation_error([(("date",), "give a round or a date, not both", str(self.date))])
        return self

    @property
    def scheduled(self) -> bool:
        """It fires by itself (a round or a date), rather than when a teacher plays it."""
        return self.round is not None or self.date is not None


class OutsideOption(_Model):
    value: UnitInterval
    """Utility (0-1, on the scale of the actor's utility of a deal) of walking away from the talks, e.g.
    coercion for a revisionist power, sanctions and deterrence for the status-quo side."""
    trend: float = Field(default=0.0, ge=-0.2, le=0.2, title="trend per round")
    """Change of that value per round (e.g. > 0 while forces mass: coercion looks ever more promising)."""


class Actor(_Model):
    id: Id
    """Short snake_case id (e.g. 'russia')."""
    name: str
    """Human-readable name."""
    capability: float = Field(default=1.0, gt=0.0, allow_inf_nan=False)
    """Relative power to shape outcomes; only ratios between actors matter."""
    positions: dict[str, float] = Field(title="position on")
    """Ideal position per issue id, in the issue's native units."""
    saliences: dict[str, UnitInterval] = Field(title="salience of")
    """Importance of each issue to the actor, 0-1."""
    red_lines: dict[str, float] = Field(default={}, title="red line on")
    """Worst acceptable value per issue (native units); an agreement past it is never accepted."""
    strategy: Strategy = Strategy()
    """How the actor concedes over the rounds."""
    reservation_utility: UnitInterval = Field(default=0.5, title="walk-away utility")
    """Walk-away utility (reservation utility, 0-1): the least a deal must be worth to the actor; it accepts no
    proposal worth less. It does not make the actor leave the table: that is the outside option's doing."""
    risk_attitude: float = Field(default=0.0, ge=-1.0, le=1.0, title="risk attitude")
    """-1 risk-averse (concave utility) .. 0 neutral .. +1 risk-acceptant (convex utility)."""
    allies: dict[str, UnitInterval] = Field(default={}, title="follows")
    """Cohesion weight per allied actor id: how far this actor's offers follow that ally's (sum <= 1)."""
    outside_option: OutsideOption | None = Field(default=None, title="outside option")
    """Outside option: what leaving the table is worth to the actor (0-1, on the scale of its utility of a deal).
    It walks away (breakdown) once this beats the best deal every actor, itself included, could still accept (or
    no deal, where none remains); left out, it never walks away. Not the walk-away utility, which is the least a
    deal must be worth to it."""
    brief: Brief = Brief()
    """Role brief for a player taking this seat in classroom mode."""


REMOVED_TENSION_KEYS = {
    "drift": "removed: tension no longer drifts by a constant; outside pressure is an actor's "
             "outside_option.trend",
    "breakdown_threshold": "removed: the talks break down when an actor's outside_option beats the best deal "
                           "still left to it (or no deal), not at a tension level",
}


class Tension(_Model):
    """Tension is derived from what the actors do (deadlock raises it, concessions and de-escalating agreements
    lower it); it slows concessions (`hardening`) and is shown, but no longer ends the talks by itself."""

    initial: UnitInterval = Field(default=0.3, title="initial level")
    """Escalation level at the start, 0 (calm) .. 1 (crisis)."""
    deadlock_rate: float = Field(default=0.04, ge=0.0, le=1.0, title="rise in a deadlocked round")
    """Added in a round in which no offer moved."""
    hardline_rate: float = Field(default=0.03, ge=0.0, le=1.0, title="rise per hard-liner")
    """Added per round times the share of actors that held firm (could still concede, and did not)."""
    concession_relief: float = Field(default=1.0, ge=0.0, le=20.0, title="relief per concession")
    """Subtracted per round times the mean concession (fraction of the scale)."""
    agreement_relief: float = Field(default=0.1, ge=0.0, le=1.0, title="relief per de-escalating agreement")
    """Subtracted once when an issue marked de_escalating is agreed."""
    hardening: UnitInterval = Field(default=0.5, title="hardening of positions")
    """How much tension slows concessions: the fraction of its room an actor means to have conceded, f(t), becomes
    f(t)^(1 / (1 - hardening x tension)): later, but still all of it by the deadline."""

    @model_validator(mode="before")
    @classmethod
    def _removed_keys(cls, data: Any) -> Any:
        if isinstance(data, Mapping):
            removed = [(key,) for key in REMOVED_TENSION_KEYS if key in data]
            if removed:
                raise validation_error([(key, REMOVED_TENSION_KEYS[key[0]], data[key[0]]) for key in removed])
        return data


class Calendar(_Model):
    """When the rounds happen: round 0 (the opening) on `start`, round r `days_per_round` x r days later."""

    start: Date
    """Date of round 0, the opening positions (e.g. 2021-12-17, Russia's draft treaties)."""
    days_per_round: float = Field(default=7.0, gt=0.0, le=366.0)
    """Days between rounds (7: weekly; 3.5: twice a week). Round r is dated start + floor(r x days_per_round)."""

    def date_of(self, round_: int) -> dt.date:
        """The date of round `round_` (0 = the opening)."""
        return self.start + dt.timedelta(days=math.floor(round_ * self.days_per_round))

    def round_of(self, day: dt.date) -> int:
        """The first round (1 at the earliest) dated on or after `day`."""
        days = (day - self.start).days
        if days <= 0:
            return 1
        # the first r >= 1 with date_of(r) >= day, by bisection (date_of never falls as r grows): a walk from the
        # estimate days / days_per_round would take that many steps where a tiny days_per_round dates many
        # rounds alike
        low, high = 1, max(1, math.ceil(days / self.days_per_round))
        while self.date_of(high) < day:
            high *= 2
        while low < high:
            middle = (low + high) // 2
            if self.date_of(middle) >= day:
                high = middle
            else:
                low = middle + 1
        return low


if TYPE_CHECKING:     # a type checker cannot read the registry: for it, a mechanism is named by any text
    MechanismName = str
else:                 # for pydantic (and the JSON schema), one of the registered names
    MechanismName = Literal[mechanisms.REGISTRY.names]


class _Protocol(_Model):
    mechanism: MechanismName = mechanisms.DEFAULT
    """How actors move: the bargaining mechanism (`negsim mechanisms` lists them)."""
    max_rounds: int = Field(default=20, ge=1, le=10_000, title="deadline (rounds)")
    """Deadline T: the talks end in stalemate after this many rounds."""
    agreement_tolerance: float = Field(default=0.05, gt=0.0, le=0.5)
    """An offer within this fraction of the scale of the proposal counts as matching it."""
    linkage: Literal["package", "issue_by_issue"] = "package"
    """package: nothing is agreed until everything is; issue_by_issue: each issue closes on its own."""
    decision_rule: DecisionRule = DecisionRule()
    """Who must accept for an issue to be agreed (unanimity by default); `issues[].decision_rule` overrides it."""
    activation: Literal["simultaneous", "sequential", "random"] = Field(default="simultaneous", title="order of moves")
    """Order of moves within a round: all at once, in file order, or shuffled each round."""
    noise: float = Field(default=0.0, ge=0.0, le=0.5, title="noise of offers")
    """Standard deviation of random perturbations of offers, as a fraction of the scale."""
    tension: Tension = Tension()
    """Escalation dynamics."""
    seed: int = Field(default=0, ge=0, le=2**63 - 1, title="default seed")
    """Default random seed when none is given on the command line."""
    calendar: Calendar | None = None
    """Dates of the rounds (optional): outputs then carry a date per round, and injects may be dated."""


if TYPE_CHECKING:     # the shared rules; each mechanism's group is an attribute named by the mechanism (getattr)
    Protocol = _Protocol
else:
    Protocol = create_model(
        "Protocol", __base__=_Protocol, __doc__="The rules of the negotiation.",
        **{m.name: (m.parameters, Field(default_factory=m.parameters, title=m.label,
                                        description=f"Parameters of the {m.label} mechanism (used when it is the "
                                                    "protocol's mechanism)."))
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
            raise validation_error([(("high",), f"must be >= low ({self.low:g}) (got {self.high:g})", self.high)])
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
    protocol: Protocol = Field(default=Protocol(), title="Rules")
    """The rules of the negotiation."""
    background: str = ""
    """The situation as every player is told it (classroom briefing)."""
    injects: list[Inject] = []
    """Events: a teacher plays them during a classroom negotiation; those with a `round` or a `date` fire by
    themselves in every run."""
    uncertainty: dict[str, Uncertain] = {}
    """Ranges of inputs coded as assumptions, by parameter path (as `negsim params` lists them): every run
    draws these inputs from its seed, so many seeds show the spread the assumptions imply."""

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

    def inject_round(self, inject: Inject) -> int | None:
        """The round a scheduled inject fires before (None: a teacher's inject)."""
        if inject.round is not None:
            return inject.round
        calendar = self.protocol.calendar
        if inject.date is None or calendar is None:
            return None
        return calendar.round_of(inject.date)

    def scheduled_injects(self) -> dict[int, list[Inject]]:
        """Scheduled injects by the round they fire before, in file order within a round."""
        out: dict[int, list[Inject]] = {}
        for inject in self.injects:
            r = self.inject_round(inject)
            if r is not None:
                out.setdefault(r, []).append(inject)
        return out

    def date_of(self, round_: int) -> dt.date | None:
        """The date of a round (None without a calendar)."""
        calendar = self.protocol.calendar
        return None if calendar is None else calendar.date_of(round_)

    @model_validator(mode="after")
    def _dated_injects_need_a_calendar(self) -> Scenario:
        calendar = self.protocol.calendar
        if calendar is not None:
            try:
                calendar.date_of(self.protocol.max_rounds)
            except OverflowError:
                raise validation_error([(("protocol", "calendar", "days_per_round"),
                                         f"round {self.protocol.max_rounds} (protocol.max_rounds) would fall after "
                                         f"the year 9999: start earlier or use fewer days per round",
                                         calendar.days_per_round)]) from None
            early = [(("injects", i.id, "date"), f"dated before the calendar starts (round 0 on {calendar.start}): "
                      f"it would fire before round 1, dated {calendar.date_of(1)}", str(i.date))
                     for i in self.injects if i.date is not None and i.date < calendar.start]
            if early:
                raise validation_error(early)
        if self.protocol.calendar is None:
            dated = [(("injects", i.id, "date"), "a dated inject needs protocol.calendar (start, days_per_round)",
                      str(i.date)) for i in self.injects if i.date is not None]
            if dated:
                raise validation_error(dated)
        return self

    def as_coded(self) -> Scenario:
        """The scenario with its inputs as coded: no ranges left to draw from."""
        return self if not self.uncertainty else self.model_copy(update={"uncertainty": {}})


def json_schema() -> dict[str, Any]:
    """JSON Schema of scenario files (for editors and `negsim schema`)."""
    schema = Scenario.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "scenario.schema.json"
    return schema
