"""Share links: the session (scenario file or a small upload itself, edits, round, drawing) in the browser's address,
and a session restored from one."""

from __future__ import annotations

import base64
import json
import zlib
from pathlib import Path
from urllib.parse import urlencode

import streamlit as st

from dashboard.state.edits import edits
from dashboard.state.keys import DRAW, EDITS, END, FILE, LINKED, RESTORED, SOURCE, TARGET
from dashboard.state.playback import drawing, target
from dashboard.state.sources import DEFAULT_FILE, SUFFIXES, Source, load_upload, scenario_files, select_source, source
from sim.scenario import MAX_FILE_BYTES, ScenarioError

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
        st.session_state[SOURCE] = select_source()[0].ident
    return problems


def close_link() -> None:
    """Stop showing the scenario a link carried (back to the shipped files)."""
    st.session_state.pop(LINKED, None)

