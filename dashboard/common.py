"""Pieces every page uses: problem boxes, plain-language outcome text, number formats, downloads."""

from __future__ import annotations

import json
import math

import streamlit as st

from dashboard.state import Current
from sim.scenario import Scenario, ScenarioError, dump_yaml
from sim.service import RunResult

OUTCOME_WORDS = {
    "agreement": "Agreement",
    "partial": "Partial agreement",
    "stalemate": "Stalemate",
    "breakdown": "Breakdown",
    "running": "Talks under way",
}
SHORT_WORDS = {"agreement": "Agreement", "partial": "Partial", "stalemate": "Stalemate", "breakdown": "Breakdown",
               "running": "Under way"}
"""For the outcome metric (a big number-sized box)."""


# Two sides and the ground they share, drawn inline: a material-icon or emoji favicon is fetched by the
# browser from a font CDN, which fails offline.
PAGE_ICON = ('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32">'
             '<circle cx="11" cy="16" r="9" fill="#1f77b4" fill-opacity="0.85"/>'
             '<circle cx="21" cy="16" r="9" fill="#d62728" fill-opacity="0.85"/>'
             '<path d="M16 8.5a9 9 0 0 1 0 15a9 9 0 0 1 0-15z" fill="#2ca02c"/></svg>')


def show_problems(cur: Current) -> None:
    """Invalid uploads and edits: every problem with its field path, never a traceback."""
    if cur.load_error is not None:
        problems_box(f"Could not use the uploaded file: the dashboard keeps showing **{cur.source}**.",
                     cur.load_error)
    if cur.edit_error is not None:
        problems_box("Your last change makes the scenario invalid: the charts show the last valid settings.",
                     cur.edit_error)


def problems_box(headline: str, error: ScenarioError) -> None:
    lines = [f"- `{p.path}`: {p.message}" if p.path else f"- {p.message}" for p in error.problems]
    where = f" in `{error.source}`" if error.source else ""
    n = len(error.problems)
    st.error(f"{headline}\n\n{n} problem{'s' if n != 1 else ''}{where}:\n" + "\n".join(lines), icon=":material/error:")


def fmt(value: float | None, unit: str = "", digits: int = 1) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{value:.{digits}f}" + (f" {unit}" if unit else "")


def issue_list(labels: list[str]) -> str:
    if len(labels) <= 1:
        return "".join(labels)
    return ", ".join(labels[:-1]) + " and " + labels[-1]


def outcome_sentence(result: RunResult) -> tuple[str, str]:
    """(kind, text): a plain-language summary of where the run stands; kind is success/warning/error/info."""
    s = result.scenario
    p = s.protocol
    agreed = [s.issue(i).label for i, r in result.issues.items() if r.agreed]
    open_ = [s.issue(i).label for i, r in result.issues.items() if not r.agreed]
    m = len(result.issues)
    threshold = p.tension.breakdown_threshold
    values = "; ".join(f"{s.issue(i).label}: {fmt(r.value, s.issue(i).scale.unit)}"
                       for i, r in result.issues.items() if r.agreed)
    if result.outcome == "agreement":
        last = max(r.round or 0 for r in result.issues.values())
        everything = "The single issue was" if m == 1 else f"All {m} issues were"
        return "success", (f"**Agreement** by round {last}. {everything} settled: {values}.")
    if result.outcome == "partial":
        return "warning", (f"**Partial agreement** after {result.rounds} rounds: {issue_list(agreed)} settled "
                           f"({values}); {issue_list(open_)} still open when the deadline came.")
    if result.outcome == "stalemate":
        return "warning", (f"**Stalemate**: no agreement within the {p.max_rounds} rounds allowed. Nobody walked "
                           f"out - tension ended at {result.tension:.2f}, below the breakdown level of "
                           f"{threshold:.2f} - but the actors' offers never met.")
    if result.outcome == "breakdown":
        settled = f" {issue_list(agreed)} had been settled ({values})." if agreed else ""
        return "error", (f"**Breakdown** in round {result.rounds}: tension reached {result.tension:.2f}, past the "
                         f"breakdown threshold of {threshold:.2f}, and the talks were abandoned.{settled}")
    if result.rounds == 0:
        return "info", (f"**Round 0 of at most {p.max_rounds}**: the opening positions. Press **Run to the end** "
                        "to play every round, or **Step one round** to watch the talks move.")
    so_far = f" So far agreed: {values}." if agreed else " Nothing agreed yet."
    return "info", (f"**Round {result.rounds} of at most {p.max_rounds}**: the talks go on; tension "
                    f"{result.tension:.2f} (breakdown at {threshold:.2f}).{so_far}")


def banner(result: RunResult) -> None:
    kind, text = outcome_sentence(result)
    icon = {"success": ":material/handshake:", "warning": ":material/pause_circle:", "error": ":material/crisis_alert:",
            "info": ":material/info:"}[kind]
    getattr(st, kind)(text, icon=icon)


# ---------------------------------------------------------------------- download contents
def history_csv(result: RunResult) -> str:
    """The tidy per-round table (round 0 = opening positions), as `negsim run --rounds-csv` writes it."""
    return result.history.to_csv(index=False)


def outcome_json(result: RunResult) -> str:
    """The run as the JSON object of `negsim run --json`."""
    return json.dumps(result.to_dict(), indent=2, allow_nan=False) + "\n"


def scenario_yaml(scenario: Scenario) -> str:
    """The (edited) scenario as YAML that `negsim validate` accepts."""
    return dump_yaml(scenario)
