"""Plain Monte Carlo: independent uniform draws over the factors' ranges."""

from __future__ import annotations

import numpy as np

from sim.sweep.samplers.base import unit_cube_sampler


def unit(n: int, d: int, rng: np.random.Generator) -> np.ndarray:
    return rng.random((n, d))


SAMPLER = unit_cube_sampler("random", "independent uniform draws", unit)
