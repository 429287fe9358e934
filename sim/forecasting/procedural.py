"""A procedural (agenda-setter) model with the legislative procedure and the Council's voting rule in force: the
proposer offers the point it likes best among those the rule lets replace the status quo and that cannot be
amended away.

Sources: G. Tsebelis (1994), "The European Parliament as a conditional agenda setter", APSR 88; B. Steunenberg
(1994), "Decision making under different institutional arrangements", Journal of Institutional and Theoretical
Economics 150; C. Crombez (1996), "Legislative procedures in the European Community", British Journal of Political
Science 26, and (2001) "The co-decision procedure in the European Union", Legislative Studies Quarterly 26;
R. Thomson et al. (eds., 2006), The European Union Decides, for procedural models on DEU data.

Per issue, with status quo q and distance preferences, a voter accepts x over q iff |x - x_i| <= |q - x_i|.
* The Council's rule (`eu_council`): on a problem with a date and member-state actors, the rule in force on the
  proposal's date -- weighted votes and quota before 1 November 2014 (EU-15: 62 of 87; Nice: 232 of 321, 255 of
  345, 260 of 352, with a majority of the members and 62 % of the population), the double majority after it
  (55 % of the members, 65 % of the population, a blocking minority of at least four; Art. 16(4) TEU) -- or
  unanimity, or a simple majority of the members. Otherwise the problem's `vote_weights` and `qmv_threshold`.
  The win-set of q is an interval: the furthest point up that a passing coalition accepts is 2p - q, p the
  highest position such that the voters at or above p pass (likewise down).
* Co-decision (the problem has a veto player: the Parliament under COD, Art. 251 TEC / Art. 294 TFEU): the
  Parliament must accept too, and the outcome cannot lie where the Council (by qualified majority) and the
  Parliament would both rather move it the same way in conciliation: it lies between the Parliament's position
  and the Council's qualified-majority core [p_up, p_down] (Crombez 2001; Tsebelis & Garrett 2000).
* Consultation (no veto player): the Parliament gives an opinion only; the Council can amend the Commission's
  proposal only by unanimity (Art. 250(1) TEC / Art. 293(1) TFEU), so a proposal survives only inside the hull of
  the Council members' positions (a point outside it, every member would rather amend; Crombez 1996).
The proposer offers the point of the resulting interval nearest its own position (without a proposer position it
aims at the compromise forecast). With q unknown the model has nothing to say and returns the compromise forecast.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from sim.forecasting import compromise
from sim.forecasting.eu_council import QualifiedMajority, council_rule, weighted_rule
from sim.forecasting.model import ForecastingModel
from sim.forecasting.problem import Problem


def threshold_of(rule: str, qmv_threshold: float) -> float:
    return {"unanimity": 1.0, "qmv": qmv_threshold, "majority": 0.5}[rule]


def voting_rule(problem: Problem, issue: int) -> QualifiedMajority:
    """The rule that decides `issue`: the Council's rule on the problem's date for EU member-state actors, else the
    problem's weighted votes and threshold."""
    rule = problem.rules[issue]
    if problem.date is not None and problem.actors is not None:
        council = council_rule(problem.actors, problem.date, rule)
        if council is not None:
            return council
    return weighted_rule(problem.vote_weights, threshold_of(rule, problem.qmv_threshold))


def pivot(x: np.ndarray, passes: Callable[[np.ndarray], bool], upward: bool = True) -> float | None:
    """The highest position p such that the voters at or above p pass (upward), or the lowest such that those at
    or below it pass; None if not even all of them pass. x: (K,) positions of the voters with a position."""
    for p in (np.unique(x)[::-1] if upward else np.unique(x)):
        if passes(x >= p if upward else x <= p):
            return float(p)
    return None


def win_interval(x: np.ndarray, passes: Callable[[np.ndarray], bool], q: float) -> tuple[float, float, float, float]:
    """(low, high, core_low, core_high): the points the voters can put in place of q ([low, high] contains q), and
    their core [p_up, p_down] (a move out of it can be undone by a passing coalition; empty-ish when p_up > p_down
    under a bare majority)."""
    up, down = pivot(x, passes, True), pivot(x, passes, False)
    high = max(q, 2.0 * up - q) if up is not None else q
    low = min(q, 2.0 * down - q) if down is not None else q
    core_low = up if up is not None else float(x.min())
    core_high = down if down is not None else float(x.max())
    return low, high, min(core_low, core_high), max(core_low, core_high)


def outcome_interval(problem: Problem, issue: int) -> tuple[float, float] | None:
    """The interval of outcomes the procedure allows on `issue` (see the module docstring); None without q."""
    q = float(problem.reference[issue])
    has = problem.has_position[issue]
    rule = voting_rule(problem, issue)
    voters = has & rule.voters
    if not np.isfinite(q) or not voters.any():
        return None
    x = problem.positions[issue]
    index = np.flatnonzero(voters)

    def passes(members: np.ndarray) -> bool:
        coalition = np.zeros(problem.n_actors, dtype=bool)
        coalition[index[members]] = True
        return rule.passes(coalition, voters)

    low, high, core_low, core_high = win_interval(x[voters], passes, q)
    veto = problem.veto_player
    if veto is not None and has[veto]:                        # co-decision: the Parliament's consent, conciliation
        ep = float(x[veto])
        high, low = min(high, max(q, 2.0 * ep - q)), max(low, min(q, 2.0 * ep - q))
        bound_low, bound_high = min(ep, core_low), max(ep, core_high)
    else:                                                     # consultation: unanimity to amend the proposal
        bound_low, bound_high = float(x[voters].min()), float(x[voters].max())
    low, high = max(low, problem.scale_min), min(high, problem.scale_max)
    if max(low, bound_low) <= min(high, bound_high):
        low, high = max(low, bound_low), min(high, bound_high)
    return low, high


def forecast(problem: Problem) -> np.ndarray:
    """The agenda setter's best acceptable proposal on every issue (see the module docstring)."""
    fallback = compromise.forecast(problem)
    out = fallback.copy()
    setter = problem.proposer
    for d in range(problem.n_issues):
        allowed = outcome_interval(problem, d)
        if allowed is None:
            continue
        has = problem.has_position[d]
        target = problem.positions[d, setter] if setter is not None and has[setter] else fallback[d]
        out[d] = float(np.clip(target, *allowed))
    return out


ERRORS = (0.000, 0.000, 0.000, 0.034, 0.150, 0.280, 0.400, 0.475, 0.555, 0.646,
          0.708, 0.765, 0.910, 1.095, 1.262, 1.449, 1.667, 1.860, 2.176, 2.540)
"""This model's interval calibration (`ForecastingModel.errors`): the 20 quantiles of |outcome - forecast| / sigma
on the DEU development file, cross-validated (`python -m sim.forecasting.validation FILE --calibrate`)."""

MODEL = ForecastingModel(forecast, errors=ERRORS)
