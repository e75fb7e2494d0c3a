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


@pytest.fixture
def rare_run(cli, runs_dir: Path, tmp_path: Path) -> Path:
    rng = np.random.default_rng(3)
    np.savez(tmp_path / "train.npz", **_imbalanced(rng, 400, 0.1))
    np.savez(tmp_path / "test.npz", **_imbalanced(rng, 200, 0.1))
    r = cli("train", write_config(tmp_path / "rare.yaml", RARE), "-q", "--json")
    assert r.exit_code == 0, r.stderr
    return Path(json.loads(r.stdout)["run_dir"])


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
