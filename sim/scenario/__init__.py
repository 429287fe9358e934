"""Scenarios: the pydantic schema (the single source of truth for inputs), the checks across its fields, the
errors the user sees, file reading and limits, CSV import, parameter paths and the YAML round trip.

The names other layers use are re-exported here; the package's own modules import each other directly.
"""

from sim.scenario.briefs import rendered_background, rendered_brief
from sim.scenario.csv_import import csv_document
from sim.scenario.errors import Problem, ScenarioError
from sim.scenario.files import BASELINE, baseline, decode, dump_yaml, format_of, load_scenario, parse_scale, parse_text
from sim.scenario.limits import MAX_FILE_BYTES
from sim.scenario.paths import PathLabel, describe_path, label, labels, params
from sim.scenario.schema import (
    DEFAULT_EXPONENTS,
    Actor,
    Calendar,
    DecisionRule,
    Inject,
    Issue,
    Scenario,
    Uncertain,
    json_schema,
)
from sim.scenario.validate import apply_params, parse_scenario, with_checked_values, with_protocol

__all__ = [
    "BASELINE", "DEFAULT_EXPONENTS", "MAX_FILE_BYTES", "Actor", "Calendar", "DecisionRule", "Inject", "Issue",
    "PathLabel", "baseline",
    "Problem", "Scenario", "ScenarioError", "Uncertain", "apply_params", "csv_document", "decode", "describe_path",
    "dump_yaml", "format_of", "json_schema", "label", "labels", "load_scenario", "params", "parse_scale",
    "parse_scenario", "parse_text", "rendered_background", "rendered_brief", "with_checked_values", "with_protocol",
]
