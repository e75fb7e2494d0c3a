"""The package's layers keep their promises (docs/design.md). import-linter checks the contracts
written in pyproject.toml (each layer imports only the layers below it, at the top of a module or
inside a function; only the CLI imports typer, click and rich; only nnctl.serve imports Starlette
and uvicorn); these tests run it, show that it catches a planted upward import, and check what it
does not: no two modules of the library import each other in a circle."""

from __future__ import annotations

import ast
import os
import re
import shutil
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "nnctl"
# Packages whose modules count as one unit (their insides may import each other freely).
UNITS = (
    "nnctl.cli",
    "nnctl.sweep",
    "nnctl.commands.report",
    "nnctl.data.readers",
    "nnctl.data.stream",
    "nnctl.runs",
)


def lint_imports(root: Path) -> subprocess.CompletedProcess:
    """`lint-imports` on the package under ``root`` with ``root``'s pyproject.toml."""
    env = {**os.environ, "PYTHONPATH": str(root)}
    code = (
        "import sys; from importlinter.cli import lint_imports; "
        "sys.exit(lint_imports(no_cache=True, no_logo=True))"
    )
    return subprocess.run(
        [sys.executable, "-c", code], cwd=root, env=env, capture_output=True, text=True, timeout=300
    )


def test_the_layer_contracts_hold() -> None:
    r = lint_imports(ROOT)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "Contracts: 6 kept, 0 broken." in r.stdout


@pytest.mark.parametrize(
    "module, planted, message",
    [
        # an upward import inside a function counts as much as one at the top
        (
            "core/metrics.py",
            "def _planted():\n    from nnctl.cli import app\n",
            "nnctl.core is not allowed to import nnctl.cli",
        ),
        (
            "data/holdout.py",
            "from nnctl.training import binding\n",
            "nnctl.data is not allowed to import nnctl.training",
        ),
        ("runs/lock.py", "import rich\n", "nnctl.runs is not allowed to import rich"),
        # the web stack: nnctl.serve's alone, not even the CLI's serve command may import it
        (
            "cli/serve.py",
            "def _planted():\n    from starlette.responses import JSONResponse\n",
            "nnctl.cli is not allowed to import starlette",
        ),
        ("api/run.py", "import uvicorn\n", "nnctl.api is not allowed to import uvicorn"),
        # the trackers alone import MLflow and TensorBoard; the training never does
        (
            "training/loop.py",
            "def _planted():\n    import mlflow\n",
            "nnctl.training is not allowed to import mlflow",
        ),
        # the commands below the trackers: commands.train reports epochs, it does not track
        (
            "commands/train.py",
            "def _planted():\n    from nnctl.tracking import Tracking\n",
            "nnctl.commands is not allowed to import nnctl.tracking",
        ),
        # siblings in one layer: neither imports the other
        (
            "sweep/store.py",
            "def _planted():\n    from nnctl.serve import app\n",
            "nnctl.sweep is not allowed to import nnctl.serve",
        ),
        (
            "commands/export.py",
            "def _planted():\n    import nnctl.commands.predict\n",
            "nnctl.commands.export is not allowed to import nnctl.commands.predict",
        ),
        # a CLI command with an API counterpart that reaches past nnctl.api (docs/design.md)
        (
            "cli/train.py",
            "def _planted():\n    from nnctl.commands import train_run\n",
            "nnctl.cli.train is not allowed to import nnctl.commands",
        ),
        (
            "cli/runs/listing.py",
            "def _planted():\n    from nnctl.runs import filter_runs\n",
            "nnctl.cli.runs.listing is not allowed to import nnctl.runs",
        ),
        (
            "cli/predict.py",
            "from nnctl.training import score\n",
            "nnctl.cli.predict is not allowed to import nnctl.training",
        ),
    ],
)
def test_a_planted_import_breaks_a_contract(
    tmp_path: Path, module: str, planted: str, message: str
) -> None:
    shutil.copytree(PACKAGE, tmp_path / "nnctl", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    target = tmp_path / "nnctl" / module
    target.write_text(target.read_text() + "\n\n" + planted)
    r = lint_imports(tmp_path)
    assert r.returncode == 1, r.stdout
    assert message in " ".join(r.stdout.split()), r.stdout


def _modules() -> dict[str, Path]:
    out = {}
    for p in PACKAGE.rglob("*.py"):
        name = ".".join(p.relative_to(PACKAGE.parent).with_suffix("").parts)
        out[name.removesuffix(".__init__")] = p
    return out


def _unit(module: str) -> str:
    return next((u for u in UNITS if module == u or module.startswith(u + ".")), module)


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


def _faces(mods: dict[str, Path]) -> dict[str, str]:
    """``nnctl.P.name`` -> the module that defines it, from each package's lazy table
    (``lazy.attach(__name__, submod_attrs={module: [names]})`` in its ``__init__``)."""
    owner: dict[str, str] = {}
    for package, path in mods.items():
        if path.name != "__init__.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.keyword) and node.arg == "submod_attrs":
                table = ast.literal_eval(node.value)
                for module, names in table.items():
                    owner.update({f"{package}.{n}": f"{package}.{module}" for n in names})
    return owner


def _graph() -> dict[str, set[str]]:
    mods = _modules()
    packages = {m for m, p in mods.items() if p.name == "__init__.py"}
    owner = _faces(mods)
    graph: dict[str, set[str]] = defaultdict(set)
    for name, path in mods.items():
        for target in {owner.get(t, t) for t in _imports(path)}:
            # a package's face (its __init__) hands names on; the circle is between modules
            if target in mods and target not in packages and _unit(target) != _unit(name):
                graph[_unit(name)].add(_unit(target))
    return graph


def test_no_import_circles() -> None:
    graph = _graph()
    seen: dict[str, int] = {}  # 1: on the current path, 2: done
    circles: list[str] = []

    def visit(node: str, path: list[str]) -> None:
        seen[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if seen.get(nxt) == 1:
                circles.append(" -> ".join(path[path.index(nxt) :] + [nxt]))
            elif nxt not in seen:
                visit(nxt, [*path, nxt])
        seen[node] = 2

    for node in sorted(graph):
        if node not in seen:
            visit(node, [node])
    assert circles == []


def test_the_circle_check_sees_real_imports() -> None:
    """The check above is not vacuous: the graph holds the edges the design describes."""
    graph = _graph()
    assert "nnctl.training.binding" in graph["nnctl.commands.train"]  # through nnctl.training
    assert (
        "nnctl.core.losses" in graph["nnctl.core.network"]
        and "nnctl.api.training" in graph["nnctl.cli"]  # nnctl train is a shell over the API
        and "nnctl.commands.train" in graph["nnctl.api.training"]
    )


def _design_rows() -> dict[str, str]:
    """The layers table of docs/design.md: package -> what its row says it holds."""
    rows = {}
    for line in (ROOT / "docs" / "design.md").read_text().splitlines():
        m = re.match(r"\| \d+ \| `(nnctl\.\w+)` \| (.*) \|$", line)
        if m:
            rows[m.group(1)] = m.group(2)
    return rows


def _outside_parentheses(text: str) -> str:
    while True:
        stripped = re.sub(r"\([^()]*\)", "", text)
        if stripped == text:
            return text
        text = stripped


def test_the_design_page_lists_the_layers_of_the_contract_in_its_order() -> None:
    tomllib = pytest.importorskip("tomllib", reason="tomllib is in Python 3.11 and later")
    contract = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    layers = next(c["layers"] for c in contract["contracts"] if c["type"] == "layers")
    # "a | b": independent siblings in one layer, one row each, in that order
    layers = [name.strip() for layer in layers for name in layer.split("|")]
    assert list(_design_rows()) == layers


@pytest.mark.parametrize("package", sorted(_design_rows()))
def test_the_design_page_names_the_modules_each_package_has(package: str) -> None:
    """Each module named in a package's row exists, and (but for the CLI's one module per
    command) each module of the package is named in its row: the map stays true."""
    row = _design_rows()[package]
    folder = PACKAGE / package.split(".")[1]
    named = set(re.findall(r"`([a-z_]+)/?`", _outside_parentheses(row)))
    missing = {n for n in named if not (folder / f"{n}.py").exists() and not (folder / n).is_dir()}
    assert not missing, f"docs/design.md names {sorted(missing)} in {package}, which has none"
    if package != "nnctl.cli":
        children = {p.stem for p in folder.glob("*.py") if p.stem != "__init__"}
        children |= {p.name for p in folder.iterdir() if (p / "__init__.py").exists()}
        unnamed = children - set(re.findall(r"`([a-z_]+)/?`", row))
        assert not unnamed, f"docs/design.md does not name {sorted(unnamed)} of {package}"


# The CLI modules the forbidden contract in pyproject.toml names: shells over nnctl.api.
ROUTED = ("train", "predict", "evaluate", "report", "export", "runs/listing")
# nnctl.cli.common's helpers that reach the run directories without the API (for the commands
# that have no API counterpart); the contract does not follow imports inside nnctl.cli.
BYPASSES = {"_load", "_find_runs", "limit_threads"}


def _bypasses(source: str) -> set[str]:
    """The names of ``BYPASSES`` a module imports from nnctl.cli.common or uses through it."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.module == "nnctl.cli.common":
            found |= {a.name for a in node.names} & BYPASSES
        elif isinstance(node, ast.Attribute) and node.attr in BYPASSES:
            found.add(node.attr)
    return found


@pytest.mark.parametrize("module", ROUTED)
def test_the_routed_commands_use_no_helper_that_bypasses_the_api(module: str) -> None:
    path = PACKAGE / "cli" / f"{module}.py"
    assert _bypasses(path.read_text()) == set(), path


def test_the_bypass_check_sees_a_planted_helper() -> None:
    source = (PACKAGE / "cli" / "predict.py").read_text()
    planted = source.replace(
        "from nnctl.cli.common import (", "from nnctl.cli.common import (\n    _load,", 1
    )
    assert planted != source and _bypasses(planted) == {"_load"}
    assert _bypasses("import nnctl.cli.common as c\nc._find_runs([], None)\n") == {"_find_runs"}


def test_the_contract_names_the_routed_modules() -> None:
    """The forbidden contract and ``ROUTED`` list the same modules (one place cannot drift)."""
    tomllib = pytest.importorskip("tomllib", reason="tomllib is in Python 3.11 and later")
    contracts = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    forbidden = next(c for c in contracts["contracts"] if "nnctl.api" in c["name"])
    assert forbidden["source_modules"] == [f"nnctl.cli.{m.replace('/', '.')}" for m in ROUTED]
    assert forbidden["forbidden_modules"] == ["nnctl.commands", "nnctl.runs", "nnctl.training"]
