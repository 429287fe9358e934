"""An installed negsim (a wheel, not this checkout) carries its scenarios and runs its default, the baseline."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.slow     # builds a wheel and installs it in a fresh venv

SHIPPED = sorted(p.name for p in (ROOT / "scenarios").iterdir() if p.suffix in (".yaml", ".csv", ".json"))


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """A wheel built offline from a copy of the sources (the build leaves nothing in the checkout)."""
    source = tmp_path_factory.mktemp("src")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    shutil.copytree(ROOT / "scenarios", source / "scenarios")
    shutil.copytree(ROOT / "sim", source / "sim", symlinks=True,
                    ignore=shutil.ignore_patterns("__pycache__"))
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--quiet",
                    "-w", str(out), str(source)], check=True, capture_output=True, text=True)
    (found,) = out.glob("negsim-*.whl")
    return found


def test_the_wheel_ships_every_scenario_inside_the_package(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    assert sorted(n.split("/")[-1] for n in names if n.startswith("sim/scenarios/")) == SHIPPED
    assert "feb2022_baseline.yaml" in SHIPPED
    assert "sim/forecasting/data/eu_population.csv" in names      # the Council's population criteria need it


def test_an_installed_negsim_runs_its_default_scenario_outside_the_checkout(wheel, tmp_path):
    site = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "--quiet", "--target", str(site),
                    str(wheel)], check=True, capture_output=True, text=True)
    code = ("import sim, sim.engine.model; from sim import NegotiationModel; m = NegotiationModel(); m.run_model(); "
            "print(sim.__file__); print(sim.engine.model.BASELINE.resolve()); print(m.spec.id, m.outcome)")
    env = {**os.environ, "PYTHONPATH": str(site)}
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, check=True, capture_output=True,
                          text=True)
    module, baseline, result = done.stdout.splitlines()
    assert Path(module).is_relative_to(site) and Path(baseline).is_relative_to(site)
    assert result.split()[0] == "feb2022_baseline" and result.split()[1] in ("agreement", "partial", "stalemate",
                                                                              "breakdown")
