"""Scenario files: reading (YAML, JSON, CSV; size and encoding limits), and writing YAML."""

from __future__ import annotations

import math
from functools import cache
from pathlib import Path

import yaml

from sim.scenario.csv_import import csv_document
from sim.scenario.errors import Problem, ScenarioError
from sim.scenario.limits import MAX_FILE_BYTES, InputError, parse_json, parse_yaml, read_file
from sim.scenario.schema import Scenario
from sim.scenario.validate import parse_scenario

SCENARIO_DIR = Path(__file__).resolve().parents[1] / "scenarios"   # shipped in the package (sim/scenarios)
BASELINE = SCENARIO_DIR / "feb2022_baseline.yaml"


def _read_text(path: Path) -> str:
    try:
        raw = read_file(path)
    except InputError as error:
        raise ScenarioError([Problem("", error.message)], str(path)) from None
    return decode(raw, str(path))


def decode(raw: bytes, source: str = "") -> str:
    """Bytes of a scenario file as text; binary junk and over-large input are refused."""
    if len(raw) > MAX_FILE_BYTES:
        raise ScenarioError([Problem("", f"file too large ({len(raw):,} bytes; the limit is "
                                         f"{MAX_FILE_BYTES:,})")], source)
    if b"\x00" in raw:
        raise ScenarioError([Problem("", "not a text file (contains binary data)")], source)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise ScenarioError([Problem("", f"not UTF-8 text (bad byte at offset {err.start})")], source) from None
    if not text.strip():
        raise ScenarioError([Problem("", "file is empty")], source)
    return text


def parse_text(text: str, fmt: str, source: str = "", scale: tuple[float, float] | None = None) -> Scenario:
    """Parse scenario text in format 'yaml', 'json' or 'csv' (strictly typed: see `parse_scenario`)."""
    if fmt == "csv":
        return parse_scenario(csv_document(text, source, scale=scale), source, strict=True)
    if scale is not None:
        raise ScenarioError([Problem("", "a scale override applies to CSV imports only")], source)
    try:
        data = parse_json(text) if fmt == "json" else parse_yaml(text)
    except InputError as error:
        raise ScenarioError([Problem(error.path, error.message)], source) from None
    return parse_scenario(data, source, strict=True)


def format_of(path: str | Path) -> str:
    suffix = Path(path).suffix.lower()
    return {".json": "json", ".csv": "csv", ".yaml": "yaml", ".yml": "yaml"}.get(suffix, "yaml")


@cache
def baseline() -> Scenario:
    """The Feb-2022 baseline scenario (Russia, US, NATO, EU x expansion, missiles, CBMs): the default run
    (loaded once: a Scenario is frozen)."""
    return load_scenario(BASELINE)


def load_scenario(path: str | Path, scale: tuple[float, float] | None = None) -> Scenario:
    """Load a YAML, JSON or CSV scenario file; raise ScenarioError with every problem found."""
    path = Path(path)
    return parse_text(_read_text(path), format_of(path), str(path), scale=scale)


def parse_scale(text: str) -> tuple[float, float]:
    """'LO:HI' -> (lo, hi); raises ScenarioError."""
    try:
        lo, hi = (float(part) for part in text.split(":"))
    except ValueError:
        raise ScenarioError([Problem("--scale", f"must be LO:HI, two numbers (got {text!r})")]) from None
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
        raise ScenarioError([Problem("--scale", f"HI must be greater than LO (got {text!r})")])
    return lo, hi


def dump_yaml(scenario: Scenario) -> str:
    """The scenario as YAML that `load_scenario` and `negsim validate` accept."""
    doc = scenario.model_dump(by_alias=True, exclude_none=True, exclude_defaults=False)
    return yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)
