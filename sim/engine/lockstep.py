"""Many runs of one scenario at once: the model's rounds in lockstep over a leading run axis.

Runs differ in their seeds and, in a sweep or a Monte Carlo of drawn assumptions, in their parameter values. They
share every array operation here: the state gains a leading run axis (R, N, M), the profiles one too where the
runs' values differ (`sim.compile.inputs.with_values` sets each run's values straight into the arrays), and each round
is the mechanism's own `play_round` (`sim.mechanisms`), the very function `NegotiationModel.step` calls for one
run. A run costs a small fraction of a model run, because numpy's cost per call, not per element, dominates a
round of a few actors and issues.

Each run computes exactly what ``NegotiationModel(scenario with its values, rng=seed, collect=False)`` computes,
bit for bit (tests/test_lockstep.py checks it on every shipped scenario, random scenarios, random parameter
points and both mechanisms): the round rules are elementwise or reduce along one run's actor and issue axes
only; each run draws the numbers its model draws, from the same streams of its seed (`sim.core.streams`: each
uncertain input by its path, the noise of every round, the order of moves); a run
whose talks end keeps its final state, so the rounds it did not play change nothing. (Ended runs stay in the
arrays, played but ignored, until a quarter of the rows have ended: dropping them costs a copy of every per-run
array, which done after each round cost a third of the time.)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from sim import mechanisms
from sim.compile.arrays import run_arrays
from sim.compile.inputs import (
    DrawPlan,
    Inputs,
    Setter,
    draw_plan,
    inputs_of,
    setter_of,
    values_from_uniforms,
    with_values,
)
from sim.core.strategies import SHARED_FIELDS, Profiles
from sim.core.streams import input_uniforms
from sim.core.utility import Array
from sim.engine import run
from sim.mechanisms.base import RoundDraws, RunArrays, State, draw_rounds
from sim.scenario import Scenario

MIN_REPLICATES = 2
"""Fewer runs run faster as a model: a lockstep round masks what a model's round skips (a run alone costs about
1.5 model runs; two together already save a quarter)."""


def supports(scenario: Scenario, paths: Sequence[str] = ()) -> bool:
    """Whether `play` can run this scenario with values set at `paths`: its mechanism plays in lockstep, and every
    path set (the design's and the uncertain inputs') has a cheap setter (`sim.compile.inputs.setter_of`)."""
    if not mechanisms.get(scenario.protocol.mechanism).lockstep:
        return False
    return all(setter_of(scenario, path) is not None for path in (*paths, *scenario.uncertainty))


def worthwhile(scenario: Scenario, n_runs: int, paths: Sequence[str] = ()) -> bool:
    """Whether `n_runs` runs of the scenario are faster in lockstep than as models."""
    return n_runs >= MIN_REPLICATES and supports(scenario, paths)


@dataclass(frozen=True)
class Finals:
    """Each run's final state (normalised units), in the order of the seeds."""

    outcome: NDArray[np.int_]       # (R,) index into mechanism.OUTCOMES
    rounds: NDArray[np.int_]        # (R,) rounds played
    tension: Array                  # (R,)
    open_issues: NDArray[np.bool_]  # (R, M) still open (not agreed)
    agreed_value: Array             # (R, M) NaN where open
    agreed_round: NDArray[np.int_]  # (R, M) -1 where open
    offers: Array                   # (R, N, M) final offers
    proposal: Array                 # (R, M) the standing proposal
    walked_out: NDArray[np.bool_]   # (R, N) actors that left the table
    prediction: Array               # (R, M) a forecasting mechanism's prediction (NaN for the others)
    utility: Array                  # (R, N) each actor's utility of the outcome
    inputs: dict[str, np.ndarray]   # the uncertain inputs each run drew, by path (R,) each
    rounds_table: dict[str, np.ndarray] | None = None
    """With `record`: one row per run, round (0 = the opening), actor and issue, as `service.history_of` gives a
    model's history, plus `run` (index into the seeds); actor, issue and reason as indices (into the actor ids,
    issue ids and the mechanism's reason names)."""


COMPACT_SHARE = 0.25
"""Ended runs are dropped from the arrays once they are this share of the rows (see the module's docstring)."""
CHUNK_CELLS = 2_000_000
"""Numbers held per array at most (16 MB): more runs than fit are played a chunk at a time."""


def play(scenario: Scenario, seeds: Sequence[int], paths: Sequence[str] = (), values: Array | None = None,
         record: bool = False) -> Finals:
    """Run the scenario once per seed, all in lockstep, run r with `values[r]` (R, K) set at `paths` (valid values:
    see `sim.compile.inputs`); raises ValueError if `supports` says no."""
    if not supports(scenario, paths):
        raise ValueError(f"{scenario.id}: lockstep runs need a mechanism that plays in lockstep and numeric "
                         "inputs that can be set without validating the scenario")
    n_actors, n_issues = len(scenario.actors), len(scenario.issues)
    longest: float = scenario.protocol.max_rounds
    if "protocol.max_rounds" in scenario.uncertainty:
        longest = max(longest, scenario.uncertainty["protocol.max_rounds"].high)
    if "protocol.max_rounds" in paths and values is not None and len(values):
        longest = max(longest, float(np.max(values[:, list(paths).index("protocol.max_rounds")])))
    per_run = n_actors * n_issues * (int(longest) + 1 + n_actors) * (3 if record else 1)
    chunk = max(1, CHUNK_CELLS // per_run)
    if len(seeds) <= chunk:
        return _play(scenario, seeds, paths, values, record)
    parts = [_play(scenario, seeds[start:start + chunk], paths, None if values is None else values[start:start + chunk],
                   record) for start in range(0, len(seeds), chunk)]
    return _concatenate(parts, chunk)


def _concatenate(parts: list[Finals], chunk: int) -> Finals:
    fields = {name: np.concatenate([getattr(part, name) for part in parts])
              for name in Finals.__dataclass_fields__ if name not in ("inputs", "rounds_table")}
    inputs = {path: np.concatenate([part.inputs[path] for part in parts]) for path in parts[0].inputs}
    tables = [part.rounds_table for part in parts if part.rounds_table is not None]
    table = None
    if tables and len(tables) == len(parts):
        table = {name: np.concatenate([part[name] + k * chunk if name == "run" else part[name]
                                       for k, part in enumerate(tables)])
                 for name in tables[0]}
    return Finals(**fields, inputs=inputs, rounds_table=table)


def _groups(keys: Sequence[Any]) -> tuple[list[Any], NDArray[np.intp]]:
    """The distinct keys in order of first appearance, and each item's index among them."""
    index: dict[Any, int] = {}
    which = np.fromiter((index.setdefault(key, len(index)) for key in keys), dtype=np.intp, count=len(keys))
    return list(index), which


def prepare_runs(scenario: Scenario, seeds: Sequence[int], paths: Sequence[str] = (),
                 values: Array | None = None) -> tuple[RunArrays, Array, DrawPlan | None]:
    """Each run's arrays: the design's values at `paths`, then the uncertain inputs (those the design does not set)
    drawn from the run's seed, each path from its own stream (`sim.core.streams.input_uniforms`: runs with the
    same seed draw the same numbers, as in a design whose points share their replicates' seeds). Returns
    (arrays, drawn values (R, K), the draw plan)."""
    paths = list(paths)
    free = {path: spec for path, spec in scenario.uncertainty.items() if path not in paths}
    base = scenario if len(free) == len(scenario.uncertainty) else scenario.model_copy(update={"uncertainty": free})
    plan = draw_plan(base) if free else None
    drawn = np.zeros((len(seeds), 0))
    if plan is not None:
        distinct, which = _groups([int(seed) for seed in seeds])
        drawn = values_from_uniforms(plan, input_uniforms(distinct, plan.paths)[which])
    inputs = runs_inputs(scenario, len(seeds), paths, values, drawn, plan)
    if inputs is None:
        return run_arrays(scenario, runs=len(seeds)), drawn, plan
    return run_arrays(scenario, inputs), drawn, plan


def runs_inputs(scenario: Scenario, n_runs: int, paths: Sequence[str], values: Array | None, drawn: Array,
                plan: DrawPlan | None) -> Inputs | None:
    """Each run's numbers (R, ...): the design's values at `paths`, then the `drawn` ones; None where no run has
    values of its own (every run reads the scenario's)."""
    paths = list(paths)
    all_paths = paths + (list(plan.paths) if plan is not None else [])
    if not all_paths:
        return None
    columns = drawn if values is None or not paths else np.hstack([np.asarray(values, dtype=float), drawn])
    found = [setter_of(scenario, path) for path in all_paths]
    setters: list[Setter] = [setter for setter in found if setter is not None]
    if len(setters) < len(found):
        raise ValueError(f"{scenario.id}: some of {all_paths} cannot be set without validating the scenario")
    return with_values(inputs_of(scenario), setters, columns)


def _play(scenario: Scenario, seeds: Sequence[int], paths: Sequence[str], values: Array | None,
          record: bool) -> Finals:
    mechanism_ = mechanisms.get(scenario.protocol.mechanism)
    arrays, drawn, plan = prepare_runs(scenario, seeds, paths, values)
    p, r = arrays.profiles, arrays.rules
    n_runs, (n_actors, n_issues) = len(seeds), p.ideal.shape[-2:]
    deadline = int(r.deadline.max())
    noise, order = _round_draws(seeds, r, deadline, (n_actors, n_issues),
                                arrays.activation == "random")
    state = run.opening(mechanism_, arrays, n_runs, record)
    recorder = run.RoundRecorder(arrays, mechanism_) if record else None
    if recorder is not None:
        recorder.add(0, np.arange(n_runs), state, arrays)

    final = {
        "outcome": np.zeros(n_runs, dtype=int), "rounds": np.zeros(n_runs, dtype=int),
        "tension": np.zeros(n_runs), "open_issues": np.ones((n_runs, n_issues), dtype=bool),
        "agreed_value": np.full((n_runs, n_issues), np.nan), "agreed_round": np.full((n_runs, n_issues), -1),
        "offers": state.offers.copy(), "proposal": np.zeros((n_runs, n_issues)),
        "walked_out": np.zeros((n_runs, n_actors), dtype=bool), "prediction": np.full((n_runs, n_issues), np.nan),
        "utility": np.zeros((n_runs, n_actors)),
    }
    alive = np.arange(n_runs)           # the run each row plays
    ended = np.zeros(n_runs, dtype=bool)    # rows whose talks are over (kept until COMPACT_SHARE of the rows)
    scheduled = {k: injects for k, injects in scenario.scheduled_injects().items() if k <= deadline}
    inputs: Inputs | None = None        # every run's numbers, once a scheduled inject changes some
    with np.errstate(all="ignore"):     # ended rows play on, ignored, and may divide by zero
        for round_ in range(1, deadline + 1):
            if round_ in scheduled:     # as NegotiationModel.step: the injects first, then the round
                state = run.inject_tension(state, scheduled[round_])
                if run.changes_profiles(scheduled[round_]):
                    if inputs is None:
                        inputs = (runs_inputs(scenario, n_runs, paths, values, drawn, plan)
                                  or with_values(inputs_of(scenario), [], np.zeros((n_runs, 0))))
                    inputs = run.with_injects(inputs, scenario, scheduled[round_])
                    every = run_arrays(scenario, inputs)
                    arrays = every if len(alive) == n_runs else _take(every, alive)
            draws = RoundDraws(None if noise is None else noise[:, round_ - 1],
                               None if order is None else order[:, round_ - 1])
            state = mechanism_.play_round(state, arrays, round_, draws)
            talking = ~ended
            if recorder is not None:
                recorder.add(round_, alive, state, arrays, talking)
            over = state.over & talking
            if not over.any():
                continue
            ending = alive[over]
            final["outcome"][ending] = run.outcome_codes(state)[over]
            final["rounds"][ending] = round_
            for name, value in (("tension", state.tension), ("open_issues", state.open_issues),
                                ("agreed_value", state.agreed_value), ("agreed_round", state.agreed_round),
                                ("offers", state.offers), ("proposal", state.proposal[:, 0]),
                                ("walked_out", state.walked)):
                final[name][ending] = value[over]
            if state.forecast is not None:
                final["prediction"][ending] = state.forecast[over]
            final["utility"][ending] = run.outcome_utilities(state, arrays.profiles)[over]
            ended |= over
            if ended.all():
                break
            if ended.mean() >= COMPACT_SHARE:
                going = ~ended
                alive, ended = alive[going], ended[going]
                state = _take_state(state, going)
                arrays = _take(arrays, going)
                noise = None if noise is None else noise[going]
                order = None if order is None else order[going]
    drawn_inputs = {} if plan is None else {path: drawn[:, k].astype(int) if plan.whole[k] else drawn[:, k]
                                            for k, path in enumerate(plan.paths)}
    return Finals(**final, inputs=drawn_inputs, rounds_table=None if recorder is None else recorder.table())


def _round_draws(seeds: Sequence[int], r, deadline: int, shape: tuple[int, int],
                 random_order: bool) -> tuple[Array | None, NDArray[np.int_] | None]:
    """Every run's noise (R, T, N, M) and order of moves (R, T, N) for the longest run's T rounds, drawn from its
    seed's noise and order streams, as its model draws them (`draw_rounds`; a shorter run's later rounds are
    never played).

    Runs whose generators make the same draws (same seed, deadline, and whether there is noise) share them:
    the noise is drawn at scale 1 and scaled per run. numpy's normal(0, s) is 0 + s * z of the standard normal z
    it draws, so 0 + s * normal(0, 1) is the same number."""
    noisy = r.noise > 0
    if not noisy.any() and not random_order:
        return None, None
    noise = np.zeros((len(seeds), deadline, *shape)) if noisy.any() else None
    order = np.zeros((len(seeds), deadline, shape[0]), dtype=np.intp) if random_order else None
    streams, which = _groups([(int(seed), int(r.deadline[k]), bool(noisy[k])) for k, seed in enumerate(seeds)])
    members = np.split(np.argsort(which, kind="stable"), np.cumsum(np.bincount(which))[:-1])
    for (seed, run_deadline, run_noisy), runs in zip(streams, members, strict=True):
        unit, run_order = draw_rounds(seed, 1.0 if run_noisy else 0.0, run_deadline, shape, random_order)
        if unit is not None and noise is not None:
            noise[runs, :run_deadline] = 0.0 + r.noise[runs, None, None, None] * unit
        if run_order is not None and order is not None:
            order[runs, :run_deadline] = run_order
    return noise, order


def _take_state(state: State, keep: NDArray[np.bool_]) -> State:
    """The state of the runs `keep` (R,) (the seats of people are the same in every run)."""
    def take(value):
        if value is None or isinstance(value, np.ndarray) and value.ndim == 0:
            return value
        return type(value)(*(take(v) for v in value)) if isinstance(value, tuple) else value[keep]
    return State(*(value if name == "people" else take(value) for name, value in state._asdict().items()))


def _take(arrays: RunArrays, keep: NDArray[np.bool_] | NDArray[np.intp]) -> RunArrays:
    """The arrays of the runs `keep` (R,) (shared profiles stay as they are)."""
    rules_ = type(arrays.rules)(*(value[keep] for value in arrays.rules))
    tables = arrays.by_round
    by_round = None if tables is None else type(tables)(*(table[:, keep] for table in tables))
    p = arrays.profiles
    if p.ideal.ndim == 2:
        return arrays._replace(rules=rules_, by_round=by_round)
    return arrays._replace(rules=rules_, profiles=_take_profiles(p, keep), by_round=by_round)


def _take_profiles(p: Profiles, keep: NDArray[np.bool_] | NDArray[np.intp]) -> Profiles:
    changes = {name: value[keep] for name, value in vars(p).items()
               if isinstance(value, np.ndarray) and name not in SHARED_FIELDS}
    return type(p)(**{**vars(p), **changes})
