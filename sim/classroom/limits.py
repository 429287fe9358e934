"""Attempt limits, enforced against the store: who is asking (`Client`), how many wrong guesses (room codes,
passphrases, seat secrets) and how many actions (joins, seat requests) it has made within the window, and the
record of each try. The limits themselves are `security.LIMITS` and `security.ACTIONS`.
"""

from __future__ import annotations

from dataclasses import dataclass

from sim.classroom import security
from sim.classroom.errors import TooManyAttempts
from sim.classroom.store import LOG, Store


@dataclass(frozen=True)
class Client:
    """Who is asking, for the attempt limits: the browser session and its network address ('' if unknown).

    Streamlit knows no address for a browser on the same machine (127.0.0.1, ::1) or behind a proxy on it, and a
    reload is a new session; so every client without an address shares one address bucket
    (`security.UNKNOWN_ADDRESS`) with the per-address limits, which still bound guessing across sessions."""

    session: str
    address: str = ""
    browser: str = ""      # what survives a reload of the same browser (its XSRF cookie's token), '' if unknown

    @property
    def key(self) -> str:
        """Who its tries count against as 'this browser': the browser when known (a reload keeps it), else the
        session."""
        return f"browser:{self.browser}" if self.browser else self.session

    @property
    def bucket(self) -> str:
        """The address its guesses count against."""
        return self.address or security.UNKNOWN_ADDRESS


def check_guesses(store: Store, con, kind: str, client: Client | None, target: str, now: float,
                  per_target: bool = True) -> None:
    """Raise TooManyAttempts when this session, its address or (for some kinds) the target has used up its
    wrong guesses of `kind` within the window; `client=None` is a trusted caller (tests, scripts)."""
    if client is None:
        return
    limit = security.LIMITS[kind]
    since = now - limit.window
    address = "this network address" if client.address else \
        "browsers without a known network address (on the server's machine or behind a proxy)"
    checks = [("session", client.key, limit.per_session, "this browser"),
              ("address", client.bucket, limit.per_address, address)]
    if limit.per_target is not None and per_target:
        checks.append(("target", target, limit.per_target, f"room {target}"))
    for column, value, allowed, who in checks:
        failed = store.failures(con, kind, column, value, since)
        if len(failed) >= allowed:
            wait = max(1, int(failed[-allowed] + limit.window - now + 59) // 60)
            raise TooManyAttempts(f"too many wrong {kind}s against {who} lately - wait "
                                  f"{wait} minute{'s' if wait != 1 else ''} and try again (the teacher can "
                                  f"see these attempts)" if column == "target" else
                                  f"too many wrong {kind}s from {who} - wait {wait} minute"
                                  f"{'s' if wait != 1 else ''} and try again (wrong tries are logged for "
                                  f"the teacher)")


def record_try(store: Store, con, kind: str, client: Client | None, target: str, ok: bool, now: float) -> None:
    if client is None:
        return
    store.add_attempt(con, now, kind, client.key, client.bucket, target, ok)
    if not ok:
        LOG.warning("classroom: wrong %s for %s from session %s address %s", kind, target, client.session[:8],
                    client.bucket)


def check_actions(store: Store, con, kind: str, client: Client | None, now: float) -> None:
    """Raise TooManyAttempts when this session or its address has done `kind` (a join, a seat request) too
    often within the window (`security.ACTIONS`); `client=None` is a trusted caller."""
    if client is None:
        return
    limit = security.ACTIONS[kind]
    for column, value, allowed, who in (("session", client.key, limit.per_session, "this browser"),
                                        ("address", client.bucket, limit.per_address, "this network")):
        done = store.tries(con, kind, column, value, now - limit.window)
        if len(done) >= allowed:
            wait = max(1, int(done[-allowed] + limit.window - now + 59) // 60)
            raise TooManyAttempts(f"too many {kind}s from {who} lately - wait {wait} minute"
                                  f"{'s' if wait != 1 else ''}, or ask the teacher")
