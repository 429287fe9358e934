"""The scenario as normalised numpy arrays: everything a run needs that depends on the scenario alone.

Derived once per scenario object and shared by every run on it (a Monte Carlo, a sweep's replicates), by the
Mesa model (`sim.engine.model`) and by lockstep runs (`sim.engine.lockstep`) alike; runs with values of their
own (a design's points, drawn assumptions) get arrays with a leading run axis from the same derivation (`run_arrays`).
Imports no Mesa.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import NamedTuple

import numpy as np

from sim import mechanisms
from sim.compile.inputs import Inputs, coded_inputs, kept_per_scenario
from sim.core.spatial import forecast_weights, weighted_mean, weighted_median
from sim.core.strategies import Profiles, make_profiles, with_run_axis
from sim.core.utility import Array, full, to_unit
from sim.core.voting import RuleArrays
from sim.mechanisms.base import Rules, RunArrays, round_tables
from sim.scenario import DecisionRule, Scenario


class ScenarioArrays(NamedTuple):
    """Everything a run needs that depends on the scenario alone, as read-only arrays (normalised units)."""

    profiles: Profiles
    low: np.ndarray             # (M,) low poles, native units
    high: np.ndarray            # (M,) high poles
    baseline_mean: np.ndarray   # (M,) forecast baselines from the initial positions
    baseline_median: np.ndarray
    de_escalating: np.ndarray   # (M,) bool: issues whose agreement lowers tension (CBMs)
    rule: RuleArrays            # each issue's decision rule (`decision_rules.scenario_rules`)


_ARRAY_CACHE: OrderedDict[int, tuple[Scenario, ScenarioArrays]] = OrderedDict()
_ARRAY_CACHE_SIZE = 32


def arrays_of(scenario: Scenario) -> ScenarioArrays:
    """The scenario as normalised, read-only arrays.

    Scenarios are immutable, so the arrays are derived once per scenario object and shared by every model
    run on it (a Monte Carlo or a sweep's replicates); the cache keeps the scenario alive so its id stays
    unique while cached.
    """
    key = id(scenario)
    hit = _ARRAY_CACHE.get(key)
    if hit is not None and hit[0] is scenario:
        _ARRAY_CACHE.move_to_end(key)
        return hit[1]
    derived = _derive_arrays(scenario)
    for array in (*vars(derived.profiles).values(), *derived[1:], *derived.rule):
        if isinstance(array, np.ndarray):
            array.flags.writeable = False
    _ARRAY_CACHE[key] = (scenario, derived)
    if len(_ARRAY_CACHE) > _ARRAY_CACHE_SIZE:
        _ARRAY_CACHE.popitem(last=False)
    return derived


def profiles_of(scenario: Scenario) -> tuple[Profiles, np.ndarray, np.ndarray]:
    """(profiles, low poles (M,), high poles (M,)) of the scenario (see `arrays_of`)."""
    arrays = arrays_of(scenario)
    return arrays.profiles, arrays.low, arrays.high


def poles(scenario: Scenario) -> tuple[Array, Array]:
    return (np.array([i.scale.min for i in scenario.issues], dtype=float),
            np.array([i.scale.max for i in scenario.issues], dtype=float))


def profiles_from(inputs: Inputs, scenario: Scenario) -> Profiles:
    """The profiles of the inputs (with their run axis, if any); what is not a number (strategy kinds, linkage,
    scales) comes from `scenario`."""
    scales = unit_scales(scenario)
    return make_profiles(
        ideal=to_unit(inputs.positions, *scales.tables), salience=inputs.saliences, capability=inputs.capability,
        risk_attitude=inputs.risk_attitude, red_line=to_unit(inputs.red_lines, *scales.tables),
        reservation=inputs.reservation, kinds=[a.strategy.kind for a in scenario.actors],
        exponent=inputs.exponent, reciprocity=inputs.reciprocity, opening=inputs.opening,
        flexibility=inputs.flexibility, cohesion=inputs.cohesion, package=scenario.protocol.linkage == "package",
        status_quo=to_unit(inputs.status_quo, *scales.poles), outside=inputs.outside,
        outside_trend=inputs.outside_trend)


class UnitScales(NamedTuple):
    """A scenario's scales as `to_unit` reads them (read-only): (low, high, span) per issue (M,), and the same laid out
    per actor and issue (N, M), the very shape of the positions and red lines of a run (broadcasting the poles over
    them costs three times as much, twice a run)."""

    poles: tuple[Array, Array, Array]
    tables: tuple[Array, Array, Array]


_SCALES: dict[int, tuple[Scenario, UnitScales]] = {}


def unit_scales(scenario: Scenario) -> UnitScales:
    """The scenario's `UnitScales`, kept for the last few scenarios (every run of one converts by them)."""
    # (under `kept_per_scenario`'s lock: a model run on each of several threads, a Dask worker's or the dashboard's,
    # must not evict the same entry twice)
    return kept_per_scenario(_SCALES, id(scenario), scenario, _ARRAY_CACHE_SIZE, lambda: _make_scales(scenario))


def _make_scales(scenario: Scenario) -> UnitScales:
    low, high = poles(scenario)
    poles_ = (low, high, high - low)
    shape = (len(scenario.actors), len(low))
    tables = (full(low, shape), full(high, shape), full(poles_[2], shape))
    for array in (*poles_, *tables):
        array.flags.writeable = False
    return UnitScales(poles_, tables)


def _derive_arrays(scenario: Scenario) -> ScenarioArrays:
    low, high = poles(scenario)
    profiles = profiles_from(coded_inputs(scenario), scenario)
    return ScenarioArrays(profiles, low, high, *baselines(profiles.ideal, profiles.capability, profiles.salience),
                          de_escalating=np.array([issue.de_escalating for issue in scenario.issues]),
                          rule=scenario_rules(scenario))


def baselines(ideal: Array, capability: Array, salience: Array) -> tuple[Array, Array]:
    """The forecast baselines of the positions `ideal` (N, M): their capability x salience weighted mean and median
    per issue (M,)."""
    weights = forecast_weights(capability, salience)
    return weighted_mean(ideal, weights), weighted_median(ideal, weights)


def run_arrays(scenario: Scenario, inputs: Inputs | None = None, runs: int = 1) -> RunArrays:
    """What `runs` runs of the scenario read: its own arrays shared by all (`inputs` None), or each run's own
    (`inputs` with a leading run axis, e.g. from `sim.compile.inputs.with_values`)."""
    shared = arrays_of(scenario)
    if inputs is None:
        return _run_arrays(scenario, shared, _one_run(shared.profiles) if runs == 1 else shared.profiles,
                           coded_inputs(scenario), runs)
    return _run_arrays(scenario, shared, profiles_from(inputs, scenario), inputs, inputs.positions.shape[0])


_ONE_RUN: dict[int, tuple[Profiles, Profiles]] = {}


def _one_run(profiles: Profiles) -> Profiles:
    """`strategies.with_run_axis` of a scenario's shared profiles, kept for the last few (every model run on the
    scenario plays them)."""
    return kept_per_scenario(_ONE_RUN, id(profiles), profiles, _ARRAY_CACHE_SIZE, lambda: with_run_axis(profiles))


def own_arrays(scenario: Scenario, inputs: Inputs) -> tuple[tuple[Array, Array], RunArrays]:
    """One run's arrays from numbers of its own (`inputs` with a run axis of one: its drawn inputs set straight into
    the arrays, `sim.compile.inputs.settable_draws`): what `run_arrays` gives for the scenario with those values set
    and validated, without building that scenario, and the baselines (mean, median) `arrays_of` would give (not
    cached: each run draws its own). The profiles are made with the run axis the rounds read (`without_run_axis`
    gives the run's own, where needed)."""
    profiles = profiles_from(inputs, scenario)
    return (baselines(profiles.ideal[0], profiles.capability[0], profiles.salience[0]),
            _run_arrays(scenario, arrays_of(scenario), profiles, inputs, 1))


def _run_arrays(scenario: Scenario, shared: ScenarioArrays, profiles: Profiles, numbers: Inputs,
                runs: int) -> RunArrays:
    per_run = [_per_run(getattr(numbers, name), runs) for name in _RULE_FIELDS]
    per_run[0] = per_run[0].astype(int, copy=False)     # the deadline, in whole rounds
    per_run.append(full(per_run[1][:, None, None], (runs, *profiles.ideal.shape[-2:])))    # the tolerance table
    rules = Rules(*per_run)
    protocol = scenario.protocol
    # one run (a model run) gets its rounds' tables at once; many runs compute them round by round (a table of
    # every run's rounds would grow with the batch)
    by_round = round_tables(profiles, rules.deadline) if runs == 1 else None
    return RunArrays(profiles, rules, shared.low, shared.high, shared.de_escalating, protocol.linkage == "package",
                     protocol.activation, mechanisms.get(protocol.mechanism).parameters_of(scenario), shared.rule,
                     by_round)


_RULE_FIELDS = ("max_rounds", "tolerance", "noise", "tension_initial", "deadlock_rate", "hardline_rate",
                "concession_relief", "agreement_relief", "hardening")
"""The `Inputs` fields of `Rules`' fields, in order (max_rounds: the deadline)."""


def _per_run(value: np.ndarray, runs: int) -> np.ndarray:
    """A protocol number as one value per run (R,) (a view: not to be written to): a run's own numbers as they are
    (a run axis of one, `settable_draws`), one run's by a reshape (a tenth of np.broadcast_to's cost per call)."""
    if value.shape == (runs,):
        return value
    return value.reshape(1) if runs == 1 else np.broadcast_to(value, (runs,))


# ---------------------------------------------------------------------- decision rules as arrays
def vote_weights(rule: DecisionRule, actor_ids: list[str]) -> Array:
    """(N,) the rule's vote weights, in actor order: as given (an actor left out has no vote), or, left out, one
    vote per actor except the agenda setter (a proposer, like the Commission, which has no vote in the Council)."""
    if rule.weights:
        return np.array([rule.weights.get(a, 0.0) for a in actor_ids], dtype=float)
    return np.array([0.0 if a == rule.agenda_setter else 1.0 for a in actor_ids])


def rule_arrays(rules: list[DecisionRule], actor_ids: list[str]) -> RuleArrays:
    """The arrays of one rule per issue (see `RuleArrays`)."""
    weights = np.stack([vote_weights(rule, actor_ids) for rule in rules], axis=-1)      # (N, M)
    weights = weights / weights.sum(axis=0)          # validation keeps some weight > 0 on every issue
    kinds = [rule.kind for rule in rules]
    quota = np.array([{"unanimity": 1.0, "simple_majority": 0.5}.get(kind, rule.threshold)
                      for kind, rule in zip(kinds, rules, strict=True)])
    strict = np.array([kind == "simple_majority" for kind in kinds])
    unanimous = np.array([kind == "unanimity" for kind in kinds])
    setter = np.array([[rule.agenda_setter == a for rule in rules] for a in actor_ids]).reshape(weights.shape)
    veto = (unanimous & (weights > 0)) | setter
    return RuleArrays(weights, quota, strict, veto, everyone_must_accept=bool(veto.all()))


def scenario_rules(scenario: Scenario) -> RuleArrays:
    """Each issue's rule: its own `decision_rule`, or the protocol's."""
    default = scenario.protocol.decision_rule
    return rule_arrays([issue.decision_rule or default for issue in scenario.issues], scenario.actor_ids)
