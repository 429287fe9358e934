"""The analysis pages' cached computations: the forecasting models, the bargaining space and the Monte Carlo."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd
import streamlit as st

from dashboard.state.playback import drawing
from sim import service
from sim.core.spatial import BargainingSpace, bargaining_space
from sim.scenario import Scenario

FORECAST_RUNS = 200
"""Monte Carlo runs beside the forecasting models on the Analysis page (as `negsim forecast`)."""


@st.cache_data(show_spinner=False, max_entries=16)
def model_forecasts(key: str, _scenario: Scenario) -> list[dict[str, Any]]:
    """Every forecasting model on the scenario with its 80 % interval, beside the simulated agreements
    (`sim.forecasting.scenario.forecast_table`, what `negsim forecast` prints), as plain rows."""
    from sim.forecasting.scenario import forecast_table

    return [row.to_dict() for row in forecast_table(_scenario, runs=FORECAST_RUNS)]


@st.cache_data(show_spinner=False, max_entries=32)
def bargaining(key: str, a: int, b: int, red_lines: bool, _scenario: Scenario) -> BargainingSpace:
    profiles, _, _ = service.profiles_of(_scenario)
    return bargaining_space(profiles, a, b, red_lines=red_lines)


@st.cache_data(show_spinner=False, max_entries=512)
def monte_carlo_part(key: str, first: int, stop: int, _scenario: Scenario,
                     root: int | None = None) -> pd.DataFrame:
    """Replicates first..stop-1 of the scenario's Monte Carlo (the rows `sim.service.monte_carlo` gives them),
    with the seeds derived from `root` (default the scenario's seed).

    Cached in parts, and with no Streamlit element inside: a cached function that drew the progress bar
    would replay it into a page where that bar does not exist (the Compare page reusing the Monte Carlo
    page's batch crashed so)."""
    return service.monte_carlo_part(_scenario, first, stop, root)


def monte_carlo(key: str, replicates: int, _scenario: Scenario,
                _progress: Callable[[int, int], None] | None = None, draw: bool | None = None,
                root: int | None = None) -> pd.DataFrame:
    """`replicates` runs with seeds derived from the scenario's seed, or from `root` (as `sim.service.monte_carlo`;
    two settings given the same root play the same seeds: a paired comparison), computed and cached part by
    part; `_progress(done, total)` hears after each part. Each run draws the uncertain inputs from its seed
    unless `draw` is False (None: as the session's checkbox says): then the scenario is played as coded
    (`Scenario.as_coded`)."""
    if not (drawing() if draw is None else draw) and _scenario.uncertainty:
        key, _scenario = key + "|as coded", _scenario.as_coded()
    return service.monte_carlo(_scenario, replicates, root, _progress, one_by_one=service.MODEL_CHUNK,
                               part=lambda first, stop: monte_carlo_part(key, first, stop, _scenario, root))
