"""Pieces every page uses: problem boxes, plain-language outcome text, number formats, downloads."""

from __future__ import annotations

import json
import math
from typing import Any

import streamlit as st

from dashboard.state import Current
from sim.scenario import Scenario, ScenarioError, dump_yaml, parse_text
from sim.service import RunResult
from sim.yaml_roundtrip import RoundTripError, edit_text

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


def final_offers(result: RunResult, issue_id: str) -> list[float]:
    return [r.final_positions[issue_id] for r in result.actors.values()]


def offers_met(result: RunResult) -> dict[str, bool]:
    """Per issue: did every actor's last offer come within the agreement tolerance of the proposal on the table
    (the model's test for accepting it)? Read from the run's own offers, not assumed from the outcome."""
    s = result.scenario
    tolerance = s.protocol.agreement_tolerance
    met = {}
    for issue_id, r in result.issues.items():
        reach = tolerance * s.issue(issue_id).scale.span + 1e-9
        met[issue_id] = r.agreed or all(abs(x - r.proposal) <= reach for x in final_offers(result, issue_id))
    return met


def _spread(result: RunResult, issue_id: str) -> str:
    offers = final_offers(result, issue_id)
    unit = result.scenario.issue(issue_id).scale.unit
    return f"{fmt(min(offers))} to {fmt(max(offers), unit)}"


def blockers(result: RunResult) -> list[str]:
    """Why a proposal all offers had met was still refused: actors for whom it is worth less than walking away
    (from the last round's utilities) or that it pushes past a red line."""
    s = result.scenario
    reasons = []
    if result.history is not None and len(result.history):
        last = result.history[result.history["round"] == result.history["round"].max()]
        utility = last.drop_duplicates("actor").set_index("actor")["utility"]
        below = [a.name for a in s.actors if a.id in utility and utility[a.id] < a.reservation_utility - 1e-9]
        at = [a.name for a in s.actors if a.id in utility and abs(utility[a.id] - a.reservation_utility) <= 1e-9]
        if below:
            reasons.append(f"it is worth less than walking away to {issue_list(below)}")
        elif at:
            reasons.append(f"it is worth no more than walking away to {issue_list(at)}")
    for actor in s.actors:
        for issue_id, line in actor.red_lines.items():
            ideal, proposal = actor.positions[issue_id], result.issues[issue_id].proposal
            if (ideal - line) * (proposal - line) < 0:
                reasons.append(f"it crosses {actor.name}'s red line on {s.issue(issue_id).label} ({fmt(line)})")
    return reasons


def issue_why(result: RunResult, issue_id: str) -> str:
    """What settled or blocked one issue: the service's explanation when it gives one (the `why` the CLI
    prints), else a short account from the run's offers."""
    r = result.issues[issue_id]
    why = getattr(r, "why", None)
    if why:
        return str(why)
    s = result.scenario
    if r.agreed:
        return f"agreed in round {r.round} at {fmt(r.value, s.issue(issue_id).scale.unit)}"
    if result.outcome == "running":
        return "still being negotiated"
    if not offers_met(result)[issue_id]:
        return f"the offers never met (last offers {_spread(result, issue_id)})"
    if s.protocol.linkage == "package" and not all(offers_met(result).values()):
        return "the offers met, but the package rule holds it until every issue is settled"
    return "the offers met, but the deal was not accepted"


def _stalemate_detail(result: RunResult) -> str:
    s = result.scenario
    met = offers_met(result)
    label = {i: s.issue(i).label for i in result.issues}
    joined = [label[i] for i, m in met.items() if m]
    apart = [i for i, m in met.items() if not m]
    gaps = (f"last offers {_spread(result, apart[0])}" if len(apart) == 1
            else "last offers: " + "; ".join(f"{label[i]} {_spread(result, i)}" for i in apart))
    if not joined:
        return f"The actors' offers never met ({gaps})."
    if apart and s.protocol.linkage == "package":
        return (f"The offers met on {issue_list(joined)}, but under the package rule nothing is agreed until "
                f"everything is, and they never met on {issue_list([label[i] for i in apart])} ({gaps}).")
    if apart:
        return (f"The offers met on {issue_list(joined)} without an agreement being accepted, and never met on "
                f"{issue_list([label[i] for i in apart])} ({gaps}).")
    reasons = blockers(result)
    because = f": {'; '.join(reasons)}" if reasons else ""
    everything = "the single issue" if len(joined) == 1 else "every issue"
    return f"The offers met on {everything}, yet the deal on the table was not accepted{because}."


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
                           f"{threshold:.2f}. " + _stalemate_detail(result))
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


def scenario_yaml(scenario: Scenario, source_text: str | None = None,
                  edits: dict[str, Any] | None = None) -> str:
    """The (edited) scenario as YAML that `negsim validate` accepts.

    From a YAML source, its own text with only the edited values changed (comments, order and layout kept);
    the result is checked to read back as exactly `scenario`, else (and for JSON or CSV sources) the scenario
    is written afresh."""
    if source_text is not None:
        try:
            text = edit_text(source_text, edits or {})
            if parse_text(text, "yaml") == scenario:
                return text
        except (RoundTripError, ScenarioError):
            pass
    return dump_yaml(scenario)


def chart_downloads(figures: list, stem: str, where: Any = None) -> None:
    """Two buttons: this page's charts as SVG or PNG files in a zip (rendered only when clicked)."""
    from dashboard import report  # charts and vl-convert: only pages with charts need them

    left, right = (where or st).columns(2)
    left.download_button("Charts (SVG, zip)", icon=":material/image:", on_click="ignore", width="stretch",
                         data=lambda: report.charts_zip(figures, "svg"), file_name=f"{stem}_charts_svg.zip",
                         mime="application/zip", help="Every chart of this page as an SVG file (vector: for print).")
    right.download_button("Charts (PNG, zip)", icon=":material/image:", on_click="ignore", width="stretch",
                          data=lambda: report.charts_zip(figures, "png"), file_name=f"{stem}_charts_png.zip",
                          mime="application/zip", help="Every chart of this page as a PNG file (for slides).")

