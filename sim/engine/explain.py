"""Why each issue ended as it did: one sentence per issue, from a run's final state.

The CLI summary, `negsim run --json` (`issues.ID.why`), the dashboard banner and the classroom debrief all show
these sentences (through `sim.service.result_of`), so a run is explained the same way everywhere. Checked in the
order a reader needs them: settled; someone walked away; red lines that exclude each other; no package that
gives everyone its walk-away utility; package linkage holding back an issue whose offers met; walk-away utilities
refusing the proposal; the deadline. A forecasting mechanism (expected utility) has its own sentences
(`forecast_reasons`): what settled an issue, where its positions stopped moving and who refuses the forecast there,
or that they were still moving (a cycle) when the talks ended.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from sim.core import table_rules
from sim.core.strategies import MET, REASONS
from sim.core.utility import EPS, issue_utilities, within

if TYPE_CHECKING:
    import pandas as pd

    from sim.engine.model import NegotiationModel
    from sim.scenario import Issue, Scenario


def _names(model: NegotiationModel, rows) -> str:
    names = [model.layout.actors[int(i)].name for i in rows]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def issue_reasons(model: NegotiationModel) -> dict[str, str]:
    """One sentence per issue id: what settled or blocked it, and when."""
    if model.mechanism.forecasts:
        return forecast_reasons(model)
    # ids, names, units and linkage from the layout (what no draw changes), the tolerance as the run plays it:
    # reading `model.spec` would build the drawn scenario, which costs a third of a run; the profiles with the run
    # axis (the rounds': a drawn run makes its `model.profiles` when first read), those without only where needed
    spec, run = model.layout, model.arrays.profiles
    package = spec.protocol.linkage == "package"
    tolerance = float(model.arrays.rules.tolerance[0])
    offers, proposal = model.offers, model.proposal_table
    native = model.native
    met_here = (np.abs(offers - proposal) <= tolerance + 1e-9).all(axis=0)     # (M,) every offer within tolerance
    met, blocked_here = met_here.tolist(), (~met_here & model.open_issues).tolist()
    walked = ""
    walked_out = model.walked_out
    if walked_out:
        who = walked_out[0]
        option, best = model.walkout_values.get(who, (np.nan, np.nan))
        walked = (f"{spec.actor(who).name} walked away in round {model.round}: its outside option ({option:.3f}) "
                  f"beat the best deal every actor, itself included, could still accept, or no deal "
                  f"({best:.3f})")
    # who accepts and who refuses each issue's proposal: read issue by issue only (not under package linkage), and
    # only for an open issue whose offers met (computed at the first such issue: most runs have none)
    acceptance = worth = None
    agreed_native = native_offers = None    # in native units, converted once where some issue reads them
    reasons: dict[str, str] = {}
    # plain Python flags, read once (a numpy element read per issue costs more than the issue's sentence)
    still_open, exclusive = model.open_issues.tolist(), (run.agreeable_low > run.agreeable_high)[0].tolist()
    for j, issue in enumerate(spec.issues):
        unit = f" {issue.scale.unit}" if issue.scale.unit else ""
        if not still_open[j]:
            how = " as part of the package" if package else ""
            agreed_native = native(model.agreed_value) if agreed_native is None else agreed_native
            reasons[issue.id] = (f"settled in round {int(model.agreed_round[j])} at "
                                 f"{float(agreed_native[j]):.1f}{unit}{how}")
            continue
        parts = []
        if walked:
            parts.append(walked)
        if exclusive[j]:
            parts.append(_exclusive_red_lines(model, spec, j, unit))
        elif package and run.package_table is None and run.any_package_possible:
            parts.append("no package gives every actor at least its status quo and walk-away utility")
        elif package and met[j]:
            others = [i.id for k, i in enumerate(spec.issues) if blocked_here[k]]
            parts.append("the offers met here, but under package linkage nothing is agreed until everything is"
                         + (f" (still apart on {', '.join(others)})" if others else ""))
        elif not package and met[j]:
            if acceptance is None or worth is None:
                p = model.profiles
                acceptance = table_rules.issue_acceptance(proposal[0], offers, p, tolerance)
                worth = issue_utilities(proposal[0], p.ideal, p.risk_exponent) >= p.reservation[:, None] - 1e-9
            refusing = np.flatnonzero(~worth[:, j])
            if not acceptance[:, j].all() and len(refusing):
                parts.append(f"the offers met, but the proposal is below the walk-away utility of "
                             f"{_names(model, refusing)}")
        if not parts or (walked and len(parts) == 1 and not met[j]):
            native_offers = native(offers) if native_offers is None else native_offers
            column = native_offers[:, j]
            spread = float(column.max() - column.min())    # (np.ptp's numbers, without its wrapper's cost)
            when = "when the talks ended" if walked else f"at the deadline (round {model.round})"
            if not model.running:
                parts.append(f"offers still {spread:.0f}{unit} apart {when}")
            else:
                parts.append(f"still open after round {model.round}: offers {spread:.0f}{unit} apart")
        reasons[issue.id] = "; ".join(parts)
    return reasons


def _exclusive_red_lines(model: NegotiationModel, spec: Scenario, j: int, unit: str) -> str:
    """Why issue j has no value every actor accepts: the highest floor above the lowest ceiling."""
    # plain floats (the same IEEE arithmetic as numpy's float64 scalars, without their cost per operation);
    # list.index of the max: the first, as argmax; the red lines of the run's profiles, with its run axis
    p = model.arrays.profiles
    floors, ceilings = p.red_low[0, :, j].tolist(), p.red_high[0, :, j].tolist()
    floor, ceiling = floors.index(max(floors)), ceilings.index(min(ceilings))
    low = float(model.low[j])
    span = float(model.high[j]) - low
    lo, hi = low + floors[floor] * span, low + ceilings[ceiling] * span
    return (f"red lines exclude each other: {spec.actors[floor].name} accepts nothing below {lo:.0f}{unit}, "
            f"{spec.actors[ceiling].name} nothing above {hi:.0f}{unit}")


def _refusals(model: NegotiationModel, value: float, j: int, unit: str) -> list[str]:
    """Who refuses `value` (normalised) on issue j: the actors whose red line it crosses and those for whom it is
    below their walk-away utility (reservation utility), as clauses."""
    p, spec = model.profiles, model.layout
    span = model.high[j] - model.low[j]
    crossed = ~within(np.float64(value), p.red_low_tol[:, j], p.red_high_tol[:, j])
    worth = issue_utilities(np.full(p.ideal.shape, value), p.ideal, p.risk_exponent)[:, j]
    below = (worth < p.reservation - EPS) & ~crossed
    clauses = []
    for i in np.flatnonzero(crossed):
        low_side = value < p.red_low[i, j]
        line = float(model.low[j] + (p.red_low[i, j] if low_side else p.red_high[i, j]) * span)
        clauses.append(f"it crosses the red line of {spec.actors[int(i)].name} (nothing "
                       f"{'below' if low_side else 'above'} {line:.0f}{unit})")
    if below.any():
        clauses.append(f"it is below the walk-away utility of {_names(model, np.flatnonzero(below))}")
    return clauses


def _which(refusals: list[str]) -> str:
    """", which crosses ... and is below ..." from clauses that start with "it "."""
    return ", which " + " and ".join(clause.removeprefix("it ") for clause in refusals) if refusals else ""


def forecast_reasons(model: NegotiationModel) -> dict[str, str]:
    """The expected-utility mechanism's sentences: an issue is agreed where the positions met on the median voter's
    position and everyone the rule needs accepts it; otherwise where the positions stopped moving (the stable
    forecast) or began to cycle, and who refuses the forecast, or that they were still moving when the talks
    ended."""
    spec, p = model.layout, model.profiles     # as `issue_reasons`
    package = spec.protocol.linkage == "package"
    tolerance = float(model.arrays.rules.tolerance[0])
    offers, native = model.offers, model.native
    assert model.state.forecast is not None     # a forecasting mechanism's state has its forecast
    forecast = model.state.forecast[0]
    since, period = np.full(len(spec.issues), -1), np.zeros(len(spec.issues), dtype=int)
    if model.mechanism.settled_since is not None:
        tracked = model.mechanism.settled_since(model.state)
        since, period = tracked[0][0], tracked[1][0]
    met = np.ptp(offers, axis=0) <= tolerance + 1e-9
    apart = [i.id for k, i in enumerate(spec.issues) if model.open_issues[k] and not met[k]]
    reasons: dict[str, str] = {}
    # plain Python flags, read once (a numpy element read per issue costs more than the issue's sentence)
    still_open, exclusive = model.open_issues.tolist(), (p.agreeable_low > p.agreeable_high).tolist()
    for j, issue in enumerate(spec.issues):
        unit = f" {issue.scale.unit}" if issue.scale.unit else ""
        if not still_open[j]:
            how = ", as part of the package" if package else ""
            reasons[issue.id] = (f"settled in round {int(model.agreed_round[j])} at "
                                 f"{float(native(model.agreed_value)[j]):.1f}{unit}: the positions met on the median "
                                 f"voter's position, which every actor the decision rule needs accepts{how}")
            continue
        value = float(native(forecast)[j])
        spread = float(np.ptp(native(offers)[:, j]))
        parts = []
        if exclusive[j]:
            parts.append(_exclusive_red_lines(model, spec, j, unit))
        refusals = _refusals(model, float(forecast[j]), j, unit)
        if since[j] >= 0 and met[j]:
            why = "; ".join(refusals) if refusals else (
                "under package linkage nothing is agreed until everything is"
                + (f" (still apart on {', '.join(apart)})" if apart else ""))
            when = (f"stable from round {int(since[j])}" if period[j] <= 1
                    else f"repeating every {int(period[j])} rounds from round {int(since[j])}")
            parts.append(f"the positions met at {value:.1f}{unit} ({when}), but {why}")
        elif since[j] >= 0 and period[j] > 1:
            parts.append(f"the positions cycle: from round {int(since[j])} they repeat every {int(period[j])} rounds, "
                         f"{spread:.3g}{unit} apart; forecast {value:.1f}{unit}, the mean median over the cycle"
                         + _which(refusals))
        elif since[j] >= 0:
            parts.append(f"the positions stopped moving in round {int(since[j])}, still {spread:.3g}{unit} apart: "
                         f"stable forecast {value:.1f}{unit} (the median voter)"
                         + (f", which {' and '.join(refusals)}".replace("which it ", "which ") if refusals else ""))
        elif model.running:
            parts.append(f"still open after round {model.round}: positions {spread:.3g}{unit} apart, median voter "
                         f"at {value:.1f}{unit}")
        else:
            parts.append(f"no stable forecast: the positions were still moving at the deadline (round {model.round}),"
                         f" {spread:.3g}{unit} apart; forecast {value:.1f}{unit}"
                         + _which(refusals))
        reasons[issue.id] = "; ".join(parts)
    return reasons


# ====================================================================== one move in words
MET_THE_PROPOSAL = REASONS[MET]
"""The reason a move records when the actor's concession reached the proposal it answered (`strategies.move_reasons`,
computed before its allies' pull): its final offer may stand short of that proposal, so it is shown in words."""


def move_sentence(reason: str, before: float, after: float, answered: float, tolerance: float,
                  fmt: Callable[[float], str], what: str = "", allies: bool = False) -> str:
    """One move of one actor on one issue in words, with its numbers: `reason` as recorded, its offer `before` and
    `after` the round, the proposal it `answered` (the one on the table at the end of the round before), the
    agreement `tolerance` (native units) and `fmt` for a native value. `what` names the issue ('on expansion').

    Every reason but "met the proposal" reads as recorded. That one is recorded when the actor's concession
    reached the proposal it answered; where its offer then stands within the tolerance of that proposal it met
    it ("met the proposal (34): 15 -> 34"); where it does not (its allies pulled it back, or, when actors move
    one after another, the table had moved), it "moved toward the proposal (34) from 15 to 17" - the old text
    said "met the proposal" there too."""
    if reason != MET_THE_PROPOSAL:
        return reason
    on = f" on {what}" if what else ""
    a, b, p = fmt(before), fmt(after), fmt(answered)
    if abs(after - answered) <= tolerance + 1e-9:
        return f"met the proposal{on} ({p})" + (f": {a} -> {b}" if a != b else f" at {b}")
    pulled = "; its allies pulled it back" if allies else ""
    if abs(after - answered) < abs(before - answered) - 1e-9:
        return f"moved toward the proposal{on} ({p}) from {a} to {b}{pulled}"
    return f"moved{on} from {a} to {b}, short of the proposal ({p}){pulled}" if a != b else (
        f"held{on} at {b}, short of the proposal ({p}){pulled}")


def move_sentences(history: pd.DataFrame, scenario: Scenario,
                   fmt: Callable[[float, Issue], str]) -> list[str]:
    """`move_sentence` for every row of a run's history (`service.history_of`: round 0 reads as recorded), in its
    row order; `fmt(value, issue)` formats a native value of an issue."""
    issues = {i.id: i for i in scenario.issues}
    allies = {a.id: bool(a.allies) for a in scenario.actors}
    tolerance = scenario.protocol.agreement_tolerance
    out = [str(reason) for reason in history["reason"]]
    met = np.flatnonzero((history["reason"] == MET_THE_PROPOSAL).to_numpy() & (history["round"] > 0).to_numpy())
    if not len(met):
        return out
    # each row's round before, for its actor and issue (rows are in round order): its offer and the proposal then
    previous = history.groupby(["actor", "issue"], sort=False)[["round", "position", "proposal"]].shift(1)
    rounds, actors, issue_ids = history["round"].to_numpy(), history["actor"].to_numpy(), history["issue"].to_numpy()
    after = history["position"].to_numpy(dtype=float)
    before_round, before, proposal = (previous[c].to_numpy(dtype=float) for c in ("round", "position", "proposal"))
    for k in met:
        if before_round[k] != rounds[k] - 1:
            continue
        issue = issues[issue_ids[k]]
        out[k] = move_sentence(out[k], float(before[k]), float(after[k]), float(proposal[k]),
                               tolerance * issue.scale.span, in_units(fmt, issue), allies=allies[actors[k]])
    return out


def in_units(fmt: Callable[[float, Issue], str], issue: Issue) -> Callable[[float], str]:
    """`fmt` for the values of one issue."""
    return lambda value: fmt(value, issue)
