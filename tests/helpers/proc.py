"""Running nnctl as a real subprocess, the way shell scripts do (the scripting-contract tests)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

BIN = Path(sys.executable).parent

TINY = """\
dataset: {synthetic: moons, m: 200, test_fraction: 0.25, seed: 1}
layer_dims: [auto, 8, 1]
activations: [relu, sigmoid]
init: he
learning_rate: 0.5
iterations: 200
print_every: 50
"""


def env_for(runs_dir: Path, **extra: str) -> dict[str, str]:
    """The current environment with nnctl's venv first on PATH and an isolated runs dir."""
    env = dict(os.environ)
    # Colour and terminal detection are what some tests check: start from rich's defaults.
    for var in ("NO_COLOR", "FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE"):
        env.pop(var, None)
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env["NNCTL_RUNS_DIR"] = str(runs_dir)
    env.update(extra)
    return env


def nnctl(
    *args: object, runs_dir: Path, cwd: Path, input: str = "", timeout: float = 60, **env: str
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "nnctl", *map(str, args)],
        input=input,
        cwd=cwd,
        env=env_for(runs_dir, **env),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
