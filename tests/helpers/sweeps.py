"""Helpers for the sweep tests: a small base config, sweep files beside it, and the one error
line a refused sweep command prints."""

from __future__ import annotations

import subprocess
from pathlib import Path

BASE = """\
dataset: {synthetic: moons, m: 240, test_fraction: 0.25, seed: 1}
layer_dims: [auto, 8, 1]
activations: {hidden: relu, output: sigmoid}
init: he
learning_rate: 0.1
batch_size: 60
epochs: 10
validation_fraction: 0.2
optimizer: adam
print_every: 1000
"""


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def sweep_file(tmp_path: Path, body: str, name: str = "sw.yaml", base: str = BASE) -> Path:
    """``tmp_path/name``: ``body`` on top of ``base`` (written as ``tmp_path/base.yaml``)."""
    write(tmp_path / "base.yaml", base)
    return write(tmp_path / name, "config: base.yaml\n" + body)


def one_error_line(r: subprocess.CompletedProcess) -> str:
    """The single ``error:`` line of a command that exited 2 with nothing on stdout."""
    assert r.returncode == 2, (r.stdout, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), r.stderr
    assert "Traceback" not in r.stderr and r.stdout == ""
    return lines[0]
