"""Hostile and careless input, tried as a user would from the shell (issue 15): every case ends with exit 2 and one
line naming the field or the file (or a clean run), never a traceback, a hang or a leftover process.

Each command runs as a real `negsim` process with a 20 s limit (the issue's bar); the generated-input fuzz tests
are in tests/test_fuzz_input.py.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from tests.conftest import BASELINE, ROOT

LIMIT = 20.0
"""Seconds any hostile input may take (the issue's bar)."""


def negsim(*args: object, timeout: float = LIMIT, **kwargs) -> subprocess.CompletedProcess:
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "sim", *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, cwd=ROOT, **kwargs)
    done.seconds = time.monotonic() - started
    return done


def assert_refused(done: subprocess.CompletedProcess, *expected: str) -> str:
    """Exit 2, nothing on stdout, one line on stderr holding every `expected` text, no traceback."""
    assert done.returncode == 2, (done.returncode, done.stderr[-2000:])
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr[-2000:]
    for text in expected:
        assert text in lines[0], lines[0]
    assert done.seconds < LIMIT
    return lines[0]


def baseline_doc() -> dict:
    return yaml.safe_load(BASELINE.read_text())


def write_yaml(path: Path, doc: dict) -> Path:
    path.write_text(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True))
    return path


# ====================================================================== files that are not scenario files
@pytest.mark.parametrize("suffix", [".json", ".yaml"])
def test_nesting_200000_deep_is_refused_before_parsing(tmp_path, suffix):
    path = tmp_path / f"deep{suffix}"
    body = "[" * 200_000 + "]" * 200_000
    path.write_text(body if suffix == ".json" else f"a: {body}\n")
    for command in ("validate", "run"):
        line = assert_refused(negsim(command, path), str(path))
        assert re.search(r"nest(ed|ing) (deeper|depth)", line), line


def test_moderate_nesting_under_the_recursion_limit_is_refused_too(tmp_path):
    path = tmp_path / "deep.json"
    path.write_text('{"id": "x", "title": ' + "[" * 500 + "]" * 500 + "}")
    assert_refused(negsim("validate", path), "nested deeper than 32 levels")


def test_a_symlink_to_dev_zero_is_refused_without_reading_it(tmp_path):
    path = tmp_path / "zero.yaml"
    path.symlink_to("/dev/zero")
    assert_refused(negsim("run", path), str(path), "not a regular file (a device)")


def test_a_fifo_is_refused_without_waiting_for_a_writer(tmp_path):
    path = tmp_path / "fifo.yaml"
    os.mkfifo(path)
    done = negsim("run", path, timeout=LIMIT)
    assert_refused(done, str(path), "not a regular file (a FIFO)")


def test_a_directory_and_a_missing_file(tmp_path):
    assert_refused(negsim("run", tmp_path), "is a directory")
    assert_refused(negsim("run", tmp_path / "nope.yaml"), "file not found")


def test_a_yaml_alias_bomb_is_refused(tmp_path):
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 9)]
    path = tmp_path / "bomb.yaml"
    path.write_text("\n".join(lines) + "\n")
    assert_refused(negsim("validate", path), "document too large")


# ====================================================================== text shown in the terminal
def test_markup_in_a_title_is_printed_as_written(tmp_path):
    doc = baseline_doc()
    doc["title"] = "Bold [/bold] and [blink]blink[/blink] [link=http://example.invalid]link[/link]"
    doc["issues"][0]["label"] = "[red]not red[/red]"
    path = write_yaml(tmp_path / "markup.yaml", doc)
    done = negsim("run", path, env={**os.environ, "TERM": "xterm-256color", "FORCE_COLOR": "1"})
    assert done.returncode == 0, done.stderr
    assert doc["title"] in done.stdout and "[red]not red[/red]" in done.stdout
    assert "\x1b]8;" not in done.stdout and "\x1b[5m" not in done.stdout     # no hyperlink, no blinking
    sweep = negsim("sweep", path, "--executor", "serial", "--replicates", "2", "--out", tmp_path / "s")
    assert sweep.returncode == 0, sweep.stderr
    assert doc["title"] in sweep.stdout


def test_terminal_escapes_in_user_text_are_shown_escaped(tmp_path):
    doc = baseline_doc()
    doc["title"] = "evil \x1b[31mred\x1b[0m \u202e reversed"
    path = write_yaml(tmp_path / "escapes.yaml", doc)
    done = negsim("run", path)
    assert done.returncode == 0, done.stderr
    assert "\x1b" not in done.stdout and "\u202e" not in done.stdout
    assert "evil \\x1b[31mred\\x1b[0m \\u202e reversed" in done.stdout
    doc["actors"][0]["positions"]["\x1b[2Jgone"] = 1
    done = negsim("validate", write_yaml(tmp_path / "key.yaml", doc))
    assert done.returncode == 2 and "\x1b" not in done.stderr and "\\x1b[2Jgone" in done.stderr


def test_a_200_kb_title_is_refused_by_validate_and_run(tmp_path):
    doc = baseline_doc()
    doc["title"] = "x" * 200_000
    path = write_yaml(tmp_path / "long.yaml", doc)
    for command in ("validate", "run"):
        assert_refused(negsim(command, path), "title: text longer than 200 characters (got 200,000)")


def test_long_free_text_is_allowed_up_to_its_own_limit(tmp_path):
    doc = baseline_doc()
    doc["description"] = "word " * 3_000
    assert negsim("validate", write_yaml(tmp_path / "ok.yaml", doc)).returncode == 0
    doc["description"] = "w" * 20_001
    assert_refused(negsim("validate", write_yaml(tmp_path / "no.yaml", doc)), "description: text longer than 20,000")


# ====================================================================== numbers and types
def test_csv_positions_of_1e308_are_refused_with_the_row(tmp_path):
    path = tmp_path / "huge.csv"
    path.write_text("Actor,Capability,Position,Salience\na,1,1e308,0.5\nb,1,-1e308,0.5\n")
    for args in (("run", path), ("run", path, "--json"), ("validate", path)):
        done = negsim(*args)
        assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
        assert "row 2.Position: must be within ±1e15 (got 1e308)" in done.stderr
        assert "row 3.Position" in done.stderr


def test_duplicate_actor_names_in_a_csv_are_refused(tmp_path):
    path = tmp_path / "dup.csv"
    path.write_text("Actor,Capability,Position,Salience\nUSA,1,10,0.5\nRussia,1,90,0.5\nusa,2,50,0.5\n")
    assert_refused(negsim("validate", path), "row 4.Actor", "'usa'", "row 2")


def test_capability_true_is_not_a_number(tmp_path):
    doc = baseline_doc()
    doc["actors"][0]["capability"] = True
    assert_refused(negsim("validate", write_yaml(tmp_path / "bool.yaml", doc)),
                   "actors.russia.capability: must be a number (got True)")


def test_duplicate_keys_are_refused_in_json_and_yaml(tmp_path):
    text = json.dumps(baseline_doc())
    path = tmp_path / "dup.json"
    path.write_text(text.replace('"title":', '"title": "first", "title":', 1))
    assert_refused(negsim("validate", path), "the key 'title' twice")
    path = tmp_path / "dup.yaml"
    path.write_text(BASELINE.read_text().replace("\ntitle:", "\ntitle: first\ntitle:", 1))
    assert_refused(negsim("validate", path), "the key 'title' twice")


@pytest.mark.parametrize("text,message", [
    ('{"id": NaN}', "NaN"),
    ('{"id": 1e999}', "out of range"),
    ('{"id": ' + "9" * 5000 + "}", "more than 40 digits"),
])
def test_json_numbers_that_are_not_finite(tmp_path, text, message):
    path = tmp_path / "n.json"
    path.write_text(text)
    assert_refused(negsim("validate", path), message)


def test_yaml_inf_nan_and_giant_integers(tmp_path):
    doc = BASELINE.read_text()
    path = tmp_path / "inf.yaml"
    path.write_text(doc.replace("capability: ", "capability: .inf #", 1))
    assert_refused(negsim("validate", path), "actors.russia.capability: must be a finite number")
    path.write_text(doc.replace("max_rounds: ", "max_rounds: " + "9" * 5000 + " #", 1))
    assert negsim("validate", path).returncode == 2


# ====================================================================== the command line itself
def _pipe_closed_before_writing(*args: object) -> subprocess.CompletedProcess:
    """Run negsim with its stdout a pipe whose reader has already gone (`negsim ... | head` at its worst)."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        return subprocess.run([sys.executable, "-m", "sim", *map(str, args)], stdout=write_end,
                              stderr=subprocess.PIPE, text=True, timeout=LIMIT, cwd=ROOT)
    finally:
        os.close(write_end)


@pytest.mark.parametrize("args", [("params", BASELINE), ("run", BASELINE), ("validate", BASELINE), ("schema",)])
def test_a_closed_pipe_ends_quietly(args):
    done = _pipe_closed_before_writing(*args)
    assert done.stderr == "", done.stderr
    assert done.returncode == 0             # the reader had what it wanted: a clean end, no message


def test_version_and_help_without_bool():
    done = negsim("--version")
    assert done.returncode == 0 and done.stdout.strip() == "negsim 0.1.0"
    for command in ("run", "sweep", "export"):
        done = negsim(command, "--help", env={**os.environ, "COLUMNS": "120"})
        assert done.returncode == 0 and "--help" in done.stdout
        assert "<bool>" not in done.stdout and "BOOL" not in done.stdout, done.stdout


# ====================================================================== sweeps
def _session_processes(session: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[3]) == session and fields[0] != "Z":     # fields after the name: state, ppid, pgrp, sid
                found.append(int(entry.name))
    return found


def _wait_for(predicate, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


@pytest.mark.slow     # sweeps as subprocesses, killed
@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads the process table from /proc (Linux)")
@pytest.mark.parametrize("executor,sig", [("process", signal.SIGKILL), ("process", signal.SIGTERM),
                                          ("dask", signal.SIGKILL)])
def test_killing_a_running_sweep_leaves_no_process_of_its_session(tmp_path, executor, sig):
    out = tmp_path / "s"
    child = subprocess.Popen([sys.executable, "-m", "sim", "sweep", str(BASELINE), "--replicates", "200000",
                              "--executor", executor, "--workers", "2", "--batch-size", "20", "--quiet",
                              "--out", str(out)], cwd=ROOT, start_new_session=True,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_for(lambda: (out / "parts").is_dir() and any((out / "parts").glob("runs-*.arrow")))
        assert len(_session_processes(child.pid)) >= 3      # the command, the workers (and the fork server)
        os.kill(child.pid, sig)                             # the command alone, not its process group
        child.wait(timeout=10)
        deadline = time.monotonic() + 6.0
        while _session_processes(child.pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert _session_processes(child.pid) == [], "processes of the killed sweep are still running"
    finally:
        for pid in _session_processes(child.pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        if child.poll() is None:
            child.kill()
            child.wait()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_an_unreachable_scheduler_writes_nothing_into_out(tmp_path):
    out = tmp_path / "s"
    done = negsim("sweep", BASELINE, "--scheduler", f"tcp://127.0.0.1:{_free_port()}", "--replicates", "3",
                  "--out", out)
    assert_refused(done, "cannot connect to the Dask scheduler")
    assert not out.exists()
    later = negsim("sweep", BASELINE, "--executor", "serial", "--replicates", "2", "--seed", "3", "--out", out)
    assert later.returncode == 0, later.stderr


@pytest.mark.slow     # a Dask scheduler and worker as subprocesses
def test_a_killed_dask_scheduler_ends_the_sweep_with_one_line(tmp_path):
    dask = Path(sys.executable).with_name("dask")
    if not dask.exists():
        pytest.skip("the dask command is not installed next to this Python")
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "start_new_session": True}
    scheduler = subprocess.Popen([str(dask), "scheduler", "--host", "127.0.0.1", "--port", str(port),
                                  "--no-dashboard"], **quiet)
    worker = subprocess.Popen([str(dask), "worker", address, "--nthreads", "1", "--nworkers", "1",
                               "--no-dashboard", "--host", "127.0.0.1"], cwd=ROOT, **quiet)
    out = tmp_path / "s"
    sweep = None
    try:
        sweep = subprocess.Popen([sys.executable, "-m", "sim", "sweep", str(BASELINE), "--scheduler", address,
                                  "--replicates", "500000", "--batch-size", "50", "--quiet", "--out", str(out)],
                                 cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        _wait_for(lambda: (out / "parts").is_dir() and any((out / "parts").glob("runs-*.arrow")), timeout=90)
        scheduler.kill()
        started = time.monotonic()
        _, stderr = sweep.communicate(timeout=LIMIT)
        assert time.monotonic() - started < LIMIT
        assert sweep.returncode == 2, stderr
        assert "Traceback" not in stderr and len(stderr.strip().splitlines()) == 1, stderr
        assert "lost the connection to the Dask cluster" in stderr and "re-run the same command" in stderr
    finally:
        if sweep is not None and sweep.poll() is None:
            sweep.kill()
            sweep.communicate()
        for process in (scheduler, worker):     # each leads its own session: its group holds its children
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()
