"""Per-session state of the dashboard and the cached calls into `sim` it makes.

Everything a user changes lives in `st.session_state` (one browser session never sees another's): the
scenario source, the edits made with the sidebar controls (dotted parameter paths -> values, the same paths
`negsim params` lists) and how far the run has been played. Results are cached with `st.cache_data` on the
validated scenario's canonical JSON (which includes its seed), so a rerun recomputes only what changed;
`st.cache_data` hands every session its own copy.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import re
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import numpy as np
import pandas as pd
import streamlit as st

from sim import mechanisms, service
from sim.core.spatial import BargainingSpace, bargaining_space
from sim.scenario import (
    MAX_FILE_BYTES,
    Scenario,
    ScenarioError,
    apply_params,
    decode,
    format_of,
    load_scenario,
    parse_scenario,
    parse_text,
    with_protocol,
)
from sim.service import RunResult

ROOT = Path(__file__).resolve().parent.parent
SCENARIO_DIR = ROOT / "scenarios"
DEFAULT_FILE = "feb2022_baseline.yaml"
SUFFIXES = (".yaml", ".yml", ".json", ".csv")
UPLOAD_MB = 2
"""Upload size cap in the browser (the loader refuses files over `sim.scenario.MAX_FILE_BYTES` as well)."""

END = -1
"""Run target meaning 'play until the talks end'."""

# session_state keys
FILE = "negsim.file"
UPLOAD = "negsim.upload"
SOURCE = "negsim.source"
EDITS = "negsim.edits"
BASES = "negsim.edit_bases"
TARGET = "negsim.target"
SHOWN = "negsim.shown"
LAST_VALID = "negsim.last_valid"
LAST_GOOD = "negsim.last_good_source"
"""The `Source` shown last: a broken upload keeps it."""
LAST_UPLOAD = "negsim.last_good_upload"
"""The last upload that worked: a broken upload that replaces it shows it again (the browser removes the old
file before it sends the new one, so the shipped scenario was shown for one run in between)."""
UPLOAD_EDITS = "negsim.upload_edits"
"""(source id, edits, their bases, round) of the last upload left: restored when a broken upload falls back to it."""
LINKED = "negsim.linked"
"""(file name, bytes) of a scenario that came embedded in a share link."""
CURRENT = "negsim.current"
GENERATION = "negsim.generation"
PLAYING = "negsim.playing"
PLAY_CLOCK = "negsim.play_clock"
"""(start time, first round, speed) of the rounds being played: see `play_schedule`."""
RESTORED = "negsim.restored_from_url"
DRAW = "negsim.draw"
"""Whether runs draw the scenario's uncertain inputs from their seed (the sidebar's checkbox; default on)."""
DRAW_BOX = "negsim.draw_box"
"""Key of that checkbox: its value is copied to DRAW, which outlives pages that do not draw the sidebar."""
WIDGET = "w:"
"""Prefix of the keys of the editing widgets: see `widget_key`."""


# ====================================================================== scenario sources
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


@dataclass(frozen=True)
class Current:
    """What every page works on in this run of the script."""

    base: Scenario                     # as loaded from the file or upload
    scenario: Scenario                 # with the user's edits; the last valid one if the edits are invalid
    key: str                           # canonical JSON of `scenario`: the cache key of every computation
    source: str                        # file name shown to the user
    load_error: ScenarioError | None   # an uploaded file that could not be used
    edit_error: ScenarioError | None   # the edits do not make a valid scenario
    edits: dict[str, Any]
    source_text: str | None = None     # the YAML text of the file or upload (Save YAML edits it in place)
    kind: str = "file"                 # where `base` comes from: "file", "upload" or "link" (see `Source`)

    @property
    def max_rounds(self) -> int:
        return self.scenario.protocol.max_rounds


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


def _select_source() -> tuple[Source, ScenarioError | None]:
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


def widget_key(path: str, generation: int | None = None) -> str:
    """Key of the widget editing `path` (+ a suffix for helper widgets): WIDGET + path, with the number of
    resets so far in front after the first one. A reset gives every widget a new key, hence a new identity
    in the browser, so that none keeps showing (and sending back) a value from before the reset."""
    gen = int(st.session_state.get(GENERATION, 0)) if generation is None else generation
    return f"{WIDGET}{gen}/{path}" if gen else f"{WIDGET}{path}"


def clear_edits() -> None:
    """Forget every edit; the editing widgets start afresh from the file's values.

    The old widgets' keys are not deleted: the browser may still send their values once more (a new upload
    arrives together with the sliders' states), and their callbacks must then find them. They go stale
    instead (see `live_value`) and Streamlit drops them after the next run, which does not draw them."""
    st.session_state[EDITS] = {}
    st.session_state[BASES] = {}
    st.session_state[GENERATION] = int(st.session_state.get(GENERATION, 0)) + 1


_STALE = object()
_WIDGET_KEY = re.compile(re.escape(WIDGET) + r"(?:(\d+)/)?(.+)", re.DOTALL)


def live_value(key: str) -> Any:
    """The value of the editing widget `key`, or `_STALE` when the widget belongs to an earlier generation
    (drawn before a reset or a change of scenario) or is gone: its change must not become an edit of the
    scenario shown now."""
    match = _WIDGET_KEY.fullmatch(key)
    generation = int(match.group(1) or 0) if match else -1
    if generation != int(st.session_state.get(GENERATION, 0)) or key not in st.session_state:
        return _STALE
    return st.session_state[key]


def is_stale(value: Any) -> bool:
    return value is _STALE


def edits() -> dict[str, Any]:
    if EDITS not in st.session_state:
        st.session_state[EDITS] = {}
    return st.session_state[EDITS]


def base_values() -> dict[str, Any]:
    """The file's value of every edited path (None where the file sets none)."""
    return st.session_state.setdefault(BASES, {})


def set_edit(path: str, value: Any, base_value: Any) -> None:
    """Record an edit; an edit back to the file's value is dropped."""
    changes = edits()
    if value == base_value or (base_value is None and value is None):
        changes.pop(path, None)
    else:
        changes[path] = value
        base_values()[path] = base_value


def apply_edits(base: Scenario, changes: dict[str, Any]) -> Scenario:
    """The base scenario with the edits applied and validated (raises ScenarioError).

    A red line edited to None is removed (and no longer drawn, if the scenario gave it a range); everything
    else goes through `sim.scenario.apply_params`, which stops drawing what it sets.
    """
    removed = [p for p, v in changes.items() if v is None and ".red_lines." in p]
    if removed:
        doc = base.model_dump(by_alias=True, exclude_none=True)
        for path in removed:
            doc.get("uncertainty", {}).pop(path, None)
            _, actor_id, _, issue_id = path.split(".")
            actor = next(a for a in doc["actors"] if a["id"] == actor_id)
            actor.get("red_lines", {}).pop(issue_id, None)
        base = parse_scenario(doc, "dashboard")
    values = {p: v for p, v in changes.items() if p not in removed}
    return apply_params(base, values) if values else base


def value_at(scenario: Scenario, path: str) -> Any:
    """The scenario's value at a parameter path (list items addressed by id); None where it sets none."""
    node: Any = scenario.model_dump(by_alias=True)
    for part in path.split("."):
        if isinstance(node, list):
            node = next((item for item in node if isinstance(item, dict) and item.get("id") == part), None)
        elif isinstance(node, dict):
            node = node.get(part)
        else:
            return None
        if node is None:
            return None
    return node


def source() -> Source:
    """The source of the scenario shown in this script run."""
    found = st.session_state.get(LAST_GOOD)
    return found if found is not None else _select_source()[0]


def current() -> Current:
    """Resolve the scenario source and the edits into the validated scenario every page shows."""
    chosen, load_error = _select_source()
    ident, label, base, text = chosen.ident, chosen.label, chosen.scenario, chosen.text
    if st.session_state.get(SOURCE) != ident:
        left = st.session_state.get(SOURCE)
        if left is not None:  # another file: its own values, from round 0
            if left.startswith("upload:"):  # kept, to come back to if the next upload is broken
                st.session_state[UPLOAD_EDITS] = (left, dict(edits()), dict(base_values()), target())
            clear_edits()
        st.session_state[SOURCE] = ident
        st.session_state[TARGET] = 0
        kept = st.session_state.get(UPLOAD_EDITS)
        if load_error is not None and kept is not None and kept[0] == ident:
            # back to the last good upload after a broken one (the browser removes the old file first, which
            # showed the shipped scenario for one run): with the changes made to it
            st.session_state[EDITS], st.session_state[BASES], st.session_state[TARGET] = (
                dict(kept[1]), dict(kept[2]), kept[3])
    changes = edits()
    bases = base_values()
    for path in changes.keys() - bases.keys():  # edits that came with a link: their file values, for the list
        bases[path] = value_at(base, path)
    edit_error = None
    scenario = base
    if changes:
        try:
            scenario = apply_edits(base, changes)
        except ScenarioError as error:
            edit_error = error
            last = st.session_state.get(LAST_VALID)
            scenario = last[1] if last and last[0] == ident else base
    st.session_state[LAST_VALID] = (ident, scenario)
    cur = Current(base=base, scenario=scenario, key=scenario.model_dump_json(), source=label,
                  load_error=load_error, kind=chosen.kind, edit_error=edit_error, edits=dict(changes),
                  source_text=text)
    st.session_state[CURRENT] = cur
    return cur


def get_current() -> Current:
    """The `Current` resolved by app.py in this script run (pages call this)."""
    cur = st.session_state.get(CURRENT)
    return cur if cur is not None else current()


# ====================================================================== the run
def drawing() -> bool:
    """Whether this session's runs draw the uncertain inputs from their seed (else: played as coded)."""
    return bool(st.session_state.get(DRAW, True))


def set_drawing() -> None:
    st.session_state[DRAW] = bool(st.session_state.get(DRAW_BOX, True))


def target() -> int:
    """How far to play: a round number, or END."""
    return int(st.session_state.get(TARGET, 0))


def run_to_end() -> None:
    st.session_state[TARGET] = END
    stop_playing()


def step_one() -> None:
    st.session_state[TARGET] = int(st.session_state.get(SHOWN, 0)) + 1


def reset_run() -> None:
    st.session_state[TARGET] = 0
    stop_playing()


def playing() -> bool:
    return bool(st.session_state.get(PLAYING, False))


def toggle_play() -> None:
    st.session_state[PLAYING] = not playing()
    st.session_state.pop(PLAY_CLOCK, None)  # the clock starts at the first round played
    if playing() and target() == END:  # played to the end already: nothing to play
        st.session_state[PLAYING] = False


def play_schedule(shown: int, start: float, first: int, speed: float, now: float) -> tuple[float, int]:
    """(seconds to wait, round to show next) while playing at `speed` rounds per second from round `first` at
    time `start`: round k is due at start + (k - first) / speed. When a page takes longer to draw than a round
    lasts, the next run shows every round that fell due meanwhile, so the rounds per second stay as named."""
    wait = max(0.0, start + (shown + 1 - first) / speed - now)
    due = first + math.floor((now + wait - start) * speed + 1e-9)
    return wait, max(shown + 1, due)


def next_play_round(speed: float) -> tuple[float, int]:
    """`play_schedule` for this session (its clock starts, or restarts after a change of speed, now)."""
    shown = int(st.session_state.get(SHOWN, 0))
    now = time.monotonic()
    clock = st.session_state.get(PLAY_CLOCK)
    if clock is None or clock[2] != speed:
        clock = (now, shown, speed)
        st.session_state[PLAY_CLOCK] = clock
    return play_schedule(shown, clock[0], clock[1], speed, now)


def stop_playing() -> None:
    st.session_state[PLAYING] = False
    st.session_state.pop(PLAY_CLOCK, None)


# ====================================================================== share links
URL_FILE, URL_EDITS, URL_ROUND, URL_DRAW = "file", "edits", "round", "draw"
URL_SCENARIO, URL_NAME, URL_UPLOAD = "scenario", "name", "upload"
MAX_LINK_SCENARIO = 16_000
"""Longest embedded scenario a link carries, in characters (compressed, base64). Streamlit's server (Tornado)
reads request heads up to 64 KiB and browsers take far longer addresses; a proxy in front may refuse less. A
shipped scenario of about 30 KB with its comments and briefs takes about 10,500."""
LINK_UPLOAD = "negsim.link_upload"
"""The file name of an upload a link could not carry (the link says so; the file must be uploaded again)."""


def is_upload() -> bool:
    """Whether the scenario shown comes from an upload or from a link that carried one (not a shipped file)."""
    return source().kind != "file"


def pack(data: bytes) -> str:
    """Bytes as a URL-safe string: zlib-compressed, base64 without padding."""
    return base64.urlsafe_b64encode(zlib.compress(data, 9)).decode().rstrip("=")


def unpack(text: str, limit: int) -> bytes:
    """The bytes of `pack`; ValueError when the text is not such a string or unpacks to more than `limit` bytes."""
    try:
        packed = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        inflate = zlib.decompressobj()
        data = inflate.decompress(packed, limit + 1)
    except (ValueError, zlib.error) as error:
        raise ValueError("not a packed scenario") from error
    if len(data) > limit or inflate.unconsumed_tail:
        raise ValueError("the scenario is too large")
    return data


def embed(chosen: Source) -> tuple[str, str] | None:
    """(file name, packed text) of an uploaded or linked scenario small enough to travel in a link: its own
    bytes (comments kept), else its compact JSON (fields at their defaults left out); None when too large."""
    if chosen.data is None:
        return None
    packed = pack(chosen.data)
    if len(packed) <= MAX_LINK_SCENARIO:
        return chosen.label, packed
    compact = chosen.scenario.model_dump_json(by_alias=True, exclude_defaults=True).encode()
    packed = pack(compact)
    if len(packed) <= MAX_LINK_SCENARIO:
        return f"{Path(chosen.label).stem}.json", packed
    return None


def share_state() -> dict[str, str]:
    """What a link carries: the scenario file, or an uploaded scenario itself when it is small enough (else its
    name only: it must be uploaded again), the edits (as compact JSON: parameter path -> value, the seed among
    them when changed) and the round shown."""
    out = {}
    chosen = source()
    if chosen.kind == "file":
        name = st.session_state.get(FILE)
        out[URL_FILE] = name if name in scenario_files() else DEFAULT_FILE
    else:
        embedded = embed(chosen)
        if embedded is None:  # the edits of a scenario the link cannot carry would be applied to another
            out[URL_UPLOAD] = chosen.label
            return out
        out[URL_NAME], out[URL_SCENARIO] = embedded
    if edits():
        out[URL_EDITS] = json.dumps(edits(), separators=(",", ":"), sort_keys=True)
    if target():
        out[URL_ROUND] = "end" if target() == END else str(target())
    if not drawing():  # drawing is the default: only its absence needs saying
        out[URL_DRAW] = "0"
    return out


def share_to_url() -> None:
    """Keep the browser's address in step with the session. Written on every run: a run cut short by the next
    (an upload replacing another reruns the script twice in quick succession) may have changed the server's
    copy of the address without the browser's, so comparing with it can leave a stale address behind."""
    st.query_params.from_dict(share_state())


def share_link() -> str:
    base = (st.context.url or "").rstrip("/") if hasattr(st, "context") else ""
    query = urlencode(share_state())
    return f"{base or 'http://localhost:8501'}/?{query}" if query else (base or "http://localhost:8501")


def _restore_scenario(params: dict[str, str], problems: list[str]) -> None:
    """The scenario a link carries (URL_SCENARIO), or the name of an upload it could not carry (URL_UPLOAD)."""
    packed = params.get(URL_SCENARIO)
    if packed:
        name = params.get(URL_NAME) or "linked.yaml"
        if Path(name).suffix.lower() not in SUFFIXES or "/" in name or "\\" in name:
            name = "linked.yaml"
        try:
            data = unpack(packed, MAX_FILE_BYTES)
            load_upload(data, name)
        except ValueError as error:
            problems.append(f"the scenario in the link is not readable ({error})")
        except ScenarioError as error:
            problems.append(f"the scenario in the link is not valid ({len(error.problems)} problem"
                            f"{'s' if len(error.problems) != 1 else ''})")
        else:
            st.session_state[LINKED] = (name, data)
    elif params.get(URL_UPLOAD):
        st.session_state[LINK_UPLOAD] = params[URL_UPLOAD]


def restore_from_url() -> list[str]:
    """On a session's first run, take the file (or the embedded scenario), edits and round from the address (a
    shared link); returns the problems found in it (the parts that cannot be used are left out)."""
    if st.session_state.get(RESTORED):
        return []
    st.session_state[RESTORED] = True
    params = st.query_params.to_dict()
    problems: list[str] = []
    name = params.get(URL_FILE)
    if name is not None:
        if name in scenario_files():
            st.session_state[FILE] = name
        else:
            problems.append(f"file {name!r} is not among the shipped scenarios")
    _restore_scenario(params, problems)
    raw = params.get(URL_EDITS)
    if raw and not (params.get(URL_SCENARIO) and LINKED not in st.session_state):
        try:
            changes = json.loads(raw)
            if not isinstance(changes, dict) or not all(
                    isinstance(k, str) and (v is None or isinstance(v, (int, float, str, bool)))
                    for k, v in changes.items()):
                raise ValueError
            st.session_state[EDITS] = changes
        except ValueError:
            problems.append("the edits in the link are not readable")
    if params.get(URL_DRAW) is not None:
        if params[URL_DRAW] in ("0", "1"):
            st.session_state[DRAW] = params[URL_DRAW] == "1"
        else:
            problems.append(f"draw {params[URL_DRAW]!r} is not 0 or 1")
    played = params.get(URL_ROUND)
    if played:
        if played == "end":
            st.session_state[TARGET] = END
        elif played.isdigit():
            st.session_state[TARGET] = int(played)
        else:
            problems.append(f"round {played!r} is not a number")
    if name is not None or raw or played or LINKED in st.session_state:
        # the link's source counts as this session's first: its edits are not cleared as for a new file
        st.session_state[SOURCE] = _select_source()[0].ident
    return problems


def close_link() -> None:
    """Stop showing the scenario a link carried (back to the shipped files)."""
    st.session_state.pop(LINKED, None)


def simulate(key: str, rounds: int, _scenario: Scenario, draw: bool | None = None) -> RunResult:
    """The run of the scenario (its own seed) after `rounds` rounds, or to its end (rounds = END); `draw`:
    whether it draws the uncertain inputs from the seed (None: as the session's checkbox says).

    Stepping replays from round 0: a run is a pure function of scenario and seed, so round k looks the same
    however it was reached. Cached on the scenario's canonical JSON.
    """
    return _simulate(key, rounds, drawing() if draw is None else draw, _scenario)


@st.cache_data(show_spinner=False, max_entries=256)
def _simulate(key: str, rounds: int, draw: bool, _scenario: Scenario) -> RunResult:
    model = service.start(_scenario, draw=draw)
    if rounds == END:
        service.finish(model)
    else:
        while model.running and model.round < rounds:
            model.step()
    return service.result_of(model)


def shown_result(cur: Current) -> RunResult:
    """The run as far as this session has played it; remembers the round shown (for 'Step one round')."""
    result = simulate(cur.key, target(), cur.scenario)
    st.session_state[SHOWN] = result.rounds
    return result


def full_result(cur: Current) -> RunResult:
    """The run played to its end (the simulated outcome the analysis pages compare with)."""
    return simulate(cur.key, END, cur.scenario)


# ====================================================================== analysis and Monte Carlo
FORECAST_RUNS = 200
"""Monte Carlo runs beside the forecasting models on the Analysis page (as `negsim forecast`)."""


@st.cache_data(show_spinner=False, max_entries=16)
def model_forecasts(key: str, _scenario: Scenario) -> list[dict[str, Any]]:
    """Every forecasting model on the scenario with its 80 % interval, beside the simulated agreements
    (`sim.forecasting.scenario.forecast_table`, what `negsim forecast` prints), as plain rows."""
    from sim.forecasting.scenario import forecast_table

    return [row.to_dict() for row in forecast_table(_scenario, runs=FORECAST_RUNS)]


@st.cache_data(show_spinner=False, max_entries=32)
def bargaining(key: str, a: int, b: int, red_lines: bool, _scenario: Scenario) -> BargainingSpace:
    profiles, _, _ = service.profiles_of(_scenario)
    return bargaining_space(profiles, a, b, red_lines=red_lines)


@st.cache_data(show_spinner=False, max_entries=512)
def monte_carlo_part(key: str, first: int, stop: int, _scenario: Scenario,
                     root: int | None = None) -> pd.DataFrame:
    """Replicates first..stop-1 of the scenario's Monte Carlo (the rows `sim.service.monte_carlo` gives them),
    with the seeds derived from `root` (default the scenario's seed).

    Cached in parts, and with no Streamlit element inside: a cached function that drew the progress bar
    would replay it into a page where that bar does not exist (the Compare page reusing the Monte Carlo
    page's batch crashed so)."""
    seeds = service.replicate_seeds(_scenario.protocol.seed if root is None else root, stop, first=first)
    return pd.DataFrame({"replicate": np.arange(first, stop), "seed": seeds, **service.summaries(_scenario, seeds)})


def monte_carlo(key: str, replicates: int, _scenario: Scenario,
                _progress: Callable[[int, int], None] | None = None, draw: bool | None = None,
                root: int | None = None) -> pd.DataFrame:
    """`replicates` runs with seeds derived from the scenario's seed, or from `root` (as `sim.service.monte_carlo`;
    two settings given the same root play the same seeds: a paired comparison), computed and cached part by
    part; `_progress(done, total)` hears after each part. Each run draws the uncertain inputs from its seed
    unless `draw` is False (None: as the session's checkbox says): then the scenario is played as coded
    (`Scenario.as_coded`)."""
    if not (drawing() if draw is None else draw) and _scenario.uncertainty:
        key, _scenario = key + "|as coded", _scenario.as_coded()
    chunk = service.chunk_size(_scenario, service.MODEL_CHUNK)
    parts = []
    for first in range(0, replicates, chunk):
        stop = min(first + chunk, replicates)
        parts.append(monte_carlo_part(key, first, stop, _scenario, root))
        if _progress is not None:
            _progress(stop, replicates)
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()

