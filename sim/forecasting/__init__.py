"""Forecasting models: each turns one negotiation (a `Problem`) into one forecast per issue.

A registry, like SALib's one-module-per-method layout: every model is a module with a `forecast(problem) ->
np.ndarray` of shape (M,) in the problem's native units, listed once in MODELS. Adding a model = one module + one
line below (+ its tests and a section in docs/forecasting.md). Pure numpy; imports nothing from the Mesa model.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from sim.forecasting import compromise, concession, ensemble, exchange, expected_utility, nash, procedural
from sim.forecasting.problem import RULES, Problem

Model = Callable[[Problem], np.ndarray]

MODELS: dict[str, Model] = {
    "compromise": compromise.forecast,          # capability x salience weighted mean: the baseline
    "nash": nash.forecast,                      # asymmetric Nash bargaining solution over all actors
    "exchange": exchange.forecast,              # Stokman & van Oosten exchange (logrolling), then compromise
    "procedural": procedural.forecast,          # agenda setter + pivotal voters under the decision rule
    "expected_utility": expected_utility.forecast,  # Bueno de Mesquita challenge model, run to a stable median
    "concession": concession.forecast,          # negsim's concession mechanism with the scenario defaults
    "ensemble": ensemble.forecast,              # nash and exchange averaged, weights from cross-validation
}
BASELINE = "compromise"

__all__ = ["BASELINE", "MODELS", "RULES", "Model", "Problem", "forecast"]


def forecast(name: str, problem: Problem) -> np.ndarray:
    """The forecast of model `name` for every issue of `problem`; KeyError names the known models."""
    try:
        model = MODELS[name]
    except KeyError:
        raise KeyError(f"unknown forecasting model {name!r} (known: {', '.join(MODELS)})") from None
    return np.asarray(model(problem), dtype=float)
