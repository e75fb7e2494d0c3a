"""``nnctl serve`` through a real HTTP client: the models listed, and predictions equal to
``nnctl predict --json`` for the same inputs (JSON rows, an image as the body, several images
as multipart/form-data), threshold included."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from typer.testing import CliRunner

from helpers.proc import nnctl
from helpers.serving import Server, image_pixels, png
from nnctl.cli import app

ROWS = [[0.1, 0.2], [1.0, -0.5], [-1.25, 0.75], [2, 0], [0.333333333333, -0.1e-3]]


def predict_json(trained, *args: object) -> list[dict]:
    root, runs_dir, _, _ = trained
    r = nnctl("predict", *args, "--json", runs_dir=runs_dir, cwd=root)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def without_input(records: list[dict]) -> list[dict]:
    return [{k: v for k, v in r.items() if k != "input"} for r in records]


def test_healthz_and_models_list_the_runs_served(server, trained) -> None:
    _, _, moons, images = trained
    assert server.url.startswith("http://127.0.0.1:")  # this machine only, unless --host
    assert server.client.get("/healthz").json()["status"] == "ok"
    listed = {m["id"]: m for m in server.client.get("/v1/models").json()["models"]}
    assert set(listed) == {moons.name, images.name}
    m = listed[moons.name]
    assert (m["name"], m["task"], m["input"], m["features"]) == (
        "moons_served",
        "classification",
        "features",
        2,
    )
    assert m["classes"] == ["upper", "lower"] and m["preprocessing"]["kind"] == "features"
    i = listed[images.name]
    assert (i["input"], i["input_shape"], i["color_mode"]) == ("image", [8, 8, 3], "RGB")
    assert i["classes"] == ["dark", "light"]


def test_json_rows_answer_as_predict_json(server, trained, tmp_path: Path) -> None:
    _, _, moons, _ = trained
    np.save(tmp_path / "x.npy", np.array(ROWS, dtype=np.float64))
    expected = predict_json(trained, moons, tmp_path / "x.npy")
    for model in (moons.name, "moons_served"):  # by id and by name
        r = server.client.post(f"/v1/models/{model}/predict", json={"inputs": ROWS})
        assert r.status_code == 200, r.text
        got = r.json()
        assert without_input(got) == without_input(expected)
        assert [g["input"] for g in got] == [f"inputs[{k}]" for k in range(len(ROWS))]


def test_threshold_answers_as_predict_threshold(server, trained, tmp_path: Path) -> None:
    _, _, moons, _ = trained
    np.save(tmp_path / "x.npy", np.array(ROWS, dtype=np.float64))
    expected = predict_json(trained, moons, tmp_path / "x.npy", "--threshold", "0.9")
    r = server.client.post(
        f"/v1/models/{moons.name}/predict", params={"threshold": 0.9}, json={"inputs": ROWS}
    )
    assert without_input(r.json()) == without_input(expected)


def test_images_raw_and_multipart_answer_as_predict_json(server, trained, tmp_path: Path) -> None:
    """One image as the body is predict of that file; several as multipart are predict of the
    files together (the same examples in one forward pass: equal to the last bit)."""
    _, _, _, images = trained
    files = []
    for k in (20, 21, 22):
        # 12x12: resized to the run's 8x8 as predict resizes
        path = tmp_path / f"img{k}.png"
        path.write_bytes(png(image_pixels(k, size=12)))
        files.append(path)
    url = f"/v1/models/{images.name}/predict"
    for path, kind in zip(files, ("image/png", "application/octet-stream", "image/x-anything")):
        r = server.client.post(url, content=path.read_bytes(), headers={"Content-Type": kind})
        assert r.status_code == 200, r.text
        assert without_input(r.json()) == without_input(predict_json(trained, images, path))
    expected = predict_json(trained, images, *files)
    parts = [("images", (p.name, p.read_bytes(), "image/png")) for p in files]
    r = server.client.post(url, files=parts)
    assert r.status_code == 200, r.text
    assert r.json() == [{**e, "input": p.name} for e, p in zip(expected, files)]


SINE = """\
name: sine_served
dataset: {synthetic: sine, m: 100, test_fraction: 0.2, seed: 1}
layer_dims: [auto, 8, 1]
activations: {hidden: tanh, output: linear}
learning_rate: 0.05
iterations: 50
"""

SPIRAL = """\
name: spiral_served
dataset: {synthetic: spiral, m: 150, test_fraction: 0.2, seed: 1}
layer_dims: [auto, 8, 3]
activations: {hidden: relu, output: softmax}
learning_rate: 0.05
iterations: 50
"""


def test_regression_and_softmax_feature_runs_answer_as_predict_json(
    trained, tmp_path: Path
) -> None:
    """A regression run's records carry its value (label, class, probability null), a
    three-class softmax run's its three probabilities: as predict --json prints them."""
    root, runs_dir, _, _ = trained
    runs = []
    for name, text in (("sine.yaml", SINE), ("spiral.yaml", SPIRAL)):
        (tmp_path / name).write_text(text)
        r = CliRunner().invoke(
            app, ["train", str(tmp_path / name), "-q", "--runs-dir", str(runs_dir)]
        )
        assert r.exit_code == 0, r.output
        runs.append(runs_dir / r.stdout.strip())
    sine, spiral = runs
    s = Server(sine, spiral, runs_dir=runs_dir, cwd=root)
    try:
        listed = {m["name"]: m for m in s.client.get("/v1/models").json()["models"]}
        assert (listed["sine_served"]["task"], listed["sine_served"]["classes"]) == (
            "regression",
            [],
        )
        assert listed["spiral_served"]["classes"] == ["arm0", "arm1", "arm2"]
        for run, rows in ((sine, [[0.5], [1.5], [-2.0]]), (spiral, ROWS)):
            np.save(tmp_path / "x.npy", np.array(rows, dtype=np.float64))
            expected = predict_json(trained, run, tmp_path / "x.npy")
            r = s.client.post(f"/v1/models/{run.name}/predict", json={"inputs": rows})
            assert r.status_code == 200, r.text
            assert without_input(r.json()) == without_input(expected)
        assert expected[0]["probabilities"].keys() == {"arm0", "arm1", "arm2"}
        r = s.client.post(f"/v1/models/{sine.name}/predict?threshold=0.5", json={"inputs": [[0.5]]})
        assert (r.status_code, r.json()["error"]) == (
            400,
            "threshold applies to binary classifiers; this run's loss is mean_squared_error",
        )
    finally:
        s.stop()
