"""What the classroom's views show, shared by the dashboard's pages and the debrief exports: values at a
precision that suits their issue, short issue names, each actor's moves told in one line, why a round closed, and
a round history as a seat (or the projector) may see it before the reveal.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from sim import service

if TYPE_CHECKING:
    from sim.classroom.room_state import RoomState
    from sim.scenario import Issue

CAUSES = {"all moved": "every seat had moved", "timer": "the round timer ran out",
          "teacher": "the teacher closed it"}


def fmt_value(value: float, issue: Issue) -> str:
    """A native value at a precision that suits the issue's scale (0-100 -> whole numbers)."""
    span = issue.scale.max - issue.scale.min
    digits = 0 if span >= 20 else 1 if span >= 2 else 2
    text = f"{value:.{digits}f}"
    return f"{text} {issue.scale.unit}".strip() if issue.scale.unit else text


def short_name(issue: Issue) -> str:
    """A short name for an issue in one-line reasons: its id in words ('cbm' -> 'CBM')."""
    words = issue.id.replace("_", " ")
    return words.upper() if len(words) <= 3 else words


# Reasons that tell where a seat's red line or walk-away utility lies (its confidential brief): before the reveal,
# everyone but the seat's own player reads them as what they look like from outside.
CONFIDENTIAL_REASONS = {"held red line": "held", "at reservation": "held"}


def public_history(history: pd.DataFrame, me: str | None = None) -> pd.DataFrame:
    """`history` as a seat (`me`) or the projector (`me=None`) may see it before the reveal: every other actor's
    confidential reasons (`CONFIDENTIAL_REASONS`) replaced by what anyone could see, and its utility (scored
    with its confidential brief) left empty."""
    if history.empty or "reason" not in history:
        return history
    hidden = history["reason"].isin(list(CONFIDENTIAL_REASONS)) & (history["actor"] != me)
    others = "utility" in history and (history["actor"] != me).any()
    if not hidden.any() and not others:
        return history
    out = history.copy()
    out.loc[hidden, "reason"] = out.loc[hidden, "reason"].map(CONFIDENTIAL_REASONS)
    if others:                    # scored with each seat's confidential brief: its own only
        out["utility"] = out["utility"].where(out["actor"] == me)
    return out


def _clause(reason: str, items: list[str]) -> str:
    """'conceded on missiles 35 -> 41, CBM 60 -> 62', 'held expansion 10'; moves said in sentences ('' reason)
    are joined as they are."""
    if not reason:
        return "; ".join(items)
    return f"{reason} {', '.join(items)}" if reason in ("held", "agreed") else f"{reason} on {', '.join(items)}"


def move_lines(state: RoomState, history: pd.DataFrame, round: int) -> dict[str, str]:
    """One line per actor saying what it did in `round` and why, from the model's history (positions and
    the model's reasons) and the room's logged moves; e.g. 'conceded on missiles 35 -> 41; held red line on
    expansion 10' or 'accepted the standing proposal (expansion 34, missiles 57, CBM 75)'."""
    spec = state.scenario
    now = history[history["round"] == round].set_index(["actor", "issue"])
    before = history[history["round"] == round - 1].set_index(["actor", "issue"])
    moves = {m.actor: m for m in state.moves_in(round)}
    human = {s.actor for s in state.seats if s.human}
    lines: dict[str, str] = {}
    for actor in spec.actor_ids:
        if now.empty:
            lines[actor] = ""
            continue
        parts: dict[str, list[str]] = {}
        said: list[str] = []     # moves said in a sentence of their own
        for issue in spec.issues:
            row = now.loc[(actor, issue.id)]
            old = float(before.loc[(actor, issue.id), "position"]) if not before.empty else float(row["position"])
            new = float(row["position"])
            reason = str(row["reason"])
            if reason == "held" and bool(row["agreed"]) and abs(new - old) > 1e-9:
                reason = "agreed"         # a held offer moved to the value the table agreed: not "held 70 -> 72"
            if not before.empty and bool(before.loc[(actor, issue.id), "agreed"]):
                continue                                     # settled earlier: nothing to say
            a, b = fmt_value(old, issue), fmt_value(new, issue)
            text = f"{short_name(issue)} {a} -> {b}" if a != b else f"{short_name(issue)} {b}"
            if reason == service.MET_THE_PROPOSAL and not before.empty:     # in words, with the proposal it answered
                said.append(service.move_sentence(
                    reason, old, new, float(before.loc[(actor, issue.id), "proposal"]),
                    spec.protocol.agreement_tolerance * issue.scale.span, service.in_units(fmt_value, issue),
                    what=short_name(issue), allies=bool(spec.actor(actor).allies)))
                continue
            parts.setdefault(reason, []).append(text)
        if said:
            parts[""] = said
        if actor in human:
            move = moves.get(actor)
            if move is None:
                lines[actor] = "did not move this round (held its offers)"
            elif move.accepted:
                values = ", ".join(f"{short_name(spec.issue(i))} {fmt_value(v, spec.issue(i))}"
                                   for i, v in move.offers.items())
                lines[actor] = f"accepted the standing proposal ({values})"
            else:
                offered = parts.pop("human move", [])
                held = parts.pop("held", [])
                text = "offered " + ", ".join(offered) if offered else "moved"
                lines[actor] = text + (f"; held {', '.join(held)}" if held else "")
                if parts:
                    lines[actor] += "; " + "; ".join(_clause(r, v) for r, v in parts.items())
            continue
        if not parts:
            lines[actor] = "nothing left to negotiate"
            continue
        lines[actor] = "; ".join(_clause(reason, items) for reason, items in parts.items())
    return lines
