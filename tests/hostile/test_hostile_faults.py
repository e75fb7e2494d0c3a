"""Issue 15, classes 3 and 4: no traceback, ever (one bad thing does not poison the rest), and a
run never lies about its state (SIGTERM, kill -9, the lock, live history, checkpoints on
interruption, continuing a finished run bit for bit, fsync after renames)."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from helpers import MOONS_SMALL, write_config
from helpers.hostile import summary
from helpers.proc import env_for, nnctl
from nnctl import runs
from nnctl.commands import train_run
from nnctl.config import load_config
from nnctl.runs import CHECKPOINT_FILE, load_checkpoint
from nnctl.system import interrupt

# Direct loop with every kind of state: Adam, mini-batches, dropout, lr decay, validation.
STATEFUL = """\
dataset: {synthetic: spiral, m: 150, test_fraction: 0.2, seed: 1}
layer_dims: [auto, 12, 8, 3]
activations: {hidden: tanh, output: softmax}
init: xavier
seed: 4
optimizer: adam
learning_rate: 0.02
lr_decay: {rate: 0.5, interval: 3}
batch_size: 16
dropout: [0.8, 0.9]
l2: 0.01
validation_fraction: 0.2
"""


def _no_traceback(r, code: int = 2) -> str:
    err = r.stderr
    assert r.exit_code == code if hasattr(r, "exit_code") else r.returncode == code, err
    assert "Traceback" not in err
    return err


# --------------------------------------------------------------------------- class 3: data files


def _h5(path: Path, build) -> Path:
    import h5py

    rng = np.random.default_rng(0)
    with h5py.File(path, "w") as f:
        f["train_set_y"] = rng.integers(0, 2, 20)
        build(f, rng)
    return path


def _x(f, rng):
    f["train_set_x"] = rng.random((20, 3))


@pytest.mark.parametrize(
    "build,needle",
    [
        (
            lambda f, rng: f.__setitem__(
                "train_set_x", __import__("h5py").ExternalLink("other.h5", "/x")
            ),
            "train_set_x is an external link to other.h5:/x; "
            "nnctl reads only arrays stored in the file itself",
        ),
        (
            lambda f, rng: f.__setitem__("train_set_x", __import__("h5py").SoftLink("/missing")),
            "train_set_x is a link to /missing, which does not exist",
        ),
        (
            lambda f, rng: (_x(f, rng), f.__setitem__("list_classes", np.bytes_("cat"))),
            "list_classes: expected a non-empty 1-D array of class names, got a scalar",
        ),
        (
            lambda f, rng: (_x(f, rng), f.create_group("list_classes")),
            "list_classes is a group; expected a 1-D array of class names",
        ),
        (
            lambda f, rng: (_x(f, rng), f.__setitem__("list_classes", np.array([], dtype="S3"))),
            "list_classes: expected a non-empty 1-D array of class names, got shape (0,)",
        ),
        (
            lambda f, rng: (_x(f, rng), f.__setitem__("list_classes", np.array([[b"a", b"b"]]))),
            "list_classes: expected a non-empty 1-D array of class names, got shape (1, 2)",
        ),
        (
            lambda f, rng: f.__setitem__("train_set_x", np.zeros((20, 0))),
            "train_set_x: examples have no features (shape (20, 0))",
        ),
        (
            lambda f, rng: f.__setitem__("train_set_x", np.zeros((20, 4, 0, 3), dtype=np.uint8)),
            "train_set_x: examples have no features (shape (20, 4, 0, 3))",
        ),
    ],
)
def test_hostile_hdf5_files_are_one_error_line(
    cli, runs_dir: Path, tmp_path: Path, build, needle: str
) -> None:
    data = _h5(tmp_path / "d.h5", build)
    cfg = write_config(
        tmp_path / "c.yaml",
        f"dataset: {{train: {data}}}\nlayer_dims: [auto, 3, 1]\n"
        "activations: [relu, sigmoid]\nlearning_rate: 0.1\niterations: 5\n",
    )
    for args in (("train", cfg), ("config", "check", cfg), ("gradcheck", cfg)):
        r = cli(*args)
        err = _no_traceback(r)
        assert err.startswith("error: ") and f"{data}: {needle}" in err, (args, err)
    assert not runs_dir.exists()  # nothing trained to a "complete" run nothing can load


# --------------------------------------------------------------------------- class 3: run files


def _moons(cli, tmp_path: Path, extra: str = "") -> Path:
    cfg = write_config(tmp_path / "moons.yaml", MOONS_SMALL + extra)
    r = cli("train", cfg, "-q", "--json")
    assert r.exit_code == 0, r.stderr
    return Path(json.loads(r.stdout)["run_dir"])


def _interrupted(cfg_text: str, tmp_path: Path, runs_dir: Path, at: int = 10) -> Path:
    def stop(i: int, cost: float) -> None:
        if i == at:
            raise KeyboardInterrupt

    out = train_run(
        load_config(write_config(tmp_path / "s.yaml", cfg_text)), runs_dir, on_iteration=stop
    )
    assert out.status == "interrupted" and (out.run_dir / CHECKPOINT_FILE).is_file()
    return out.run_dir


def _rewrite_checkpoint(run: Path, change) -> None:
    with np.load(run / CHECKPOINT_FILE) as z:
        arrays = {k: z[k] for k in z.files}
    meta = json.loads(str(arrays["meta"]))
    change(arrays, meta)
    arrays["meta"] = np.array(json.dumps(meta))
    np.savez(run / CHECKPOINT_FILE, **arrays)


@pytest.mark.parametrize(
    "change,needle",
    [
        (
            lambda a, m: m.update(iteration="5"),
            "damaged: iteration is '5', expected a whole number",
        ),
        (lambda a, m: m.update(epoch=-1), "damaged: epoch is -1, expected a whole number"),
        (lambda a, m: m.update(batch=True), "damaged: batch is True, expected a whole number"),
        (
            lambda a, m: m.update(shuffle_rng=[1, 2]),
            "damaged: shuffle_rng is not a generator state",
        ),
        (
            lambda a, m: m.update(dropout_rng={"bit_generator": "nope"}),
            "damaged or unreadable checkpoint",
        ),
        (lambda a, m: m.update(stopper="x"), "damaged: stopper is not an object"),
        (
            lambda a, m: a.update(costs=a["costs"][:-1]),
            "damaged: costs do not hold one cost per step done",
        ),
        (
            lambda a, m: a.update(costs=a["costs"].astype(str)),
            "damaged: costs do not hold one cost per step done",
        ),
        (
            lambda a, m: a.update(val_rows=np.zeros((2, 2))),
            "damaged: val_rows is not a (k, 3) array",
        ),
        (lambda a, m: a.update(perm=np.arange(5)), "damaged: perm is not an order of the"),
        (
            lambda a, m: a.update(param_W1=np.zeros((3, 3))),
            "its parameters do not match the run's layer_dims",
        ),
        (lambda a, m: a.update(meta=None) or m.clear(), "damaged: iteration is None"),
    ],
)
def test_checkpoint_with_wrong_types_is_refused_and_the_run_stays_interrupted(
    cli, runs_dir: Path, tmp_path: Path, change, needle: str
) -> None:
    run = _interrupted(STATEFUL + "epochs: 4\n", tmp_path, runs_dir)
    _rewrite_checkpoint(run, change)
    err = _no_traceback(cli("train", "--resume", run.name))
    assert err.startswith(f"error: {run / CHECKPOINT_FILE}: ") and needle in err, err
    assert summary(run)["status"] == "interrupted"  # not re-marked failed


@pytest.mark.parametrize("cut", [10, 100, 1000, -100, -22])
def test_truncated_checkpoint_is_one_line(cli, runs_dir: Path, tmp_path: Path, cut: int) -> None:
    run = _interrupted(STATEFUL + "epochs: 4\n", tmp_path, runs_dir)
    data = (run / CHECKPOINT_FILE).read_bytes()
    (run / CHECKPOINT_FILE).write_bytes(data[:cut])
    err = _no_traceback(cli("train", "--resume", run.name))
    assert "checkpoint.npz" in err and len(err.strip().splitlines()) == 1
    assert summary(run)["status"] == "interrupted"


def test_run_with_an_empty_class_list_is_one_error_line(
    cli, tmp_path: Path, runs_dir: Path
) -> None:
    run = _moons(cli, tmp_path)
    s = summary(run)
    s["preprocessing"]["classes"] = []
    (run / "summary.json").write_text(json.dumps(s))
    (tmp_path / "p.csv").write_text("0.1,0.2\n")
    for args in (("predict", run, "p.csv"), ("evaluate", run, "--split", "test")):
        err = _no_traceback(cli(*args))
        assert "preprocessing.classes is empty; a classifier needs its class names" in err


@pytest.mark.parametrize(
    "rows",
    [
        "1.7e308,1.7e308",
        "-1.7e308,0",
        "1e308,1e308",
        "1.7e308,-1.7e308",
        "0,1.7976931348623157e308",
    ],
)
def test_overflowing_feature_rows_are_failures_not_nan_answers(
    cli, tmp_path: Path, runs_dir: Path, rows: str
) -> None:
    run = _moons(cli, tmp_path)
    (tmp_path / "p.csv").write_text(f"{rows}\n0.1,0.2\n")
    r = cli("predict", run, "p.csv", "--json")
    err = _no_traceback(r, code=1)
    assert (
        "p.csv[0]: overflowed inside the network (largest input value" in err
        and "RuntimeWarning" not in err
    )
    out = json.loads(r.stdout)
    assert [p["input"] for p in out] == ["p.csv[1]"] and 0 < out[0]["probability"] < 1
    r = cli("predict", run, "p.csv")
    assert r.exit_code == 1 and "nan" not in r.stdout and "p.csv[1]" in r.stdout


def test_huge_but_finite_arithmetic_is_an_answer(cli, tmp_path: Path, runs_dir: Path) -> None:
    run = _moons(cli, tmp_path)
    (tmp_path / "p.csv").write_text("1e200,1e200\n")
    r = cli("predict", run, "p.csv", "--json")
    assert r.exit_code == 0 and json.loads(r.stdout)[0]["probability"] == 1.0


@pytest.mark.parametrize("name", ["x[/]", "[bold]y", "[/red]", "a[b]c", "[link=http://x]z"])
def test_rich_markup_in_a_run_name_is_printed_as_text(
    cli, tmp_path: Path, runs_dir: Path, name: str
) -> None:
    cfg = write_config(tmp_path / "m.yaml", MOONS_SMALL)
    r = cli("train", cfg, "--set", f"name='{name}'")
    assert r.exit_code == 0 and "Traceback" not in r.stderr, r.stderr
    assert f": {name}, layers" in r.stderr
    other = _moons(cli, tmp_path)
    r = cli("runs", "list")
    assert r.exit_code == 0 and f" {name} " in r.stdout
    (run,) = [d for d in runs_dir.iterdir() if d != other]
    r = cli("runs", "compare", run.name, other.name)
    assert r.exit_code == 0 and name in r.stdout
    r = cli("runs", "show", run.name)
    assert r.exit_code == 0 and name in r.stdout


@pytest.mark.parametrize(
    "damage,warning",
    [
        (
            lambda s, d: s.update(final_cost="oops"),
            "damaged: final_cost is a string, expected a number",
        ),
        (lambda s, d: s.update(config="x"), "damaged: config is a string, expected an object"),
        (
            lambda s, d: (
                s.pop("config"),
                (d / "config.yaml").write_text("layer_dims: " + "[" * 900 + "]" * 900),
            ),
            None,
        ),
        (
            lambda s, d: (
                (d / "summary.json").write_text("[" * 100_000 + "]" * 100_000) and s.clear()
            ),
            "nested too deeply",
        ),
        (lambda s, d: s.update(status=["running"]), "damaged: status is a list, expected a string"),
        (lambda s, d: s.update(owner=7), "damaged: owner is an integer, expected an object"),
    ],
)
def test_one_damaged_run_does_not_break_runs_list(
    cli, tmp_path: Path, runs_dir: Path, damage, warning
) -> None:
    good = _moons(cli, tmp_path)
    bad = _moons(cli, tmp_path)
    s = summary(bad)
    damage(s, bad)
    if s:
        (bad / "summary.json").write_text(json.dumps(s))
    r = cli("runs", "list", "--json")
    assert r.exit_code == 0 and "Traceback" not in r.stderr
    ids = [row["id"] for row in json.loads(r.stdout)]
    assert good.name in ids
    if warning is not None:
        assert ids == [good.name] and warning in r.stderr and bad.name in r.stderr
    r = cli("runs", "list")
    assert r.exit_code == 0 and good.name in r.stdout
    r = cli("runs", "show", bad.name)
    assert "Traceback" not in r.stderr


# --------------------------------------------------------------------------- class 4: run state


LONG = MOONS_SMALL.replace("iterations: 300", "iterations: 2000000").replace(
    "print_every: 100", "print_every: 500000"
)
LONG_ADAM = LONG + "optimizer: adam\nbatch_size: 64\n"


def _start(tmp_path: Path, runs_dir: Path, text: str, *extra: str) -> tuple[subprocess.Popen, str]:
    """A training in the background; returns it and its run id once it is training."""
    cfg = write_config(tmp_path / "long.yaml", text)
    p = subprocess.Popen(
        [sys.executable, "-m", "nnctl", "train", str(cfg), *extra],
        cwd=tmp_path,
        env=env_for(runs_dir, OPENBLAS_NUM_THREADS="1"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    line = p.stderr.readline()  # "run ID: ..." once training starts
    assert line.startswith("run "), line + p.stderr.read()
    assert p.stderr.readline().startswith("Cost after iteration 0")
    return p, line.split()[1].rstrip(":")


def _wait_for_history(run: Path, rows: int = 100, timeout: float = 30) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        n = (
            len((run / "history.csv").read_text().splitlines()) - 1
            if (run / "history.csv").exists()
            else 0
        )
        if n >= rows:
            return n
        time.sleep(0.2)
    raise AssertionError("history.csv did not grow")


@pytest.mark.parametrize(
    "sig,code,word",
    [(signal.SIGTERM, 143, "terminated (SIGTERM)"), (signal.SIGINT, 130, "interrupted")],
)
def test_sigterm_and_sigint_stop_cleanly_with_a_checkpoint(
    tmp_path: Path, runs_dir: Path, sig, code, word
) -> None:
    p, run_id = _start(tmp_path, runs_dir, LONG_ADAM)
    run = runs_dir / run_id
    _wait_for_history(run)
    p.send_signal(sig)
    out, err = p.communicate(timeout=60)
    assert p.returncode == code, err
    assert out.strip() == run_id and "Traceback" not in err
    s = summary(run)
    assert s["status"] == "interrupted" and s["message"].startswith(f"{word} after ")
    assert (
        f"{word} after {s['iterations_done']} of 2000000 iterations; run marked interrupted" in err
    )
    assert f"continue from its last checkpoint with: nnctl train --resume {run_id}" in err
    state = load_checkpoint(run, load_config(run / "config.yaml"), 150)
    assert state.iteration == s["iterations_done"] == len(state.costs)
    assert len((run / "history.csv").read_text().splitlines()) == s["iterations_done"] + 1
    assert not [f for f in os.listdir(run) if f.endswith(".tmp")]


def test_sigterm_resumed_run_is_bit_identical_to_an_uninterrupted_one(
    tmp_path: Path, runs_dir: Path
) -> None:
    # long enough to be running when the first history rows are flushed (every 2 s), however
    # fast the machine: the signal must arrive mid-training
    text = LONG_ADAM.replace("iterations: 2000000", "iterations: 100000")
    p, run_id = _start(tmp_path, runs_dir, text)
    _wait_for_history(runs_dir / run_id)
    p.send_signal(signal.SIGTERM)
    p.communicate(timeout=60)
    assert p.returncode == 143
    r = nnctl("train", "--resume", run_id, "-q", runs_dir=runs_dir, cwd=tmp_path, timeout=300)
    assert r.returncode == 0, r.stderr
    r = nnctl("train", "long.yaml", "-q", runs_dir=runs_dir, cwd=tmp_path, timeout=300)
    whole = runs_dir / r.stdout.strip()
    with np.load(whole / "params.npz") as a, np.load(runs_dir / run_id / "params.npz") as b:
        assert all(np.array_equal(a[k], b[k]) for k in a.files)
    assert (whole / "history.csv").read_text() == (runs_dir / run_id / "history.csv").read_text()


def test_killed_run_is_stale_and_keeps_its_curve(tmp_path: Path, runs_dir: Path) -> None:
    p, run_id = _start(tmp_path, runs_dir, LONG + "checkpoint_every: 1000\n")
    run = runs_dir / run_id
    rows = _wait_for_history(run, 3000)
    r = nnctl("runs", "list", "--json", runs_dir=runs_dir, cwd=tmp_path)
    assert json.loads(r.stdout)[0]["status"] == "running"  # its process holds the lock
    r = nnctl("runs", "show", run_id, runs_dir=runs_dir, cwd=tmp_path)
    assert "no iterations recorded" not in r.stdout  # the curve so far
    p.kill()
    p.wait()
    assert summary(run)["status"] == "running"  # the file cannot know
    assert len((run / "history.csv").read_text().splitlines()) - 1 >= rows
    r = nnctl("runs", "list", "--json", runs_dir=runs_dir, cwd=tmp_path)
    assert json.loads(r.stdout)[0]["status"] == "stale"
    r = nnctl("runs", "list", "--filter", "status=stale", runs_dir=runs_dir, cwd=tmp_path)
    assert run_id in r.stdout and " stale " in r.stdout
    r = nnctl("runs", "show", run_id, "--json", runs_dir=runs_dir, cwd=tmp_path)
    assert json.loads(r.stdout)["summary"]["status"] == "stale"
    assert json.loads(r.stdout)["summary"]["owner"]["pid"] == p.pid
    (tmp_path / "p.csv").write_text("0.1,0.2\n")
    r = nnctl("predict", run_id, "p.csv", runs_dir=runs_dir, cwd=tmp_path)
    assert (
        r.returncode == 2
        and "its training process is gone (stale; continue it with nnctl train --resume" in r.stderr
    )
    r = nnctl(
        "train",
        "--resume",
        run_id,
        "--set",
        "iterations=5000",
        "-q",
        runs_dir=runs_dir,
        cwd=tmp_path,
    )
    assert r.returncode == 2 and "give more than 2000000" in r.stderr
    # it resumes from its last checkpoint (every 1000 steps), and can be stopped again
    p = subprocess.Popen(
        [sys.executable, "-m", "nnctl", "train", "--resume", run_id],
        cwd=tmp_path,
        env=env_for(runs_dir, OPENBLAS_NUM_THREADS="1"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert p.stderr.readline().startswith(f"run {run_id}: ")
    first = p.stderr.readline()
    p.send_signal(signal.SIGTERM)
    p.communicate(timeout=60)
    s = summary(run)
    assert p.returncode == 143 and s["status"] == "interrupted"
    assert (
        s["resumed"][0]["from_iteration"] % 1000 == 0
        and first
        == f"Cost after iteration {s['resumed'][0]['from_iteration']}: " + first.split(": ")[1]
    )


def test_a_second_resume_of_a_training_run_is_refused(tmp_path: Path, runs_dir: Path) -> None:
    p, run_id = _start(tmp_path, runs_dir, LONG_ADAM)
    try:
        for args in (("train", "--resume", run_id), ("train", "--resume", run_id, "--more", "5")):
            r = nnctl(*args, runs_dir=runs_dir, cwd=tmp_path)
            assert r.returncode == 2 and "Traceback" not in r.stderr
            assert f"is being trained by another process (pid {p.pid} on " in r.stderr
    finally:
        p.send_signal(signal.SIGTERM)
        p.communicate(timeout=60)
    assert summary(runs_dir / run_id)["status"] == "interrupted"
    r = nnctl("train", "--resume", run_id, "--set", "iterations=1", runs_dir=runs_dir, cwd=tmp_path)
    assert r.returncode == 2 and "give more than 2000000" in r.stderr  # the lock is free again


def test_lock_is_exclusive_and_released(tmp_path: Path) -> None:
    from nnctl.runs import RunLock, is_locked
    from nnctl.system import RunError

    d = tmp_path / "run"
    d.mkdir()
    assert not is_locked(d)
    lock = RunLock.acquire(d)
    assert is_locked(d)
    with pytest.raises(RunError, match="is being trained by another process .pid 42 on h."):
        RunLock.acquire(d, {"pid": 42, "host": "h"})
    lock.release()
    assert not is_locked(d)
    RunLock.acquire(d).release()


def test_a_filesystem_without_locks_trains_unlocked_and_never_reports_stale(
    tmp_path: Path, monkeypatch
) -> None:
    import errno
    import fcntl

    from nnctl.runs import lock as lock_mod

    def no_locks(fd: int, op: int) -> None:
        raise OSError(errno.ENOLCK, "No locks available")

    monkeypatch.setattr(lock_mod.fcntl, "flock", no_locks)
    d = tmp_path / "run"
    d.mkdir()
    lock_mod.RunLock.acquire(d).release()
    assert lock_mod.is_locked(d)  # unknown: treated as held, so a running run is not called stale
    assert fcntl.flock is no_locks


def test_interrupt_while_saving_is_an_interruption_with_a_checkpoint(
    cli, tmp_path: Path, runs_dir: Path, monkeypatch
) -> None:
    real = runs.save_params

    def ctrl_c(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(runs, "save_params", ctrl_c)
    r = cli("train", write_config(tmp_path / "m.yaml", MOONS_SMALL))
    assert r.exit_code == 130 and "Traceback" not in r.stderr
    (run,) = runs_dir.iterdir()
    s = summary(run)
    assert s["status"] == "interrupted" and s["message"] == "interrupted while saving"
    assert (run / CHECKPOINT_FILE).is_file() and not (run / "params.npz").exists()
    monkeypatch.setattr(runs, "save_params", real)
    r = cli("train", "--resume", run.name, "-q")
    assert r.exit_code == 0, r.stderr
    assert summary(run)["status"] == "complete" and (run / "params.npz").is_file()


def test_a_signal_during_the_final_save_lets_the_save_finish(
    cli, tmp_path: Path, runs_dir: Path, monkeypatch
) -> None:
    real = runs.save_params

    def signalled(*args, **kwargs):
        os.kill(os.getpid(), signal.SIGINT)  # deferred: the save goes on
        return real(*args, **kwargs)

    monkeypatch.setattr(runs, "save_params", signalled)
    with interrupt.handle_signals():
        out = train_run(load_config(write_config(tmp_path / "m.yaml", MOONS_SMALL)), runs_dir)
    assert out.status == "complete" and summary(out.run_dir)["status"] == "complete"
    assert (out.run_dir / "params.npz").is_file()


def test_signal_in_the_loop_stops_at_a_step_boundary(tmp_path: Path, runs_dir: Path) -> None:
    def send(i: int, cost: float) -> None:
        if i == 37:
            os.kill(os.getpid(), signal.SIGTERM)

    with interrupt.handle_signals():
        out = train_run(
            load_config(write_config(tmp_path / "a.yaml", STATEFUL + "epochs: 20\n")),
            runs_dir,
            on_iteration=send,
        )
    assert out.status == "interrupted" and out.summary.iterations_done == 38
    assert out.summary.message == "terminated (SIGTERM) after 38 of 140 iterations"
    assert (
        load_checkpoint(out.run_dir, load_config(out.run_dir / "config.yaml"), 97).iteration == 38
    )


# --------------------------------------------------------------------------- continuing a run


def _files(run: Path) -> tuple[dict, str]:
    with np.load(run / "params.npz") as z:
        return {k: z[k] for k in z.files}, (run / "history.csv").read_text()


@pytest.mark.parametrize(
    "text,first,then,how",
    [
        (STATEFUL + "epochs: 3\n", 3, 7, "more"),
        (STATEFUL + "epochs: 3\n", 3, 7, "set"),
        (
            MOONS_SMALL,
            300,
            450,
            "more",
        ),  # plain full-batch descent: continued from params.npz and history
        (MOONS_SMALL + "optimizer: momentum\n", 100, 250, "set"),
        (MOONS_SMALL + "validation_fraction: 0.2\n", 120, 300, "more"),
    ],
)
def test_continuing_a_complete_run_is_bit_identical_to_asking_for_more_from_the_start(
    cli, tmp_path: Path, runs_dir: Path, text: str, first: int, then: int, how: str
) -> None:
    key = "epochs" if "epochs:" in text else "iterations"
    text = text.replace("iterations: 300", "iterations: 300") if key == "epochs" else text
    short = write_config(
        tmp_path / "short.yaml",
        text.replace("iterations: 300", f"iterations: {first}") if key == "iterations" else text,
    )
    r = cli("train", short, "-q", "--json")
    run = Path(json.loads(r.stdout)["run_dir"])
    args = ("--more", str(then - first)) if how == "more" else ("--set", f"{key}={then}")
    r = cli("train", "--resume", run.name, "-q", "--json", *args)
    assert r.exit_code == 0, r.stderr
    assert json.loads(r.stdout)["status"] == "complete"
    full_text = (
        text.replace("iterations: 300", f"iterations: {then}")
        if key == "iterations"
        else text.replace(f"epochs: {first}", f"epochs: {then}")
    )
    r = cli("train", write_config(tmp_path / "long.yaml", full_text), "-q", "--json")
    whole = Path(json.loads(r.stdout)["run_dir"])
    p1, h1 = _files(run)
    p2, h2 = _files(whole)
    assert all(np.array_equal(p1[k], p2[k]) for k in p2) and h1 == h2
    s1, s2 = summary(run), summary(whole)
    assert (
        s1["config"][key] == then
        and s1["iterations"] == s2["iterations"]
        and s1["final_cost"] == s2["final_cost"]
    )
    assert (
        s1["resumed"][0]["from_iteration"] == s2["iterations"] * first // then
        if key == "epochs"
        else first
    )
    import dataclasses

    assert dataclasses.replace(load_config(run / "config.yaml"), name="x") == dataclasses.replace(
        load_config(whole / "config.yaml"), name="x"
    )


@pytest.mark.parametrize(
    "args,needle",
    [
        (("--more", "5"), None),
        (
            ("--set", "iterations=300"),
            "--set iterations=300: the run has iterations: 300 already; give more than 300",
        ),
        (("--set", "iterations=10"), "give more than 300"),
        (
            ("--set", "epochs=10"),
            "the run counts iterations (iterations: 300); set iterations=N or use --more N",
        ),
        (
            ("--set", "learning_rate=0.1"),
            "--set learning_rate: with --resume only iterations=N or epochs=N may be set",
        ),
        (("--set", "iterations=x"), "--set iterations: expected a number, got the string 'x'"),
        (
            ("--more", "5", "--set", "iterations=400"),
            "give either --more N or --set iterations=N, not both",
        ),
        (("--more", "0"), "0"),
    ],
)
def test_continuing_options_are_checked(
    cli, tmp_path: Path, runs_dir: Path, args: tuple, needle
) -> None:
    run = _moons(cli, tmp_path)
    r = cli("train", "--resume", run.name, "-q", *args)
    if needle is None:
        assert r.exit_code == 0 and summary(run)["iterations_done"] == 305
        return
    assert r.exit_code == 2 and "Traceback" not in r.stderr and needle in r.stderr, r.stderr
    assert summary(run)["status"] == "complete"


def test_more_needs_resume_and_diverged_or_early_stopped_runs_cannot_continue(
    cli, tmp_path: Path, runs_dir: Path
) -> None:
    cfg = write_config(tmp_path / "m.yaml", MOONS_SMALL)
    r = cli("train", cfg, "--more", "5")
    assert r.exit_code == 2 and "--more N continues a run: give it with --resume RUN" in r.stderr
    r = cli("train", cfg, "-q", "--set", "learning_rate=1e200", "--set", "init=small")
    assert r.exit_code == 1
    (diverged,) = runs_dir.iterdir()
    r = cli("train", "--resume", diverged.name, "--more", "5")
    assert r.exit_code == 2 and "the run diverged" in r.stderr
    es = write_config(
        tmp_path / "es.yaml", STATEFUL + "epochs: 400\nearly_stopping: {patience: 1}\n"
    )
    r = cli("train", es, "-q", "--json")
    run = Path(json.loads(r.stdout)["run_dir"])
    assert summary(run)["stopped_early"] is True
    r = cli("train", "--resume", run.name, "--more", "5")
    assert r.exit_code == 2 and "a longer run would stop at the same epoch" in r.stderr


def test_a_finished_run_without_its_state_cannot_be_continued_exactly(
    cli, tmp_path: Path, runs_dir: Path
) -> None:
    r = cli("train", write_config(tmp_path / "a.yaml", STATEFUL + "epochs: 2\n"), "-q", "--json")
    run = Path(json.loads(r.stdout)["run_dir"])
    (run / CHECKPOINT_FILE).unlink()  # as an earlier nnctl left it
    r = cli("train", "--resume", run.name, "--more", "1")
    assert r.exit_code == 2 and "cannot be continued exactly" in r.stderr


# --------------------------------------------------------------------------- durability


def test_directory_is_fsynced_after_each_rename(tmp_path: Path, monkeypatch) -> None:
    synced: list[str] = []
    real = os.fsync

    def spy(fd: int) -> None:
        synced.append("dir" if stat.S_ISDIR(os.fstat(fd).st_mode) else "file")
        real(fd)

    monkeypatch.setattr(runs.files.os, "fsync", spy)
    runs.atomic_write(tmp_path / "a", b"x")
    runs.write_json(tmp_path / "b.json", {"a": 1})
    assert synced == ["file", "dir", "file", "dir"]


def test_history_writer_appends_and_flushes(tmp_path: Path, monkeypatch) -> None:
    now = [0.0]
    w = runs.HistoryWriter(tmp_path, ("iteration", "cost"), [(0, 1.0)])
    w._clock, w._last = (lambda: now[0]), 0.0
    w.add((1, 0.5))
    assert (tmp_path / "history.csv").read_text() == "iteration,cost\n0,1.0\n"  # buffered
    now[0] = 2.5
    w.add((2, 0.25))
    assert (tmp_path / "history.csv").read_text() == "iteration,cost\n0,1.0\n1,0.5\n2,0.25\n"
    w.add((3, 0.125))
    w.close()
    assert (tmp_path / "history.csv").read_text().endswith("3,0.125\n")
    with open(tmp_path / "history.csv", "a") as f:
        f.write("4,0.06")  # cut off by a crash
    assert runs.read_history(tmp_path) == ([0, 1, 2, 3], [1.0, 0.5, 0.25, 0.125])
