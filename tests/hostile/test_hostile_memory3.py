"""Issue 29, "memory estimates that miss a term": a softmax with very many classes makes the
one-hot targets of one mini-batch (or one scoring chunk) at a time, never of every example at
once (classes x examples), and the memory estimate counts every term, so a run that does not
fit is refused before anything is written, with advice that is not the batch size it has."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import nnctl.core.losses as losses
from helpers import write_config
from helpers.hostile import run_bounded
from nnctl.config import resolve
from nnctl.system import training_estimate
from nnctl.training import SCORE_CHUNK, BatchGatherer, fit_direct, score


def _many_classes(tmp_path: Path, k: int, m: int, features: int = 2) -> Path:
    """A .npy pair of m examples in k classes (every class present), written by the test."""
    rng = np.random.default_rng(0)
    np.save(tmp_path / "x.npy", rng.standard_normal((m, features)))
    np.save(tmp_path / "y.npy", np.arange(m) % k)
    return tmp_path


def _softmax_cfg(k: int, m: int, **extra: object):
    raw = {
        "dataset": {"synthetic": "spiral", "m": m},
        "layer_dims": [2, 8, k],
        "activations": {"hidden": "relu", "output": "softmax"},
        "learning_rate": 0.1,
        "epochs": 1,
        "batch_size": 64,
        **extra,
    }
    return resolve(raw, "many.yaml")


def test_the_estimate_counts_targets_per_batch_and_scoring_per_chunk() -> None:
    k, m = 1000, 100_000
    cfg = _softmax_cfg(k, m)
    est = training_estimate(cfg, 2, m, 0, 0, scored=2 * SCORE_CHUNK - 1)
    # labels of every example, the gatherer's copy of them by example, one batch's labels;
    # one batch's targets, their buffer and the loss's two temporaries (n_L each)
    assert est.parts["labels and targets"] == m * 8 + (m + 64) * 8 + k * 64 * 8 * 4
    units = 8 + k
    assert est.parts["activations"] == units * 64 * 8 * 3 + 2 * 64 * 8
    assert est.parts["scoring"] == (units * 2 + k * 3) * (2 * SCORE_CHUNK - 1) * 8
    assert est.parts["dataset"] == 2 * m * 8
    n_params = 2 * 8 + 8 + 8 * k + k
    assert est.parts["parameters and optimizer state"] == n_params * 8 * 3
    assert est.total == sum(est.parts.values())
    # the targets of every example at once are not part of it: the whole estimate is less
    # than that one array would be
    assert est.total < k * m * 8
    # without a scoring width the estimate assumes the larger split is scored whole
    whole = training_estimate(cfg, 2, m, 5000, 0)
    assert whole.parts["scoring"] == (units * 2 + k * 3) * m * 8


def test_mini_batches_and_scoring_make_only_their_own_targets(monkeypatch) -> None:
    """Every one-hot array made while training and scoring 2 x SCORE_CHUNK + 300 examples in
    50 classes has at most a batch's (training) or a chunk's (scoring) columns."""
    made: list[int] = []
    real = losses.one_hot
    monkeypatch.setattr(
        losses,
        "one_hot",
        lambda Y, K, dtype=np.float64: made.append(np.size(Y)) or real(Y, K, dtype),
    )
    m = 2 * SCORE_CHUNK + 300
    rng = np.random.default_rng(1)
    X = np.asfortranarray(rng.standard_normal((2, m)))
    Y = (np.arange(m) % 50).reshape(1, m)
    cfg = _softmax_cfg(50, m, batch_size=128)
    result = fit_direct(cfg, X, Y)
    assert result.status == "complete" and len(result.costs) == -(-m // 128)
    assert made and max(made) <= 128
    made.clear()
    s = score(result.params, cfg, X, Y, keep_outputs=False)
    assert s.AL is None and 0 <= s.accuracy <= 1
    assert made and max(made) <= 2 * SCORE_CHUNK - 1 and sum(made) == m


def test_batch_targets_are_the_columns_of_every_examples_targets_to_the_bit() -> None:
    """The gatherer's targets made per batch equal, value and memory layout, the columns of
    the targets of all examples gathered as before, so training's arithmetic is unchanged."""
    rng = np.random.default_rng(2)
    m, k = 53, 7
    X = np.asfortranarray(rng.standard_normal((3, m)))
    Y = rng.integers(0, k, (1, m))
    T = losses.one_hot(Y, k, np.float32)
    g = BatchGatherer(X, Y, 10, lambda Yb: losses.one_hot(Yb, k, np.float32))
    old = BatchGatherer(X, T, 10)  # targets given whole: the former way
    perm = rng.permutation(m)
    for a in range(0, m, 10):
        idx = perm[a : a + 10]
        (_, Tb), (_, To) = g.gather(idx), old.gather(idx)
        assert Tb.dtype == np.float32 and Tb.tobytes(order="A") == To.tobytes(order="A")
        assert Tb.strides == To.strides
        np.testing.assert_array_equal(Tb, T[:, idx])
    # what the gatherer keeps per example is the labels, not n_L targets each
    assert g.Y_rows.shape == (m, 1) and g.t_buf.size == k * 10


def test_many_classes_train_where_their_targets_at_once_would_not_fit(tmp_path: Path) -> None:
    """500 classes x 40,000 examples: the one-hot targets of every example at once are 160 MB
    (twice that with the gatherer's copy, and the scoring's as much again), more than a 700 MiB
    address space leaves once Python and numpy are loaded; made per batch and per chunk, the
    run trains and is scored in it (``ulimit -v``, which the estimate reads as its limit)."""
    data = _many_classes(tmp_path, 500, 40000)
    cfg = write_config(
        tmp_path / "many.yaml",
        f"dataset: {{train: {{x: {data / 'x.npy'}, y: {data / 'y.npy'}}}}}\n"
        "layer_dims: [auto, 8, 500]\n"
        "activations: {hidden: relu, output: softmax}\n"
        "learning_rate: 0.05\nbatch_size: 256\nepochs: 1\n",
    )
    r = run_bounded(
        "train",
        cfg,
        "-q",
        "--json",
        cwd=tmp_path,
        runs_dir=tmp_path / "runs",
        address_space_mib=700,
        timeout=120,
    )
    assert r.returncode == 0, r.stderr
    summary = json.loads(r.stdout)
    assert summary["status"] == "complete" and summary["iterations"] == -(-40000 // 256)
    assert 0 <= summary["train_accuracy"] <= 1
    assert r.peak_mib < 400, r.peak_mib


def test_many_classes_that_do_not_fit_are_refused_before_a_run_exists(tmp_path: Path) -> None:
    """20,000 classes: even a chunk's scoring (8,191 examples x 20,000 outputs, several arrays)
    is gigabytes; refused in one line naming the part, advising what would help (not the
    batch_size the config already sets), exit 2, no run directory."""
    data = _many_classes(tmp_path, 20000, 20000)
    cfg = write_config(
        tmp_path / "huge.yaml",
        f"dataset: {{train: {{x: {data / 'x.npy'}, y: {data / 'y.npy'}}}}}\n"
        "layer_dims: [auto, 8, 20000]\n"
        "activations: {hidden: relu, output: softmax}\n"
        "learning_rate: 0.05\nbatch_size: 64\nepochs: 1\n",
    )
    r = run_bounded(
        "train", cfg, cwd=tmp_path, runs_dir=tmp_path / "runs", address_space_mib=1024, timeout=60
    )
    assert r.returncode == 2, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in r.stderr
    line = lines[0]
    assert line.startswith("error: ") and "of memory (" in line and "scoring " in line
    assert line.endswith("is available; use fewer output units or smaller layers")
    assert "batch_size" not in line
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize(
    "batch,scored,advice",
    [
        (None, None, "set a batch_size (mini-batches), use smaller layers or less data"),
        (64, 10, "use a smaller batch_size than 64, smaller layers or less data"),
        (64, None, "use fewer output units or smaller layers"),
    ],
)
def test_the_advice_is_for_the_largest_part_never_the_batch_size_already_set(
    monkeypatch, batch: int | None, scored: int | None, advice: str
) -> None:
    """Activations dominate a full batch of 100,000 examples through 4,000 units, or 64 of
    them when scoring is narrow; scoring dominates when it takes every example."""
    import nnctl.system.resources as resources
    from nnctl.system import ConfigError, require_memory

    cfg = resolve(
        {
            "dataset": {"synthetic": "spiral", "m": 100_000},
            "layer_dims": [2, 4000, 10],
            "activations": {"hidden": "relu", "output": "softmax"},
            "learning_rate": 0.1,
            "epochs": 1,
            **({} if batch is None else {"batch_size": batch}),
        },
        "t.yaml",
    )
    monkeypatch.setattr(resources, "available_memory", lambda: 1 << 20)
    with pytest.raises(ConfigError) as info:
        require_memory(cfg, 2, 100_000, 0, 0, scored=scored)
    line = str(info.value)
    assert line.endswith(f"but only 1.0 MiB is available; {advice}"), line
