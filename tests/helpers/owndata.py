"""The example datasets of scripts/make_examples.py, generated once per test module into a
temporary project (configs/ beside data/examples/), and small helpers for the own-data tests."""

from __future__ import annotations

import importlib.util
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
