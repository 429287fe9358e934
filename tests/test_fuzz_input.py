"""Fuzzing the command line with generated files (issue 15): raw bytes, text in the syntax of scenario files, and
valid scenarios with hostile mutations. Whatever the input, `negsim` exits 0 or 2 and never with a traceback;
a run that exits 0 with --json prints valid JSON (no NaN).

1,150 cases in all (the CI profile replays a fixed set; see conftest.py). The commands run in-process (typer's
CliRunner) so that the cases fit in well under a minute; tests/test_cli_bad_input.py runs the named cases as real
processes.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from sim.cli import app
from tests.conftest import BASELINE

FUZZ = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
runner = CliRunner()


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


def invoke(*args: Any):
    return runner.invoke(app, [str(a) for a in args])


def assert_clean(result, args: tuple) -> None:
    """Exit 0 or 2, no exception escaped the command, no traceback printed."""
    assert result.exit_code in (0, 2), (args, result.exit_code, result.output[-1500:], result.exception)
    assert result.exception is None or isinstance(result.exception, SystemExit), (args, repr(result.exception))
    assert "Traceback" not in result.output


def write(workdir: Path, name: str, data: bytes | str) -> Path:
    path = workdir / name
    path.write_bytes(data if isinstance(data, bytes) else data.encode("utf-8", "surrogatepass"))
    return path


# ====================================================================== raw bytes and syntax soup
SYNTAX = st.lists(st.sampled_from(list("{}[]:,-\"'#&*!|>? \n\t0123456789.eE+abcxyz_") +
                                  ["NaN", "Infinity", "true", "null", "<<", "\\u0000", "\x1b", "é", "id", "title",
                                   "actors", "issues", "Actor,Capability,Position,Salience\n"]),
                  max_size=200).map("".join)


@settings(FUZZ, max_examples=400)
@given(data=st.one_of(st.binary(max_size=600), SYNTAX), suffix=st.sampled_from([".yaml", ".json", ".csv"]))
def test_any_bytes_validate_cleanly(workdir, data, suffix):
    path = write(workdir, f"bytes{suffix}", data)
    assert_clean(invoke("validate", path), (data, suffix))


# ====================================================================== mutated valid scenarios
def _paths(node: Any, prefix: tuple = ()) -> list[tuple]:
    out = [prefix] if prefix else []
    if isinstance(node, dict):
        for key, value in node.items():
            out += _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            out += _paths(value, (*prefix, index))
    return out


BASE_DOC = yaml.safe_load(BASELINE.read_text())
PATHS = _paths(BASE_DOC)
HOSTILE = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True), st.floats(min_value=-1e-300, max_value=1e-300),
    st.text(max_size=40),
    st.sampled_from(["[/bold]", "[link=http://x]y[/link]", "\x1b[31m", "\u202e", "1e308", "nan", "", "x" * 300,
                     "expansion", "russia", "boulware", "expected_utility", "issue_by_issue", "random"]),
    st.sampled_from([0, -1, 1, 0.5, 100, 1e15, -1e15, 1e16, 10_000, 10**6, 2**63]),
    st.lists(st.integers(min_value=-5, max_value=5), max_size=3),
    st.dictionaries(st.sampled_from(["expansion", "missiles", "cbm", "x", "russia", "us"]),
                    st.floats(min_value=-200, max_value=200), max_size=3),
)
MUTATION = st.tuples(st.sampled_from(PATHS), st.sampled_from(["set", "delete", "copy_item"]), HOSTILE)


def _mutate(doc: Any, path: tuple, how: str, value: Any) -> None:
    node = doc
    for key in path[:-1]:
        try:
            node = node[key]
        except (KeyError, IndexError, TypeError):
            return
    last = path[-1]
    try:
        if how == "delete":
            del node[last]
        elif how == "copy_item" and isinstance(node, list):
            node.append(copy.deepcopy(node[last]))      # e.g. the same actor twice
        else:
            node[last] = value
    except (KeyError, IndexError, TypeError):
        pass


@settings(FUZZ, max_examples=550)
@given(mutations=st.lists(MUTATION, min_size=1, max_size=3), fmt=st.sampled_from(["yaml", "json"]))
def test_mutated_scenarios_run_cleanly(workdir, mutations, fmt):
    doc = copy.deepcopy(BASE_DOC)
    for path, how, value in mutations:
        _mutate(doc, path, how, value)
    text = json.dumps(doc) if fmt == "json" else yaml.safe_dump(doc, allow_unicode=True)
    path = write(workdir, f"mutated.{fmt}", text)
    args = ("run", path, "--json", "--max-rounds", "12")
    result = invoke(*args)
    assert_clean(result, (mutations, fmt))
    if result.exit_code == 0:
        json.loads(result.stdout, parse_constant=lambda name: pytest.fail(f"{name} in --json output"))


# ====================================================================== CSV imports
CELL = st.one_of(st.sampled_from(["1", "0", "-1", "50", "0.5", "100", "1e308", "-1e308", "1e15", "nan", "inf", "",
                                  "x", "1,5", '"2"', "9" * 400]),
                 st.floats(allow_nan=False, allow_infinity=False).map(repr), st.text(max_size=8))
NAME = st.one_of(st.sampled_from(["USA", "usa", "U.S.A.", "Österreich", "", "[/bold]", "\x1b[2J", "a" * 300]),
                 st.text(max_size=10))


PLAIN = st.sampled_from(["1", "0.5", "2", "30", "0.9"])
EXTREME = st.one_of(st.sampled_from(["1e308", "-1e308"]),
                    st.sampled_from(["1.7976931348623157e308", "-1e16", "5e-324", "1e15", "-1e15"]))
PLAIN_NAME = st.sampled_from(["us", "eu", "nato", "russia", "china", "india", "brazil"])


def mostly(plain: st.SearchStrategy, hostile: st.SearchStrategy, odds: int = 4) -> st.SearchStrategy:
    """`plain` `odds` times out of `odds + 1`, else `hostile`."""
    return st.integers(min_value=0, max_value=odds).flatmap(lambda k: plain if k else hostile)


ROW = st.tuples(mostly(PLAIN_NAME, NAME), mostly(PLAIN, CELL), mostly(EXTREME, CELL, odds=2), mostly(PLAIN, CELL))
"""Mostly valid rows (so that most files get past the parser and run) with hostile cells and names mixed in."""


@settings(FUZZ, max_examples=200)
@given(rows=st.one_of(st.lists(ROW, max_size=6, unique_by=lambda row: row[0].strip().lower()),
                      st.lists(ROW, max_size=6)),
       scale=st.booleans())
@example(rows=[("a", "1", "1e308", "0.5"), ("b", "1", "-1e308", "0.5")], scale=False)     # the case
def test_generated_csv_imports_run_cleanly(workdir, rows, scale):
    lines = ["Actor,Capability,Position,Salience"]
    lines += [",".join(cell.replace("\n", " ").replace("\r", " ") for cell in row) for row in rows]
    path = write(workdir, "generated.csv", "\n".join(lines) + "\n")
    args = ("run", path, "--json", "--max-rounds", "12", *(("--scale", "0:100") if scale else ()))
    result = invoke(*args)
    assert_clean(result, (rows, scale))


# ====================================================================== JSON escapes (issue 26)
ESCAPE = st.lists(st.sampled_from([r"\ud800", r"\udfff", r"\udc00\ud800", r"\ud83d\ude00", r"\u0000", r"\u001b",
                                   r"\u202e", r"\\", r"\"", r"\n", r"\t", r"\/", r"\u00e9", "a", "é", "[/b]"]),
                  min_size=1, max_size=6).map("".join)


def _get(doc: Any, path: tuple) -> Any:
    for key in path:
        doc = doc[key]
    return doc


TEXT_FIELDS = [p for p in PATHS if isinstance(_get(BASE_DOC, p), str)]


@settings(FUZZ, max_examples=120)
@given(where=st.sampled_from(TEXT_FIELDS), escapes=ESCAPE)
@example(where=("title",), escapes=r"\ud800")                                        # the case
def test_json_escapes_in_any_text_run_cleanly(workdir, where, escapes):
    """Any JSON escape in any text field (lone surrogates included): one line and exit 2, or a clean run whose
    --json output is valid JSON."""
    doc = copy.deepcopy(BASE_DOC)
    _mutate(doc, where, "set", "@@FUZZ@@")
    text = json.dumps(doc).replace('"@@FUZZ@@"', '"' + escapes + '"')
    path = write(workdir, "escaped.json", text)
    for args in (("validate", path), ("run", path, "--json", "--max-rounds", "5")):
        result = invoke(*args)
        assert_clean(result, (where, escapes))
        if args[0] == "run" and result.exit_code == 0:
            json.loads(result.stdout)
    # a lone surrogate: half of a pair without its other half (\ud800 then \udfff make one whole character)
    if any(0xD800 <= ord(char) <= 0xDFFF for char in json.loads('"' + escapes + '"')):
        assert result.exit_code == 2 and "lone surrogate" in result.output, result.output[-500:]


# ====================================================================== long CSV and TSV fields (issue 26)
@pytest.mark.parametrize("size", [131_073, 1_500_000])
@pytest.mark.parametrize("column", [0, 1])
def test_csv_fields_longer_than_the_csv_modules_default_give_one_line(workdir, size, column):
    row = ["a", "1", "10", "0.5"]
    row[column] = '"' + "9" * size + '"'
    path = write(workdir, "long.csv", "Actor,Capability,Position,Salience\n" + ",".join(row) + "\nb,1,90,0.5\n")
    result = invoke("validate", path)
    assert_clean(result, (size, column))
    assert result.exit_code == 2 and "field larger" not in result.output


TSV_HEADER = ["prnr", "isnr", "counvte", "proc", "pcom", "pde", "pfr", "scom", "sde", "sfr", "rp", "out"]
TSV_CELL = st.one_of(st.sampled_from(["", "0", "1", "4", "50", "100", "1e308", "-1", "inf", "nan", "NA", "1e15",
                                      "QMV", "Unan", "COD", "x" * 200_000]),
                     st.floats(allow_nan=False, allow_infinity=False, min_value=-1e3, max_value=1e3).map(repr))
TSV_ROW = st.lists(mostly(st.sampled_from(["10", "50", "90", "30"]), TSV_CELL, odds=3),
                   min_size=len(TSV_HEADER), max_size=len(TSV_HEADER))


@settings(FUZZ, max_examples=80)
@given(capabilities=st.lists(mostly(st.sampled_from(["1", "4", "3"]), TSV_CELL, odds=2), min_size=3, max_size=3),
       rows=st.lists(TSV_ROW, min_size=1, max_size=4),
       header=st.one_of(st.just(TSV_HEADER), st.permutations(TSV_HEADER),
                        st.just(TSV_HEADER[:-2] + ["pde", "out"])),           # a duplicated column
       repeat=st.booleans())
@example(capabilities=["1e308", "1e308", "1e308"], rows=[["p1", "i1", "QMV", "CNS", "10", "50", "90", "50", "50",
                                                          "50", "", "40"]], header=TSV_HEADER, repeat=False)
@example(capabilities=["0", "0", "0"], rows=[["p1", "i1", "QMV", "CNS", "10", "50", "90", "50", "50", "50", "",
                                              "40"]], header=TSV_HEADER, repeat=True)
def test_generated_backtest_files_run_cleanly(workdir, capabilities, rows, header, repeat):
    """`negsim backtest` on generated DEU-layout files with hostile cells, duplicated columns and rows: exit 0
    or 2 with one line, never a traceback."""
    cap = [""] * len(header)
    for value, name in zip(capabilities, ("pcom", "pde", "pfr"), strict=True):
        if name in header:
            cap[header.index(name)] = value
    body = [[r[TSV_HEADER.index(name)] for name in header] for r in rows]
    for r in body:
        r[header.index("isnr")] = r[header.index("isnr")] or "i"
    if repeat:
        body.append(list(body[0]))
    path = write(workdir, "generated.tsv", "\n".join("\t".join(r) for r in [header, cap, *body]) + "\n")
    result = invoke("backtest", path, "--json")
    assert_clean(result, (capabilities, rows, header, repeat))
    if result.exit_code == 2:
        assert len(result.output.strip().splitlines()) == 1, result.output[-800:]
    if repeat or len(set(header)) < len(header):              # never accepted silently
        assert result.exit_code == 2, result.output[-500:]
