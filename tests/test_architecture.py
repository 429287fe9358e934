"""The layers of the code: imports flow one way (interfaces -> service -> engine -> compile -> scenario ->
mechanisms -> core), with no circles, counting every import statement (TYPE_CHECKING and function-level ones
included), and the interfaces reach the engine only through the service (docs/architecture.md)."""

from __future__ import annotations

import ast
import re
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
            elif isinstance(node, ast.Call) and _imports_by_string(node.func) and node.args \
                    and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str):
                names = [node.args[0].value]       # importlib.import_module("sim.x"), __import__("sim.x")
            elif isinstance(node, ast.Constant) and isinstance(node.value, str) and LAZY_ENTRY.match(node.value):
                names = [node.value.partition(":")[0]]     # a registry entry imported on first use, "sim.x:NAME"
            for name in names:
                target = ours(name)
                if target is not None and target != module:
                    graph.add_edge(module, target)
    return graph


LAZY_ENTRY = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")
"""A registry's lazy entry (`sim.core.registry.Registry`): the module before the colon is imported on first use."""


def _imports_by_string(func: ast.expr) -> bool:
    name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
    return name in ("import_module", "__import__")


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


def circles(graph: nx.DiGraph) -> list[list[str]]:
    return [sorted(c) for c in nx.strongly_connected_components(graph) if len(c) > 1]


def upward(graph: nx.DiGraph) -> list[tuple[str, str]]:
    return [(a, b) for a, b in graph.edges
            if layer(b) > layer(a) or (layer(b) == layer(a) and package_of(a) != package_of(b)
                                       and b not in ("sim.version",))]


def direct(graph: nx.DiGraph) -> set[tuple[str, str]]:
    return {(a, b) for a, b in graph.edges if layer(a) > layer("sim.service") and a != LIBRARY_FACE
            and b.startswith(THROUGH_THE_SERVICE)}


def test_the_import_graph_has_no_circle(graph):
    assert circles(graph) == []


def test_every_import_goes_down_a_layer_or_stays_in_its_package(graph):
    assert upward(graph) == []


def test_the_interfaces_reach_the_engine_only_through_the_service(graph):
    assert direct(graph) == set()


UPWARD = {
    "plain": "from sim import service\n",
    "type checking": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from sim.service import RunResult\n",
    "in a function": "def f():\n    import sim.engine.model\n    return sim.engine.model\n",
    "relative": "from ..engine import lockstep\n",
    "importlib": "import importlib\nservice = importlib.import_module('sim.service')\n",
    "dunder import": "service = __import__('sim.service')\n",
    "registry entry": "ENTRIES = {'x': 'sim.sweep.runner:run_sweep'}\n",
}


@pytest.mark.parametrize("code", UPWARD.values(), ids=UPWARD.keys())
def test_the_checker_sees_every_way_of_importing_up(tmp_path, code):
    mods = modules()
    mods["sim.core.fake"] = tmp_path / "fake.py"
    mods["sim.core.fake"].write_text(code)
    assert [edge for edge in upward(imports(mods)) if edge[0] == "sim.core.fake"] != []


def test_the_checker_sees_a_circle_and_an_interface_past_the_service(tmp_path):
    mods = modules()
    for name, other in (("a", "b"), ("b", "a")):
        mods[f"sim.core.fake_{name}"] = tmp_path / f"fake_{name}.py"
        mods[f"sim.core.fake_{name}"].write_text(f"from sim.core import fake_{other}\n")
    mods["dashboard.fake"] = tmp_path / "fake_view.py"
    mods["dashboard.fake"].write_text("from sim.engine.model import NegotiationModel\n")
    graph = imports(mods)
    assert ["sim.core.fake_a", "sim.core.fake_b"] in circles(graph)
    assert ("dashboard.fake", "sim.engine.model") in direct(graph)


def documented_modules(text: str) -> dict[str, str]:
    """docs/architecture.md's module list: folder -> the text of its entry (`- `folder/`: ...`, continued on the
    indented lines below it)."""
    entries: dict[str, str] = {}
    folder = None
    for line in text.splitlines():
        start = re.match(r"- `((?:sim|dashboard)(?:/\w+)*)/`:", line)
        if start:
            folder = start.group(1)
            entries[folder] = line
        elif folder is not None and line.startswith("  "):
            entries[folder] += " " + line.strip()
        else:
            folder = None
    return entries


def test_the_architecture_doc_names_every_module_under_its_folder():
    """Each package of sim/ and dashboard/ has its entry in docs/architecture.md, naming each of its modules."""
    entries = documented_modules((ROOT / "docs" / "architecture.md").read_text(encoding="utf-8"))
    missing = []
    for package in sorted({*(ROOT / "sim").rglob("__init__.py"), *(ROOT / "dashboard").rglob("__init__.py")}):
        folder = package.parent.relative_to(ROOT).as_posix()
        if folder == "sim":
            continue        # the layers themselves: the diagram
        for module in sorted(package.parent.glob("*.py")):
            if module.name != "__init__.py" and f"`{module.name}`" not in entries.get(folder, ""):
                missing.append(f"{folder}/{module.name}")
    assert not missing, f"docs/architecture.md does not name: {', '.join(missing)}"


def test_the_doc_check_sees_a_missing_module():
    entries = documented_modules("- `sim/x/`: `a.py`, `b.py`\n  (more), `c.py`\n\n- `sim/y/`: nothing")
    assert "`c.py`" in entries["sim/x"] and "`a.py`" not in entries["sim/y"]
