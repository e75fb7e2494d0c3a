#!/usr/bin/env python3
"""The command line's own costs: ``python bench/cli.py [--runs N] [--reps N] [--against DIR]``.

- start-up: ``nnctl --help`` and a shell-completion request (``_NNCTL_COMPLETE=complete_bash``
  for ``nnctl predict <Tab>``), whole process, median of --reps;
- ``nnctl runs list`` over a runs directory of --runs runs (default 1,000), made by training one
  small run and copying it with fresh ids, whole process, median of --reps; also with
  ``--columns`` and ``--format json``.

With ``--against DIR`` (another nnctl checkout, e.g. main) each command is also timed with that
checkout's code, interleaved A B A B so a busy machine slows both alike, and both medians are
printed. Nothing here asserts a time; the README and docs quote the numbers.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CONFIG = """\
dataset: {synthetic: moons, m: 200, test_fraction: 0.25, seed: 1}
layer_dims: [auto, 8, 1]
activations: [relu, sigmoid]
learning_rate: 0.5
iterations: 50
"""


def nnctl(root: Path, args: list[str], env: dict[str, str]) -> float:
    code = (
        f"import sys; sys.path.insert(0, {str(root)!r}); sys.argv = ['nnctl'] + {args!r}; "
        "from nnctl.cli import main; main()"
    )
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-c", code], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    return time.perf_counter() - start


def make_runs(runs_dir: Path, n: int, env: dict[str, str]) -> None:
    cfg = runs_dir.parent / "tiny.yaml"
    cfg.write_text(CONFIG)
    out = subprocess.run(
        [sys.executable, "-m", "nnctl", "train", str(cfg), "--quiet", "--json"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    seed = Path(json.loads(out.stdout)["run_dir"])
    summary = json.loads((seed / "summary.json").read_text())
    for i in range(n - 1):
        run_id = (
            f"2026{(i // 28) % 12 + 1:02d}{i % 28 + 1:02d}-{i // 1000:02d}{i % 1000:04d}"
            f"-000-{i:04x}"
        )
        d = runs_dir / run_id
        shutil.copytree(seed, d)
        summary.update(
            run_id=run_id,
            created=f"2026-{(i // 28) % 12 + 1:02d}-{i % 28 + 1:02d}T10:00:00+00:00",
            name=f"lr-{i % 7}",
        )
        (d / "summary.json").write_text(json.dumps(summary))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=1000)
    ap.add_argument("--reps", type=int, default=7)
    ap.add_argument("--against", type=Path)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        runs_dir = Path(tmp) / "runs"
        env = {**os.environ, "NNCTL_RUNS_DIR": str(runs_dir), "PYTHONPATH": str(ROOT)}
        make_runs(runs_dir, a.runs, env)
        cases = [
            ("nnctl --help", ["--help"], {}),
            (
                "completion: nnctl predict <Tab>",
                [],
                {
                    "_NNCTL_COMPLETE": "complete_bash",
                    "COMP_WORDS": "nnctl predict ",
                    "COMP_CWORD": "2",
                },
            ),
            (f"nnctl runs list ({a.runs} runs)", ["runs", "list"], {}),
            (
                "nnctl runs list --columns id,name,learning_rate,test_accuracy --format json "
                f"({a.runs} runs)",
                [
                    "runs",
                    "list",
                    "--columns",
                    "id,name,learning_rate,test_accuracy",
                    "--format",
                    "json",
                ],
                {},
            ),
        ]
        roots = [("this", ROOT)] + ([("against", a.against.resolve())] if a.against else [])
        for label, args, extra in cases:
            times: dict[str, list[float]] = {name: [] for name, _ in roots}
            for _ in range(a.reps):
                for name, root in roots:
                    times[name].append(nnctl(root, args, {**env, **extra, "PYTHONPATH": str(root)}))
            cells = "  ".join(f"{name} {statistics.median(t):.3f} s" for name, t in times.items())
            print(f"{label:<80} {cells}", flush=True)


if __name__ == "__main__":
    main()
