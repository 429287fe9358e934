"""Briefs state the scenario's numbers from its coded values (`sim.scenario.briefs`), never typed twice."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from sim.scenario import (
    ScenarioError,
    load_scenario,
    params,
    parse_scenario,
    rendered_background,
    rendered_brief,
)
from sim.scenario.briefs import placeholders, substitute, texts
from tests.conftest import SCENARIOS

SHIPPED = sorted(SCENARIOS.glob("*.yaml"))
NUMBER = re.compile(r"(?<![\w.])-?\d+(?:\.\d+)?(?![\w])")
YEAR = re.compile(r"^(19|20)\d\d$")
"""A year (1999, the OSCE decisions of; 2020, Russia's proposal of) is history, not a coded value."""


def coded_numbers(scenario) -> set[float]:
    """Every number the file codes: its parameter values, its scales' bounds, its deadline (dates: `coded_dates`)."""
    values = {float(v) for v in params(scenario).values() if isinstance(v, (int, float)) and not isinstance(v, bool)}
    for issue in scenario.issues:
        values |= {issue.scale.min, issue.scale.max}
    values.add(float(scenario.protocol.max_rounds))
    return values


MONTHS = [dt.date(2000, m, 1).strftime("%B") for m in range(1, 13)]
DATE = re.compile(r"\b(\d{1,2}) (" + "|".join(MONTHS) + r")(?: (\d{4}))?\b")


def coded_dates(scenario) -> set[tuple[int, int]]:
    """(day, month) of every date the file codes: its calendar's start and deadline, its dated injects."""
    days = [inject.date for inject in scenario.injects if inject.date is not None]
    if scenario.protocol.calendar is not None:
        days += [scenario.protocol.calendar.start, scenario.date_of(scenario.protocol.max_rounds)]
    return {(d.day, d.month) for d in days}


def stated_dates(text: str) -> list[tuple[int, int]]:
    return [(int(m.group(1)), MONTHS.index(m.group(2)) + 1) for m in DATE.finditer(text)]


def stated_numbers(text: str) -> list[float]:
    """The numbers a text states, dates and years aside ("0-100" is two numbers, 0 and 100)."""
    text = DATE.sub(" ", text)
    return [float(n) for n in NUMBER.findall(text.replace("-", " - ")) if not YEAR.match(n.lstrip("-"))]


def shown_texts(scenario):
    """Every brief as a player sees it (rendered), with its path."""
    yield "background", rendered_background(scenario)
    for actor in scenario.actors:
        brief = rendered_brief(scenario, actor.id)
        yield f"actors.{actor.id}.brief.public", brief.public
        yield f"actors.{actor.id}.brief.confidential", brief.confidential
        for k, goal in enumerate(brief.goals):
            yield f"actors.{actor.id}.brief.goals.{k}", goal


def uncoded(scenario) -> list[str]:
    """Numbers a shown brief states that the file does not code."""
    coded, dates = coded_numbers(scenario), coded_dates(scenario)
    return ([f"{path}: {n:g}" for path, text in shown_texts(scenario) for n in stated_numbers(text) if n not in coded]
            + [f"{path}: {d}/{m}" for path, text in shown_texts(scenario) for d, m in stated_dates(text)
               if (d, m) not in dates])


def typed(scenario) -> list[str]:
    """Numbers typed into a brief's text rather than named by a placeholder. Years and dates aside: they are
    history quoted from the source ("On 14 February Lavrov reported"), which `uncoded` checks against the dates
    the file codes (or name them: {date.INJECT})."""
    out = []
    for path, text, _ in texts(scenario):
        bare = re.sub(r"\{[^{}]*\}", " ", text)
        out += [f"{'.'.join(map(str, path))}: {n:g}" for n in stated_numbers(bare)]
    return out


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_every_number_in_a_shipped_brief_is_coded_in_its_file(path):
    scenario = load_scenario(path)
    assert uncoded(scenario) == []
    assert typed(scenario) == []


@pytest.mark.parametrize("path", [p for p in SHIPPED if p.stem.startswith("feb2022")], ids=lambda p: p.stem)
def test_the_western_red_lines_in_the_briefs_are_the_coded_ones(path):
    scenario = load_scenario(path)
    for actor in ("us", "nato"):
        line = scenario.actor(actor).red_lines["expansion"]
        goal = rendered_brief(scenario, actor).goals[0]
        assert f"never accept more than {line:g}." in goal, goal
    assert "never accept less than 75." in rendered_brief(scenario, "russia").goals[0]


def test_the_check_catches_a_number_typed_into_a_brief(baseline_doc):
    """The old US brief said 10 while the file codes 25: both checks fail on it."""
    us = next(a for a in baseline_doc["actors"] if a["id"] == "us")
    us["brief"]["goals"][0] = "Expansion: keep the open door. Red line: never accept more than 10."
    scenario = parse_scenario(baseline_doc)
    assert uncoded(scenario) == ["actors.us.brief.goals.0: 10"]
    assert typed(scenario) == ["actors.us.brief.goals.0: 10"]
    us["brief"]["goals"][0] = "Expansion: red line: never accept more than {red_line.expansion}."
    scenario = parse_scenario(baseline_doc)
    assert uncoded(scenario) == typed(scenario) == []
    assert rendered_brief(scenario, "us").goals[0].endswith("more than 25.")


def test_a_brief_follows_the_coded_value(baseline_doc):
    nato = next(a for a in baseline_doc["actors"] if a["id"] == "nato")
    nato["red_lines"]["expansion"] = 30
    scenario = parse_scenario(baseline_doc)
    assert "never accept more than 30." in rendered_brief(scenario, "nato").goals[0]
    del nato["red_lines"]["expansion"]      # a value left out still renders: what is coded is no red line
    baseline_doc["uncertainty"].pop("actors.nato.red_lines.expansion")
    scenario = parse_scenario(baseline_doc)
    assert "never accept more than none (no red line)." in rendered_brief(scenario, "nato").goals[0]
    assert "deadline" not in placeholders(scenario.actor("nato").brief.goals[0])


@pytest.mark.parametrize("placeholder", ["{red_line.nowhere}", "{ideal.nowhere}", "{__class__}",
                                         "{red_line.expansion.__class__}", "{0}", "{}", "{deadline!r}",
                                         "{us.red_line.expansion:>10}"])
def test_an_unknown_placeholder_is_a_scenario_error_naming_it(baseline_doc, placeholder):
    """Only the fixed mapping's names: no attribute access, no indexing, no format specs."""
    russia = next(a for a in baseline_doc["actors"] if a["id"] == "russia")
    russia["brief"]["public"] = f"Russia's line: {placeholder}."
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(baseline_doc)
    assert len(caught.value.problems) == 1
    problem = str(caught.value.problems[0])
    assert problem.startswith("actors.russia.brief.public: unknown placeholder")
    assert placeholder in problem


def test_placeholders_of_other_actors_the_calendar_and_literal_braces(baseline_doc):
    baseline_doc["background"] = ("Russia asks for {russia.ideal.expansion}; the West stops at "
                                  "{us.red_line.expansion}. Talks from {start_date} to {deadline_date} "
                                  "(round {deadline}); {{braces}} stay.")
    scenario = parse_scenario(baseline_doc)
    assert rendered_background(scenario) == ("Russia asks for 100; the West stops at 25. Talks from 17 December 2021 "
                                         "to 25 February 2022 (round 20); {braces} stay.")
    assert substitute("{a}{{b}}", {"a": "x"}) == "x{b}"


def test_the_classroom_report_and_the_cli_show_rendered_briefs(tmp_path):
    from typer.testing import CliRunner

    from sim.cli.app import app

    result = CliRunner().invoke(app, ["brief", str(SCENARIOS / "feb2022_baseline.yaml"), "--actor", "us",
                                      "--confidential"])
    assert result.exit_code == 0, result.output
    assert "never accept more than 25." in result.output and "{" not in result.output
    bad = CliRunner().invoke(app, ["brief", str(SCENARIOS / "feb2022_baseline.yaml"), "--actor", "nobody"])
    assert bad.exit_code == 2 and "unknown actor id 'nobody'" in bad.output


def test_a_date_in_a_brief_must_be_one_the_file_codes(baseline_doc):
    baseline_doc["background"] = baseline_doc["background"].replace("On 14 February", "On 15 February")
    assert uncoded(parse_scenario(baseline_doc)) == ["background: 15/2"]
    baseline_doc["background"] = "On {date.putin_lavrov} Lavrov reported."
    scenario = parse_scenario(baseline_doc)
    assert rendered_background(scenario) == "On 14 February 2022 Lavrov reported." and uncoded(scenario) == []
