"""Adding a mechanism, a forecasting model, a sampler or an executor is one module and one registry line: each test
registers a dummy of its kind and uses it the way a user would (docs/architecture.md shows the same steps)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from sim.core.registry import Registry
from sim.forecasting import MODELS
from sim.forecasting import backtest as bt
from sim.sweep import run_sweep
from sim.sweep.design import make_design
from sim.sweep.executors import EXECUTORS
from sim.sweep.executors.base import Executor
from sim.sweep.executors.serial import EXECUTOR as SERIAL
from sim.sweep.samplers import SAMPLERS
from sim.sweep.samplers.base import Sampler
from tests.test_backtest import CAPABILITY, HEADER, ISSUES, write

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / "scenarios" / "feb2022_baseline.yaml"


def test_a_registry_names_its_plugins_and_refuses_unknown_or_taken_names():
    registry: Registry[int] = Registry("widget", {"one": 1, "lazy": "math:pi"})
    assert registry.names == ("one", "lazy") and "lazy" in registry and "two" not in registry
    assert registry.get("lazy") == pytest.approx(3.14159, abs=1e-5)      # imported on first use
    with pytest.raises(KeyError, match="unknown widget 'two' \\(known: one, lazy\\)"):
        registry.get("two")
    with pytest.raises(ValueError, match="already"):
        registry.register("one", 2)


def test_a_mechanism_registered_before_use_is_accepted_by_the_schema_and_played_by_both_engines():
    """A dummy mechanism (the concession rounds under another name), registered by a script before it reads a
    scenario: the schema, the CLI's choices, the model and lockstep all take it, and it plays what it wraps."""
    code = textwrap.dedent(f"""
        from dataclasses import replace
        from sim import mechanisms
        from sim.mechanisms.concession import CONCESSION
        mechanisms.REGISTRY.register("dummy", replace(CONCESSION, name="dummy", label="Dummy"))
        from sim import service
        from sim.scenario import load_scenario, with_protocol
        base = load_scenario({str(BASELINE)!r})
        dummy = with_protocol(base, mechanism="dummy")
        one, two = service.run_scenario(base, 3), service.run_scenario(dummy, 3)
        assert (one.outcome, one.rounds) == (two.outcome, two.rounds) and two.mechanism == "dummy"
        seeds = service.replicate_seeds(1, 8)
        a, b = service.summaries(base, seeds), service.summaries(dummy, seeds)
        assert list(a["outcome"]) == list(b["outcome"])
        print("ok")
    """)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr


def test_every_reason_a_registered_mechanism_can_record_has_a_why_text():
    """The dashboard's per-actor panel explains each move from the mechanism's own texts (`Mechanism.why`): no
    reason any mechanism records may go unexplained (the expected-utility offers had none)."""
    from sim import mechanisms

    for mechanism in mechanisms.REGISTRY.values():
        why = mechanism.why
        assert set(mechanism.reason_names) <= set(why), mechanism.name
        assert all(why[reason].strip() and why[reason] != reason for reason in mechanism.reason_names), mechanism.name


def test_the_dashboards_why_column_reads_the_runs_mechanism(baseline):
    """An expected-utility run's moves get that mechanism's why texts in the per-actor panel."""
    from dashboard.views.negotiation import round_rows
    from sim import mechanisms, service
    from sim.scenario import with_protocol

    result = service.run_scenario(with_protocol(baseline, mechanism="expected_utility", max_rounds=3), 1)
    why = mechanisms.get("expected_utility").why
    own = set(mechanisms.get("expected_utility").reasons)
    rows = pd.concat([round_rows(result, actor, k) for actor in result.scenario.actor_ids
                      for k in range(1, result.rounds + 1)])
    assert (rows["Why"] == rows["Move"].map(why)).all()
    assert own & set(rows["Move"])      # the mechanism's own reasons were recorded, and explained


def test_a_forecasting_model_registered_goes_through_validation_intervals_and_the_backtest(tmp_path):
    """A dummy model, one registry line: uncalibrated, its intervals are refused (never another model's); the
    validation cross-validates it (its own `tune` hook), calibrates it and puts it in the all-model ensemble; a
    second dummy that combines the others is fitted after them and left out of that ensemble; calibrated, the
    backtest scores it."""
    import ast
    from dataclasses import replace

    from sim.forecasting import intervals, validation
    from sim.forecasting.model import ForecastingModel, Tuned

    path = write(tmp_path / "small.tsv", [HEADER, CAPABILITY, *ISSUES])
    data = bt.read_deu(path)
    problem = data.proposals[0].problem
    tuned: list[int] = []

    def tune(problems, outcomes, cluster):     # "chosen on the other proposals": 40 everywhere
        tuned.append(len(outcomes))
        return Tuned(np.full(len(outcomes), 40.0), ["Midpoint: 40 chosen out of fold"])

    midpoint = ForecastingModel(lambda p: np.full(p.positions.shape[0], 50.0), errors=None, tune=tune)
    blend = ForecastingModel(lambda p: np.full(p.positions.shape[0], 0.0), errors=None,
                             combine=lambda central, outcomes, cluster: (central["midpoint"] + central["nash"]) / 2)
    MODELS.register("midpoint", midpoint)
    MODELS.register("blend", blend)
    try:
        with pytest.raises(intervals.Uncalibrated, match="midpoint"):
            intervals.distribution(problem, np.full(problem.n_issues, 50.0), "midpoint")
        with pytest.raises(bt.BacktestError, match="'midpoint' declares no interval calibration"):
            bt.model_names("midpoint")
        with pytest.raises(bt.BacktestError, match="midpoint"):
            bt.run_backtest(data, ("compromise", "midpoint"))

        scores, notes = validation.evaluate(path)
        outcomes = np.concatenate([p.outcomes for p in data.proposals])
        by_name = {score.model: score for score in scores}
        assert tuned and by_name["midpoint"].mae == pytest.approx(np.abs(40.0 - outcomes).mean())   # tune's forecasts
        assert notes["standardized_errors"]["blend"] is not None and "blend" in by_name
        all_models = [k for k in notes["ensembles"] if "midpoint" in k and "compromise + nash" in k]
        assert all_models and "blend" not in all_models[0] and "ensemble" not in all_models[0]
        assert "Midpoint: 40 chosen out of fold" in validation.report(path)

        line = next(row for row in validation.calibration(path).splitlines() if row.startswith("midpoint: "))
        errors = ast.literal_eval(line.split("ERRORS = ", 1)[1])
        assert len(errors) == intervals.QUANTILES
        MODELS.unregister("midpoint")
        MODELS.register("midpoint", replace(midpoint, errors=errors))
        result = bt.run_backtest(data, ("compromise", "midpoint"))
        assert result.models == ("compromise", "midpoint")
        assert np.all(result.forecasts[:, 1] == 50.0)
        own = intervals.distribution(problem, np.full(problem.n_issues, 50.0), "midpoint", errors).interval
        np.testing.assert_array_equal(result.intervals[:problem.n_issues, 1], own)
    finally:
        MODELS.unregister("midpoint")
        MODELS.unregister("blend")


def test_a_sampler_registered_makes_designs(baseline):
    def columns(factors, samples, rng):
        return [factor.from_unit(np.full(samples, 0.5)) for factor in factors]

    SAMPLERS.register("centre", Sampler("centre", "the middle of every range", sized=True,
                                        size=lambda factors, samples: samples, columns=columns))
    try:
        design = make_design(baseline, ["protocol.noise=0:0.1"], sampler="centre", samples=3)
        assert design.n_points == 3 and np.allclose(design.columns["protocol.noise"], 0.05)
    finally:
        SAMPLERS.unregister("centre")


def test_an_executor_registered_runs_sweeps(tmp_path):
    EXECUTORS.register("inline", Executor("inline", "the serial executor under another name", SERIAL.open))
    try:
        vary = ["protocol.noise=0,0.05"]
        run_sweep(BASELINE, vary, out=tmp_path / "a", replicates=3, seed=2, executor="inline", progress=False)
        run_sweep(BASELINE, vary, out=tmp_path / "b", replicates=3, seed=2, executor="serial", progress=False)
        pd.testing.assert_frame_equal(pq.read_table(tmp_path / "a" / "runs.parquet").to_pandas(),
                                      pq.read_table(tmp_path / "b" / "runs.parquet").to_pandas())
    finally:
        EXECUTORS.unregister("inline")


def test_an_executor_that_takes_a_scheduler_is_chosen_by_its_attribute_not_its_name(tmp_path):
    """`--scheduler` goes with every executor whose `scheduler` is set (not with "dask" alone); the dashboard's
    New sweep page offers those whose `on_page` is set, under their `label`."""
    from typer.testing import CliRunner

    from sim.cli import app
    from sim.sweep import SweepError
    from sim.sweep.executors import scheduled_executors

    def open_ignoring_scheduler(workers, scheduler):
        return SERIAL.open(workers, None)

    EXECUTORS.register("cluster", Executor("cluster", "a pretend cluster", open_ignoring_scheduler, on_page=False,
                                           scheduler=True))
    try:
        assert scheduled_executors() == ["dask", "cluster"]
        report = run_sweep(BASELINE, ["protocol.noise=0,0.05"], out=tmp_path / "a", replicates=2, seed=2,
                           executor="cluster", scheduler="tcp://127.0.0.1:9", progress=False)
        assert report.n_runs == 4
        with pytest.raises(SweepError, match="--scheduler needs --executor dask or cluster"):
            run_sweep(BASELINE, [], out=tmp_path / "b", executor="serial", scheduler="tcp://127.0.0.1:9",
                      progress=False)
        done = CliRunner().invoke(app, ["sweep", str(BASELINE), "--executor", "cluster", "--scheduler",
                                        "tcp://127.0.0.1:9", "--replicates", "2", "--out", str(tmp_path / "c"),
                                        "--quiet"])
        assert done.exit_code == 0, done.output
        assert [n for n, e in EXECUTORS.items() if e.on_page] == ["serial", "process"]
        assert [EXECUTORS.get(n).label for n in ("serial", "process")] == ["this process", "all cores"]
    finally:
        EXECUTORS.unregister("cluster")


def test_a_saltelli_sampler_registered_is_accepted_for_sobol_indices(tmp_path):
    from dataclasses import replace

    from typer.testing import CliRunner

    from sim.cli import app

    SAMPLERS.register("saltelli", replace(SAMPLERS.get("sobol"), name="saltelli"))
    try:
        out = tmp_path / "s"
        run_sweep(BASELINE, ["protocol.noise=0:0.1"], out=out, sampler="saltelli", samples=8, seed=1,
                  executor="serial", progress=False)
        done = CliRunner().invoke(app, ["analyze", str(out), "--sobol", "--output", "breakdown"])
        assert done.exit_code == 0, done.output
        grid = tmp_path / "g"
        run_sweep(BASELINE, ["protocol.noise=0,0.1"], out=grid, seed=1, executor="serial", progress=False)
        refused = CliRunner().invoke(app, ["analyze", str(grid), "--sobol"])
        assert refused.exit_code == 2 and "--sampler sobol or --sampler saltelli" in refused.output
    finally:
        SAMPLERS.unregister("saltelli")
