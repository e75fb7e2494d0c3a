"""``nnctl verify``: a run replayed from its recorded config and data, compared bit for bit with
what it recorded (or within the tolerance when the environment differs), for runs made by
train, continued with --more, streamed from HDF5 and made by a sweep's trial; --resume-check,
--iterations, refused data and arguments."""

from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path

import h5py
import numpy as np
import pytest

from helpers import write_config
from nnctl.commands import train_run
from nnctl.config import load_config

# Everything that carries state across steps: Adam, shuffled mini-batches (7 an epoch), dropout,
# the validation hold-out; a checkpoint is kept at the end (Adam's moments)
CONFIG = """\
dataset: {synthetic: spiral, m: 150, test_fraction: 0.2, seed: 1}
layer_dims: [auto, 12, 8, 3]
activations: {hidden: tanh, output: softmax}
init: xavier
seed: 4
optimizer: adam
learning_rate: 0.02
batch_size: 16
epochs: 4
dropout: [0.8, 0.9]
validation_fraction: 0.2
print_every: 1000
"""


def train(cli, tmp_path: Path, text: str = CONFIG, name: str = "r.yaml") -> Path:
    r = cli("train", write_config(tmp_path / name, text), "--quiet", "--json")
    assert r.exit_code == 0, r.stderr
    return Path(json.loads(r.stdout)["run_dir"])


def verify(cli, run: Path, *args: str) -> tuple[int, dict]:
    r = cli("verify", str(run), "--json", *args)
    assert r.exit_code in (0, 1), r.stderr
    return r.exit_code, json.loads(r.stdout)


def files_digest(run: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(run.iterdir())}


def one_line(r) -> str:
    assert r.exit_code == 2, (r.stdout, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), r.stderr
    assert r.stdout == ""
    return lines[0]


def test_an_untouched_run_verifies_bit_for_bit_and_is_not_touched(cli, runs_dir, tmp_path):
    run = train(cli, tmp_path)
    before = files_digest(run)
    code, out = verify(cli, run)
    assert code == 0
    assert out["same"] is True and out["exact"] is True and out["rtol"] is None
    assert out["environment_differs"] == []
    assert out["run_id"] == run.name and out["iterations"] == out["of"] == 4 * 7
    names = [a["name"] for a in out["arrays"]]
    assert names[:2] == ["costs", "val_loss"]
    assert {"W1", "b1", "W2", "b2", "W3", "b3"} <= set(names)
    assert "checkpoint.opt_s0" in names and "checkpoint.meta" in names  # Adam's final state
    assert all(a["equal"] and a["relative_difference"] == 0.0 for a in out["arrays"])
    assert out["segments"] == [{"from": 0, "to": 28, "how": "train", "epochs": 4}]
    assert files_digest(run) == before  # replayed elsewhere; nothing in the run changed
    assert sorted(p.name for p in runs_dir.iterdir()) == [run.name]  # and no run added

    r = cli("verify", str(run))
    assert r.exit_code == 0
    assert "compared bit for bit" in r.stdout
    assert "same: the replay reproduces the run bit for bit" in r.stdout


def test_one_ulp_in_params_fails_naming_the_array(cli, runs_dir, tmp_path):
    run = train(cli, tmp_path)
    with np.load(run / "params.npz") as z:
        params = {k: z[k] for k in z.files}
    params["W2"][3, 5] = np.nextafter(params["W2"][3, 5], np.inf)
    np.savez(run / "params.npz", **params)
    code, out = verify(cli, run)
    assert code == 1 and out["same"] is False
    bad = [a for a in out["arrays"] if not a["equal"]]
    assert [a["name"] for a in bad] == ["W2"]
    w2 = bad[0]
    assert w2["differing"] == 1 and w2["size"] == 8 * 12 and w2["passes"] is False
    # one ulp of one element, scaled by the array's largest magnitude
    scale = np.max(np.abs(params["W2"]))
    assert 0 < w2["relative_difference"] <= np.spacing(scale) / scale
    r = cli("verify", str(run))
    assert r.exit_code == 1
    line = next(x for x in r.stdout.splitlines() if x.strip().startswith("W2"))
    assert "DIFFERS: 1 of 96 values differ, largest relative difference" in line
    assert f"{w2['relative_difference']:.3g}" in line
    assert "DIFFERENT: the replay does not reproduce the run" in r.stdout


def test_a_different_environment_compares_within_the_stated_tolerance(cli, runs_dir, tmp_path):
    run = train(cli, tmp_path)
    s = json.loads((run / "summary.json").read_text())
    recorded_cpu = s["cpu"]
    s["cpu"] = "Some Other CPU @ 1.00GHz"
    (run / "summary.json").write_text(json.dumps(s))
    with np.load(run / "params.npz") as z:
        params = {k: z[k] for k in z.files}
    params["b1"][0, 0] = np.nextafter(params["b1"][0, 0], np.inf)  # rounding-sized
    np.savez(run / "params.npz", **params)
    code, out = verify(cli, run)
    assert code == 0 and out["exact"] is False
    assert out["rtol"] == pytest.approx(np.sqrt(np.finfo(np.float64).eps))
    assert out["environment_differs"] == [
        {"field": "cpu", "recorded": "Some Other CPU @ 1.00GHz", "now": recorded_cpu}
    ]
    b1 = next(a for a in out["arrays"] if a["name"] == "b1")
    assert b1["equal"] is False and b1["passes"] is True
    r = cli("verify", str(run))
    assert "environment differs; compared within a relative tolerance of 1.5e-08" in r.stdout
    assert f"cpu: recorded 'Some Other CPU @ 1.00GHz', now {recorded_cpu!r}" in r.stdout
    # a change larger than rounding still fails; --rtol 0 makes even rounding fail
    params["W1"] *= 1.001
    np.savez(run / "params.npz", **params)
    code, out = verify(cli, run)
    assert code == 1
    w1 = next(a for a in out["arrays"] if a["name"] == "W1")
    assert w1["passes"] is False and w1["relative_difference"] == pytest.approx(1e-3, rel=1e-3)
    params["W1"] /= 1.001
    code, out = verify(cli, run, "--rtol", "0")
    assert code == 1 and out["rtol"] == 0.0


def test_resume_check_interrupts_at_a_seeded_step_and_requires_the_same_bits(
    cli, runs_dir, tmp_path
):
    run = train(cli, tmp_path)
    code, out = verify(cli, run, "--resume-check")
    assert code == 0
    rc = out["resume_check"]
    assert rc["same"] is True and 1 <= rc["step"] < 28
    names = [a["name"] for a in rc["arrays"]]
    assert {"costs", "val_loss", "W1", "checkpoint.perm", "checkpoint.meta"} <= set(names)
    assert all(a["equal"] for a in rc["arrays"])
    again = verify(cli, run, "--resume-check")[1]["resume_check"]["step"]
    assert again == rc["step"]  # drawn from the run's seed
    r = cli("verify", str(run), "--resume-check")
    assert f"resume check: interrupted after step {rc['step']} and resumed: same bits" in r.stdout


def test_a_run_trained_further_with_more_replays_its_two_segments(cli, runs_dir, tmp_path):
    # a cosine schedule: config.yaml keeps its horizon pinned at the first 28 steps
    text = CONFIG.replace("epochs: 4", "iterations: 28") + "lr_schedule: {name: cosine}\n"
    run = train(cli, tmp_path, text)
    r = cli("train", "--resume", str(run), "--more", "14", "--quiet", "--json")
    assert r.exit_code == 0, r.stderr
    s = json.loads((run / "summary.json").read_text())
    assert s["resumed"][0]["extended_from"] == {"iterations": 28}
    code, out = verify(cli, run, "--resume-check")
    assert code == 0 and out["of"] == 42
    assert out["segments"] == [
        {"from": 0, "to": 28, "how": "train", "iterations": 28},
        {"from": 28, "to": 42, "how": "more", "iterations": 42},
    ]
    assert all(a["equal"] for a in out["arrays"]) and out["resume_check"]["same"]
    assert out["resume_check"]["step"] != 28  # not where the run already resumed


def test_an_interrupted_and_resumed_run_replays_its_interruption(cli, runs_dir, tmp_path):
    path = write_config(tmp_path / "r.yaml", CONFIG)

    def stop_at(i: int, cost: float) -> None:
        if i == 10:
            raise KeyboardInterrupt

    broken = train_run(load_config(path), runs_dir, on_iteration=stop_at)
    assert broken.status == "interrupted"
    assert cli("train", "--resume", broken.run_id, "--quiet").exit_code == 0
    code, out = verify(cli, broken.run_dir)
    assert code == 0
    assert [seg["how"] for seg in out["segments"]] == ["train", "resume"]
    assert out["segments"][0]["to"] == 11


def make_h5(path: Path, m: int, seed: int = 0) -> Path:
    """A course-style image file (8x8x3 uint8, labels 0/1, class 1 redder), chunked."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, m)
    x = rng.integers(0, 200, (m, 8, 8, 3), dtype=np.uint8)
    x[y == 1, ..., 0] += 55
    with h5py.File(path, "w") as f:
        f.create_dataset("train_set_x", data=x, chunks=(16, 8, 8, 3))
        f.create_dataset("train_set_y", data=y)
        f.create_dataset("list_classes", data=np.array([b"dark", b"red"]))
    old = time.time() - 60
    os.utime(path, (old, old))
    return path


STREAMED = """\
dataset: {train: train.h5, test: test.h5, stream: true}
layer_dims: [auto, 8, 1]
activations: {hidden: relu, output: sigmoid}
learning_rate: 0.01
optimizer: adam
epochs: 3
batch_size: 50
seed: 3
print_every: 1000
"""


@pytest.fixture
def h5_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    from nnctl.data.stream import layout

    monkeypatch.setattr(layout, "BLOCK_BYTES", 32 * 192)  # many blocks in a small file
    monkeypatch.setenv("NNCTL_CACHE_DIR", str(tmp_path / "cache"))
    make_h5(tmp_path / "train.h5", 300)
    make_h5(tmp_path / "test.h5", 80, seed=1)
    return tmp_path


def test_a_streamed_run_verifies_and_changed_data_is_refused(cli, runs_dir, h5_files):
    run = train(cli, h5_files, STREAMED, "s.yaml")
    with np.load(run / "checkpoint.npz") as z:
        assert isinstance(json.loads(str(z["meta"]))["stream"], dict)  # streamed from disk
    code, out = verify(cli, run, "--resume-check")
    assert code == 0 and out["of"] == 3 * 6
    assert out["resume_check"]["same"] and "checkpoint.meta" in [
        a["name"] for a in out["resume_check"]["arrays"]
    ]
    with h5py.File(h5_files / "test.h5", "r+") as f:
        f["train_set_y"][0] = 1 - f["train_set_y"][0]
    line = one_line(cli("verify", str(run)))
    assert line.startswith(
        f"error: {(h5_files / 'test.h5').resolve()}: changed since run {run.name}"
    )
    (h5_files / "train.h5").unlink()
    line = one_line(cli("verify", str(run)))
    assert (
        line == f"error: {(h5_files / 'train.h5').resolve()}: missing; run {run.name} trained on it"
    )


def test_a_sweep_trial_verifies(cli, runs_dir, tmp_path):
    from nnctl.runs import create_run_dir
    from nnctl.sweep.trial import run_trial, write_trial_run

    cfg = load_config(write_config(tmp_path / "t.yaml", CONFIG))
    result = run_trial(cfg, None)
    run = create_run_dir(runs_dir)  # where a sweep's client writes its trials
    write_trial_run(run, result, "sw1", 0, 1)
    code, out = verify(cli, Path(run.name))
    assert code == 0 and out["same"]
    assert {"W1", "costs", "val_loss"} <= {a["name"] for a in out["arrays"] if a["equal"]}


def test_iterations_verifies_a_prefix(cli, runs_dir, tmp_path):
    run = train(cli, tmp_path)
    code, out = verify(cli, run, "--iterations", "10", "--resume-check")
    assert code == 0 and out["iterations"] == 10 and out["of"] == 28
    sizes = {a["name"]: a["size"] for a in out["arrays"]}
    assert sizes == {"costs": 10, "val_loss": 1}  # epoch 1 ends at step 7
    assert any("parameters after step 10" in n for n in out["not_compared"])
    assert 1 <= out["resume_check"]["step"] < 10
    # a cost changed after step 10 is outside the prefix, and caught by the whole run
    lines = (run / "history.csv").read_text().splitlines()
    cells = lines[1 + 20].split(",")
    cells[1] = repr(float(cells[1]) * (1 + 1e-15))
    lines[1 + 20] = ",".join(cells)
    (run / "history.csv").write_text("\n".join(lines) + "\n")
    assert verify(cli, run, "--iterations", "10")[0] == 0
    code, out = verify(cli, run)
    costs = next(a for a in out["arrays"] if a["name"] == "costs")
    assert code == 1 and costs["differing"] == 1


def test_bad_arguments_and_runs_are_one_line(cli, runs_dir, tmp_path):
    run = train(cli, tmp_path)
    assert (
        one_line(cli("verify", "nope"))
        == f"error: nope: no run with this id or prefix in {runs_dir}"
    )
    for n in ("0", "29"):
        line = one_line(cli("verify", str(run), "--iterations", n))
        assert line == f"error: --iterations {n}: the run made 28 steps; give 1 to 28"
    line = one_line(cli("verify", str(run), "--iterations", "1", "--resume-check"))
    assert line.startswith("error: --resume-check needs a step to interrupt at")
    path = write_config(tmp_path / "i.yaml", CONFIG)

    def stop_at(i: int, cost: float) -> None:
        if i == 3:
            raise KeyboardInterrupt

    broken = train_run(load_config(path), runs_dir, on_iteration=stop_at)
    line = one_line(cli("verify", str(broken.run_dir)))
    assert line == (
        f"error: {broken.run_dir}: the run is interrupted; verify replays complete runs "
        "(resume it first: nnctl train --resume RUN)"
    )


WIDE = """\
dataset: {train: wide.npz, test_fraction: 0.25, seed: 1}
layer_dims: [auto, 10, 1]
activations: {hidden: relu, output: sigmoid}
learning_rate: 0.05
iterations: 120
print_every: 1000
"""


def test_a_fast_path_run_trained_further_replays_segment_by_segment(
    cli, runs_dir, tmp_path, monkeypatch
):
    from nnctl.training import bind, fast_path_applies

    monkeypatch.setenv("NNCTL_CACHE_DIR", str(tmp_path / "cache"))
    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, 800))  # many more features than examples: the factored loop
    np.savez(tmp_path / "wide.npz", x=x, y=(x[:, 0] + x[:, 1] > 0).astype(int))
    run = train(cli, tmp_path, WIDE, "wide.yaml")
    bound = bind(load_config(tmp_path / "wide.yaml"))
    assert fast_path_applies(bound.cfg, bound.dataset.X_train)
    # the resume check's resume continues on the direct loop: the same to rounding, said so
    code, out = verify(cli, run, "--resume-check")
    rc = out["resume_check"]
    assert code == 0 and out["exact"] and rc["fast_path"] and rc["same"]
    assert rc["rtol"] == pytest.approx(1.49e-8, rel=1e-2)
    assert any(not a["equal"] for a in rc["arrays"]) and all(a["passes"] for a in rc["arrays"])
    r = cli("verify", str(run), "--resume-check")
    assert "the full-batch fast path trained it" in r.stdout
    # --more: 120 steps on the fast path, then 40 on the direct loop, replayed the same way
    assert cli("train", "--resume", str(run), "--more", "40", "--quiet").exit_code == 0
    code, out = verify(cli, run)
    assert code == 0 and out["exact"] and all(a["equal"] for a in out["arrays"])
    assert [s["how"] for s in out["segments"]] == ["train", "more"]
    # what the segments guard against: 160 steps from the start are all on the fast path
    whole = train_run(load_config(run / "config.yaml"), tmp_path / "elsewhere")
    with np.load(whole.run_dir / "params.npz") as a, np.load(run / "params.npz") as b:
        assert not np.array_equal(a["W1"], b["W1"])


def test_the_users_ctrl_c_stops_verify_without_a_verdict(cli, runs_dir, tmp_path, monkeypatch):
    import nnctl.commands.verify.replay as replay_mod

    run = train(cli, tmp_path)
    real = replay_mod.train_run

    def ctrl_c_at_step_5(cfg, place, on_iteration=None, threads=None):
        def on(i: int, cost: float) -> None:
            if i == 5:
                raise KeyboardInterrupt  # as Ctrl-C lands, in the user's replay

        return real(cfg, place, on_iteration=on, threads=threads)

    monkeypatch.setattr(replay_mod, "train_run", ctrl_c_at_step_5)
    r = cli("verify", str(run))
    assert r.exit_code == 130 and r.stdout == ""  # interrupted, not "different"
    assert r.stderr.strip() == "interrupted"


def test_the_python_api_verifies_a_run(cli, runs_dir, tmp_path):
    import nnctl

    run = nnctl.load_run(train(cli, tmp_path))
    v = run.verify(resume_check=True)
    assert v.same and v.exact and v.resume_check.same
    assert v.to_json()["arrays"][0]["name"] == "costs"
    assert run.verify(iterations=5).iterations == 5
    with pytest.raises(nnctl.NnctlError, match="iterations 0: the run made 28 steps"):
        run.verify(iterations=0)


def test_a_replay_that_ends_elsewhere_or_on_other_data_is_named(cli, runs_dir, tmp_path):
    run = train(cli, tmp_path)
    s = json.loads((run / "summary.json").read_text())
    edited = dict(s, iterations_done=27)  # as if the run had stopped a step earlier
    (run / "summary.json").write_text(json.dumps(edited))
    code, out = verify(cli, run)
    assert code == 1 and out["arrays"] == []
    assert out["mismatch"].startswith(
        "the replay's train segment ended complete after 28 steps, the run's after 27"
    )
    # generator settings recorded other than the config's: no replay proves anything
    s["dataset"]["sources"][0]["seed"] = 99
    (run / "summary.json").write_text(json.dumps(s))
    line = one_line(cli("verify", str(run)))
    assert line == (
        f"error: synthetic spiral data: the data differs from what run {run.name} trained on "
        "(file contents or generator settings)"
    )
