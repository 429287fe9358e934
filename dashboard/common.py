"""Pieces every page uses: problem boxes, plain-language outcome text, number formats, downloads."""

from __future__ import annotations

import io
import json
import math
from typing import Any

import streamlit as st

from dashboard.state.current import Current
from dashboard.text import md
from sim.scenario import Scenario, ScenarioError, dump_yaml, parse_text
from sim.scenario.yaml_roundtrip import RoundTripError, edit_text
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
        what = {"file": "the shipped scenario", "upload": "your last good upload",
                "link": "the scenario from the link"}[cur.kind]
        problems_box(f"Could not use the uploaded file: the dashboard keeps showing **{md(cur.source)}** ({what}). "
                     "Fix the file and upload it again, or remove it to pick a shipped scenario.", cur.load_error)
    if cur.edit_error is not None:
        problems_box("Your last change makes the scenario invalid: the charts show the last valid settings.",
                     cur.edit_error)


def problems_box(headline: str, error: ScenarioError) -> None:
    lines = [f"- `{code(p.path)}`: {md(p.message)}" if p.path else f"- {md(p.message)}" for p in error.problems]
    where = f" in `{code(error.source)}`" if error.source else ""
    n = len(error.problems)
    st.error(f"{headline}\n\n{n} problem{'s' if n != 1 else ''}{where}:\n" + "\n".join(lines), icon=":material/error:")


def code(text: object) -> str:
    """`text` inside a Markdown code span (backticks cannot be escaped there: they become quotes)."""
    return str(text).replace("`", "'")


def fmt(value: float | None, unit: str = "", digits: int = 1) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{value:.{digits}f}" + (f" {unit}" if unit else "")


def issue_list(labels: list[str]) -> str:
    if len(labels) <= 1:
        return "".join(labels)
    return ", ".join(labels[:-1]) + " and " + labels[-1]


def final_offers(result: RunResult, issue_id: str) -> list[float]:
    return [r.final_positions[issue_id] for r in result.actors.values()]


WALK_AWAY_HELP = ("Walk-away utility (reservation utility, 0-1): the least a deal must be worth to the actor; it "
                  "accepts no deal worth less. It does not make the actor leave: with no deal it simply does not "
                  "agree. Leaving the table is the outside option's doing.")
OUTSIDE_OPTION_HELP = ("Outside option (0-1, on the scale of its utility of a deal): what leaving the table is worth "
                       "to the actor. It walks away - a breakdown - once this beats the best deal every actor, itself "
                       "included, could still accept (or no deal, where none remains). An actor without one never "
                       "walks away.")
"""The two words every page, the docs and the CLI use, explained the same way (docs/model.md section 3.8)."""

TENSION_WORDS = "tension (derived: deadlock raises it, concessions lower it)"
"""How the pages name tension: it is shown and slows concessions, but no longer ends the talks by itself."""


def issue_why(result: RunResult, issue_id: str) -> str:
    """What settled or blocked one issue: the service's sentence (`IssueResult.why`, as the CLI prints it)."""
    return result.issues[issue_id].why


def walked_names(result: RunResult) -> str:
    """The names of the actors that walked away ('' if none did)."""
    s = result.scenario
    return issue_list([s.actor(a).name for a in result.walked_out])


def _open_whys(result: RunResult) -> str:
    """'Label: why; ...' for every issue not agreed."""
    s = result.scenario
    return "; ".join(f"{md(s.issue(i).label)}: {md(r.why)}" for i, r in result.issues.items()
                     if not r.agreed and r.why)


def outcome_sentence(result: RunResult) -> tuple[str, str]:
    """(kind, text): a plain-language summary of where the run stands; kind is success/warning/error/info.
    Unsettled issues are explained with the service's own sentences (`IssueResult.why`). Markdown: the
    scenario's labels, units and names are escaped (`text.md`)."""
    s = result.scenario
    p = s.protocol
    agreed = [md(s.issue(i).label) for i, r in result.issues.items() if r.agreed]
    open_ = [md(s.issue(i).label) for i, r in result.issues.items() if not r.agreed]
    m = len(result.issues)
    values = "; ".join(f"{md(s.issue(i).label)}: {md(fmt(r.value, s.issue(i).scale.unit))}"
                       for i, r in result.issues.items() if r.agreed)
    whys = _open_whys(result)
    if result.outcome == "agreement":
        last = max(r.round or 0 for r in result.issues.values())
        everything = "The single issue was" if m == 1 else f"All {m} issues were"
        return "success", (f"**Agreement** by round {last}. {everything} settled: {values}.")
    if result.outcome == "partial":
        return "warning", (f"**Partial agreement** after {result.rounds} rounds: {issue_list(agreed)} settled "
                           f"({values}); {issue_list(open_)} still open when the talks ended"
                           + (f". Why: {whys}." if whys else "."))
    if result.outcome == "stalemate":
        return "warning", (f"**Stalemate**: no agreement within the {p.max_rounds} rounds allowed, and nobody "
                           f"walked away ({TENSION_WORDS} ended at {result.tension:.2f})."
                           + (f" Why, issue by issue: {whys}." if whys else ""))
    if result.outcome == "breakdown":
        settled = f" {issue_list(agreed)} had been settled ({values})." if agreed else ""
        who = md(walked_names(result))
        if who:
            its = "its outside option was" if len(result.walked_out) == 1 else "their outside options were"
            what = (f"{who} walked away from the talks: {its} worth more than the best deal every actor, "
                    "itself included, could still accept (or no deal, where none remained)")
        else:
            what = "the talks were abandoned"
        return "error", f"**Breakdown** in round {result.rounds}: {what}.{settled}"
    if result.rounds == 0:
        return "info", (f"**Round 0 of at most {p.max_rounds}**: the opening positions. Press **Run to the end** "
                        "to play every round, or **Step one round** to watch the talks move.")
    so_far = f" So far agreed: {values}." if agreed else " Nothing agreed yet."
    return "info", (f"**Round {result.rounds} of at most {p.max_rounds}**: the talks go on; {TENSION_WORDS} "
                    f"{result.tension:.2f}.{so_far}")


def values_note(result: RunResult, page: str) -> str:
    """Which values a page shows, coded or drawn, when they differ: '' when the run plays the inputs as coded."""
    if not result.inputs:
        return ""
    n = len(result.inputs)
    if page == "analysis":
        return (f"**Coded values**: the ranges, zones and Pareto utilities here use the scenario's values as coded "
                f"(the sidebar's). The simulated outcome is the run's, which drew its {n} uncertain inputs from "
                f"seed {result.seed}: its numbers can differ a little (see the Negotiation page).")
    return (f"**Drawn values**: this run drew its {n} uncertain inputs from seed {result.seed}, and the sentences "
            "above quote them, which can differ a little from the coded ones. The sidebar and the Analysis page show "
            "the coded values.")


def banner(result: RunResult) -> None:
    kind, text = outcome_sentence(result)
    icon = {"success": ":material/handshake:", "warning": ":material/pause_circle:", "error": ":material/crisis_alert:",
            "info": ":material/info:"}[kind]
    getattr(st, kind)(text, icon=icon)


# ---------------------------------------------------------------------- download contents
def history_csv(result: RunResult) -> str:
    """The tidy per-round table (round 0 = opening positions), as `negsim run --rounds-csv` writes it."""
    return result.recorded_history().to_csv(index=False)


def outcome_json(result: RunResult) -> str:
    """The run as the JSON object of `negsim run --json`."""
    return json.dumps(result.to_dict(), indent=2, allow_nan=False) + "\n"


def scenario_yaml(scenario: Scenario, source_text: str | None = None,
                  edits: dict[str, Any] | None = None) -> str:
    """The (edited) scenario as YAML that `negsim validate` accepts.

    From a YAML source, its own text with only the edited values changed (comments, order and layout kept);
    the result is checked to read back as exactly `scenario`, else (and for JSON or CSV sources) the scenario
    is written afresh."""
    if source_text is not None:
        try:
            text = drop_ranges(edit_text(source_text, edits or {}), list(edits or {}))
            if parse_text(text, "yaml") == scenario:
                return text
        except (RoundTripError, ScenarioError):
            pass
    return dump_yaml(scenario)


def drop_ranges(text: str, paths: list[str]) -> str:
    """The YAML `text` without the `uncertainty` entries of `paths` (a value set by hand is no longer drawn,
    as `sim.scenario.apply_params` has it); nothing else of the text changes."""
    from sim.scenario.yaml_roundtrip import _yaml

    if "uncertainty" not in text or not paths:
        return text
    rt = _yaml()
    doc = rt.load(text)
    ranges = doc.get("uncertainty") if isinstance(doc, dict) else None
    if not isinstance(ranges, dict) or not any(path in ranges for path in paths):
        return text
    for path in paths:
        ranges.pop(path, None)
    if not ranges:
        doc.pop("uncertainty")
    out = io.StringIO()
    rt.dump(doc, out)
    return out.getvalue()
