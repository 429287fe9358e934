"""Pieces the classroom pages share: the room service, the table (offers, proposal, tension), briefs, the log.

Views only: every number comes from the room's rebuilt model (`sim.classroom`), every rule from `sim.engine.model`.
"""

from __future__ import annotations

import functools
import hashlib
import io
import ipaddress
import os
import secrets
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit, urlunsplit

import altair as alt
import pandas as pd
import segno
import streamlit as st

from dashboard.charts import wrapped
from dashboard.colours import actor_colours
from sim import service
from sim.classroom import (
    Classroom,
    ClassroomError,
    Client,
    RoomState,
    StoreBusy,
    StoreUnavailable,
    TooManyAttempts,
    default_path,
)
from sim.classroom.security import csv_text, markdown_escape
from sim.classroom.views import CAUSES, fmt_value, move_lines, public_history, short_name
from sim.scenario import Scenario, rendered_background, rendered_brief

if TYPE_CHECKING:
    from sim.service import NegotiationModel

ROOT = Path(__file__).resolve().parent.parent.parent
SCENARIO_DIR = ROOT / "scenarios"
POLL_SECONDS = 2.0
# Refusals that say nothing about who holds a seat or a console: the page shows them and keeps its session.
KEEP_GOING = (StoreBusy, StoreUnavailable, TooManyAttempts)
OUTCOME_WORDS = {"agreement": "Agreement on every issue", "partial": "Partial agreement",
                 "stalemate": "Stalemate: nothing agreed", "breakdown": "Breakdown: the talks collapsed",
                 "running": "Talks under way"}
STATUS_WORDS = {"lobby": "Waiting to start", "running": "Running", "paused": "Paused", "ended": "Ended"}
YOU, PEOPLE, AGENTS, PROPOSAL = "You", "Played by students", "Played by the computer", "Standing proposal"
COLOURS = {PROPOSAL: "#212529"}
SHAPES = {YOU: "diamond", PEOPLE: "square", AGENTS: "circle"}
"""The seat type of each dot on an issue chart is its shape; its colour is the actor's, from the one actor colour
map of every page (`sim.core.colours`)."""
GLYPHS = {"diamond": "&#9670;", "square": "&#9632;", "circle": "&#9679;"}


@st.cache_resource(show_spinner=False)
def _classroom(path: str) -> Classroom:
    return Classroom(path)


def classroom() -> Classroom:
    """The room service over the shared SQLite file (NEGSIM_CLASSROOM_DB or ~/.negsim/classroom.sqlite3).
    Raises StoreUnavailable (one line naming the file and the variable) when the file cannot be used."""
    return _classroom(str(default_path()))


def client() -> Client:
    """This browser session, its network address and the browser itself (what survives a reload: the token in
    Streamlit's XSRF cookie), for the limits on wrong codes, passphrases and secrets."""
    session = st.session_state.setdefault("classroom_session", secrets.token_hex(8))
    try:
        address = st.context.ip_address
    except Exception:  # noqa: BLE001 - no browser behind the session (AppTest)
        address = None
    return Client(session=session, address=address if isinstance(address, str) else "", browser=browser_id())


XSRF_COOKIE = "_streamlit_xsrf"


def browser_id() -> str:
    """The token in Streamlit's XSRF cookie ('2|mask|masked token|time': the mask changes, the token does not),
    hashed; '' without the cookie (XSRF protection off, AppTest)."""
    try:
        raw = st.context.cookies.get(XSRF_COOKIE)
    except Exception:  # noqa: BLE001 - no browser behind the session (AppTest)
        raw = None
    if not isinstance(raw, str) or not raw:
        return ""
    parts = raw.split("|")
    token = raw.encode()
    if len(parts) == 4 and parts[0] == "2":
        try:
            mask, masked = bytes.fromhex(parts[1]), bytes.fromhex(parts[2])
            token = bytes(b ^ mask[i % len(mask)] for i, b in enumerate(masked)) if mask else masked
        except ValueError:
            pass
    return hashlib.sha256(token).hexdigest()[:32]


def esc(text: object) -> str:
    """A student's text (a name) for st.markdown, a caption or a button label: shown literally, never run."""
    return markdown_escape(text)


def error(err: object, icon: str = ":material/error:") -> None:
    """A refusal as plain text: messages may quote what a browser sent (the page address, a typed code or
    name), so nothing in them is read as Markdown (no link, no image)."""
    st.error(esc(err), icon=icon)


def warning(err: object, icon: str = ":material/warning:") -> None:
    st.warning(esc(err), icon=icon)


def table(data: object, file_name: str | None = None, key: str | None = None, hide_index: bool = True,
          digits: int | None = None) -> None:
    """A table that may hold a student's text (a name). Drawn with st.table, which has no toolbar, so there is
    no 'Download as CSV' of the raw cells; st.table reads Markdown, so every text cell, header and index is
    escaped (`esc`). With `file_name`, our own button offers the table as CSV through the one neutralising
    writer (`security.csv_text`: no cell starts with = + - @ tab or CR)."""
    frame = data.copy() if isinstance(data, pd.DataFrame) else pd.DataFrame(data)
    if digits is not None:
        frame = frame.round(digits)
    shown = frame.map(lambda v: esc(v) if isinstance(v, str) else
                      (f"{v:.{digits}f}" if digits is not None and isinstance(v, float) else v))
    shown.columns = [esc(c) for c in frame.columns]
    shown.index = [esc(i) if isinstance(i, str) else i for i in frame.index]
    st.table(shown, hide_index=hide_index)
    if file_name:
        st.download_button("Download (CSV)", csv_text(frame, index=not hide_index), file_name=file_name,
                           mime="text/csv", key=key or f"dl_{file_name}", icon=":material/download:",
                           type="tertiary")


def guarded(body: Callable[[], None]) -> Callable[[], None]:
    """A page part (a fragment that reruns on its own) that shows a refusal or a database fault as a message."""
    @functools.wraps(body)
    def run() -> None:
        try:
            body()
        except ClassroomError as err:
            error(err)
    return run


# ====================================================================== the address students open
URL_ENV = "NEGSIM_CLASSROOM_URL"
LOOPBACK = {"localhost", "0.0.0.0", "::", ""}


def lan_address() -> str | None:
    """This machine's address on the local network: the source address the OS would use to reach a private
    address (a UDP 'connect' sends no packet), if it is a private one."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.connect(("10.254.254.254", 9))
            address = sock.getsockname()[0]
    except OSError:
        return None
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return None
    return address if ip.is_private and not ip.is_loopback else None


def _is_loopback(host: str) -> bool:
    if host in LOOPBACK:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback or ipaddress.ip_address(host).is_unspecified
    except ValueError:
        return host.endswith(".localhost")


def join_url(browser_url: str | None, code: str, lan: str | None = None, override: str | None = None) -> str:
    """The address students open to join room `code`: NEGSIM_CLASSROOM_URL if set; else the address the
    teacher's browser used, with `localhost` (which would point at each student's own device) replaced by the
    machine's LAN address; the room code rides along so a phone that scans the QR code lands on the room."""
    base = (override or "").strip()
    if not base:
        parts = urlsplit(browser_url or "")
        host = parts.hostname or ""
        if _is_loopback(host) and lan:
            netloc = lan + (f":{parts.port}" if parts.port else "")
            parts = parts._replace(netloc=netloc)
        base = urlunsplit((parts.scheme or "http", parts.netloc, parts.path, "", "")) if parts.netloc else ""
    if not base:
        return ""
    return f"{base.rstrip('/')}/?room={code}"


def room_url(code: str, ticket: str | None = None) -> str:
    """`join_url` for this session's browser address and this machine, with the room's `ticket` (whoever opens
    the address finds the room without counting as a guess: `Classroom.room_ticket`)."""
    try:
        browser = st.context.url
    except Exception:  # noqa: BLE001 - no browser behind the session (AppTest)
        browser = None
    browser = browser if isinstance(browser, str) else ""
    url = join_url(browser, code, lan_address(), os.environ.get(URL_ENV))
    return f"{url}&ticket={ticket}" if url and ticket else url


@functools.lru_cache(maxsize=32)
def qr_png(url: str) -> bytes:
    """A QR code of `url` as PNG bytes (segno, no image library needed)."""
    buffer = io.BytesIO()
    segno.make(url, error="m").save(buffer, kind="png", scale=8, border=2)
    return buffer.getvalue()


def join_box(code: str, qr_width: int = 220, ticket: str | None = None) -> None:
    """The code in large type, the address students open, and its QR code (nothing secret)."""
    url = room_url(code, ticket)
    text_col, qr_col = st.columns([3, 1], vertical_alignment="center")
    with text_col:
        where = (f"open <b style='font-family:monospace'>{url.split('?')[0]}</b> (or scan the code) and "
                 if url else "open this app's address and ")
        st.markdown(f"<div style='font-size:1.25rem'>Students: {where}join room "
                    f"<span style='font-size:2.2rem;font-weight:700;letter-spacing:.2rem;padding:0 .4rem;"
                    f"border:2px solid #1c7ed6;border-radius:.4rem'>{code}</span></div>", unsafe_allow_html=True)
        if url and _is_loopback(urlsplit(url).hostname or ""):
            st.caption(f"This address only works on this computer. Start the app with --server.address 0.0.0.0 "
                       f"and open it by the computer's network address, or set {URL_ENV}.")
    if url:
        qr_col.image(qr_png(url), width=qr_width, caption="scan to join")


def clock(ts: float | None) -> str:
    return "-" if ts is None else time.strftime("%H:%M:%S", time.localtime(ts))


def countdown(seconds: float | None) -> str:
    if seconds is None:
        return ""
    s = int(round(seconds))
    return f"{s // 60}:{s % 60:02d}"


def version(state: RoomState) -> tuple:
    """What, when it changes, makes a page redraw everything (not just its live strip)."""
    r = state.room
    return r.status, r.rounds_closed, len(state.injects), r.revealed, tuple((s.actor, s.human, s.player)
                                                                           for s in state.seats)


def seat_rows(state: RoomState, now: float, teacher: bool) -> list[dict[str, str]]:
    """The seat board, one row per seat: who plays it and whether they moved this round; the teacher's console
    also shows when each student was last seen (the projector does not)."""
    running = state.room.status == "running"
    rows = []
    for s in state.seats:
        row = {"Seat": state.scenario.actor(s.actor).name}
        if s.human:
            row["Played by"] = s.player or ("(free)" if teacher else "(free - join now)")
            row["This round"] = ("moved" if s.actor in state.moved else "thinking...") if running else ""
            if teacher:
                row["Last seen"] = f"{int(now - s.last_seen)} s ago" if s.last_seen else ""
        else:
            row["Played by"] = "computer"
            row["This round"] = "moves when the round closes" if teacher else ""
            if teacher:
                row["Last seen"] = ""
        rows.append(row)
    return rows


def status_line(state: RoomState, now: float) -> str:
    r, spec = state.room, state.scenario
    if r.status == "lobby":
        return "Waiting for the teacher to start"
    if r.status == "ended":
        return f"Ended after round {r.rounds_closed}: {OUTCOME_WORDS.get(r.outcome or '', r.outcome)}"
    text = f"Round {r.open_round} of {spec.protocol.max_rounds}"
    if r.status == "paused":
        text += " - paused by the teacher"
    left = state.time_left(now)
    if left is not None:
        text += f" - {countdown(left)} left" if r.status == "running" else f" ({countdown(left)} left on the timer)"
    return text


def seat_kind(state: RoomState, actor: str, me: str | None) -> str:
    if actor == me:
        return YOU
    return PEOPLE if state.seat(actor).human else AGENTS


# ====================================================================== the table
def show_chart(chart: alt.TopLevelMixin, height: int | None = None) -> None:
    """Render an Altair chart without Altair's schema validation (most of `st.altair_chart`'s time; the charts
    here are fixed code, exercised by the tests). Streamlit sizes a chart itself: charts over a continuous
    y axis need their `height` here; the strip charts size themselves by a step per actor."""
    st.vega_lite_chart(spec=chart.to_dict(validate=False), width="stretch", height=height or "content")


def tension_box(model: NegotiationModel) -> None:
    st.markdown(f"**Tension {model.tension:.2f}** - 0 calm, 1 crisis; derived: deadlock raises it, concessions "
                "lower it. It slows concessions; the talks end when someone walks away, not at a tension level.")
    st.progress(min(1.0, max(0.0, float(model.tension))), text=None)


def offers_table(state: RoomState, model: NegotiationModel, me: str | None = None) -> pd.DataFrame:
    """Rows: every actor's current offer, then the standing proposal; one column per issue (native units)."""
    spec = state.scenario
    offers = model.native(model.offers)
    proposal = model.native(model.proposal)
    rows = {}
    for n, actor in enumerate(spec.actors):
        seat = state.seat(actor.id)
        who = "you" if actor.id == me else (seat.player or "student") if seat.human else "computer"
        rows[f"{actor.name} ({who})"] = [fmt_value(float(offers[n, j]), issue) for j, issue in enumerate(spec.issues)]
    rows["Standing proposal"] = [
        fmt_value(float(proposal[j]), issue) + (" - agreed" if not model.open_issues[j] else "")
        for j, issue in enumerate(spec.issues)]
    return pd.DataFrame.from_dict(rows, orient="index", columns=[i.label for i in spec.issues])


def issue_chart(state: RoomState, j: int, offers, proposal: float, agreed: bool, me: str | None = None,
                red_line: float | None = None) -> alt.LayerChart:
    """One issue: each actor's offer (native units, in actor order) as a dot on the issue's scale, the
    standing proposal as a black bar, the viewer's red line dashed."""
    spec = state.scenario
    issue = spec.issues[j]
    names = [a.name for a in spec.actors]
    data = pd.DataFrame({"actor": names, "offer": [float(v) for v in offers],
                         "seat": [seat_kind(state, a.id, me) for a in spec.actors]})
    scale = alt.Scale(domain=[issue.scale.min, issue.scale.max])
    colour = alt.Color("actor:N", scale=alt.Scale(domain=names, range=list(actor_colours(names).values())),
                       legend=None)
    shape = alt.Shape("seat:N", scale=alt.Scale(domain=list(SHAPES), range=list(SHAPES.values())), legend=None)
    dots = alt.Chart(data).mark_point(size=170, filled=True, opacity=0.95, stroke="#212529", strokeWidth=0.6).encode(
        x=alt.X("offer:Q", scale=scale, title=None), y=alt.Y("actor:N", sort=None, title=None), color=colour,
        shape=shape, tooltip=["actor:N", alt.Tooltip("offer:Q", format=".1f"), "seat:N"])
    rule = alt.Chart(pd.DataFrame({"proposal": [proposal]})).mark_rule(color=COLOURS[PROPOSAL], size=3).encode(
        x=alt.X("proposal:Q", scale=scale), tooltip=[alt.Tooltip("proposal:Q", format=".1f")])
    layers = [rule, dots]
    if red_line is not None:
        layers.insert(0, alt.Chart(pd.DataFrame({"red": [red_line]})).mark_rule(
            color="#c92a2a", strokeDash=[4, 3], size=2).encode(x=alt.X("red:Q", scale=scale)))
    state_word = "AGREED at" if agreed else "Proposal"
    # the number first: a long label cut at the chart's width hid it ("Strike weapons ... - propos...")
    poles = [f"{issue.scale.min:g} = {issue.low_label}", f"{issue.scale.max:g} = {issue.high_label}"]
    # lines that fit the chart, wrapped rather than cut: it is about 460 px wide on a seat's page at 1280 px, and
    # Vega cut a longer line at the chart's width ("... missiles in Eur…", "... guarantee of no further…")
    subtitle = ["   |   ".join(poles)] if sum(map(len, poles)) <= 70 else [
        line for pole in poles for line in wrapped(pole, 88)]
    title = alt.TitleParams(wrapped(f"{state_word} {fmt_value(proposal, issue)} · {issue.label}", 56),
                            anchor="start", fontSize=14, subtitle=subtitle, subtitleFontSize=11, subtitleColor="#555")
    # a LayerChart (alt.layer may make a FacetChart, of faceted layers: these have no facets)
    return alt.LayerChart(layer=layers).properties(height=alt.Step(26), title=title)


def legend(me: str | None) -> None:
    """What the issue charts' marks mean: the seat type by shape (each actor keeps its colour of every page)."""
    kinds = ([YOU] if me else []) + [PEOPLE, AGENTS]
    items = [f"{GLYPHS[SHAPES[k]]} {k.lower() if k != YOU else 'you'}" for k in kinds]
    items.append(f"<span style='color:{COLOURS[PROPOSAL]}'>&#10073;</span> {PROPOSAL.lower()} (bar)")
    if me:
        items.append("<span style='color:#c92a2a'>&#9478;</span> your red line (dashed)")
    st.markdown(" &nbsp; ".join(items), unsafe_allow_html=True)


def table_and_log(state: RoomState, model: NegotiationModel, limit: int | None = None,
                  teacher: bool = False) -> None:
    """The table on the left, what happened on the right: the teacher's console and the projector (which,
    before the reveal, shows no seat's confidential reasons: `visible_history`)."""
    left, right = st.columns([3, 2], gap="large")
    with left:
        table_view(state, model)
    with right:
        st.subheader("What happened")
        log_view(state, visible_history(state, model, teacher=teacher), limit=limit)


def visible_history(state: RoomState, model: NegotiationModel, me: str | None = None,
                    teacher: bool = False) -> pd.DataFrame:
    """The model's history as this page may show it: all of it for the teacher or after the reveal; else every
    seat but `me` without the reasons that give away its red lines (`views.public_history`)."""
    history = service.history_of(model)
    return history if teacher or state.room.revealed else public_history(history, me)


def table_view(state: RoomState, model: NegotiationModel, me: str | None = None) -> None:
    """The table as everyone sees it: tension, each issue's offers and standing proposal, the numbers."""
    spec = state.scenario
    tension_box(model)
    legend(me)
    red = spec.actor(me).red_lines if me else {}
    offers, proposal = model.native(model.offers), model.native(model.proposal)
    for j, issue in enumerate(spec.issues):
        show_chart(issue_chart(state, j, offers[:, j], float(proposal[j]), not model.open_issues[j], me,
                               red.get(issue.id)))
    with st.expander("The numbers", expanded=False):
        table(offers_table(state, model, me), hide_index=False)


def log_view(state: RoomState, history: pd.DataFrame, limit: int | None = None, me: str | None = None) -> None:
    """What happened, latest round first: injects, each actor's move in one line, how the round closed."""
    spec = state.scenario
    labels = {i.id: i for i in spec.injects}
    pending = [i for i in state.injects if i.after_round == state.room.rounds_closed]
    for inject in pending:
        item = labels.get(inject.inject)
        st.warning(f"**News before round {state.room.open_round}: {item.label if item else inject.inject}** - "
                   f"{item.description if item else ''}", icon=":material/campaign:")
    if state.room.status != "ended":
        for item in state.scheduled_before(state.room.open_round):
            day = f" ({item.date.day} {item.date:%B %Y})" if item.date is not None else ""
            st.warning(f"**News before round {state.room.open_round}{day}: {item.label}** - {item.description}",
                       icon=":material/campaign:")
    rounds = list(reversed(state.rounds))
    if limit is not None:
        rounds = rounds[:limit]
    if not rounds:
        st.caption("No round has been played yet.")
    for closed in rounds:
        r = closed.round
        lines = move_lines(state, history, r)
        text = [f"**Round {r}** - closed at {clock(closed.closed_at)} ({CAUSES.get(closed.closed_by, '')}); "
                f"tension {closed.tension:.2f}"]
        for news in state.news_before(r):
            text.append(f"- :orange[News: {news}]")
        for a in spec.actors:
            who = " (you)" if a.id == me else ""
            text.append(f"- **{a.name}**{who}: {lines[a.id]}")
        proposal = ", ".join(f"{short_name(i)} {fmt_value(closed.proposal[i.id], i)}" for i in spec.issues)
        text.append(f"- *Standing proposal after the round:* {proposal}")
        st.markdown("\n".join(text))


# ====================================================================== briefs
def background(spec: Scenario) -> None:
    if spec.background:
        st.markdown(rendered_background(spec))
    else:
        st.caption("This scenario has no background text.")


def brief_view(spec: Scenario, actor: str, confidential: bool) -> None:
    """An actor's brief: (if `confidential`) goals and red lines, then the confidential instructions; then the
    public brief everyone can read."""
    a = spec.actor(actor)
    b = rendered_brief(spec, actor)      # its numbers filled in from the coded values
    if confidential:
        if b.goals:
            st.markdown("**Goals and red lines**")
            st.markdown("\n".join(f"- {g}" for g in b.goals))
        if b.confidential:
            st.markdown("**Confidential instructions**")
            st.warning(b.confidential, icon=":material/lock:")
    st.markdown(f"**Public brief** - what everyone knows about {a.name}")
    st.markdown(b.public or "_(none)_")


def other_briefs(spec: Scenario, me: str | None, confidential: bool) -> None:
    for a in spec.actors:
        if a.id == me:
            continue
        with st.expander(a.name):
            brief_view(spec, a.id, confidential)
