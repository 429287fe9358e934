"""Latin hypercube (McKay, Beckman & Conover 1979): each factor gets one uniform draw in each of n equal strata,
the strata shuffled per factor."""

from __future__ import annotations

import numpy as np

from sim.sweep.samplers.base import unit_cube_sampler


def unit(n: int, d: int, rng: np.random.Generator) -> np.ndarray:
    out = np.empty((n, d))
    for k in range(d):      # a column at a time: a design of millions of points holds one copy, not four
        out[:, k] = (rng.permutation(n) + rng.random(n)) / n
    return out


SAMPLER = unit_cube_sampler("lhs", "Latin hypercube", unit)
