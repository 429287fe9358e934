"""Forecasting models: each turns one negotiation (a `Problem`) into one forecast per issue.

A registry (`sim.core.registry.Registry`), like SALib's one-module-per-method layout: every model is a module
with a `forecast(problem) -> np.ndarray` of shape (M,) in the problem's native units and its `MODEL`, a
`ForecastingModel` (`sim.forecasting.model`: the forecast, its interval calibration and, where it has them, how
cross-validation tunes it or combines the others), listed once in MODELS. Adding a model = one module + one line
below (+ its tests and a section in docs/forecasting.md).
"""

from __future__ import annotations

import numpy as np

from sim.core.registry import Registry
from sim.forecasting.model import ForecastingModel
from sim.forecasting.problem import RULES, Problem

Model = ForecastingModel

MODELS: Registry[ForecastingModel] = Registry("forecasting model", {
    "compromise": "sim.forecasting.compromise:MODEL",    # capability x salience weighted mean: the baseline
    "nash": "sim.forecasting.nash:MODEL",                # asymmetric Nash bargaining solution, all actors
    "exchange": "sim.forecasting.exchange:MODEL",        # Stokman & van Oosten exchange, then compromise
    "procedural": "sim.forecasting.procedural:MODEL",    # agenda setter + pivotal voters under the rule
    "expected_utility": "sim.forecasting.expected_utility:MODEL",  # Bueno de Mesquita, to a stable median
    "concession": "sim.forecasting.concession:MODEL",    # negsim's concession mechanism, scenario defaults
    "ensemble": "sim.forecasting.ensemble:MODEL",        # nash and exchange averaged, weights from CV
})
BASELINE = "compromise"

__all__ = ["BASELINE", "MODELS", "RULES", "ForecastingModel", "Model", "Problem", "forecast"]


def forecast(name: str, problem: Problem) -> np.ndarray:
    """The forecast of model `name` for every issue of `problem`; KeyError names the known models."""
    return np.asarray(MODELS.get(name)(problem), dtype=float)
