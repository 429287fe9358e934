"""The scenario as normalised numpy arrays: everything a run needs that depends on the scenario alone.

Derived once per scenario object and shared by every run on it (a Monte Carlo, a sweep's replicates), by the
Mesa model (`sim.model`) and by lockstep runs (`sim.lockstep`) alike. Imports no Mesa.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import NamedTuple

import numpy as np

from sim.analysis import forecast_weights, weighted_mean, weighted_median
from sim.decision_rules import RuleArrays, scenario_rules
from sim.scenario import Scenario
from sim.strategies import Profiles, concession_schedule, make_profiles
from sim.utility import to_unit


class ScenarioArrays(NamedTuple):
    """Everything a run needs that depends on the scenario alone, as read-only arrays (normalised units)."""

    profiles: Profiles
    low: np.ndarray             # (M,) low poles, native units
    high: np.ndarray            # (M,) high poles
    schedule: np.ndarray        # (T+1, N, M) concession schedule (`concession_schedule`)
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


def _derive_arrays(scenario: Scenario) -> ScenarioArrays:
    issues, actors = scenario.issue_ids, scenario.actors
    low = np.array([i.scale.min for i in scenario.issues])
    high = np.array([i.scale.max for i in scenario.issues])
    index = {a.id: n for n, a in enumerate(actors)}
    cohesion = np.zeros((len(actors), len(actors)))
    for n, a in enumerate(actors):
        for ally, weight in a.allies.items():
            cohesion[n, index[ally]] = weight
    profiles = make_profiles(
        ideal=to_unit(np.array([[a.positions[j] for j in issues] for a in actors]), low, high),
        salience=np.array([[a.saliences[j] for j in issues] for a in actors]),
        capability=np.array([a.capability for a in actors]),
        risk_attitude=np.array([a.risk_attitude for a in actors]),
        red_line=to_unit(np.array([[a.red_lines.get(j, np.nan) for j in issues] for a in actors]), low, high),
        reservation=np.array([a.reservation_utility for a in actors]),
        kinds=[a.strategy.kind for a in actors],
        exponent=np.array([a.strategy.exponent or 1.0 for a in actors]),
        reciprocity=np.array([a.strategy.reciprocity for a in actors]),
        opening=np.array([a.strategy.opening for a in actors]),
        flexibility=np.array([a.strategy.flexibility for a in actors]),
        cohesion=cohesion, package=scenario.protocol.linkage == "package",
        status_quo=to_unit(np.array([np.nan if i.status_quo is None else i.status_quo for i in scenario.issues]),
                           low, high),
        outside=np.array([np.nan if a.outside_option is None else a.outside_option.value for a in actors]),
        outside_trend=np.array([0.0 if a.outside_option is None else a.outside_option.trend for a in actors]),
    )
    weights = forecast_weights(profiles.capability, profiles.salience)
    return ScenarioArrays(
        profiles, low, high, schedule=concession_schedule(profiles, scenario.protocol.max_rounds),
        baseline_mean=weighted_mean(profiles.ideal, weights),
        baseline_median=weighted_median(profiles.ideal, weights),
        de_escalating=np.array([issue.de_escalating for issue in scenario.issues]),
        rule=scenario_rules(scenario))
