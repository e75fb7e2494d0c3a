"""``binding.bind``: one config -> (config with layer_dims[0] filled in, dataset, split indices),
the same binding for train, evaluate, gradcheck and config check."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from helpers import CONFIGS
from nnctl.commands import load_eval_data
from nnctl.config import load_config
from nnctl.data import load_dataset
from nnctl.runs import load_run, load_run_config
from nnctl.training import bind


def test_bind_fills_the_input_size_and_returns_the_hold_out_as_indices() -> None:
    cfg = load_config(CONFIGS / "spiral.yaml", ["validation_fraction=0.2"])
    bound = bind(cfg)
    whole = load_dataset(cfg.dataset, cfg.dtype)
    assert cfg.layer_dims[0] == "auto" and bound.cfg.layer_dims[0] == whole.n_features
    m = whole.X_train.shape[1]
    assert bound.train_idx.size + bound.val_idx.size == m
    assert np.array_equal(np.sort(np.concatenate([bound.train_idx, bound.val_idx])), np.arange(m))
    ds = bound.dataset
    assert np.array_equal(ds.X_train, whole.X_train[:, bound.train_idx])
    assert np.array_equal(ds.Y_val, whole.Y_train[:, bound.val_idx])
    # without a hold-out every training example is kept, in order
    plain = bind(
        load_config(CONFIGS / "spiral.yaml", ["validation_fraction=0", "early_stopping=null"])
    )
    assert plain.val_idx is None and np.array_equal(plain.train_idx, np.arange(m))


def test_evaluate_uses_the_indices_bind_returns(cli, runs_dir: Path, cat_dir: Path) -> None:
    r = cli(
        "train",
        str(CONFIGS / "cat_2layer.yaml"),
        "--set",
        "iterations=3",
        "--set",
        "validation_fraction=0.2",
        "--quiet",
        "--json",
    )
    assert r.exit_code == 0, r.stderr
    run = Path(json.loads(r.stdout)["run_dir"])
    bound = bind(load_run_config(run))
    loaded = load_run(run)
    train, val = load_eval_data(loaded, None, "train"), load_eval_data(loaded, None, "val")
    assert np.array_equal(train.raw_index, bound.train_idx)
    assert np.array_equal(val.raw_index, bound.val_idx)
    assert np.array_equal(train.X, bound.dataset.X_train) and np.array_equal(
        val.X, bound.dataset.X_val
    )
