"""Shared fixtures: a CLI runner with separate stdout/stderr, isolated runs directories, the
course data (skipped with a reason when absent, required when NNCTL_REQUIRE_DATA=1), and small
trained runs to use as inputs."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from nnctl.cli import app

ROOT = Path(__file__).resolve().parent.parent
CONFIGS = ROOT / "configs"
CAT_FILES = ("train_catvnoncat.h5", "test_catvnoncat.h5")

# Tests and CI look for the course data beside the project (../shared/data) unless told otherwise.
os.environ.setdefault("NNCTL_DATA_DIR", str(ROOT.parent / "shared" / "data"))
# The data files' hash cache (nnctl.system.filehash) of this test session, not the user's.
if "NNCTL_CACHE_DIR" not in os.environ:
    import tempfile

    os.environ["NNCTL_CACHE_DIR"] = tempfile.mkdtemp(prefix="nnctl-test-cache-")


def cat_data_dir() -> Path | None:
    """The folder holding both cat files: data/ first, then $NNCTL_DATA_DIR."""
    for d in (ROOT / "data", Path(os.environ.get("NNCTL_DATA_DIR", ""))):
        if all((d / f).is_file() for f in CAT_FILES):
            return d
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Every test that uses the cat data is marked realdata (``pytest -m realdata`` runs them)."""
    for item in items:
        if "cat_dir" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.realdata)


@pytest.fixture
def cat_dir() -> Path:
    d = cat_data_dir()
    if d is None:
        reason = (
            "the course's cat data (train_catvnoncat.h5, test_catvnoncat.h5) is in neither data/ "
            "nor $NNCTL_DATA_DIR"
        )
        if os.environ.get("NNCTL_REQUIRE_DATA"):
            pytest.fail(reason + " but NNCTL_REQUIRE_DATA is set")
        pytest.skip(reason)
    return d


@dataclass
class CliResult:
    exit_code: int
    stdout: str
    stderr: str


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    """cli(*args) runs nnctl in-process from tmp_path and returns exit_code, stdout, stderr."""
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()

    def invoke(*args: str, input: str | None = None) -> CliResult:
        r = runner.invoke(app, [str(a) for a in args], input=input, catch_exceptions=False)
        return CliResult(r.exit_code, r.stdout, r.stderr)

    return invoke


@pytest.fixture
def runs_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty runs directory, also set as NNCTL_RUNS_DIR."""
    d = tmp_path / "runs"
    monkeypatch.setenv("NNCTL_RUNS_DIR", str(d))
    return d


def write_config(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


MOONS_SMALL = """\
dataset: {synthetic: moons, m: 200, test_fraction: 0.25, seed: 1}
layer_dims: [auto, 8, 1]
activations: [relu, sigmoid]
init: he
learning_rate: 0.5
iterations: 300
print_every: 100
"""


@pytest.fixture
def moons_run(cli, runs_dir: Path, tmp_path: Path) -> Path:
    """A completed small run on the synthetic moons data; returns its run directory."""
    cfg = write_config(tmp_path / "moons_small.yaml", MOONS_SMALL)
    r = cli("train", cfg, "--quiet", "--json")
    assert r.exit_code == 0, r.stderr
    return Path(json.loads(r.stdout)["run_dir"])


@pytest.fixture
def cat_run(cli, runs_dir: Path, cat_dir: Path) -> Path:
    """configs/cat_deep.yaml trained for 30 iterations; returns its run directory."""
    r = cli("train", CONFIGS / "cat_deep.yaml", "--set", "iterations=30", "--quiet", "--json")
    assert r.exit_code == 0, r.stderr
    return Path(json.loads(r.stdout)["run_dir"])


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-z))


def hand_forward(run: Path, X: np.ndarray) -> np.ndarray:
    """The course's L_model_forward for [relu]* -> sigmoid, written out here so predictions are
    checked against code that does not share nnctl's. X: (n_x, m) -> AL: (m,)."""
    with np.load(run / "params.npz") as z:
        p = {k: z[k] for k in z.files}
    L = len(p) // 2
    A = X
    for l in range(1, L):
        A = np.maximum(0, p[f"W{l}"] @ A + p[f"b{l}"])
    return _sigmoid(p[f"W{L}"] @ A + p[f"b{L}"])[0]
