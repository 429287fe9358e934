"""Headless sweeps: designs, seeds, executors (serial, process, Dask), failures, manifests, resume, analysis."""

from __future__ import annotations

import json
import math
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from sim import service
from sim.cli import app
from sim.core.streams import DRAWS
from sim.engine import lockstep
from sim.scenario import ScenarioError, apply_params, load_scenario, with_protocol
from sim.sweep import (
    Factor,
    SweepError,
    build_points,
    make_design,
    read_rounds,
    read_runs,
    run_sweep,
    sweep,
)
from sim.sweep import analyze as analysis
from sim.sweep import parts as parts_module
from sim.sweep import worker as worker_module
from sim.sweep.design import parse_vary
from sim.sweep.directory import SweepDir
from sim.sweep.runner import probe
from sim.sweep.samplers.sobol import saltelli_layout
from tests.conftest import BASELINE, ROOT

VARY = ["actors.russia.reservation_utility=0.3:0.6:2", "protocol.linkage=package,issue_by_issue"]
REPLICATES = 5
SEED = 7


@pytest.fixture(scope="module")
def reference(baseline, tmp_path_factory):
    """The design run serially, one run per task, with rounds: what every other executor must reproduce."""
    out = tmp_path_factory.mktemp("reference") / "sweep"
    run_sweep(baseline, VARY, out=out, replicates=REPLICATES, seed=SEED, executor="serial", batch_size=1,
              rounds=True, progress=False)
    return out


def tables(path: Path) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    rounds = read_rounds(path) if (path / "rounds.parquet").exists() else None
    return read_runs(path), rounds


# ====================================================================== design
def test_grid_design_run_ids_and_common_seeds(baseline):
    design = make_design(baseline, VARY, replicates=3, root_seed=SEED)
    assert design.n_points == 4 and design.n_runs == 12
    assert list(design.points["protocol.linkage"]) == ["package", "issue_by_issue"] * 2     # last factor fastest
    assert list(design.points["actors.russia.reservation_utility"]) == [0.3, 0.3, 0.6, 0.6]
    runs = design.runs(range(design.n_runs))
    assert [r[0] for r in runs] == list(range(12))
    for run_id, point, replicate, seed, _ in runs:
        assert run_id == point * 3 + replicate
        assert seed == service.replicate_seeds(SEED, 3)[replicate]      # same draws at every point


def test_replicate_seeds_are_derived_when_first_asked_for(baseline):
    design = make_design(baseline, None, replicates=1000, root_seed=SEED)
    expected = service.replicate_seeds(SEED, 1000)
    assert design.seeds.derived == 0                                 # nothing derived yet
    assert design.runs([7])[0][3] == expected[7] and design.seeds.derived == 8
    assert design.seeds[-1] == expected[-1] and design.seeds[::-97].tolist() == expected[::-97]
    assert design.seeds[:].tolist() == expected and len(design.seeds) == 1000
    with pytest.raises(IndexError):
        design.seeds[1000]


def test_vary_specs_are_typed_and_every_problem_is_reported(baseline):
    factors = parse_vary({"protocol.max_rounds": (10, 40, 4), "protocol.activation": ["sequential", "random"],
                          "issues.cbm.de_escalating": "true,false", "actors.eu.red_lines.expansion": [40, 60]},
                         baseline)
    assert factors[0].grid_values() == [10, 20, 30, 40] and factors[0].dtype == "int"
    assert factors[1].values == ("sequential", "random")
    assert factors[2].values == (True, False)
    assert factors[3].dtype == "float"          # a red line the actor does not have yet is a valid path
    with pytest.raises(ScenarioError) as caught:
        parse_vary(["actors.russia.reservation_utility=0.2:1.5:3", "actors.russia.nope=1",
                    "protocol.linkage=0:1:2", "protocol.max_rounds=2.5", "garbage"], baseline)
    paths = [p.path for p in caught.value.problems]
    assert paths == ["--vary", "actors.russia.reservation_utility", "actors.russia.nope", "protocol.linkage",
                     "protocol.max_rounds"]
    with pytest.raises(ScenarioError, match="needs a number of levels"):
        make_design(baseline, ["protocol.noise=0:0.1"], sampler="grid")


def test_bad_values_in_a_list_are_named_in_plain_words(baseline):
    with pytest.raises(ScenarioError) as caught:
        parse_vary(["protocol.noise=,,,", "protocol.max_rounds=3,x", "protocol.agreement_tolerance=0.1,,0.2"],
                   baseline)
    messages = [str(p) for p in caught.value.problems]
    assert messages == ["protocol.noise: an empty value in the list (two commas in a row, or one at an end?)",
                        "protocol.max_rounds: 'x' is not a number",
                        "protocol.agreement_tolerance: an empty value in the list (two commas in a row, or one at "
                        "an end?)"]


@pytest.mark.parametrize("sampler", ["lhs", "random", "sobol"])
def test_continuous_samplers_stay_in_range_and_are_reproducible(baseline, sampler):
    vary = ["protocol.noise=0:0.1", "protocol.max_rounds=10:12", "protocol.linkage=package,issue_by_issue"]
    first = make_design(baseline, vary, sampler=sampler, samples=16, root_seed=3)
    again = make_design(baseline, vary, sampler=sampler, samples=16, root_seed=3)
    pd.testing.assert_frame_equal(first.points, again.points)
    assert first.n_points == (16 * 5 if sampler == "sobol" else 16)
    points = first.points
    assert points["protocol.noise"].between(0, 0.1).all()
    assert set(points["protocol.max_rounds"]) <= {10, 11, 12} and points["protocol.max_rounds"].dtype == np.int64
    assert set(points["protocol.linkage"]) <= {"package", "issue_by_issue"}
    other = make_design(baseline, vary, sampler=sampler, samples=16, root_seed=4)
    assert not first.points.equals(other.points)


def test_latin_hypercube_puts_one_point_in_each_stratum_of_every_factor(baseline):
    vary = ["protocol.noise=0:0.1", "actors.russia.capability=0.5:1", "protocol.tension.hardening=0.2:0.6"]
    design = make_design(baseline, vary, sampler="lhs", samples=50, root_seed=7)
    for factor in design.factors:
        unit = (design.columns[factor.path] - factor.lo) / (factor.hi - factor.lo)
        assert sorted(np.floor(unit * 50).astype(int)) == list(range(50)), factor.path
    orders = [np.argsort(design.columns[f.path]) for f in design.factors]
    assert not np.array_equal(orders[0], orders[1])     # the strata are shuffled factor by factor


def test_design_runs_are_plain_python_values_in_run_order(baseline):
    design = make_design(baseline, ["protocol.max_rounds=10:12:3", "protocol.linkage=package,issue_by_issue"],
                         replicates=2, root_seed=5)
    runs = design.runs([0, 1, 5, 11])
    assert [run[:3] for run in runs] == [(0, 0, 0), (1, 0, 1), (5, 2, 1), (11, 5, 1)]
    assert [run[3] for run in runs] == [int(design.seeds[r]) for r in (0, 1, 1, 1)]
    assert runs[2][4] == (11, "package") and runs[3][4] == (12, "issue_by_issue")
    assert all(type(v) in (int, str) for run in runs for v in (*run[:4], *run[4]))
    assert make_design(baseline, None, replicates=3, root_seed=5).runs([2]) == [
        (2, 0, 2, int(service.replicate_seeds(5, 3)[2]), ())]


def test_saltelli_layout_matches_salib_order():
    base = np.random.default_rng(0).random((4, 6))
    rows = saltelli_layout(base, 3).reshape(4, 5, 3)
    a, b = base[:, :3], base[:, 3:]
    assert np.array_equal(rows[:, 0], a) and np.array_equal(rows[:, 4], b)
    for k in range(3):
        expected = a.copy()
        expected[:, k] = b[:, k]
        assert np.array_equal(rows[:, k + 1], expected)


# ====================================================================== executors give identical tables
@pytest.mark.slow
def test_process_pool_equals_serial_whatever_the_batch_size(baseline, reference, tmp_path):
    out = tmp_path / "process"
    report = run_sweep(baseline, VARY, out=out, replicates=REPLICATES, seed=SEED, executor="process", workers=2,
                       batch_size=3, rounds=True, progress=False)
    assert report.ran == 20 and report.failed == 0
    runs, rounds = tables(out)
    expected_runs, expected_rounds = tables(reference)
    pd.testing.assert_frame_equal(runs, expected_runs)
    pd.testing.assert_frame_equal(rounds, expected_rounds)
    assert list(runs["run_id"]) == list(range(20))
    assert set(rounds["run_id"]) == set(range(20)) and rounds.loc[0, "round"] == 0


@pytest.mark.slow
def test_dask_local_cluster_equals_serial(baseline, reference, tmp_path):
    pytest.importorskip("distributed")
    out = tmp_path / "dask"
    report = run_sweep(baseline, VARY, out=out, replicates=REPLICATES, seed=SEED, executor="dask", workers=2,
                       batch_size=4, rounds=True, progress=False)
    assert report.executor.startswith("Dask LocalCluster, 2 workers")
    runs, rounds = tables(out)
    expected_runs, expected_rounds = tables(reference)
    pd.testing.assert_frame_equal(runs, expected_runs)
    pd.testing.assert_frame_equal(rounds, expected_rounds)


def test_monte_carlo_sweep_matches_the_service_monte_carlo(baseline):
    runs = sweep(baseline, replicates=6, seed=11, executor="serial", progress=False)
    mc = service.monte_carlo(baseline, 6, root_seed=11)
    assert list(runs.columns[:4]) == ["run_id", "point", "replicate", "seed"]
    for column in mc.columns:
        pd.testing.assert_series_equal(runs[column], mc[column], check_names=False, check_dtype=False)
    assert runs["seed"].nunique() == 6


def test_consolidation_in_windows_keeps_order(baseline, reference, tmp_path, monkeypatch):
    monkeypatch.setattr(parts_module, "MERGE_ROWS", 3)      # many windows, parts straddling them
    out = tmp_path / "windows"
    run_sweep(baseline, VARY, out=out, replicates=REPLICATES, seed=SEED, executor="serial", batch_size=7,
              rounds=True, progress=False)
    runs, rounds = tables(out)
    expected_runs, expected_rounds = tables(reference)
    pd.testing.assert_frame_equal(runs, expected_runs)
    pd.testing.assert_frame_equal(rounds, expected_rounds)
    assert not (out / "parts").exists()


# ====================================================================== failures are recorded
def test_failing_runs_are_recorded_and_the_sweep_goes_on(baseline, tmp_path, monkeypatch):
    real = worker_module.play_batch
    bad_seed = service.replicate_seeds(SEED, 3)[1]

    def flaky(spec, seeds, *args, **kwargs):     # runs played together: one failure fails them all...
        if bad_seed in seeds:
            raise RuntimeError("solver exploded")
        return real(spec, seeds, *args, **kwargs)

    # ...and then they run one by one, so that only the run that fails is recorded as failed
    monkeypatch.setattr(worker_module, "play_batch", flaky)
    # a scale narrowed below a position is only invalid in combination: those points fail when applied
    vary = ["issues.expansion.scale.max=90,110", "actors.russia.positions.expansion=80,100"]
    # (as coded: the file's ranges, up to 95 on expansion, would make every 90-scale point invalid)
    report = run_sweep(baseline.as_coded(), vary, out=tmp_path / "s", replicates=3, seed=SEED, executor="serial",
                       progress=False)
    runs = read_runs(tmp_path / "s")
    invalid = (runs["issues.expansion.scale.max"] == 90) & (runs["actors.russia.positions.expansion"] == 100)
    exploded = (runs["replicate"] == 1) & ~invalid
    assert runs.loc[invalid, "error"].str.startswith("invalid parameters: actors.russia.positions.expansion").all()
    assert runs.loc[exploded, "error"].str.startswith("RuntimeError: solver exploded").all()
    ok = ~(invalid | exploded)
    assert runs.loc[ok, "error"].isna().all() and runs.loc[ok, "outcome"].notna().all()
    assert runs.loc[~ok, ["outcome", "tension", "utility.russia"]].isna().all().all()
    assert report.failed == int((~ok).sum()) == 6
    assert sum(report.outcomes.values()) == pytest.approx(1.0)


# ====================================================================== manifest and resume
def test_manifest_records_the_design(reference):
    manifest = json.loads((reference / "manifest.json").read_text())
    design = manifest["design"]
    assert design["vary"] == VARY and design["replicates"] == REPLICATES and design["root_seed"] == SEED
    assert design["rounds"] is True and design["n_runs"] == 20 and len(design["scenario_sha256"]) == 64
    assert manifest["status"]["complete"] is True and manifest["versions"]["negsim"]
    assert manifest["scenario"]["id"] == "feb2022_baseline"


def test_a_changed_design_or_scenario_is_refused(baseline, tmp_path):
    out = tmp_path / "s"
    run_sweep(baseline, VARY[:1], out=out, replicates=2, executor="serial", progress=False)
    with pytest.raises(SweepError, match=r"--replicates was 2, now 3.*--overwrite"):
        run_sweep(baseline, VARY[:1], out=out, replicates=3, executor="serial", progress=False)
    with pytest.raises(SweepError, match="--vary was"):
        run_sweep(baseline, VARY, out=out, replicates=2, executor="serial", progress=False)
    changed = with_protocol(baseline, max_rounds=30)
    with pytest.raises(SweepError, match="scenario's content differs"):
        run_sweep(changed, VARY[:1], out=out, replicates=2, executor="serial", progress=False)
    report = run_sweep(changed, VARY[:1], out=out, replicates=2, executor="serial", overwrite=True, progress=False)
    assert report.ran == 4
    again = run_sweep(changed, VARY[:1], out=out, replicates=2, executor="serial", progress=False)
    assert again.ran == 0 and again.resumed == 4
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("mine")
    with pytest.raises(SweepError, match="not a sweep directory"):
        run_sweep(baseline, out=tmp_path / "other", executor="serial", overwrite=True, progress=False)
    assert (tmp_path / "other" / "notes.txt").exists()


def _wait_for(predicate, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.005)


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "sim", *args]


def assert_same_table(path: Path, expected: Path) -> None:
    """Bit-identical values (NaN equal to NaN), same columns, types and row order."""
    got, want = pq.read_table(path), pq.read_table(expected)
    assert got.schema.equals(want.schema)
    pd.testing.assert_frame_equal(got.to_pandas(), want.to_pandas(), check_exact=True)


@pytest.mark.slow     # subprocesses killed and resumed
def test_kill_and_resume_equals_an_uninterrupted_sweep(baseline, tmp_path):
    vary = ["protocol.linkage=package,issue_by_issue"]
    command = ["sweep", str(BASELINE), *[f"--vary={v}" for v in vary], "--replicates", "30", "--seed", "5",
               "--rounds", "--executor", "process", "--workers", "2", "--batch-size", "2"]
    out = tmp_path / "killed"
    child = subprocess.Popen(_cli(*command, "--out", str(out)), cwd=ROOT, start_new_session=True,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_for(lambda: (out / "parts").is_dir() and any((out / "parts").glob("runs-*.arrow")))
    finally:
        os.killpg(child.pid, signal.SIGKILL)        # the CLI and its worker processes, mid-sweep
        child.wait()
    assert not (out / "runs.parquet").exists()
    parts = list((out / "parts").glob("runs-*.arrow"))
    done = sum(parts_module.read_part(p).num_rows for p in parts)
    assert 0 < done < 60

    result = CliRunner().invoke(app, [*command, "--out", str(out)])     # the same command again
    assert result.exit_code == 0, result.output
    assert f"Resumed: {done:,} runs" in result.output
    assert not (out / "parts").exists()

    expected = tmp_path / "uninterrupted"
    run_sweep(baseline, vary, out=expected, replicates=30, seed=5, rounds=True, executor="serial", progress=False)
    for name in ("runs.parquet", "rounds.parquet"):
        assert_same_table(out / name, expected / name)


def test_a_sweep_resumes_from_the_parquet_parts_of_an_earlier_version(baseline, reference, tmp_path):
    """Parts were Parquet files before they were Arrow IPC files: a sweep interrupted under an earlier version
    resumes with the parts it has (old and new ones merge together) and ends equal to an uninterrupted sweep."""
    out = tmp_path / "old"
    out.mkdir()
    manifest = json.loads((reference / "manifest.json").read_text())
    manifest["status"] = {"complete": False}
    (out / "manifest.json").write_text(json.dumps(manifest))
    (out / "parts").mkdir()
    runs, rounds = pq.read_table(reference / "runs.parquet"), pq.read_table(reference / "rounds.parquet")
    def pick(table, first):
        return table.filter(pc.and_(pc.greater_equal(table["run_id"], first), pc.less(table["run_id"], first + 4)))

    for first in (0, 4, 12):     # three batches of four runs done, written as the earlier version did
        pq.write_table(pick(rounds, first), out / "parts" / f"rounds-{first:012d}.parquet")
        pq.write_table(pick(runs, first), out / "parts" / f"runs-{first:012d}.parquet")
    report = run_sweep(baseline, VARY, out=out, replicates=REPLICATES, seed=SEED, executor="serial", batch_size=3,
                       rounds=True, progress=False)
    assert report.resumed == 12 and report.ran == 8
    for name in ("runs.parquet", "rounds.parquet"):
        assert_same_table(out / name, reference / name)
    assert not (out / "parts").exists()


def test_a_sweep_made_before_common_random_numbers_is_refused_on_resume(baseline, reference, tmp_path):
    """Its runs drew their numbers in sequence from one generator per seed: resumed runs would draw others, so
    the sweep is refused, with the reason, and the directory is left as it was."""
    out = tmp_path / "old"
    out.mkdir()
    manifest = json.loads((reference / "manifest.json").read_text())
    assert manifest["draws"] == DRAWS
    del manifest["draws"]
    manifest["status"] = {"complete": False}
    (out / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(SweepError, match="before common random numbers.*cannot be resumed.*--overwrite"):
        run_sweep(baseline, VARY, out=out, replicates=REPLICATES, seed=SEED, executor="serial", rounds=True,
                  progress=False)
    assert sorted(p.name for p in out.iterdir()) == ["manifest.json"]
    result = CliRunner().invoke(app, ["sweep", str(BASELINE), "--vary", VARY[0], "--vary", VARY[1], "--replicates",
                                      str(REPLICATES), "--seed", str(SEED), "--rounds", "--executor", "serial",
                                      "--out", str(out)])
    assert result.exit_code == 2 and "before common random numbers" in result.output
    assert "Traceback" not in result.output


def test_a_sweep_started_by_another_negsim_version_is_refused_on_resume(baseline, reference, tmp_path):
    """Hostile test of issue 23: an unfinished sweep started by another negsim version was resumed silently, mixing
    the runs of two models. It is refused in one line naming both versions and --overwrite (exit 2 on the CLI),
    the directory left as it was; --overwrite starts over."""
    from sim.version import __version__

    out = tmp_path / "old"
    out.mkdir()
    manifest = json.loads((reference / "manifest.json").read_text())
    assert manifest["versions"]["negsim"] == __version__
    manifest["versions"]["negsim"] = "0.0.9"
    manifest["status"] = {"complete": False}
    (out / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(SweepError, match=rf"negsim 0\.0\.9, this is negsim {re.escape(__version__)}.*--overwrite"):
        run_sweep(baseline, VARY, out=out, replicates=REPLICATES, seed=SEED, executor="serial", rounds=True,
                  progress=False)
    assert sorted(p.name for p in out.iterdir()) == ["manifest.json"]
    command = ["sweep", str(BASELINE), "--vary", VARY[0], "--vary", VARY[1], "--replicates", str(REPLICATES),
               "--seed", str(SEED), "--rounds", "--executor", "serial", "--out", str(out)]
    result = CliRunner().invoke(app, command)
    assert result.exit_code == 2 and "Traceback" not in result.output
    line = " ".join(result.output.split())
    assert f"negsim 0.0.9, this is negsim {__version__}" in line and "--overwrite" in line
    assert sorted(p.name for p in out.iterdir()) == ["manifest.json"]
    result = CliRunner().invoke(app, [*command, "--overwrite"])
    assert result.exit_code == 0, result.output
    assert json.loads((out / "manifest.json").read_text())["versions"]["negsim"] == __version__


@pytest.mark.slow     # subprocesses killed and resumed
def test_ctrl_c_saves_finished_batches_and_says_how_to_resume(tmp_path):
    out = tmp_path / "interrupted"
    command = _cli("sweep", str(BASELINE), "--replicates", "3000", "--executor", "process", "--workers", "2",
                   "--batch-size", "20", "--out", str(out))
    child = subprocess.Popen(command, cwd=ROOT, start_new_session=True, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True,
                             preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        _wait_for(lambda: (out / "parts").is_dir() and any((out / "parts").glob("runs-*.arrow")))
        os.killpg(child.pid, signal.SIGINT)
        stdout, stderr = child.communicate(timeout=60)
    finally:  # never leave the sweep or its workers behind, whatever happened above
        if child.poll() is None:
            os.killpg(child.pid, signal.SIGKILL)
            child.communicate()
    assert child.returncode == 130, stderr
    assert "re-run the same command" in stderr and "Traceback" not in stderr
    assert not list(out.glob(".*.tmp.*"))      # the tables being written as batches finished were removed
    parts, done = SweepDir(out).scan(3000)
    assert 0 < done.sum() < 3000 and not (out / "runs.parquet").exists()


# ====================================================================== CLI
def test_cli_sweep_export_and_analyze(tmp_path):
    cli = CliRunner()
    out = tmp_path / "cli"
    result = cli.invoke(app, ["sweep", str(BASELINE), "--vary", VARY[0], "--vary", VARY[1], "--replicates", "3",
                              "--executor", "serial", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "12 runs (4 points x 3 replicates)" in result.output and "outcome:" in result.output
    result = cli.invoke(app, ["export", str(out), "--csv"])
    assert result.exit_code == 0, result.output
    csv = pd.read_csv(out / "runs.csv")
    runs = read_runs(out)
    assert list(csv.columns) == list(runs.columns) and len(csv) == 12
    np.testing.assert_array_equal(csv["tension"].to_numpy(), runs["tension"].to_numpy())
    result = cli.invoke(app, ["analyze", str(out)])
    assert result.exit_code == 0, result.output
    assert (out / "agreement.png").stat().st_size > 1000
    table = pd.read_csv(out / "agreement.csv")
    assert set(table["parameter"]) == {"actors.russia.reservation_utility", "protocol.linkage"}
    names = dict(zip(table["parameter"], table["name"], strict=True))      # each input named as the scenario does
    assert names["actors.russia.reservation_utility"] == "Russia - walk-away utility"
    assert names["protocol.linkage"] == "Rules - linkage"
    assert "Russia - walk-away utility (actors.russia.reservation_utility)" in result.output
    assert (table.groupby("parameter")["runs"].sum() == 12).all()
    result = cli.invoke(app, ["analyze", str(out), "--sobol"])
    assert result.exit_code == 2 and "--sampler sobol" in result.output


def test_cli_bad_input_exits_2_without_traceback(tmp_path):
    cli = CliRunner()
    cases = [
        ["sweep", str(BASELINE), "--vary", "actors.russia.reservation_utility=0.2:1.8:3", "--out", str(tmp_path / "a")],
        ["sweep", str(BASELINE), "--vary", "protocol.nope=1", "--out", str(tmp_path / "a")],
        ["sweep", str(BASELINE), "--sampler", "halton", "--out", str(tmp_path / "a")],
        ["sweep", str(BASELINE), "--executor", "serial", "--scheduler", "tcp://x:1", "--out", str(tmp_path / "a")],
        ["sweep", str(tmp_path / "missing.yaml"), "--out", str(tmp_path / "a")],
        ["sweep", str(BASELINE), "--out", str(ROOT / "sim")],
        ["export", str(tmp_path / "nothing"), "--csv"],
        ["analyze", str(tmp_path / "nothing")],
    ]
    for args in cases:
        result = cli.invoke(app, args)
        assert result.exit_code == 2, (args, result.output)
        assert "Traceback" not in result.output and result.exception is None or isinstance(result.exception,
                                                                                              SystemExit)
    assert not (tmp_path / "a").exists()


# ====================================================================== analysis
def test_sobol_indices_of_the_ishigami_function():
    a, b = 7.0, 0.1
    factors = [Factor.range(f"x{i}", -math.pi, math.pi) for i in (1, 2, 3)]
    points = build_points(factors, "sobol", samples=2**13, root_seed=1)
    x = points.to_numpy()
    y = np.sin(x[:, 0]) + a * np.sin(x[:, 1]) ** 2 + b * x[:, 2] ** 4 * np.sin(x[:, 0])
    runs = points.assign(point=np.arange(len(points)), replicate=0, y=y, error=None)
    runs = runs.rename(columns={"y": "utility.y"})
    v1 = 0.5 * (1 + b * math.pi**4 / 5) ** 2
    v2 = a**2 / 8
    v13 = 8 * b**2 * math.pi**8 / 225
    v = v1 + v2 + v13
    indices = analysis.sobol_indices(runs, factors, ["utility.y"], num_resamples=20).set_index("parameter")
    np.testing.assert_allclose(indices["S1"], [v1 / v, v2 / v, 0.0], atol=0.03)
    np.testing.assert_allclose(indices["ST"], [(v1 + v13) / v, v2 / v, v13 / v], atol=0.03)


def test_sobol_indices_of_a_linear_model_with_replicates():
    factors = [Factor.range("a", 0, 1), Factor.range("b", 0, 1), Factor.choice("c", ["x", "y"])]
    points = build_points(factors, "sobol", samples=1024, root_seed=2)
    rows = []
    for replicate in range(2):      # replicate noise averages out per point
        rows.append(points.assign(point=np.arange(len(points)), replicate=replicate,
                                  value=points["a"] + 2 * points["b"] + (replicate - 0.5) * 1e-9, error=None))
    runs = pd.concat(rows).rename(columns={"value": "tension"})
    indices = analysis.sobol_indices(runs, factors, ["tension"], num_resamples=20).set_index("parameter")
    np.testing.assert_allclose(indices["S1"], [0.2, 0.8, 0.0], atol=0.03)
    np.testing.assert_allclose(indices["ST"], [0.2, 0.8, 0.0], atol=0.03)


def test_cli_sobol_on_a_sobol_sweep(tmp_path):
    cli = CliRunner()
    out = tmp_path / "sobol"
    result = cli.invoke(app, ["sweep", str(coded_baseline(tmp_path)),
                              "--vary", "actors.russia.outside_option.trend=0:0.03",
                              "--vary", "actors.russia.reservation_utility=0.2:0.8", "--sampler", "sobol",
                              "--samples", "16", "--executor", "serial", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert read_runs(out)["point"].max() == 16 * 4 - 1
    result = cli.invoke(app, ["analyze", str(out), "--sobol", "--output", "rounds", "--output", "utility.russia"])
    assert result.exit_code == 0, result.output
    indices = pd.read_csv(out / "sobol.csv").set_index(["output", "parameter"])
    # when the talks end: the round in which 0.35 + trend x t overtakes Russia's no-deal value max(0.06, R) (issue
    # 22: the reservation utility R is its floor). Over R in 0.2-0.8, R <= 0.35 walks at once and R >= 0.65 never
    # within 20 rounds, whatever the trend: R decides most of it
    rounds = indices.loc["rounds", "ST"]
    assert rounds["actors.russia.reservation_utility"] > 0.5
    assert rounds["actors.russia.reservation_utility"] > rounds["actors.russia.outside_option.trend"]
    # no deal in any run: Russia keeps the status quo whatever its reservation level, and the table says so
    assert indices.loc[("utility.russia", "actors.russia.reservation_utility"), "note"] == "output is constant"
    result = cli.invoke(app, ["analyze", str(out), "--sobol", "--output", "nope"])
    assert result.exit_code == 2 and "unknown output" in result.output


# ====================================================================== worker start-up
def test_console_script_sweep_on_processes_equals_serial(reference, tmp_path):
    """`negsim sweep` as installed: the fork server is started before the model is imported, and the workers
    re-run the `negsim` script (a path, so the server preloads sim.cli for them)."""
    negsim = Path(sys.executable).with_name("negsim")
    if not negsim.exists():
        pytest.skip("the negsim console script is not installed next to this Python")
    out = tmp_path / "script"
    command = [str(negsim), "sweep", str(BASELINE), *[f"--vary={v}" for v in VARY], "--replicates", str(REPLICATES),
               "--seed", str(SEED), "--rounds", "--executor", "process", "--workers", "2", "--batch-size", "3",
               "--quiet", "--out", str(out)]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "20 runs" in done.stdout and "process pool, 2 workers" in done.stdout
    for name in ("runs.parquet", "rounds.parquet"):
        assert_same_table(out / name, reference / name)


def test_fork_server_preload():
    from sim.sweep import executors
    from sim.sweep.executors import process

    preload = process._preload()
    assert preload[0] == "sim.sweep.worker" and preload[-1] == "sim.sweep.preload"   # preload freezes what came before
    executors.start_early("serial")       # no-ops: nothing to start
    executors.start_early(None)


def test_the_fork_server_preload_and_the_runner_know_no_executor_module():
    """The preload module (named as text in the fork server's preload list) imports what it shares with the process
    executor from below both, not the executor: no hidden circle. The runner reaches executors only through their
    registry and `Pool` (a broken process pool is the pool's own `lost` message), never one by name."""
    from concurrent.futures.process import BrokenProcessPool

    from sim.sweep.executors.base import Pool
    from sim.sweep.executors.process import ProcessPool
    from tests.test_architecture import imports, modules

    edges = set(imports(modules()).edges)
    executor_modules = {f"sim.sweep.executors.{name}" for name in ("serial", "process", "dask_cluster")}
    assert not {("sim.sweep.preload", m) for m in executor_modules} & edges
    assert ("sim.sweep.preload", "sim.sweep.executors.lifetime") in edges
    assert not {(module, m) for module in ("sim.sweep.runner", "sim.sweep.worker", "sim.sweep.preload")
                for m in executor_modules} & edges
    lost = ProcessPool(None, "process", 2, "").lost(BrokenProcessPool("gone"))     # type: ignore[arg-type]
    assert lost is not None and "__main__" in lost and "out of memory" in lost
    assert ProcessPool(None, "process", 2, "").lost(ValueError("a batch's own error")) is None  # type: ignore[arg-type]
    assert Pool(None, "custom", 1, "").lost(BrokenProcessPool("gone")) is None   # type: ignore[arg-type]


def test_unguarded_script_gets_the_guard_hint(tmp_path):
    """A script that starts a process sweep without `if __name__ == "__main__":` is re-run by every worker; the
    re-run must neither start a fork server of its own nor hang: the sweep stops with the hint."""
    script = tmp_path / "unguarded.py"
    script.write_text("from sim.sweep import sweep\n"
                      f"sweep({str(BASELINE)!r}, replicates=4, seed=1, workers=2, progress=False)\n")
    done = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode != 0
    assert 'if __name__ == "__main__":' in done.stderr


# ====================================================================== lockstep sweeps need no Mesa
def coded_baseline(tmp_path):
    """The baseline with its inputs as coded (no ranges to draw from), as a file."""
    from sim.scenario import dump_yaml

    path = tmp_path / "baseline_as_coded.yaml"
    path.write_text(dump_yaml(load_scenario(BASELINE).as_coded()))
    return path


def test_a_lockstep_sweep_never_imports_mesa_and_equals_one_model_per_run(tmp_path):
    """The replicates of a point run in lockstep: neither the command nor its workers import Mesa or pandas (a
    second and a fifth off every sweep's start), and every row equals its own NegotiationModel run."""
    out = tmp_path / "s"
    baseline = coded_baseline(tmp_path)      # uncertain inputs would give each seed a scenario of its own
    imported = tmp_path / "imported.txt"
    code = ("import sys\nfrom sim.sweep import run_sweep\n"
            f"open({str(imported)!r}, 'a').write(__name__ + ' ')     # who imports this script\n"
            "if __name__ == '__main__':\n"
            f"    run_sweep({str(baseline)!r}, ['protocol.noise=0,0.05'], out={str(out)!r}, replicates=6, seed=4,\n"
            "              executor='process', workers=2, progress=False)\n"
            "    print('mesa' in sys.modules, 'pandas' in sys.modules)\n"
            "    from sim.sweep.executors import open_executor\n"
            "    with open_executor('process', 1) as pool:     # a worker from the same fork server, once it played\n"
            f"        run_sweep({str(baseline)!r}, ['protocol.noise=0:0.05'], out={str(tmp_path / 'lhs')!r}, seed=4,\n"
            "                  sampler='lhs', samples=40, executor=pool.executor, rounds=True, progress=False)\n"
            "        found = \"[m in __import__('sys').modules for m in ('mesa', 'pandas')]\"\n"
            "        print(*pool.executor.submit(eval, found).result())\n")
    script = tmp_path / "sweep_script.py"
    script.write_text(code)
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["False"] * 4      # neither Mesa nor pandas, in the parent or a worker
    # the script ran as itself and once in the fork server, not in each of the three workers
    assert imported.read_text().split() == ["__main__", "__mp_main__"]
    runs = read_runs(out)
    assert runs["error"].isna().all() and len(runs) == 12
    scenario = load_scenario(baseline)
    for row in runs.itertuples(index=False):
        spec = apply_params(scenario, {"protocol.noise": row[runs.columns.get_loc("protocol.noise")]})
        one = service.run_scenario(spec, int(row.seed), collect=False).summary_row()
        got = dict(zip(runs.columns, row, strict=True))
        for name, value in one.items():
            assert got[name] == value or (isinstance(value, float) and math.isnan(value) and math.isnan(got[name]))


@pytest.mark.parametrize("args,starts", [
    (["sweep", "s.yaml", "--out", "d"], True),
    (["sweep", "s.yaml", "--executor", "process", "--out", "d"], True),
    (["sweep", "s.yaml", "--executor=process"], True),
    (["sweep", "s.yaml", "--executor", "serial", "--out", "d"], False),
    (["sweep", "s.yaml", "--executor=dask"], False),
    (["sweep", "s.yaml", "--scheduler", "tcp://h:8786"], False),
    (["sweep", "--help"], False),
    (["run", "s.yaml"], False),
    ([], False),
])
def test_the_fork_server_starts_before_parsing_only_for_a_process_sweep(monkeypatch, args, starts):
    from sim.cli import sweep as sweep_cli
    from sim.sweep import executors

    started = []
    monkeypatch.setattr(executors, "start_early", lambda kind: started.append(kind) if kind == "process" else None)
    sweep_cli.start_workers_early(args)
    assert started == (["process"] if starts else [])


def test_a_batch_mixing_lockstep_and_model_runs_keeps_run_order(baseline, tmp_path):
    """Simultaneous points run in lockstep, sequential ones as models, in the same task: rows stay in run_id
    order and each equals its own run."""
    vary = ["protocol.activation=simultaneous,sequential,simultaneous"]
    run_sweep(baseline, vary, out=tmp_path / "s", replicates=3, seed=9, executor="serial", batch_size=100,
              progress=False)
    runs = read_runs(tmp_path / "s")
    assert runs["run_id"].tolist() == list(range(9)) and runs["error"].isna().all()
    for row in runs.to_dict("records"):
        spec = apply_params(baseline, {"protocol.activation": row["protocol.activation"]})
        one = service.run_scenario(spec, row["seed"], collect=False).summary_row()
        assert all(row[k] == v or (isinstance(v, float) and math.isnan(v) and math.isnan(row[k]))
                   for k, v in one.items())


def test_assumptions_sweep_says_which_assumptions_decide_the_outcome(tmp_path):
    """--assumptions varies every uncertain input over its range; a Sobol analysis then ranks them."""
    from sim.scenario import dump_yaml

    base = load_scenario(BASELINE)
    keep = ("actors.russia.outside_option.trend", "actors.us.saliences.cbm")
    two = base.model_copy(update={"uncertainty": {p: base.uncertainty[p] for p in keep}})
    path = tmp_path / "two_assumptions.yaml"
    path.write_text(dump_yaml(two))
    cli, out = CliRunner(), tmp_path / "sa"
    result = cli.invoke(app, ["sweep", str(path), "--assumptions", "--sampler", "sobol", "--samples", "32",
                              "--executor", "serial", "--out", str(out), "-q"])
    assert result.exit_code == 0, result.output
    runs = read_runs(out)
    assert len(runs) == 32 * (len(keep) + 2)
    assert runs["actors.russia.outside_option.trend"].between(0.0, 0.02).all()
    result = cli.invoke(app, ["analyze", str(out), "--sobol", "--output", "breakdown"])
    assert result.exit_code == 0, result.output
    indices = pd.read_csv(out / "sobol.csv").set_index(["output", "parameter"])
    # how fast Russia's coercion option grows decides breakdown; the US's weight on CBMs hardly does
    assert indices.loc[("breakdown", keep[0]), "ST"] > indices.loc[("breakdown", keep[1]), "ST"]
    grid = cli.invoke(app, ["sweep", str(path), "--assumptions", "--out", str(tmp_path / "g")])
    assert grid.exit_code == 2 and "--sampler sobol" in grid.output
    none = cli.invoke(app, ["sweep", str(coded_baseline(tmp_path)), "--assumptions", "--sampler", "lhs",
                            "--out", str(tmp_path / "n")])
    assert none.exit_code == 2 and "no uncertain inputs" in none.output


def test_assumption_influence_ranks_the_inputs_that_go_with_an_outcome():
    from sim.sweep.analyze import assumption_influence

    rng = np.random.default_rng(0)
    pressure, noise = rng.uniform(0, 1, 600), rng.uniform(0, 1, 600)
    broke = pressure + 0.2 * rng.normal(size=600) > 0.5
    runs = pd.DataFrame({"outcome": np.where(broke, "breakdown", "stalemate"), "error": None,
                         "input.actors.russia.outside_option.trend": pressure, "input.actors.us.capability": noise})
    table = assumption_influence(runs)
    assert list(table["output"].unique()) == ["breakdown"]          # agreement never happens: left out
    top = table.iloc[0]
    assert top["input"] == "actors.russia.outside_option.trend" and top["spearman"] > 0.6
    assert top["share_high_third"] > 0.9 > 0.1 > top["share_low_third"]
    assert abs(table.iloc[1]["spearman"]) < 0.15


def test_assumption_influence_counts_distinct_draws_and_gives_each_third_its_interval():
    """Hostile test of issue 23: the replicates of a sweep share their seeds (and so their draws) from point to
    point; rho counted each run, so 10 points x 4 replicates showed rho from 40 "draws" that were 4. Rho is now
    over the distinct draws (one per seed, its output the mean over its runs) and says how many; each third's
    share has its 95 % Wilson interval and its number of runs."""
    from sim.sweep.analyze import assumption_influence

    seeds = np.tile(np.arange(6), 10)                     # 10 points x 6 replicates: 6 seeds, 6 draws
    drawn = np.array([0.1, 0.5, 0.2, 0.9, 0.7, 0.3])[seeds]
    point = np.repeat(np.arange(10), 6)
    broke = (drawn + 0.05 * point) > 0.6                  # the outcome depends on the draw and on the point
    runs = pd.DataFrame({"seed": seeds, "point": point, "outcome": np.where(broke, "breakdown", "agreement"),
                         "error": None, "input.actors.us.capability": drawn})
    table = assumption_influence(runs).set_index("output")
    row = table.loc["breakdown"]
    assert row["draws"] == 6 and row["runs"] == 60
    per_seed = pd.DataFrame({"x": drawn, "y": broke.astype(float)}).groupby(seeds).mean()
    assert row["spearman"] == pytest.approx(per_seed["x"].corr(per_seed["y"], method="spearman"))
    low_cut, high_cut = per_seed["x"].quantile(1 / 3), per_seed["x"].quantile(2 / 3)
    for third, mask in (("low_third", drawn <= low_cut), ("high_third", drawn >= high_cut)):
        expected = service.wilson(int(broke[mask].sum()), int(mask.sum()))
        assert row[f"runs_{third}"] == mask.sum() == 20
        assert (row[f"share_{third}"], row[f"low_{third}"], row[f"high_{third}"]) == pytest.approx(
            (expected.share, expected.low, expected.high))
        assert row[f"low_{third}"] <= row[f"share_{third}"] <= row[f"high_{third}"] and row[f"low_{third}"] < 1


def test_a_one_replicate_lhs_design_plays_in_lockstep_as_its_models_would(baseline, tmp_path, monkeypatch):
    """Each point of an LHS design has its own values and one seed: the batch plays them together in lockstep
    (rounds recorded too), and every table equals the one made run by run with a model per run."""
    vary = ["actors.russia.capability=0.5:2", "protocol.tension.hardening=0:1", "protocol.max_rounds=5:25",
            "protocol.linkage=package,issue_by_issue"]
    one_by_one = tmp_path / "models"
    run_sweep(baseline, vary, out=one_by_one, sampler="lhs", samples=24, seed=3, executor="serial", batch_size=1,
              rounds=True, progress=False)
    played = []
    real_play = lockstep.play

    def spy(scenario, seeds, *args, **kwargs):
        played.append(len(seeds))
        return real_play(scenario, seeds, *args, **kwargs)

    monkeypatch.setattr(lockstep, "play", spy)
    together = tmp_path / "lockstep"
    run_sweep(baseline, vary, out=together, sampler="lhs", samples=24, seed=3, executor="serial", batch_size=24,
              rounds=True, progress=False)
    assert sum(played) >= 24 - 2    # every run but a group's odd one out played in lockstep (two linkage groups)
    for name in ("runs.parquet", "rounds.parquet"):
        assert_same_table(together / name, one_by_one / name)


def test_batches_are_as_even_as_can_be():
    from sim.sweep.runner import batches

    sizes = [len(batch) for batch in batches(np.arange(50), 7)]
    assert sizes == [7, 7, 6, 6, 6, 6, 6, 6]          # not seven of 7 and a last one of 1
    assert np.array_equal(np.concatenate(list(batches(np.arange(50), 7))), np.arange(50))
    assert [len(b) for b in batches(np.arange(3), 10)] == [3] and list(batches(np.arange(0), 5)) == []


def test_a_lone_run_in_a_batch_plays_in_lockstep_not_as_a_model(baseline, monkeypatch):
    """In a worker that has not imported Mesa, a model would cost that import (~0.8 s, most of a small sweep): the
    service plays a lone run in lockstep there; the row is the same."""
    design = make_design(baseline, ["protocol.noise=0.01,0.02"], replicates=1, root_seed=3)
    runs_schema, _, _ = probe(baseline, design, False)
    one = service.run_scenario(apply_params(baseline, {"protocol.noise": 0.02}), int(design.seeds[0]),
                               collect=False).summary_row()

    def no_model(*args, **kwargs):
        raise AssertionError("a lone run played as a model")

    monkeypatch.setattr(service, "start", no_model)
    monkeypatch.delitem(sys.modules, "mesa", raising=False)     # as in a fresh worker (restored after the test)
    got, _, failed = worker_module.run_batch(baseline, design.paths, design.runs([1]), False, runs_schema, None)
    assert failed == 0 and got.num_rows == 1
    row = got.to_pylist()[0]
    for name, value in one.items():
        assert row[name] == value or (value != value and row[name] != row[name]), name


# ====================================================================== the dashboard's plan and its command line
def _shell_words(command: str) -> list[str]:
    """The words bash makes of a command line (quotes, line continuations), with `negsim` in front."""
    done = subprocess.run(["bash", "-c", "negsim() { printf 'negsim\\0'; printf '%s\\0' \"$@\"; }\n" + command],
                          capture_output=True, text=True, timeout=30, check=True)
    return done.stdout.split("\0")[:-1]


def _cli_design(command: str, scenario):
    """The design the real `negsim sweep` parser makes of a command line (the plan's own parser is not used)."""
    import typer

    from sim.sweep.design import make_design

    words = _shell_words(command)
    assert words[:2] == ["negsim", "sweep"]
    ctx = typer.main.get_command(app).commands["sweep"].make_context("sweep", words[2:])
    p = ctx.params
    return p, make_design(scenario, p["vary"], p["sampler"], p["samples"], p["replicates"], p["seed"])


@pytest.mark.parametrize("sampler, samples", [("grid", None), ("lhs", 9), ("sobol", 4), ("random", 5)])
def test_the_plan_command_round_trips_to_the_same_design(sampler, samples):
    from sim.sweep import SweepPlan
    from sim.sweep.command import range_spec, values_spec

    scenario = load_scenario(BASELINE)
    vary = (range_spec("actors.russia.outside_option.trend", 0.0, 0.1 / 3, 3),      # a float with many digits
            range_spec("protocol.max_rounds", 10, 30, 3, value=20),
            values_spec("protocol.linkage", ["package", "issue_by_issue"]))
    if sampler != "grid":
        vary = vary[:2]
    plan = SweepPlan("scenarios/feb2022_baseline.yaml", "sweeps/my sweep", vary, sampler, samples, replicates=3,
                     seed=11, executor="process", workers=2)
    params, design = _cli_design(plan.command(), scenario)
    ours = plan.design(scenario)
    assert params["scenario"] == Path("scenarios/feb2022_baseline.yaml")
    assert params["out_dir"] == Path("sweeps/my sweep")
    assert (params["executor"], params["workers"]) == ("process", 2)
    assert design.to_json() == ours.to_json()       # factors, sampler, samples, replicates, seed, points' hash
    assert design.n_runs == ours.n_runs
    np.testing.assert_array_equal(design.seeds[:3], ours.seeds[:3])
    for path in design.paths:
        np.testing.assert_array_equal(design.columns[path], ours.columns[path])
    assert plan.command().count("\\\n") == len(plan.argv()[2:]) // 2       # one option per line


def test_plan_specs_keep_every_digit_and_the_type():
    from sim.sweep.command import range_spec, values_spec

    assert range_spec("protocol.noise", 0.1, 0.30000000000000004, 2) == "protocol.noise=0.1:0.30000000000000004:2"
    assert range_spec("protocol.max_rounds", 5, 9, value=20) == "protocol.max_rounds=5:9"
    assert values_spec("protocol.linkage", ["package"]) == "protocol.linkage=package"
    assert values_spec("issues.cbm.de_escalating", [True, False]) == "issues.cbm.de_escalating=true,false"


def test_plan_bad_input_is_a_scenario_error_listing_the_problems():
    from sim.sweep import SweepPlan

    scenario = load_scenario(BASELINE)
    with pytest.raises(ScenarioError) as caught:
        SweepPlan("s.yaml", "o", ("protocol.noise=0.4:0.1:3",), replicates=0).design(scenario)
    text = str(caught.value)
    assert "LO must not exceed HI" in text and "--replicates" in text


def test_the_plan_command_gives_the_same_table_as_the_plan(tmp_path):
    """What the dashboard runs (`run_sweep` with the plan's options) and what its command line runs."""
    from sim.sweep import SweepPlan

    vary = ("actors.russia.reservation_utility=0.3:0.6:2", "protocol.linkage=package,issue_by_issue")
    plan = SweepPlan(str(BASELINE), str(tmp_path / "page"), vary, "grid", None, replicates=2, seed=3)
    run_sweep(BASELINE, list(plan.vary), out=plan.out, progress=False, **plan.options())
    command = SweepPlan(str(BASELINE), str(tmp_path / "cli"), vary, "grid", None, replicates=2, seed=3).command()
    result = CliRunner().invoke(app, _shell_words(command)[1:] + ["--quiet"])
    assert result.exit_code == 0, result.output
    page, cli = read_runs(tmp_path / "page"), read_runs(tmp_path / "cli")
    assert len(page) == 8
    pd.testing.assert_frame_equal(page, cli)


def test_run_sweep_tells_a_progress_callable(tmp_path):
    seen = []
    run_sweep(BASELINE, VARY, out=tmp_path / "s", replicates=2, seed=1, executor="serial", batch_size=3,
              progress=lambda done, total, failed: seen.append((done, total, failed)))
    assert seen[0] == (0, 8, 0) and seen[-1] == (8, 8, 0)
    assert [d for d, _, _ in seen] == sorted(d for d, _, _ in seen) and len(seen) >= 4
