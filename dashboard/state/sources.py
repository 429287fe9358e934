"""Where the scenario shown comes from: the shipped files, an upload, or a scenario a share link carried; a broken
upload keeps the last good source."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import streamlit as st

from dashboard.state.keys import FILE, LAST_GOOD, LAST_UPLOAD, LINKED, UPLOAD
from sim import mechanisms
from sim.scenario import Scenario, ScenarioError, decode, format_of, load_scenario, parse_text, with_protocol

ROOT = Path(__file__).resolve().parents[2]
SCENARIO_DIR = ROOT / "scenarios"
DEFAULT_FILE = "feb2022_baseline.yaml"
SUFFIXES = (".yaml", ".yml", ".json", ".csv")
UPLOAD_MB = 2
"""Upload size cap in the browser (the loader refuses files over `sim.scenario.MAX_FILE_BYTES` as well)."""


def scenario_files() -> list[str]:
    """Scenario files in scenarios/ (the Feb-2022 baseline first); the JSON Schema is not a scenario."""
    names = sorted(p.name for p in SCENARIO_DIR.iterdir()
                   if p.suffix.lower() in SUFFIXES and not p.name.endswith(".schema.json"))
    return sorted(names, key=lambda n: n != DEFAULT_FILE)


@st.cache_data(show_spinner=False, max_entries=32)
def load_file(path: str, mtime_ns: int) -> Scenario:
    """A scenario file, parsed and validated (cached until the file changes)."""
    return load_scenario(path)


@st.cache_data(show_spinner=False, max_entries=16)
def load_upload(data: bytes, name: str) -> Scenario:
    """An uploaded scenario: size/binary checks, then the same parser and validation as the CLI."""
    return parse_text(decode(data, name), format_of(name), name)


def with_source_defaults(scenario: Scenario, name: str) -> Scenario:
    """The scenario as the dashboard first shows it: a spatial-model CSV (BDM or KTAB layout: capability, position,
    salience per actor) gets the mechanism made for such data, unless the user switches it."""
    if format_of(name) == "csv" and not mechanisms.get(scenario.protocol.mechanism).spatial_data:
        return with_protocol(scenario, mechanism=mechanisms.for_spatial_data().name)
    return scenario



@st.cache_data(show_spinner=False, max_entries=16)
def yaml_text(data: bytes, name: str) -> str | None:
    """The text of a YAML source (None for JSON and CSV: there are no comments to keep)."""
    return decode(data, name) if format_of(name) == "yaml" else None


@dataclass(frozen=True)
class Source:
    """Where the scenario shown comes from: a shipped file, an upload, or a scenario a link carried."""

    ident: str                  # changes when the source does (its edits then start afresh)
    label: str                  # the file name shown to the user
    scenario: Scenario
    text: str | None            # YAML text (Save YAML edits it in place), None for JSON and CSV
    kind: str                   # "file", "upload" or "link"
    data: bytes | None = None   # the upload's or link's bytes (a share link embeds them when small)


def _uploaded() -> tuple[Source | None, ScenarioError | None]:
    """The uploaded file as a source, or the problem that makes it unusable (None, None: no upload)."""
    upload = st.session_state.get(UPLOAD)
    if upload is None:
        return None, None
    try:
        data = upload.getvalue()
        scenario = with_source_defaults(load_upload(data, upload.name), upload.name)
    except ScenarioError as error:
        return None, error
    return Source(f"upload:{upload.file_id}", upload.name, scenario, yaml_text(data, upload.name), "upload",
                  data), None


def _linked() -> Source | None:
    """The scenario a share link carried (see `embed`), while no upload replaces it."""
    linked = st.session_state.get(LINKED)
    if linked is None:
        return None
    name, data = linked
    scenario = with_source_defaults(load_upload(data, name), name)
    return Source(f"link:{hashlib.sha256(data).hexdigest()[:16]}", name, scenario, yaml_text(data, name), "link",
                  data)


def _shipped() -> Source:
    files = scenario_files()
    name = st.session_state.get(FILE)
    if name not in files:
        name = files[0]
    path = SCENARIO_DIR / name
    mtime = path.stat().st_mtime_ns
    scenario = with_source_defaults(load_file(str(path), mtime), name)
    return Source(f"file:{name}:{mtime}", name, scenario, file_yaml_text(str(path), mtime), "file")


def select_source() -> tuple[Source, ScenarioError | None]:
    """The source chosen in the sidebar, and the problem of an upload that could not be used.

    A broken upload does not replace what was shown: the last good source of this session (an earlier upload,
    a linked scenario or the shipped file) stays, and the problem is reported."""
    source, problem = _uploaded()
    if source is None:
        last = st.session_state.get(LAST_UPLOAD) or st.session_state.get(LAST_GOOD)
        if problem is not None and last is not None:
            st.session_state[LAST_GOOD] = last
            return last, problem
        source = _linked() or _shipped()
    st.session_state[LAST_GOOD] = source
    if source.kind == "upload":
        st.session_state[LAST_UPLOAD] = source
    return source, problem


@st.cache_data(show_spinner=False, max_entries=32)
def file_yaml_text(path: str, mtime_ns: int) -> str | None:
    return yaml_text(Path(path).read_bytes(), path)



def source() -> Source:
    """The source of the scenario shown in this script run."""
    found = st.session_state.get(LAST_GOOD)
    return found if found is not None else select_source()[0]

