"""The served runs and one server for a test module (trained and started once)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from helpers.serving import Server, train_runs

for _module in ("uvicorn", "starlette", "httpx"):
    pytest.importorskip(
        _module, reason="nnctl serve needs the serve extra: pip install -e '.[serve]'"
    )


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path, Path]:
    """(root folder, runs_dir, moons run, image run)."""
    root = tmp_path_factory.mktemp("serve")
    return (root, *train_runs(root))


@pytest.fixture(scope="module")
def server(trained) -> Iterator[Server]:
    """``nnctl serve`` of both runs, default settings."""
    root, runs_dir, moons, images = trained
    s = Server(moons, images, runs_dir=runs_dir, cwd=root)
    yield s
    s.stop()
