"""`sim.core.records.built`: the record a frozen dataclass's own __init__ makes, and its error for a field missing or
unknown (a run's profiles and results are built by it)."""

from __future__ import annotations

import pytest

from sim import service
from sim.core.records import built
from sim.core.strategies import Profiles


def test_built_equals_the_dataclass_and_refuses_missing_or_unknown_fields():
    result = service.run_scenario(seed=4, collect=False)
    issue = next(iter(result.issues.values()))
    fields = {name: getattr(issue, name) for name in issue.__dataclass_fields__}
    assert built(type(issue), **fields) == type(issue)(**fields) == issue
    missing = dict(fields)
    missing.pop("why")
    with pytest.raises(TypeError, match=r"IssueResult fields missing or unknown: \['why'\]"):
        built(type(issue), **missing)
    with pytest.raises(TypeError, match=r"\['colour'\]"):
        built(type(issue), **fields, colour="red")


def test_profiles_take_a_field_called_kind():
    # (the record's kind is positional only: Profiles has a field of that name)
    profiles = service.start(service.prepare(), 1, collect=False, draw=False).profiles
    values = {name: getattr(profiles, name) for name in Profiles.__dataclass_fields__}
    assert built(Profiles, **values).kind is profiles.kind
