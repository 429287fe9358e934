"""A scenario's numbers as arrays, and the cheap way to set many runs' parameter values at once.

A sweep's design and a Monte Carlo's drawn assumptions give every run its own values of a few numeric fields.
Validating a whole scenario per run (pydantic) costs more than playing it, so the values are set straight into
the arrays here instead: `Inputs` holds every number a run reads (native units, an optional leading run axis),
`setters` says where each parameter path lives in it, and `with_values` returns the inputs of R runs. Values
set this way must be valid: the design checks the ends of each range against the schema and a scenario's
`uncertainty` ranges are checked at load, and `runs_to_validate` finds, per run, the values that could still
break a rule (a field's bounds, an issue's scale, allies' cohesion weights summing past 1, with the uncertain
weights at their highs): those runs go the validated way, which reports the problem. Paths with no setter here
(choices, scales, the seed, mechanism parameters) go the validated way (`scenario.apply_params`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from functools import cache
from typing import Annotated, Any, NamedTuple, Union, get_args, get_origin

import annotated_types
import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel

from sim.core.streams import input_uniforms
from sim.core.utility import ONE, Array
from sim.scenario import Scenario, apply_params, params
from sim.scenario.limits import MAX_MAGNITUDE

ACTOR_FIELDS = {
    "capability": "capability", "reservation_utility": "reservation", "risk_attitude": "risk_attitude",
    "strategy.exponent": "exponent", "strategy.reciprocity": "reciprocity", "strategy.opening": "opening",
    "strategy.flexibility": "flexibility", "outside_option.value": "outside", "outside_option.trend": "outside_trend",
}
ACTOR_ISSUE_FIELDS = {"positions": "positions", "saliences": "saliences", "red_lines": "red_lines"}
PROTOCOL_FIELDS = {
    "max_rounds": "max_rounds", "agreement_tolerance": "tolerance", "noise": "noise",
    "tension.initial": "tension_initial", "tension.deadlock_rate": "deadlock_rate",
    "tension.hardline_rate": "hardline_rate", "tension.concession_relief": "concession_relief",
    "tension.agreement_relief": "agreement_relief", "tension.hardening": "hardening",
}


class Inputs(NamedTuple):
    """Every number a run reads from its scenario, in native units; NaN where a scenario leaves a value out
    (no red line, no status quo, no outside option). Each array may carry a leading run axis (R, ...)."""

    positions: Array        # (N, M)
    saliences: Array        # (N, M)
    red_lines: Array        # (N, M)
    capability: Array       # (N,)
    reservation: Array      # (N,)
    risk_attitude: Array    # (N,)
    exponent: Array         # (N,) concession exponent (1 for kinds without one)
    reciprocity: Array      # (N,)
    opening: Array          # (N,)
    flexibility: Array      # (N,)
    outside: Array          # (N,)
    outside_trend: Array    # (N,)
    cohesion: Array         # (N, N) row i: how far actor i follows each ally
    status_quo: Array       # (M,)
    max_rounds: Array       # () int
    tolerance: Array        # ()
    noise: Array            # ()
    tension_initial: Array  # ()
    deadlock_rate: Array
    hardline_rate: Array
    concession_relief: Array
    agreement_relief: Array
    hardening: Array


_CACHE_LOCK = threading.RLock()    # Dask workers may run batches on several threads; `make` may nest


def kept_per_scenario(cache: dict[Any, tuple[Any, Any]], key: Any, scenario: object, size: int,
                      make: Callable[[], Any]) -> Any:
    """What `make` derives from `scenario` (or another object it is derived from), kept in `cache` under `key` for
    the last `size` keys, under one lock (threads evicting at once would pop the same key). The scenario is kept
    beside it, so an id that Python reuses for another scenario never hits."""
    with _CACHE_LOCK:
        hit = cache.get(key)
        if hit is None or hit[0] is not scenario:
            if len(cache) >= size:
                cache.pop(next(iter(cache)))
            hit = cache[key] = (scenario, make())
        return hit[1]


_CODED: dict[int, tuple[Scenario, Inputs]] = {}


def coded_inputs(scenario: Scenario) -> Inputs:
    """`inputs_of(scenario)`, read-only and kept for the last few scenarios (every run of a scenario starts from
    them)."""
    return kept_per_scenario(_CODED, id(scenario), scenario, 8, lambda: _read_only(inputs_of(scenario)))


def _read_only(inputs: Inputs) -> Inputs:
    for array in inputs:
        array.flags.writeable = False
    return inputs


def inputs_of(scenario: Scenario) -> Inputs:
    """The scenario's numbers (no run axis)."""
    issues, actors = scenario.issue_ids, scenario.actors
    index = {a.id: n for n, a in enumerate(actors)}
    cohesion = np.zeros((len(actors), len(actors)))
    for n, a in enumerate(actors):
        for ally, weight in a.allies.items():
            cohesion[n, index[ally]] = weight
    protocol, tension = scenario.protocol, scenario.protocol.tension

    def per_actor(get: Any) -> Array:
        return np.array([get(a) for a in actors], dtype=float)

    return Inputs(
        positions=np.array([[a.positions[j] for j in issues] for a in actors], dtype=float),
        saliences=np.array([[a.saliences[j] for j in issues] for a in actors], dtype=float),
        red_lines=np.array([[a.red_lines.get(j, np.nan) for j in issues] for a in actors], dtype=float),
        capability=per_actor(lambda a: a.capability), reservation=per_actor(lambda a: a.reservation_utility),
        risk_attitude=per_actor(lambda a: a.risk_attitude),
        exponent=per_actor(lambda a: a.strategy.exponent or 1.0),
        reciprocity=per_actor(lambda a: a.strategy.reciprocity), opening=per_actor(lambda a: a.strategy.opening),
        flexibility=per_actor(lambda a: a.strategy.flexibility),
        outside=per_actor(lambda a: np.nan if a.outside_option is None else a.outside_option.value),
        outside_trend=per_actor(lambda a: 0.0 if a.outside_option is None else a.outside_option.trend),
        cohesion=cohesion,
        status_quo=np.array([np.nan if i.status_quo is None else i.status_quo for i in scenario.issues], dtype=float),
        max_rounds=np.array(protocol.max_rounds), tolerance=np.array(protocol.agreement_tolerance),
        noise=np.array(protocol.noise), tension_initial=np.array(tension.initial),
        deadlock_rate=np.array(tension.deadlock_rate), hardline_rate=np.array(tension.hardline_rate),
        concession_relief=np.array(tension.concession_relief), agreement_relief=np.array(tension.agreement_relief),
        hardening=np.array(tension.hardening))


class Setter(NamedTuple):
    """Where a parameter path's value goes: a field of `Inputs` and the index within it (no run axis)."""

    field: str
    cell: tuple[int, ...]   # (named so: a tuple's own `index` is a method)
    whole: bool     # a whole-number field (max_rounds)


def setter_of(scenario: Scenario, path: str) -> Setter | None:
    """Where `path` lives in the scenario's `Inputs`, or None when it cannot be set cheaply (a choice, a scale,
    the seed, a mechanism's parameters, an outside option's trend of an actor without one)."""
    keys = path.split(".")
    if keys[0] == "protocol":
        name = PROTOCOL_FIELDS.get(".".join(keys[1:]))
        return None if name is None else Setter(name, (), name == "max_rounds")
    actors, issues = scenario.actor_ids, scenario.issue_ids
    if keys[0] == "issues" and len(keys) == 3 and keys[2] == "status_quo" and keys[1] in issues:
        return Setter("status_quo", (issues.index(keys[1]),), False)
    if keys[0] != "actors" or len(keys) < 3 or keys[1] not in actors:
        return None
    row, rest = actors.index(keys[1]), ".".join(keys[2:])
    if rest in ACTOR_FIELDS:
        if rest == "outside_option.trend" and scenario.actors[row].outside_option is None:
            return None     # the schema needs the option's value first: the validated way reports it
        return Setter(ACTOR_FIELDS[rest], (row,), False)
    if len(keys) == 4 and keys[2] in ACTOR_ISSUE_FIELDS and keys[3] in issues:
        return Setter(ACTOR_ISSUE_FIELDS[keys[2]], (row, issues.index(keys[3])), False)
    if len(keys) == 4 and keys[2] == "allies" and keys[3] in actors and keys[3] != keys[1]:
        return Setter("cohesion", (row, actors.index(keys[3])), False)
    return None


def with_values(base: Inputs, setters: Sequence[Setter], values: Array) -> Inputs:
    """The inputs of R runs: `base` in every run, with column k of `values` (R, K) set at `setters[k]`."""
    values = np.asarray(values, dtype=float)
    runs = values.shape[0]
    changed: dict[str, Array] = {}
    for field, columns, index, whole in _placements(tuple(setters)):
        array = changed.get(field)
        if array is None:
            coded = np.asarray(getattr(base, field))
            array = changed[field] = np.empty((runs, *coded.shape), dtype=coded.dtype)
            array[...] = coded
        chosen = values[:, columns]
        array[(slice(None), *index)] = np.round(chosen) if whole else chosen
    return Inputs(*(changed[name] if name in changed else _every_run(value, runs)
                    for name, value in zip(Inputs._fields, base, strict=True)))


def _every_run(value: Array, runs: int) -> Array:
    """`value` as the same value in each of `runs` runs (a leading run axis; not to be written to). One run: a
    view with an axis of one (np.broadcast_to's numbers, at a tenth of its cost per call, which a model run pays
    per field)."""
    return np.broadcast_to(value, (runs, *np.shape(value))) if runs != 1 else np.asarray(value)[None]


@cache
def _placements(setters: tuple[Setter, ...]) -> tuple[tuple[str, Any, tuple[Any, ...], bool], ...]:
    """The setters as one assignment per field: (field, the column(s) of `values`, the index within the field (ints
    for one setter, index arrays for several), whole numbers). A field whose setters repeat a target keeps one
    assignment per setter, in order (the last value set wins, as one by one)."""
    groups: dict[str, list[tuple[int, Setter]]] = {}
    for k, setter in enumerate(setters):
        groups.setdefault(setter.field, []).append((k, setter))
    out: list[tuple[str, Any, tuple[Any, ...], bool]] = []
    for field, members in groups.items():
        targets = [setter.cell for _, setter in members]
        if len(members) > 1 and members[0][1].cell and len(set(targets)) == len(targets):
            columns = np.array([k for k, _ in members], dtype=np.intp)
            index = tuple(np.array(axis, dtype=np.intp) for axis in zip(*targets, strict=True))
            out.append((field, columns, index, members[0][1].whole))
        else:
            out.extend((field, k, setter.cell, setter.whole) for k, setter in members)
    return tuple(out)


COHESION_LIMIT = 1.0 + 1e-9
"""The most an actor's cohesion weights may sum to (1, with float slack)."""


def combination_problems(inputs: Inputs, actor_ids: Sequence[str]) -> list[list[str]]:
    """Per run, what the values break together though each is valid alone (the schema's cross-field rules):
    an actor's cohesion weights summing past 1."""
    totals = inputs.cohesion.sum(axis=-1)
    over = totals > COHESION_LIMIT
    runs = over.shape[0] if over.ndim > 1 else 1
    over, totals = over.reshape(runs, -1), totals.reshape(runs, -1)
    return [[f"actors.{actor_ids[int(i)]}.allies: cohesion weights must sum to <= 1 (got {totals[r, i]:g})"
             for i in np.flatnonzero(over[r])] for r in range(runs)]


class Bounds(NamedTuple):
    """A numeric field's bounds in the schema (infinite where it has none)."""

    low: float
    low_open: bool      # the low end itself is refused (gt)
    high: float
    high_open: bool
    whole: bool         # an int field


@cache
def field_bounds(path: str) -> Bounds:
    """The bounds the schema puts on the field at `path` (a path `setter_of` knows), read from its pydantic
    field: list items and dict keys in the path are skipped, Optional is unwrapped."""
    node: Any = Scenario
    keys = path.split(".")
    annotation: Any = None
    metadata: list[Any] = []
    k = 0
    while k < len(keys):
        field = node.model_fields[keys[k]]
        annotation, metadata = _without_none(field.annotation), list(field.metadata)
        k += 1
        if get_origin(annotation) is list:
            node, k = get_args(annotation)[0], k + 1        # the next key is an item's id
        elif get_origin(annotation) is dict:
            annotation, k = get_args(annotation)[1], k + 1   # the next key is the dict's key: the value is the leaf
            if get_origin(annotation) is Annotated:
                annotation, *extra = get_args(annotation)
                metadata = [m for item in extra for m in getattr(item, "metadata", [item])]
        elif isinstance(annotation, type) and issubclass(annotation, BaseModel):
            node = annotation
    low, high, low_open, high_open = -np.inf, np.inf, False, False
    for item in metadata:
        if isinstance(item, annotated_types.Gt):
            low, low_open = _number(item.gt), True
        elif isinstance(item, annotated_types.Ge):
            low = _number(item.ge)
        elif isinstance(item, annotated_types.Lt):
            high, high_open = _number(item.lt), True
        elif isinstance(item, annotated_types.Le):
            high = _number(item.le)
    return Bounds(low, low_open, high, high_open, annotation is int)


def _number(bound: object) -> float:
    """A bound of the schema as a float (the schema's numeric fields have numeric bounds)."""
    if not isinstance(bound, (int, float)):
        raise TypeError(f"not a numeric bound: {bound!r}")
    return float(bound)


def _without_none(annotation: Any) -> Any:
    if get_origin(annotation) in (Union, type(int | None)):
        options = [a for a in get_args(annotation) if a is not type(None)]
        return options[0] if len(options) == 1 else annotation
    return annotation


def _out_of_bounds(checks: Checks, values: Array) -> NDArray[np.bool_]:
    """Per run (R,): some value (R, K) is not a finite number of at most MAX_MAGNITUDE, or off its bounds: not
    within the closed range [`first`, `last`] (NaN is within no range), or not whole in a whole-number field. One
    run's values (K,) give one flag (a numpy bool)."""
    bad = ~((values >= checks.first) & (values <= checks.last)).all(axis=-1)
    for k in checks.whole_columns:  # (a column at a time, by plain indexing: whole-number fields are few)
        column = values[..., k]
        bad |= column != column.round()     # (as np.round rounds: half to even)
    return bad


class Checks(NamedTuple):
    """What `runs_to_validate` checks of values at given paths, per path (K,): the field's bounds (narrowed to the
    issue's scale for positions, red lines and status quo), and the setters of the cohesion check."""

    low: Array
    low_open: NDArray[np.bool_]     # the low end itself is refused
    high: Array
    high_open: NDArray[np.bool_]
    whole: NDArray[np.bool_]
    setters: tuple[Setter, ...]
    cohesion: bool                  # some path sets a cohesion weight
    uncertain_allies: tuple[tuple[str, float], ...]  # uncertain cohesion weights not among the paths, at their highs
    first: Array                    # (K,) the lowest value allowed: the low end, or the next double above an open
    last: Array                     # one, and at least -MAX_MAGNITUDE; the highest likewise (one comparison a side)
    whole_columns: tuple[int, ...]  # the places of `whole`


_CHECKS: dict[tuple[int, tuple[str, ...]], tuple[Scenario, Checks]] = {}


def checks_of(scenario: Scenario, paths: Sequence[str]) -> Checks | None:
    """The checks of values at `paths` in this scenario (None: some path has no setter), kept for the last few
    (scenario, paths) pairs: a model run checks its draws by the same paths each seed."""
    return kept_per_scenario(_CHECKS, (id(scenario), tuple(paths)), scenario, 16, lambda: _make_checks(scenario, paths))


def _make_checks(scenario: Scenario, paths: Sequence[str]) -> Checks | None:
    found = [setter_of(scenario, path) for path in paths]
    setters = tuple(setter for setter in found if setter is not None)
    if len(setters) < len(found):
        return None
    low, low_open, high, high_open, whole = [], [], [], [], []
    for path, setter in zip(paths, setters, strict=True):
        bounds = field_bounds(path)
        lo, hi = bounds.low, bounds.high
        if setter.field in ("positions", "red_lines", "status_quo"):
            scale = scenario.issues[setter.cell[-1]].scale
            lo, hi = max(lo, scale.min), min(hi, scale.max)
        low.append(lo)
        low_open.append(bounds.low_open)
        high.append(hi)
        high_open.append(bounds.high_open)
        whole.append(bounds.whole)
    uncertain = tuple((path, spec.high) for path, spec in scenario.uncertainty.items()
                      if path not in paths and (s := setter_of(scenario, path)) is not None and s.field == "cohesion")
    lows, highs = np.array(low, dtype=float), np.array(high, dtype=float)
    # x >= first is x > low for an open end, x >= low for a closed one, and |x| <= MAX_MAGNITUDE (exactly: there is
    # no double between low and its next one)
    first = np.maximum(np.where(low_open, np.nextafter(lows, np.inf), lows), -MAX_MAGNITUDE)
    last = np.minimum(np.where(high_open, np.nextafter(highs, -np.inf), highs), MAX_MAGNITUDE)
    return Checks(lows, np.array(low_open, dtype=bool), highs, np.array(high_open, dtype=bool),
                  np.array(whole, dtype=bool), setters, any(setter.field == "cohesion" for setter in setters),
                  uncertain, first, last, tuple(k for k, w in enumerate(whole) if w))


def runs_to_validate(scenario: Scenario, paths: Sequence[str], values: Array) -> NDArray[np.bool_]:
    """Per run (R,): could its `values` (R, K) at `paths` (all with setters) break a rule of the schema? A value
    that is not a finite number of at most MAX_MAGNITUDE, outside its field's bounds, not whole in a whole-number
    field, or off its issue's scale (positions, red lines, status quo), and cohesion weights summing past 1 with
    the scenario's uncertain ones at their highs (the ends a model run's validation sets together). Such runs go
    the validated way, which reports the problem exactly as a model run does."""
    values = np.asarray(values, dtype=float).reshape(len(values), len(paths))
    checks = checks_of(scenario, paths)
    if checks is None:
        raise ValueError(f"some of {list(paths)} cannot be set without validating the scenario (`setter_of`)")
    bad = _out_of_bounds(checks, values)
    if checks.cohesion and len(values):
        uncertain = checks.uncertain_allies
        highs = np.empty((len(values), len(uncertain)))
        highs[...] = [high for _, high in uncertain]
        allies = [setter for path, _ in uncertain if (setter := setter_of(scenario, path)) is not None]  # (all)
        inputs = with_values(coded_inputs(scenario), list(checks.setters) + allies, np.hstack([values, highs]))
        bad |= np.array([bool(problems) for problems in combination_problems(inputs, scenario.actor_ids)])
    return bad


# ---------------------------------------------------------------------- drawn assumptions
class DrawPlan(NamedTuple):
    """How a scenario's `uncertainty` is drawn: one uniform number per path, from the path's own stream of the
    run's seed (`sim.core.streams.input_uniforms`), in the mapping's order."""

    paths: tuple[str, ...]
    triangular: NDArray[np.bool_]   # (K,) triangular(low, coded value, high); else uniform(low, high)
    low: Array                      # (K,)
    mode: Array                     # (K,) the coded value (triangular paths)
    high: Array                     # (K,)
    whole: NDArray[np.bool_]        # (K,) whole-number fields get whole numbers
    # what `values_from_uniforms` computes of the bounds alone, once per plan (NaN ratio where low == high)
    ratio: Array                    # (K,) (mode - low) / (high - low): where a triangular draw turns
    left_span: Array                # (K,) (mode - low)(high - low)
    right_span: Array               # (K,) (high - mode)(high - low)
    span: Array                     # (K,) high - low
    real_roots: bool                # both spans >= 0 everywhere: no square root below is of a negative number
    all_triangular: bool            # every path is triangular (no uniform draw to compute)
    whole_columns: tuple[int, ...]  # the places of `whole`
    direct: tuple[Inputs, tuple[Setter, ...]] | None    # where every draw passes `settable_draws`' checks, whatever
                                    # the seed (`_always_valid`): the coded inputs and the setters it sets them by

    @property
    def always_valid(self) -> bool:
        return self.direct is not None


_PLANS: dict[int, tuple[Scenario, DrawPlan]] = {}


def draw_plan(scenario: Scenario) -> DrawPlan:
    """The draws `draw_values` makes for this scenario, in the order of its `uncertainty` mapping (kept for the
    last few scenarios: every seed of a Monte Carlo draws by the same plan)."""
    return kept_per_scenario(_PLANS, id(scenario), scenario, 8, lambda: _make_plan(scenario))


def _make_plan(scenario: Scenario) -> DrawPlan:
    coded = params(scenario)     # once per scenario: `draw_plan` keeps the plan
    paths, triangular, low, mode, high, whole = [], [], [], [], [], []
    for path, spec in scenario.uncertainty.items():
        coded_value = coded.get(path)
        value = coded_value if isinstance(coded_value, (int, float)) else None    # (uncertain inputs are numbers)
        uniform = spec.distribution == "uniform" or value is None or spec.high == spec.low
        paths.append(path)
        triangular.append(not uniform)
        low.append(spec.low)
        high.append(spec.high)
        mode.append(spec.low if uniform or value is None else float(value))
        whole.append(isinstance(value, int) and not isinstance(value, bool))
    lows, modes, highs = np.array(low, dtype=float), np.array(mode, dtype=float), np.array(high, dtype=float)
    base = highs - lows
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = (modes - lows) / base
    left_span, right_span = (modes - lows) * base, (highs - modes) * base
    plan = DrawPlan(tuple(paths), np.array(triangular, dtype=bool), lows, modes, highs, np.array(whole, dtype=bool),
                    ratio, left_span, right_span, base, bool((left_span >= 0).all() and (right_span >= 0).all()),
                    all(triangular), tuple(k for k, w in enumerate(whole) if w), direct=None)
    checks, coded_numbers = checks_of(scenario, paths), coded_inputs(scenario)
    if checks is None or not _always_valid(plan, checks, coded_numbers):    # (None: a path without a setter)
        return plan
    return plan._replace(direct=(coded_numbers, checks.setters))


def _always_valid(plan: DrawPlan, checks: Checks, coded: Inputs) -> bool:
    """Whether every draw of the plan passes `settable_draws`' checks, whatever the seed; then a run need not check
    its draws. A draw lies within its range [low, high] but for rounding (a few units in the last place, far below
    the margin here), and only where it comes near an end from inside: a uniform draw at its high end, a triangular
    one on the far side of its mode (below the turn low + sqrt(..) >= low, above it high - sqrt(..) <= high,
    exactly). Whole-number fields' draws are rounded: no further out than those ends rounded outwards. Cohesion
    weights (>= 0) sum to at most their sums with every draw at those highest ends (a rounded sum never falls as a
    term grows)."""
    if not plan.real_roots or not (plan.span >= 0).all() or not set(checks.whole_columns) <= set(plan.whole_columns):
        return False
    low, mode, high = plan.low, plan.mode, plan.high
    margin = 1e-9 * np.maximum(1.0, np.maximum(np.abs(low), np.abs(high)))
    lowest = np.where(plan.triangular, np.minimum(low, mode - margin), low)
    highest = np.where(plan.triangular, np.maximum(high, mode + margin), high + margin)
    lowest, highest = np.where(plan.whole, np.floor(lowest), lowest), np.where(plan.whole, np.ceil(highest), highest)
    if not ((lowest >= checks.first).all() and (highest <= checks.last).all()):
        return False
    return not checks.cohesion or not (with_own_values(coded, checks.setters, highest).cohesion.sum(axis=-1)
                                       > COHESION_LIMIT).any()


def draw_values(plan: DrawPlan, seed: int) -> Array:
    """One run's draws (K,) in the plan's path order: each path's uniform number from its own stream of `seed`
    (common random numbers: a path's draw does not depend on the other paths), transformed by
    `values_from_uniforms`."""
    return values_from_uniforms(plan, input_uniforms([seed], plan.paths)[0])


def values_from_uniforms(plan: DrawPlan, u: Array) -> Array:
    """The draws from uniform numbers u in [0, 1) (K,) (or one row per run, (R, K)): uniform(low, high) is
    low + (high - low) u; triangular(low, mode, high) is low + sqrt(u (mode - low)(high - low)) below
    u = (mode - low) / (high - low), high - sqrt((1 - u)(high - mode)(high - low)) above; whole-number fields
    rounded half to even. These are the formulas numpy's Generator.uniform and .triangular apply to the one
    double each consumes, in the same IEEE operations, so the numbers equal one call per path
    (tests/test_bargaining.py checks it); drawing the uniforms first lets many runs share one transform."""
    if plan.real_roots:     # (the usual plan: no need of np.errstate, whose context costs as much as the roots)
        below, above = _roots(plan, u)
    else:
        with np.errstate(invalid="ignore"):     # a coded value off its range (refused later) has a negative span
            below, above = _roots(plan, u)
    out = np.where(u <= plan.ratio, below, above)
    if not plan.all_triangular:     # (a plan of triangular draws only has no uniform draw to compute or choose)
        out = np.where(plan.triangular, out, plan.low + plan.span * u)
    for k in plan.whole_columns:    # (a new array: rounded where whole, in place, as np.round rounds half to even;
        out[..., k] = out[..., k].round()   # a column at a time by plain indexing: whole-number fields are few)
    return out


def _roots(plan: DrawPlan, u: Array) -> tuple[Array, Array]:
    """The triangular draws of u below and above where the distribution turns (see `values_from_uniforms`)."""
    return plan.low + np.sqrt(u * plan.left_span), plan.high - np.sqrt((ONE - u) * plan.right_span)


def drawn_mapping(plan: DrawPlan, values: Array) -> dict[str, float]:
    """The draws by path (whole-number fields as ints), as `RunResult.inputs` reports them."""
    numbers = values.tolist()
    drawn: dict[str, float] = dict(zip(plan.paths, numbers, strict=True))
    for k in plan.whole_columns:
        drawn[plan.paths[k]] = int(numbers[k])
    return drawn


def settable_draws(scenario: Scenario, plan: DrawPlan, values: Array) -> Inputs | None:
    """One run's inputs (a run axis of one) with its draws `values` (K,) (`draw_values`' by this plan) set straight
    into the arrays, as lockstep sets them; None when they must go the validated way (`apply_params`, which reports what
    is wrong): a path with no setter, or values `runs_to_validate` flags (the scenario's ranges were checked at load,
    so that is rare)."""
    if plan.direct is not None:     # (`values` are `draw_values`' of this plan: they pass the checks below, as every
        return with_own_values(*plan.direct, values)   # draw)
    checks = checks_of(scenario, plan.paths)
    if checks is None or _out_of_bounds(checks, values):
        return None
    # `runs_to_validate`'s checks, its cohesion check on these very inputs (every uncertain input is drawn here)
    inputs = with_own_values(coded_inputs(scenario), checks.setters, values)
    # (`combination_problems` finds none: asked as one count, its messages are written by the validated way)
    if checks.cohesion and np.count_nonzero(inputs.cohesion.sum(axis=-1) > COHESION_LIMIT):
        return None
    return inputs


def with_own_values(base: Inputs, setters: Sequence[Setter], values: Array) -> Inputs:
    """`with_values` for one run: `base` with `values[k]` (K,) set at `setters[k]`, every field with a run axis of
    one (the fields set are new arrays; the others are views of `base`'s own)."""
    layout = _own_layout(base, setters if isinstance(setters, tuple) else tuple(setters))
    fields = list(layout.kept)
    if layout.names:    # the float fields: one copy of their numbers, one assignment of every value into it
        chosen = values[layout.columns]
        numbers = layout.coded.copy()
        numbers[layout.targets] = np.where(layout.whole, np.round(chosen), chosen) if layout.any_whole else chosen
        # the numbers seen as a run of one record of those fields, each field by name a view of its own shape (a
        # third of the cost of a slice and a reshape per field)
        record = np.ndarray((1,), layout.record, numbers)
        for name, place in zip(layout.names, layout.places, strict=True):
            fields[place] = record[name]
    for field, columns, index, whole in layout.others:      # (max_rounds, an int field: set as it was)
        array = fields[_PLACES[field]] = np.array(getattr(base, field))[None]
        chosen = values[columns]
        array[(slice(None), *index)] = chosen.round() if whole else chosen  # (np.round's numbers, without its wrapper)
    return Inputs._make(fields)


_PLACES = {name: place for place, name in enumerate(Inputs._fields)}
"""Each `Inputs` field's place in the tuple."""


class OwnLayout(NamedTuple):
    """Where `with_own_values` puts one run's values: the float fields set, laid end to end in one vector (their
    coded numbers; as a record, each field of its shape), and each value's place in it; fields of other types one
    by one."""

    names: tuple[str, ...]
    places: tuple[int, ...]         # each field's place in `Inputs`
    kept: tuple[Any, ...]           # the fields nothing is set in, with their run axis (views of `base`'s); None
                                    # in the places of the others
    record: np.dtype                # the vector as one record: each field's numbers, of its shape
    coded: Array                    # the fields' coded numbers, end to end (read-only)
    targets: NDArray[np.intp]       # where each value set goes in it (a place set twice: the last setter only)
    columns: NDArray[np.intp]       # which value goes there
    whole: NDArray[np.bool_]        # rounded to a whole number first
    any_whole: bool
    others: tuple[tuple[str, Any, tuple[Any, ...], bool], ...]  # `_placements` of the other fields


_LAYOUTS: dict[tuple[int, int], tuple[Inputs, tuple[Setter, ...], OwnLayout]] = {}


def _own_layout(base: Inputs, setters: tuple[Setter, ...]) -> OwnLayout:
    """The layout of `setters` in `base`, kept for the last few by the identity of both (every seed of a scenario
    sets the same tuple of setters, `checks_of`'s, into the same coded inputs, `coded_inputs`'; hashing the setters
    would cost more than the layout saves). Both are kept beside it, so a reused id never hits."""
    key = (id(base), id(setters))
    with _CACHE_LOCK:
        hit = _LAYOUTS.get(key)
        if hit is None or hit[0] is not base or hit[1] is not setters:
            if len(_LAYOUTS) >= 16:
                _LAYOUTS.pop(next(iter(_LAYOUTS)))
            hit = _LAYOUTS[key] = (base, setters, _make_layout(base, setters))
        return hit[2]


def _make_layout(base: Inputs, setters: tuple[Setter, ...]) -> OwnLayout:
    names: list[str] = []
    starts: list[int] = []
    shapes: list[tuple[int, ...]] = []
    size = 0
    for field in dict.fromkeys(setter.field for setter in setters):
        coded = np.asarray(getattr(base, field))
        if coded.dtype == np.float64:
            names.append(field)
            starts.append(size)
            shapes.append(coded.shape)
            size += coded.size
    offsets = dict(zip(names, starts, strict=True))
    places: dict[int, tuple[int, bool]] = {}    # place -> (column, whole), the last setter of a place kept
    for k, setter in enumerate(setters):
        if setter.field in offsets:
            shape = shapes[names.index(setter.field)]
            place = offsets[setter.field] + int(np.ravel_multi_index(setter.cell, shape)) if shape else \
                offsets[setter.field]
            places.pop(place, None)
            places[place] = (k, setter.whole)
    coded = np.concatenate([np.asarray(getattr(base, name), dtype=float).ravel() for name in names]) if names \
        else np.empty(0)
    coded.flags.writeable = False
    whole = np.array([w for _, w in places.values()], dtype=bool)
    others = tuple(placement for placement in _placements(setters) if placement[0] not in offsets)
    changed = {*names, *(field for field, *_ in others)}
    return OwnLayout(tuple(names), tuple(_PLACES[name] for name in names),
                     tuple(None if name in changed else value[None] for name, value in zip(Inputs._fields, base,
                                                                                            strict=True)),
                     np.dtype([(name, np.float64, shape) for name, shape in zip(names, shapes, strict=True)]), coded,
                     np.array(list(places), dtype=np.intp), np.array([k for k, _ in places.values()], dtype=np.intp),
                     whole, bool(whole.any()), others)


def draw_inputs(scenario: Scenario, seed: int) -> tuple[Scenario, dict[str, float]]:
    """The scenario with every uncertain input drawn from its range by the run seed `seed`, validated, and the
    values drawn by path (the model's way; lockstep sets the same draws into arrays). A scenario without ranges
    is returned as it is, and nothing is drawn."""
    if not scenario.uncertainty:
        return scenario, {}
    plan = draw_plan(scenario)
    drawn = drawn_mapping(plan, draw_values(plan, seed))
    return apply_params(scenario, drawn), drawn
