"""Shared fixtures: small scenarios built in code, so tests say exactly what they assume."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings

from sim.scenario import Scenario, parse_scenario

# CI replays a fixed set of generated examples (reproducible, never flaky); local runs keep exploring new ones.
settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = Path("/usr/bin/chromium")
SCENARIOS = ROOT / "scenarios"
BASELINE = SCENARIOS / "feb2022_baseline.yaml"


def make_scenario(positions: list[list[float]], saliences: list[list[float]] | None = None,
                  capabilities: list[float] | None = None, actor: dict[str, Any] | None = None,
                  protocol: dict[str, Any] | None = None, red_lines: list[dict[str, float]] | None = None
                  ) -> Scenario:
    """N actors x M issues on 0-100 scales; `actor` holds fields shared by every actor."""
    n, m = len(positions), len(positions[0])
    issues = [{"id": f"i{j}", "label": f"Issue {j}"} for j in range(m)]
    actors = []
    for i in range(n):
        actors.append({
            "id": f"a{i}", "name": f"Actor {i}",
            "capability": capabilities[i] if capabilities else 1.0,
            "positions": {f"i{j}": positions[i][j] for j in range(m)},
            "saliences": {f"i{j}": (saliences[i][j] if saliences else 1.0) for j in range(m)},
            "red_lines": red_lines[i] if red_lines else {},
            **(actor or {}),
        })
    return parse_scenario({"id": "test", "title": "Test", "issues": issues, "actors": actors,
                           "protocol": protocol or {}})


@pytest.fixture(scope="session")
def baseline() -> Scenario:
    """The Feb-2022 baseline scenario (frozen, so tests may share it)."""
    from sim.scenario import load_scenario

    return load_scenario(BASELINE)


@pytest.fixture
def baseline_doc() -> dict[str, Any]:
    import yaml
    return yaml.safe_load(BASELINE.read_text())


@pytest.fixture
def app():
    """The dashboard after its first run (Streamlit's AppTest), for the tests that drive its widgets."""
    from streamlit.testing.v1 import AppTest

    return AppTest.from_file(str(ROOT / "dashboard" / "app.py"), default_timeout=90).run()


# ---------------------------------------------------------------------------------------------------- classroom
class Clock:
    """A hand-driven clock (seconds) for the classroom's timers and rate limits."""

    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def classroom_db(tmp_path) -> Path:
    """Where a test's classroom keeps its SQLite file (a folder of its own, which the store creates)."""
    return tmp_path / "room" / "classroom.sqlite3"


@pytest.fixture
def app_db(tmp_path, monkeypatch) -> Path:
    """The classroom app's database for a test (NEGSIM_CLASSROOM_DB), with 10 agent-only runs in its debriefs."""
    path = tmp_path / "classroom.sqlite3"
    monkeypatch.setenv("NEGSIM_CLASSROOM_DB", str(path))
    monkeypatch.setenv("NEGSIM_CLASSROOM_RUNS", "10")
    return path


@pytest.fixture
def cls(classroom_db, clock):
    """A classroom on a fresh database, on the hand-driven clock."""
    from sim.classroom import Classroom

    return Classroom(classroom_db, clock=clock)


ROOM_SEATS = ("russia", "us")
"""The seats people take in the `room` fixture's room (the other actors are agents)."""
ROOM_PASSPHRASE = "correct horse battery"
"""The teacher's passphrase of the `room` fixture's room."""
ROOM_ROUNDS = 6


@pytest.fixture
def room(cls):
    """A room of the baseline in the lobby of `cls`: people at ROOM_SEATS, ROOM_ROUNDS rounds at most, the teacher's
    passphrase ROOM_PASSPHRASE. Its `RoomState` (`room.code`, `room.room.teacher_key`)."""
    from sim.scenario import baseline

    return cls.create_room(baseline(), human_seats=list(ROOM_SEATS), max_rounds=ROOM_ROUNDS,
                           passphrase=ROOM_PASSPHRASE)


# ---------------------------------------------------------------------------------------------------- markers
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """A test file that drives Playwright marks its tests `browser` (so `-m "not browser"` leaves it out)."""
    unmarked = sorted({str(item.path.name) for item in items
                       if _uses_playwright(item.path) and item.get_closest_marker("browser") is None})
    if unmarked:
        raise pytest.UsageError(f"{', '.join(unmarked)}: uses Playwright; add `pytestmark = pytest.mark.browser`")


def pytest_runtest_setup(item: pytest.Item) -> None:
    """Browser tests need Chromium: skipped on a machine without it, a failure in CI (which installs it)."""
    if item.get_closest_marker("browser") is not None and not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing: .ci/run installs it (apt-get install -y chromium)")
        pytest.skip("needs Debian's chromium (apt-get install chromium)")


_PLAYWRIGHT: dict[Path, bool] = {}


def _uses_playwright(path: Path) -> bool:
    if path not in _PLAYWRIGHT:
        _PLAYWRIGHT[path] = path.suffix == ".py" and "playwright" in path.read_text(encoding="utf-8")
    return _PLAYWRIGHT[path]
