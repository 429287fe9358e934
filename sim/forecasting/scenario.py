"""Every forecasting model applied to a negsim scenario, beside the simulation's own distribution of agreements.

`forecast_table(scenario)` turns the scenario into one forecasting `Problem` -- the actors' positions, capabilities
and saliences as coded, each issue's status quo, its decision rule (unanimity / qualified majority / simple
majority, the rule's vote weights and agenda setter) -- on a common 0-100 scale (each issue's native scale mapped
onto it; every model is invariant to that), and forecasts every issue with every model, each with its 80 %
interval (`intervals`). Beside them: `runs` Monte Carlo runs of the scenario through `sim.service` (the scenario's
own uncertain inputs drawn per run), summarised per issue as the share of runs that agreed on it and the median and
10th-90th percentiles of the agreed values. One row per issue, in native units.

What a scenario cannot give the models: a date and member-state actors (so the Council's rules by date do not
apply: the rule's own weights and threshold do), and a veto player besides the agenda setter. Where issues carry
different qualified-majority thresholds or weights the protocol's rule (or the first issue's) is used for all.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from sim.forecasting import MODELS, intervals
from sim.forecasting.problem import Problem

if TYPE_CHECKING:
    from sim.scenario import Scenario

SCALE = (0.0, 100.0)
RUNS = 200
"""Monte Carlo runs of the scenario for the simulated distribution (the scenario's seed as the root seed)."""
_RULES = {"unanimity": "unanimity", "qualified_majority": "qmv", "simple_majority": "majority"}


@dataclass(frozen=True)
class ModelForecast:
    value: float
    low: float                  # the 80 % interval
    high: float


@dataclass(frozen=True)
class Simulated:
    runs: int
    agreed: float               # share of runs that agreed on the issue
    median: float | None        # of the agreed values (None: no run agreed)
    low: float | None           # 10th and 90th percentiles of the agreed values
    high: float | None


@dataclass(frozen=True)
class IssueRow:
    issue: str
    label: str
    unit: str
    status_quo: float | None
    scale: tuple[float, float] = SCALE
    forecasts: dict[str, ModelForecast] = field(default_factory=dict)
    simulated: Simulated | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"issue": self.issue, "label": self.label, "unit": self.unit,
                               "scale": list(self.scale), "status_quo": self.status_quo,
                               "forecasts": {name: {"value": f.value, "interval": [f.low, f.high]}
                                             for name, f in self.forecasts.items()}}
        if self.simulated is not None:
            s = self.simulated
            out["simulated"] = {"runs": s.runs, "agreed": s.agreed, "median": s.median,
                                "interval": None if s.low is None else [s.low, s.high]}
        return out


    def fmt(self, value: float | None) -> str:
        """A value with as many decimals as the scale needs (one below a span of 20, none above)."""
        if value is None:
            return "-"
        return f"{value:.1f}" if self.scale[1] - self.scale[0] <= 20 else f"{value:.0f}"


def _rule_of(scenario: Scenario, issue: Any) -> Any:
    return issue.decision_rule or scenario.protocol.decision_rule


def problem_of(scenario: Scenario) -> Problem:
    """The scenario as one forecasting problem on the 0-100 scale (see the module docstring)."""
    actors = [a.id for a in scenario.actors]
    issues = scenario.issues
    lo, hi = SCALE
    x = np.full((len(issues), len(actors)), np.nan)
    s = np.zeros_like(x)
    reference = np.full(len(issues), np.nan)
    for d, issue in enumerate(issues):
        span, low = issue.scale.span, issue.scale.min
        if issue.status_quo is not None:
            reference[d] = lo + (hi - lo) * (issue.status_quo - low) / span
        for k, actor in enumerate(scenario.actors):
            if issue.id in actor.positions:
                x[d, k] = float(np.clip(lo + (hi - lo) * (actor.positions[issue.id] - low) / span, lo, hi))
                s[d, k] = actor.saliences.get(issue.id, 0.0)
    rules = [_rule_of(scenario, issue) for issue in issues]
    main = next((r for r in rules if r.kind == "qualified_majority"), rules[0])
    setter = actors.index(main.agenda_setter) if main.agenda_setter in actors else None
    capabilities = np.array([a.capability for a in scenario.actors], dtype=float)
    if main.weights:
        votes = np.array([float(main.weights.get(a, 0.0)) for a in actors])
    else:                                   # one vote per actor except the agenda setter
        votes = np.ones(len(actors))
        if setter is not None:
            votes[setter] = 0.0
    return Problem(x, s, capabilities, reference, tuple(_RULES[r.kind] for r in rules), proposer=setter,
                   vote_weights=votes, qmv_threshold=main.threshold if main.kind == "qualified_majority" else 0.71,
                   scale_min=lo, scale_max=hi, actors=tuple(actors))


def simulated(scenario: Scenario, runs: int, seed: int | None = None) -> dict[str, Simulated]:
    """Per issue, the distribution of agreements over `runs` Monte Carlo runs (`sim.service.monte_carlo`)."""
    from sim import service

    table = service.monte_carlo(scenario, runs, seed)
    out = {}
    for issue in scenario.issues:
        agreed = table[f"agreed.{issue.id}"].to_numpy(dtype=bool)
        values = table[f"value.{issue.id}"].to_numpy(dtype=float)[agreed]
        values = values[np.isfinite(values)]
        low: float | None
        median: float | None
        high: float | None
        if values.size:
            low, median, high = (float(v) for v in np.percentile(values, [10, 50, 90]))
        else:
            low = median = high = None
        out[issue.id] = Simulated(runs, float(agreed.mean()) if runs else 0.0, median, low, high)
    return out


def forecast_table(scenario: Scenario, models: tuple[str, ...] = tuple(MODELS), runs: int = RUNS,
                   seed: int | None = None) -> list[IssueRow]:
    """One row per issue: every model's forecast with its 80 % interval, and (runs > 0) the simulated agreements."""
    problem = problem_of(scenario)
    lo, hi = SCALE
    native = [(issue.scale.min, issue.scale.span) for issue in scenario.issues]

    def to_native(d: int, value: float) -> float:
        low, span = native[d]
        return float(low + span * (value - lo) / (hi - lo))

    by_model = {}
    for name in models:
        central = np.asarray(MODELS[name](problem), dtype=float)
        by_model[name] = (central, intervals.distribution(problem, central, name).interval)
    sims = simulated(scenario, runs, seed) if runs > 0 else {}
    rows = []
    for d, issue in enumerate(scenario.issues):
        forecasts = {name: ModelForecast(to_native(d, c[d]), to_native(d, b[d, 0]), to_native(d, b[d, 1]))
                     for name, (c, b) in by_model.items()}
        rows.append(IssueRow(issue.id, issue.label, issue.scale.unit, issue.status_quo,
                             (issue.scale.min, issue.scale.max), forecasts, sims.get(issue.id)))
    return rows
