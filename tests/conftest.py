"""Shared fixtures: a CLI runner with separate stdout/stderr, isolated runs directories, the
course data (skipped with a reason when absent, required when NNCTL_REQUIRE_DATA=1), and small
trained runs to use as inputs."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

from helpers import CONFIGS, MOONS_SMALL, ROOT, cat_data_dir, write_config
from nnctl.cli import app

# Tests and CI look for the course data beside the project (../shared/data) unless told otherwise.
os.environ.setdefault("NNCTL_DATA_DIR", str(ROOT.parent / "shared" / "data"))
# The data files' hash cache (nnctl.system.filehash) of this test session, not the user's.
if "NNCTL_CACHE_DIR" not in os.environ:
    import tempfile

    os.environ["NNCTL_CACHE_DIR"] = tempfile.mkdtemp(prefix="nnctl-test-cache-")


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
