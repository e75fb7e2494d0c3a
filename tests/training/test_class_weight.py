"""``class_weight``: balanced weights are scikit-learn's n / (K * count) on the training split,
a mapping names the data's classes, the weights fill ``Dataset.W_train`` / ``W_val`` (times
any sample weights), the first full-batch cost is the hand-computed weighted mean, the
validation loss is weighted the same way, and bad values are one-line errors with no run."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml

from helpers import write_config
from nnctl.config import resolve
from nnctl.core import forward, initialize_parameters
from nnctl.system import ConfigError
from nnctl.training import bind, score

MOONS = {
    "dataset": {"synthetic": "moons", "m": 60, "test_fraction": 0.25, "seed": 3},
    "layer_dims": ["auto", 4, 1],
    "activations": ["relu", "sigmoid"],
    "learning_rate": 0.1,
    "iterations": 1,
    "print_every": 1,
}


def moons(**over) -> dict:
    return {**MOONS, **over}


def spiral(**over) -> dict:
    return {
        **MOONS,
        "dataset": {"synthetic": "spiral", "m": 90, "test_fraction": 0.2, "seed": 2},
        "layer_dims": ["auto", 5, 3],
        "activations": ["relu", "softmax"],
        **over,
    }


def _labels(Y: np.ndarray) -> np.ndarray:
    return np.asarray(Y).reshape(-1).astype(int)


def test_balanced_weights_are_n_over_k_times_count_on_the_training_split() -> None:
    b = bind(resolve(spiral(class_weight="balanced", validation_fraction=0.2), "cw.yaml"))
    y = _labels(b.dataset.Y_train)
    counts = np.bincount(y, minlength=3)
    assert counts.min() > 0 and len(set(counts)) > 1  # unequal classes: the weights differ
    per_class = y.size / (3 * counts)
    np.testing.assert_array_equal(b.dataset.W_train, per_class[y])
    # the validation examples weigh their class's training-split weight
    np.testing.assert_array_equal(b.dataset.W_val, per_class[_labels(b.dataset.Y_val)])
    try:
        from sklearn.utils.class_weight import compute_class_weight
    except ImportError:
        return
    np.testing.assert_allclose(
        per_class, compute_class_weight("balanced", classes=np.arange(3), y=y), rtol=1e-15
    )


def test_a_mapping_weighs_the_classes_it_names_and_leaves_the_others_at_1() -> None:
    b = bind(resolve(spiral(class_weight={"arm2": 4, "arm0": 0.5}), "cw.yaml"))
    y = _labels(b.dataset.Y_train)
    np.testing.assert_array_equal(b.dataset.W_train, np.array([0.5, 1.0, 4.0])[y])
    assert b.dataset.W_val is None  # no validation set
    plain = bind(resolve(spiral(), "cw.yaml"))
    assert plain.dataset.W_train is None and plain.dataset.W_val is None


def test_the_first_full_batch_cost_is_the_hand_computed_weighted_mean(tmp_path: Path) -> None:
    import nnctl

    run = nnctl.train(moons(class_weight={"lower": 3, "upper": 1}), runs_dir=tmp_path)
    cfg = resolve(moons(), "cw.yaml")
    ds = bind(cfg).dataset
    lay = [ds.n_features, 4, 1]
    p = initialize_parameters(lay, cfg.init, cfg.seed)
    Z1 = p.Ws[0] @ ds.X_train + p.bs[0]
    z = (p.Ws[1] @ np.maximum(Z1, 0) + p.bs[1]).reshape(-1)
    y = _labels(ds.Y_train)
    a = 1 / (1 + np.exp(-z))
    loss = -(y * np.log(a) + (1 - y) * np.log(1 - a))
    w = np.where(y == 1, 3.0, 1.0)  # classes: upper (0), lower (1)
    expected = float(np.sum(w * loss) / np.sum(w))
    assert run.history.iterations[0] == 0
    first = float(run.history.costs[0])
    # the same sums in another order: agreement to rounding, far below the course's 6 digits
    assert first == pytest.approx(expected, rel=1e-12)
    assert abs(float(np.mean(loss)) - expected) > 1e-3  # and not the unweighted mean


def test_the_validation_loss_is_weighted_like_training(tmp_path: Path) -> None:
    import nnctl

    over = {"class_weight": {"lower": 5}, "validation_fraction": 0.3, "iterations": 3}
    run = nnctl.train(moons(**over), runs_dir=tmp_path)
    b = bind(resolve(moons(**over), "cw.yaml"))
    from nnctl.core import Params

    params = Params.from_dict(run.params)
    X_val, Y_val = b.dataset.X_val, b.dataset.Y_val
    w = np.where(_labels(Y_val) == 1, 5.0, 1.0)
    np.testing.assert_array_equal(b.dataset.W_val, w)
    a = forward(params, X_val, b.cfg.arch)[0].reshape(-1)
    y = _labels(Y_val)
    loss = -(y * np.log(a) + (1 - y) * np.log(1 - a))
    expected = float(np.sum(w * loss) / np.sum(w))
    assert run.summary.metric("val_loss") == pytest.approx(expected, rel=1e-9)
    # the per-epoch validation loss (early stopping's) is the same weighted mean
    assert float(run.history.val_loss[-1]) == pytest.approx(expected, rel=1e-9)
    assert abs(float(np.mean(loss)) - expected) > 1e-4  # the weights change it
    weighted = score(params, b.cfg, X_val, Y_val, keep_outputs=False, weights=w)
    assert weighted.loss == pytest.approx(expected, rel=1e-12)


def test_class_weight_multiplies_sample_weights() -> None:
    import dataclasses

    from nnctl.training.binding import _weigh_classes

    b = bind(resolve(moons(), "cw.yaml"))
    m = b.dataset.X_train.shape[1]
    sw = np.linspace(0.5, 2.0, m)
    ds = dataclasses.replace(b.dataset, W_train=sw)
    cfg = resolve(moons(class_weight={"lower": 2}), "cw.yaml")
    out = _weigh_classes(cfg, ds)
    np.testing.assert_array_equal(out.W_train, sw * np.where(_labels(ds.Y_train) == 1, 2.0, 1.0))


@pytest.mark.parametrize(
    "value, message",
    [
        ({"lowr": 2}, "no class 'lowr' (did you mean lower?); its classes: upper, lower"),
        ({"lower": 0}, "must be a positive number, got 0"),
        ({"lower": -1}, "must be a positive number, got -1"),
        ({"lower": float("nan")}, "expected a finite number"),
        ({"lower": float("inf")}, "expected a finite number"),
        ("balance", "expected balanced or a mapping"),
        ({}, "expected balanced or a mapping"),
    ],
)
def test_bad_class_weights_are_one_line_errors_with_no_run(
    cli, tmp_path: Path, value, message
) -> None:
    cfg = write_config(tmp_path / "bad.yaml", yaml.safe_dump(moons(class_weight=value)))
    r = cli("train", cfg, "-q")
    assert r.exit_code == 2, r.stdout + r.stderr
    line = r.stderr.strip()
    assert "\n" not in line and message in line and "class_weight" in line, line
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


def test_class_weight_on_a_regression_head_is_refused(cli, tmp_path: Path) -> None:
    raw = moons(
        dataset={"synthetic": "sine", "m": 40},
        activations=["tanh", "linear"],
        class_weight="balanced",
    )
    r = cli("train", write_config(tmp_path / "reg.yaml", json.dumps(raw)), "-q")
    assert r.exit_code == 2
    assert "class_weight" in r.stderr and "regression" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())
    with pytest.raises(ConfigError, match="no classes"):
        bind(resolve(raw, "reg.yaml"))


def test_gradcheck_passes_on_a_class_weighted_config(cli, tmp_path: Path) -> None:
    for name, raw in (
        ("sig", moons(class_weight={"lower": 3})),
        ("soft", spiral(class_weight="balanced")),
    ):
        r = cli("gradcheck", write_config(tmp_path / f"{name}.yaml", json.dumps(raw)))
        assert r.exit_code == 0, r.stdout + r.stderr


def test_class_weight_on_a_streamed_file_is_refused(cli, tmp_path: Path) -> None:
    h5py = pytest.importorskip("h5py")
    rng = np.random.default_rng(0)
    with h5py.File(tmp_path / "s.h5", "w") as f:
        f["train_set_x"] = rng.normal(size=(64, 3))
        f["train_set_y"] = (rng.random(64) < 0.3).astype(int)
    raw = moons(
        dataset={"train": "s.h5", "stream": True},
        layer_dims=["auto", 3, 1],
        epochs=2,
        batch_size=16,
        class_weight="balanced",
    )
    raw.pop("iterations")
    r = cli("train", write_config(tmp_path / "s.yaml", yaml.safe_dump(raw)), "-q")
    assert r.exit_code == 2, r.stdout + r.stderr
    assert "class_weight: weighted examples need the training set in memory" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())
