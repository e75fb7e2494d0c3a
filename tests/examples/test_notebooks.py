"""The notebooks in examples/ run end to end in a real Jupyter kernel (nbclient), as a user runs
them, and leave what they say they leave: runs that every command can read, a report page."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from helpers import ROOT

nbformat = pytest.importorskip("nbformat", reason="the test extra installs nbformat")
nbclient = pytest.importorskip("nbclient", reason="the test extra installs nbclient")
pytest.importorskip("sklearn", reason="the notebook's grid search needs the sklearn extra")

NOTEBOOKS = sorted((ROOT / "examples").glob("*.ipynb"))


def _execute(path: Path, cwd: Path) -> nbformat.NotebookNode:
    nb = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(
        nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(cwd)}}
    )
    client.execute()
    return nb


def _text(cell: nbformat.NotebookNode) -> str:
    parts = []
    for out in cell.get("outputs", []):
        parts.append(out.get("text", ""))
        parts.append(out.get("data", {}).get("text/plain", ""))
    return "".join(parts)


def test_there_is_a_notebook() -> None:
    assert [p.name for p in NOTEBOOKS] == ["python-api.ipynb"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebooks_are_stored_without_outputs(path: Path) -> None:
    """Outputs (run ids, timings) would change on every run; the docs page shows real ones."""
    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code and all(not c.outputs and c.execution_count is None for c in code)


@pytest.mark.slow
def test_the_python_api_notebook_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    runs = tmp_path / "runs"
    monkeypatch.setenv("NNCTL_RUNS_DIR", str(runs))
    nb = _execute(ROOT / "examples" / "python-api.ipynb", tmp_path)
    code = [c for c in nb.cells if c.cell_type == "code"]
    errors = [o for c in code for o in c.outputs if o.output_type == "error"]
    assert not errors, errors[0]["evalue"] if errors else ""
    # the run shows itself in the notebook: its HTML table says it completed
    shown = next(c for c in code if c.source.rstrip().endswith("\nrun"))
    html = shown.outputs[0]["data"]["text/html"]
    assert "complete" in html and "<svg" in html
    # three runs, each an ordinary run directory
    dirs = sorted(p for p in runs.iterdir() if (p / "summary.json").exists())
    assert len(dirs) == 3
    for d in dirs:
        assert (d / "params.npz").is_file()
        assert json.loads((d / "summary.json").read_text())["status"] == "complete"
    # the comparison lists the three, best test accuracy first
    compare = next(c for c in code if "list_runs" in c.source)
    listed = [line.split() for line in _text(compare).strip().splitlines()]
    accuracies = [float(row[2]) for row in listed]
    assert len(listed) == 3 and accuracies == sorted(accuracies, reverse=True)
    assert {row[0] for row in listed} == {d.name for d in dirs}
    # the grid search picked one of its two learning rates and scored the test split
    searched = _text(next(c for c in code if "GridSearchCV(" in c.source))
    assert re.match(r"\{'learning_rate': 0\.0?01\} [01]\.\d+\ntest accuracy [01]\.\d+", searched)
    page = tmp_path / "report.html"
    assert page.is_file() and page.read_text().lstrip().lower().startswith("<!doctype html")
