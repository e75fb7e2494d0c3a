"""Imbalanced classes: evaluate and the report show a balanced accuracy (the mean of the
per-class recalls), checked against a hand computation from the confusion matrix."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from helpers import write_config

RARE = """\
dataset: {train: train.npz, test: test.npz}
layer_dims: [auto, 4, 1]
activations: {hidden: relu, output: sigmoid}
init: he
learning_rate: 0.5
iterations: 200
"""


def _imbalanced(rng: np.random.Generator, m: int, rare: float) -> dict[str, np.ndarray]:
    """Two overlapping gaussian classes, the positive one a ``rare`` share of the examples."""
    y = (rng.random(m) < rare).astype(int)
    x = rng.normal(0.0, 1.0, size=(m, 2))
    x[:, 0] += 1.5 * y
    return {"x": x, "y": y}


def _train_imbalanced(cli, tmp_path: Path, config: str, seed: int, rare: float) -> Path:
    """``config`` trained on files of 400 training and 200 test examples, ``rare`` positive."""
    rng = np.random.default_rng(seed)
    np.savez(tmp_path / "train.npz", **_imbalanced(rng, 400, rare))
    np.savez(tmp_path / "test.npz", **_imbalanced(rng, 200, rare))
    r = cli("train", write_config(tmp_path / f"rare{seed}.yaml", config), "-q", "--json")
    assert r.exit_code == 0, r.stderr
    return Path(json.loads(r.stdout)["run_dir"])


@pytest.fixture
def rare_run(cli, runs_dir: Path, tmp_path: Path) -> Path:
    return _train_imbalanced(cli, tmp_path, RARE, 3, 0.1)


def test_balanced_accuracy_is_the_mean_of_the_class_recalls(cli, rare_run: Path) -> None:
    r = cli("evaluate", rare_run, "--json")
    assert r.exit_code == 0, r.stderr
    ev = json.loads(r.stdout)
    (tn, fp), (fn, tp) = ev["confusion_matrix"]
    expected = (tn / (tn + fp) + tp / (tp + fn)) / 2
    assert ev["balanced_accuracy"] == pytest.approx(expected, rel=1e-12)
    # the rare class pulls it below plain accuracy, which the majority class carries
    assert ev["balanced_accuracy"] < ev["accuracy"]
    try:
        from sklearn.metrics import balanced_accuracy_score
    except ImportError:
        return
    y_true = [0] * (tn + fp) + [1] * (fn + tp)
    y_pred = [0] * tn + [1] * fp + [0] * fn + [1] * tp
    assert ev["balanced_accuracy"] == pytest.approx(balanced_accuracy_score(y_true, y_pred))


def test_evaluate_and_the_report_print_it(cli, rare_run: Path, tmp_path: Path) -> None:
    value = json.loads(cli("evaluate", rare_run, "--json").stdout)["balanced_accuracy"]
    r = cli("evaluate", rare_run)
    assert r.exit_code == 0 and f"balanced accuracy │ {value:.6f}" in r.stdout, r.stdout
    r = cli("report", rare_run, "-o", tmp_path / "r.html")
    assert r.exit_code == 0, r.stderr
    page = (tmp_path / "r.html").read_text()
    assert f"<tr><th>balanced accuracy</th><td>{value:.6f}</td></tr>" in page


def test_a_class_absent_from_the_data_is_left_out(cli, rare_run: Path, tmp_path: Path) -> None:
    rng = np.random.default_rng(4)
    only = _imbalanced(rng, 50, 0.0)  # no positive example at all
    np.savez(tmp_path / "negatives.npz", **only)
    ev = json.loads(
        cli("evaluate", rare_run, "--data", tmp_path / "negatives.npz", "--json").stdout
    )
    (tn, fp), _ = ev["confusion_matrix"]
    assert ev["per_class"]["1"]["recall"] is None
    assert ev["balanced_accuracy"] == pytest.approx(tn / (tn + fp))


# ---------------------------------------------------------------- --tune-threshold

WITH_VAL = RARE + "validation_fraction: 0.3\n"


def _brute(p: np.ndarray, y: np.ndarray, t: float) -> tuple[float, float, float]:
    """precision, recall, F1 of "positive when p > t", counted one example at a time."""
    tp = sum(1 for pi, yi in zip(p, y) if pi > t and yi == 1)
    fp = sum(1 for pi, yi in zip(p, y) if pi > t and yi == 0)
    fn = sum(1 for pi, yi in zip(p, y) if pi <= t and yi == 1)
    precision = tp / (tp + fp) if tp + fp else float("nan")
    return precision, tp / (tp + fn), 2 * tp / (2 * tp + fp + fn)


def test_the_sweep_counts_as_a_hand_count_and_the_choice_is_the_best() -> None:
    from nnctl.commands.evaluate.threshold import Goal, _choose, _sweep

    rng = np.random.default_rng(7)
    p = np.round(rng.random(60), 2)  # ties among the probabilities too
    y = (rng.random(60) < p).astype(np.int64)
    t, precision, recall, f1 = _sweep(p, y)
    for k in range(t.size):
        want = _brute(p, y, t[k])
        assert np.allclose([precision[k], recall[k], f1[k]], want, equal_nan=True), t[k]
    grid = np.linspace(0.001, 0.999, 999)
    scores = np.array([_brute(p, y, g) for g in grid])
    best_f1 = f1[_choose(Goal("f1"), t, precision, recall, f1)]
    assert best_f1 == pytest.approx(np.nanmax(scores[:, 2]))
    at = _choose(Goal("precision", 0.8), t, precision, recall, f1)
    held = scores[:, 0] >= 0.8
    assert precision[at] >= 0.8 and recall[at] == pytest.approx(scores[held, 1].max())
    at = _choose(Goal("recall", 0.9), t, precision, recall, f1)
    held = scores[:, 1] >= 0.9
    assert recall[at] >= 0.9 and precision[at] == pytest.approx(np.nanmax(scores[held, 0]))


def test_an_unreachable_precision_is_refused() -> None:
    from nnctl.commands.evaluate.threshold import Goal, _choose, _sweep
    from nnctl.system import DataError

    p, y = np.array([0.9, 0.6, 0.3]), np.array([0, 1, 1])  # the most confident one is wrong
    with pytest.raises(DataError, match="no threshold reaches precision=1 .* best precision"):
        _choose(Goal("precision", 1.0), *_sweep(p, y))


@pytest.fixture
def val_run(cli, runs_dir: Path, tmp_path: Path) -> Path:
    return _train_imbalanced(cli, tmp_path, WITH_VAL, 5, 0.2)


def test_the_tuned_threshold_scores_as_evaluate_does_at_it(cli, val_run: Path) -> None:
    r = cli("evaluate", val_run, "--tune-threshold", "f1", "--json")
    assert r.exit_code == 0, r.stderr
    tuned = json.loads(r.stdout)
    assert tuned["tuned_for"] == "f1" and tuned["data"].startswith("val split")
    t = tuned["threshold"]
    again = json.loads(
        cli("evaluate", val_run, "--split", "val", "--threshold", t, "--json").stdout
    )
    assert {k: v for k, v in tuned.items() if k != "tuned_for"} == again
    plain = json.loads(cli("evaluate", val_run, "--split", "val", "--json").stdout)
    assert tuned["f1"] >= plain["f1"]
    r = cli("evaluate", val_run, "--tune-threshold", "recall=0.9")
    assert r.exit_code == 0, r.stderr
    assert "on the validation split); use it with --threshold" in r.stderr
    line = r.stderr.split()
    t = float(line[1])
    recall = json.loads(
        cli("evaluate", val_run, "--split", "val", "--threshold", f"{t}", "--json").stdout
    )["recall"]
    assert recall >= 0.9


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--tune-threshold", "f2"], "--tune-threshold got 'f2'; valid: f1, precision=P"),
        (["--tune-threshold", "recall=1.5"], "--tune-threshold recall= needs a number in (0, 1]"),
        (["--tune-threshold", "precision="], "--tune-threshold precision= needs a number"),
        (["--tune-threshold", "f1", "--split", "test"], "cannot be combined with --split"),
        (["--tune-threshold", "f1", "--threshold", "0.3"], "cannot be combined with --threshold"),
    ],
)
def test_bad_tuning_options_are_one_line(cli, val_run: Path, args: list, message: str) -> None:
    r = cli("evaluate", val_run, *args)
    assert r.exit_code == 2 and r.stdout == ""
    assert message in r.stderr and r.stderr.count("\n") == 1, r.stderr


def test_tuning_needs_a_validation_split_and_a_binary_head(
    cli, rare_run: Path, runs_dir: Path, tmp_path: Path
) -> None:
    r = cli("evaluate", rare_run, "--tune-threshold", "f1")
    assert r.exit_code == 2 and r.stderr.count("\n") == 1
    assert "no validation split to tune the threshold on (never the test set)" in r.stderr
    from helpers.diagnoseruns import TOO_SMALL

    softmax = cli("train", write_config(tmp_path / "s.yaml", TOO_SMALL), "-q").stdout.strip()
    r = cli("evaluate", softmax, "--tune-threshold", "f1")
    assert r.exit_code == 2 and r.stderr.count("\n") == 1
    assert "--tune-threshold applies to binary classifiers" in r.stderr
