"""NegotiationModel: the world (the table), one round per step, termination and data collection.

A round is the scenario's mechanism's `play_round` (`sim.mechanisms`), the same pure function lockstep runs call
for many runs at once: the model holds one run's state (a run axis of one) and shows it to Mesa's agents,
DataCollector, the dashboard and the classroom.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from functools import partial
from pathlib import Path
from typing import Any

import mesa
import numpy as np

from sim import mechanisms
from sim.compile.arrays import arrays_of, own_arrays, run_arrays
from sim.compile.inputs import (
    Inputs,
    coded_inputs,
    draw_plan,
    draw_values,
    drawn_mapping,
    inputs_of,
    kept_per_scenario,
    settable_draws,
)
from sim.core import table_rules
from sim.core.strategies import Profiles, without_run_axis
from sim.core.utility import constant, full, to_native, to_unit, total_utility
from sim.engine import run
from sim.engine.agents import Negotiator
from sim.mechanisms.base import RoundDraws, draw_rounds
from sim.scenario import BASELINE as BASELINE  # the default scenario, for Mesa users
from sim.scenario import Inject, Scenario, apply_params, baseline, load_scenario, with_checked_values

ONE_RUN = np.zeros(1, dtype=np.intp)
"""The run index of a model's one run in the round table (`run.RoundRecorder`)."""
NO_OFFER = constant(np.nan)
"""A seat's submitted offer before a person submits one (laid out in the table's shape by `utility.full`)."""


_SCHEDULED: dict[int, tuple[Scenario, dict[int, list[Inject]]]] = {}


def scheduled_injects(scenario: Scenario) -> dict[int, list[Inject]]:
    """`scenario.scheduled_injects()`, kept for the last few scenarios (every run of one reads the same; not to be
    changed)."""
    return kept_per_scenario(_SCHEDULED, id(scenario), scenario, 8, scenario.scheduled_injects)


class NegotiationModel(mesa.Model):
    """Multi-actor, multi-issue negotiation in rounds.

    Args:
        scenario: a Scenario, or a path to a YAML/JSON/CSV scenario file; default the Feb-2022 baseline.
        rng: seed or numpy Generator; default the scenario's protocol.seed (runs are reproducible).
        collect: record every round in a Mesa DataCollector (off for fast sweeps).
        human_seats: ids of actors whose offers people choose (`submit_offers` before each step); a seat
            with no submission holds its offer. Their acceptance follows the same rules as the agents'.
        draw: draw the scenario's uncertain inputs (`uncertainty`) from the run's rng before anything else,
            so each seed plays its own version of the assumptions (`drawn_inputs` lists the values); False
            plays the values as coded (a classroom, whose briefs quote them).

    The run's random numbers come from its seed, each from its own stream (`sim.core.streams`: common random
    numbers): each uncertain input by its path, the noise of every round, and (random activation) the order of
    moves of every round, all drawn before the first round. A numpy Generator given as `rng` gives the run its
    seed (one 63-bit number drawn from it).
    """

    running: bool

    def __init__(self, scenario: Scenario | str | Path | None = None, rng=None, collect: bool = True,
                 human_seats: Iterable[str] = (), draw: bool = True) -> None:
        spec = baseline() if scenario is None else scenario
        spec = spec if isinstance(spec, Scenario) else load_scenario(spec)
        rng = spec.protocol.seed if rng is None else rng
        if isinstance(rng, np.integer):     # Mesa seeds its stdlib Random with it, which takes only a Python int
            rng = int(rng)
        super().__init__(rng=rng)
        self.seed: int | None = int(rng) if isinstance(rng, (int, np.integer)) else None
        seed = self.seed if self.seed is not None else int(self.rng.integers(2**63))   # every stream's key
        self.drawn_inputs: dict[str, float] = {}
        own: Inputs | None = None   # this run's drawn numbers, set straight into its arrays
        if draw and spec.uncertainty:
            plan = draw_plan(spec)
            values = draw_values(plan, seed)
            self.drawn_inputs = drawn_mapping(plan, values)
            own = settable_draws(spec, plan, values)
            if own is None:     # validated now: a combination the schema refuses fails here, as it always did
                spec = apply_params(spec, self.drawn_inputs)
        # the rounds' random numbers next to the draws and Mesa's own generator, by the same numpy seeding code while
        # it is still in the caches (~5 us less than after the arrays' set-up)
        numbers = coded_inputs(spec) if own is None else own
        shape = numbers.positions.shape[-2:]    # (N, M) (a run's own numbers have a run axis of one)
        self.noise_draws, self.order_draws = draw_rounds(seed, numbers.noise.item(), int(numbers.max_rounds.item()),
                                                         shape, spec.protocol.activation == "random")
        seats = set(human_seats)
        actor_ids = spec.actor_ids
        unknown = sorted(seats - set(actor_ids)) if seats else ()
        if unknown:
            raise ValueError(f"human seats {unknown} are not actors of {spec.id} ({', '.join(actor_ids)})")
        # mesa.Model owns `self.scenario` (its own experiment type), so the negotiation spec lives in `spec`, built
        # when first read where the draws went straight into the arrays; `layout` has its ids, names and choices
        # (what no draw or inject changes), which the rounds and the views read
        self.layout = spec
        self._spec: Scenario | None = spec if own is None else None
        self.mechanism = mechanisms.get(spec.protocol.mechanism)
        self.reason_names = self.mechanism.reason_names
        self.collect = collect
        self._set_arrays(own)
        self.deadline = int(self.arrays.rules.deadline[0])
        self.human = np.array([a in seats for a in actor_ids], dtype=bool) if seats else np.zeros(len(actor_ids), bool)
        self.has_humans = bool(seats)   # (every seat is an actor's: unknown ones were refused above)
        self.submitted = full(NO_OFFER, shape)   # (np.full's numbers without its wrapper: once per run)
        self.state = run.opening(self.mechanism, self.arrays, 1, collect, self.human if self.has_humans else None)
        self._utilities: tuple | None = None   # (state, profiles, proposal_utilities) of the last reading
        self._natives: tuple | None = None     # (state, low, offers, proposal in native units) of the last reading
        self.events: list[tuple[int, str]] = []   # injects played: (round they followed, inject id)
        self.scheduled = scheduled_injects(spec)    # injects that fire by themselves, by round
        self.outcome: str | None = None
        self.round = 0
        self.negotiators = [Negotiator(self, actor, n) for n, actor in enumerate(spec.actors)]
        self.datacollector = self._make_collector() if collect else None
        self.recorder = run.RoundRecorder(self.arrays, self.mechanism) if collect else None
        self._collect()

    def _set_arrays(self, own: Inputs | None = None) -> None:
        """The run's arrays: its scenario's (cached per scenario), or those of its own drawn numbers `own` (then its
        `profiles` are made when first read: the rounds and the result read those with the run axis)."""
        if own is None:
            shared, self.arrays = arrays_of(self.spec), run_arrays(self.spec)
            self._profiles: Profiles | None = shared.profiles
            self.baseline_mean, self.baseline_median = shared.baseline_mean, shared.baseline_median
        else:
            (self.baseline_mean, self.baseline_median), self.arrays = own_arrays(self.layout, own)
            self._profiles = None
        self.low, self.high, self.de_escalating = self.arrays.low, self.arrays.high, self.arrays.de_escalating

    @property
    def profiles(self) -> Profiles:
        """What the actors bring to the table, as arrays without a run axis (`strategies.Profiles`)."""
        if self._profiles is None:
            self._profiles = without_run_axis(self.arrays.profiles)
        return self._profiles

    @property
    def spec(self) -> Scenario:
        """The scenario this run plays, its drawn inputs set (built on first reading where the draws went straight
        into the arrays, which checked them: the same scenario as validating them at the start)."""
        if self._spec is None:
            self._spec = with_checked_values(self.layout, self.drawn_inputs)
        return self._spec

    @spec.setter
    def spec(self, scenario: Scenario) -> None:
        self._spec = scenario

    def spec_source(self) -> Scenario | Callable[[], Scenario]:
        """`spec`, or while it is not built yet, how to build it (a picklable callable): a result that may never
        read the drawn scenario (`service.result_of` in a sweep) builds it only when asked."""
        if self._spec is not None:
            return self._spec
        return partial(with_checked_values, self.layout, dict(self.drawn_inputs))

    @property
    def protocol(self):
        return self.spec.protocol

    # ------------------------------------------------------------------ the state, as one run
    @property
    def offers(self) -> np.ndarray:
        """Current offers (N, M), normalised."""
        return self.state.offers[0]

    @property
    def previous_offers(self) -> np.ndarray:
        return self.state.previous[0]

    @property
    def intended(self) -> np.ndarray:
        """The offers the actors meant this round, before noise."""
        return self.state.intended[0]

    @property
    def stuck(self) -> np.ndarray:
        return self.state.stuck[0]

    @property
    def reasons(self) -> np.ndarray:
        """Why each actor made its move (index into `reason_names`), (N, M); recorded when collecting."""
        reasons = self.state.reasons
        if reasons is None:
            raise ValueError("the reasons of the moves are recorded only when the model collects (collect=True)")
        return reasons[0]

    @property
    def open_issues(self) -> np.ndarray:
        return self.state.open_issues[0]

    @property
    def all_open(self) -> bool:
        return bool(self.state.open_issues.all())

    @property
    def agreed_value(self) -> np.ndarray:
        return self.state.agreed_value[0]

    @property
    def agreed_round(self) -> np.ndarray:
        return self.state.agreed_round[0]

    @property
    def tension(self) -> float:
        return float(self.state.tension[0])

    @property
    def proposal_table(self) -> np.ndarray:
        return self.state.proposal[0]

    @property
    def walked_out(self) -> list[str]:
        """Actors that left the table (breakdown)."""
        return [a for a, gone in zip(self.layout.actor_ids, self.state.walked[0].tolist(), strict=True) if gone]

    @property
    def walkout_values(self) -> dict[str, tuple[float, float]]:
        """Each walker's (outside option, best deal left) in the round it left."""
        s = self.state
        if s.outside_value is None or s.best_left is None:     # no one could walk away
            return {}
        walked = s.walked[0].tolist()    # (plain flags: a numpy element read per actor costs more)
        return {a: (float(s.outside_value[0, i]), float(s.best_left[0, i]))
                for i, a in enumerate(self.layout.actor_ids) if walked[i]}

    # ------------------------------------------------------------------ human seats
    def submit_offers(self, actor_id: str, offers: Mapping[str, float]) -> None:
        """A person's offers for the next round (native units), for the issues named; raises ValueError."""
        if actor_id not in self.layout.actor_ids or not self.human[self.layout.actor_ids.index(actor_id)]:
            raise ValueError(f"'{actor_id}' is not a human seat")
        row = self.layout.actor_ids.index(actor_id)
        values = self.submitted[row].copy()
        for issue_id, value in offers.items():
            if issue_id not in self.layout.issue_ids:
                raise ValueError(f"unknown issue '{issue_id}' (issues: {', '.join(self.layout.issue_ids)})")
            j = self.layout.issue_ids.index(issue_id)
            lo, hi = self.low[j], self.high[j]
            if not (isinstance(value, (int, float)) and np.isfinite(value) and lo <= value <= hi):
                raise ValueError(f"{issue_id}: offer must be between {lo:g} and {hi:g} (got {value!r})")
            if not self.open_issues[j]:
                raise ValueError(f"{issue_id}: already agreed; no more offers on it")
            values[j] = to_unit(float(value), lo, hi)
        self.submitted[row] = values

    def play_inject(self, inject_id: str) -> None:
        """A teacher's event (scenario `injects`): shifts tension, actors' saliences and/or outside options
        from now on. (Scheduled injects fire by themselves, in `step`.)"""
        ids = [inject.id for inject in self.layout.injects]
        if inject_id not in ids:
            raise ValueError(f"unknown inject '{inject_id}' (injects: {', '.join(ids) or 'none'})")
        self._apply(self.layout.inject(inject_id))
        self.events.append((self.round, inject_id))

    def _apply(self, inject: Inject) -> None:
        """The inject's effects: its tension shock on the state (`run.inject_tension`), its changes of saliences and
        outside options computed by `run.with_injects` (the arithmetic lockstep runs too) and written into the
        run's scenario, whose arrays are derived again."""
        self.state = run.inject_tension(self.state, [inject])
        if not run.changes_profiles([inject]):
            return
        numbers = inputs_of(self.spec)
        after = run.with_injects(numbers._replace(saliences=numbers.saliences[None], outside=numbers.outside[None]),
                                 self.layout, [inject])
        actors, issues = self.layout.actor_ids, self.layout.issue_ids
        changes = {f"actors.{actor}.saliences.{issue}": float(after.saliences[0, actors.index(actor),
                                                                              issues.index(issue)])
                   for actor, per_issue in inject.saliences.items() for issue in per_issue}
        changes |= {f"actors.{actor}.outside_option.value": float(after.outside[0, actors.index(actor)])
                    for actor in inject.outside_options}
        self.spec = apply_params(self.spec, changes)
        self._set_arrays()

    # ------------------------------------------------------------------ the table
    @property
    def proposal(self) -> np.ndarray:
        """The standing proposal (M,): the weighted mean of the offers on open issues, the agreed value on
        settled ones (where every offer is the agreed value)."""
        return self.proposal_table[0]

    def proposal_utilities(self) -> np.ndarray:
        """Each actor's utility of the standing proposal (N,), computed once per state of the table (every agent's
        `utility` reads it when the round is collected)."""
        cached = self._utilities
        if cached is None or cached[0] is not self.state or cached[1] is not self.profiles:
            p = self.profiles
            cached = self._utilities = (self.state, p, total_utility(self.proposal, p.ideal, p.weights,
                                                                     p.risk_exponent))
        return cached[2]

    def native(self, values: np.ndarray) -> np.ndarray:
        return to_native(values, self.low, self.high)

    def _native_table(self) -> tuple:
        cached = self._natives
        if cached is None or cached[0] is not self.state or cached[1] is not self.low:
            cached = self._natives = (self.state, self.low, self.native(self.offers), self.native(self.proposal))
        return cached

    def native_offers(self) -> np.ndarray:
        """The offers in native units (N, M), computed once per state of the table (every agent's `offer` reads
        them when the round is collected; the same numbers as converting each offer alone)."""
        return self._native_table()[2]

    def native_proposal(self) -> np.ndarray:
        """The standing proposal in native units (M,), computed once per state of the table."""
        return self._native_table()[3]

    # ------------------------------------------------------------------ one round
    def step(self) -> None:
        if self.outcome is not None:    # the talks are over, even if a caller set Mesa's `running` again: the run
            self.running = False        # drew its noise and order of moves for its deadline's rounds only
        if not self.running:
            return
        self.round += 1
        t = self.round - 1
        for inject in self.scheduled.get(self.round, ()):   # scheduled injects fire first, then the round
            self._apply(inject)
            self.events.append((t, inject.id))
        # round t's draws as a run axis of one (a slice: the same view as [None, t] at half the cost)
        draws = RoundDraws(None if self.noise_draws is None else self.noise_draws[t:t + 1],
                           None if self.order_draws is None else self.order_draws[t:t + 1])
        own = None
        if self.has_humans:
            own, self.submitted = self.submitted[None], full(NO_OFFER, self.submitted.shape)
        self.state = self.mechanism.play_round(self.state, self.arrays, self.round, draws, own)
        if self.state.over[0]:
            self.outcome = table_rules.OUTCOMES[int(run.outcome_codes(self.state)[0])]
            self.running = False
        self._collect()

    def _collect(self) -> None:
        """Record the round: the round table every engine keeps (`run.RoundRecorder`, read by
        `service.history_of`) and Mesa's DataCollector (for `mesa.batch_run` and Mesa's own tools)."""
        if self.recorder is not None:
            self.recorder.add(self.round, ONE_RUN, self.state, self.arrays)
        if self.datacollector is not None:
            self.datacollector.collect(self)

    # ------------------------------------------------------------------ results
    @property
    def prediction(self) -> np.ndarray | None:
        """A forecasting mechanism's prediction per issue (normalised; the expected-utility mechanism: the
        median-voter position of the current positions); None for the others."""
        return None if self.state.forecast is None else self.state.forecast[0]

    def outcome_utilities(self) -> np.ndarray:
        """Each actor's utility of the outcome (its disagreement utility on unsettled issues; under a forecasting
        mechanism every issue is valued at its predicted position)."""
        # the profiles with the run axis, which the state's (1, M) values meet at their very shape
        return run.outcome_utilities(self.state, self.arrays.profiles)[0]

    def _make_collector(self) -> mesa.DataCollector:
        issues = self.layout.issue_ids
        model_reporters: dict[str, str | Callable[[NegotiationModel], Any]] = {"tension": "tension",
                                                                               "outcome": "outcome"}
        agent_reporters: dict[str, str | Callable[[Negotiator], Any]] = {"actor": "actor_id", "utility": "utility"}
        for j, issue in enumerate(issues):
            model_reporters[f"proposal.{issue}"] = partial(_proposal_on, j=j)
            model_reporters[f"agreed.{issue}"] = partial(_agreed_on, j=j)
            agent_reporters[f"position.{issue}"] = partial(Negotiator.offer, issue=j)
            agent_reporters[f"reason.{issue}"] = partial(Negotiator.reason, issue=j)
        if self.mechanism.forecasts:
            for j, issue in enumerate(issues):
                model_reporters[f"median.{issue}"] = partial(_median_on, j=j)
                model_reporters[f"mean.{issue}"] = partial(_proposal_on, j=j)
        return mesa.DataCollector(model_reporters=model_reporters, agent_reporters=agent_reporters)


# the DataCollector's reporters of issue j (partials of these: Mesa calls them with the model)
def _proposal_on(model: NegotiationModel, j: int) -> float:
    return float(model.native_proposal()[j])


def _agreed_on(model: NegotiationModel, j: int) -> bool:
    return not bool(model.open_issues[j])


def _median_on(model: NegotiationModel, j: int) -> float:
    median = model.state.median
    return float("nan") if median is None else float(model.native(median[0])[j])
