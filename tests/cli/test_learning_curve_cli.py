"""``nnctl diagnose RUN --learning-curve``: the linked runs it trains, their errors against the
parent's validation split scored again here, the reading on runs made to show it, --json,
--plot and bad input (one line, exit 2, no run made)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from helpers import MOONS_SMALL, write_config
from helpers.diagnoseruns import TOO_SMALL
from nnctl.core import predict_proba
from nnctl.core.metrics import accuracy, argmax_labels
from nnctl.runs import load_run
from nnctl.training import bind

# a large network on few examples of the moons: it fits every share, and the gap closes
GAP_CLOSING = """\
dataset: {synthetic: moons, m: 600, test_fraction: 0.2, seed: 2, noise: 0.3}
layer_dims: [auto, 64, 64, 1]
activations: {hidden: relu, output: sigmoid}
init: he
optimizer: adam
learning_rate: 0.01
epochs: 300
validation_fraction: 0.3
"""


def _train(cli, tmp_path: Path, text: str) -> Path:
    r = cli("train", write_config(tmp_path / "c.yaml", text), "-q", "--json")
    assert r.exit_code == 0, r.stderr
    return Path(json.loads(r.stdout)["run_dir"])


def _curve(cli, *extra: str) -> dict:
    r = cli("diagnose", "latest", "--learning-curve", "--json", *extra)
    assert r.exit_code == 0, r.stderr
    return json.loads(r.stdout)


def test_the_shares_are_linked_runs_scored_on_the_parents_validation_split(
    cli, runs_dir: Path, tmp_path: Path
) -> None:
    parent_dir = _train(cli, tmp_path, TOO_SMALL)
    parent = load_run(parent_dir)
    d = _curve(cli, "--sizes", "0.2,0.5,1.0")
    assert d["run_id"] == parent.run_id and d["scored_on"] == "val"
    ds = bind(parent.config).dataset  # the parent's splits, as it trained on them
    m = ds.X_train.shape[1]
    assert [p["share"] for p in d["points"]] == [0.2, 0.5, 1.0]
    for p in d["points"]:
        child = load_run(Path(p["run_dir"]))
        s = json.loads((Path(p["run_dir"]) / "summary.json").read_text())
        assert s["learning_curve"] == parent.run_id and s["share"] == p["share"]
        assert s["status"] == "complete" and s["dataset"]["n_train"] == p["examples"]
        # three classes, stratified: each keeps round(share * its count)
        counts = np.bincount(ds.Y_train[0], minlength=3)
        assert p["examples"] == sum(round(p["share"] * c) for c in counts)
        # its validation error is the parent's validation split scored by its own parameters
        labels = argmax_labels(predict_proba(child.params, ds.X_val, child.config.arch))
        assert p["val_error"] == pytest.approx(1 - accuracy(labels, ds.Y_val), abs=1e-12)
        assert p["train_error"] == pytest.approx(1 - s["train_accuracy"], abs=1e-12)
        assert p["gap"] == pytest.approx(p["val_error"] - p["train_error"], abs=1e-12)
    assert d["points"][-1]["examples"] == m
    # the whole split, same seed, same machine: the parent's run again, bit for bit
    assert d["points"][-1]["val_error"] == 1 - parent.summary.metric("val_accuracy")
    assert d["reading"]["verdict"] == "high bias"  # a linear model on the spiral
    runs = sorted(p.name for p in runs_dir.iterdir())
    assert len(runs) == 4  # the parent and its three shares


def test_a_large_network_on_few_examples_reads_as_the_gap_closing(
    cli, runs_dir: Path, tmp_path: Path
) -> None:
    _train(cli, tmp_path, GAP_CLOSING)
    d = _curve(cli, "--sizes", "0.03,0.1,0.3,1.0")
    gaps = [p["gap"] for p in d["points"]]
    assert gaps[0] - gaps[-1] > 0.02
    assert d["reading"]["verdict"] == "gap closing" and d["reading"]["gap_closing"] is True
    # and the shares are nested: each larger one trained on more examples
    assert [p["examples"] for p in d["points"]] == sorted({p["examples"] for p in d["points"]})


def test_the_table_the_reading_and_the_plot(cli, runs_dir: Path, tmp_path: Path) -> None:
    _train(cli, tmp_path, TOO_SMALL)
    out = tmp_path / "curve.png"
    r = cli("diagnose", "latest", "--learning-curve", "--sizes", "0.5,1", "--plot", out)
    assert r.exit_code == 0, r.stderr
    assert "share   examples   train error   val error" in r.stdout
    assert "reading: high bias - both errors are high and close together" in r.stdout
    assert "training 2/2: share 1 (384 examples)" in r.stderr
    data = out.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 1000


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--sizes", "0,1"], "--sizes 0 is not a share of the training split in (0, 1]"),
        (["--sizes", "1,0.5"], "--sizes must increase with no duplicates, got 1 then 0.5"),
        (["--sizes", "0.5,0.5"], "--sizes must increase with no duplicates, got 0.5 then 0.5"),
        (["--sizes", "0.001,1"], "--sizes 0.001 of the 120 training examples has no example"),
        (["--plot", "curve.svg"], "--plot curve.svg: expected a file ending in .png"),
    ],
)
def test_bad_input_is_one_line_and_makes_no_run(
    cli, runs_dir: Path, tmp_path: Path, args: list[str], message: str
) -> None:
    _train(cli, tmp_path, MOONS_SMALL.replace("print_every: 100", "validation_fraction: 0.2"))
    before = sorted(runs_dir.iterdir())
    r = cli("diagnose", "latest", "--learning-curve", *args)
    assert r.exit_code == 2
    assert message in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert sorted(runs_dir.iterdir()) == before
    assert not (tmp_path / "curve.svg").exists()


def test_a_run_without_a_validation_split_is_refused(cli, runs_dir: Path, tmp_path: Path) -> None:
    _train(cli, tmp_path, MOONS_SMALL)
    before = sorted(runs_dir.iterdir())
    r = cli("diagnose", "latest", "--learning-curve")
    assert r.exit_code == 2
    assert "has no validation split to score a learning curve on" in r.stderr
    assert sorted(runs_dir.iterdir()) == before


def test_sizes_without_learning_curve_is_refused(cli, runs_dir: Path, tmp_path: Path) -> None:
    _train(cli, tmp_path, TOO_SMALL)
    r = cli("diagnose", "latest", "--sizes", "0.5,1")
    assert r.exit_code == 2 and "--sizes goes with --learning-curve" in r.stderr


def test_the_report_shows_the_newest_curve_of_the_run(cli, runs_dir: Path, tmp_path: Path) -> None:
    _train(cli, tmp_path, TOO_SMALL)
    page = tmp_path / "r.html"
    assert cli("report", "latest", "-o", page).exit_code == 0
    assert "Learning curve over the training examples" not in page.read_text()  # none made yet
    parent = sorted(runs_dir.iterdir())[0].name
    _curve(cli, "--sizes", "0.25,1")
    # made again (of the parent: "latest" is now a share's run): the newest curve is shown
    r = cli("diagnose", parent, "--learning-curve", "--json", "--sizes", "0.5,1")
    assert r.exit_code == 0, r.stderr
    d = json.loads(r.stdout)
    assert cli("report", parent, "-o", page).exit_code == 0
    html = page.read_text()
    start = html.index("<h3>Learning curve over the training examples</h3>")
    section = html[start : html.index("<h3>Config</h3>", start)]
    assert '<svg viewBox="0 0 640 300" role="img" aria-label="learning curve">' in section
    assert "reading: <b>high bias</b>" in section
    shown = [d["points"][-1]["run_id"], d["points"][0]["run_id"]]
    assert all(run_id in section for run_id in shown)
    assert "<td>0.25</td>" not in section and section.count("<td>0.5</td>") == 1
    assert f"<td>{d['points'][-1]['val_error']:.4f}</td>" in section
