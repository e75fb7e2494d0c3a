"""``dataset.stratify``: the test_fraction split taken per class (round(f * m_c) of each
class, seeded, the same split every time), the default split unchanged, the validation
hold-out's class check, and the bad cases (regression, a class of 1 example) refused."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import yaml

from helpers import write_config
from nnctl.config import resolve
from nnctl.data import load_dataset
from nnctl.data.dataset.files import split_off_test
from nnctl.training import bind


def _load(spec: dict, path: Path | None = None):
    cfg = resolve(
        {
            "dataset": spec,
            "layer_dims": ["auto", 3, 1],
            "activations": ["relu", "sigmoid"],
            "learning_rate": 0.1,
            "iterations": 1,
        },
        "s.yaml",
        path=None if path is None else str(path),
    )
    return cfg, load_dataset(cfg.dataset, np.float64, "classification", cfg.path)


def _npz(tmp_path: Path, y: np.ndarray) -> Path:
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "d.npz", x=rng.normal(size=(y.size, 3)), y=y)
    return tmp_path / "s.yaml"


def _counts(Y: np.ndarray, k: int = 2) -> np.ndarray:
    return np.bincount(np.asarray(Y).reshape(-1).astype(int), minlength=k)


def test_a_stratified_test_split_keeps_every_class_share(tmp_path: Path) -> None:
    y = np.array([1] * 13 + [0] * 87)  # 13% positives
    rng = np.random.default_rng(5)
    y = y[rng.permutation(y.size)]
    cfg_path = _npz(tmp_path, y)
    spec = {"train": "d.npz", "test_fraction": 0.3, "stratify": True, "seed": 4}
    _, ds = _load(spec, cfg_path)
    # round(0.3 * 13) = 4 positives and round(0.3 * 87) = 26 negatives in the test set
    np.testing.assert_array_equal(_counts(ds.Y_test), [26, 4])
    np.testing.assert_array_equal(_counts(ds.Y_train), [61, 9])
    np.testing.assert_array_equal(y[ds.test_rows], ds.Y_test.reshape(-1))
    # seeded: the same rows every time, other rows with another seed
    _, again = _load(spec, cfg_path)
    np.testing.assert_array_equal(ds.test_rows, again.test_rows)
    _, other = _load({**spec, "seed": 5}, cfg_path)
    assert not np.array_equal(ds.test_rows, other.test_rows)
    np.testing.assert_array_equal(_counts(other.Y_test), [26, 4])


def test_without_stratify_the_split_is_the_one_before(tmp_path: Path) -> None:
    y = np.array([1] * 13 + [0] * 87)
    cfg_path = _npz(tmp_path, y)
    spec = {"train": "d.npz", "test_fraction": 0.3, "seed": 4}
    cfg, ds = _load(spec, cfg_path)
    assert "stratify" not in cfg.dataset
    np.testing.assert_array_equal(ds.test_rows, split_off_test(100, 0.3, 4)[1])
    _, off = _load({**spec, "stratify": False}, cfg_path)
    np.testing.assert_array_equal(ds.test_rows, off.test_rows)
    np.testing.assert_array_equal(ds.X_train, off.X_train)


def test_a_stratified_synthetic_split() -> None:
    spec = {"synthetic": "spiral", "m": 150, "test_fraction": 0.2, "seed": 3}
    cfg, plain = _load(spec)
    assert "stratify" not in cfg.dataset  # the resolved config is the one before
    cfg_s, ds = _load({**spec, "stratify": True})
    assert cfg_s.dataset["stratify"] is True
    full = np.concatenate([ds.Y_train, ds.Y_test], axis=1)
    per_class = _counts(full, 3)
    np.testing.assert_array_equal(_counts(ds.Y_test, 3), [int(round(0.2 * c)) for c in per_class])
    # the points are the same draws; only which of them are test examples changes
    np.testing.assert_array_equal(
        np.sort(np.concatenate([plain.X_train, plain.X_test], axis=1), axis=1),
        np.sort(np.concatenate([ds.X_train, ds.X_test], axis=1), axis=1),
    )
    _, again = _load({**spec, "stratify": True})
    np.testing.assert_array_equal(ds.X_test, again.X_test)


def _refused(cli, tmp_path: Path, raw: dict, message: str) -> None:
    r = cli("train", write_config(tmp_path / "s.yaml", yaml.safe_dump(raw)), "-q")
    assert r.exit_code == 2, r.stdout + r.stderr
    assert message in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


RAW = {
    "layer_dims": ["auto", 3, 1],
    "activations": ["relu", "sigmoid"],
    "learning_rate": 0.1,
    "iterations": 2,
}


def test_a_class_of_one_example_is_refused(cli, tmp_path: Path) -> None:
    _npz(tmp_path, np.array([1] + [0] * 30))
    raw = {**RAW, "dataset": {"train": "d.npz", "test_fraction": 0.2, "stratify": True}}
    _refused(cli, tmp_path, raw, "stratify: class '1' has 1 example")


def test_a_class_of_one_training_example_is_refused_for_the_validation_split(
    cli, tmp_path: Path
) -> None:
    _npz(tmp_path, np.array([1] + [0] * 30))
    raw = {**RAW, "dataset": {"train": "d.npz", "stratify": True}, "validation_fraction": 0.2}
    _refused(cli, tmp_path, raw, "stratified validation split needs at least 2")
    # without stratify the hold-out goes on (the class's one example stays in training)
    cfg = resolve({**raw, "dataset": {"train": "d.npz"}}, "s.yaml", path=str(tmp_path / "s.yaml"))
    assert bind(cfg).dataset.X_val.shape[1] == 6


def test_stratify_on_regression_is_refused(cli, tmp_path: Path) -> None:
    raw = {
        **RAW,
        "activations": ["tanh", "linear"],
        "dataset": {"synthetic": "sine", "m": 40, "stratify": True},
    }
    _refused(cli, tmp_path, raw, "stratify: sine has real-valued targets (regression)")
