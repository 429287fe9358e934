"""What a run is, whichever engine plays it: its opening state, how its talks end (the outcome), the utility of
its outcome to each actor, and the record of its rounds. The Mesa model (`sim.engine.model`, one run) and
lockstep (`sim.engine.lockstep`, many runs at once) both call these, over a leading run axis (R = 1 for a model).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from sim.compile.inputs import Inputs
from sim.core import table_rules
from sim.core.utility import ONE, ZERO, Array, to_native, total_utility
from sim.mechanisms.base import Mechanism, RunArrays, State, opening_state
from sim.scenario import Inject, Scenario


def opening(mechanism: Mechanism, arrays: RunArrays, runs: int, record: bool,
            people: NDArray[np.bool_] | None = None) -> State:
    """Round 0 of `runs` runs: every actor at its ideal, and a forecasting mechanism's opening forecast."""
    p = arrays.profiles
    forecast = None if mechanism.forecast is None else mechanism.forecast(p.ideal, p, arrays.params, runs)
    return opening_state(p.ideal, p, arrays.rules.tension_initial, runs, record, people, forecast)


def outcome_codes(state: State) -> NDArray[np.int_]:
    """How each run's talks ended, as an index into `table_rules.OUTCOMES` (R,)."""
    return table_rules.outcome_codes(~state.open_issues, state.broke_down)


def outcome_utilities(state: State, profiles) -> Array:
    """Each actor's utility of each run's outcome (R, N): the agreed values on settled issues and its
    disagreement utility on the others; under a forecasting mechanism, every issue at its predicted position."""
    if state.forecast is not None:
        return table_rules.outcome_utility(state.forecast, np.ones_like(state.open_issues), profiles)
    return table_rules.outcome_utility(state.agreed_value, ~state.open_issues, profiles)


# ---------------------------------------------------------------------- scheduled injects
# An inject with a round or a date (`Scenario.scheduled_injects`) fires just before that round, in every run: its
# tension shock on the state, its changes of saliences and outside options on the run's numbers (kept within 0-1,
# one inject after another), so the arrays are derived again. The model plays it as a teacher's inject
# (`NegotiationModel.play_inject`, through its scenario); lockstep sets the same numbers straight into its runs'
# inputs; both compute them with `with_injects` (tests/test_lockstep.py: the same bits).
def inject_tension(state: State, injects: Sequence[Inject]) -> State:
    """The state after the injects' tension shocks (R,), one after another, kept within 0-1."""
    tension = state.tension
    for inject in injects:
        tension = (tension + inject.tension).clip(ZERO, ONE)    # np.clip's numbers, without its wrapper
    fields = list(state)    # (the state built again from its fields: half the cost of `state._replace`)
    fields[_TENSION] = tension
    return State(*fields)


_TENSION = State._fields.index("tension")


def changes_profiles(injects: Sequence[Inject]) -> bool:
    """Whether the injects change any actor's numbers (saliences, outside options), not only the tension."""
    return any(inject.saliences or inject.outside_options for inject in injects)


def with_injects(inputs: Inputs, scenario: Scenario, injects: Sequence[Inject]) -> Inputs:
    """Runs' numbers (R, ...) after the injects' changes of saliences and outside options: each value plus the
    change, kept within 0-1; an actor without an outside option gets one from 0. The one place of this
    arithmetic: lockstep sets the result into its runs' inputs, the model (`NegotiationModel.play_inject`) into its
    scenario."""
    saliences, outside = np.array(inputs.saliences, dtype=float), np.array(inputs.outside, dtype=float)
    actors, issues = scenario.actor_ids, scenario.issue_ids
    for inject in injects:
        for actor, per_issue in inject.saliences.items():
            i = actors.index(actor)
            for issue, delta in per_issue.items():
                j = issues.index(issue)
                saliences[:, i, j] = np.minimum(1.0, np.maximum(0.0, saliences[:, i, j] + delta))
        for actor, delta in inject.outside_options.items():
            i = actors.index(actor)
            value = np.where(np.isnan(outside[:, i]), 0.0, outside[:, i])
            outside[:, i] = np.minimum(1.0, np.maximum(0.0, value + delta))
    return inputs._replace(saliences=saliences, outside=outside)


class RoundRecorder:
    """Round-by-round records of the runs still talking: the round table of a run, whichever engine plays it
    (`service.history_of` names its actors, issues and reasons)."""

    def __init__(self, arrays: RunArrays, mechanism: Mechanism):
        self.low, self.high = arrays.low, arrays.high
        self.runs = len(arrays.rules.deadline)
        self.parts: list[tuple] = []
        self.forecasts = mechanism.forecasts

    def add(self, round_: int, alive: NDArray[np.int_], state: State, arrays: RunArrays,
            rows: NDArray[np.bool_] | None = None) -> None:
        """Record the round of the `rows` (R,) still talking (all by default). Computed for every row, then the
        rows taken: cheaper than taking the per-run arrays, and elementwise, so the same numbers."""
        p = arrays.profiles
        proposal = state.proposal[:, 0]
        utility = total_utility(proposal[:, None, :], p.ideal, p.weights, p.risk_exponent)   # (R, N)
        record: tuple[Any, ...] = (to_native(state.offers, self.low, self.high), state.reasons, utility, state.tension,
                  to_native(proposal, self.low, self.high), ~state.open_issues,
                  None if state.median is None else to_native(state.median, self.low, self.high))
        if rows is not None and not rows.all():
            alive, record = alive[rows], tuple(None if value is None else value[rows] for value in record)
        self.parts.append((round_, alive, *record))

    def table(self) -> dict[str, np.ndarray]:
        """One row per run, round and cell (actor-major), by run then round. A run is recorded every round
        from 0 until it ends, so its t-th record is round t: each round's records go straight to their rows."""
        n_actors, n_issues = self.parts[0][2].shape[1:]
        cells = n_actors * n_issues
        played = np.bincount(np.concatenate([part[1] for part in self.parts]), minlength=self.runs)
        start = np.concatenate([[0], np.cumsum(played * cells)[:-1]])     # each run's first row
        total = int(played.sum()) * cells
        columns = {"position": np.empty(total), "reason": np.empty(total, dtype=self.parts[0][3].dtype),
                   "utility": np.empty(total), "tension": np.empty(total), "proposal": np.empty(total),
                   "agreed": np.empty(total, dtype=bool)}
        if self.forecasts:
            columns["median"] = np.empty(total)
        for round_, alive, offers, reasons, utility, tension, proposal, agreed, median in self.parts:
            rows = (start[alive] + round_ * cells)[:, None, None] + np.arange(cells).reshape(n_actors, n_issues)
            columns["position"][rows] = offers
            columns["reason"][rows] = reasons
            columns["utility"][rows] = utility[:, :, None]
            columns["tension"][rows] = tension[:, None, None]
            columns["proposal"][rows] = proposal[:, None, :]
            columns["agreed"][rows] = agreed[:, None, :]
            if median is not None:
                columns["median"][rows] = median[:, None, :]
        run = np.repeat(np.arange(self.runs), played * cells)
        within = np.arange(total) - start[run]
        table = {"run": run, "round": within // cells, "actor": within % cells // n_issues,
                 "issue": within % n_issues, **columns}
        if self.forecasts:
            table["mean"] = table["proposal"]
        return table
