"""Many seeded runs of one scenario at once: NegotiationModel's concession rounds in lockstep.

The replicates of a sweep's parameter point (or of a Monte Carlo) differ only in their seeds, so they can share
every array operation: here the state gains a leading replicate axis (R, N, M) and each round is the model's
round, the same pure functions of `sim.strategies` and `sim.mechanism` called in the same order, once for all
replicates instead of once per run. A run costs a small fraction of a model run, because numpy's cost per
call, not per element, dominates a round of a few actors and issues.

Each replicate computes exactly what ``NegotiationModel(scenario, rng=seed, collect=False).run_model()``
computes, bit for bit (tests/test_lockstep.py checks every shipped scenario): the round rules are elementwise
or reduce along the actor and issue axes only; each replicate's noise comes from its own generator, seeded as
Mesa seeds the model's (``numpy.random.default_rng(seed)``), drawn for all rounds at once (the same numbers the
model draws round by round); a replicate whose talks end is set aside with its final state, so the rounds it
did not play draw and change nothing.

Only what a Mesa model needs no agents for is played here: the concession mechanism with simultaneous moves
(`supports`). Sequential or random activation (agents move one after another), the expected-utility mechanism,
round-by-round records and people at the table run as NegotiationModel runs (`sim.service` chooses).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from sim import mechanism
from sim.arrays import arrays_of
from sim.scenario import Scenario
from sim.strategies import next_offers, received_concessions
from sim.utility import Array

MIN_REPLICATES = 2
"""Fewer seeds run faster as models: a lockstep round masks what a model's round skips while all issues are
open (a replicate alone costs about 1.5 model runs; two together already save a quarter)."""


def supports(scenario: Scenario) -> bool:
    """Whether `play` can run this scenario: concession mechanism, simultaneous moves, no uncertain inputs
    (each seed would play a scenario of its own)."""
    return (scenario.protocol.mechanism == "concession" and scenario.protocol.activation == "simultaneous"
            and not scenario.uncertainty)


def worthwhile(scenario: Scenario, n_seeds: int) -> bool:
    """Whether `n_seeds` runs of the scenario are faster in lockstep than as models."""
    return n_seeds >= MIN_REPLICATES and supports(scenario)


@dataclass(frozen=True)
class Finals:
    """Each replicate's final state (normalised units), in the order of the seeds."""

    outcome: NDArray[np.int_]       # (R,) index into mechanism.OUTCOMES
    rounds: NDArray[np.int_]        # (R,) rounds played
    tension: Array                  # (R,)
    open_issues: NDArray[np.bool_]  # (R, M) still open (not agreed)
    agreed_value: Array             # (R, M) NaN where open
    agreed_round: NDArray[np.int_]  # (R, M) -1 where open
    offers: Array                   # (R, N, M) final offers
    proposal: Array                 # (R, M) the standing proposal
    walked_out: NDArray[np.bool_]   # (R, N) actors that left the table


CHUNK_CELLS = 2_000_000
"""Numbers held per array at most (16 MB): more seeds than fit are played a chunk at a time."""


def play(scenario: Scenario, seeds: Sequence[int]) -> Finals:
    """Run the scenario once per seed, all in lockstep; raises ValueError if `supports` says no."""
    if not supports(scenario):
        raise ValueError(f"{scenario.id}: lockstep runs need the concession mechanism with simultaneous moves "
                         "and no uncertain inputs")
    n_actors, n_issues = len(scenario.actors), len(scenario.issues)
    # the largest arrays: the noise (R, T, N, M) and, with tit-for-tat, the concessions received (R, N, N, M)
    per_run = n_actors * n_issues * (scenario.protocol.max_rounds + n_actors)
    chunk = max(1, CHUNK_CELLS // per_run)
    if len(seeds) <= chunk:
        return _play(scenario, seeds)
    parts = [_play(scenario, seeds[start:start + chunk]) for start in range(0, len(seeds), chunk)]
    return Finals(**{name: np.concatenate([getattr(part, name) for part in parts])
                     for name in Finals.__dataclass_fields__})


def _play(scenario: Scenario, seeds: Sequence[int]) -> Finals:
    arrays = arrays_of(scenario)
    p, protocol = arrays.profiles, scenario.protocol
    t, tolerance, deadline = protocol.tension, protocol.agreement_tolerance, protocol.max_rounds
    package = protocol.linkage == "package"
    n_runs, (n_actors, n_issues) = len(seeds), p.ideal.shape

    # the state of the replicates still talking (rows of `alive`, indices into the seeds)
    alive = np.arange(n_runs)
    offers = np.broadcast_to(p.ideal, (n_runs, n_actors, n_issues)).copy()
    previous = offers
    proposal = np.broadcast_to(mechanism.proposal_table(p.ideal, p), offers.shape).copy()
    tension = np.full(n_runs, float(t.initial))
    open_issues = np.ones((n_runs, n_issues), dtype=bool)
    agreed_value = np.full((n_runs, n_issues), np.nan)
    agreed_round = np.full((n_runs, n_issues), -1)
    noise = None
    if protocol.noise > 0:  # each replicate's draws for every round, as its model would draw them round by round
        noise = np.stack([np.random.default_rng(int(seed)).normal(0.0, protocol.noise, (deadline, n_actors,
                                                                                        n_issues))
                          for seed in seeds])

    final = {
        "outcome": np.zeros(n_runs, dtype=int), "rounds": np.zeros(n_runs, dtype=int),
        "tension": np.zeros(n_runs), "open_issues": open_issues.copy(), "agreed_value": agreed_value.copy(),
        "agreed_round": agreed_round.copy(), "offers": offers.copy(), "proposal": np.zeros((n_runs, n_issues)),
        "walked_out": np.zeros((n_runs, n_actors), dtype=bool),
    }
    for round_ in range(1, deadline + 1):
        received = received_concessions(previous, offers, p.ideal, p.capability) if p.has_tit_for_tat else None
        step = next_offers(p, offers, proposal, received, arrays.schedule[round_], round_ <= 1,
                           (1.0 - t.hardening * tension)[:, None, None], open_issues[:, None, :],
                           None if noise is None else noise[:, round_ - 1])
        table, mean_move, held = mechanism.respond(offers, step.offers, proposal, open_issues, p, tolerance,
                                                   intended=step.intended, stuck=step.stuck)
        proposal = mechanism.proposal_table(table, p)
        settled = mechanism.settled_issues(proposal, table, open_issues, p, tolerance, package, arrays.rule)
        done = mechanism.settle(settled, proposal[:, 0], round_, table, agreed_value, agreed_round, open_issues,
                                arrays.de_escalating)
        tension = mechanism.next_tension(tension, mean_move, held, done.de_escalations,
                                         t.deadlock_rate, t.hardline_rate, t.concession_relief,
                                         t.agreement_relief)
        previous, offers = offers, done.offers
        open_issues, agreed_value, agreed_round = done.open_issues, done.agreed_value, done.agreed_round
        walked = (mechanism.walkouts(p, offers, tension, t.hardening, round_, open_issues, agreed_value, package)[0]
                  if p.has_outside_options else np.zeros((len(alive), n_actors), dtype=bool))
        over, broke_down = mechanism.round_end(walked.any(axis=-1), round_, deadline, open_issues)
        if not over.any():
            continue
        ending = alive[over]
        final["outcome"][ending] = mechanism.outcome_codes(~open_issues[over], broke_down[over])
        final["rounds"][ending] = round_
        for name, value in (("tension", tension), ("open_issues", open_issues), ("agreed_value", agreed_value),
                            ("agreed_round", agreed_round), ("offers", offers), ("proposal", proposal[:, 0]),
                            ("walked_out", walked)):
            final[name][ending] = value[over]
        going = ~over
        if not going.any():
            break
        alive, offers, previous, proposal, tension = (alive[going], offers[going], previous[going],
                                                      proposal[going], tension[going])
        open_issues, agreed_value, agreed_round = open_issues[going], agreed_value[going], agreed_round[going]
        if noise is not None:
            noise = noise[going]
    return Finals(**final)
