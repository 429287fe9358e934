"""What every sampler shares: the `Sampler` plug-in and what it reads of a factor (`Axis`)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

DEFAULT_SAMPLES = 128
"""Samples of a sized sampler when none are asked for."""


class Axis(Protocol):
    """A varied factor as a sampler reads it (`sim.sweep.design.Factor`)."""

    @property
    def cardinality(self) -> int | None: ...

    def grid_values(self) -> list[Any]: ...

    def from_unit(self, u: np.ndarray) -> np.ndarray: ...


Column = Sequence[Any] | np.ndarray
"""One factor's values, one per point."""

UnitCube = Callable[[int, int, np.random.Generator], np.ndarray]
"""(samples n, factors d, generator) -> points in [0, 1)^d, one row each."""


@dataclass(frozen=True)
class Sampler:
    """A design's sampler as a plug-in."""

    name: str
    summary: str
    sized: bool
    """Takes a number of samples (--samples); False: the factors' levels set the size (a full factorial)."""
    size: Callable[[Sequence[Axis], int], int]
    """(factors, samples) -> the number of points."""
    columns: Callable[[Sequence[Axis], int, np.random.Generator], list[Column]]
    """(factors, samples, generator) -> one column of values per factor, one row per point."""
    saltelli: bool = False
    """Its points are a Saltelli design (Sobol indices can be estimated from the runs)."""


def unit_cube_sampler(name: str, summary: str, unit: UnitCube, points_per_sample: Callable[[int], int] = lambda d: 1,
                      saltelli: bool = False) -> Sampler:
    """A sized sampler that draws points in the unit cube and maps each factor's column onto its range or values
    (`points_per_sample(d)` points per sample for d factors)."""
    def size(factors: Sequence[Axis], samples: int) -> int:
        return samples * points_per_sample(len(factors))

    def columns(factors: Sequence[Axis], samples: int, rng: np.random.Generator) -> list[Column]:
        u = unit(samples, len(factors), rng)
        return [factor.from_unit(u[:, k]) for k, factor in enumerate(factors)]

    return Sampler(name, summary, True, size, columns, saltelli)
