"""Decision rules: which sets of accepting actors carry an issue (unanimity, qualified or simple majority, with an
optional agenda setter whose consent is always needed).

`sim.compile.arrays.rule_arrays` turns a scenario's rules into arrays once per scenario; `passes` is the pure
test the concession mechanism applies each round (`sim.core.table_rules.settled_issues`, `package_agreed`). Like
every round rule it takes a leading run axis (R, N, M) and computes each run exactly as alone: it reduces each
run's own actors, never across runs.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numpy.typing import NDArray

from sim.core.utility import EPS, Array


class RuleArrays(NamedTuple):
    """The decision rule of every issue, as arrays (N actors x M issues)."""

    weights: Array                 # (N, M) vote weights, normalised to sum 1 over the actors of each issue
    quota: Array                   # (M,) share of the weight the accepting actors need (1 under unanimity)
    strict: NDArray[np.bool_]      # (M,) more than the quota is needed (simple majority: > 1/2), not just as much
    veto: NDArray[np.bool_]        # (N, M) actors whose acceptance is needed whatever the votes: every voter under
    #                                unanimity, and the agenda setter
    everyone_must_accept: bool     # every issue needs every actor (plain unanimity: today's rule, the fast path)


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
