"""A procedural (agenda-setter) model of the decision rule: the proposer offers the point it likes best among those
that the pivotal voters and the veto player prefer to the status quo.

Sources: G. Tsebelis (1994), "The power of the European Parliament as a conditional agenda setter", APSR 88;
B. Steunenberg (1994), "Decision making under different institutional arrangements: legislation by the European
Community", Journal of Institutional and Theoretical Economics 150; R. Thomson et al. (eds., 2006), The European
Union Decides, for procedural models on DEU data.

Per issue, with status quo q and single-peaked (distance) preferences, voter i accepts x iff |x - x_i| <= |q - x_i|.
Voters are the actors with a vote weight and a position; a change needs a share `threshold` of their weight
(unanimity: 1, QMV: the problem's qmv_threshold, simple majority: 0.5). The pivot for moves up is the highest
position p with at least `threshold` of the weight at or above p; everyone from the pivot up accepts any
x in (q, 2p - q]. Likewise downwards. The veto player (the Parliament under co-decision), when it has a position,
must accept too. The proposer picks the acceptable point (or q) nearest its own position; without a proposer
position it aims at the compromise forecast. With q unknown the model has nothing to say and returns the
compromise forecast (the backtest counts such issues like any other).
"""

from __future__ import annotations

import numpy as np

from sim.forecasting import compromise
from sim.forecasting.problem import Problem


def threshold_of(rule: str, qmv_threshold: float) -> float:
    return {"unanimity": 1.0, "qmv": qmv_threshold, "majority": 0.5}[rule]


def pivot_up(x: np.ndarray, votes: np.ndarray, threshold: float) -> float:
    """Highest position p such that the voters at or above p hold at least `threshold` of the vote weight."""
    order = np.argsort(-x, kind="stable")
    share = np.cumsum(votes[order]) / votes.sum()
    return float(x[order][np.argmax(share >= threshold * (1.0 - 1e-12))])


def win_interval(x: np.ndarray, votes: np.ndarray, q: float, threshold: float, veto: float | None,
                 lo: float, hi: float) -> tuple[float, float]:
    """[low, high] containing q: the points the rule lets replace q (an interval on a line)."""
    up = 2.0 * pivot_up(x, votes, threshold) - q
    down = 2.0 * -pivot_up(-x, votes, threshold) - q
    high, low = max(q, up), min(q, down)
    if veto is not None:
        high = min(high, max(q, 2.0 * veto - q))
        low = max(low, min(q, 2.0 * veto - q))
    return max(lo, low), min(hi, high)


def forecast(problem: Problem) -> np.ndarray:
    """The agenda setter's best acceptable proposal on every issue (see the module docstring)."""
    fallback = compromise.forecast(problem)
    out = fallback.copy()
    for d in range(problem.n_issues):
        q = problem.reference[d]
        has = problem.has_position[d]
        voters = has & (problem.vote_weights > 0)
        if not np.isfinite(q) or not voters.any():
            continue
        veto = problem.veto_player
        veto_position = float(problem.positions[d, veto]) if veto is not None and has[veto] else None
        low, high = win_interval(problem.positions[d, voters], problem.vote_weights[voters], float(q),
                                 threshold_of(problem.rules[d], problem.qmv_threshold), veto_position,
                                 problem.scale_min, problem.scale_max)
        setter = problem.proposer
        target = problem.positions[d, setter] if setter is not None and has[setter] else fallback[d]
        out[d] = float(np.clip(target, low, high))
    return out
