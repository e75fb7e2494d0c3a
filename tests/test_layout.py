"""The package layout keeps its promises (docs/design.md): only the CLI imports typer and rich,
nothing imports the CLI or runs back up from the library to the commands' modules, and no two
modules import each other in a circle."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "nnctl"
# Packages whose modules count as one unit (their insides may import each other freely).
UNITS = ("cli", "runs", "report")
# The modules that serve a command; the library below them never imports them.
TOP = {"nnctl.train", "nnctl.evaluate", "nnctl.predict", "nnctl.gradcheck", "nnctl.report", "nnctl.export",
       "nnctl.runtable", "nnctl.plot", "nnctl.cli"}


def _modules() -> dict[str, Path]:
    out = {}
    for p in PACKAGE.rglob("*.py"):
        name = ".".join(p.relative_to(PACKAGE.parent).with_suffix("").parts)
        out[name.removesuffix(".__init__")] = p
    return out


def _unit(module: str) -> str:
    parts = module.split(".")
    return ".".join(parts[:2]) if len(parts) > 2 and parts[1] in UNITS else module


def _imports(path: Path) -> set[str]:
    """Every module an import statement names, at the top or inside a function."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{a.name}" for a in node.names)
    return names


def _graph() -> dict[str, set[str]]:
    mods = _modules()
    graph: dict[str, set[str]] = defaultdict(set)
    for name, path in mods.items():
        for target in _imports(path):
            if target in mods and _unit(target) != _unit(name) and target != "nnctl":
                graph[_unit(name)].add(_unit(target))
    return graph


def test_only_the_cli_imports_typer_and_rich() -> None:
    offenders = [f"{name} imports {t}" for name, path in _modules().items() if not name.startswith("nnctl.cli")
                 for t in _imports(path) if t.split(".")[0] in ("typer", "rich", "click")]
    assert offenders == []


def test_the_library_never_imports_the_commands_modules() -> None:
    graph = _graph()
    library = [a for a in graph if a not in TOP and a != "nnctl.__main__"]  # __main__ is `python -m nnctl`
    assert [f"{a} -> {b}" for a in library for b in graph[a] if b in TOP] == []


def test_no_import_circles() -> None:
    graph = _graph()
    seen: dict[str, int] = {}  # 1: on the current path, 2: done
    circles: list[str] = []

    def visit(node: str, path: list[str]) -> None:
        seen[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if seen.get(nxt) == 1:
                circles.append(" -> ".join(path[path.index(nxt):] + [nxt]))
            elif nxt not in seen:
                visit(nxt, [*path, nxt])
        seen[node] = 2

    for node in sorted(graph):
        if node not in seen:
            visit(node, [node])
    assert circles == []


def test_the_layout_check_sees_real_imports() -> None:
    """The checks above are not vacuous: the graph holds the edges the design describes."""
    graph = _graph()
    assert "nnctl.binding" in graph["nnctl.train"] and "nnctl.runs" in graph["nnctl.train"]
    assert "nnctl.losses" in graph["nnctl.model"] and "nnctl.train" in graph["nnctl.cli"]
