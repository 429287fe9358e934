"""`negsim backtest` and sim.forecasting.backtest: reading the DEU layout (skipping what it says to skip), the --json
contract, the readable table and PNG, scoring with a paired bootstrap, and bad files -> exit 2 naming what is wrong."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from sim.cli import app
from sim.forecasting import MODELS
from sim.forecasting import backtest as bt

runner = CliRunner()

HEADER = ["prnr", "isnr", "counvte", "proc", "pcom", "pep", "pde", "pfr", "pnl",
          "scom", "sep", "sde", "sfr", "snl", "rp", "out"]
CAPABILITY = ["", "", "", "", "4", "4", "4", "3", "1", "", "", "", "", "", "", ""]
ISSUES = [
    # prnr, isnr, rule, proc, positions com ep de fr nl, saliences com ep de fr nl, rp, out
    ["p1", "p1i1", "QMV", "COD", "100", "100", "0", "50", "", "50", "50", "100", "", "", "0", "60"],
    ["p1", "p1i2", "QMV", "COD", "0", "20", "100", "0", "100", "80", "20", "30", "90", "60", "", "30"],
    ["p2", "p2i1", "Unan", "CNS", "100", "", "0", "100", "50", "70", "", "40", "40", "100", "100", "100"],
    ["p3", "p3i1", "QMV", "COD", "100", "0", "0", "", "", "50", "50", "50", "", "", "0", ""],       # no outcome
    ["p3", "p3i2", "QMV", "COD", "100", "0", "0", "", "", "50", "50", "50", "", "", "0", "150"],    # outcome > 100
    ["p3", "p3i3", "QMV", "COD", "100", "", "", "", "", "50", "", "", "", "", "0", "40"],          # one position
]


def write(path, rows) -> str:
    path.write_text("\n".join("\t".join(row) for row in rows) + "\n")
    return str(path)


@pytest.fixture
def small(tmp_path) -> str:
    return write(tmp_path / "small.tsv", [HEADER, CAPABILITY, *ISSUES])


def invoke(*args):
    return runner.invoke(app, ["backtest", *map(str, args)])


# ---------------------------------------------------------------------------------------------------- reading
def test_reads_the_layout_and_skips_what_it_should(small):
    data = bt.read_deu(small)
    assert data.actors == ("com", "ep", "de", "fr", "nl")
    assert [p.id for p in data.proposals] == ["p1", "p2"] and data.skipped == 3
    p1 = data.proposals[0].problem
    assert data.proposals[0].issue_ids == ("p1i1", "p1i2")
    np.testing.assert_array_equal(p1.capabilities, [4, 4, 4, 3, 1])
    assert p1.saliences[0, 3] == 0.5                              # fr: a position without salience gets 50
    assert not p1.has_position[0, 4]                              # nl: empty cell = no position
    assert p1.rules == ("qmv", "qmv") and p1.proposer == 0 and p1.veto_player == 1   # COD: the EP can veto
    np.testing.assert_array_equal(p1.vote_weights, [0, 0, 4, 3, 1])
    assert np.isnan(p1.reference[1]) and p1.reference[0] == 0
    p2 = data.proposals[1].problem
    assert p2.rules == ("unanimity",) and p2.veto_player is None                    # CNS: consultation only


# ---------------------------------------------------------------------------------------------------- --json
def test_lenient_where_the_layout_allows(tmp_path):
    """An outcome that is not a number (NA) is no outcome: the row is skipped; an actor without a capability is fine
    as long as it takes no position; voting rules are read by how they start."""
    capability = CAPABILITY[:8] + [""] + CAPABILITY[9:]
    rows = [HEADER, capability]
    for issue in ISSUES[:3]:
        rows.append(issue[:8] + [""] + issue[9:])                    # nl takes no position
    rows[2][2], rows[3][2] = "unanimity", "qmv-weighted"
    rows.append(ISSUES[0][:1] + ["p1i9"] + ISSUES[0][2:8] + [""] + ISSUES[0][9:15] + ["NA"])
    data = bt.read_deu(write(tmp_path / "lenient.tsv", rows))
    assert data.n_issues == 3 and data.skipped == 1
    assert data.proposals[0].problem.rules == ("unanimity", "qmv")
    assert data.proposals[0].problem.capabilities[4] == 0.0


def test_json_follows_the_contract_exactly(small):
    result = invoke(small, "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert set(data) == {"models", "issues"}
    assert set(data["models"]) == set(MODELS) and "compromise" in data["models"]
    for entry in data["models"].values():
        assert set(entry) == {"mae", "n", "coverage", "width", "crps"} and entry["n"] == 3
        assert all(isinstance(entry[k], float) for k in ("mae", "coverage", "width", "crps"))
        assert 0.0 <= entry["coverage"] <= 1.0 and entry["width"] >= 0.0 and entry["crps"] >= 0.0
    assert [i["id"] for i in data["issues"]] == ["p1i1", "p1i2", "p2i1"]
    for issue in data["issues"]:
        assert set(issue) == {"id", "outcome", "forecasts", "interval"} and isinstance(issue["id"], str)
        assert isinstance(issue["outcome"], float) and set(issue["forecasts"]) == set(data["models"])
        assert all(isinstance(v, float) for v in issue["forecasts"].values())
        assert set(issue["interval"]) == set(data["models"])
        for name, (low, high) in issue["interval"].items():
            assert 0.0 <= low <= issue["forecasts"][name] <= high <= 100.0
    for name, entry in data["models"].items():
        inside = [i["interval"][name][0] <= i["outcome"] <= i["interval"][name][1] for i in data["issues"]]
        assert entry["coverage"] == pytest.approx(sum(inside) / 3)
    assert [i["outcome"] for i in data["issues"]] == [60.0, 30.0, 100.0]
    # compromise on p1i1: weights com 4 x .5, ep 4 x .5, de 4 x 1, fr 3 x .5 (missing salience) -> 475 / 9.5 = 50
    assert data["issues"][0]["forecasts"]["compromise"] == pytest.approx(50.0)
    for name, entry in data["models"].items():
        errors = [abs(i["forecasts"][name] - i["outcome"]) for i in data["issues"]]
        assert entry["mae"] == pytest.approx(sum(errors) / 3)


def test_models_option_selects_models_and_keeps_the_baseline(small):
    data = json.loads(invoke(small, "--json", "--models", "exchange, nash").stdout)
    assert list(data["models"]) == ["compromise", "exchange", "nash"]
    assert set(data["issues"][0]["forecasts"]) == {"compromise", "exchange", "nash"}


# ---------------------------------------------------------------------------------------------------- readable
def test_readable_form_prints_the_table_and_writes_the_png(small, tmp_path, monkeypatch):
    png = tmp_path / "out" / "bt.png"
    result = invoke(small, "--png", png)
    assert result.exit_code == 0, result.output
    for text in ("MAE", "RMSE", "within 10", "95 % CI", "compromise", "exchange", "3 rows skipped", "diff",
                 "coverage", "width", "CRPS"):
        assert text in result.output
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    monkeypatch.chdir(tmp_path)
    assert invoke(small, "--models", "nash").exit_code == 0
    assert (tmp_path / "backtest_small.png").exists()


def test_scores_and_paired_bootstrap_are_reproducible(small):
    result = bt.run_backtest(bt.read_deu(small))
    first, again = bt.score(result), bt.score(result)
    assert first == again                                   # fixed seed
    base = first[0]
    assert base.model == "compromise" and base.diff == base.diff_low == base.diff_high == 0.0
    for s in first[1:]:
        assert s.diff_low <= s.diff <= s.diff_high or np.isclose(s.diff_low, s.diff_high)
        assert 0.0 <= s.within <= 1.0 and s.rmse >= s.mae


def test_paired_bootstrap_resamples_whole_proposals():
    errors = np.array([[1.0], [3.0], [10.0]])
    baseline = np.zeros(3)
    draws = bt.paired_bootstrap(errors, baseline, ["a", "a", "b"], samples=500, seed=1)
    # every draw is a mix of proposal a (mean 2 over 2 issues) and b (10): issue-weighted means of whole proposals
    possible = {2.0, 10.0, (4 + 10) / 3, (4 + 20) / 4, (8 + 10) / 5}
    assert {round(float(v), 9) for v in draws[:, 0]} <= {round(v, 9) for v in possible}


# ---------------------------------------------------------------------------------------------------- bad input
@pytest.mark.parametrize(("rows", "message"), [
    ([], "empty file"),
    ([HEADER], "no capability row"),
    ([[c for c in HEADER if c != "out"], CAPABILITY[:-1], *(r[:-1] for r in ISSUES)], "missing column(s) out"),
    ([HEADER, CAPABILITY[:8] + [""] + CAPABILITY[9:], *ISSUES], "no capability for actor(s) nl, who take positions"),
    ([HEADER, CAPABILITY, ISSUES[0][:6] + ["abc"] + ISSUES[0][7:]], "row 3, column pde: not a number: 'abc'"),
    ([HEADER, CAPABILITY, ISSUES[0][:6] + ["120"] + ISSUES[0][7:]], "row 3, column pde: position 120 outside 0-100"),
    ([HEADER, CAPABILITY, ISSUES[0][:2] + ["plurality"] + ISSUES[0][3:]], "unknown voting rule 'plurality'"),
    ([HEADER, CAPABILITY, ISSUES[3]], "no usable issue rows"),
    ([["isnr", "out", "pde", "sde"], ["", "", "4", ""], ["a", "50", "10", "10"]], "need at least two actors"),
    # issue 26: impossible capabilities, duplicated columns and rows, one line each
    ([HEADER, CAPABILITY[:4] + ["1e308"] * 5 + CAPABILITY[9:], *ISSUES], "capability of com, ep, de, fr, nl above"),
    ([HEADER, CAPABILITY[:4] + ["inf"] + CAPABILITY[5:], *ISSUES], "column pcom: not a finite number: 'inf'"),
    ([HEADER, CAPABILITY[:4] + ["0"] * 5 + CAPABILITY[9:], *ISSUES], "every capability is zero or missing"),
    ([HEADER, CAPABILITY[:4] + ["-1"] + CAPABILITY[5:], *ISSUES], "capabilities must be non-negative"),
    ([HEADER, CAPABILITY[:6] + ["0"] + CAPABILITY[7:], *ISSUES], "capability 0 for actor(s) de, who take positions"),
    ([HEADER[:-2] + ["pde", "out"], CAPABILITY, *ISSUES], "duplicated column(s) pde"),
    ([HEADER, CAPABILITY, *ISSUES, ISSUES[1]], "row 9: duplicated issue row: isnr p1i2 is already on row 4"),
])
def test_bad_files_exit_2_naming_what_is_wrong(tmp_path, rows, message):
    result = invoke(write(tmp_path / "bad.tsv", rows))
    assert result.exit_code == 2
    assert message in result.output and "Traceback" not in result.output


def test_a_field_of_a_megabyte_is_read_not_a_csv_error(tmp_path):
    long = ISSUES[0][:1] + ["i" * 1_000_000] + ISSUES[0][2:]       # a 1 MB issue id: read like any other
    data = bt.read_deu(write(tmp_path / "long.tsv", [HEADER, CAPABILITY, long, *ISSUES[1:]]))
    assert "i" * 1_000_000 in data.proposals[0].issue_ids
    result = invoke(write(tmp_path / "longcap.tsv", [HEADER, CAPABILITY[:4] + ["9" * 1_000_000] + CAPABILITY[5:],
                                                       *ISSUES]))
    assert result.exit_code == 2 and len(result.output.strip().splitlines()) == 1 and "Traceback" not in result.output
    assert "1,000,000 characters" in result.output and len(result.output) < 300


def test_missing_binary_and_unknown_models_exit_2(tmp_path, small):
    result = invoke(tmp_path / "nope.tsv")
    assert result.exit_code == 2 and "nope.tsv: file not found" in result.output      # the same words as every command
    (tmp_path / "bin.tsv").write_bytes(b"\xff\xfe\x00\x81" * 10)
    result = invoke(tmp_path / "bin.tsv")
    assert result.exit_code == 2 and "not a text file" in result.output
    result = invoke(small, "--models", "compromise,oracle")
    assert result.exit_code == 2 and "unknown model(s) oracle" in result.output


def test_progress_bar_on_long_runs_at_a_terminal(small, monkeypatch):
    import io

    from rich.console import Console

    data = bt.read_deu(small)
    told: list[int] = []
    bt.run_backtest(data, ("compromise",), told.append)
    assert told == [2, 1]                                   # after each proposal, its issue count
    monkeypatch.setattr(bt, "PROGRESS_FROM", 1)
    screen = io.StringIO()
    result = bt.run_with_progress(data, ("compromise", "exchange"), Console(file=screen, force_terminal=True))
    assert "Forecasting with 2 models" in screen.getvalue() and len(result.outcomes) == 3
    quiet = io.StringIO()                                   # not a terminal: no bar
    bt.run_with_progress(data, ("compromise",), Console(file=quiet, force_terminal=False))
    assert quiet.getvalue() == ""


def test_only_regular_files_and_rows_that_fit_the_header(tmp_path):
    import os

    fifo = tmp_path / "pipe.tsv"
    os.mkfifo(fifo)
    shifted = tmp_path / "shifted.tsv"
    shifted.write_text("isnr\tout\tpa\tsa\tpb\tsb\n\t\t1\t\t1\t\nx1\t50\t10\t50\t90\t50\t7\n")
    for path, message in ((fifo, "not a regular file (a FIFO)"), ("/dev/zero", "not a regular file (a device)"),
                          (shifted, "row 3 has 7 fields, the header has 6")):
        result = CliRunner().invoke(app, ["backtest", str(path)])      # returns at once: no hang, no memory
        assert result.exit_code == 2 and message in result.output, result.output
        assert "Traceback" not in result.output
