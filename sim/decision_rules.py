"""Decision rules: which sets of accepting actors carry an issue (unanimity, qualified or simple majority, with an
optional agenda setter whose consent is always needed).

`rule_arrays` turns a scenario's rules into arrays once per scenario; `passes` is the pure test the concession
mechanism applies each round (`sim.mechanism.settled_issues`, `package_agreed`). Like every round rule it takes a
leading run axis (R, N, M) and computes each run exactly as alone: it reduces each run's own actors, never across
runs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

import numpy as np
from numpy.typing import NDArray

from sim.utility import EPS, Array

if TYPE_CHECKING:     # the schema imports the mechanisms, which import this module
    from sim.scenario import DecisionRule, Scenario


class RuleArrays(NamedTuple):
    """The decision rule of every issue, as arrays (N actors x M issues)."""

    weights: Array                 # (N, M) vote weights, normalised to sum 1 over the actors of each issue
    quota: Array                   # (M,) share of the weight the accepting actors need (1 under unanimity)
    strict: NDArray[np.bool_]      # (M,) more than the quota is needed (simple majority: > 1/2), not just as much
    veto: NDArray[np.bool_]        # (N, M) actors whose acceptance is needed whatever the votes: every voter under
    #                                unanimity, and the agenda setter
    everyone_must_accept: bool     # every issue needs every actor (plain unanimity: today's rule, the fast path)


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


def passes(accepts: NDArray[np.bool_], rule: RuleArrays | None) -> NDArray[np.bool_]:
    """Whether the actors accepting carry each issue under its rule: (..., N, M) -> (..., M); `rule` None:
    every actor must accept (unanimity, the rule before decision rules existed).

    An issue passes when every actor with a veto accepts (every voter under unanimity, the agenda setter under
    any rule) and the accepting actors' share of the vote weight, V_j = sum_i w_ij [i accepts j], meets the quota:
    V_j > 1/2 + EPS (simple majority: a tie fails), V_j >= q_j - EPS (qualified majority, unanimity).
    """
    if rule is None or rule.everyone_must_accept:
        return accepts.all(axis=-2)
    share = np.where(accepts, rule.weights, 0.0).sum(axis=-2)
    enough = np.where(rule.strict, share > rule.quota + EPS, share >= rule.quota - EPS)
    return enough & (accepts | ~rule.veto).all(axis=-2)
