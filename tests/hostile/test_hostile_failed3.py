"""Issue 29, "exit 2 with a run directory left behind": exit 2 means nothing was written. A
training that fails once its run directory exists (a bad value met late in a streamed HDF5
file, memory the estimate did not foresee) keeps the run, marked ``failed`` with the reason,
and exits 1 with one error line that says so; a value refused before the run starts still
leaves nothing and exits 2."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import h5py
import numpy as np
import pytest

import nnctl
from helpers import MOONS_SMALL, write_config

STREAMED = (
    "dataset: {train: f.h5, stream: true}\nlayer_dims: [auto, 1]\n"
    "activations: [sigmoid]\nlearning_rate: 0.1\nepochs: 2\nbatch_size: 32\n"
)


@pytest.fixture(autouse=True)
def small_blocks(monkeypatch) -> None:
    """Blocks of 256 examples of 6 float32 values (instead of a megabyte), so a 400-example
    file is read in two and a bad value in the second is met after the first has trained."""
    from nnctl.data.stream import layout

    monkeypatch.setattr(layout, "BLOCK_BYTES", 256 * 6 * 4)


def _streamed_file(tmp_path: Path, bad_row: int | None, m: int = 400) -> None:
    x = np.random.default_rng(0).normal(size=(m, 6)).astype(np.float32)
    if bad_row is not None:
        x[bad_row, 3] = np.inf
    with h5py.File(tmp_path / "f.h5", "w") as f:
        f.create_dataset("train_x", data=x, chunks=(16, 6))
        f.create_dataset("train_y", data=np.arange(m) % 2)


def test_a_bad_value_late_in_a_streamed_file_keeps_a_failed_run_and_exits_1(
    cli, runs_dir: Path, tmp_path: Path
) -> None:
    _streamed_file(tmp_path, bad_row=390)
    write_config(tmp_path / "s.yaml", STREAMED)
    r = cli("train", "s.yaml")
    assert r.exit_code == 1
    (run_dir,) = runs_dir.iterdir()
    errors = [line for line in r.stderr.splitlines() if line.startswith("error:")]
    assert errors == [
        "error: f.h5: train_x: NaN or infinite values in examples 256..399; clean the data "
        f"first (run {run_dir.name} is kept, marked failed)"
    ]
    assert "Traceback" not in r.stderr
    # the run is whole and says what happened: no parameters, no checkpoint, no temporaries
    assert sorted(p.name for p in run_dir.iterdir()) == [
        "config.yaml",
        "history.csv",
        "summary.json",
    ]
    s = json.loads((run_dir / "summary.json").read_text())
    assert s["status"] == "failed"
    assert s["message"] == (
        "f.h5: train_x: NaN or infinite values in examples 256..399; clean the data first"
    )
    assert (run_dir / "history.csv").read_text().startswith("iteration,cost,epoch\n")
    umask = os.umask(0)
    os.umask(umask)
    for p in run_dir.iterdir():
        assert stat.S_IMODE(p.stat().st_mode) == 0o666 & ~umask, p
    listed = cli("runs", "list", "--json")
    assert [row["status"] for row in json.loads(listed.stdout)] == ["failed"]


def test_a_bad_value_found_before_the_run_starts_leaves_nothing_and_exits_2(
    cli, runs_dir: Path, tmp_path: Path
) -> None:
    # the same file read whole (not streamed): its values are checked before a run exists
    _streamed_file(tmp_path, bad_row=390)
    write_config(tmp_path / "w.yaml", STREAMED.replace("stream: true", "stream: false"))
    r = cli("train", "w.yaml")
    assert r.exit_code == 2
    assert r.stderr == "error: f.h5: train_x: 1 NaN or infinite value(s); clean the data first\n"
    assert not runs_dir.exists() or not any(runs_dir.iterdir())


def test_memory_the_estimate_missed_keeps_a_failed_run_and_exits_1(
    cli, runs_dir: Path, tmp_path: Path, monkeypatch
) -> None:
    import nnctl.commands.train as train_mod

    def out_of_memory(*args, **kwargs):
        raise MemoryError

    monkeypatch.setattr(train_mod, "fit", out_of_memory)
    cfg = write_config(tmp_path / "m.yaml", MOONS_SMALL)
    r = cli("train", cfg)
    assert r.exit_code == 1
    (run_dir,) = runs_dir.iterdir()
    assert r.stderr.strip().splitlines()[-1] == (
        "error: out of memory (more than the estimate made before training) "
        f"(run {run_dir.name} is kept, marked failed)"
    )
    s = json.loads((run_dir / "summary.json").read_text())
    assert (s["status"], s["message"]) == ("failed", "out of memory")


def test_the_api_raises_run_failed_naming_the_kept_run(tmp_path: Path) -> None:
    _streamed_file(tmp_path, bad_row=390)
    write_config(tmp_path / "s.yaml", STREAMED)
    os.chdir(tmp_path)
    with pytest.raises(nnctl.RunFailed) as info:
        nnctl.train(tmp_path / "s.yaml", runs_dir=tmp_path / "runs")
    exc = info.value
    assert isinstance(exc, nnctl.RunError) and exc.exit_code == 1
    (run_dir,) = (tmp_path / "runs").iterdir()
    assert Path(exc.run_dir) == run_dir
    assert isinstance(exc.__cause__, nnctl.DataError)
    assert nnctl.load_run(run_dir).status == "failed"
