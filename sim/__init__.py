"""negsim: a negotiation scenario simulator (agent-based, on Mesa).

The public names are imported on first access (PEP 562), so `import sim.cli` or `import sim.scenario` does not
pay for Mesa, pandas and the model: `from sim import NegotiationModel` still works as before.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from sim.version import __version__

if TYPE_CHECKING:
    from sim.engine.model import NegotiationModel
    from sim.scenario import Scenario, ScenarioError, load_scenario

__all__ = ["NegotiationModel", "Scenario", "ScenarioError", "__version__", "load_scenario"]

_LAZY = {"NegotiationModel": "sim.engine.model", "Scenario": "sim.scenario", "ScenarioError": "sim.scenario",
         "load_scenario": "sim.scenario"}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
