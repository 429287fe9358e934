"""Smoke test of benchmarks/bench_designs.py: its batch_run model plays the same runs as the sweep it is compared
with (else the ratio it prints compares different work), on a few LHS points, in this process (no worker pool)."""

from __future__ import annotations

import importlib.util
import multiprocessing
import sys

import pytest

from tests.conftest import ROOT


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_designs", ROOT / "benchmarks" / "bench_designs.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_designs"] = module       # so that the PointModel class it defines can be pickled by name
    spec.loader.exec_module(module)
    yield module
    sys.modules.pop("bench_designs", None)


def test_batch_run_plays_the_sweeps_runs(bench):
    points = 12
    sweep = bench.sweep_case("lhs", points, compare=points, executor="serial")
    assert sweep["runs"] == points and sweep["failed"] == 0
    method = multiprocessing.get_start_method(allow_none=True)
    try:        # batch_run forces the "spawn" start method on the whole process: put back what was there
        batch = bench.batch_run_case(points, points, processes=1)
    finally:
        multiprocessing.set_start_method(method, force=True)
    assert batch["runs"] == points
    assert set(batch["compared"]["outcome"]) <= {"agreement", "partial", "stalemate", "breakdown"}
    assert len(set(sweep["compared"]["tension"])) > 1       # the points differ, so their runs do
    assert bench.same_runs(sweep["compared"], batch["compared"]) == points
    changed = {**batch["compared"], "rounds": [r + 1 for r in batch["compared"]["rounds"]]}
    assert bench.same_runs(sweep["compared"], changed) == 0


def test_table_row_lines_up_with_the_header(bench):
    row = {"label": "LHS sweep", "runs": 10_000, "repeats": 3, "call": 1.5, "e2e": 6_666.7, "rate": 8_000.0,
           "proc": 3.3, "cpu_ms": 0.42, "failed": 0, "rss_parent": 250.0, "rss_child": 230.0}
    line = bench.format_row(row)
    assert len(line) == len(bench.HEADER)
    assert line.split() == ["LHS", "sweep", "10,000", "3", "1.50", "6,667", "8,000", "3.3", "0.42", "250", "230"]
    assert "-" in bench.format_row({**row, "rate": float("nan")}).split()
