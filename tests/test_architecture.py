"""The layers of the code: imports flow one way (interfaces -> service -> engine -> compile -> scenario ->
mechanisms -> core), with no circles, counting every import statement (TYPE_CHECKING and function-level ones
included), and the interfaces reach the engine only through the service (docs/architecture.md)."""

from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx
import pytest

ROOT = Path(__file__).resolve().parents[1]

LAYERS: list[tuple[str, ...]] = [
    ("sim.version", "sim.core"),
    ("sim.mechanisms",),
    ("sim.scenario",),
    ("sim.compile",),
    ("sim.engine",),
    ("sim.service",),
    ("sim.forecasting", "sim.sweep", "sim.classroom"),
    ("sim.cli", "dashboard"),
    ("sim", "sim.__main__"),
]
"""Bottom to top. A module may import its own package's modules and anything in a lower layer."""

THROUGH_THE_SERVICE = ("sim.engine", "sim.compile")
"""What the interfaces and the studies above the service reach only through it (the engine choice is the
service's). The package itself (`from sim import NegotiationModel`, for Mesa users) is the library's face, not
an interface of ours."""
LIBRARY_FACE = "sim"


def modules() -> dict[str, Path]:
    found = {}
    for package in ("sim", "dashboard"):
        for path in (ROOT / package).rglob("*.py"):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            found[".".join(parts)] = path
    return found


def imports(mods: dict[str, Path]) -> nx.DiGraph:
    """module -> every module of ours it imports (the deepest of ours a dotted name reaches)."""
    def ours(name: str) -> str | None:
        while name and name not in mods:
            name = name.rpartition(".")[0]
        return name or None

    graph = nx.DiGraph()
    for module, path in mods.items():
        graph.add_node(module)
        package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    base = ".".join(package[: len(package) - node.level + 1] + ([base] if base else []))
                names = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in mods else base for alias in node.names]
            for name in names:
                target = ours(name)
                if target is not None and target != module:
                    graph.add_edge(module, target)
    return graph


def layer(module: str) -> int:
    best, rank = -1, None
    for k, prefixes in enumerate(LAYERS):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > best:
                best, rank = len(prefix), k
    assert rank is not None, f"{module} belongs to no layer: add it to LAYERS and docs/architecture.md"
    return rank


def package_of(module: str) -> str:
    return ".".join(module.split(".")[:2]) if module.startswith("sim.") else module.split(".")[0]


@pytest.fixture(scope="module")
def graph() -> nx.DiGraph:
    return imports(modules())


def test_the_import_graph_has_no_circle(graph):
    circles = [sorted(c) for c in nx.strongly_connected_components(graph) if len(c) > 1]
    assert circles == []


def test_every_import_goes_down_a_layer_or_stays_in_its_package(graph):
    upward = [(a, b) for a, b in graph.edges
              if layer(b) > layer(a) or (layer(b) == layer(a) and package_of(a) != package_of(b)
                                         and b not in ("sim.version",))]
    assert upward == []


def test_the_interfaces_reach_the_engine_only_through_the_service(graph):
    direct = {(a, b) for a, b in graph.edges if layer(a) > layer("sim.service") and a != LIBRARY_FACE
              and b.startswith(THROUGH_THE_SERVICE)}
    assert direct == set()


def test_the_checker_sees_a_circle_and_an_upward_import(tmp_path, monkeypatch):
    """The checks above can fail: a core module importing the service is both."""
    mods = modules()
    fake = tmp_path / "fake_core.py"
    fake.write_text("from sim import service\n")
    mods["sim.core.fake"] = fake
    edges = imports(mods)
    edges.add_edge("sim.service", "sim.core.fake")
    assert any(len(c) > 1 for c in nx.strongly_connected_components(edges))
    assert layer("sim.service") > layer("sim.core.fake")
