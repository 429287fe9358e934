"""The samplers of a sweep's design, one module each (like SALib's methods), listed once here.

A sampler turns the varied factors into points (`Sampler.columns`, one column per factor). Adding one is a module
with its `SAMPLER` and one line below. Entries are imported on first use: the command line lists the names
without importing numpy or scipy.
"""

from __future__ import annotations

from sim.core.registry import Registry
from sim.sweep.samplers.base import Sampler

SAMPLERS: Registry[Sampler] = Registry("sampler", {
    "grid": "sim.sweep.samplers.grid:SAMPLER",
    "lhs": "sim.sweep.samplers.lhs:SAMPLER",
    "sobol": "sim.sweep.samplers.sobol:SAMPLER",
    "random": "sim.sweep.samplers.random_uniform:SAMPLER",
})

__all__ = ["SAMPLERS", "Sampler"]
