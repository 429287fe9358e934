"""Common random numbers (`sim.core.streams`): each uncertain input, the round noise and the order of moves come
from their own streams of the run's seed, so changing one input leaves every other draw of the seed unchanged."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from sim.cli import app
from sim.compile.inputs import draw_inputs, draw_plan
from sim.core import streams
from sim.engine import lockstep
from sim.engine.model import NegotiationModel, baseline
from sim.scenario import apply_params, params
from tests.conftest import SCENARIOS

PATHS = list(baseline().uncertainty)


def _with_uncertainty(scenario, uncertainty):
    return scenario.model_copy(update={"uncertainty": uncertainty})


def _changed(scenario, path, how, a, b):
    """The scenario with the uncertain input `path` removed, fixed at a value of its range, or re-ranged (a
    narrower range around its coded value)."""
    spec = scenario.uncertainty[path]
    if how == "remove":
        return _with_uncertainty(scenario, {p: s for p, s in scenario.uncertainty.items() if p != path})
    if how == "fix":
        value = spec.low + a * (spec.high - spec.low)
        return apply_params(scenario, {path: round(value) if isinstance(params(scenario)[path], int) else value})
    coded = float(params(scenario)[path])
    low, high = spec.low + a * (coded - spec.low), coded + b * (spec.high - coded)
    return _with_uncertainty(scenario, {**scenario.uncertainty,
                                        path: spec.model_copy(update={"low": low, "high": high})})


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(PATHS), st.sampled_from(["remove", "fix", "re-range", "add"]),
       st.floats(0, 1), st.floats(0, 1), st.integers(0, 2**63 - 1))
def test_changing_one_uncertain_input_leaves_every_other_draw_of_the_seed_unchanged(path, how, a, b, seed):
    scenario = baseline()
    if how == "add":    # the scenario without the input, then with it: the same as removing it, seen the other way
        before, after = _changed(scenario, path, "remove", a, b), scenario
    else:
        before, after = scenario, _changed(scenario, path, how, a, b)
    _, old = draw_inputs(before, seed)
    _, new = draw_inputs(after, seed)
    others = [p for p in PATHS if p != path]
    assert {p: old[p] for p in others} == {p: new[p] for p in others}
    if how == "re-range":
        spec = after.uncertainty[path]
        assert spec.low <= new[path] <= spec.high
    # the model draws the same, and its round noise and order of moves do not move either
    first, second = NegotiationModel(before, rng=seed, collect=False), NegotiationModel(after, rng=seed, collect=False)
    assert {p: first.drawn_inputs[p] for p in others} == {p: second.drawn_inputs[p] for p in others}
    t = min(first.deadline, second.deadline)
    if path != "protocol.noise":
        np.testing.assert_array_equal(first.noise_draws[:t], second.noise_draws[:t])
    elif first.noise_draws is not None and second.noise_draws is not None:   # the same normals, another scale
        np.testing.assert_allclose(first.noise_draws[:t] / first.arrays.rules.noise[0],
                                   second.noise_draws[:t] / second.arrays.rules.noise[0], rtol=1e-12)


CODED = ["actors.russia.positions.expansion", "actors.us.capability", "actors.russia.saliences.missiles",
         "actors.russia.strategy.flexibility", "issues.expansion.status_quo"]


@settings(max_examples=25, deadline=None)
@given(st.sampled_from(CODED), st.floats(0, 1), st.integers(0, 2**63 - 1))
def test_changing_a_coded_value_changes_no_draw(path, a, seed):
    """A value that is not drawn, changed (within a range the schema accepts): every draw of the seed, the
    round noise included, stays as it was."""
    scenario = baseline()
    coded = params(scenario)[path]
    scale = scenario.issue(path.split(".")[-1] if "positions" in path else path.split(".")[1]).scale \
        if "positions" in path or "status_quo" in path else None
    value = (scale.min + a * (scale.max - scale.min)) if scale is not None else min(1.0, max(0.05, coded * (0.5 + a)))
    changed = apply_params(scenario, {path: value})
    assert draw_inputs(scenario, seed)[1] == draw_inputs(changed, seed)[1]
    first, second = NegotiationModel(scenario, rng=seed, collect=False), NegotiationModel(changed, rng=seed,
                                                                                           collect=False)
    t = min(first.deadline, second.deadline)
    np.testing.assert_array_equal(first.noise_draws[:t], second.noise_draws[:t])


def test_lockstep_draws_each_path_from_its_own_stream_too():
    scenario = baseline()
    fixed = apply_params(scenario, {"actors.russia.red_lines.expansion": 35})
    seeds = [0, 1, 2, 2**62 + 5]
    old, new = lockstep.play(scenario, seeds).inputs, lockstep.play(fixed, seeds).inputs
    assert set(old) - set(new) == {"actors.russia.red_lines.expansion"}
    for path in new:
        np.testing.assert_array_equal(old[path], new[path])


def test_streams_are_stable_and_keyed():
    u = streams.input_uniforms([5, 5, 6], ["a", "b"])
    assert u.shape == (3, 2) and ((u >= 0) & (u < 1)).all()
    assert (u[0] == u[1]).all() and (u[0] != u[2]).all() and u[0, 0] != u[0, 1]
    # a path's number does not depend on which other paths are drawn, nor on their order
    assert streams.input_uniforms([5], ["b"])[0, 0] == u[0, 1]
    assert streams.input_uniforms([5], ["b", "a"])[0, 0] == u[0, 1]
    # roughly uniform: 20000 numbers, each tenth of [0, 1) holds about a tenth
    many = streams.input_uniforms(range(2000), [f"p{k}" for k in range(10)]).ravel()
    counts = np.bincount((many * 10).astype(int), minlength=10)
    assert (np.abs(counts - 2000) < 200).all()
    # the round streams differ from each other
    assert streams.generator(5, streams.NOISE).random() != streams.generator(5, streams.ORDER).random()
    # a fixed number of another process, so a change of scheme cannot pass unnoticed
    code = "from sim.core import streams; print(repr(float(streams.input_uniforms([5], ['a'])[0, 0])))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert float(out) == u[0, 0]


def test_the_cli_fixing_one_red_line_changes_no_other_drawn_input(tmp_path):
    """The issue's check: fix Russia's expansion red line at 35 in a copy of the baseline (its uncertainty entry
    deleted); `negsim run FILE --seed S --json` for 5 seeds draws every other input as before."""
    doc = yaml.safe_load((SCENARIOS / "feb2022_baseline.yaml").read_text())
    russia = next(actor for actor in doc["actors"] if actor["id"] == "russia")
    russia["red_lines"]["expansion"] = 35
    del doc["uncertainty"]["actors.russia.red_lines.expansion"]
    fixed = tmp_path / "fixed.yaml"
    fixed.write_text(yaml.safe_dump(doc, sort_keys=False))

    def inputs(path, seed):
        result = CliRunner().invoke(app, ["run", str(path), "--seed", str(seed), "--json"])
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)["inputs"]

    changed = 0
    for seed in range(5):
        old, new = inputs(SCENARIOS / "feb2022_baseline.yaml", seed), inputs(fixed, seed)
        assert set(old) - set(new) == {"actors.russia.red_lines.expansion"}
        changed += sum(old[path] != new[path] for path in new)
    assert changed == 0
    assert len(draw_plan(baseline()).paths) == len(PATHS)


@given(st.integers(0, 2**160), st.sampled_from([0, 1, 2**32 - 1, 2**32, 2**64 - 1, streams.key(streams.NOISE)]))
@settings(max_examples=300, deadline=None)
def test_seed_sequence_is_numpys_own(seed, spawn_key):
    """`streams.seed_sequence` (the entropy given as SeedSequence assembles it) gives numpy's SeedSequence state for
    every seed and key, short and long: the words split, the padding to the pool size, the key appended."""
    ours = streams.seed_sequence(seed, spawn_key).generate_state(8, np.uint64)
    assert np.array_equal(ours, np.random.SeedSequence(seed, spawn_key=(spawn_key,)).generate_state(8, np.uint64))
    for small in (0, 1, 2**32 - 1, 2**32, 2**63 - 1):
        assert np.array_equal(streams.seed_sequence(small, spawn_key).generate_state(4, np.uint64),
                              np.random.SeedSequence(small, spawn_key=(spawn_key,)).generate_state(4, np.uint64))
