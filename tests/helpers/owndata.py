"""The example datasets of scripts/make_examples.py, generated once per test module into a
temporary project (configs/ beside data/examples/), and small helpers for the own-data tests."""

from __future__ import annotations

import importlib.util
import json
import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
EXAMPLE_CONFIGS = ("shapes_folder", "flowers_csv", "points_npz", "points_npy", "points_h5")


def _load_script():
    spec = importlib.util.spec_from_file_location(
        "make_examples", ROOT / "scripts" / "make_examples.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


make_examples = _load_script()


def make_project(root: Path) -> Path:
    """root/configs/<the example configs> and root/data/examples/<their data>; returns root."""
    (root / "configs").mkdir(parents=True)
    for name in EXAMPLE_CONFIGS:
        shutil.copy(ROOT / "configs" / f"{name}.yaml", root / "configs")
    make_examples.write_all(root / "data" / "examples")
    return root


def train_json(cli, config: Path, *args: str) -> dict:
    """``nnctl train CONFIG -q --json ARGS`` that must succeed; its JSON result."""
    r = cli("train", config, "-q", "--json", *args)
    assert r.exit_code == 0, r.stderr
    return json.loads(r.stdout)


def one_error(r, runs_dir: Path) -> str:
    """The command failed as bad input: exit 2, one 'error:' line, nothing on stdout, no run
    directory left; returns the message after 'error: '."""
    assert r.exit_code == 2, (r.stdout, r.stderr)
    assert r.stdout == ""
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), r.stderr
    assert not runs_dir.exists() or not any(runs_dir.iterdir())
    return lines[0][len("error: ") :]
