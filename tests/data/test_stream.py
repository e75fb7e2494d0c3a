"""Streaming data larger than memory (nnctl/data/stream/): a file read in shuffled, chunk-aligned
blocks trains, checkpoints, resumes bit for bit, validates, evaluates and predicts like any
other run; automatic streaming and the refusal of full-batch training; the SHA-256 cache."""

from __future__ import annotations

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
from nnctl.data import prepare_x, sha256_cached, stream
from nnctl.data.stream import labels as stream_labels
from nnctl.data.stream import layout as stream_layout
from nnctl.data.stream import plan as stream_plan
from nnctl.data.stream import reader as stream_reader
from nnctl.system import DataError
from nnctl.training import TrainState, bind

SHAPE = (8, 8, 3)  # 192 bytes an example


def make_h5(path: Path, m: int, seed: int = 0, chunks: tuple | None | bool = True) -> Path:
    """A course-style image file: train_set_x uint8 (m, 8, 8, 3), labels 0/1 with a learnable
    signal (class 1 brighter in the red channel), list_classes."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, m)
    x = rng.integers(0, 200, (m, *SHAPE), dtype=np.uint8)
    x[y == 1, ..., 0] += 55
    if chunks is True:
        chunks = (16, *SHAPE)
    with h5py.File(path, "w") as f:
        f.create_dataset("train_set_x", data=x, chunks=chunks or None)
        f.create_dataset("train_set_y", data=y)
        f.create_dataset("list_classes", data=np.array([b"dark", b"red"]))
    old = time.time() - 60  # written a minute ago: the hash cache skips files modified just now
    os.utime(path, (old, old))
    return path


@pytest.fixture(autouse=True)
def small_blocks(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Blocks of 32 examples (two chunks), so small test files have many blocks and windows;
    the hash cache in the test's own folder."""
    monkeypatch.setattr(stream_layout, "BLOCK_BYTES", 32 * 192)
    monkeypatch.setenv("NNCTL_CACHE_DIR", str(tmp_path / "cache"))


CONFIG = """\
dataset: {{train: train.h5, test: test.h5{extra}}}
layer_dims: [auto, 8, 1]
activations: {{hidden: relu, output: sigmoid}}
learning_rate: 0.01
optimizer: adam
epochs: 4
batch_size: 50
seed: 3
print_every: 10
{more}"""


@pytest.fixture
def files(tmp_path: Path) -> Path:
    make_h5(tmp_path / "train.h5", 600)
    make_h5(tmp_path / "test.h5", 150, seed=1)
    return tmp_path


def config(
    tmp_path: Path, extra: str = ", stream: true", more: str = "", name: str = "s.yaml"
) -> Path:
    return write_config(tmp_path / name, CONFIG.format(extra=extra, more=more))


def epoch_batches(
    X: stream.H5Columns, T: np.ndarray, bs: int, epoch: int, seed: int = 3
) -> list[tuple]:
    src = X.batch_source(T, lambda Tb: Tb.copy(), bs, seed)
    s = TrainState.start(load_config_for_state())
    s.epoch = epoch
    out = []
    for b in range(-(-X.shape[1] // bs)):
        s.batch = b
        Xb, Tb = src.next_batch(s)
        out.append((Xb.copy(), Tb.copy()))
    src.close()
    return out


_STATE_CFG: list = []


def load_config_for_state():
    return _STATE_CFG[0]


def test_block_plan_is_whole_chunks() -> None:
    assert stream.block_plan(100, 16, 192, target=40 * 192).tolist() == [0, 32, 64, 96, 100]
    assert stream.block_plan(10, None, 192, target=4 * 192).tolist() == [0, 4, 8, 10]
    assert stream.block_plan(10, 16, 192, target=1).tolist() == [0, 10]  # never less than a chunk
    # chunks over MAX_CHUNK_BYTES (4 MB) would make windows too large: blocks then cut them
    assert stream.block_plan(50_000, 30_000, 192, target=192 * 1000)[:3].tolist() == [0, 1000, 2000]


def test_each_epoch_covers_every_example_once_in_a_seeded_order(files: Path) -> None:
    cfg = load_config(config(files))
    _STATE_CFG[:] = [bind(cfg).cfg]
    bound = bind(cfg)
    X, Y = bound.dataset.X_train, bound.dataset.Y_train
    assert isinstance(X, stream.H5Columns) and X.shape == (192, 600)
    T = Y.astype(np.float64)
    raw = h5py.File(files / "train.h5")["train_set_x"][()]
    in_memory = prepare_x(
        raw, 255.0, np.float64
    )  # (192, 600), what training without streaming uses
    e0 = epoch_batches(X, T, 64, epoch=0)
    assert [b[0].shape for b in e0] == [(192, 64)] * 9 + [(192, 24)]
    cols = np.hstack([b[0] for b in e0])
    # every example exactly once, the same bits as loading the file whole
    order = [int(np.flatnonzero((in_memory == cols[:, [j]]).all(axis=0))[0]) for j in range(600)]
    assert sorted(order) == list(range(600))
    assert np.array_equal(np.hstack([b[1] for b in e0]), T[:, order])
    assert order != list(range(600))  # shuffled ...
    blocks = [o // 32 for o in order[: 32 * 4]]
    assert len(set(blocks)) <= 4  # ... within a window of 4 blocks of 32
    again = epoch_batches(X, T, 64, epoch=0)
    assert all(np.array_equal(a[0], b[0]) for a, b in zip(e0, again))  # same seed, same batches
    e1 = epoch_batches(X, T, 64, epoch=1)
    assert not np.array_equal(e0[0][0], e1[0][0])  # a new order every epoch


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_streamed_batches_are_the_in_memory_columns_normalized_bit_for_bit(
    files: Path, dtype: type, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the prefetch thread gathers each window in its shuffled order and converts it in one pass
    # (cast and divide, then the normalization) a few rows at a time; every batch column must be
    # the in-memory one (prepare_x, then apply_steps) to the bit, also for batches that straddle
    # two windows (48 does not divide a window's 128 examples)
    from nnctl.data.normalize import apply_steps

    monkeypatch.setattr(stream.columns, "CONVERT_BYTES", 5 * 192 * 8)  # 5 rows a piece
    cfg = load_config(config(files))
    _STATE_CFG[:] = [bind(cfg).cfg]
    raw = h5py.File(files / "train.h5")["train_set_x"][()]
    rng = np.random.default_rng(7)
    steps = [
        {"op": "subtract", "value": (rng.random(192) * 0.8).tolist()},
        {"op": "divide", "by": (rng.random(192) + 0.1).tolist()},
    ]
    in_memory = apply_steps(prepare_x(raw, 255.0, dtype), steps)
    X = stream.H5Columns(stream.read_h5_header(files / "train.h5").x, 255.0, dtype)
    X = apply_steps(X, steps)
    assert isinstance(X, stream.H5Columns)
    which = np.arange(600, dtype=np.float64).reshape(1, -1)  # each column's example, as "labels"
    batches = epoch_batches(X, which, 48, epoch=1)
    assert [b[0].shape for b in batches] == [(192, 48)] * 12 + [(192, 24)]
    cols = np.hstack([b[1] for b in batches]).astype(int).ravel()
    assert sorted(cols.tolist()) == list(range(600))  # every example once
    got = np.hstack([b[0] for b in batches])
    assert got.dtype == dtype and np.array_equal(got, in_memory[:, cols])
    # laid out as BatchGatherer's batches (each example's features contiguous)
    src = X.batch_source(which, lambda Tb: Tb, 48, 3)
    s = TrainState.start(_STATE_CFG[0])
    s.batch = 0
    Xb, _ = src.next_batch(s)
    assert Xb.flags.f_contiguous
    src.close()


@pytest.mark.parametrize("divide_by", [255.0, 1.0])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_convert_in_pieces_is_prepare_x_then_apply_steps(
    tmp_path: Path, divide_by: float, dtype: type, monkeypatch: pytest.MonkeyPatch
) -> None:
    # every byte value in every feature, gathered in a shuffled order, converted a few rows
    # at a time: the bits of the whole-array arithmetic
    from nnctl.data.normalize import apply_steps

    monkeypatch.setattr(stream.columns, "CONVERT_BYTES", 3 * 192 * 8)
    path = make_h5(tmp_path / "t.h5", 40)
    X = stream.H5Columns(stream.read_h5_header(path).x, divide_by, dtype)
    rng = np.random.default_rng(2)
    raw = rng.permutation(np.tile(np.arange(256, dtype=np.uint8), (192, 1)).T)  # (256, 192)
    steps = [
        {"op": "subtract", "value": rng.standard_normal(192).tolist()},
        {"op": "divide", "by": (rng.random(192) * 3 + 0.01).tolist()},
    ]
    rows = rng.permutation(256)[:250]
    for st in ([], steps):
        Xs = X.with_steps(st)
        out = np.empty((250, 192), dtype=dtype)
        Xs.convert(raw, out, rows)
        expected = apply_steps(prepare_x(raw[rows], divide_by, dtype), st)
        assert np.array_equal(out, expected.T)
        whole = np.empty((256, 192), dtype=dtype)
        assert np.array_equal(
            Xs.convert(raw, whole), apply_steps(prepare_x(raw, divide_by, dtype), st).T
        )


def test_streamed_run_trains_evaluates_and_predicts(cli, runs_dir: Path, files: Path) -> None:
    r = cli("train", config(files), "--json")
    assert r.exit_code == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["status"] == "complete" and out["iterations"] == 4 * 12
    assert out["test_accuracy"] > 0.9
    s = json.loads((Path(out["run_dir"]) / "summary.json").read_text())
    assert s["dataset"]["n_train"] == 600 and s["dataset"]["n_test"] == 150
    assert [src["sha256_cached"] for src in s["dataset"]["sources"]] == [False, False]
    # evaluate scores the file in blocks: the same numbers as the summary
    r = cli("evaluate", out["run_id"], "--json")
    assert r.exit_code == 0, r.stderr
    assert json.loads(r.stdout)["accuracy"] == s["test_accuracy"]
    # predict takes images like any run's: the test file's first examples, as PNGs
    from PIL import Image

    with h5py.File(files / "test.h5") as f:
        x, y = f["train_set_x"][:6], f["train_set_y"][:6]
    for i, img in enumerate(x):
        Image.fromarray(img).save(files / f"img{i}.png")
    r = cli("predict", out["run_id"], *[f"img{i}.png" for i in range(6)], "--json")
    assert r.exit_code == 0, r.stderr
    probs = [p["probability"] for p in json.loads(r.stdout)]
    labels = [["dark", "red"].index(p["class"]) for p in json.loads(r.stdout)]
    ev = json.loads(cli("evaluate", out["run_id"], "--json").stdout)
    wrong = set(ev["misclassified"])
    assert [lab == yy for lab, yy in zip(labels, y)] == [i not in wrong for i in range(6)]
    assert len(probs) == 6
    # a second run hashes nothing: the digests come from the cache
    r = cli("train", config(files), "--json", "--quiet")
    s2 = json.loads((Path(json.loads(r.stdout)["run_dir"]) / "summary.json").read_text())
    assert [src["sha256_cached"] for src in s2["dataset"]["sources"]] == [True, True]
    assert [src["sha256"] for src in s2["dataset"]["sources"]] == [
        src["sha256"] for src in s["dataset"]["sources"]
    ]
    assert (s2["test_accuracy"], s2["final_cost"]) == (
        s["test_accuracy"],
        s["final_cost"],
    )  # same batches


def test_streamed_and_in_memory_runs_agree_within_noise(cli, runs_dir: Path, files: Path) -> None:
    acc = {}
    for extra in (", stream: true", ", stream: false"):
        r = cli("train", config(files, extra), "--json", "--quiet")
        assert r.exit_code == 0, r.stderr
        acc[extra] = json.loads(r.stdout)["test_accuracy"]
    assert abs(acc[", stream: true"] - acc[", stream: false"]) <= 0.05


def interrupt_at(n: int):
    def on_iteration(i: int, cost: float) -> None:
        if i == n:
            raise KeyboardInterrupt

    return on_iteration


def run_files(run_dir: Path) -> tuple[dict, str]:
    with np.load(run_dir / "params.npz") as z:
        return {k: z[k] for k in z.files}, (run_dir / "history.csv").read_text()


def test_streamed_run_resumes_bit_identically(cli, runs_dir: Path, files: Path) -> None:
    path = config(files, more="validation_fraction: 0.2\ncheckpoint_every: 5\n")
    r = cli("train", path, "--json", "--quiet")
    assert r.exit_code == 0, r.stderr
    whole = Path(json.loads(r.stdout)["run_dir"])
    # 480 training examples / 50 = 10 batches an epoch; stop in the middle of epoch 2
    broken = train_run(load_config(path), runs_dir, on_iteration=interrupt_at(23))
    assert broken.status == "interrupted"
    with np.load(broken.run_dir / "checkpoint.npz") as z:
        meta = json.loads(str(z["meta"]))
    # the interruption itself is checkpointed (the last finished step, 24: epoch 2, batch 4)
    assert meta["iteration"] == 24 and meta["epoch"] == 2 and meta["batch"] == 4
    pos = meta["stream"]
    assert pos["epoch"] == 2 and pos["example"] == 200  # 4 batches of 50 into epoch 2's sequence
    assert sorted(pos["block_order"]) == list(range(19))  # 600 examples in blocks of 32
    r = cli("train", "--resume", broken.run_id, "--json")
    assert r.exit_code == 0, r.stderr
    p_whole, h_whole = run_files(whole)
    p_resumed, h_resumed = run_files(broken.run_dir)
    for k in p_whole:
        assert np.array_equal(p_whole[k], p_resumed[k]), k
    assert h_whole == h_resumed  # costs and the per-epoch validation rows
    s = json.loads((whole / "summary.json").read_text())
    assert s["dataset"]["n_val"] == 120 and s["val_loss"] is not None


def test_mid_epoch_resume_is_bit_identical(cli, runs_dir: Path, files: Path) -> None:
    path = config(files, more="checkpoint_every: 7\n")
    whole = Path(json.loads(cli("train", path, "--json", "--quiet").stdout)["run_dir"])
    broken = train_run(load_config(path), runs_dir, on_iteration=interrupt_at(30))
    with np.load(broken.run_dir / "checkpoint.npz") as z:
        meta = json.loads(str(z["meta"]))
    # the interruption itself is checkpointed: 31 steps done, 12 batches an epoch
    assert (meta["iteration"], meta["epoch"], meta["batch"]) == (31, 2, 7)
    assert meta["stream"]["example"] == 350 and meta["stream"]["epoch"] == 2
    assert cli("train", "--resume", broken.run_id, "--quiet").exit_code == 0
    p_whole, h_whole = run_files(whole)
    p_resumed, h_resumed = run_files(broken.run_dir)
    assert all(np.array_equal(p_whole[k], p_resumed[k]) for k in p_whole) and h_whole == h_resumed


def test_a_batch_normalized_streamed_run_resumes_bit_identically(
    cli, runs_dir: Path, files: Path
) -> None:
    path = config(files, more="checkpoint_every: 7\nbatch_norm: true\n")
    whole = Path(json.loads(cli("train", path, "--json", "--quiet").stdout)["run_dir"])
    broken = train_run(load_config(path), runs_dir, on_iteration=interrupt_at(30))
    assert broken.status == "interrupted"
    assert cli("train", "--resume", broken.run_id, "--quiet").exit_code == 0
    p_whole, h_whole = run_files(whole)
    p_resumed, h_resumed = run_files(broken.run_dir)
    assert "gamma1" in p_whole and "running_var1" in p_whole and "b1" not in p_whole
    assert all(np.array_equal(p_whole[k], p_resumed[k]) for k in p_whole) and h_whole == h_resumed
    r = cli("evaluate", whole, "--json")
    assert r.exit_code == 0, r.stderr
    assert json.loads(r.stdout)["accuracy"] > 0.8


def test_automatic_streaming_with_a_notice(cli, runs_dir: Path, files: Path, monkeypatch) -> None:
    monkeypatch.setenv("NNCTL_MEMORY_SHARE", "0.5")
    # 750 x 192 float64: 1.2 MB
    monkeypatch.setattr(stream_plan, "available_memory", lambda: 400_000)
    r = cli("train", config(files, extra=""), "--json")
    assert r.exit_code == 0, r.stderr
    notice = [line for line in r.stderr.splitlines() if line.startswith("notice:")]
    assert notice == [
        "notice: train.h5: streaming the data from disk in mini-batches: the examples would take "
        "1.2 MB as float64, more than 50% of the 400.0 KB of memory available "
        "(NNCTL_MEMORY_SHARE); set dataset.stream: true to always stream it"
    ]
    s = json.loads((Path(json.loads(r.stdout)["run_dir"]) / "summary.json").read_text())
    assert s["warnings"] == [notice[0].removeprefix("notice: ")]
    # full-batch training needs it all in memory: one line, exit 2, no run directory
    before = sorted(runs_dir.iterdir())
    r = cli(
        "train",
        config(files, extra=""),
        "--set",
        "batch_size=null",
        "--set",
        "epochs=null",
        "--set",
        "iterations=5",
    )
    assert r.exit_code == 2
    assert r.stderr.strip() == (
        "error: train.h5: the examples would take 1.2 MB as float64, more than 50% of the 400.0 "
        "KB of "
        "memory available (NNCTL_MEMORY_SHARE); full-batch training needs every example in memory "
        "at each "
        "step, so set batch_size (e.g. 128) to stream it from disk"
    )
    assert sorted(runs_dir.iterdir()) == before
    # the share is the user's: with all of the memory it fits
    monkeypatch.setenv("NNCTL_MEMORY_SHARE", "1")
    monkeypatch.setattr(stream_plan, "available_memory", lambda: 2_000_000)
    r = cli("train", config(files, extra=""), "--json")
    assert r.exit_code == 0 and "notice:" not in r.stderr


def test_unsuitable_chunks_still_stream_with_a_notice(cli, runs_dir: Path, tmp_path: Path) -> None:
    make_h5(
        tmp_path / "train.h5", 300, chunks=None
    )  # contiguous: one sequential read a block, fine
    make_h5(tmp_path / "test.h5", 100, seed=1, chunks=(100, 4, 8, 3))  # splits each example
    r = cli("train", config(tmp_path), "--json")
    assert r.exit_code == 0, r.stderr
    notices = [line for line in r.stderr.splitlines() if line.startswith("notice:")]
    assert notices == [
        "notice: test.h5: train_set_x is chunked [100, 4, 8, 3], which splits each example "
        "across chunks; streaming works, but a file written by `nnctl data import` (chunked along "
        "the "
        "example axis) streams faster",
    ]
    assert json.loads(r.stdout)["test_accuracy"] > 0.8


def test_bad_stream_settings_are_one_line(cli, runs_dir: Path, files: Path, monkeypatch) -> None:
    r = cli("train", config(files, extra=", stream: yes please").name)
    assert r.exit_code == 2
    assert r.stderr.strip() == (
        "error: s.yaml: dataset.stream: expected true (stream mini-batches from disk) "
        "or false (load the data whole), got the string 'yes please'"
    )
    r = cli("train", "s.yaml", "--set", "batch_size=1000", "--set", "dataset.stream=true")
    assert r.exit_code == 2
    assert r.stderr.strip() == (
        "error: s.yaml (with --set): dataset.stream: streaming trains on mini-batches, "
        "but batch_size is 1000 for 600 training examples; set batch_size (e.g. 128)"
    )
    monkeypatch.setenv("NNCTL_MEMORY_SHARE", "2")
    r = cli("train", config(files, extra=""))
    assert r.exit_code == 2
    assert (
        r.stderr.strip()
        == "error: NNCTL_MEMORY_SHARE=2: expected a share of memory in (0, 1], e.g. 0.5"
    )


def test_evaluate_scores_a_large_file_in_blocks(
    cli, runs_dir: Path, files: Path, monkeypatch
) -> None:
    run = json.loads(cli("train", config(files), "--json", "--quiet").stdout)["run_id"]
    whole = json.loads(cli("evaluate", run, "--data", files / "test.h5", "--json").stdout)
    seen = []
    real_blocks = stream.H5Columns.blocks

    def counting(self):
        for Xb, cols in real_blocks(self):
            seen.append(Xb.shape[1])
            yield Xb, cols

    monkeypatch.setattr(stream.H5Columns, "blocks", counting)
    monkeypatch.setattr(stream_plan, "available_memory", lambda: 1000)
    r = cli("evaluate", run, "--data", files / "test.h5", "--json", "--errors", "wrong")
    assert r.exit_code == 0, r.stderr
    blocked = json.loads(r.stdout)
    assert seen == [32, 32, 32, 32, 22]  # 150 examples, never more than a block in memory
    assert {k: blocked[k] for k in ("accuracy", "confusion_matrix", "misclassified")} == {
        k: whole[k] for k in ("accuracy", "confusion_matrix", "misclassified")
    }
    assert blocked["log_loss"] == pytest.approx(whole["log_loss"], rel=1e-12)
    assert len(list((files / "wrong").iterdir())) == len(whole["misclassified"])


def test_the_hash_cache_is_keyed_by_the_file_version(tmp_path: Path) -> None:
    f = make_h5(tmp_path / "a.h5", 40)
    digest, cached = sha256_cached(f)
    assert not cached and sha256_cached(f) == (digest, True)
    entries = json.loads((tmp_path / "cache" / "sha256.json").read_text())
    assert entries[str(f.resolve())]["sha256"] == digest
    make_h5(f, 40, seed=5)  # new contents, new mtime
    digest2, cached = sha256_cached(f)
    assert not cached and digest2 != digest
    # rewritten with its old modification time put back: its change time tells
    # (nnctl.system.filehash)
    st = os.stat(f)
    make_h5(f, 40, seed=6)
    os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns))
    digest3, cached = sha256_cached(f)
    assert not cached and digest3 not in (digest, digest2) and sha256_cached(f) == (digest3, True)


def test_out_of_memory_loading_whole_is_one_line(
    cli, runs_dir: Path, files: Path, monkeypatch
) -> None:
    import nnctl.training.binding

    def no_memory(*args, **kwargs):
        raise MemoryError

    monkeypatch.setattr(nnctl.training.binding, "load_dataset", no_memory)
    r = cli("train", config(files, ", stream: false"))
    assert r.exit_code == 2
    assert r.stderr.strip() == (
        "error: train.h5: out of memory loading the data whole; stream it from disk in "
        "mini-batches with dataset.stream: true and a batch_size"
    )
    assert not runs_dir.exists() or not any(runs_dir.iterdir())


def test_report_of_a_streamed_run(cli, runs_dir: Path, files: Path) -> None:
    # barely trained, so the test set has misclassified images to show
    r = cli(
        "train",
        config(files),
        "--set",
        "learning_rate=0.00001",
        "--set",
        "epochs=1",
        "--json",
        "--quiet",
    )
    run = json.loads(r.stdout)
    assert run["test_accuracy"] < 0.9
    r = cli("report", run["run_id"])
    assert r.exit_code == 0, r.stderr
    page = Path(r.stdout.strip()).read_text()
    assert "scores unavailable" not in page
    assert page.count("data:image/png;base64,") > 0


def test_nan_in_a_streamed_float_file_is_one_line(cli, runs_dir: Path, tmp_path: Path) -> None:
    # checked block by block as the file is read, so the run starts and then fails
    x = np.random.default_rng(0).normal(size=(400, 6)).astype(np.float32)
    x[350, 2] = np.nan
    with h5py.File(tmp_path / "f.h5", "w") as f:
        f.create_dataset("train_set_x", data=x, chunks=(16, 6))
        f.create_dataset("train_set_y", data=np.arange(400) % 2)
    write_config(
        tmp_path / "f.yaml",
        "dataset: {train: f.h5, stream: true}\nlayer_dims: [auto, 1]\n"
        "activations: [sigmoid]\nlearning_rate: 0.1\nepochs: 2\nbatch_size: 32\n",
    )
    r = cli("train", "f.yaml", "--json")
    assert r.exit_code == 1  # the run had started: kept as a failed run (2: nothing written)
    (run_dir,) = runs_dir.iterdir()
    assert r.stderr.strip().splitlines()[-1] == (
        "error: f.h5: train_set_x: NaN or infinite values in examples "
        f"256..399; clean the data first (run {run_dir.name} is kept, marked failed)"
    )
    s = json.loads(run_dir.joinpath("summary.json").read_text())
    assert s["status"] == "failed"


@pytest.mark.parametrize("layout", ["contiguous", "chunked", "gzip", "split_examples"])
def test_blocks_read_straight_from_the_file_equal_hdf5s_reads(tmp_path: Path, layout: str) -> None:
    # 100 examples in chunks of 16: the last chunk is partly outside the array
    chunks = {
        "contiguous": False,
        "chunked": (16, *SHAPE),
        "gzip": (16, *SHAPE),
        "split_examples": (16, 4, 8, 3),
    }
    path = tmp_path / "x.h5"
    make_h5(path, 100, chunks=chunks[layout])
    if layout == "gzip":
        with h5py.File(path, "a") as f:
            x = f["train_set_x"][()]
            del f["train_set_x"]
            f.create_dataset("train_set_x", data=x, chunks=(16, *SHAPE), compression="gzip")
    X = stream.H5Columns(stream.read_h5_header(path).x, 255.0, np.float32)
    reader = X.reader()
    # plain arrays are read with preadv; what HDF5 must decode (compression, chunks that cut
    # examples) goes through h5py
    assert reader.direct == (layout in ("contiguous", "chunked"))
    expected = h5py.File(path)["train_set_x"][()]
    buf = np.full((X.plan[1] + 3, *SHAPE), 7, np.uint8)
    got = []
    for block in range(len(X.plan) - 1):
        reader.advise([block, block + 1][: len(X.plan) - 1 - block])
        n = reader.read(block, buf, 3)  # at an offset into the buffer
        assert (buf[:3] == 7).all()
        got.append(buf[3 : 3 + n].copy())
    reader.close()
    assert np.array_equal(np.concatenate(got), expected)


def test_a_file_shorter_than_its_header_says_is_one_error(tmp_path: Path) -> None:
    path = make_h5(tmp_path / "x.h5", 100, chunks=False)
    header = stream.read_h5_header(path)
    with h5py.File(path) as f:
        offset = f["train_set_x"].id.get_offset()
        # offsets past the file's end (a damaged or hostile header) are left to HDF5
        assert stream.plain_extents(f["train_set_x"], header.x, offset + 50 * 192) is None
        assert stream.plain_extents(f["train_set_x"], header.x, path.stat().st_size) is not None
    X = stream.H5Columns(header.x, 255.0, np.float32)
    reader = X.reader()
    assert reader.direct
    with open(path, "r+b") as fh:  # cut short while being read
        fh.truncate(offset + 50 * 192)
    buf = np.empty((X.plan[1], *SHAPE), np.uint8)
    reader.read(0, buf, 0)
    with pytest.raises(DataError) as err:
        for block in range(len(X.plan) - 1):
            reader.read(block, buf, 0)
    reader.close()
    assert str(err.value) == (
        f"{path}: cannot read examples 32..63: the file ends at byte {offset + 50 * 192}, "
        "before the examples it declares"
    )
    # opened again, HDF5 itself sees the truncation
    with pytest.raises(DataError, match=r"x\.h5: cannot read train_set_x: .*truncated file"):
        X.reader()


@pytest.mark.parametrize("loss", ["binary", "softmax", "regression"])
def test_scoring_in_blocks_keeps_nothing_per_example_and_matches_whole(
    tmp_path: Path, loss: str
) -> None:
    from nnctl.core import initialize_parameters
    from nnctl.training import score

    path = make_h5(tmp_path / "x.h5", 150)
    header = stream.read_h5_header(path)
    X = stream.H5Columns(header.x, 255.0, np.float64)
    whole_X = prepare_x(h5py.File(path)["train_set_x"][()], 255.0, np.float64)
    rng = np.random.default_rng(1)
    body = {
        "binary": (
            "[auto, 4, 1]",
            "{hidden: relu, output: sigmoid}",
            "",
            rng.integers(0, 2, (1, 150)),
        ),
        "softmax": (
            "[auto, 4, 3]",
            "{hidden: relu, output: softmax}",
            "",
            rng.integers(0, 3, (1, 150)),
        ),
        "regression": (
            "[auto, 4, 2]",
            "{hidden: relu, output: linear}",
            "loss: mean_squared_error\n",
            rng.standard_normal((2, 150)),
        ),
    }[loss]
    cfg = load_config(
        write_config(
            tmp_path / "c.yaml",
            f"dataset: {{train: x.h5}}\nlayer_dims: {body[0]}\n"
            f"activations: {body[1]}\nlearning_rate: 0.1\nepochs: 1\n{body[2]}",
        )
    )
    cfg = cfg.with_input_dim(192)
    params = initialize_parameters(cfg.layer_dims, "he", 0)
    Y = body[3]
    n_classes = None if loss == "regression" else (3 if loss == "softmax" else 2)
    whole = score(params, cfg, whole_X, Y, n_classes=n_classes)
    kept = score(params, cfg, X, Y, n_classes=n_classes)
    lean = score(params, cfg, X, Y, n_classes=n_classes, keep_outputs=False)
    assert lean.AL is None and lean.ZL is None and lean.labels is None
    assert np.array_equal(kept.AL, whole.AL) and np.array_equal(kept.ZL, whole.ZL)
    # the loss is summed block by block: the same up to the order of summation, and the same
    # with or without the outputs kept (so evaluate and a run's summary agree to the last bit)
    assert kept.loss == lean.loss == pytest.approx(whole.loss, rel=1e-13)
    assert kept.summary().keys() == whole.summary().keys()
    for key, value in whole.summary().items():
        assert kept.summary()[key] == lean.summary()[key] == pytest.approx(value, rel=1e-12)
    if n_classes:
        assert np.array_equal(kept.labels, whole.labels)
        assert np.array_equal(kept.confusion, whole.confusion) and np.array_equal(
            lean.confusion, whole.confusion
        )


def test_a_streamed_softmax_run_makes_each_batchs_targets(
    cli, runs_dir: Path, tmp_path: Path
) -> None:
    # three classes: the one-hot targets are made per batch from the labels, never for all examples
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 480)
    x = rng.integers(0, 150, (480, *SHAPE), dtype=np.uint8)
    x[..., 0] += (y * 50).astype(np.uint8)[:, None, None]
    with h5py.File(tmp_path / "three.h5", "w") as f:
        f.create_dataset("train_set_x", data=x, chunks=(16, *SHAPE))
        f.create_dataset("train_set_y", data=y)
        f.create_dataset("list_classes", data=np.array([b"a", b"b", b"c"]))
    body = (
        "layer_dims: [auto, 8, 3]\nactivations: {hidden: relu, output: softmax}\nlearning_rate: "
        "0.01\n"
        "optimizer: adam\nbatch_size: 40\nepochs: 6\nseed: 2\nprint_every: 1000\n"
    )
    write_config(tmp_path / "s.yaml", "dataset: {train: three.h5, stream: true}\n" + body)
    write_config(tmp_path / "m.yaml", "dataset: {train: three.h5, stream: false}\n" + body)
    streamed = json.loads(cli("train", "s.yaml", "--json", "--quiet").stdout)
    in_memory = json.loads(cli("train", "m.yaml", "--json", "--quiet").stdout)
    assert streamed["status"] == in_memory["status"] == "complete"
    assert streamed["iterations"] == in_memory["iterations"] == 6 * 12
    assert streamed["train_accuracy"] > 0.9 and in_memory["train_accuracy"] > 0.9
    # resumed from an interruption mid-epoch: the same bits as straight through
    broken = train_run(load_config(tmp_path / "s.yaml"), runs_dir, on_iteration=interrupt_at(30))
    assert broken.status == "interrupted"
    assert cli("train", "--resume", broken.run_id, "--quiet").exit_code == 0
    p_whole, h_whole = run_files(Path(streamed["run_dir"]))
    p_resumed, h_resumed = run_files(broken.run_dir)
    assert all(np.array_equal(p_whole[k], p_resumed[k]) for k in p_whole) and h_whole == h_resumed


def test_gradcheck_of_a_streamed_config_reads_only_its_first_examples(
    cli, files: Path, monkeypatch
) -> None:
    monkeypatch.setattr("nnctl.commands.gradcheck.target.STREAMED_SCAN", 100)
    seen = []
    real_blocks = stream.H5Columns.blocks

    def counting(self):
        for Xb, cols in real_blocks(self):
            seen.append(cols.start)
            yield Xb, cols

    monkeypatch.setattr(stream.H5Columns, "blocks", counting)
    streamed = cli("gradcheck", config(files), "--json")
    assert streamed.exit_code == 0, streamed.stderr
    assert seen == [0, 32, 64, 96]  # blocks of 32: the first 100 examples, no further
    assert "note: streamed data: the first 100 of 600 training examples read" in streamed.stderr
    in_memory = cli("gradcheck", config(files, ", stream: false", name="m.yaml"), "--json")
    a, b = json.loads(streamed.stdout), json.loads(in_memory.stdout)
    assert a["passed"] and a["examples"] == b["examples"]
    # the same examples, the same bits: the same errors
    assert [c["relative_error"] for c in a["checks"]] == [c["relative_error"] for c in b["checks"]]


def test_too_many_chunks_to_list_are_read_through_hdf5(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = make_h5(tmp_path / "x.h5", 100)  # 7 chunks of 16
    header = stream.read_h5_header(path)
    with h5py.File(path) as f:
        assert (
            stream.plain_extents(f["train_set_x"], header.x, path.stat().st_size).offsets.size == 7
        )
        monkeypatch.setattr(stream_reader, "MAX_DIRECT_CHUNKS", 6)
        assert stream.plain_extents(f["train_set_x"], header.x, path.stat().st_size) is None


@pytest.mark.parametrize("method", ["standard", "minmax"])
def test_a_streamed_file_is_normalized_with_statistics_read_block_by_block(
    cli, runs_dir: Path, tmp_path: Path, method: str
) -> None:
    # float features of very different scales (as `nnctl data import` writes a CSV), with a
    # validation hold-out, so the statistics are those of the training columns only
    rng = np.random.default_rng(4)
    m = 700
    x = (
        rng.standard_normal((m, 6)).astype(np.float32)
        * np.array([1, 1e3, 1e-2, 5, 50, 0.1], np.float32)
        + 7
    )
    y = (x[:, 0] + x[:, 1] / 1e3 > 7).astype(np.int64)
    with h5py.File(tmp_path / "rows.h5", "w") as f:
        f.create_dataset("train_set_x", data=x, chunks=(16, 6))
        f.create_dataset("train_set_y", data=y)
    body = (
        "layer_dims: [auto, 8, 1]\nactivations: {hidden: relu, output: sigmoid}\nnormalize: "
        f"{method}\n"
        "validation_fraction: 0.2\nlearning_rate: 0.01\noptimizer: adam\nbatch_size: 32\nepochs: "
        "15\n"
        "dtype: float64\nseed: 5\n"
    )
    write_config(tmp_path / "s.yaml", "dataset: {train: rows.h5, stream: true}\n" + body)
    write_config(tmp_path / "m.yaml", "dataset: {train: rows.h5, stream: false}\n" + body)
    streamed, whole = bind(load_config(tmp_path / "s.yaml")), bind(load_config(tmp_path / "m.yaml"))
    assert isinstance(streamed.dataset.X_train, stream.H5Columns)
    a, b = streamed.dataset.steps, whole.dataset.steps
    assert [s["op"] for s in a] == [s["op"] for s in b] == ["subtract", "divide"]
    for sa, sb in zip(a, b):
        key = "value" if sa["op"] == "subtract" else "by"
        assert np.allclose(sa[key], sb[key], rtol=1e-12, atol=0)
    # applied as each block is read: the columns are the in-memory normalized ones (to the
    # statistics' rounding)
    cols = np.hstack([Xb.copy() for Xb, _ in streamed.dataset.X_val.blocks()])
    assert cols.shape == whole.dataset.X_val.shape
    assert np.allclose(cols, whole.dataset.X_val, rtol=1e-10, atol=1e-12)
    r = cli("train", "s.yaml", "--json", "--quiet")
    assert r.exit_code == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["train_accuracy"] > 0.8  # learned (chance is about 0.5)
    # the run records its statistics, and evaluate applies them to the streamed file
    s = json.loads((Path(out["run_dir"]) / "summary.json").read_text())
    assert s["preprocessing"]["normalize"] == method and len(s["preprocessing"]["steps"]) == 2
    ev = json.loads(cli("evaluate", out["run_id"], "--split", "train", "--json").stdout)
    assert ev["accuracy"] == out["train_accuracy"]


def test_a_file_stored_in_class_order_gets_a_notice(
    cli, runs_dir: Path, tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.setattr(stream_labels, "LABEL_SLICE", 100)  # the labels looked at in slices
    rng = np.random.default_rng(0)
    y = np.sort(rng.integers(0, 2, 600))  # all 0s, then all 1s: one change
    x = rng.integers(0, 200, (600, *SHAPE), dtype=np.uint8)
    with h5py.File(tmp_path / "sorted.h5", "w") as f:
        f.create_dataset("train_set_x", data=x, chunks=(16, *SHAPE))
        f.create_dataset("train_set_y", data=y)
    assert stream.class_order_notice(y.reshape(1, -1), Path("f.h5")).startswith(
        "f.h5: the examples are stored in class order (2 runs of one class in 600 examples)"
    )
    assert stream.class_order_notice(rng.permutation(y).reshape(1, -1), Path("f.h5")) is None
    assert (
        stream.class_order_notice(np.zeros((1, 50), np.uint8), Path("f.h5")) is None
    )  # one class: no order
    write_config(
        tmp_path / "c.yaml",
        "dataset: {train: sorted.h5, stream: true}\nlayer_dims: [auto, 1]\n"
        "activations: [sigmoid]\nlearning_rate: 0.01\nbatch_size: 50\nepochs: 1\n",
    )
    r = cli("train", "c.yaml")
    assert r.exit_code == 0, r.stderr
    assert "notice: sorted.h5: the examples are stored in class order" in r.stderr
    assert "nnctl data import --shuffle SEED" in r.stderr


def test_data_inspect_reads_a_file_larger_than_memory_block_by_block(
    cli, tmp_path: Path, monkeypatch
) -> None:
    make_h5(tmp_path / "train.h5", 600)
    make_h5(tmp_path / "test.h5", 150, seed=1)
    with h5py.File(tmp_path / "train.h5", "a") as f:  # two test examples also in train
        x = f["train_set_x"][()]
    with h5py.File(tmp_path / "test.h5", "a") as f:
        t = f["train_set_x"][()]
        t[[3, 70]] = x[[10, 500]]
        del f["train_set_x"]
        f.create_dataset("train_set_x", data=t, chunks=(16, *SHAPE))
    x = np.random.default_rng(2).normal(size=(300, 5)).astype(np.float32)
    x[7, 1] = np.nan
    x[9, 4] = np.inf
    with h5py.File(tmp_path / "rows.h5", "w") as f:  # float features with non-finite cells
        f.create_dataset("train_set_x", data=x, chunks=(16, 5))
        f.create_dataset("train_set_y", data=np.arange(300) % 2)
    write_config(
        tmp_path / "c.yaml",
        "dataset: {train: train.h5, test: test.h5}\nlayer_dims: [auto, 1]\n"
        "activations: [sigmoid]\nlearning_rate: 0.1\niterations: 1\n",
    )
    whole = json.loads(cli("data", "inspect", "c.yaml", "--json").stdout)
    whole_rows = json.loads(cli("data", "inspect", "rows.h5", "--json").stdout)
    monkeypatch.setattr(stream_plan, "available_memory", lambda: 1000)  # too large for memory now
    blocked = json.loads(cli("data", "inspect", "c.yaml", "--json").stdout)
    rows = json.loads(cli("data", "inspect", "rows.h5", "--json").stdout)
    assert blocked["read_in_blocks"] and rows["read_in_blocks"]
    assert whole["duplicates_train_test"] == blocked["duplicates_train_test"] == 2
    for a, b in ((whole, blocked), (whole_rows, rows)):
        assert a["classes"] == b["classes"] and a.get("class_balance") == b.get("class_balance")
        for role, s in a["splits"].items():
            for key in (
                "examples",
                "example_shape",
                "dtype",
                "per_class",
                "min",
                "max",
                "non_finite_cells",
                "feature_ranges",
            ):
                assert s.get(key) == b["splits"][role].get(key), (role, key)
    assert rows["splits"]["train"]["non_finite_cells"] == 2
    r = cli("data", "inspect", "c.yaml")
    assert r.exit_code == 0 and "read block by block: the data is larger than memory" in r.stdout
