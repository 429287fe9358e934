"""Decision rules (`sim.core.voting`): who must accept for an issue to pass, in the concession mechanism."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from sim.cli import app
from sim.compile.arrays import arrays_of, rule_arrays, scenario_rules
from sim.core.voting import passes
from sim.engine import lockstep
from sim.engine.model import NegotiationModel
from sim.scenario import DecisionRule, ScenarioError, apply_params, load_scenario, params, parse_scenario
from tests.conftest import BASELINE, SCENARIOS, make_scenario
from tests.test_lockstep import SEEDS, assert_same_as_models, variants
from tests.test_model import FAST, scenarios


def rule(kind="unanimity", actors=4, **fields):
    """One issue's rule among `actors` actors a0, a1, ..."""
    return rule_arrays([DecisionRule(kind=kind, **fields)], [f"a{i}" for i in range(actors)])


def carried(accepting, arrays) -> bool:
    """Whether actors with these (N,) acceptances carry the one issue of `arrays`."""
    return bool(passes(np.array(accepting, dtype=bool)[:, None], arrays)[0])


# ---------------------------------------------------------------------------------------------- analytic cases
def test_unanimity_needs_every_actor_and_is_todays_rule():
    unanimity = rule()
    assert unanimity.everyone_must_accept
    assert carried([1, 1, 1, 1], unanimity) and not carried([1, 1, 1, 0], unanimity)
    accepts = np.random.default_rng(1).random((7, 4, 3)) < 0.8
    np.testing.assert_array_equal(passes(accepts, rule_arrays([DecisionRule()] * 3, ["a", "b", "c", "d"])),
                                  accepts.all(axis=-2))
    np.testing.assert_array_equal(passes(accepts, None), accepts.all(axis=-2))


def test_unanimity_asks_only_the_actors_with_a_vote():
    observers = rule(weights={"a0": 1, "a1": 1, "a2": 1})     # a3 has no vote and no veto
    assert not observers.everyone_must_accept
    assert carried([1, 1, 1, 0], observers) and not carried([0, 1, 1, 1], observers)


def test_simple_majority_needs_more_than_half_and_a_tie_fails():
    majority = rule("simple_majority")
    assert not carried([1, 1, 0, 0], majority)          # 2 of 4: a tie keeps the status quo
    assert carried([1, 1, 1, 0], majority)
    weighted = rule("simple_majority", actors=3, weights={"a0": 3, "a1": 2, "a2": 1})
    assert not carried([1, 0, 0], weighted)             # 3 of 6: a tie
    assert carried([1, 0, 1], weighted) and not carried([0, 1, 1], weighted)


def test_qualified_majority_at_the_threshold_passes_and_below_it_fails():
    # shares 0.7 + 0.2 sum to 0.8999999999999999 in floating point: the EPS slack counts it as 0.9
    qmv = rule("qualified_majority", actors=3, threshold=0.9, weights={"a0": 7, "a1": 1, "a2": 2})
    assert carried([1, 0, 1], qmv)
    assert not carried([1, 1, 0], qmv)                  # 0.8
    assert not carried([0, 1, 1], qmv)
    council = rule("qualified_majority", actors=4)        # default threshold 0.71, one vote each
    assert carried([1, 1, 1, 0], council) and not carried([1, 1, 0, 0], council)


def test_the_agenda_setter_vetoes_and_by_default_does_not_vote():
    qmv = rule("qualified_majority", actors=5, agenda_setter="a0")
    assert not carried([0, 1, 1, 1, 1], qmv)            # every voter, but not the proposer
    assert carried([1, 1, 1, 1, 0], qmv)                # 3 of the 4 voters (0.75) and the proposer
    assert not carried([1, 1, 1, 0, 0], qmv)            # 2 of 4 voters: its own vote would not count
    voting = rule("simple_majority", actors=3, agenda_setter="a0", weights={"a0": 1, "a1": 1, "a2": 1})
    assert carried([1, 1, 0], voting) and not carried([0, 1, 1], voting)


def test_rules_differ_per_issue():
    arrays = rule_arrays([DecisionRule(), DecisionRule(kind="simple_majority")], ["a", "b", "c"])
    np.testing.assert_array_equal(passes(np.array([[1, 1], [1, 1], [0, 0]], dtype=bool), arrays), [False, True])


@given(st.integers(1, 5), st.integers(2, 6), st.integers(1, 4), st.data())
def test_a_run_axis_computes_each_run_as_alone(runs, n, m, data):
    ids = [f"a{i}" for i in range(n)]
    rules = []
    for _ in range(m):
        weights = data.draw(st.one_of(st.just({}), st.fixed_dictionaries(
            {a: st.floats(0.0, 30.0) for a in ids}).filter(lambda w: sum(w.values()) > 0)))
        rules.append(DecisionRule(kind=data.draw(st.sampled_from(["unanimity", "qualified_majority",
                                                                   "simple_majority"])),
                                  threshold=data.draw(st.floats(0.51, 1.0)), weights=weights,
                                  agenda_setter=data.draw(st.sampled_from([None, *ids]))))
    arrays = rule_arrays(rules, ids)
    accepts = np.array(data.draw(st.lists(st.booleans(), min_size=runs * n * m, max_size=runs * n * m)),
                       dtype=bool).reshape(runs, n, m)
    together = passes(accepts, arrays)
    assert together.shape == (runs, m)
    np.testing.assert_array_equal(together, np.stack([passes(accepts[r], arrays) for r in range(runs)]),
                                  strict=True)
    # more acceptance never makes an issue fail (every rule is monotone)
    more = accepts | (np.arange(n) == 0)[:, None]
    assert (passes(more, arrays) >= together).all()


# ------------------------------------------------------------------------------------- the rule in a negotiation
HOLDOUT = make_scenario([[40], [50], [60], [100]], red_lines=[{}, {}, {}, {"i0": 90}],
                        protocol={"linkage": "issue_by_issue", "noise": 0.0})
"""Three actors meet near 86; the fourth never accepts anything below its red line at 90."""


def finish(scenario, seed=0) -> NegotiationModel:
    model = NegotiationModel(scenario, rng=seed, collect=False)
    model.run_model()
    return model


@pytest.mark.parametrize("linkage", ["issue_by_issue", "package"])
def test_unanimity_stalls_where_a_qualified_majority_agrees_unless_the_setter_refuses(linkage):
    def under(**rule_fields):
        return finish(apply_params(HOLDOUT, {"protocol.linkage": linkage,
                                             **{f"protocol.decision_rule.{k}": v for k, v in rule_fields.items()}}))

    stalled = under()
    assert stalled.outcome == "stalemate"
    qmv = under(kind="qualified_majority")                # 3 of 4 votes = 0.75 >= 0.71
    assert qmv.outcome == "agreement"
    value = qmv.agreed_value[0]
    assert value < 0.9                                    # across the hold-out's red line: it is outvoted
    np.testing.assert_array_equal(qmv.offers[:, 0], value)   # and bound: every offer is the agreed value
    assert under(kind="qualified_majority", agenda_setter="a3").outcome == "stalemate"   # the setter refuses
    # a proposer that accepts has no vote: 2 of the 3 voters (0.67) fall short of 0.71, but are a majority
    assert under(kind="qualified_majority", agenda_setter="a0").outcome == "stalemate"
    assert under(kind="simple_majority", agenda_setter="a0").outcome == "agreement"
    assert under(kind="qualified_majority", threshold=0.8).outcome == "stalemate"


def test_an_issue_rule_overrides_the_protocol_rule():
    two = make_scenario([[40, 40], [50, 50], [60, 60], [100, 100]], red_lines=[{}, {}, {}, {"i0": 90, "i1": 90}],
                        protocol={"linkage": "issue_by_issue", "noise": 0.0,
                                  "decision_rule": {"kind": "qualified_majority"}})
    doc = two.model_dump(by_alias=True, exclude_none=True)
    doc["issues"][1]["decision_rule"] = {"kind": "unanimity"}
    mixed = parse_scenario(doc)
    np.testing.assert_array_equal(scenario_rules(mixed).quota, [0.71, 1.0])
    model = finish(mixed)
    assert model.outcome == "partial" and not model.open_issues[0] and model.open_issues[1]
    # under package linkage the package needs every issue's rule: the unanimous issue holds it back
    assert finish(apply_params(mixed, {"protocol.linkage": "package"})).outcome == "stalemate"


def test_shipped_scenarios_decide_by_unanimity():
    for path in sorted(SCENARIOS.glob("*.yaml")) + sorted(SCENARIOS.glob("*.csv")):
        assert arrays_of(load_scenario(path)).rule.everyone_must_accept, path.name


def test_sweep_paths_reach_the_rule():
    baseline = load_scenario(BASELINE)
    table = params(baseline)
    assert table["protocol.decision_rule.kind"] == "unanimity"
    assert table["protocol.decision_rule.threshold"] == pytest.approx(0.71)
    weighted = apply_params(baseline, {"protocol.decision_rule.kind": "qualified_majority",
                                       **{f"protocol.decision_rule.weights.{a}": w
                                          for a, w in zip(baseline.actor_ids, [1, 2, 3, 4], strict=True)},
                                       "issues.cbm.decision_rule.kind": "simple_majority"})
    table = params(weighted)
    assert table["protocol.decision_rule.weights.us"] == 2
    assert table["issues.cbm.decision_rule.kind"] == "simple_majority"
    rules = arrays_of(apply_params(weighted, {"protocol.decision_rule.threshold": 0.9})).rule
    np.testing.assert_allclose(rules.weights[:, 0], np.array([1, 2, 3, 4]) / 10)
    np.testing.assert_array_equal(rules.quota, [0.9, 0.9, 0.5])
    with pytest.raises(ScenarioError, match="protocol.decision_rule.threshold: must be > 0.5"):
        apply_params(baseline, {"protocol.decision_rule.threshold": 0.5})


# --------------------------------------------------------------------------------------------- lockstep identity
def qmv_variants():
    baseline = load_scenario(BASELINE).as_coded()
    ids = baseline.actor_ids
    votes = {f"protocol.decision_rule.weights.{a}": w for a, w in zip(ids, [3, 3, 2, 0], strict=True)}
    out = {}
    for name, scenario in variants(baseline).items():
        out[f"qmv, {name}"] = apply_params(scenario, {"protocol.decision_rule.kind": "qualified_majority"})
        out[f"weighted majority with setter, {name}"] = apply_params(scenario, {
            "protocol.decision_rule.kind": "simple_majority", "protocol.decision_rule.agenda_setter": ids[1],
            **votes})
    return out


def test_lockstep_equals_one_model_per_seed_under_majority_rules():
    seen = Counter()
    for scenario in qmv_variants().values():
        assert lockstep.supports(scenario)
        seen += assert_same_as_models(scenario, SEEDS)
    assert {"agreement", "partial", "breakdown"} <= set(seen), seen


@st.composite
def ruled_scenarios(draw):
    """Random valid scenarios (tests/test_model.py) under a random decision rule, some issues with their own."""
    scenario = apply_params(draw(scenarios()), {"protocol.activation": "simultaneous"})
    ids = scenario.actor_ids

    def a_rule():
        weights = draw(st.one_of(st.just({}), st.fixed_dictionaries({a: st.floats(0.0, 10.0) for a in ids})
                                 .filter(lambda w: sum(w.values()) > 0)))
        return {"kind": draw(st.sampled_from(["unanimity", "qualified_majority", "simple_majority"])),
                "threshold": draw(st.floats(0.51, 1.0)), "weights": weights,
                "agenda_setter": draw(st.sampled_from([None, *ids]))}

    doc = scenario.model_dump(by_alias=True, exclude_none=True)
    doc["protocol"]["decision_rule"] = a_rule()
    for issue in doc["issues"]:
        if draw(st.booleans()):
            issue["decision_rule"] = a_rule()
    return parse_scenario(doc)


@FAST
@given(ruled_scenarios(), st.lists(st.integers(0, 2**63 - 1), min_size=1, max_size=6, unique=True))
def test_lockstep_equals_one_model_per_seed_on_random_rules(scenario, seeds):
    assert_same_as_models(scenario, seeds)


# ---------------------------------------------------------------------------------------------------- validation
BAD_RULES = [
    ({"protocol": {"decision_rule": {"weights": {"russia": 1, "mars": 2}}}},
     "protocol.decision_rule.weights.mars: unknown actor id 'mars'"),
    ({"protocol": {"decision_rule": {"agenda_setter": "commission"}}},
     "protocol.decision_rule.agenda_setter: unknown actor id 'commission'"),
    ({"protocol": {"decision_rule": {"kind": "qualified_majority", "weights": {"russia": 0, "us": 0.0}}}},
     "protocol.decision_rule.weights: every vote weight is 0"),
    ({"protocol": {"decision_rule": {"kind": "qualified_majority", "threshold": 0.5}}},
     "protocol.decision_rule.threshold: must be > 0.5"),
    ({"protocol": {"decision_rule": {"kind": "qualified_majority", "threshold": 1.2}}},
     "protocol.decision_rule.threshold: must be <= 1"),
    ({"protocol": {"decision_rule": {"kind": "plurality"}}},
     "protocol.decision_rule.kind: must be one of 'unanimity', 'qualified_majority' or 'simple_majority'"),
    ({"protocol": {"decision_rule": {"weights": {"russia": -1}}}},
     "protocol.decision_rule.weights.russia: must be >= 0"),
    ({"issues": {"cbm": {"decision_rule": {"agenda_setter": "un"}}}},
     "issues.cbm.decision_rule.agenda_setter: unknown actor id 'un'"),
]


def with_changes(doc, changes):
    """The document with `changes` merged in (issues addressed by id)."""
    for key, value in changes.items():
        if key == "issues":
            for issue in doc["issues"]:
                issue.update(value.get(issue["id"], {}))
        else:
            doc[key] = {**doc.get(key, {}), **value}
    return doc


@pytest.mark.parametrize(("changes", "message"), BAD_RULES, ids=[m.split(":")[0] for _, m in BAD_RULES])
def test_negsim_validate_names_a_bad_rule_and_exits_2(tmp_path, changes, message):
    doc = with_changes(yaml.safe_load(BASELINE.read_text()), changes)
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    result = CliRunner().invoke(app, ["validate", str(path)])
    assert result.exit_code == 2, result.output
    assert message in result.output and "Traceback" not in result.output
