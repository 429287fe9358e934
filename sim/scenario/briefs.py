"""Briefs rendered from the coded values: a number in a role brief is a placeholder, never typed twice.

A brief (an actor's `brief.public`, `brief.confidential`, `brief.goals`, and the scenario's `background`) may name
the scenario's numbers in braces; they are filled in from the scenario wherever a brief is shown (classroom,
dashboard, `negsim brief`). The placeholders are a fixed mapping of names to text, filled by a tiny substitution of
our own (no `str.format`, no attribute access), so a brief can read nothing but these values:

- `{deadline}`: the last round (`protocol.max_rounds`); with a calendar, `{start_date}`, `{deadline_date}` and
  `{days_per_round}`; per dated inject, `{date.INJECT}` ("14 February 2022");
- per issue: `{scale.ISSUE}` ("0-100", with its unit), `{min.ISSUE}`, `{max.ISSUE}`, `{status_quo.ISSUE}`;
- per actor and issue: `{ACTOR.ideal.ISSUE}`, `{ACTOR.red_line.ISSUE}`, `{ACTOR.salience.ISSUE}`, and per actor
  `{ACTOR.reservation_utility}`, `{ACTOR.outside_option}`;
- in an actor's own brief, the same without the actor: `{ideal.ISSUE}`, `{red_line.ISSUE}`, ...

`{{` and `}}` stand for literal braces. Any other brace must open or close a placeholder: a lone `{` or `}`, or
braces nested inside a placeholder (`{red_line.{ideal.cbm}}`, which would otherwise render as "{red_line.85}"), is
a `ScenarioError` naming the text and quoting it around the brace. A placeholder outside this list (a misspelt
name, an unknown actor, issue or inject) is a `ScenarioError` naming it, when the file is loaded
(`validate.parse_scenario`). A known name whose value the scenario leaves out (a red line removed in the
dashboard's editor, no calendar) renders as what is coded: "none (no red line)", "undated (no calendar)"
(`UNSET`), so editing a value never breaks its brief.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

from sim.scenario.errors import Problem, ScenarioError

if TYPE_CHECKING:
    from sim.scenario.schema import Actor, Brief, Scenario

_TOKEN = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|(?P<stray>[{}])")


class UnknownPlaceholder(KeyError):
    """A placeholder the mapping has not got."""


class StrayBrace(ValueError):
    """A brace that opens or closes no placeholder (unmatched, or nested in one): args (message,)."""


def stray_brace(text: str) -> str | None:
    """What is wrong with the first brace in `text` that is neither `{{`, `}}` nor part of a `{name}`
    placeholder, quoting the text around it; None when every brace is sound."""
    for match in _TOKEN.finditer(text):
        if match.group("stray") is not None:
            at = match.start()
            # a '{' with another '{' before the next '}' opens a placeholder with one inside; a stray '}' comes
            # after any such '{' (found first), so it is unmatched
            nested = match.group() == "{" and "{" in text[at + 1:].split("}", 1)[0]
            excerpt = text[max(0, at - 30):at + 30].replace("\n", " ")
            kind = "brace nested in a placeholder" if nested else f"unmatched '{match.group()}'"
            return (f"{kind} at character {at + 1} in \"{excerpt}\" (a placeholder is {{name}}, with no braces "
                    f"inside; write {{{{ and }}}} for literal braces)")
    return None


def _rendered(text: str, values: Mapping[str, str], path: str) -> str:
    """`substitute`, an unknown placeholder a ScenarioError at `path` (a scenario built in Python without
    `parse_scenario`, which checks them)."""
    try:
        return substitute(text, values)
    except UnknownPlaceholder as error:
        raise ScenarioError([Problem(path, f"unknown placeholder '{{{error.args[0]}}}'")]) from None
    except StrayBrace as error:
        raise ScenarioError([Problem(path, error.args[0])]) from None


def number(value: float) -> str:
    """A coded number as a brief shows it: whole numbers without a decimal point, others as `%g`."""
    value = float(value)
    return str(int(value)) if value.is_integer() else f"{value:g}"


def day(value: dt.date) -> str:
    """A date as a brief shows it: '24 February 2022'."""
    return f"{value.day} {value:%B %Y}"


def placeholders(text: str) -> list[str]:
    """The placeholder names in `text`, in order."""
    return [m.group(1) for m in _TOKEN.finditer(text) if m.group(1) is not None]


def substitute(text: str, values: Mapping[str, str]) -> str:
    """`text` with each `{name}` replaced by values[name] and `{{`, `}}` by braces; raises UnknownPlaceholder
    naming the first name `values` has not got, StrayBrace on a lone or nested brace (checked first)."""
    problem = stray_brace(text)
    if problem is not None:
        raise StrayBrace(problem)

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name is None:
            return match.group()[0]
        if name not in values:
            raise UnknownPlaceholder(name)
        return values[name]
    return _TOKEN.sub(replace, text)


UNSET = {"red_line": "none (no red line)", "status_quo": "none (no status quo)",
         "outside_option": "none (no outside option)", "date": "undated (no calendar)"}
"""What a placeholder of a value the scenario leaves out says (a red line removed in the editor, no calendar): the
name is known, so the brief still renders, and says plainly that nothing is coded."""


def scenario_values(scenario: Scenario) -> dict[str, str]:
    """Every placeholder of the scenario's texts (not the shorthands of one actor's brief)."""
    protocol, calendar = scenario.protocol, scenario.protocol.calendar
    values = {"deadline": number(protocol.max_rounds)}
    if calendar is None:
        values.update(start_date=UNSET["date"], deadline_date=UNSET["date"], days_per_round=UNSET["date"])
    else:
        values.update(start_date=day(calendar.start), deadline_date=day(calendar.date_of(protocol.max_rounds)),
                      days_per_round=number(calendar.days_per_round))
    for inject in scenario.injects:
        if inject.date is not None:
            values[f"date.{inject.id}"] = day(inject.date)
        elif inject.round is not None and calendar is not None:
            values[f"date.{inject.id}"] = day(calendar.date_of(inject.round))
        else:
            values[f"date.{inject.id}"] = UNSET["date"]
    for issue in scenario.issues:
        unit = f" {issue.scale.unit}" if issue.scale.unit else ""
        values[f"scale.{issue.id}"] = f"{number(issue.scale.min)}-{number(issue.scale.max)}{unit}"
        values[f"min.{issue.id}"] = number(issue.scale.min)
        values[f"max.{issue.id}"] = number(issue.scale.max)
        values[f"status_quo.{issue.id}"] = (UNSET["status_quo"] if issue.status_quo is None
                                            else number(issue.status_quo))
    for actor in scenario.actors:
        values.update({f"{actor.id}.{name}": text for name, text in _own(actor, scenario.issue_ids).items()})
    return values


def _own(actor: Actor, issues: Iterable[str]) -> dict[str, str]:
    values = {}
    for issue in issues:     # a position or salience left out is a problem `checks` reports, not a placeholder's
        if issue in actor.positions:
            values[f"ideal.{issue}"] = number(actor.positions[issue])
        if issue in actor.saliences:
            values[f"salience.{issue}"] = number(actor.saliences[issue])
        line = actor.red_lines.get(issue)
        values[f"red_line.{issue}"] = UNSET["red_line"] if line is None else number(line)
    values["reservation_utility"] = number(actor.reservation_utility)
    values["outside_option"] = (UNSET["outside_option"] if actor.outside_option is None
                                else number(actor.outside_option.value))
    return values


def actor_values(scenario: Scenario, actor_id: str) -> dict[str, str]:
    """The placeholders of one actor's brief: the scenario's, and its own without the actor's id."""
    return {**scenario_values(scenario), **_own(scenario.actor(actor_id), scenario.issue_ids)}


def rendered_brief(scenario: Scenario, actor_id: str) -> Brief:
    """The actor's brief with its placeholders filled in from the scenario."""
    brief = scenario.actor(actor_id).brief
    values = actor_values(scenario, actor_id)
    where = f"actors.{actor_id}.brief"
    return brief.model_copy(update={
        "public": _rendered(brief.public, values, f"{where}.public"),
        "confidential": _rendered(brief.confidential, values, f"{where}.confidential"),
        "goals": [_rendered(goal, values, f"{where}.goals.{k}") for k, goal in enumerate(brief.goals)]})


def rendered_background(scenario: Scenario) -> str:
    """The scenario's background with its placeholders filled in."""
    return _rendered(scenario.background, scenario_values(scenario), "background")


def texts(scenario: Scenario) -> Iterable[tuple[tuple, str, str | None]]:
    """Every text with placeholders: (path, text, the actor whose brief it is or None)."""
    yield ("background",), scenario.background, None
    for actor in scenario.actors:
        yield ("actors", actor.id, "brief", "public"), actor.brief.public, actor.id
        yield ("actors", actor.id, "brief", "confidential"), actor.brief.confidential, actor.id
        for k, goal in enumerate(actor.brief.goals):
            yield ("actors", actor.id, "brief", "goals", k), goal, actor.id


def placeholder_problems(scenario: Scenario) -> list[tuple[tuple, str, str]]:
    """Each text's placeholders the scenario has not got: (path, message, the placeholder)."""
    shared = scenario_values(scenario)
    problems = []
    for path, text, actor_id in texts(scenario):
        if "{" not in text and "}" not in text:
            continue
        stray = stray_brace(text)
        if stray is not None:
            problems.append((path, stray, text))
            continue
        values = shared if actor_id is None else {**shared, **_own(scenario.actor(actor_id), scenario.issue_ids)}
        for name in placeholders(text):
            if name not in values:
                problems.append((path, f"unknown placeholder '{{{name}}}' (placeholders: see `negsim brief "
                                       f"--placeholders`; e.g. {{red_line.ISSUE}}, {{ideal.ISSUE}}, {{deadline}})",
                                 name))
    return problems
