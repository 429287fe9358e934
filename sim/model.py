"""NegotiationModel: the world (the table), one round per step, termination and data collection."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import cache
from pathlib import Path

import mesa
import numpy as np

from sim import expected_utility as eu
from sim import mechanism
from sim.agents import Negotiator
from sim.arrays import arrays_of
from sim.scenario import Scenario, apply_params, draw_inputs, load_scenario
from sim.strategies import (
    FOLLOWED,
    HELD,
    HOLD_EPS,
    HUMAN,
    OPENING,
    REASONS,
    received_concessions,
)
from sim.utility import to_native, to_unit

SCENARIO_DIR = Path(__file__).resolve().parent / "scenarios"   # shipped in the package (sim/scenarios)
BASELINE = SCENARIO_DIR / "feb2022_baseline.yaml"

EU_REASONS = tuple(f"took {name} offer" if name != "none" else "no offer received" for name in eu.OFFER_NAMES)
ALL_REASONS = REASONS + EU_REASONS


@cache
def baseline() -> Scenario:
    """The Feb-2022 baseline scenario (Russia, US, NATO, EU x expansion, missiles, CBMs)."""
    return load_scenario(BASELINE)


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
    """

    def __init__(self, scenario: Scenario | str | Path | None = None, rng=None, collect: bool = True,
                 human_seats: Iterable[str] = (), draw: bool = True) -> None:
        spec = baseline() if scenario is None else scenario
        spec = spec if isinstance(spec, Scenario) else load_scenario(spec)
        rng = spec.protocol.seed if rng is None else rng
        if isinstance(rng, np.integer):     # Mesa seeds its stdlib Random with it, which takes only a Python int
            rng = int(rng)
        super().__init__(rng=rng)
        self.seed: int | None = int(rng) if isinstance(rng, (int, np.integer)) else None
        spec, self.drawn_inputs = draw_inputs(spec, self.rng) if draw else (spec, {})
        # mesa.Model owns `self.scenario` (its own experiment type), so the negotiation spec lives in `spec`.
        self.spec = spec
        protocol = spec.protocol
        self.protocol = protocol
        self.deadline = protocol.max_rounds
        arrays = arrays_of(spec)
        self.profiles, self.low, self.high, self.schedule = arrays.profiles, arrays.low, arrays.high, arrays.schedule
        p = self.profiles
        n_issues = len(spec.issues)
        self.offers = p.ideal.copy()
        self.previous_offers = self.offers.copy()
        self.received: np.ndarray | None = None
        self.jitter: np.ndarray | None = None
        self.intended = self.offers         # the offers the strategies chose this round, before noise
        self.stuck = np.zeros(self.offers.shape, dtype=bool)
        self.walked_out: list[str] = []     # actors that left the table (breakdown)
        self.walkout_values: dict[str, tuple[float, float]] = {}  # their (outside option, best deal left)
        self.collect = collect
        self.reasons = np.full(self.offers.shape, OPENING)
        unknown = sorted(set(human_seats) - set(spec.actor_ids))
        if unknown:
            raise ValueError(f"human seats {unknown} are not actors of {spec.id} ({', '.join(spec.actor_ids)})")
        self.human = np.array([a in set(human_seats) for a in spec.actor_ids])
        self.has_humans = bool(self.human.any())
        self.submitted = np.full(self.offers.shape, np.nan)
        self.events: list[tuple[int, str]] = []   # injects played: (round they followed, inject id)
        self.reason_names = ALL_REASONS
        self.open_issues = np.ones(n_issues, dtype=bool)
        self.all_open = True            # no issue settled yet (spares masking in the hot path)
        self.agreed_value = np.full(n_issues, np.nan)
        self.agreed_round = np.full(n_issues, -1)
        self.tension = protocol.tension.initial
        self.outcome: str | None = None
        self.round = 0
        self.de_escalating = arrays.de_escalating
        self.baseline_mean, self.baseline_median = arrays.baseline_mean, arrays.baseline_median
        self.proposal_table = mechanism.proposal_table(self.offers, p)
        if protocol.mechanism == "expected_utility":
            self.eu_params = eu.EUParams(**protocol.expected_utility.model_dump())
            self.eu_range = np.ptp(p.ideal, axis=0)
            self.eu_median = eu.median_voter(p.ideal, p.capability, p.salience, self.eu_range)
            self._play_round = self._expected_utility_round
        else:
            self._play_round = self._concession_round
        self.negotiators = [Negotiator(self, actor, n) for n, actor in enumerate(spec.actors)]
        self.datacollector = self._make_collector() if collect else None
        if self.datacollector is not None:
            self.datacollector.collect(self)

    # ------------------------------------------------------------------ human seats
    def submit_offers(self, actor_id: str, offers: Mapping[str, float]) -> None:
        """A person's offers for the next round (native units), for the issues named; raises ValueError."""
        if actor_id not in self.spec.actor_ids or not self.human[self.spec.actor_ids.index(actor_id)]:
            raise ValueError(f"'{actor_id}' is not a human seat")
        row = self.spec.actor_ids.index(actor_id)
        values = self.submitted[row].copy()
        for issue_id, value in offers.items():
            if issue_id not in self.spec.issue_ids:
                raise ValueError(f"unknown issue '{issue_id}' (issues: {', '.join(self.spec.issue_ids)})")
            j = self.spec.issue_ids.index(issue_id)
            lo, hi = self.low[j], self.high[j]
            if not (isinstance(value, (int, float)) and np.isfinite(value) and lo <= value <= hi):
                raise ValueError(f"{issue_id}: offer must be between {lo:g} and {hi:g} (got {value!r})")
            if not self.open_issues[j]:
                raise ValueError(f"{issue_id}: already agreed; no more offers on it")
            values[j] = to_unit(float(value), lo, hi)
        self.submitted[row] = values

    def _apply_human_moves(self, offers: np.ndarray, before: np.ndarray) -> np.ndarray:
        """Human seats' rows: what they submitted (or their standing offer); agents' rows unchanged."""
        if not self.has_humans:
            return offers
        chosen = ~np.isnan(self.submitted) & self.open_issues
        human_rows = np.where(chosen, self.submitted, before)
        if self.collect:
            self.reasons = np.where(self.human[:, None], np.where(chosen, HUMAN, HELD), self.reasons)
        self.submitted = np.full(self.offers.shape, np.nan)
        return np.where(self.human[:, None] & self.open_issues, human_rows, offers)

    def play_inject(self, inject_id: str) -> None:
        """A teacher's event (scenario `injects`): shifts tension, actors' saliences and/or outside options
        from now on."""
        ids = [inject.id for inject in self.spec.injects]
        if inject_id not in ids:
            raise ValueError(f"unknown inject '{inject_id}' (injects: {', '.join(ids) or 'none'})")
        inject = self.spec.inject(inject_id)
        self.tension = min(1.0, max(0.0, self.tension + inject.tension))
        changes = {f"actors.{actor}.saliences.{issue}":
                   min(1.0, max(0.0, self.spec.actor(actor).saliences[issue] + delta))
                   for actor, per_issue in inject.saliences.items() for issue, delta in per_issue.items()}
        for actor, delta in inject.outside_options.items():
            option = self.spec.actor(actor).outside_option
            changes[f"actors.{actor}.outside_option.value"] = min(1.0, max(0.0, (option.value if option else 0.0)
                                                                         + delta))
        if changes:
            self.spec = apply_params(self.spec, changes)
            arrays = arrays_of(self.spec)
            self.profiles, self.schedule = arrays.profiles, arrays.schedule
        self.events.append((self.round, inject_id))

    # ------------------------------------------------------------------ the table
    @property
    def proposal(self) -> np.ndarray:
        """The standing proposal (M,): the weighted mean of the offers on open issues, the agreed value on
        settled ones (where every offer is the agreed value)."""
        return self.proposal_table[0]

    def tension_factor(self) -> float:
        return 1.0 - self.protocol.tension.hardening * self.tension

    def native(self, values: np.ndarray) -> np.ndarray:
        return to_native(values, self.low, self.high)

    # ------------------------------------------------------------------ one round
    def run_model(self) -> None:
        """Play the remaining rounds until the talks end (Mesa's hook for running to the end condition).

        The rounds are exactly those `step()` plays; what is spared is the event list's bookkeeping around
        each step (an event popped, run and rescheduled every round costs about a fifth of a round here).
        `steps` and `time` advance as stepping would advance them; at the end the step schedule is
        stopped: the talks are over, so a later `step()` plays nothing.
        """
        play = type(self).step  # the round itself, not Mesa's time-advancing wrapper
        while self.running:
            self.time += 1.0    # as Mesa's step does: the DataCollector files each round under its time
            self.steps += 1
            play(self)
        schedule = getattr(self, "_default_schedule", None)  # Mesa's recurring step event
        if schedule is not None:
            schedule.stop()

    def step(self) -> None:
        if not self.running:
            return
        self.round += 1
        before = self.offers            # offers are replaced each round, never changed in place
        de_escalations, mean_move, held = self._play_round()
        t = self.protocol.tension
        self.tension = mechanism.next_tension(
            self.tension, mean_move, held, de_escalations,
            t.deadlock_rate, t.hardline_rate, t.concession_relief, t.agreement_relief)
        self.previous_offers = before
        walked = False
        if self.profiles.has_outside_options and self.protocol.mechanism == "concession":
            leaving, outside, best = mechanism.walkouts(self.profiles, self.offers, self.tension, t.hardening,
                                                        self.round, self.open_issues, self.agreed_value,
                                                        self.protocol.linkage == "package")
            walked = bool(leaving.any())
            if walked:
                self.walked_out = [a for a, gone in zip(self.spec.actor_ids, leaving.tolist(), strict=True) if gone]
                self.walkout_values = {a: (float(outside[i]), float(best[i]))
                                       for i, a in enumerate(self.spec.actor_ids) if leaving[i]}
        over, broke_down = mechanism.round_end(walked, self.round, self.deadline,
                                               None if self.all_open else self.open_issues)
        if over:
            self.outcome = mechanism.classify(~self.open_issues, broke_down)
            self.running = False
        if self.datacollector is not None:
            self.datacollector.collect(self)

    def _concession_round(self) -> tuple[int, float, float]:
        """Offers by strategy, then noise and bloc cohesion, then the vote on the proposal.

        Returns the number of CBMs settled this round and the strategic movement (mean concession, share that
        held firm): tension answers what the actors chose to do, not the noise. (`sim.lockstep` plays these
        rounds for many seeds at once, with the same functions in the same order.)
        """
        p = self.profiles
        before = self.offers
        if p.has_tit_for_tat:
            self.received = received_concessions(self.previous_offers, before, p.ideal, p.capability)
        if self.protocol.noise > 0:  # drawn for every actor and issue each round, whatever the activation
            self.jitter = self.rng.normal(0.0, self.protocol.noise, before.shape)
        activation = self.protocol.activation
        if activation == "simultaneous":
            Negotiator.offer_together(self)
        elif activation == "sequential":
            self.agents.do("make_offer")
        else:
            self.agents.shuffle_do("make_offer")
        own = self._apply_human_moves(self.offers, before)
        tolerance = self.protocol.agreement_tolerance
        intended, stuck = self.intended, self.stuck
        if self.has_humans:  # a person's offer is what they meant, and they can always move
            intended = np.where(self.human[:, None], own, intended)
            stuck = stuck & ~self.human[:, None]
        # people choose for themselves: no pull from allies, no clipping
        self.offers, mean_move, held = mechanism.respond(before, own, self.proposal_table,
                                                         None if self.all_open else self.open_issues, p,
                                                         tolerance, self.human if self.has_humans else None,
                                                         intended, stuck)
        if self.collect and p.has_cohesion:
            followed = np.abs(self.offers - own) > np.maximum(np.abs(own - before), HOLD_EPS)
            self.reasons = np.where(followed & self.open_issues, FOLLOWED, self.reasons)
        self.proposal_table = proposal = mechanism.proposal_table(self.offers, p)
        settled = mechanism.settled_issues(proposal, self.offers, self.open_issues, p, tolerance,
                                           self.protocol.linkage == "package", arrays_of(self.spec).rule)
        return self._settle(settled, proposal[0]), mean_move, held

    def _expected_utility_round(self) -> tuple[int, float, float]:
        """One round of the Bueno de Mesquita / Scholz challenge model on every open issue."""
        p = self.profiles
        before = self.offers
        self.eu_median_before = self.eu_median
        result = eu.eu_round(self.offers, p.capability, p.salience, self.eu_range, self.eu_params)
        self.reasons = np.where(self.open_issues, len(REASONS) + result.offer_kind, REASONS.index("agreed"))
        moved = self._apply_human_moves(result.positions, before)
        self.offers = np.where(self.open_issues, moved, self.offers)
        self.eu_median = eu.median_voter(self.offers, p.capability, p.salience, self.eu_range)
        mean_move, held = mechanism.round_movement(before, self.offers, self.eu_median_before,
                                                   self.open_issues, self.protocol.agreement_tolerance)
        converged = np.ptp(self.offers, axis=0) <= self.protocol.agreement_tolerance
        de_escalations = self._settle(self.open_issues & converged, self.eu_median)
        self.proposal_table = mechanism.proposal_table(self.offers, p)  # after settling: agreed values exact
        return de_escalations, mean_move, held

    def _settle(self, settled: np.ndarray | None, values: np.ndarray) -> int:
        """Close the issues `settled` (M,; None: none) at `values`; every offer on them becomes the agreed value.
        Returns how many de-escalating issues (CBMs) this settled."""
        if settled is None or not settled.any():
            return 0
        done = mechanism.settle(settled, values, self.round, self.offers, self.agreed_value, self.agreed_round,
                                self.open_issues, self.de_escalating)
        self.offers, self.agreed_value, self.agreed_round = done.offers, done.agreed_value, done.agreed_round
        self.open_issues = done.open_issues
        self.all_open = False
        return int(done.de_escalations)

    # ------------------------------------------------------------------ results
    @property
    def prediction(self) -> np.ndarray:
        """Expected-utility mechanism: the median-voter position of the current positions (normalised)."""
        return self.eu_median

    def outcome_utilities(self) -> np.ndarray:
        """Each actor's utility of the outcome (reservation utility on unsettled issues; under the
        expected-utility mechanism every issue is valued at its predicted position)."""
        if self.protocol.mechanism == "expected_utility":
            return mechanism.outcome_utility(self.eu_median, np.ones_like(self.open_issues), self.profiles)
        return mechanism.outcome_utility(self.agreed_value, ~self.open_issues, self.profiles)

    def _make_collector(self) -> mesa.DataCollector:
        issues = self.spec.issue_ids
        model_reporters = {"tension": "tension", "outcome": "outcome"}
        agent_reporters = {"actor": "actor_id", "utility": "utility"}
        for j, issue in enumerate(issues):
            model_reporters[f"proposal.{issue}"] = lambda m, j=j: float(m.native(m.proposal)[j])
            model_reporters[f"agreed.{issue}"] = lambda m, j=j: not bool(m.open_issues[j])
            agent_reporters[f"position.{issue}"] = lambda a, j=j: a.offer(j)
            agent_reporters[f"reason.{issue}"] = lambda a, j=j: a.reason(j)
        if self.protocol.mechanism == "expected_utility":
            for j, issue in enumerate(issues):
                model_reporters[f"median.{issue}"] = lambda m, j=j: float(m.native(m.eu_median)[j])
                model_reporters[f"mean.{issue}"] = lambda m, j=j: float(m.native(m.proposal)[j])
        return mesa.DataCollector(model_reporters=model_reporters, agent_reporters=agent_reporters)
