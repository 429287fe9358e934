"""Lockstep runs (`sim.engine.lockstep`, `service.summaries`) compute exactly what one NegotiationModel per seed
computes."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sim import mechanisms, service
from sim.core import table_rules
from sim.engine import lockstep
from sim.engine.model import NegotiationModel
from sim.scenario import apply_params, load_scenario, params
from tests.conftest import SCENARIOS
from tests.test_model import FAST, scenarios

SEEDS = list(range(12))


def model_run(scenario, seed) -> NegotiationModel:
    model = NegotiationModel(scenario, rng=seed, collect=False)
    model.run_model()
    return model


def assert_same_as_models(scenario, seeds) -> Counter:
    """Every replicate's final state equals its model's, bit for bit; returns the outcomes seen."""
    final = lockstep.play(scenario, seeds)
    seen = Counter()
    for r, seed in enumerate(seeds):
        model = model_run(scenario, seed)
        outcome = table_rules.OUTCOMES[final.outcome[r]]
        assert (outcome, final.rounds[r], final.tension[r]) == (model.outcome, model.round, model.tension), seed
        np.testing.assert_array_equal(final.offers[r], model.offers, strict=True)
        np.testing.assert_array_equal(final.open_issues[r], model.open_issues, strict=True)
        np.testing.assert_array_equal(final.agreed_value[r], model.agreed_value, strict=True)
        np.testing.assert_array_equal(final.agreed_round[r], model.agreed_round, strict=True)
        np.testing.assert_array_equal(final.proposal[r], model.proposal, strict=True)
        assert [a for a, gone in zip(scenario.actor_ids, final.walked_out[r], strict=True) if gone] == \
            model.walked_out, seed
        seen[outcome] += 1
    return seen


def identical(got: dict, expected: dict) -> bool:
    """The same keys and values (NaN equals NaN; numbers compared exactly, whatever their numpy type)."""
    def same(a, b):
        return a == b or (isinstance(b, float) and np.isnan(b) and np.isnan(a))
    return list(got) == list(expected) and all(same(got[k], expected[k]) for k in expected)


def soft_red_lines(values: dict) -> dict:
    """Every red line moved to the far pole, where it binds no one."""
    out = {}
    for path, line in values.items():
        if ".red_lines." in path:
            _, actor, _, issue = path.split(".")
            low, high = values[f"issues.{issue}.scale.min"], values[f"issues.{issue}.scale.max"]
            out[path] = low if line <= values[f"actors.{actor}.positions.{issue}"] else high
    return out


def variants(scenario):
    """The scenario as shipped and changed so that every branch of a round is taken somewhere."""
    values = params(scenario)
    actors = scenario.actor_ids
    changes = {
        "as shipped": {},
        "issue by issue": {"protocol.linkage": "issue_by_issue"},
        "issue by issue, no pressure": {"protocol.linkage": "issue_by_issue",
                                        **{f"actors.{a}.outside_option.trend": 0.0 for a in actors}},
        "no pressure": {f"actors.{a}.outside_option.trend": 0.0 for a in actors},
        "no noise": {"protocol.noise": 0.0},
        "heated": {**{f"actors.{a}.outside_option.value": 0.3 for a in actors},
                   f"actors.{actors[0]}.outside_option.trend": 0.03, "protocol.noise": 0.08},
        "tit for tat": {**{f"actors.{a}.strategy.kind": "tit_for_tat" for a in actors},
                        "protocol.linkage": "issue_by_issue"},
        "hardliners and tit for tat": {
            **{f"actors.{a}.strategy.kind": ["hardliner", "tit_for_tat", "linear"][i % 3]
               for i, a in enumerate(actors)},
            "protocol.agreement_tolerance": 0.15},
        "no red lines, calm": {**soft_red_lines(values), "protocol.tension.initial": 0.0,
                               "protocol.agreement_tolerance": 0.2},
        "no red lines, calm, issue by issue": {**soft_red_lines(values), "protocol.tension.initial": 0.0,
                                               "protocol.agreement_tolerance": 0.2,
                                               "protocol.linkage": "issue_by_issue"},
    }
    return {name: apply_params(scenario, {k: v for k, v in change.items()
                                          if k in values or k.endswith(".outside_option.value")})
            for name, change in changes.items()}


SHIPPED = sorted(SCENARIOS.glob("*.yaml")) + sorted(SCENARIOS.glob("*.csv"))


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_lockstep_equals_one_model_per_seed_on_every_shipped_scenario(path):
    seen = Counter()
    for scenario in variants(load_scenario(path).as_coded()).values():
        if lockstep.supports(scenario):
            seen += assert_same_as_models(scenario, SEEDS)
    assert sum(seen.values()) >= 6 * len(SEEDS)


def test_the_variants_reach_every_outcome():
    seen = Counter()
    for scenario in variants(load_scenario(SCENARIOS / "feb2022_baseline.yaml").as_coded()).values():
        seen += Counter(table_rules.OUTCOMES[code] for code in lockstep.play(scenario, SEEDS).outcome)
    assert set(seen) == set(table_rules.OUTCOMES), seen


@FAST
@given(scenarios(), st.lists(st.integers(0, 2**63 - 1), min_size=1, max_size=6, unique=True))
def test_lockstep_equals_one_model_per_seed_on_random_scenarios(scenario, seeds):
    scenario = apply_params(scenario, {"protocol.activation": "simultaneous"})
    assert_same_as_models(scenario, seeds)


def test_a_replicate_does_not_depend_on_the_others_or_on_chunking(monkeypatch):
    scenario = variants(load_scenario(SCENARIOS / "feb2022_baseline.yaml").as_coded())["heated"]
    seeds = list(range(40))
    together = lockstep.play(scenario, seeds)
    monkeypatch.setattr(lockstep, "CHUNK_CELLS", 1)     # one replicate per chunk
    for order in (seeds[::-1], seeds[5:17]):
        apart = lockstep.play(scenario, order)
        rows = [seeds.index(s) for s in order]
        for name in lockstep.Finals.__dataclass_fields__:
            if name not in ("inputs", "rounds_table"):
                np.testing.assert_array_equal(getattr(apart, name), getattr(together, name)[rows], strict=True)


def test_summaries_equal_the_runs_summary_rows_in_lockstep_and_one_by_one():
    baseline = load_scenario(SCENARIOS / "feb2022_baseline.yaml").as_coded()
    for scenario in (variants(baseline)["no red lines, calm"],
                     apply_params(baseline, {"protocol.mechanism": "expected_utility"}),
                     apply_params(baseline, {"protocol.activation": "sequential"}),
                     load_scenario(SCENARIOS / "feb2022_baseline.yaml")):     # drawn inputs
        columns = service.summaries(scenario, SEEDS)
        for r, seed in enumerate(SEEDS):
            row = service.run_scenario(scenario, seed, collect=False).summary_row()
            assert list(columns) == list(row)
            assert identical({name: column[r] for name, column in columns.items()}, row)


def test_lockstep_plays_every_mechanism_and_activation_as_the_models_do():
    baseline = load_scenario(SCENARIOS / "feb2022_baseline.yaml").as_coded()
    for change in ({"protocol.mechanism": "expected_utility"}, {"protocol.activation": "sequential"},
                   {"protocol.activation": "random"}, {"protocol.activation": "random", "protocol.noise": 0.0}):
        scenario = apply_params(baseline, change)
        assert lockstep.supports(scenario)
        assert_same_as_models(scenario, SEEDS[:6])


def test_lockstep_refuses_inputs_it_cannot_set_without_validation():
    baseline = load_scenario(SCENARIOS / "feb2022_baseline.yaml").as_coded()
    assert not lockstep.supports(baseline, ["protocol.linkage"])
    assert not lockstep.supports(baseline, ["issues.cbm.scale.max"])
    with pytest.raises(ValueError, match="without validating"):
        lockstep.play(baseline, SEEDS, ["protocol.linkage"], np.zeros((len(SEEDS), 1)))


def test_monte_carlo_reports_progress_and_keeps_the_replicate_order(monkeypatch):
    monkeypatch.setattr(service, "MONTE_CARLO_CHUNK", 5)
    heard = []
    scenario = load_scenario(SCENARIOS / "feb2022_baseline.yaml").as_coded()
    runs = service.monte_carlo(scenario, 12, root_seed=3, progress=lambda done, total: heard.append((done, total)))
    assert heard == [(5, 12), (10, 12), (12, 12)]
    assert runs["replicate"].tolist() == list(range(12))
    assert runs["seed"].tolist() == service.replicate_seeds(3, 12)
    one = service.run_scenario(scenario, runs["seed"][7], collect=False).summary_row()
    assert identical(runs.iloc[7][list(one)].to_dict(), one)


def test_a_single_seed_runs_as_a_model_and_gives_the_same_row(monkeypatch):
    baseline = load_scenario(SCENARIOS / "feb2022_baseline.yaml").as_coded()
    assert lockstep.worthwhile(baseline, 2) and not lockstep.worthwhile(baseline, 1)
    together = service.summaries(baseline, [5, 9])

    def refuse(*_):
        raise AssertionError("one seed should not run in lockstep")

    monkeypatch.setattr(lockstep, "play", refuse)
    alone = service.summaries(baseline, [9])
    assert identical({name: column[0] for name, column in alone.items()},
                     {name: column[1] for name, column in together.items()})


# ---------------------------------------------------------------------- runs with values of their own
POINT_PATHS = {   # path: (low, high); whole numbers for max_rounds
    "actors.russia.capability": (0.2, 3.0), "actors.us.saliences.missiles": (0.0, 1.0),
    "actors.eu.positions.expansion": (0.0, 100.0), "actors.russia.red_lines.expansion": (50.0, 100.0),
    "actors.nato.reservation_utility": (0.0, 0.9), "actors.russia.outside_option.value": (0.0, 1.0),
    "actors.us.allies.nato": (0.0, 0.6), "actors.eu.strategy.exponent": (1.5, 6.0),
    "issues.cbm.status_quo": (0.0, 100.0), "protocol.tension.hardening": (0.0, 1.0),
    "protocol.noise": (0.0, 0.08), "protocol.max_rounds": (3, 30), "protocol.agreement_tolerance": (0.01, 0.2),
}


def point_values(rng, paths, runs):
    columns = []
    for path in paths:
        low, high = POINT_PATHS[path]
        columns.append(rng.integers(low, high + 1, runs) if isinstance(low, int) else rng.uniform(low, high, runs))
    return np.column_stack(columns).astype(float)


def assert_points_same_as_models(scenario, seeds, paths, values):
    final = lockstep.play(scenario, seeds, paths, values)
    for r, seed in enumerate(seeds):
        point = {path: (int(v) if path == "protocol.max_rounds" else float(v))
                 for path, v in zip(paths, values[r], strict=True)}
        model = model_run(apply_params(scenario, point), seed)
        outcome = table_rules.OUTCOMES[final.outcome[r]]
        assert (outcome, final.rounds[r], final.tension[r]) == (model.outcome, model.round, model.tension), point
        np.testing.assert_array_equal(final.offers[r], model.offers, strict=True)
        np.testing.assert_array_equal(final.agreed_value[r], model.agreed_value, strict=True)
        np.testing.assert_array_equal(final.proposal[r], model.proposal, strict=True)
        np.testing.assert_array_equal(final.utility[r], model.outcome_utilities(), strict=True)
        if model.prediction is not None:
            np.testing.assert_array_equal(final.prediction[r], model.prediction, strict=True)
        assert {path: column[r] for path, column in final.inputs.items()} == model.drawn_inputs
        assert [a for a, gone in zip(scenario.actor_ids, final.walked_out[r], strict=True) if gone] == \
            model.walked_out


@FAST
@given(st.integers(0, 2**32 - 1), st.sampled_from(["concession", "expected_utility"]),
       st.sampled_from(["simultaneous", "sequential", "random"]))
def test_runs_with_their_own_parameter_values_equal_their_models(seed, mechanism_name, activation):
    """Random parameter points of the baseline (its uncertain inputs still drawn per run), both mechanisms, every
    activation: each lockstep run is its model, bit for bit."""
    rng = np.random.default_rng(seed)
    scenario = apply_params(load_scenario(SCENARIOS / "feb2022_baseline.yaml"),
                            {"protocol.mechanism": mechanism_name, "protocol.activation": activation})
    paths = list(rng.choice(list(POINT_PATHS), size=int(rng.integers(1, 6)), replace=False))
    runs = int(rng.integers(2, 7))
    pool = rng.integers(0, 2**62, int(rng.integers(1, runs + 1)))     # runs may share a seed, as in a design
    assert_points_same_as_models(scenario, [int(s) for s in rng.choice(pool, runs)], paths,
                                 point_values(rng, paths, runs))


@pytest.mark.parametrize("activation", ["simultaneous", "random"])
def test_runs_sharing_a_seed_draw_what_their_models_draw_whatever_their_noise_and_deadline(activation):
    """Runs with one seed share their draws (drawn once, the noise scaled per run) unless their deadline or
    whether they have noise differ: each still equals its model, including runs without noise among noisy ones."""
    scenario = apply_params(load_scenario(SCENARIOS / "feb2022_baseline.yaml"), {"protocol.activation": activation})
    paths = ["protocol.noise", "protocol.max_rounds"]
    values = np.array([[0.0, 12], [0.03, 12], [0.05, 20], [0.0, 20], [0.03, 12], [0.02, 20]])
    assert_points_same_as_models(scenario, [5, 5, 5, 5, 8, 5], paths, values)


def test_a_design_over_every_settable_kind_of_input_equals_the_models():
    rng = np.random.default_rng(11)
    scenario = load_scenario(SCENARIOS / "feb2022_baseline.yaml")
    paths = list(POINT_PATHS)
    assert lockstep.supports(scenario, paths)
    assert_points_same_as_models(scenario, list(range(16)), paths, point_values(rng, paths, 16))


@pytest.mark.parametrize("change", [{}, {"protocol.mechanism": "expected_utility"},
                                   {"protocol.activation": "sequential"}], ids=["concession", "eu", "sequential"])
def test_lockstep_records_every_round_as_the_model_collects_it(change):
    scenario = apply_params(load_scenario(SCENARIOS / "feb2022_baseline.yaml"), change)
    seeds = [3, 4, 5]
    table = lockstep.play(scenario, seeds, record=True).rounds_table
    for r, seed in enumerate(seeds):
        history = service.history_of(_finished(scenario, seed))
        mine = {name: column[table["run"] == r] for name, column in table.items()}
        assert len(mine["round"]) == len(history)
        np.testing.assert_array_equal(mine["round"], history["round"].to_numpy())
        assert [scenario.actor_ids[i] for i in mine["actor"]] == history["actor"].tolist()
        assert [scenario.issue_ids[j] for j in mine["issue"]] == history["issue"].tolist()
        for name in ("position", "utility", "tension", "proposal", "agreed", "median", "mean"):
            if name in history:
                np.testing.assert_array_equal(mine[name], history[name].to_numpy(), err_msg=name)
        names = mechanisms.get(scenario.protocol.mechanism).reason_names
        assert [names[k] for k in mine["reason"]] == history["reason"].tolist()


def _finished(scenario, seed):
    model = service.start(scenario, seed)
    model.run_model()
    return model
