"""Issue 29, "error lines that are not bounded": whatever a refusal quotes (a header of 100,000
columns, 10,000 classes, an option's value or a run id of 100,000 characters, an archive of
5,000 arrays), every line nnctl prints on standard error is at most ``MAX_ERROR_LINE``
characters, is one ``error:`` line, and nothing is written. Many refusal paths, through the
command line; ``bounded_line`` is the last guard, each message's own quoting the first."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest

from helpers import MOONS_SMALL, write_config
from nnctl.system import MAX_ERROR_LINE, NnctlError, bounded_line

HUGE = 100_000


def test_bounded_line_cuts_long_words_then_the_line_and_leaves_short_lines_alone() -> None:
    short = "x.yaml: layer_dims: entry 0: must be a positive whole number, got -1"
    assert bounded_line(short) == short
    line = f"--split: got '{'s' * HUGE}'; valid: train, val, test"
    cut = bounded_line(line)
    assert cut == f"--split: got '{'s' * 59}...; valid: train, val, test"
    many = ", ".join(f"c{i}" for i in range(HUGE))
    assert len(bounded_line(many)) == MAX_ERROR_LINE and bounded_line(many).endswith("...")
    two = bounded_line(f"{'a' * 500}\nshort")
    assert two.splitlines()[1] == "short" and len(two.splitlines()[0]) <= MAX_ERROR_LINE
    # the library's errors are bounded where they are made, for Python callers too
    assert len(str(NnctlError(line))) <= MAX_ERROR_LINE


def _run_dir(runs_dir: Path) -> list[str]:
    return sorted(p.name for p in runs_dir.iterdir()) if runs_dir.exists() else []


@pytest.fixture(scope="module")
def hostile_files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("lines")
    (d / "wide.csv").write_text(
        ",".join(f"column_{i}" for i in range(HUGE)) + "\n" + ",".join(["1"] * HUGE) + "\n"
    )
    (d / "classes.csv").write_text("x,kind\n" + "".join(f"{i},class_{i}\n" for i in range(10_000)))
    np.savez(d / "arrays.npz", **{f"array_{i}": np.zeros(1) for i in range(5000)})
    with h5py.File(d / "arrays.h5", "w") as f:
        for i in range(5000):
            f[f"dataset_{i}"] = np.zeros(1)
    head = "layer_dims: [auto, 1]\nactivations: [sigmoid]\nlearning_rate: 0.1\niterations: 1\n"
    for name, data in [
        ("wide", "{train: wide.csv, label: kind}"),
        ("classes", "{train: classes.csv}"),
        ("npz", "{train: arrays.npz}"),
        ("h5", "{train: arrays.h5}"),
    ]:
        write_config(d / f"{name}.yaml", f"dataset: {data}\n{head}")
    write_config(d / "moons.yaml", MOONS_SMALL)
    write_config(
        d / "value.yaml", MOONS_SMALL + f'name: "{"n" * HUGE}"\nbatch_size: "{"b" * HUGE}"\n'
    )
    write_config(d / "key.yaml", MOONS_SMALL + f"{'k' * HUGE}: 1\n")
    return d


LONG = "q" * HUGE
CASES = {
    "csv header of 100,000 columns": (["train", "wide.yaml"], 2),
    "10,000 classes for a sigmoid": (["train", "classes.yaml"], 2),
    "an archive of 5,000 arrays": (["train", "npz.yaml"], 2),
    "an HDF5 file of 5,000 arrays": (["train", "h5.yaml"], 2),
    "a long value in a config": (["train", "value.yaml"], 2),
    "a long key in a config": (["train", "key.yaml"], 2),
    "a long unknown key in --set": (["train", "moons.yaml", "--set", f"{LONG}=1"], 2),
    "a long nested key in --set": (["config", "show", "moons.yaml", "--set", f"{LONG}.x=1"], 2),
    "a number of 100,000 digits": (["train", "moons.yaml", "--set", f"iterations={'9' * HUGE}"], 2),
    "a long list in --set": (
        ["train", "moons.yaml", "--set", "activations=[" + ",".join(["relu"] * 30_000) + "]"],
        2,
    ),
    "a long data path": (["data", "inspect", f"{'p' * 3000}.csv"], 2),
    "a long config path": (["train", f"{'p' * 3000}.yaml"], 2),
    "a long run id": (["runs", "show", LONG], 2),
    "a long run path": (["evaluate", "r/" * 3000], 2),
    "a long --filter": (["runs", "list", "--filter", f"{LONG}=1"], 2),
    "a long --sort": (["runs", "list", "--sort", LONG], 2),
    "a long --split": (["evaluate", "latest", "--split", LONG], 2),
    "a long --baseline": (["diagnose", "latest", "--baseline", LONG], 2),
    "a long --threshold": (["evaluate", "latest", "--threshold", LONG], 2),
    "a long --format": (["export", "latest", "--format", LONG, "-o", "out.npz"], 2),
    "a long predict input": (["predict", "latest", f"{'i' * 3000}.csv"], 1),
}


@pytest.mark.parametrize("case", list(CASES))
def test_every_error_line_is_bounded(
    cli, hostile_files: Path, moons_run: Path, runs_dir: Path, monkeypatch, case: str
) -> None:
    args, code = CASES[case]
    monkeypatch.chdir(hostile_files)
    before = _run_dir(runs_dir)
    r = cli(*args)
    assert r.exit_code == code, (r.exit_code, r.stderr[:500])
    assert "Traceback" not in r.stderr
    lines = r.stderr.splitlines()
    errors = [line for line in lines if line.startswith("error: ")]
    assert len(errors) == 1, lines[:5]
    for line in lines:
        assert len(line) <= MAX_ERROR_LINE, (len(line), line[:200])
    assert _run_dir(runs_dir) == before  # nothing written
    assert not (hostile_files / "out.npz").exists()
