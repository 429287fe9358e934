"""What a forecasting model is, as a plug-in: its forecast and what the studies need of it, as attributes (never
special-cased by name): its interval calibration, and, where it has them, how cross-validation chooses its parameters
(`tune`) or combines the other models (`combine`)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from sim.forecasting.problem import Problem


@dataclass(frozen=True)
class Tuned:
    """A model's cross-validated forecasts (n,), each issue's with the parameters chosen on the other proposals,
    and the lines the validation report prints about the choice."""

    forecasts: np.ndarray
    lines: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ForecastingModel:
    """A forecasting model: `forecast(problem) -> (M,)` in the problem's native units."""

    forecast: Callable[[Problem], np.ndarray]
    errors: tuple[float, ...] | None
    """The QUANTILES quantiles of |outcome - forecast| / sigma on the DEU development file, cross-validated
    (`python -m sim.forecasting.validation FILE --calibrate` prints them; `sim.forecasting.intervals`). None: not
    calibrated, and its intervals are refused."""
    tune: Callable[[Sequence[Problem], np.ndarray, np.ndarray], Tuned] | None = None
    """(problems, outcomes (n,), proposal of each issue (n,)) -> its cross-validated forecasts, for a model whose
    parameters were chosen on the development file (`sim.forecasting.validation`); None: it has none."""
    combine: Callable[[dict[str, np.ndarray], np.ndarray, np.ndarray], np.ndarray] | None = None
    """(every other model's cross-validated forecasts by name, outcomes, proposal of each issue) -> its own,
    fitted out of fold, for a model that combines the others (run after every other model's `tune`)."""

    def __call__(self, problem: Problem) -> np.ndarray:
        return self.forecast(problem)

    @property
    def combines_others(self) -> bool:
        return self.combine is not None
