"""``nnctl export``: ONNX graphs that give nnctl predict's probabilities from raw inputs, and the
course-style .npz with its JSON sidecar."""

from __future__ import annotations

import builtins
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from helpers.reportruns import train

onnx = pytest.importorskip(
    "onnx", reason="the export extra is not installed: pip install -e '.[export]'"
)
ort = pytest.importorskip(
    "onnxruntime", reason="the export extra is not installed: pip install -e '.[export]'"
)


@pytest.fixture(scope="module")
def runs_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("export") / "runs"


@pytest.fixture(scope="module")
def spiral(runs_dir: Path) -> Path:
    return train("spiral", runs_dir)


@pytest.fixture(scope="module")
def sine(runs_dir: Path) -> Path:
    return train("sine", runs_dir)


@pytest.fixture(scope="module")
def spiral_bn(runs_dir: Path) -> Path:
    """The spiral with batch normalization on its first hidden layer."""
    return train("spiral", runs_dir, "--set", "batch_norm={layers: [true, false], momentum: 0.8}")


def _predict_json(cli, run: Path, *inputs: Path) -> list[dict]:
    r = cli("predict", run, *inputs, "--json")
    assert r.exit_code == 0, r.stderr
    return json.loads(r.stdout)


def _export(cli, run: Path, out: Path, fmt: str = "onnx") -> None:
    r = cli("export", run, "--format", fmt, "-o", out)
    assert r.exit_code == 0, r.stderr
    assert r.stdout.splitlines()[0] == str(out)


def _session(path: Path):
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


def test_cat_onnx_takes_raw_pixels_and_matches_predict(cli, cat_dir: Path, tmp_path: Path) -> None:
    from nnctl.data import read_h5

    run = train("cat", tmp_path / "runs")
    raw = read_h5(cat_dir / "test_catvnoncat.h5").x[:12]  # (12, 64, 64, 3) uint8
    files = []
    for i, img in enumerate(raw):
        files.append(tmp_path / f"img{i:02d}.png")
        Image.fromarray(img).save(files[-1])
    expected = np.array(
        [
            [r["probabilities"]["non-cat"], r["probabilities"]["cat"]]
            for r in _predict_json(cli, run, *files)
        ]
    )
    out = tmp_path / "cat.onnx"
    _export(cli, run, out)
    model = onnx.load(str(out))
    onnx.checker.check_model(model, full_check=True)
    meta = {p.key: p.value for p in model.metadata_props}
    pre = json.loads(meta["nnctl.preprocessing"])
    assert pre["input_shape"] == [64, 64, 3] and pre["classes"] == ["non-cat", "cat"]
    assert pre["steps"] == [{"op": "divide", "by": 255.0}]
    ops = [n.op_type for n in model.graph.node]
    assert ops[:2] == ["Flatten", "Div"] and ops.count("Gemm") == 4 and ops.count("Relu") == 3
    got = _session(out).run(["probabilities"], {"input": raw.astype(np.float32)})[0]
    assert got.shape == (12, 2)
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-6)


def test_spiral_softmax_onnx_matches_predict(cli, spiral: Path, tmp_path: Path) -> None:
    rows = np.random.default_rng(0).normal(size=(50, 2))
    np.save(tmp_path / "rows.npy", rows)
    expected = np.array(
        [
            [r["probabilities"][c] for c in ("arm0", "arm1", "arm2")]
            for r in _predict_json(cli, spiral, tmp_path / "rows.npy")
        ]
    )
    _export(cli, spiral, tmp_path / "spiral.onnx")
    got = _session(tmp_path / "spiral.onnx").run(
        ["probabilities"], {"input": rows.astype(np.float32)}
    )[0]
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-6)
    np.testing.assert_allclose(got.sum(axis=1), 1, atol=1e-6)


def test_sine_regression_onnx_matches_predict(cli, sine: Path, tmp_path: Path) -> None:
    x = np.linspace(-3, 3, 61).reshape(-1, 1)
    np.save(tmp_path / "x.npy", x)
    expected = np.array([r["value"] for r in _predict_json(cli, sine, tmp_path / "x.npy")]).reshape(
        -1, 1
    )
    _export(cli, sine, tmp_path / "sine.onnx")
    model = onnx.load(str(tmp_path / "sine.onnx"))
    assert [o.name for o in model.graph.output] == ["values"]
    got = _session(tmp_path / "sine.onnx").run(None, {"input": x.astype(np.float32)})[0]
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-6)


def test_batch_normalized_onnx_matches_predict(cli, spiral_bn: Path, tmp_path: Path) -> None:
    """Batch normalization exports as a BatchNormalization node (inference mode) after a Gemm
    without bias, holding gamma, beta and the running averages by their names."""
    run = spiral_bn
    rows = np.random.default_rng(2).normal(size=(50, 2))
    np.save(tmp_path / "rows.npy", rows)
    expected = np.array(
        [
            [r["probabilities"][c] for c in ("arm0", "arm1", "arm2")]
            for r in _predict_json(cli, run, tmp_path / "rows.npy")
        ]
    )
    _export(cli, run, tmp_path / "bn.onnx")
    model = onnx.load(str(tmp_path / "bn.onnx"))
    ops = [n.op_type for n in model.graph.node]
    assert ops.count("BatchNormalization") == 1 and ops.count("Gemm") == 3
    (bn,) = [n for n in model.graph.node if n.op_type == "BatchNormalization"]
    assert list(bn.input)[1:] == ["gamma1", "beta1", "running_mean1", "running_var1"]
    assert [a.f for a in bn.attribute if a.name == "epsilon"] == [pytest.approx(1e-5)]
    (gemm1,) = [n for n in model.graph.node if n.name == "layer1"]
    assert len(gemm1.input) == 2  # no bias: beta replaces it
    with np.load(run / "params.npz") as z:
        inits = {i.name: onnx.numpy_helper.to_array(i) for i in model.graph.initializer}
        assert np.array_equal(inits["running_var1"], z["running_var1"].reshape(-1).astype("f4"))
    got = _session(tmp_path / "bn.onnx").run(["probabilities"], {"input": rows.astype(np.float32)})[
        0
    ]
    # float32 rounding through the graph (measured up to 1.05e-6 on a four-layer network)
    np.testing.assert_allclose(got, expected, rtol=0, atol=2e-6)


def test_npz_and_sidecar_reproduce_predict_in_plain_numpy(
    cli, spiral: Path, tmp_path: Path
) -> None:
    out = tmp_path / "model.npz"
    r = cli("export", spiral, "--format", "npz", "-o", out)
    assert r.exit_code == 0, r.stderr
    assert r.stdout.split() == [str(out), str(tmp_path / "model.json")]
    # the ten lines of docs/guides/using-runs.md ("The ten lines of numpy")
    params = np.load(out)
    meta = json.load(open(tmp_path / "model.json"))
    x = np.random.default_rng(1).normal(size=(5, 2))
    A = x.reshape(len(x), -1).T  # (n_x, m)
    for step in meta["preprocessing"]["steps"]:
        A = A / step["by"] if step["op"] == "divide" else A - np.reshape(step["value"], (-1, 1))
    for l, act in enumerate(meta["activations"], start=1):
        Z = params[f"W{l}"] @ A + params[f"b{l}"]
        A = {"relu": lambda z: np.maximum(z, 0), "softmax": lambda z: np.exp(z) / np.exp(z).sum(0)}[
            act
        ](Z)
    np.save(tmp_path / "x.npy", x)
    expected = [
        [r["probabilities"][c] for c in meta["preprocessing"]["classes"]]
        for r in _predict_json(cli, spiral, tmp_path / "x.npy")
    ]
    np.testing.assert_allclose(A.T, expected, atol=1e-12)
    assert sorted(params.files) == ["W1", "W2", "W3", "b1", "b2", "b3"]


def test_batch_normalized_npz_and_sidecar_reproduce_predict(
    cli, spiral_bn: Path, tmp_path: Path
) -> None:
    """docs/guides/using-runs.md's loop with its batch-norm lines."""
    out = tmp_path / "bn.npz"
    r = cli("export", spiral_bn, "--format", "npz", "-o", out)
    assert r.exit_code == 0, r.stderr
    params, meta = np.load(out), json.load(open(tmp_path / "bn.json"))
    assert meta["batch_norm"] == {"layers": [True, False], "momentum": 0.8, "epsilon": 1e-5}
    assert "gamma_l, beta_l, running_mean_l, running_var_l" in meta["arrays"]
    x = np.random.default_rng(3).normal(size=(7, 2))
    A = x.T
    acts = {"relu": lambda z: np.maximum(z, 0), "softmax": lambda z: np.exp(z) / np.exp(z).sum(0)}
    for l, act in enumerate(meta["activations"], start=1):
        Z = params[f"W{l}"] @ A
        if f"gamma{l}" in params.files:
            Z_norm = (Z - params[f"running_mean{l}"]) / np.sqrt(
                params[f"running_var{l}"] + meta["batch_norm"]["epsilon"]
            )
            Z = params[f"gamma{l}"] * Z_norm + params[f"beta{l}"]
        else:
            Z = Z + params[f"b{l}"]
        A = acts[act](Z)
    np.save(tmp_path / "x.npy", x)
    expected = [
        [r["probabilities"][c] for c in meta["preprocessing"]["classes"]]
        for r in _predict_json(cli, spiral_bn, tmp_path / "x.npy")
    ]
    np.testing.assert_allclose(A.T, expected, atol=1e-12)


def test_bad_output_and_format_are_one_line_exit_2(cli, spiral: Path, tmp_path: Path) -> None:
    for args, words in [
        (["-o", tmp_path / "nowhere" / "m.onnx"], "does not exist"),
        (["-o", tmp_path], "is a directory"),
        (["--format", "tflite", "-o", tmp_path / "m.tflite"], "unknown; valid: onnx, npz"),
    ]:
        r = cli("export", spiral, *args)
        assert r.exit_code == 2
        assert r.stderr.count("\n") == 1 and r.stderr.startswith("error:") and words in r.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == []
    r = cli("export", "no-such-run", "-o", tmp_path / "m.onnx")
    assert r.exit_code == 2 and "no run with this id" in r.stderr


def test_without_onnx_the_hint_says_how_to_install(
    cli, spiral: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_import = builtins.__import__

    def no_onnx(name, *args, **kwargs):
        if name == "onnx" or name.startswith("onnx."):
            raise ImportError(f"No module named {name!r}")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_onnx)
    r = cli("export", spiral, "-o", tmp_path / "m.onnx")
    assert r.exit_code == 2
    assert r.stderr.count("\n") == 1
    assert "pip install 'nnctl[export]'" in r.stderr
    assert not (tmp_path / "m.onnx").exists()


def test_csv_run_with_standardization_exports_its_statistics(cli, tmp_path: Path) -> None:
    """normalize: standard: the stored mean and std become Sub and Div in the graph, so raw CSV
    values in give predict's probabilities."""
    from helpers.owndata import make_project

    project = make_project(tmp_path / "project")
    r = cli(
        "train", project / "configs" / "flowers_csv.yaml", "-q", "--runs-dir", tmp_path / "runs"
    )
    assert r.exit_code == 0, r.stderr
    run = tmp_path / "runs" / r.stdout.strip()
    new = project / "data" / "examples" / "flowers_new.csv"
    classes = ["setosa", "versicolor", "virginica"]
    expected = np.array(
        [[p["probabilities"][c] for c in classes] for p in _predict_json(cli, run, new)]
    )
    _export(cli, run, tmp_path / "flowers.onnx")
    model = onnx.load(str(tmp_path / "flowers.onnx"))
    assert [n.op_type for n in model.graph.node][:3] == ["Flatten", "Sub", "Div"]
    steps = json.loads({p.key: p.value for p in model.metadata_props}["nnctl.preprocessing"])[
        "steps"
    ]
    stored = json.loads((run / "summary.json").read_text())["preprocessing"]["steps"]
    assert steps == stored and [s["op"] for s in steps] == ["subtract", "divide"]
    rows = np.loadtxt(new, delimiter=",", skiprows=1).astype(np.float32)
    got = _session(tmp_path / "flowers.onnx").run(["probabilities"], {"input": rows})[0]
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-5)
