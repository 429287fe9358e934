"""The CLI contract: run (summary, --json, --rounds-csv), validate, schema, params; exit 2 on bad input."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sim.cli import app
from sim.scenario import ScenarioError, json_schema, load_scenario, parse_scenario
from tests.conftest import BASELINE, SCENARIOS

runner = CliRunner()


def invoke(*args: str):
    return runner.invoke(app, [str(a) for a in args])


def test_run_prints_a_readable_summary():
    result = invoke("run", BASELINE)
    assert result.exit_code == 0, result.output
    assert "Outcome:" in result.output and "expansion" in result.output and "russia" in result.output


def test_run_json_follows_the_contract():
    result = invoke("run", BASELINE, "--json", "--seed", "7", "--max-rounds", "12")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert {"scenario", "seed", "mechanism", "rounds", "outcome", "issues", "actors"} <= set(data)
    assert data["scenario"] == "feb2022_baseline" and data["seed"] == 7 and data["rounds"] <= 12
    assert data["mechanism"] == "concession"
    assert data["outcome"] in ("agreement", "partial", "stalemate", "breakdown")
    for issue in ("expansion", "missiles", "cbm"):
        entry = data["issues"][issue]
        assert {"agreed", "value", "round", "baseline"} <= set(entry)
        assert set(entry["baseline"]) == {"weighted_mean", "weighted_median"}
        assert 0 <= entry["baseline"]["weighted_mean"] <= 100
    for actor in ("russia", "us", "nato", "eu"):
        assert set(data["actors"][actor]["final_positions"]) == {"expansion", "missiles", "cbm"}
        assert isinstance(data["actors"][actor]["utility"], float)
    again = json.loads(invoke("run", BASELINE, "--json", "--seed", "7", "--max-rounds", "12").stdout)
    assert again == data


def test_rounds_csv_is_tidy_with_round_zero_initial(tmp_path):
    out = tmp_path / "rounds.csv"
    result = invoke("run", BASELINE, "--rounds-csv", out, "--seed", "3", "--as-coded")
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(out.open()))
    assert list(rows[0])[:4] == ["round", "actor", "issue", "position"]
    initial = {(r["actor"], r["issue"]): float(r["position"]) for r in rows if r["round"] == "0"}
    scenario = load_scenario(BASELINE)
    assert initial == {(a.id, i): a.positions[i] for a in scenario.actors for i in scenario.issue_ids}
    rounds = {int(r["round"]) for r in rows}
    assert rounds == set(range(max(rounds) + 1)) and len(rows) == len(rounds) * 4 * 3
    assert all(r["reason"] for r in rows)


def test_every_shipped_scenario_runs_with_both_mechanisms():
    for path in sorted(SCENARIOS.glob("*.yaml")) + sorted(SCENARIOS.glob("*.csv")):
        for mechanism in ("concession", "expected_utility"):
            result = invoke("run", path, "--json", "--mechanism", mechanism)
            assert result.exit_code == 0, (path, mechanism, result.output)
            assert json.loads(result.stdout)["mechanism"] == mechanism


def test_validate_reports_each_file(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(BASELINE.read_text().replace("expansion: 100 ", "expansion: 140 ", 1))
    ok = invoke("validate", BASELINE, SCENARIOS / "ec_emissions_1994.csv")
    assert ok.exit_code == 0 and ok.output.count(": ok") == 2
    result = invoke("validate", BASELINE, bad)
    assert result.exit_code == 2
    assert "actors.russia.positions.expansion: must be <= 100 (got 140)" in result.stderr


@pytest.mark.parametrize("content,message", [
    ("", "file is empty"),
    ("id: x\n  bad: [indent", "YAML syntax error"),
    ("- 1\n- 2\n", "got a list"),
    ("id: x\ntitle: y\nissues: []\nactors: []\n", "issues: must have at least 1 item"),
])
def test_bad_input_exits_2_without_traceback(tmp_path, content, message):
    path = tmp_path / "s.yaml"
    path.write_text(content)
    for command in ("run", "validate", "params"):
        result = invoke(command, path)
        assert result.exit_code == 2, (command, result.output)
        assert message in result.stderr, (command, result.stderr)
        assert "Traceback" not in result.output


def test_bad_options_exit_2(tmp_path):
    assert invoke("run", BASELINE, "--mechanism", "voodoo").exit_code == 2
    assert invoke("run", BASELINE, "--max-rounds", "0").exit_code == 2
    assert invoke("run", tmp_path / "missing.yaml").exit_code == 2
    result = invoke("run", SCENARIOS / "ec_emissions_1994.csv", "--scale", "10:4")
    assert result.exit_code == 2 and "--scale" in result.stderr


def test_schema_and_params():
    schema = json.loads(invoke("schema").stdout)
    assert schema == json_schema()
    lines = invoke("params", BASELINE).stdout.splitlines()
    table = {path: (value, name) for path, value, name in (line.split("\t") for line in lines)}
    assert table["actors.russia.positions.expansion"] == ("100.0", "Russia - position on NATO eastward expansion")
    assert table["actors.russia.outside_option.trend"][1] == "Russia - outside option, trend per round"
    assert table["protocol.mechanism"] == ("concession", "Rules - mechanism")
    assert all("\t" in line for line in lines)


def test_module_and_console_script_entry_points():
    for command in ([sys.executable, "-m", "sim", "validate", str(BASELINE)],):
        done = subprocess.run(command, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
    done = subprocess.run([sys.executable, "-m", "sim", "run", "nope.yaml"], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 2 and "file not found" in done.stderr and "Traceback" not in done.stderr


def test_scenario_error_lists_problems_in_its_message():
    with pytest.raises(ScenarioError) as caught:
        parse_scenario({"id": "x"})
    assert "title: required field missing" in str(caught.value)


def test_json_scenario_files_run_like_yaml(tmp_path):
    path = tmp_path / "baseline.json"
    path.write_text(json.dumps(load_scenario(BASELINE).model_dump(by_alias=True, exclude_none=True)))
    from_json = json.loads(invoke("run", path, "--json").stdout)
    from_yaml = json.loads(invoke("run", BASELINE, "--json").stdout)
    assert from_json == from_yaml


HEAVY = ("mesa", "streamlit", "altair", "pyarrow", "pandas", "scipy", "dask", "vl_convert")
"""Modules `import sim.cli` and the light commands must not import (Mesa alone costs about a second)."""
REPORT_HEAVY = ("import atexit, sys\n"
                f"atexit.register(lambda: print(*sorted(set({HEAVY!r}) & set(sys.modules)), file=sys.stderr))\n")


def test_importing_the_cli_does_not_import_the_model_or_the_dashboard():
    code = f"import sys\nimport sim.cli\nprint(*sorted(set({HEAVY!r}) & set(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == [], f"import sim.cli imported {done.stdout.strip()}"


@pytest.mark.parametrize("args", [["--help"], ["validate", str(BASELINE)], ["schema"], ["params", str(BASELINE)]])
def test_light_commands_do_not_import_the_model(args):
    code = REPORT_HEAVY + f"sys.argv = ['negsim', *{args!r}]\nfrom sim.cli import main\nmain()"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stderr.split() == [], f"negsim {args[0]} imported {done.stderr.strip()}"


def test_lazy_package_attributes_still_work():
    code = ("import sys, sim\nassert 'mesa' not in sys.modules\n"
            "from sim import NegotiationModel, Scenario, ScenarioError, load_scenario, service\n"
            "from sim.sweep import SweepError, run_sweep, sweep\n"
            "import sim.engine.model, sim.scenario, sim.sweep.directory\n"
            "assert NegotiationModel is sim.engine.model.NegotiationModel\n"
            "assert ScenarioError is sim.scenario.ScenarioError\n"
            "assert SweepError is sim.sweep.directory.SweepError\n"
            "assert set(sim.__all__) <= set(dir(sim))\n"
            "try:\n    sim.nope\nexcept AttributeError:\n    pass\nelse:\n    raise SystemExit('sim.nope')\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr


def test_mechanisms_lists_the_registry_with_each_mechanisms_parameters():
    from sim.mechanisms import REGISTRY

    done = subprocess.run([sys.executable, "-m", "sim", "mechanisms"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    names = [line.split("\t")[0] for line in done.stdout.splitlines() if not line.startswith(" ")]
    assert names == list(REGISTRY)
    assert "  protocol.expected_utility.status_quo_probability\t1.0\t" in done.stdout


def test_only_the_registry_names_mechanisms():
    """No module outside sim/mechanisms compares a mechanism's name: interfaces read the registry."""
    from sim.mechanisms import REGISTRY

    root = Path(__file__).resolve().parents[1]
    offenders = []
    for path in [*root.glob("sim/**/*.py"), *root.glob("dashboard/**/*.py")]:
        if "mechanisms" in path.parts:
            continue
        text = path.read_text()
        for name in REGISTRY:
            for quote in ('"', "'"):
                for op in ("==", "!="):
                    if f"{op} {quote}{name}{quote}" in text or f"{quote}{name}{quote} {op}" in text:
                        offenders.append(f"{path.relative_to(root)}: {op} {name}")
    assert offenders == []
