"""Full factorial: every combination of the factors' levels (values, or N levels of a range)."""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

import numpy as np

from sim.sweep.samplers.base import Axis, Column, Sampler


def _size(factors: Sequence[Axis], samples: int) -> int:
    return math.prod(factor.cardinality or 1 for factor in factors)


def _columns(factors: Sequence[Axis], samples: int, rng: np.random.Generator) -> list[Column]:
    return list(zip(*itertools.product(*(factor.grid_values() for factor in factors)), strict=True))


SAMPLER = Sampler("grid", "full factorial of the levels", sized=False, size=_size, columns=_columns)
