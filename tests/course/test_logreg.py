"""The course's week 2: logistic regression as a network with no hidden layer (`layer_dims` of
two entries) and `init: zeros`, through train, the fast path, predict, evaluate and gradcheck."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import nnctl.training.fullbatch as fullbatch
from helpers import CONFIGS, course, hand_forward, write_config
from nnctl.commands import fit
from nnctl.config import load_config, resolve
from nnctl.core import initialize_parameters
from nnctl.training import bind

LOGREG = CONFIGS / "logreg_cat.yaml"


def _costs(run_dir: Path) -> list[float]:
    with open(run_dir / "history.csv") as f:
        return [float(row["cost"]) for row in csv.DictReader(f)]


@pytest.mark.realdata
def test_logreg_cat_reproduces_week_2(cli, runs_dir, cat_dir) -> None:
    r = cli("train", LOGREG, "--json", "--quiet")
    assert r.exit_code == 0, r.stderr
    assert r.stderr == ""  # no hidden layer: zeros init is the course's, no warning
    out = json.loads(r.stdout)
    costs = _costs(Path(out["run_dir"]))
    assert len(costs) == 2000
    ours = [costs[i] for i in range(0, 2000, 100)]
    assert ours == pytest.approx(course.LOGREG_COSTS, rel=0, abs=course.COST_ABS)
    # 207 of 209 and 35 of 50: counts, identical on every machine
    assert 100 * out["train_accuracy"] == pytest.approx(
        course.LOGREG_TRAIN_PERCENT, rel=0, abs=1e-9
    )
    assert 100 * out["test_accuracy"] == pytest.approx(course.LOGREG_TEST_PERCENT, rel=0, abs=1e-9)
    with np.load(Path(out["run_dir"]) / "params.npz") as z:
        assert sorted(z.files) == ["W1", "b1"]
        assert z["W1"].shape == (1, 12288) and z["b1"].shape == (1, 1)


@pytest.mark.realdata
def test_logreg_fast_path_is_chosen_and_matches_the_direct_path(cat_dir, monkeypatch) -> None:
    bound = bind(load_config(LOGREG, ["iterations=300"]))
    cfg, ds = bound.cfg, bound.dataset
    assert fullbatch.fast_path_applies(cfg, ds.X_train)
    fast = fit(cfg, ds.X_train, ds.Y_train)
    monkeypatch.setattr(fullbatch, "fast_path_applies", lambda cfg, X: False)
    direct = fit(cfg, ds.X_train, ds.Y_train)
    # the same machine, two orders of the same arithmetic: rounding only
    np.testing.assert_allclose(fast.costs, direct.costs, rtol=1e-12, atol=0)
    for (k, p), q in zip(direct.params.to_dict().items(), fast.params.to_dict().values()):
        np.testing.assert_allclose(q, p, rtol=1e-9, atol=1e-15, err_msg=k)


@pytest.mark.realdata
def test_logreg_run_predicts_and_evaluates(cli, runs_dir, cat_dir, tmp_path) -> None:
    r = cli("train", LOGREG, "--set", "iterations=200", "--json", "--quiet")
    assert r.exit_code == 0, r.stderr
    run = Path(json.loads(r.stdout)["run_dir"])
    import h5py

    with h5py.File(cat_dir / "test_catvnoncat.h5") as f:
        images = f["test_set_x"][:4]
    paths = []
    for i, img in enumerate(images):
        paths.append(tmp_path / f"t{i}.png")
        Image.fromarray(img).save(paths[-1])
    r = cli("predict", run, *paths, "--json")
    assert r.exit_code == 0, r.stderr
    got = np.array([o["probabilities"]["cat"] for o in json.loads(r.stdout)])
    np.testing.assert_allclose(got, hand_forward(run, images.reshape(4, -1).T / 255.0), rtol=1e-12)
    r = cli("evaluate", run, "--json")
    assert r.exit_code == 0, r.stderr
    ev = json.loads(r.stdout)
    assert ev["n"] == 50 and sum(map(sum, ev["confusion_matrix"])) == 50
    assert ev["accuracy"] == json.loads((run / "summary.json").read_text())["test_accuracy"]


def test_logreg_gradcheck_on_a_synthetic_config(cli, tmp_path) -> None:
    cfg = write_config(
        tmp_path / "lr.yaml",
        "dataset: moons\nlayer_dims: [auto, 1]\nactivations: [sigmoid]\n"
        "init: zeros\nlearning_rate: 0.1\niterations: 10\n",
    )
    r = cli("gradcheck", cfg, "--json")
    assert r.exit_code == 0, r.stderr
    report = json.loads(r.stdout)
    assert report["passed"] is True
    assert [c["parameter"] for c in report["checks"]] == ["W1", "b1"]
    assert all(c["coordinates"] > 0 for c in report["checks"])


def test_zeros_init_is_all_zeros_and_leaves_later_draws_alone() -> None:
    zero = initialize_parameters([4, 3, 1], "zeros", seed=1)
    assert all(not W.any() for W in zero.Ws) and all(not b.any() for b in zero.bs)
    assert [W.shape for W in zero.Ws] == [(3, 4), (1, 3)]


def _raw(dims: list) -> dict:
    acts = ["tanh"] * (len(dims) - 2) + ["sigmoid"]
    return {
        "dataset": "moons",
        "layer_dims": dims,
        "activations": acts,
        "init": "zeros",
        "learning_rate": 0.1,
        "iterations": 5,
    }


def test_zeros_init_warns_only_with_hidden_layers() -> None:
    assert resolve(_raw(["auto", 1]), "lr.yaml").warnings() == []
    (w,) = resolve(_raw(["auto", 4, 3, 1]), "deep.yaml").warnings()
    assert w.startswith("deep.yaml: init: zeros with 2 hidden layer(s):")
    assert "symmetry" in w
    assert resolve({**_raw(["auto", 4, 1]), "init": "he"}, "x.yaml").warnings() == []


def test_zeros_init_with_a_hidden_layer_trains_and_keeps_units_identical(
    cli, runs_dir, tmp_path
) -> None:
    """The course's symmetry lesson, shown: allowed, warned about once, and every hidden unit
    of the trained network has the same weights."""
    cfg = write_config(
        tmp_path / "sym.yaml",
        "dataset: moons\nlayer_dims: [auto, 4, 1]\n"
        "activations: [tanh, sigmoid]\ninit: zeros\n"
        "learning_rate: 0.5\niterations: 50\n",
    )
    r = cli("train", cfg, "--json")
    assert r.exit_code == 0, r.stderr
    lines = [ln for ln in r.stderr.splitlines() if ln.startswith("warning:")]
    assert len(lines) == 1 and "init: zeros with 1 hidden layer(s)" in lines[0]
    run = Path(json.loads(r.stdout)["run_dir"])
    with np.load(run / "params.npz") as z:
        W1, W2 = z["W1"], z["W2"]
    assert np.all(W1 == W1[0]) and np.all(W2 == W2[0, 0])
    assert json.loads((run / "summary.json").read_text())["warnings"] == [
        ln.removeprefix("warning: ") for ln in lines
    ]


def test_config_check_prints_the_zeros_warning_and_still_passes(cli, tmp_path) -> None:
    cfg = write_config(
        tmp_path / "sym.yaml",
        "dataset: moons\nlayer_dims: [auto, 4, 1]\n"
        "activations: [tanh, sigmoid]\ninit: zeros\n"
        "learning_rate: 0.5\niterations: 50\n",
    )
    r = cli("config", "check", cfg)
    assert r.exit_code == 0 and r.stdout == f"ok {cfg}\n"
    assert (
        r.stderr.startswith(f"warning: {cfg}: init: zeros with 1 hidden layer(s)")
        and r.stderr.count("\n") == 1
    )
