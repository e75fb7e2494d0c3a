"""``Run`` and ``load_run``: what a run records (id, status, config, summary, scores, history,
params), and using it as the commands do: predict (equal to ``nnctl predict --json``),
predict_proba, evaluate (equal to ``nnctl evaluate --json``), report, export, resume (bit for
bit the longer run), gradcheck, and how it shows itself in a notebook."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

import nnctl
from nnctl.runs import CHECKPOINT_FILE, SUMMARY_FILE


def test_what_a_run_records(array_run) -> None:
    run = array_run
    assert run.status == "complete" and run.id == run.dir.name
    assert repr(run) == f"Run({run.id!r}, status='complete')"
    assert run.config["layer_dims"] == [3, 6, 1] and run.config["iterations"] == 60
    assert run.summary.layer_dims == [3, 6, 1]
    assert set(run.scores) == {"train_accuracy", "test_accuracy"}
    assert run.scores["test_accuracy"] == run.summary.metric("test_accuracy")
    h = run.history
    assert h.iterations.shape == h.costs.shape == (60,) and h.costs[-1] < h.costs[0]
    assert run.summary.final_cost == pytest.approx(h.costs[-1])
    p = run.params
    assert sorted(p) == ["W1", "W2", "b1", "b2"]
    assert p["W1"].shape == (6, 3) and p["b1"].shape == (6, 1) and p["W2"].shape == (1, 6)
    assert run.classes == ["0", "1"]


def test_load_run_names_runs_as_the_commands_do(array_run, runs_dir, tmp_path) -> None:
    run = array_run
    assert nnctl.load_run(run.id) == run
    assert nnctl.load_run(run.id[:15], runs_dir=runs_dir) == run
    assert nnctl.load_run(run.dir) == run and nnctl.load_run(str(run.dir)) == run
    assert nnctl.load_run("latest") == run
    with pytest.raises(nnctl.RunError, match="nope: no run with this id or prefix in"):
        nnctl.load_run("nope")
    with pytest.raises(nnctl.RunError, match=f"no runs in {tmp_path / 'empty'}"):
        nnctl.load_run("latest", runs_dir=tmp_path / "empty")


def test_predict_is_nnctl_predict_json(cli, array_run, arrays, tmp_path) -> None:
    X, _ = arrays
    np.save(tmp_path / "rows.npy", X)
    r = cli("predict", array_run.id, tmp_path / "rows.npy", "--json")
    assert r.exit_code == 0, r.stderr
    expected = json.loads(r.stdout)
    from_file = array_run.predictions(tmp_path / "rows.npy")
    from_arrays = array_run.predictions(X)
    assert from_file == expected
    assert [{**e, "input": f"X[{k}]"} for k, e in enumerate(expected)] == from_arrays
    labels = array_run.predict(X)
    assert labels.dtype == np.int64 and labels.tolist() == [e["label"] for e in expected]
    assert array_run.predict(str(tmp_path / "rows.npy")).tolist() == labels.tolist()
    P = array_run.predict_proba(X)
    assert P.shape == (120, 2)
    assert P.tolist() == [[e["probabilities"]["0"], e["probabilities"]["1"]] for e in expected]
    strict = array_run.predict(X, threshold=0.9)
    assert strict.tolist() == (P[:, 1] > 0.9).astype(int).tolist()


def test_predict_refuses_bad_inputs_naming_them(array_run, tmp_path) -> None:
    with pytest.raises(ValueError, match="X: rows have 2 features, but the run expects 3"):
        array_run.predict(np.zeros((4, 2)))
    with pytest.raises(TypeError, match="X: features must be numbers"):
        array_run.predict([["a", "b", "c"]])
    with pytest.raises(ValueError, match="X: 1 NaN or infinite value"):
        array_run.predict([[0.0, np.inf, 1.0]])
    with pytest.raises(nnctl.DataError, match=r"X\[1\]: overflowed inside the network"):
        array_run.predict([[0.0, 0.0, 0.0], [1e308, -1e308, 1e308]])
    with pytest.raises(nnctl.DataError, match="missing.npy: no such file"):
        array_run.predict(tmp_path / "missing.npy")
    with pytest.raises(nnctl.OptionError, match="threshold applies to binary classifiers"):
        nnctl.train(
            {
                "dataset": {"synthetic": "spiral", "m": 90},
                "layer_dims": ["auto", 5, 3],
                "activations": ["relu", "softmax"],
                "learning_rate": 0.5,
                "iterations": 5,
            }
        ).predict([[0.0, 0.0]], threshold=0.3)


def test_evaluate_is_nnctl_evaluate(cli, array_run, arrays, runs_dir) -> None:
    X, y = arrays
    r = cli("evaluate", array_run.id, "--json")
    assert r.exit_code == 0, r.stderr
    own = array_run.evaluate()
    assert {"run_id": array_run.id, **own.to_dict()} == json.loads(r.stdout)
    assert own.accuracy == array_run.scores["test_accuracy"]
    assert array_run.evaluate(split="train").accuracy == array_run.scores["train_accuracy"]
    on_arrays = array_run.evaluate(X[90:], y[90:])
    assert on_arrays.data == "arrays X, y"
    assert {**on_arrays.to_dict(), "data": own.data} == own.to_dict()
    (test_file,) = [s["path"] for s in array_run.summary.sources if s["role"] == "test"]
    assert array_run.evaluate(test_file).accuracy == own.accuracy
    with pytest.raises(ValueError, match="X has 30 examples but y has 29 labels"):
        array_run.evaluate(X[90:], y[91:])
    with pytest.raises(ValueError, match="give y, the labels of X"):
        array_run.evaluate(X)
    with pytest.raises(nnctl.OptionError, match="split got 'dev'; valid: train, val, test"):
        array_run.evaluate(split="dev")
    with pytest.raises(nnctl.DataError, match="X, y: class 'x' is not one of the run's classes"):
        array_run.evaluate(X[:4], ["x", "0", "1", "0"])


def test_a_run_that_is_not_complete(array_run, runs_dir) -> None:
    s = json.loads((array_run.dir / SUMMARY_FILE).read_text())
    s["status"], s["message"] = "failed", "disk full"
    (array_run.dir / SUMMARY_FILE).write_text(json.dumps(s))
    run = nnctl.load_run(array_run.id)
    assert run.status == "failed" and run.history.costs.size == 60
    with pytest.raises(nnctl.RunError, match="run is failed: disk full; only a complete run"):
        run.predict(np.zeros((1, 3)))
    with pytest.raises(nnctl.RunError, match="only a complete run can be used"):
        run.params  # noqa: B018
    assert "failed: disk full" in run._repr_html_()


def test_report_and_export(array_run, tmp_path) -> None:
    out = array_run.report(tmp_path / "r.html")
    assert out == tmp_path / "r.html" and "<svg" in out.read_text()
    with pytest.raises(nnctl.UsageError, match="directory .* does not exist"):
        array_run.report(tmp_path / "no" / "r.html")
    written = array_run.export(tmp_path / "m.npz", format="npz")
    assert [p.name for p in written] == ["m.npz", "m.json"]
    with np.load(written[0]) as z:
        assert z["W1"].tobytes() == array_run.params["W1"].tobytes()
    with pytest.raises(nnctl.UsageError, match="--format tflite: unknown"):
        array_run.export(tmp_path / "m.x", format="tflite")


def test_resume_more_is_the_longer_run(net, arrays, runs_dir) -> None:
    X, y = arrays
    short = nnctl.train(net, X=X, y=y, runs_dir=runs_dir, iterations=40)
    long = nnctl.train(net, X=X, y=y, runs_dir=runs_dir, iterations=60)
    seen = []
    assert short.resume(20, callback=seen.append) is short
    assert [p.iteration for p in seen] == list(range(40, 60))
    assert short.summary.iterations_done == 60
    assert short.params["W1"].tobytes() == long.params["W1"].tobytes()
    assert short.resume(iterations=70).summary.iterations_done == 70
    with pytest.raises(nnctl.OptionError, match="give one of more, iterations or epochs"):
        short.resume(5, iterations=90)
    with pytest.raises(nnctl.OptionError, match="more must be a positive whole number, got 0"):
        short.resume(0)
    with pytest.raises(nnctl.RunError, match="complete"):
        short.resume()


def test_gradcheck_of_the_trained_parameters(array_run) -> None:
    report = array_run.gradcheck(examples=4)
    assert report.passed and report.max_relative_error < 1e-7
    assert report.target == f"run {array_run.id}"


def test_a_run_in_a_notebook(array_run) -> None:
    page = array_run._repr_html_()
    assert f"run {array_run.id}: run" in page
    assert "<th>status</th><td>complete</td>" in page
    assert "<th>layers</th><td>[3, 6, 1]</td>" in page
    assert re.search(r"<th>test_accuracy</th><td>[01](\.\d+)?</td>", page)
    assert "<svg" in page and "<polyline" in page  # the cost curve
    assert "<script" not in page


def test_a_checkpointed_run_leaves_its_checkpoint_to_resume(moons_cfg, runs_dir) -> None:
    run = nnctl.train(moons_cfg, iterations=20, batch_size=50, checkpoint_every=5)
    assert run.status == "complete" and Path(run.dir / CHECKPOINT_FILE).is_file()


def test_counts_are_checked_as_the_options_are(array_run) -> None:
    with pytest.raises(nnctl.OptionError, match="threads must be a positive whole number"):
        array_run.predict(np.zeros((1, 3)), threads=0)
    with pytest.raises(nnctl.OptionError, match="threads must be a positive whole number"):
        array_run.evaluate(threads=-2)
    with pytest.raises(nnctl.OptionError, match="threads must be a positive whole number"):
        array_run.resume(5, threads=0)
    assert array_run.summary.iterations_done == 60


def test_an_image_run_predicts_8_bit_image_arrays(cli, cat_run, cat_dir) -> None:
    import h5py

    run = nnctl.load_run(cat_run)
    test_file = cat_dir / "test_catvnoncat.h5"
    with h5py.File(test_file) as f:
        images = f["test_set_x"][:6]
    r = cli("predict", run.id, test_file, "--json")
    assert r.exit_code == 0, r.stderr
    expected = json.loads(r.stdout)[:6]
    assert run.predict(images).tolist() == [e["class"] for e in expected]
    assert run.predictions(images) == [{**e, "input": f"X[{k}]"} for k, e in enumerate(expected)]
    with pytest.raises(ValueError, match=r"X: holds float64 images of shape \[64, 64, 3\]"):
        run.predict(images.astype(float))
    with pytest.raises(ValueError, match="for a run trained on images give a data file"):
        run.evaluate(images.reshape(6, -1), [0] * 6)
    assert run.evaluate(str(test_file)).accuracy == run.scores["test_accuracy"]
