"""negsim: a negotiation scenario simulator (agent-based, on Mesa)."""

from sim.model import NegotiationModel
from sim.scenario import Scenario, ScenarioError, load_scenario

__all__ = ["NegotiationModel", "Scenario", "ScenarioError", "load_scenario"]
__version__ = "0.1.0"
