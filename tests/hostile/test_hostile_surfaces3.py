"""Issue 29, "the same rules for this round's new surfaces": the Python API (``nnctl.train``,
``load_run``, ``Run.predict``) raises the library's one-line errors, bounded, and leaves nothing
half-written (no run directory, no data file of arrays it wrote for a refused training);
``nnctl diagnose`` refuses bad arguments in one line, exit 2, and writes nothing (the run it
reads is unchanged, no file appears). The server has its own tests (tests/serve); tracking and
cross-validation do not exist yet."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

import nnctl
from helpers import MOONS_SMALL, write_config
from nnctl.system import MAX_ERROR_LINE

NET = {
    "layer_dims": ["auto", 6, 1],
    "activations": {"hidden": "relu", "output": "sigmoid"},
    "learning_rate": 0.3,
    "iterations": 20,
}


def _arrays() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.RandomState(3)
    X = rng.randn(60, 3)
    return X, (X[:, 0] > 0).astype(np.int64)


def _one_line(exc: BaseException) -> str:
    text = str(exc)
    assert "\n" not in text and 0 < len(text) <= MAX_ERROR_LINE, text[:200]
    return text


def _tree(path: Path) -> dict[str, str]:
    """Every file under ``path`` and the SHA-256 of its bytes."""
    if not path.exists():
        return {}
    return {
        str(p.relative_to(path)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(path.rglob("*"))
        if p.is_file()
    }


@pytest.mark.parametrize(
    "overrides,needle",
    [
        ({"learning_rate": "fast"}, "learning_rate: expected a number, got the string 'fast'"),
        ({"learning_rate": "9" * 100_000}, "learning_rate"),
        ({"optimizer": "o" * 100_000}, "optimizer"),
        ({"iteratons": 5}, "unknown key 'iteratons'"),
        # refused by the memory estimate after the arrays' data files were written
        ({"layer_dims": ["auto", 100_000, 100_000, 1]}, "of memory"),
    ],
)
def test_train_on_arrays_refused_leaves_no_run_and_no_data_file(
    tmp_path: Path, overrides: dict, needle: str
) -> None:
    X, y = _arrays()
    runs_dir = tmp_path / "runs"
    with pytest.raises(nnctl.ConfigError) as info:
        nnctl.train(NET, X=X, y=y, runs_dir=runs_dir, **overrides)
    assert needle in _one_line(info.value)
    assert not runs_dir.exists()  # neither a run directory nor runs/data/ with the arrays


def test_train_on_arrays_refused_beside_an_earlier_run_keeps_only_that_run(
    tmp_path: Path,
) -> None:
    X, y = _arrays()
    runs_dir = tmp_path / "runs"
    nnctl.train(NET, X=X, y=y, runs_dir=runs_dir)
    before = _tree(runs_dir)
    with pytest.raises(nnctl.ConfigError):
        nnctl.train(NET, X=X * 2, y=y, runs_dir=runs_dir, layer_dims=["auto", 10**5, 10**5, 1])
    assert _tree(runs_dir) == before  # the new arrays' file removed, the earlier run untouched


@pytest.mark.parametrize(
    "spec,needle",
    [
        ("nosuch", "nosuch: no run with this id or prefix"),
        ("r" * 5000, "no run with this id or prefix"),  # too long for the system to look up
        ("a/" * 3000, "no such run directory"),
        ("", "ambiguous run prefix"),
    ],
)
def test_load_run_refuses_in_one_line(tmp_path: Path, spec: str, needle: str) -> None:
    runs_dir = tmp_path / "runs"
    X, y = _arrays()
    nnctl.train(NET, X=X, y=y, runs_dir=runs_dir)
    nnctl.train(NET, X=X, y=y, runs_dir=runs_dir)
    before = _tree(runs_dir)
    with pytest.raises(nnctl.RunError) as info:
        nnctl.load_run(spec, runs_dir=runs_dir)
    assert needle in _one_line(info.value)
    assert _tree(runs_dir) == before


@pytest.mark.parametrize(
    "rows,kind,needle",
    [
        (np.zeros((2, 100_000)), ValueError, "X: rows have 100000 features, but the run expects 3"),
        ([[1.0, "x" * 100_000, 2.0]], TypeError, "X: features must be numbers"),
        ([[np.nan, 0.0, 0.0]] * 10_000, ValueError, "NaN or infinite value"),
        ("missing-" + "m" * 5000 + ".npy", nnctl.DataError, "File name too long"),
    ],
)
def test_run_predict_refuses_in_one_line_and_writes_nothing(
    tmp_path: Path, rows, kind: type, needle: str, monkeypatch
) -> None:
    X, y = _arrays()
    run = nnctl.train(NET, X=X, y=y, runs_dir=tmp_path / "runs")
    monkeypatch.chdir(tmp_path)
    before = _tree(tmp_path)
    with pytest.raises(kind) as info:
        run.predict(rows)
    assert isinstance(info.value, nnctl.NnctlError)
    assert needle in _one_line(info.value)
    assert _tree(tmp_path) == before


@pytest.mark.parametrize(
    "args,message",
    [
        (["--baseline", "-0.1"], "error: --baseline must be a finite number >= 0, got -0.1"),
        (["--baseline", "lots"], "error: --baseline"),
        (["--baseline", "b" * 100_000], "error: --baseline"),
        (["--baseline", "inf"], "error: --baseline must be a finite number >= 0"),
        (["--bogus"], "error: nnctl diagnose: no such option --bogus"),
        ([], None),  # the run argument missing (below)
    ],
)
def test_diagnose_refuses_in_one_line_exit_2_and_writes_nothing(
    cli, runs_dir: Path, tmp_path: Path, args: list[str], message: str | None
) -> None:
    r = cli("train", write_config(tmp_path / "c.yaml", MOONS_SMALL), "-q", "--json")
    assert r.exit_code == 0, r.stderr
    run_dir = Path(json.loads(r.stdout)["run_dir"])
    before, cwd_before = _tree(runs_dir), _tree(tmp_path)
    r = cli("diagnose", *(["latest", *args] if args else []))
    assert r.exit_code == 2 and r.stdout == ""
    lines = r.stderr.splitlines()
    assert len(lines) == 1 and len(lines[0]) <= MAX_ERROR_LINE, lines[:3]
    assert lines[0].startswith(message or "error: nnctl diagnose: missing argument RUN")
    assert _tree(runs_dir) == before and _tree(tmp_path) == cwd_before
    assert run_dir.is_dir()


@pytest.mark.parametrize("status", ["failed", "running", "interrupted"])
def test_diagnose_of_a_run_without_scores_is_one_line(
    cli, runs_dir: Path, tmp_path: Path, status: str
) -> None:
    r = cli("train", write_config(tmp_path / "c.yaml", MOONS_SMALL), "-q", "--json")
    run_dir = Path(json.loads(r.stdout)["run_dir"])
    summary = json.loads((run_dir / "summary.json").read_text())
    summary.update(status=status, train_accuracy=None, test_accuracy=None)
    summary.pop("scores", None)
    (run_dir / "summary.json").write_text(json.dumps(summary))
    before = _tree(runs_dir)
    r = cli("diagnose", "latest")
    assert r.exit_code == 2 and r.stdout == ""
    assert r.stderr.count("\n") == 1 and r.stderr.startswith("error: "), r.stderr
    assert "Traceback" not in r.stderr
    assert _tree(runs_dir) == before
