"""Sweeps under abuse: Arrow IPC part files (damaged, stray, mixed with the Parquet
parts of earlier versions, killed mid-write), the numpy designs and the cheaper range check, the fork server that
imports the parent's script once, and lockstep's shared draws and ended rows that stay in the arrays. Every sweep
is compared with what one model per run gives, bit for bit."""

from __future__ import annotations

import json
import math
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.ipc as ipc
import pyarrow.parquet as pq
import pytest

from sim import service
from sim.core import table_rules
from sim.engine import lockstep
from sim.scenario import ScenarioError, apply_params, dump_yaml, load_scenario, params
from sim.sweep import make_design, read_rounds, read_runs, run_sweep
from sim.sweep import parts as parts_module
from sim.sweep.design import parse_vary
from sim.sweep.worker import describe
from tests.conftest import BASELINE, ROOT

NOISE = "protocol.noise=0:0.1:3"
REPLICATES = 4
SEED = 11


@pytest.fixture(scope="module")
def coded(tmp_path_factory):
    """The baseline with its inputs as coded, as a file (no draws: the runs differ by the design alone)."""
    path = tmp_path_factory.mktemp("scenario") / "coded.yaml"
    path.write_text(dump_yaml(load_scenario(BASELINE).as_coded()))
    return path


def sweep_args(out: Path, *extra: str) -> list[str]:
    return ["sweep", str(BASELINE), "--vary", NOISE, "--replicates", str(REPLICATES), "--seed", str(SEED), "--rounds",
            "--executor", "serial", "--quiet", "--out", str(out), *extra]


def negsim(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "sim", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout)


def assert_one_line_error(done: subprocess.CompletedProcess, *expected: str) -> str:
    assert done.returncode == 2, (done.returncode, done.stdout, done.stderr)
    assert "Traceback" not in done.stderr + done.stdout, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, done.stderr
    for text in expected:
        assert text in lines[0], lines[0]
    return lines[0]


def assert_same_table(path: Path, expected: Path) -> None:
    """Bit-identical values (NaN equal to NaN), same columns, types and row order."""
    got, want = pq.read_table(path), pq.read_table(expected)
    assert got.schema.equals(want.schema)
    pd.testing.assert_frame_equal(got.to_pandas(), want.to_pandas(), check_exact=True)


def assert_same_sweep(out: Path, reference: Path) -> None:
    for name in ("runs.parquet", "rounds.parquet"):
        assert_same_table(out / name, reference / name)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"]["complete"] is True
    assert not [p.name for p in out.glob(".*.tmp.*")]     # no merge or manifest left half-written


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The sweep uninterrupted."""
    out = tmp_path_factory.mktemp("reference") / "sweep"
    run_sweep(BASELINE, [NOISE], out=out, replicates=REPLICATES, seed=SEED, rounds=True, executor="serial",
              progress=False)
    return out


@pytest.fixture(scope="module")
def interrupted(tmp_path_factory):
    """The same sweep stopped after three batches of two runs (six of twelve runs in parts/)."""
    from sim.sweep.directory import SweepDir

    out = tmp_path_factory.mktemp("interrupted") / "sweep"
    real, written = SweepDir.write_batch, []

    def three_then_stop(self, *args, **kwargs):
        if len(written) == 3:
            raise KeyboardInterrupt
        written.append(args[0])
        return real(self, *args, **kwargs)

    SweepDir.write_batch = three_then_stop
    try:
        with pytest.raises(KeyboardInterrupt):
            run_sweep(BASELINE, [NOISE], out=out, replicates=REPLICATES, seed=SEED, rounds=True, executor="serial",
                      batch_size=2, progress=False)
    finally:
        SweepDir.write_batch = real
    assert sorted(p.name for p in (out / "parts").iterdir()) == [
        f"{kind}-{first:012d}.arrow" for kind in ("rounds", "runs") for first in (0, 2, 4)]
    return out


def copy_of(interrupted: Path, tmp_path: Path) -> Path:
    out = tmp_path / "sweep"
    shutil.copytree(interrupted, out)
    return out


def resume(out: Path) -> subprocess.CompletedProcess:
    return negsim(*sweep_args(out))


# ====================================================================== damaged, stray and mixed part files
@pytest.mark.parametrize("stray", ["runs-copy.arrow", "runs-000000000000 (1).arrow", "runs-.arrow", "notes.txt",
                                   "rounds-x.parquet", "subdir/"])
def test_a_stray_file_in_parts_is_left_alone_and_the_sweep_resumes(interrupted, reference, tmp_path, stray):
    """A file manager's copy of a part ("runs-000000000000 (1).arrow"), a note, a directory: none is a part the
    sweep wrote. Before, a name starting runs- that was not runs-<number> stopped the resume with a ValueError
    traceback, and a directory in parts/ made every later run of the command fail at its end ("Is a directory")."""
    out = copy_of(interrupted, tmp_path)
    target = out / "parts" / stray.rstrip("/")
    if stray.endswith("/"):
        target.mkdir()
    elif stray.startswith("runs-0"):
        shutil.copy(out / "parts" / "runs-000000000000.arrow", target)
    else:
        target.write_text("mine")
    done = resume(out)
    assert done.returncode == 0, done.stderr
    assert "Resumed: 6 runs" in done.stdout
    assert_same_sweep(out, reference)
    assert target.exists()                      # not the sweep's to delete
    assert sorted(p.name for p in (out / "parts").iterdir()) == [target.name]
    again = resume(out)                         # the finished sweep, run again: nothing to do, no error
    assert again.returncode == 0, again.stderr


def test_a_directory_under_a_part_name_is_refused_in_one_line_until_it_is_removed(interrupted, reference, tmp_path):
    """The sweep could neither read nor replace it (the batch's part would be renamed onto it)."""
    out = copy_of(interrupted, tmp_path)
    blocker = out / "parts" / "runs-000000000006.arrow"
    blocker.mkdir()
    assert_one_line_error(resume(out), "runs-000000000006.arrow", "not a file")
    assert sorted(p.name for p in (out / "parts").glob("runs-*")) == [f"runs-{k:012d}.arrow" for k in (0, 2, 4, 6)]
    blocker.rmdir()
    done = resume(out)
    assert done.returncode == 0, done.stderr
    assert_same_sweep(out, reference)


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[:len(path.read_bytes()) // 2])


@pytest.mark.parametrize("damage", ["missing", "empty", "truncated", "header only"])
def test_a_batch_whose_rounds_part_is_missing_or_cut_short_is_run_again(interrupted, reference, tmp_path, damage):
    """The runs part commits a batch, its rounds part is written first; if the rounds part is gone or cut short
    (a disk, a hand), the batch is not done. Before, the resume merged the runs and then died on the rounds part:
    an ArrowInvalid traceback, or "Failed to open local file" at every later attempt."""
    out = copy_of(interrupted, tmp_path)
    rounds = out / "parts" / "rounds-000000000002.arrow"
    if damage == "missing":
        rounds.unlink()
    elif damage == "empty":
        rounds.write_bytes(b"")
    elif damage == "truncated":
        _truncate(rounds)
    else:
        rounds.write_bytes(rounds.read_bytes()[:8])
    done = resume(out)
    assert done.returncode == 0, done.stderr
    assert "Resumed: 4 runs" in done.stdout
    assert_same_sweep(out, reference)


@pytest.mark.parametrize("which", ["runs", "rounds"])
@pytest.mark.parametrize("damage", ["empty", "truncated", "garbage"])
def test_a_damaged_runs_part_is_redone_with_its_rounds(interrupted, reference, tmp_path, which, damage):
    out = copy_of(interrupted, tmp_path)
    part = out / "parts" / f"{which}-000000000004.arrow"
    if damage == "empty":
        part.write_bytes(b"")
    elif damage == "truncated":
        _truncate(part)
    else:
        part.write_bytes(os.urandom(part.stat().st_size))
    done = resume(out)
    assert done.returncode == 0, done.stderr
    assert "Resumed: 4 runs" in done.stdout
    assert_same_sweep(out, reference)


def _flip_middle(path: Path) -> None:
    data = bytearray(path.read_bytes())
    for k in range(len(data) // 4, 3 * len(data) // 4, 7):
        data[k] ^= 0xFF
    path.write_bytes(bytes(data))


def _replace_column(path: Path, name: str, values: pa.Array) -> None:
    with pa.memory_map(str(path)) as source:
        table = ipc.open_file(source).read_all()
    table = table.set_column(table.schema.get_field_index(name), name, values)
    with pa.OSFile(str(path), "wb") as sink, ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table)


@pytest.mark.parametrize("damage", ["rounds part garbled inside", "runs part with an uncastable column"])
def test_a_part_damaged_inside_costs_one_line_and_one_rerun(interrupted, reference, tmp_path, damage):
    """A part whose footer and run ids read fine but whose other data does not (bytes flipped inside the lz4
    buffers; a column no sweep writes) is found only as the parts are merged. Before: "LZ4 decompress failed" at
    every attempt, for ever, and a half-written .runs.parquet.tmp left in the directory. Now the batch is dropped,
    the command says so in one line (exit 2), and the same command again finishes the sweep."""
    out = copy_of(interrupted, tmp_path)
    if damage.startswith("rounds"):
        _flip_middle(out / "parts" / "rounds-000000000002.arrow")
    else:
        _replace_column(out / "parts" / "runs-000000000002.arrow", "tension", pa.array(["high", "low"]))
    first = resume(out)
    if first.returncode != 0:       # found at the merge (a flip may also hit the footer: found by the scan)
        assert_one_line_error(first, "damaged", "re-run the same command")
        assert not list(out.glob(".*.tmp.*"))
        assert not (out / "parts" / "runs-000000000002.arrow").exists()
        done = resume(out)
        assert done.returncode == 0, done.stderr
    assert_same_sweep(out, reference)


def test_an_ipc_and_a_parquet_part_of_the_same_batch_count_once(interrupted, reference, tmp_path):
    """A batch written by this version and by an earlier one (both kinds of part, same first run): its runs are
    merged once, never doubled."""
    out = copy_of(interrupted, tmp_path)
    for kind in ("runs", "rounds"):
        arrow = out / "parts" / f"{kind}-000000000002.arrow"
        pq.write_table(parts_module.read_part(arrow), arrow.with_suffix(".parquet"))
    done = resume(out)
    assert done.returncode == 0, done.stderr
    assert_same_sweep(out, reference)


def test_a_run_id_column_of_another_type_is_not_taken_for_done_runs(interrupted, reference, tmp_path):
    """Run ids as floats (not a part this sweep writes) must not index the done mask: the batch is redone."""
    out = copy_of(interrupted, tmp_path)
    part = out / "parts" / "runs-000000000002.arrow"
    _replace_column(part, "run_id", pa.array([2.0, 3.0]))
    done = resume(out)
    assert done.returncode == 0, done.stderr
    assert_same_sweep(out, reference)


def test_leftovers_of_kills_mid_write_are_cleaned_and_change_nothing(interrupted, reference, tmp_path):
    """A kill while a part was written leaves its temporary file; between the rounds and the runs part, a rounds
    part without its runs part; during the merge, a half-written .runs.parquet.tmp. None of them is a result."""
    out = copy_of(interrupted, tmp_path)
    parts = out / "parts"
    (parts / ".runs-000000000006.arrow.tmp.4242").write_bytes(b"ARROW1\x00\x00half")
    shutil.copy(parts / "rounds-000000000004.arrow", parts / "rounds-000000000006.arrow")   # its runs never came
    (out / ".runs.parquet.tmp.4242").write_bytes(b"PAR1half")
    (out / ".manifest.json.tmp.4242").write_text("{")
    done = resume(out)
    assert done.returncode == 0, done.stderr
    assert "Resumed: 6 runs" in done.stdout
    assert_same_sweep(out, reference)


def _old_parquet_parts(reference: Path, out: Path, firsts: list[int], size: int) -> None:
    """parts/ as an earlier negsim left it: Parquet parts of batches of `size` runs."""
    manifest = json.loads((reference / "manifest.json").read_text())
    manifest["status"] = {"complete": False}
    out.mkdir(parents=True)
    (out / "manifest.json").write_text(json.dumps(manifest))
    (out / "parts").mkdir()
    runs, rounds = pq.read_table(reference / "runs.parquet"), pq.read_table(reference / "rounds.parquet")
    for first in firsts:
        def pick(table, first=first):
            return table.filter(pc.and_(pc.greater_equal(table["run_id"], first), pc.less(table["run_id"],
                                                                                         first + size)))
        pq.write_table(pick(rounds), out / "parts" / f"rounds-{first:012d}.parquet")
        pq.write_table(pick(runs), out / "parts" / f"runs-{first:012d}.parquet")


def _session_processes(session: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[3]) == session and fields[0] != "Z":
            found.append(int(stat.parent.name))
    return found


@pytest.mark.slow     # subprocesses killed and resumed
@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads the process table from /proc (Linux)")
def test_killed_again_and_again_over_old_parquet_parts_then_resumed_equals_uninterrupted(tmp_path):
    """A --rounds sweep on processes that an earlier version had started (Parquet parts of four-run batches) is
    killed with SIGKILL at random moments, three times (tiny batches: a kill often lands while a part is written),
    then finished: the tables equal an uninterrupted sweep's and every process of each killed command is gone."""
    vary = ["protocol.linkage=package,issue_by_issue", "protocol.max_rounds=5:25:3"]
    reference = tmp_path / "reference"
    run_sweep(BASELINE, vary, out=reference, replicates=6, seed=3, rounds=True, executor="serial", progress=False)
    out = tmp_path / "killed"
    _old_parquet_parts(reference, out, [0, 4, 20], 4)
    command = [sys.executable, "-m", "sim", "sweep", str(BASELINE), *[f"--vary={v}" for v in vary], "--replicates",
               "6", "--seed", "3", "--rounds", "--executor", "process", "--workers", "2", "--batch-size", "1",
               "--quiet", "--out", str(out)]
    chance = random.Random(os.getpid())
    for _ in range(3):
        child = subprocess.Popen(command, cwd=ROOT, start_new_session=True, stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL)
        before = len(list((out / "parts").glob("runs-*")))
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and len(list((out / "parts").glob("runs-*"))) < before + 2 \
                and child.poll() is None:
            time.sleep(0.005)
        time.sleep(chance.uniform(0, 0.05))
        os.killpg(child.pid, signal.SIGKILL)
        child.wait()
        end = time.monotonic() + 6
        while _session_processes(child.pid) and time.monotonic() < end:
            time.sleep(0.05)
        assert _session_processes(child.pid) == []
    kinds = {p.suffix for p in (out / "parts").glob("runs-*")}
    assert kinds == {".arrow", ".parquet"} or (out / "runs.parquet").exists()
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    for name in ("runs.parquet", "rounds.parquet"):
        assert_same_table(out / name, reference / name)
    assert not (out / "parts").exists()


# ====================================================================== the design
def test_an_exponent_off_its_strategy_kind_is_refused_as_before(baseline):
    """Russia is boulware (exponent < 1), the US linear (= 1), the EU conceder (> 1). The cheaper range check
    (`runs_to_validate`, bounds only) let these through, and lockstep then played exponents the model refuses:
    rows with outcomes where one model per run gives an error."""
    for spec, message in [("actors.russia.strategy.exponent=0.2:3:3", "boulware needs exponent < 1"),
                          ("actors.us.strategy.exponent=0.5,1", "linear needs exponent = 1"),
                          ("actors.eu.strategy.exponent=0.5:4", "conceder needs exponent > 1")]:
        with pytest.raises(ScenarioError) as caught:
            parse_vary([spec], baseline)
        assert any(p.path == spec.split("=")[0] and message in p.message for p in caught.value.problems), spec
    assert parse_vary(["actors.russia.strategy.exponent=0.2:0.9:3"], baseline)     # inside the rule: accepted


def test_the_cli_refuses_an_exponent_off_its_kind_in_one_line(tmp_path):
    done = negsim("sweep", str(BASELINE), "--vary", "actors.russia.strategy.exponent=0.2:3:3", "--executor",
                  "serial", "--out", str(tmp_path / "out"))
    assert_one_line_error(done, "actors.russia.strategy.exponent", "boulware needs exponent < 1")
    assert not (tmp_path / "out").exists()


def test_the_design_refuses_a_value_alone_exactly_when_the_model_does(baseline):
    """Every number-valued parameter of the baseline, at its field's bounds, the coded value and a few others: the
    design check (now partly without a validation) refuses a value alone exactly when `apply_params` reports a
    problem at that parameter's own path."""
    from sim.compile.inputs import field_bounds, setter_of
    from sim.sweep.design import Factor, _check_values

    scenario = baseline.as_coded()
    checked = 0
    for path, coded in params(scenario).items():
        if isinstance(coded, (bool, str)) or setter_of(scenario, path) is None:
            continue
        bounds = field_bounds(path)
        ends = [x for x in (bounds.low, bounds.high) if math.isfinite(x)]
        for value in {*ends, float(coded), 0.0, 0.5, 1.0, 2.0, 50.0}:
            value = round(value) if bounds.whole else value
            refused = bool(_check_values(scenario, Factor.choice(path, [value], "int" if bounds.whole else "float")))
            try:
                apply_params(scenario, {path: value})
            except ScenarioError as error:
                own = any(p.path == path for p in error.problems)
            else:
                own = False
            assert refused == own, (path, value)
            checked += 1
    assert checked > 300


def model_rows(scenario, design, collect: bool):
    """Per run: (summary row or error, history or None) of one model per run."""
    out = []
    for _, _, _, seed, values in design.runs(range(design.n_runs)):
        point = dict(zip(design.paths, values, strict=True))
        try:
            result = service.run_scenario(apply_params(scenario, point) if point else scenario, seed,
                                          collect=collect, explain=False)
        except Exception as error:      # noqa: BLE001 - the sweep records any failure as the row's error
            out.append(({"error": describe(error)}, None))
        else:
            out.append(({"error": None, **result.summary_row()}, result.history if collect else None))
    return out


def same(a, b) -> bool:
    return a == b or (isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b))


def assert_sweep_is_one_model_per_run(scenario, vary, out, rounds=False, **options) -> pd.DataFrame:
    """Sweep serially (many points a batch, in lockstep) and compare every row, and with `rounds` every round,
    with one model per run. Returns the run table."""
    options = {"replicates": 3, "seed": 5, **options}
    run_sweep(scenario, vary, out=out, executor="serial", rounds=rounds, progress=False, **options)
    design = make_design(scenario, vary, options.get("sampler", "grid"), options.get("samples"),
                         options["replicates"], options["seed"])
    runs = read_runs(out)
    assert list(runs["run_id"]) == list(range(design.n_runs))
    history = read_rounds(out) if rounds else None
    for (run, row), (expected, expected_history) in zip(runs.iterrows(), model_rows(scenario, design, rounds),
                                                        strict=True):
        got = {name: row.get(name) for name in expected}
        got["error"] = got["error"] if isinstance(got["error"], str) else None
        assert all(same(got[k], v) for k, v in expected.items()), (run, got, expected)
        if rounds and expected_history is not None:
            mine = history[history["run_id"] == row["run_id"]].drop(columns="run_id").reset_index(drop=True)
            others = [name for name in mine.columns if name not in expected_history.columns]
            assert mine[others].isna().all().all(), others     # another mechanism's columns (median, mean)
            mine = mine[list(expected_history.columns)]
            pd.testing.assert_frame_equal(mine, expected_history.reset_index(drop=True), check_exact=True,
                                          check_dtype=False, check_categorical=False)
    return runs


@pytest.fixture
def no_model_runs(monkeypatch):
    """The seeds of runs a batch played one by one after its group raised (the worker's fall-back: each run alone,
    without the group's values); a test asserts the list stays empty."""
    from sim.sweep import worker

    calls: list = []
    group_play = worker.play_batch

    def spy(spec, seeds, paths=(), values=None, **options):
        if values is None:     # a run played alone, outside its group
            calls.append(list(seeds))
        return group_play(spec, seeds, paths, values, **options)

    monkeypatch.setattr(worker, "play_batch", spy)
    return calls


def test_a_grid_of_int_bool_and_choice_factors_with_noise_zero_among_noisy_runs(baseline, tmp_path):
    """Whole numbers (max_rounds), a flag (de_escalating), a choice (linkage) and noise 0 next to noise > 0 under
    random activation: runs of one seed share their draws only where their deadline and noisiness agree."""
    scenario = apply_params(baseline, {"protocol.activation": "random"})
    vary = ["protocol.max_rounds=1:30:3", "issues.cbm.de_escalating=true,false",
            "protocol.linkage=package,issue_by_issue", "protocol.noise=0,0.04"]
    runs = assert_sweep_is_one_model_per_run(scenario, vary, tmp_path / "s", rounds=True, replicates=2)
    assert set(runs["protocol.max_rounds"]) == {1, 16, 30} and runs["error"].isna().all()
    assert runs["outcome"].nunique() > 1


def test_the_mechanism_and_the_activation_as_choices_with_rounds(baseline, tmp_path):
    """Choices lockstep cannot set in the arrays group the runs (each group in lockstep); the rounds table holds
    the expected-utility columns, null for the concession runs."""
    vary = ["protocol.mechanism=concession,expected_utility", "protocol.activation=simultaneous,sequential,random",
            "protocol.max_rounds=3:20:2"]
    runs = assert_sweep_is_one_model_per_run(baseline, vary, tmp_path / "s", rounds=True, replicates=2)
    assert runs["prediction.cbm"].isna().eq(runs["protocol.mechanism"] == "concession").all()


@pytest.mark.parametrize("mechanism_name", ["concession", "expected_utility"])
def test_one_seed_for_every_run_varied_deadlines_and_noise_in_lockstep(baseline, tmp_path, mechanism_name,
                                                                        no_model_runs):
    """A random design with one replicate: every run has the seed of replicate 0, so all share their draws, with
    their own deadlines (1..40: many runs end long before the others and stay in the arrays, ended) and noise
    (some exactly 0). No run may fall back to a model, and each equals its model, rounds included."""
    # no build-up: since issue 22 Russia as coded walks in round 11 (its option overtakes its no-deal value), and
    # this test needs runs that last to their deadlines
    scenario = apply_params(baseline.as_coded(), {"protocol.mechanism": mechanism_name,
                                                   "protocol.activation": "sequential",
                                                   "actors.russia.outside_option.trend": 0.0})
    vary = ["protocol.max_rounds=1:40", "protocol.noise=0,0,0.01,0.05", "actors.russia.capability=0.3:2",
            "issues.cbm.de_escalating=true,false"]
    runs = assert_sweep_is_one_model_per_run(scenario, vary, tmp_path / "s", rounds=True, sampler="random",
                                             samples=48, replicates=1)
    assert runs["seed"].nunique() == 1 and no_model_runs == []
    assert runs["rounds"].min() <= 2 and runs["rounds"].max() >= 20


def test_ended_rows_below_the_compaction_share_play_on_without_changing_the_others(baseline):
    """Forty runs, nine of which end in round 1 or 2 (max_rounds): under a quarter, so they stay in the arrays for
    every later round, played but ignored. Each run, and each recorded round, equals its model."""
    scenario = apply_params(baseline, {"protocol.mechanism": "expected_utility"})
    paths = ["protocol.max_rounds", "protocol.noise"]
    values = np.array([[1 + k % 2, 0.03] if k < 9 else [25, 0.0 if k % 3 else 0.02] for k in range(40)], dtype=float)
    seeds = [7, 8] * 20
    final = lockstep.play(scenario, seeds, paths, values, record=True)
    assert (final.rounds[:9] <= 2).all() and (final.rounds[9:] > 2).any()
    table = final.rounds_table
    for r, seed in enumerate(seeds):
        point = {"protocol.max_rounds": int(values[r, 0]), "protocol.noise": float(values[r, 1])}
        model = service.start(apply_params(scenario, point), seed)
        model.run_model()
        assert (table_rules.OUTCOMES[final.outcome[r]], final.rounds[r], final.tension[r]) == \
            (model.outcome, model.round, model.tension), r
        np.testing.assert_array_equal(final.offers[r], model.offers, strict=True)
        np.testing.assert_array_equal(final.utility[r], model.outcome_utilities(), strict=True)
        np.testing.assert_array_equal(final.prediction[r], model.prediction, strict=True)
        history = service.history_of(model)
        np.testing.assert_array_equal(table["position"][table["run"] == r], history["position"].to_numpy())
        np.testing.assert_array_equal(table["tension"][table["run"] == r], history["tension"].to_numpy())


def test_chunks_of_runs_sharing_seeds_record_the_same_rounds(baseline, monkeypatch):
    """More runs than fit in the arrays play a chunk at a time: runs of one seed in different chunks draw the same
    numbers, and the rounds table (run indices offset per chunk) is the one played in one go."""
    scenario = apply_params(baseline, {"protocol.activation": "random"})
    rng = np.random.default_rng(1)
    paths = ["protocol.max_rounds", "protocol.noise"]
    values = np.column_stack([rng.integers(1, 30, 23),
                              np.where(rng.random(23) < 0.4, 0.0, rng.uniform(0, 0.05, 23))]).astype(float)
    seeds = [int(s) for s in rng.choice([3, 4], 23)]
    whole = lockstep.play(scenario, seeds, paths, values, record=True)
    monkeypatch.setattr(lockstep, "CHUNK_CELLS", 1)     # one run a chunk
    chunked = lockstep.play(scenario, seeds, paths, values, record=True)
    for name in ("outcome", "rounds", "tension", "offers", "utility", "agreed_value"):
        np.testing.assert_array_equal(getattr(chunked, name), getattr(whole, name), err_msg=name)
    assert list(chunked.rounds_table) == list(whole.rounds_table)
    for name, column in whole.rounds_table.items():
        np.testing.assert_array_equal(chunked.rounds_table[name], column, err_msg=name)


@pytest.mark.parametrize("sampler,samples", [("lhs", 8), ("sobol", 4)])
def test_continuous_designs_with_replicates_equal_their_models(baseline, tmp_path, sampler, samples):
    """LHS and Sobol points (whole-number and float factors, a choice), each run with replicates > 1, under the
    expected-utility mechanism: every row is its model run."""
    scenario = apply_params(baseline, {"protocol.mechanism": "expected_utility"})
    vary = ["protocol.max_rounds=2:30", "actors.us.reservation_utility=0.3:0.7",
            "protocol.expected_utility.selection=published,least_move"]
    runs = assert_sweep_is_one_model_per_run(scenario, vary, tmp_path / "s", sampler=sampler, samples=samples,
                                             replicates=2)
    assert runs["protocol.max_rounds"].map(type).eq(int).all() or runs["protocol.max_rounds"].dtype.kind == "i"


@pytest.mark.parametrize("sampler,samples,vary", [
    ("lhs", 1, ["protocol.noise=0:0.1"]), ("sobol", 1, ["protocol.noise=0:0.1"]), ("random", 1, ["protocol.noise=0:0"]),
    ("grid", None, ["protocol.noise=0.05:0.1:1", "protocol.max_rounds=7:7:1"])])
def test_designs_of_a_single_sample_or_level(baseline, tmp_path, sampler, samples, vary):
    runs = assert_sweep_is_one_model_per_run(baseline, vary, tmp_path / "s", rounds=True, sampler=sampler,
                                             samples=samples, replicates=2)
    assert len(runs) == 2 * (3 if sampler == "sobol" else 1)


@pytest.mark.parametrize("vary", [
    ["protocol.noise=0:0.5:3"],                                          # both ends on the field's bounds
    ["protocol.tension.initial=0:1:3", "protocol.agreement_tolerance=0.001:0.5:2"],
    ["actors.eu.positions.expansion=0:100:3"],                           # the scale's ends
    ["actors.russia.reservation_utility=0,1"],
    ["issues.missiles.scale.max=96,100", "actors.russia.positions.missiles=80:96:3"],   # on a narrowed scale
], ids=["noise", "tension-tolerance", "positions", "reservation", "narrowed"])
def test_ranges_ending_exactly_on_schema_bounds_play_as_their_models(baseline, tmp_path, vary):
    runs = assert_sweep_is_one_model_per_run(baseline.as_coded(), vary, tmp_path / "s", replicates=2)
    assert runs["error"].isna().all()


def test_factors_that_only_combine_into_invalid_points_fail_those_runs_alone(baseline, tmp_path):
    """A position at 100 on a scale narrowed to 96, and ally weights summing past 1: those runs carry the model's
    error, the others their results."""
    vary = ["issues.missiles.scale.max=96,100", "actors.russia.positions.missiles=90,100",
            "actors.us.allies.eu=0,0.9"]
    runs = assert_sweep_is_one_model_per_run(baseline.as_coded(), vary, tmp_path / "s", replicates=2)
    failed = runs[runs["error"].notna()]
    assert len(failed) and len(failed) < len(runs)
    assert failed["error"].str.contains("invalid parameters").all()


def test_monte_carlo_without_factors_and_a_sweep_of_one_run(baseline, tmp_path):
    runs = assert_sweep_is_one_model_per_run(baseline, None, tmp_path / "mc", replicates=5)
    expected = service.monte_carlo(baseline, 5, root_seed=5)
    shared = [name for name in expected.columns if name in runs.columns]
    assert {"seed", "outcome", "tension", "replicate"} <= set(shared)
    pd.testing.assert_frame_equal(runs[shared].reset_index(drop=True), expected[shared].reset_index(drop=True),
                                  check_exact=True, check_dtype=False)
    one = assert_sweep_is_one_model_per_run(baseline, None, tmp_path / "one", rounds=True, replicates=1)
    assert len(one) == 1 and len(read_rounds(tmp_path / "one")) > 0


def test_a_choice_value_with_unicode_or_escapes_is_refused_in_one_line_shown_escaped(tmp_path):
    done = negsim("sweep", str(BASELINE), "--vary", "protocol.linkage=pâckage,\x1b[31mred", "--executor", "serial",
                  "--out", str(tmp_path / "out"))
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "\x1b" not in done.stderr and "pâckage" in done.stderr and "\\x1b[31mred" in done.stderr


# ====================================================================== scripts that start sweeps
def _script(tmp_path: Path, body: str) -> Path:
    script = tmp_path / "my_sweep.py"
    script.write_text(body)
    return script


def test_a_script_parsing_its_arguments_at_import_runs_once_in_the_fork_server(tmp_path, reference):
    """argparse at module level is common. The fork server imports the script once for all workers, but it did so
    with its own argv (['-c']): argparse printed its usage error on the sweep's stderr, the import failed, and
    every worker re-ran the script after all. The script now sees the parent's arguments, as a worker does."""
    log = tmp_path / "imports.txt"
    script = _script(tmp_path, f"""
import argparse, os
with open({str(log)!r}, "a") as handle:
    handle.write(f"{{os.getpid()}} {{__name__}}\\n")
parser = argparse.ArgumentParser()
parser.add_argument("out")
args = parser.parse_args()
from sim.sweep import run_sweep

if __name__ == "__main__":
    run_sweep({str(BASELINE)!r}, [{NOISE!r}], out=args.out, replicates={REPLICATES}, seed={SEED}, rounds=True,
              workers=2, batch_size=2, progress=False)
""")
    elsewhere = tmp_path / "cwd"
    elsewhere.mkdir()
    done = subprocess.run([sys.executable, os.path.relpath(script, elsewhere), "out"], cwd=elsewhere,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "usage" not in done.stderr and "error" not in done.stderr, done.stderr
    names = [line.split()[1] for line in log.read_text().splitlines()]
    assert names == ["__main__", "__mp_main__"]      # the script, then the fork server once; no worker re-ran it
    assert_same_sweep(elsewhere / "out", reference)


def test_a_module_run_with_python_m_from_another_directory(tmp_path, reference):
    """`python -m package.module`: workers import the module by name (the fork server does not preload it)."""
    package = tmp_path / "mypkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "sweeper.py").write_text(f"""
import sys
from sim.sweep import run_sweep
print("imported", __name__)

if __name__ == "__main__":
    run_sweep({str(BASELINE)!r}, [{NOISE!r}], out=sys.argv[1], replicates={REPLICATES}, seed={SEED}, rounds=True,
              workers=2, batch_size=3, progress=False)
""")
    out = tmp_path / "out"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT)])}
    done = subprocess.run([sys.executable, "-m", "mypkg.sweeper", str(out)], cwd=ROOT / "scenarios", env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0] == "imported __main__"
    assert_same_sweep(out, reference)


def test_a_script_that_refuses_to_be_imported_gets_one_message_and_leaves_out_untouched(tmp_path):
    script = _script(tmp_path, f"""
import sys
from sim.sweep import SweepError, run_sweep
if __name__ != "__main__":
    raise RuntimeError("do not import me")
try:
    run_sweep({str(BASELINE)!r}, out=sys.argv[1], replicates=4, workers=2, progress=False)
except SweepError as error:
    print("SweepError:", error)
""")
    done = subprocess.run([sys.executable, str(script), str(tmp_path / "out")], cwd=tmp_path, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0
    assert done.stdout.startswith("SweepError: worker processes could not start")
    assert not (tmp_path / "out").exists()


def test_a_script_with_a_long_command_line_still_starts_its_workers(tmp_path):
    """300 arguments of 1000 characters: the command line passed to the fork server as one environment string
    would be over Linux's 128 KiB limit for one string, and the server would not start."""
    script = _script(tmp_path, f"""
import sys
from sim.sweep import run_sweep

if __name__ == "__main__":
    report = run_sweep({str(BASELINE)!r}, out=sys.argv[1], replicates=4, seed=1, workers=2, progress=False)
    print("ran", report.ran, len(sys.argv))
""")
    done = subprocess.run([sys.executable, str(script), str(tmp_path / "out"), *["x" * 1000] * 300], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["ran", "4", "302"]


@pytest.fixture(scope="module")
def merged_not_recorded(tmp_path_factory, reference):
    """Killed during the merge's last steps: every part on disk, runs.parquet and rounds.parquet already renamed
    into place, the manifest not yet marked complete."""
    out = tmp_path_factory.mktemp("merging") / "sweep"
    _old_parquet_parts(reference, out, [], 0)
    runs, rounds = pq.read_table(reference / "runs.parquet"), pq.read_table(reference / "rounds.parquet")
    for first in range(0, 12, 3):
        def pick(table, first=first):
            return table.filter(pc.and_(pc.greater_equal(table["run_id"], first), pc.less(table["run_id"],
                                                                                         first + 3)))
        parts_module.atomic_write_part(out / "parts" / f"rounds-{first:012d}.arrow", pick(rounds))
        parts_module.atomic_write_part(out / "parts" / f"runs-{first:012d}.arrow", pick(runs))
    shutil.copy(reference / "rounds.parquet", out / "rounds.parquet")
    return out


def test_killed_after_the_merge_before_the_manifest_said_complete(merged_not_recorded, reference, tmp_path):
    out = tmp_path / "sweep"
    shutil.copytree(merged_not_recorded, out)
    shutil.copy(reference / "runs.parquet", out / "runs.parquet")
    done = resume(out)
    assert done.returncode == 0, done.stderr
    assert "Already complete" in done.stdout
    assert_same_sweep(out, reference)
    assert not (out / "parts").exists()


def test_killed_between_the_rounds_merge_and_the_runs_merge(merged_not_recorded, reference, tmp_path):
    """rounds.parquet is merged first: a kill before runs.parquet leaves it alone in the directory."""
    out = tmp_path / "sweep"
    shutil.copytree(merged_not_recorded, out)
    done = resume(out)
    assert done.returncode == 0, done.stderr
    assert_same_sweep(out, reference)


def test_killed_after_the_manifest_said_complete_before_the_parts_were_removed(merged_not_recorded, reference,
                                                                              tmp_path):
    out = tmp_path / "sweep"
    shutil.copytree(merged_not_recorded, out)
    shutil.copy(reference / "runs.parquet", out / "runs.parquet")
    manifest = json.loads((reference / "manifest.json").read_text())
    (out / "manifest.json").write_text(json.dumps(manifest))
    done = resume(out)
    assert done.returncode == 0, done.stderr
    assert "Already complete" in done.stdout
    assert not (out / "parts").exists()
    assert_same_sweep(out, reference)


@pytest.mark.parametrize("command", [["sweep"], ["analyze"], ["export", "--csv"]])
def test_a_damaged_runs_parquet_is_one_line_and_deleting_it_recomputes_it(reference, tmp_path, command):
    """A finished sweep whose runs.parquet was cut short (a full disk, a copy stopped halfway): the sweep command
    run again, `negsim analyze` and `negsim export` each printed an ArrowInvalid traceback."""
    out = tmp_path / "sweep"
    shutil.copytree(reference, out)
    _truncate(out / "runs.parquet")
    args = sweep_args(out) if command == ["sweep"] else [*command, str(out)]
    assert_one_line_error(negsim(*args), "runs.parquet", "damaged", "delete it")
    (out / "runs.parquet").unlink()
    done = resume(out)
    assert done.returncode == 0, done.stderr
    assert_same_sweep(out, reference)


def test_a_damaged_rounds_parquet_stops_the_export_in_one_line(reference, tmp_path):
    out = tmp_path / "sweep"
    shutil.copytree(reference, out)
    _truncate(out / "rounds.parquet")
    assert_one_line_error(negsim("export", str(out), "--csv"), "rounds.parquet", "damaged")
    assert not list(out.glob(".rounds.csv.*"))


def test_an_lhs_sweep_sampled_by_an_earlier_version_is_refused_with_the_reason(baseline, tmp_path):
    """The Latin hypercube is numpy's now, not SALib's: the same --seed gives other points, so an LHS sweep that
    an earlier negsim started cannot resume with its parts (its points differ). The refusal said "another scipy
    version?", which sent the user looking in the wrong place."""
    vary = ["protocol.noise=0:0.1", "protocol.max_rounds=5:25"]
    out = tmp_path / "lhs"
    run_sweep(baseline, vary, out=out, sampler="lhs", samples=4, replicates=2, executor="serial", progress=False)
    manifest = json.loads((out / "manifest.json").read_text())
    manifest["design"]["points_sha256"] = "0" * 64          # as the earlier sampler's points hash to
    manifest["status"] = {"complete": False}
    (out / "manifest.json").write_text(json.dumps(manifest))
    done = negsim("sweep", str(BASELINE), *[f"--vary={v}" for v in vary], "--sampler", "lhs", "--samples", "4",
                  "--replicates", "2", "--executor", "serial", "--out", str(out))
    assert_one_line_error(done, "sampled points differ", "another version of negsim", "--overwrite")


FORKSERVER_POOL_FIRST = """
import sys, multiprocessing
from sim.sweep import run_sweep

if __name__ == "__main__":
    with multiprocessing.get_context("forkserver").Pool(2) as pool:     # the script's own work, before the sweep
        assert pool.map(abs, [-1, -2]) == [1, 2]
    run_sweep({scenario!r}, {vary!r}, out=sys.argv[1], replicates={replicates}, seed={seed}, rounds=True, workers=2,
              batch_size={batch}, progress=False)
"""


def test_a_script_that_used_a_forkserver_pool_before_can_still_sweep_on_processes(tmp_path, reference):
    """Python's fork server is one per process: a script that had started it (a forkserver Pool of its own) left
    one without negsim's preload, and every worker, finding a parent other than the sweep process, exited at once:
    "worker processes could not start; ... must call it under if __name__ == '__main__'", for a guarded script."""
    script = _script(tmp_path, FORKSERVER_POOL_FIRST.format(scenario=str(BASELINE), vary=[NOISE],
                                                            replicates=REPLICATES, seed=SEED, batch=2))
    done = subprocess.run([sys.executable, str(script), str(tmp_path / "out")], cwd=tmp_path, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    assert_same_sweep(tmp_path / "out", reference)


@pytest.mark.slow     # subprocesses killed and resumed
@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads the process table from /proc (Linux)")
def test_workers_of_a_foreign_fork_server_end_when_the_script_is_killed(tmp_path):
    script = _script(tmp_path, FORKSERVER_POOL_FIRST.format(scenario=str(BASELINE), vary=[], replicates=3000, seed=1,
                                                            batch=20))
    out = tmp_path / "out"
    child = subprocess.Popen([sys.executable, str(script), str(out)], cwd=tmp_path, start_new_session=True,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while not list((out / "parts").glob("runs-*")) if (out / "parts").is_dir() else True:
            assert time.monotonic() < deadline and child.poll() is None, "no part was written"
            time.sleep(0.01)
        assert len(_session_processes(child.pid)) >= 4     # the script, the fork server, two workers
        os.kill(child.pid, signal.SIGKILL)                 # the script alone
        child.wait()
        end = time.monotonic() + 6
        while _session_processes(child.pid) and time.monotonic() < end:
            time.sleep(0.05)
        assert _session_processes(child.pid) == []
    finally:
        for pid in _session_processes(child.pid):
            os.kill(pid, signal.SIGKILL)


@pytest.mark.parametrize("other", [["--seed", "12"], ["--vary", "protocol.noise=0:0.2:3"]], ids=["seed", "values"])
def test_a_part_copied_from_another_sweep_of_the_same_size_is_not_taken_for_done_runs(interrupted, reference,
                                                                                    tmp_path, other):
    """parts/ of another sweep copied in (same number of runs: the run ids fit) with other seeds or other values
    of the factor: its rows are not this sweep's runs, and are computed again."""
    elsewhere = tmp_path / "other"
    args = sweep_args(elsewhere)
    for flag, value in zip(other[::2], other[1::2], strict=True):
        args[args.index(flag) + 1] = value
    assert negsim(*args).returncode == 0
    out = copy_of(interrupted, tmp_path)
    runs, rounds = pq.read_table(elsewhere / "runs.parquet"), pq.read_table(elsewhere / "rounds.parquet")
    for table, kind in ((runs, "runs"), (rounds, "rounds")):
        part = table.filter(pc.and_(pc.greater_equal(table["run_id"], 6), pc.less(table["run_id"], 12)))
        parts_module.atomic_write_part(out / "parts" / f"{kind}-000000000006.arrow", part)
    done = resume(out)
    assert done.returncode == 0, done.stderr
    assert "Resumed: 6 runs" in done.stdout
    assert_same_sweep(out, reference)
