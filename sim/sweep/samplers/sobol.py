"""Saltelli's design for Sobol indices (Saltelli 2002; Saltelli et al. 2010): a scrambled Sobol sequence in 2d
dimensions, each base row giving d + 2 points (A, AB_1 .. AB_d, B), as SALib lays them out with
calc_second_order=False; `negsim analyze --sobol` estimates first- and total-order indices from the runs."""

from __future__ import annotations

import warnings

import numpy as np

from sim.sweep.samplers.base import unit_cube_sampler


def saltelli_layout(base: np.ndarray, d: int) -> np.ndarray:
    """Rows A_i, AB_i1..AB_iD, B_i for each base row (SALib's order with calc_second_order=False)."""
    n = base.shape[0]
    a, b = base[:, :d], base[:, d:]
    out = np.empty((n, d + 2, d))
    out[:, 0] = a
    for k in range(d):
        out[:, k + 1] = a
        out[:, k + 1, k] = b[:, k]
    out[:, d + 1] = b
    return out.reshape(n * (d + 2), d)


def unit(n: int, d: int, rng: np.random.Generator) -> np.ndarray:
    from scipy.stats import qmc

    with warnings.catch_warnings():     # scipy warns unless n is a power of two; documented instead
        warnings.simplefilter("ignore", UserWarning)
        base = qmc.Sobol(2 * d, scramble=True, rng=rng).random(n)
    return saltelli_layout(base, d)


SAMPLER = unit_cube_sampler("sobol", "Saltelli design for Sobol indices", unit, lambda d: d + 2, saltelli=True)
