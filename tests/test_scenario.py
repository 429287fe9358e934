"""The scenario schema: valid documents load, every kind of bad input is reported with its path."""

from __future__ import annotations

import copy
import json
import re

import pytest
import yaml

from sim.scenario import (
    MAX_FILE_BYTES,
    ScenarioError,
    apply_params,
    dump_yaml,
    json_schema,
    load_scenario,
    params,
    parse_scenario,
    parse_text,
)
from tests.conftest import BASELINE, SCENARIOS


def problems(doc) -> list[str]:
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(doc)
    return [str(p) for p in caught.value.problems]


def test_every_shipped_scenario_is_valid():
    files = sorted(SCENARIOS.glob("*.yaml")) + sorted(SCENARIOS.glob("*.csv"))
    assert len(files) >= 6
    for path in files:
        scenario = load_scenario(path)
        assert len(scenario.actors) >= 2 and len(scenario.issues) >= 1


def test_baseline_matches_the_source(baseline_doc):
    s = parse_scenario(baseline_doc)
    assert s.actor_ids == ["russia", "us", "nato", "eu"]
    assert s.issue_ids == ["expansion", "missiles", "cbm"]
    assert s.actor("russia").positions["expansion"] == 100
    assert s.actor("us").positions["expansion"] == 0
    assert "not a subject for discussion" in s.issue("expansion").low_label


def test_every_number_in_the_shipped_scenarios_is_sourced():
    """Every numeric line carries a comment: a quote from the source or 'assumption'/'variant'."""
    numeric = re.compile(r"^\s*[a-z_]+:\s*-?\d+(\.\d+)?\s*(#.*)?$")
    checked = 0
    for path in SCENARIOS.glob("feb2022_*.yaml"):
        for n, line in enumerate(path.read_text().splitlines(), start=1):
            if numeric.match(line):
                checked += 1
                comment = line.split("#", 1)[1] if "#" in line else ""
                assert len(comment.strip()) > 10, f"{path.name}:{n}: a number without its source: {line.strip()}"
    assert checked > 150


def test_schema_file_is_in_sync():
    on_disk = json.loads((SCENARIOS / "scenario.schema.json").read_text())
    assert on_disk == json_schema(), "regenerate with: negsim schema > scenarios/scenario.schema.json"


def test_position_off_scale_names_actor_and_issue(baseline_doc):
    baseline_doc["actors"][0]["positions"]["expansion"] = 140
    assert "actors.russia.positions.expansion: must be <= 100 (got 140)" in problems(baseline_doc)


def test_all_problems_are_listed_together(baseline_doc):
    doc = copy.deepcopy(baseline_doc)
    doc["actors"][0]["positions"]["expansion"] = 140           # off scale
    doc["actors"][1]["saliences"]["missiles"] = 2              # salience > 1
    doc["actors"][2]["allies"] = {"china": 0.5}                # unknown ally
    del doc["actors"][3]["positions"]["cbm"]                   # missing issue
    doc["actors"][3]["colour"] = "blue"                        # unknown key
    doc["protocol"]["max_rounds"] = "many"                     # wrong type
    found = problems(doc)
    for expected in ("actors.russia.positions.expansion: must be <= 100",
                     "actors.us.saliences.missiles: must be <= 1",
                     "actors.nato.allies.china: unknown actor id 'china'",
                     "actors.eu.positions.cbm: missing",
                     "actors.eu.colour: unknown key",
                     "protocol.max_rounds: must be a whole number"):
        assert any(p.startswith(expected) for p in found), (expected, found)


def test_duplicate_ids_and_unknown_issue(baseline_doc):
    baseline_doc["actors"][1]["id"] = "russia"
    baseline_doc["actors"][0]["saliences"]["trade"] = 0.5
    found = problems(baseline_doc)
    assert any("duplicate id 'russia'" in p for p in found)
    assert any(p.startswith("actors.russia.saliences.trade: unknown issue id") for p in found)


def test_strategy_exponent_must_fit_kind(baseline_doc):
    baseline_doc["actors"][0]["strategy"] = {"kind": "boulware", "exponent": 2.0}
    assert any("boulware needs exponent < 1" in p for p in problems(baseline_doc))


def test_cohesion_weights_sum_to_at_most_one(baseline_doc):
    baseline_doc["actors"][3]["allies"] = {"us": 0.7, "nato": 0.6}
    assert any(p.startswith("actors.eu.allies: cohesion weights must sum to <= 1") for p in problems(baseline_doc))


@pytest.mark.parametrize("text,fmt,message", [
    ("", "yaml", "empty"),
    ("- a\n- b\n", "yaml", "mapping of keys to values (got a list)"),
    ("id: [unclosed\n", "yaml", "YAML syntax error at line"),
    ('{"id": ', "json", "JSON syntax error at line 1"),
    ("42", "yaml", "mapping of keys to values (got int)"),
])
def test_malformed_documents(text, fmt, message):
    with pytest.raises(ScenarioError) as caught:
        parse_text(text or "null", fmt, "x")
    assert message in str(caught.value)


def test_files_that_are_not_scenarios(tmp_path):
    cases = {"empty.yaml": b"   \n", "junk.yaml": bytes(range(256)), "latin.yaml": "id: caf\xe9".encode("latin-1"),
             "big.yaml": b"#" * (MAX_FILE_BYTES + 1)}
    expected = {"empty.yaml": "file is empty", "junk.yaml": "binary data", "latin.yaml": "not UTF-8",
                "big.yaml": "file too large"}
    for name, raw in cases.items():
        (tmp_path / name).write_bytes(raw)
        with pytest.raises(ScenarioError) as caught:
            load_scenario(tmp_path / name)
        assert expected[name] in str(caught.value), name
    with pytest.raises(ScenarioError, match="file not found"):
        load_scenario(tmp_path / "missing.yaml")


def test_bdm_csv_import(tmp_path):
    path = tmp_path / "ec.csv"
    path.write_text("# source line\nActor,Capability,Position,Salience\nNetherlands,0.08,4,80\n"
                    "France,0.16,10,60\nGreece,0.08,7,70\n")
    s = load_scenario(path)
    assert s.actor_ids == ["netherlands", "france", "greece"]
    assert (s.issues[0].scale.min, s.issues[0].scale.max) == (4, 10)
    assert s.actor("france").saliences["issue"] == pytest.approx(0.6)   # 0-100 read as percent
    wide = load_scenario(path, scale=(0, 20))
    assert (wide.issues[0].scale.min, wide.issues[0].scale.max) == (0, 20)


def test_ktab_csv_import(tmp_path):
    path = tmp_path / "k.csv"
    path.write_text("Actor,Description,Power,Pstn1,Sal1,Pstn2,Sal2\nA,first,10,0,0.5,100,1\n"
                    "B,second,20,50,0.7,30,0.2\n")
    s = load_scenario(path)
    assert s.issue_ids == ["issue1", "issue2"]
    assert s.actor("b").positions == {"issue1": 50, "issue2": 30}
    assert s.actor("a").capability == 10


def test_malformed_csv_rows_are_all_reported(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("Actor,Capability,Position,Salience\nA,1,2\nB,x,4,0.5\nC,1,nan,0.5\n")
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    text = str(caught.value)
    assert "row 2: expected 4 columns, got 3" in text
    assert "row 3.Capability: must be a number (got 'x')" in text
    assert "row 4.Position: must be a number" in text
    path.write_text("Name,Weight\nA,1\n")
    with pytest.raises(ScenarioError, match="unrecognised CSV layout"):
        load_scenario(path)


def test_params_lists_paths_by_id_and_apply_round_trips():
    s = load_scenario(BASELINE)
    table = params(s)
    assert table["actors.russia.positions.expansion"] == 100
    assert table["protocol.linkage"] == "package"
    assert table["protocol.tension.hardening"] == 0.5
    assert table["actors.russia.outside_option.trend"] == 0.01
    assert not any(path.startswith("uncertainty") for path in table)     # ranges describe inputs
    assert not any(path.endswith(".id") or path.endswith(".name") for path in table)
    changed = apply_params(s, {"actors.russia.positions.expansion": 60, "protocol.linkage": "issue_by_issue",
                               "actors.eu.red_lines.cbm": 40})
    assert changed.actor("russia").positions["expansion"] == 60
    assert changed.protocol.linkage == "issue_by_issue"
    assert changed.actor("eu").red_lines == {"cbm": 40}
    assert s.actor("russia").positions["expansion"] == 100          # the original is untouched (frozen)


def test_apply_params_rejects_bad_paths_and_values():
    s = load_scenario(BASELINE)
    with pytest.raises(ScenarioError, match="no item with id 'china'"):
        apply_params(s, {"actors.china.capability": 1})
    with pytest.raises(ScenarioError, match="actors.russia.positions.expansion: must be <= 100"):
        apply_params(s, {"actors.russia.positions.expansion": 500})


def test_dumped_yaml_loads_back_identically(tmp_path):
    for path in SCENARIOS.glob("*.yaml"):
        s = load_scenario(path)
        out = tmp_path / path.name
        out.write_text(dump_yaml(s))
        assert load_scenario(out) == s
        assert yaml.safe_load(out.read_text())["id"] == s.id


def test_the_skeleton_in_the_authoring_guide_is_valid():
    guide = (SCENARIOS.parent / "docs" / "scenarios.md").read_text()
    block = guide.split("```yaml", 1)[1].split("```", 1)[0]
    s = parse_text(block, "yaml", "docs/scenarios.md")
    assert s.actor_ids == ["us", "eu"] and s.issue("tariffs").scale.unit == "%"


def test_params_skip_text_lists_and_reach_injects():
    s = load_scenario(BASELINE)
    doc = s.model_dump(by_alias=True)
    doc["actors"][0]["brief"] = {"public": "p", "goals": ["keep the package together"]}
    doc["injects"] = [{"id": "geneva", "label": "Talks in Geneva", "tension": -0.1,
                       "saliences": {"us": {"cbm": 0.2}}}]
    table = params(parse_scenario(doc))
    assert table["injects.geneva.tension"] == -0.1
    assert table["injects.geneva.saliences.us.cbm"] == 0.2
    assert not any("goals" in path or "brief" in path for path in table)


# ====================================================================== loading hostile or careless files
def test_files_are_typed_strictly_and_documents_from_code_as_before(baseline_doc):
    baseline_doc["actors"][0]["capability"] = True
    baseline_doc["protocol"]["max_rounds"] = 20.0
    with pytest.raises(ScenarioError) as caught:
        parse_text(json.dumps(baseline_doc), "json", "f.json")
    assert [str(p) for p in caught.value.problems] == ["actors.russia.capability: must be a number (got True)",
                                                       "protocol.max_rounds: must be a whole number (got 20.0)"]
    assert parse_scenario(baseline_doc).protocol.max_rounds == 20     # the dashboard's documents: lax, as before


def test_yaml_anchors_and_merge_keys_still_work():
    text = BASELINE.read_text() + "\nx_defaults: &d {a: 1, b: 2}\nx_use: {<<: *d, b: 3}\n"
    with pytest.raises(ScenarioError) as caught:
        parse_text(text, "yaml", "f.yaml")
    assert {p.path for p in caught.value.problems} == {"x_defaults", "x_use"}     # unknown keys, not duplicates


def test_one_problem_is_one_line_and_user_text_is_escaped(baseline_doc):
    baseline_doc["\x1b[2J"] = 1
    with pytest.raises(ScenarioError) as caught:
        parse_text(json.dumps(baseline_doc), "json", "a\x1b[31m.json")
    message = str(caught.value)
    assert message == "a\\x1b[31m.json: \\x1b[2J: unknown key (not part of the scenario schema)"


def test_limits_hold_for_parameter_values_too(baseline_doc):
    scenario = parse_scenario(baseline_doc)
    with pytest.raises(ScenarioError) as caught:
        apply_params(scenario, {"issues.cbm.scale.max": 1e300, "actors.us.brief.public": "p" * 20_001})
    assert [p.path for p in caught.value.problems] == ["issues.cbm.scale.max", "actors.us.brief.public"]
    long_brief = apply_params(scenario, {"actors.us.brief.public": "p" * 20_000})     # free text: 20,000
    assert len(long_brief.actor("us").brief.public) == 20_000


def test_csv_actor_ids_are_ascii_and_a_repeated_actor_is_an_error(tmp_path):
    path = tmp_path / "names.csv"
    path.write_text("Actor,Capability,Position,Salience\nÖsterreich,1,0,0.5\nCôte d'Ivoire,1,10,0.5\n",
                    encoding="utf-8")
    assert load_scenario(path).actor_ids == ["osterreich", "cote_d_ivoire"]
    path.write_text("Actor,Capability,Position,Salience\nEU,1,0,0.5\nRussia,1,10,0.5\neu ,2,5,0.5\n")
    with pytest.raises(ScenarioError, match=r"row 4.Actor: 'eu' has the same actor id 'eu' as 'EU' in row 2"):
        load_scenario(path)


def test_for_terminal_shows_control_characters_escaped():
    from sim.scenario.limits import for_terminal

    assert for_terminal("a\x1b[31mb\rc\u202ed\x07") == "a\\x1b[31mb\\rc\\u202ed\\x07"
    assert for_terminal("two\nlines\tand tab") == "two\nlines\tand tab"
    assert for_terminal("two\nlines", newlines=False) == "two\\nlines"
    assert for_terminal("Ünïcödé [bold]") == "Ünïcödé [bold]"


def test_an_issue_id_that_is_not_text_is_a_problem_not_a_crash():
    """Found by the fuzz test: a list as an issue id (with a status quo) made the status-quo check raise TypeError."""
    doc = yaml.safe_load(BASELINE.read_text())
    doc["issues"][0]["id"] = ["expansion"]
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(doc)
    assert "issues.0.id: must be text (got a list)" in str(caught.value)


# ====================================================================== readable names of parameter paths
SHIPPED = sorted(SCENARIOS.glob("*.yaml")) + sorted(SCENARIOS.glob("*.csv"))


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_every_parameter_path_of_every_shipped_scenario_has_a_readable_name(path):
    from sim.scenario import describe_path, params

    scenario = load_scenario(path)
    paths = list(params(scenario)) + list(scenario.uncertainty)
    assert paths
    for item in paths:
        named = describe_path(scenario, item)
        assert named.label.strip() and named.label != item, item
        assert not re.search(r"\b[a-z]+_[a-z_]+\b", named.label), named.label    # no snake_case ids or fields
        assert named.description, item                        # from the schema's field description
        assert item in named.hover
    names = [describe_path(scenario, p).label for p in paths]
    assert len(set(names)) == len(set(paths)), "two parameters share a name"


def test_readable_names_come_from_the_scenario_and_the_schema():
    from sim.scenario import describe_path, label
    from sim.scenario.schema import OutsideOption

    scenario = load_scenario(BASELINE)
    assert label(scenario, "actors.russia.outside_option.trend") == "Russia - outside option, trend per round"
    assert label(scenario, "actors.us.positions.expansion") == "United States - position on NATO eastward expansion"
    assert label(scenario, "actors.us.allies.nato") == "United States - follows NATO"
    assert label(scenario, "protocol.tension.initial") == "Rules - tension, initial level"
    assert label(scenario, "protocol.max_rounds") == "Rules - deadline (rounds)"
    trend = describe_path(scenario, "actors.russia.outside_option.trend")
    assert trend.description == " ".join(OutsideOption.model_fields["trend"].description.split())
    # a red line the file does not set (a sweep may open it) is named too; a path that leads nowhere is itself
    assert label(scenario, "actors.eu.red_lines.cbm") == "European Union - red line on Risk reduction and " \
                                                         "confidence-building measures"
    # the bounds and choices a sweep page offers, from the schema (the issue's scale for native units)
    position = describe_path(scenario, "actors.russia.positions.expansion")
    scale = scenario.issue("expansion").scale
    assert (position.low, position.high) == (scale.min, scale.max)
    assert (trend.low, trend.high) == (-0.2, 0.2)
    assert (describe_path(scenario, "actors.russia.saliences.cbm").low, describe_path(
        scenario, "actors.russia.saliences.cbm").high) == (0.0, 1.0)
    assert describe_path(scenario, "protocol.linkage").options == ("package", "issue_by_issue")
    assert describe_path(scenario, "issues.cbm.de_escalating").options == (False, True)
    assert label(scenario, "actors.nobody.capability") == "actors.nobody.capability"
    assert label(scenario, "protocol.no_such_field") == "protocol.no_such_field"
    # the names follow the scenario: a renamed actor or issue is named as renamed
    doc = scenario.model_dump(by_alias=True, exclude_none=True)
    doc["actors"][0]["name"] = "Russian Federation"
    doc["issues"][0]["label"] = "Enlargement"
    renamed = parse_scenario(doc)
    assert label(renamed, "actors.russia.positions.expansion") == "Russian Federation - position on Enlargement"


def test_a_native_unit_goes_with_the_name():
    from sim.scenario import describe_path

    doc = load_scenario(BASELINE).model_dump(by_alias=True, exclude_none=True)
    doc["issues"][0]["scale"] = {"min": 0, "max": 30, "unit": "years"}
    for actor in doc["actors"]:
        actor["positions"]["expansion"] = min(actor["positions"]["expansion"], 30)
        actor.get("red_lines", {}).pop("expansion", None)
    doc["issues"][0].pop("status_quo", None)
    doc["uncertainty"] = {k: v for k, v in doc.get("uncertainty", {}).items() if "expansion" not in k}
    scenario = parse_scenario(doc)
    assert describe_path(scenario, "actors.russia.positions.expansion").unit == "years"
    assert describe_path(scenario, "issues.expansion.scale.max").unit == "years"
    assert describe_path(scenario, "actors.russia.saliences.expansion").unit == ""


def test_any_path_gets_a_name_and_never_an_exception():
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from sim.scenario import describe_path, params

    scenario = load_scenario(BASELINE)
    pieces = sorted({piece for path in params(scenario) for piece in path.split(".")}) + ["", "x", "0", "$schema"]

    @settings(max_examples=300, deadline=None)
    @given(st.lists(st.sampled_from(pieces) | st.text(max_size=6), min_size=1, max_size=6))
    def check(keys):
        path = ".".join(keys)
        named = describe_path(scenario, path)
        assert named.path == path and (named.label or not path)      # a path that leads nowhere: itself

    check()
