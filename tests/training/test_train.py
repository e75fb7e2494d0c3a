"""`nnctl train`: run directory contents, stdout/stderr contract, interruption, failures."""

from __future__ import annotations

import csv
import json
import threading
from pathlib import Path

import numpy as np
import pytest
import yaml

from helpers import MOONS_SMALL, write_config
from nnctl import runs
from nnctl.system import RunError
from nnctl.training import loop as loop_mod


@pytest.fixture
def moons_cfg(tmp_path: Path) -> Path:
    return write_config(tmp_path / "moons_small.yaml", MOONS_SMALL)


def test_stdout_is_only_the_run_id_and_the_run_dir_is_complete(
    cli, runs_dir: Path, moons_cfg: Path
) -> None:
    r = cli("train", moons_cfg)
    assert r.exit_code == 0, r.stderr
    run_id = r.stdout.strip()
    assert r.stdout == run_id + "\n"
    run_dir = runs_dir / run_id
    assert sorted(p.name for p in run_dir.iterdir()) == [
        "config.yaml",
        "history.csv",
        "params.npz",
        "summary.json",
    ]

    # progress: plain lines every print_every (stderr is not a terminal here), and a summary
    assert "Cost after iteration 0: " in r.stderr and "Cost after iteration 200: " in r.stderr
    assert "Cost after iteration 299: " in r.stderr and "\x1b[" not in r.stderr
    assert "train accuracy" in r.stderr and str(run_dir) in r.stderr

    with np.load(run_dir / "params.npz", allow_pickle=False) as npz:
        assert sorted(npz.files) == ["W1", "W2", "b1", "b2"]
        assert npz["W1"].shape == (8, 2) and npz["b1"].shape == (8, 1)
        assert npz["W2"].shape == (1, 8) and npz["b2"].shape == (1, 1)
        assert npz["W1"].dtype == np.float64

    cfg = yaml.safe_load((run_dir / "config.yaml").read_text())
    assert cfg["layer_dims"] == [2, 8, 1]  # auto resolved
    assert cfg["dataset"] == {
        "synthetic": "moons",
        "m": 200,
        "test_fraction": 0.25,
        "seed": 1,
        "noise": 0.2,
    }
    assert cfg["seed"] == 1 and cfg["dtype"] == "float64" and cfg["loss"] == "binary_cross_entropy"

    with open(run_dir / "history.csv") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["iteration", "cost"] and len(rows) == 301
    assert [int(r[0]) for r in rows[1:]] == list(range(300))

    s = json.loads((run_dir / "summary.json").read_text())
    assert s["run_id"] == run_id and s["status"] == "complete" and s["name"] == "moons_small"
    assert s["iterations_done"] == 300 and s["final_cost"] == float(rows[-1][1])
    assert s["dataset"]["n_train"] == 150 and s["dataset"]["n_test"] == 50
    assert s["preprocessing"] == {
        "kind": "features",
        "input_shape": [2],
        "divide_by": 1.0,
        "color_mode": None,
        "classes": ["upper", "lower"],
        "task": "classification",
    }
    assert s["numpy_version"] == np.__version__ and s["nnctl_version"]
    assert 0.5 < s["train_accuracy"] <= 1 and 0.5 < s["test_accuracy"] <= 1


def test_accuracies_in_summary_are_recomputable(cli, runs_dir: Path, moons_cfg: Path) -> None:
    from nnctl.config import load_config
    from nnctl.core import Architecture, Params, predict_proba
    from nnctl.data import load_dataset

    run_dir = runs_dir / cli("train", moons_cfg, "--quiet").stdout.strip()
    cfg = load_config(run_dir / "config.yaml")
    ds = load_dataset(cfg.dataset)
    with np.load(run_dir / "params.npz", allow_pickle=False) as npz:
        params = Params.from_dict(dict(npz))
    AL = predict_proba(params, ds.X_test, Architecture.build(cfg.activations, cfg.loss))
    s = json.loads((run_dir / "summary.json").read_text())
    assert s["test_accuracy"] == float(np.mean((AL > 0.5) == ds.Y_test))


def test_same_config_same_numbers(cli, runs_dir: Path, moons_cfg: Path) -> None:
    a = json.loads(cli("train", moons_cfg, "--json", "--quiet").stdout)
    b = json.loads(cli("train", moons_cfg, "--json", "--quiet").stdout)
    assert a["run_id"] != b["run_id"] and a["final_cost"] == b["final_cost"]
    pa, pb = (np.load(Path(x["run_dir"]) / "params.npz") for x in (a, b))
    assert all(np.array_equal(pa[k], pb[k]) for k in pa.files)


def test_json_output_and_quiet(cli, runs_dir: Path, moons_cfg: Path) -> None:
    r = cli("train", moons_cfg, "--json", "--quiet")
    assert r.exit_code == 0 and r.stderr == ""
    out = json.loads(r.stdout)
    assert set(out) >= {
        "run_id",
        "run_dir",
        "final_cost",
        "train_accuracy",
        "test_accuracy",
        "iterations",
        "seconds",
    }
    assert out["iterations"] == 300 and Path(out["run_dir"]) == runs_dir / out["run_id"]


def test_no_test_set_gives_null_test_accuracy(cli, runs_dir: Path, moons_cfg: Path) -> None:
    out = json.loads(
        cli("train", moons_cfg, "--json", "-q", "--set", "dataset.test_fraction=0").stdout
    )
    assert out["test_accuracy"] is None and out["train_accuracy"] > 0.5


def test_set_overrides_are_saved_in_the_resolved_config(
    cli, runs_dir: Path, moons_cfg: Path
) -> None:
    out = json.loads(
        cli(
            "train",
            moons_cfg,
            "--json",
            "-q",
            "--set",
            "learning_rate=1e-2",
            "--set",
            "layer_dims=[auto, 3, 1]",
            "--set",
            "name=lr-test",
        ).stdout
    )
    cfg = yaml.safe_load((Path(out["run_dir"]) / "config.yaml").read_text())
    assert (
        cfg["learning_rate"] == 0.01 and cfg["layer_dims"] == [2, 3, 1] and cfg["name"] == "lr-test"
    )


def test_runs_dir_option_beats_the_environment(
    cli, runs_dir: Path, moons_cfg: Path, tmp_path: Path
) -> None:
    other = tmp_path / "elsewhere"
    out = json.loads(cli("train", moons_cfg, "--json", "-q", "--runs-dir", other).stdout)
    assert Path(out["run_dir"]).parent == other and not runs_dir.exists()


def test_ctrl_c_marks_the_run_interrupted_and_exits_130(
    cli, runs_dir: Path, moons_cfg: Path, monkeypatch
) -> None:
    real = loop_mod.cost_and_gradients
    calls = {"n": 0}

    def interrupt_at_50(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 51:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(loop_mod, "cost_and_gradients", interrupt_at_50)
    r = cli("train", moons_cfg)
    assert r.exit_code == 130
    assert "interrupted after 50 of 300 iterations; run marked interrupted" in r.stderr
    run_dir = runs_dir / r.stdout.strip()
    s = json.loads((run_dir / "summary.json").read_text())
    assert s["status"] == "interrupted" and s["iterations_done"] == 50
    assert not (run_dir / "params.npz").exists()
    assert len((run_dir / "history.csv").read_text().splitlines()) == 51
    assert not [p for p in run_dir.iterdir() if p.name.endswith(".tmp")]


def test_failed_save_exits_nonzero_and_leaves_no_params(
    cli, runs_dir: Path, moons_cfg: Path, monkeypatch
) -> None:
    real_replace = runs.files.os.replace

    def disk_full(src, dst):
        if str(dst).endswith("params.npz"):
            raise OSError(28, "No space left on device")
        return real_replace(src, dst)

    monkeypatch.setattr(runs.files.os, "replace", disk_full)
    r = cli("train", moons_cfg)
    assert r.exit_code == 1  # the run directory exists: a failed run, kept (2: nothing written)
    assert "params.npz: cannot write: No space left on device" in r.stderr
    (run_dir,) = runs_dir.iterdir()
    assert r.stderr.strip().endswith(f"(run {run_dir.name} is kept, marked failed)")
    assert sorted(p.name for p in run_dir.iterdir()) == [
        "config.yaml",
        "history.csv",
        "summary.json",
    ]
    assert json.loads((run_dir / "summary.json").read_text())["status"] == "failed"


def test_divergence_exits_1_with_advice(cli, runs_dir: Path, moons_cfg: Path) -> None:
    r = cli("train", moons_cfg, "--set", "learning_rate=1e200", "--set", "init=small")
    assert r.exit_code == 1
    assert (
        "training diverged: the cost became" in r.stderr
        and "try a smaller learning_rate than 1e+200" in r.stderr
    )
    s = json.loads((runs_dir / r.stdout.strip() / "summary.json").read_text())
    assert s["status"] == "diverged" and not (runs_dir / r.stdout.strip() / "params.npz").exists()


def test_run_ids_are_unique_and_sorted_under_parallel_creation(tmp_path: Path) -> None:
    made: list[Path] = []
    lock = threading.Lock()

    def make() -> None:
        for _ in range(25):
            p = runs.create_run_dir(tmp_path)
            with lock:
                made.append(p)

    threads = [threading.Thread(target=make) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len({p.name for p in made}) == 200 == len(list(tmp_path.iterdir()))
    assert all(len(p.name) == len("20261126-064712-345-a3f9") for p in made)


def test_run_id_sorts_by_time() -> None:
    from datetime import datetime

    early = runs.new_run_id(datetime(2026, 1, 2, 3, 4, 5, 6000))
    late = runs.new_run_id(datetime(2026, 1, 2, 3, 4, 5, 7000))
    assert early.startswith("20260102-030405-006-") and early < late


def test_unwritable_runs_dir_is_a_one_line_error(cli, moons_cfg: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    r = cli("train", moons_cfg, "--runs-dir", blocker / "runs")
    assert r.exit_code == 2 and "cannot create the runs directory" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_atomic_write_keeps_the_old_file_on_failure(tmp_path: Path, monkeypatch) -> None:
    target = tmp_path / "f.json"
    runs.write_json(target, {"a": 1})
    monkeypatch.setattr(
        runs.files.os, "fsync", lambda fd: (_ for _ in ()).throw(OSError(5, "I/O error"))
    )
    with pytest.raises(RunError, match="cannot write: I/O error"):
        runs.write_json(target, {"a": 2})
    assert json.loads(target.read_text()) == {"a": 1} and list(tmp_path.iterdir()) == [target]


def test_python_dash_m_entry_point(moons_cfg: Path, tmp_path: Path) -> None:
    import subprocess
    import sys

    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "nnctl",
            "train",
            str(moons_cfg),
            "--quiet",
            "--runs-dir",
            str(tmp_path / "r"),
        ],
        capture_output=True,
        text=True,
    )
    assert r.returncode == 0 and r.stderr == ""
    assert (tmp_path / "r" / r.stdout.strip() / "params.npz").is_file()


def test_real_sigint_stops_cleanly(tmp_path: Path) -> None:
    import signal
    import subprocess
    import sys

    cfg = write_config(
        tmp_path / "long.yaml",
        MOONS_SMALL.replace("iterations: 300", "iterations: 10000000").replace(
            "print_every: 100", "print_every: 50"
        ),
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "nnctl", "train", str(cfg), "--runs-dir", str(tmp_path / "r")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stderr is not None
    for line in proc.stderr:  # wait until training is under way
        if line.startswith("Cost after iteration 100:"):
            break
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert "Traceback" not in err and "run marked interrupted" in err
    run_dir = tmp_path / "r" / out.strip()
    s = json.loads((run_dir / "summary.json").read_text())
    assert s["status"] == "interrupted" and s["iterations_done"] >= 101
    assert not (run_dir / "params.npz").exists()
    assert not [p for p in run_dir.iterdir() if p.name.endswith(".tmp")]


def test_last_update_overflowing_is_divergence_not_a_crash(
    cli, runs_dir: Path, tmp_path: Path
) -> None:
    # The cost is checked before each update, so only the parameters show the last one's overflow.
    cfg = write_config(
        tmp_path / "boom.yaml",
        """\
dataset: {synthetic: sine, m: 60, seed: 1}
layer_dims: [auto, 8, 1]
activations: [relu, linear]
learning_rate: 1.0e+200
iterations: 1
""",
    )
    r = cli("train", cfg)
    assert r.exit_code == 1 and "Traceback" not in r.stderr
    assert "the parameters or the cost became infinite or NaN in the last update" in r.stderr
    run_dir = runs_dir / r.stdout.strip()
    s = json.loads((run_dir / "summary.json").read_text())
    assert s["status"] == "diverged" and not (run_dir / "params.npz").exists()


def test_empty_dataset_file_is_one_line(cli, runs_dir: Path, tmp_path: Path) -> None:
    import h5py

    with h5py.File(tmp_path / "empty.h5", "w") as f:
        f["e_x"] = np.zeros((0, 3))
        f["e_y"] = np.zeros((0,), dtype=np.int64)
    cfg = write_config(
        tmp_path / "e.yaml",
        MOONS_SMALL.replace(
            "{synthetic: moons, m: 200, test_fraction: 0.25, seed: 1}",
            f"{{train: {tmp_path / 'empty.h5'}}}",
        ),
    )
    r = cli("train", cfg)
    assert (
        r.exit_code == 2
        and r.stderr.strip() == f"error: {tmp_path / 'empty.h5'}: e_x: no examples (m = 0)"
    )
    assert not runs_dir.exists() or not any(runs_dir.iterdir())
