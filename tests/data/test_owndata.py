"""Training on your own data: image folders, CSV, NumPy and plain-named HDF5 through the CLI,
with the preprocessing stored in the run and applied by predict, evaluate and export; and every
bad input as one error line, exit 2, no run directory."""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np
import pytest
import yaml
from PIL import Image

from helpers.owndata import EXAMPLE_CONFIGS, make_examples, make_project, one_error, train_json
from nnctl.data import load_dataset, load_image, prepare_x, split_off_test


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_project(tmp_path_factory.mktemp("project"))


def summary(run_dir: str | Path) -> dict:
    return json.loads((Path(run_dir) / "summary.json").read_text())


def softmax_forward(run_dir: Path, X: np.ndarray) -> np.ndarray:
    """[relu]* -> softmax written out here. X: (n_x, m) -> (K, m)."""
    with np.load(Path(run_dir) / "params.npz") as z:
        p = {k: z[k] for k in z.files}
    L = len(p) // 2
    A = X
    for l in range(1, L):
        A = np.maximum(0, p[f"W{l}"] @ A + p[f"b{l}"])
    Z = p[f"W{L}"] @ A + p[f"b{L}"]
    e = np.exp(Z - Z.max(axis=0))
    return e / e.sum(axis=0)


# --------------------------------------------------------------------------- every kind trains


@pytest.mark.parametrize("name", EXAMPLE_CONFIGS)
def test_each_example_config_trains(cli, project: Path, runs_dir: Path, name: str) -> None:
    out = train_json(cli, project / "configs" / f"{name}.yaml")
    assert out["status"] == "complete"
    assert out["test_accuracy"] >= 0.85, out
    s = summary(out["run_dir"])
    kind = {
        "shapes_folder": "images",
        "flowers_csv": "csv",
        "points_npz": "npz",
        "points_npy": "npy",
        "points_h5": "hdf5",
    }[name]
    assert {src["kind"] for src in s["dataset"]["sources"]} == {kind}
    assert s["config"]["dataset.kind"] == kind


def test_config_show_prints_the_kind_and_normalization(cli, project: Path) -> None:
    for name, kind, normalize in [
        ("flowers_csv", "csv", "standard"),
        ("points_npz", "npz", "standard"),
        ("shapes_folder", "images", "none"),
        ("points_h5", "hdf5", "standard"),
    ]:
        r = cli("config", "show", project / "configs" / f"{name}.yaml")
        assert r.exit_code == 0, r.stderr
        shown = yaml.safe_load(r.stdout)
        assert shown["dataset"]["kind"] == kind and shown["normalize"] == normalize
    r = cli("config", "show", project / "configs" / "points_h5.yaml", "--set", "normalize=auto")
    assert (
        yaml.safe_load(r.stdout)["normalize"] == "none"
    )  # auto: HDF5 keeps raw values, as the course


# --------------------------------------------------------------------------- image folders


def test_folder_and_its_imported_hdf5_give_the_same_numbers(
    cli, project: Path, runs_dir: Path, tmp_path: Path
) -> None:
    shapes = project / "data" / "examples" / "shapes"
    h5 = tmp_path / "shapes.h5"
    r = cli("data", "import", shapes, "-o", h5, "--size", "16x16")
    assert r.exit_code == 0, r.stderr
    assert r.stdout.strip() == str(h5)
    assert (
        "72 examples, train_set_x uint8 (72, 16, 16, 3), classes circle, square, triangle"
        in r.stderr
    )
    with h5py.File(h5) as f:
        assert f["train_set_x"].dtype == np.uint8 and f["train_set_x"].shape == (72, 16, 16, 3)
        assert (
            f["train_set_x"].chunks[0] == 64
            and f["train_set_y"][()].tolist() == [0] * 24 + [1] * 24 + [2] * 24
        )
        assert [c.decode() for c in f["list_classes"][()]] == ["circle", "square", "triangle"]
    config = project / "configs" / "shapes_folder.yaml"
    folder_run = train_json(cli, config)
    h5_run = train_json(cli, config, "--set", f"dataset.images={h5}")
    a, b = summary(folder_run["run_dir"]), summary(h5_run["run_dir"])
    for key in ("final_cost", "train_accuracy", "test_accuracy"):
        assert a[key] == b[key]
    assert (
        a["preprocessing"]["classes"]
        == ["circle", "square", "triangle"]
        == b["preprocessing"]["classes"]
    )
    # predict and evaluate --data give the same answers from either run, on the folder and on
    # the file
    image = shapes / "triangle" / "triangle_05.png"
    p1 = json.loads(cli("predict", folder_run["run_dir"], image, "--json").stdout)
    p2 = json.loads(cli("predict", h5_run["run_dir"], image, "--json").stdout)
    assert p1[0]["probabilities"] == p2[0]["probabilities"]
    e1 = json.loads(cli("evaluate", folder_run["run_dir"], "--data", shapes, "--json").stdout)
    e2 = json.loads(cli("evaluate", h5_run["run_dir"], "--data", h5, "--json").stdout)
    assert e1["n"] == e2["n"] == 72 and e1["accuracy"] == e2["accuracy"]
    assert e1["confusion_matrix"] == e2["confusion_matrix"]
    # predict also reads the imported file's raw images: triangle_05.png is example 48 + 5
    from_h5 = json.loads(cli("predict", folder_run["run_dir"], h5, "--json").stdout)
    assert len(from_h5) == 72 and from_h5[53]["class"] == p1[0]["class"]
    np.testing.assert_allclose(
        list(from_h5[53]["probabilities"].values()),
        list(p1[0]["probabilities"].values()),
        rtol=1e-9,
    )  # one forward pass over 72 columns vs over 1: BLAS rounding only
    # the run's own test split, held out of the folder, scores as the summary says
    own = json.loads(cli("evaluate", folder_run["run_dir"], "--json").stdout)
    assert own["accuracy"] == a["test_accuracy"] and own["n"] == 18


def test_a_training_image_and_the_same_file_in_predict_are_the_same_column(project: Path) -> None:
    shapes = project / "data" / "examples" / "shapes"
    ds = load_dataset({"train": str(shapes), "size": [16, 16]})
    # sorted class folders, then sorted file names: the square_07.jpg is example 24 + 7
    col = prepare_x(
        load_image(shapes / "square" / "square_07.jpg", (16, 16, 3), "RGB")[None], 255.0, np.float64
    )
    np.testing.assert_array_equal(ds.X_train[:, 31:32], col)
    assert ds.classes == ["circle", "square", "triangle"] and ds.input_shape == (16, 16, 3)


def test_size_defaults_to_the_first_image_and_grayscale(tmp_path: Path) -> None:
    for k, name in enumerate(["b", "a"]):
        (tmp_path / name).mkdir()
        Image.new("RGB", (6 + k, 4), (200, 10, 10)).save(tmp_path / name / "one.png")
        (tmp_path / name / ".hidden.png").write_bytes(b"not an image")  # hidden: ignored
        (tmp_path / name / "notes.txt").write_text("not an image")  # not an image suffix: ignored
    ds = load_dataset({"train": str(tmp_path)})
    assert ds.input_shape == (4, 7, 3)  # a/one.png is first: 7 wide, 4 high
    gray = load_dataset({"train": str(tmp_path), "color": "grayscale", "size": [3, 3]})
    assert gray.input_shape == (3, 3, 1) and gray.classes == ["a", "b"]


def test_test_folder_and_skip_bad(cli, tmp_path: Path, runs_dir: Path) -> None:
    make_examples.write_shapes(tmp_path / "train", per_class=6)
    make_examples.write_shapes(tmp_path / "test", per_class=3, seed=5)
    config = tmp_path / "c.yaml"
    config.write_text(
        "dataset: {train: train/, test: test/, size: [8, 8]}\nlayer_dims: [auto, 3]\n"
        "activations: [softmax]\nlearning_rate: 0.1\niterations: 5\n"
    )
    out = train_json(cli, config)
    assert summary(out["run_dir"])["dataset"]["n_test"] == 9
    (tmp_path / "train" / "square" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    (tmp_path / "train" / "circle" / "empty.jpg").write_bytes(b"")
    r = cli("train", config, "--set", "dataset.skip_bad=true", "--json")
    assert r.exit_code == 0, r.stderr
    warnings = [line for line in r.stderr.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 3
    # paths as found: relative to the working directory (tmp_path)
    assert (
        warnings[0] == "warning: skipped train/circle/empty.jpg: not an image file Pillow can read"
    )
    assert warnings[1].startswith("warning: skipped train/square/broken.png: ")
    assert warnings[2] == "warning: train: skipped 2 unreadable file(s) of 20"
    s = summary(json.loads(r.stdout)["run_dir"])
    assert s["dataset"]["n_train"] == 18 and s["warnings"][-1] == warnings[2][len("warning: ") :]


# --------------------------------------------------------------------------- CSV


def test_csv_standardized_with_training_statistics_and_predict_applies_them(
    cli, project: Path, runs_dir: Path
) -> None:
    data = project / "data" / "examples"
    out = train_json(cli, project / "configs" / "flowers_csv.yaml")
    s = summary(out["run_dir"])
    pre = s["preprocessing"]
    assert (
        pre["classes"] == ["setosa", "versicolor", "virginica"] and pre["normalize"] == "standard"
    )
    # statistics by hand: the 120 training rows (test_fraction 0.2, seed 1), never the test rows
    rows = np.loadtxt(data / "flowers.csv", delimiter=",", skiprows=1, usecols=(0, 1, 2))
    train_rows, _ = split_off_test(150, 0.2, 1)
    mean, std = rows[train_rows].mean(axis=0), rows[train_rows].std(axis=0)
    assert pre["steps"] == [
        {"op": "subtract", "value": mean.tolist()},
        {"op": "divide", "by": std.tolist()},
    ]
    new = np.loadtxt(data / "flowers_new.csv", delimiter=",", skiprows=1)
    r = cli("predict", out["run_dir"], data / "flowers_new.csv", "--json")
    assert r.exit_code == 0, r.stderr
    got = json.loads(r.stdout)
    P = softmax_forward(out["run_dir"], ((new - mean) / std).T)
    for i, p in enumerate(got):
        assert p["input"] == f"{data / 'flowers_new.csv'}[{i}]"
        np.testing.assert_allclose(
            [p["probabilities"][c] for c in pre["classes"]], P[:, i], rtol=1e-10
        )
        assert p["class"] == pre["classes"][int(P[:, i].argmax())]
    # the labelled file predicts too (its label column left out), and evaluates with the same
    # statistics
    labelled = json.loads(cli("predict", out["run_dir"], data / "flowers.csv", "--json").stdout)
    assert len(labelled) == 150
    ev = json.loads(
        cli("evaluate", out["run_dir"], "--data", data / "flowers.csv", "--json").stdout
    )
    assert ev["n"] == 150 and ev["accuracy"] > 0.95


def test_scale_warning_and_raw_training(cli, project: Path, runs_dir: Path) -> None:
    r = cli("train", project / "configs" / "flowers_csv.yaml", "--set", "normalize=none", "--json")
    assert r.exit_code == 0, r.stderr
    warnings = [line for line in r.stderr.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1 and "feature spreads differ by a factor of" in warnings[0]
    assert "set normalize: standard" in warnings[0]
    assert "preprocessing" in summary(json.loads(r.stdout)["run_dir"])
    assert "normalize" not in summary(json.loads(r.stdout)["run_dir"])["preprocessing"]


def test_minmax_constant_feature_and_validation_rows_not_in_the_statistics(
    cli, tmp_path: Path, runs_dir: Path
) -> None:
    f = tmp_path / "d.csv"
    f.write_text("a;const;label\n" + "".join(f"{v};7;{v % 2}\n" for v in range(10)))  # semicolons
    config = tmp_path / "c.yaml"
    config.write_text(
        f"dataset: {{train: {f}}}\nnormalize: minmax\nvalidation_fraction: 0.2\n"
        "layer_dims: [auto, 1]\nactivations: [sigmoid]\nlearning_rate: 0.1\niterations: 3\n"
    )
    out = train_json(cli, config)
    steps = summary(out["run_dir"])["preprocessing"]["steps"]
    # validation: 1 of each class held out, so the min/max come from the 8 training rows only
    from nnctl.config import load_config
    from nnctl.training import bind

    bound = bind(load_config(config))
    kept = np.arange(10)[bound.train_idx]
    assert steps[0]["value"] == [float(kept.min()), 7.0]
    assert steps[1]["by"] == [
        float(kept.max() - kept.min()),
        1.0,
    ]  # a constant feature divides by 1
    assert np.all(np.isfinite(bound.dataset.X_train))


@pytest.mark.parametrize(
    "text,message",
    [
        ("a,b,label\n1,2,0\n3,4,1\n5,oops,0\n", "d.csv, line 4, column b: 'oops' is not a number"),
        ("a,b,label\n1,2,0\n\n3,,1\n", "d.csv, line 4, column b: an empty cell (missing value)"),
        (
            "a,b,label\n1,nan,0\n",
            "d.csv, line 2, column b: 'nan' is not a finite number; clean the data first",
        ),
        ("", "d.csv: no examples (an empty file; expected a header line and one example per line)"),
        ("a,b,label\n", "d.csv: no examples (a header line only)"),
        (
            "a,b,label\n1,2,0\n3,4\n",
            "d.csv, line 3: 2 fields, but the header has 3 (delimiter ','); "
            "every line needs one value per column",
        ),
        ("a,b,label\n1,2,0\n3,4,0.5\n", "d.csv: label: labels must be whole class numbers"),
        ("a,b,cls\n1,2,0\n", "d.csv: no label column 'label'; the header has a, b, cls"),
    ],
)
def test_bad_csv_is_one_line_with_the_editor_line_number(
    cli, tmp_path: Path, runs_dir: Path, text: str, message: str
) -> None:
    (tmp_path / "d.csv").write_text(text)
    config = tmp_path / "c.yaml"
    config.write_text(
        "dataset: {train: d.csv, label: label}\nlayer_dims: [auto, 1]\nactivations: [sigmoid]\n"
        "learning_rate: 0.1\niterations: 3\n"
    )
    line = one_error(cli("train", config), runs_dir)
    assert line.startswith(message)


def test_csv_test_file_with_other_features_or_classes(cli, tmp_path: Path, runs_dir: Path) -> None:
    (tmp_path / "train.csv").write_text("a,b,y\n1,2,cat\n3,4,dog\n5,6,cat\n")
    (tmp_path / "wide.csv").write_text("a,b,c,y\n1,2,3,cat\n")
    (tmp_path / "fox.csv").write_text("a,b,y\n1,2,fox\n")
    (tmp_path / "sub.csv").write_text("a,b,y\n1,2,dog\n")
    config = tmp_path / "c.yaml"
    config.write_text(
        "dataset: {train: train.csv}\nlayer_dims: [auto, 1]\nactivations: [sigmoid]\n"
        "learning_rate: 0.1\niterations: 3\n"
    )
    assert one_error(cli("train", config, "--set", "dataset.test=wide.csv"), runs_dir) == (
        "wide.csv: 3 features per example but the training data has 2"
    )
    assert one_error(cli("train", config, "--set", "dataset.test=fox.csv"), runs_dir) == (
        "fox.csv: class 'fox' is not in the training data train.csv (classes: cat, dog)"
    )
    out = train_json(
        cli, config, "--set", "dataset.test=sub.csv"
    )  # a test file with fewer classes maps by name
    ev = json.loads(cli("evaluate", out["run_dir"], "--json").stdout)
    assert ev["classes"] == ["cat", "dog"] and ev["n"] == 1


# --------------------------------------------------------------------------- NumPy and HDF5


def test_numpy_and_hdf5_bad_input(cli, tmp_path: Path, runs_dir: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text(
        "dataset: {train: d.npz}\nlayer_dims: [auto, 1]\nactivations: [sigmoid]\n"
        "learning_rate: 0.1\niterations: 3\n"
    )
    x = np.zeros((4, 2))
    np.savez(tmp_path / "d.npz", x=x, y=np.array([0, 1, 0]))
    assert one_error(cli("train", config), runs_dir) == "d.npz: x has 4 examples but y has 3 labels"
    np.savez(tmp_path / "d.npz", x=np.array([object(), 1], dtype=object), y=np.array([0, 1]))
    assert "x: holds Python objects (dtype object); nnctl reads numeric arrays only" in one_error(
        cli("train", config), runs_dir
    )
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", np.array([0, 1, 1, 0]))
    ok = ("--runs-dir", str(tmp_path / "ok"))  # the failures below must leave runs_dir empty
    out = train_json(cli, config, "--set", "dataset.train={x: x.npy, y: y.npy}", *ok)
    assert summary(out["run_dir"])["dataset"]["n_train"] == 4
    (tmp_path / "d.npz").unlink()
    np.save(tmp_path / "bad.npy", np.array([[1.0, np.nan], [0, 0], [1, 1], [0, 1]]))
    line = one_error(
        cli("train", config, "--set", "dataset.train={x: bad.npy, y: y.npy}"), runs_dir
    )
    assert line == "bad.npy: bad.npy: 1 NaN or infinite value(s); clean the data first"
    # an HDF5 file with several arrays: x_key/y_key name them
    with h5py.File(tmp_path / "many.h5", "w") as f:
        f["features"], f["x"], f["y"], f["target"] = (
            x,
            x[:3],
            np.array([0, 1, 0]),
            np.array([1, 0, 1, 0]),
        )
    out = train_json(
        cli,
        config,
        "--set",
        "dataset.train=many.h5",
        "--set",
        "dataset.x_key=features",
        "--set",
        "dataset.y_key=target",
        *ok,
    )
    assert summary(out["run_dir"])["dataset"]["n_train"] == 4
    line = one_error(
        cli("train", config, "--set", "dataset.train=many.h5", "--set", "dataset.x_key=nope"),
        runs_dir,
    )
    assert line == "many.h5: no array 'nope' (x_key); the file holds features, target, x, y"


def test_absurd_declared_shapes_are_refused_before_reading(
    cli, tmp_path: Path, runs_dir: Path
) -> None:
    config = tmp_path / "c.yaml"
    config.write_text(
        "dataset: {train: huge.h5}\nlayer_dims: [auto, 1]\nactivations: [sigmoid]\n"
        "learning_rate: 0.1\niterations: 3\n"
    )
    with h5py.File(tmp_path / "huge.h5", "w") as f:  # sparse: a tiny file declaring 1 PB
        f.create_dataset("train_set_x", shape=(10**9, 10**6), dtype=np.uint8, chunks=(1, 1000))
        f["train_set_y"] = np.zeros(2)
    line = one_error(cli("train", config), runs_dir)
    assert line.startswith("huge.h5: train_set_x: declares shape (1000000000, 1000000) of uint8 (")
    assert "more than this machine's memory" in line
    # a .npy header claiming more than the file holds
    np.save(tmp_path / "x.npy", np.zeros((4, 2)))
    raw = (tmp_path / "x.npy").read_bytes().replace(b"(4, 2)", b"(9999999, 2)", 1)
    (tmp_path / "x.npy").write_bytes(raw)
    np.save(tmp_path / "y.npy", np.zeros(4))
    line = one_error(cli("train", config, "--set", "dataset.train={x: x.npy, y: y.npy}"), runs_dir)
    assert line.startswith(
        "x.npy: declares shape (9999999, 2) of float64 (152.6 MiB) but the file holds only "
    )


# --------------------------------------------------------------------------- folders: bad input


def test_bad_folders(cli, tmp_path: Path, runs_dir: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text(
        "dataset: {images: photos/}\nlayer_dims: [auto, 1]\nactivations: [sigmoid]\n"
        "learning_rate: 0.1\niterations: 3\n"
    )
    photos = Path("photos")  # relative to the working directory, tmp_path, as errors name it
    photos.mkdir()
    Image.new("RGB", (4, 4)).save(photos / "loose.png")
    assert one_error(cli("train", config), runs_dir) == (
        f"{photos}: no class subfolders; it holds images directly; put the images of each class "
        "in its own "
        f"subfolder, e.g. {photos / 'cat'}/, {photos / 'dog'}/"
    )
    (photos / "cat").mkdir()
    (photos / "dog").mkdir()
    Image.new("RGB", (4, 4)).save(photos / "cat" / "a.png")
    (photos / "dog" / "readme.txt").write_text("hi")
    assert one_error(cli("train", config), runs_dir) == (
        f"{photos / 'dog'}: no images in this class folder (hidden files and non-image suffixes "
        "are ignored)"
    )
    Image.new("RGB", (4, 4), "white").save(photos / "dog" / "b.png")
    (photos / "dog" / "c.jpg").write_text("not really a jpeg")
    assert one_error(cli("train", config), runs_dir) == (
        f"{photos / 'dog' / 'c.jpg'}: not an image file Pillow can read (set dataset.skip_bad: "
        "true to skip "
        "unreadable files)"
    )
    (photos / "dog" / "c.jpg").unlink()
    test = Path("test")
    (test / "cow").mkdir(parents=True)
    Image.new("RGB", (4, 4)).save(test / "cow" / "a.png")
    assert one_error(cli("train", config, "--set", "dataset.test=test/"), runs_dir) == (
        f"{test}: class folder 'cow' is not in the training data {photos} (classes: cat, dog)"
    )
    assert one_error(cli("train", config, "--set", "dataset.images=nowhere/"), runs_dir).startswith(
        "nowhere/: data file not found (searched "
    )


# --------------------------------------------------------------------------- nnctl data inspect


def test_inspect_json(cli, project: Path, tmp_path: Path) -> None:
    r = cli("data", "inspect", project / "configs" / "flowers_csv.yaml", "--json")
    assert r.exit_code == 0, r.stderr
    info = json.loads(r.stdout)
    assert info["kind"] == "csv" and info["features"] == 3
    assert info["classes"] == ["setosa", "versicolor", "virginica"]
    assert info["splits"]["train"]["examples"] == 120 and info["splits"]["test"]["examples"] == 30
    assert sum(info["splits"]["train"]["per_class"].values()) == 120
    assert info["duplicates_train_test"] == 0
    (tmp_path / "a.csv").write_text("a,b,y\n1,2,x\n3,,y\n1,2,x\n")
    (tmp_path / "b.csv").write_text("a,b,y\n1,2,x\n")
    (tmp_path / "c.yaml").write_text(
        "dataset: {train: a.csv, test: b.csv}\nlayer_dims: [auto, 1]\n"
        "activations: [sigmoid]\nlearning_rate: 0.1\niterations: 3\n"
    )
    info = json.loads(cli("data", "inspect", tmp_path / "c.yaml", "--json").stdout)
    assert (
        info["splits"]["train"]["non_finite_cells"] == 1
    )  # the empty cell, counted rather than refused
    assert info["duplicates_train_test"] == 1
    assert info["splits"]["train"]["per_class"] == {"x": 2, "y": 1} and info["class_balance"] == 0.5
    r = cli("data", "inspect", project / "data" / "examples" / "shapes", "--size", "8x8")
    assert r.exit_code == 0, r.stderr
    assert (
        r.stdout.splitlines()[0] == "kind: images, images 8x8x3, classes: circle, square, triangle"
    )


def test_csv_regression_with_two_target_columns_and_errors_dir_for_folders(
    cli, project: Path, tmp_path: Path, runs_dir: Path
) -> None:
    rng = np.random.RandomState(3)
    x = rng.uniform(-1, 1, size=(80, 2))
    with open(tmp_path / "r.csv", "w") as f:
        f.write("u,v,y1,y2\n" + "".join(f"{a},{b},{a + b},{a - b}\n" for a, b in x))
    config = tmp_path / "r.yaml"
    config.write_text(
        "dataset: {train: r.csv, label: [y1, y2], test_fraction: 0.25}\nlayer_dims: [auto, 2]\n"
        "activations: [linear]\nlearning_rate: 0.1\niterations: 300\n"
    )
    out = train_json(cli, config)
    s = summary(out["run_dir"])
    assert s["task"] == "regression" and s["dataset"]["n_features"] == 2 and s["test_r2"] > 0.99
    # an image-folder run writes its misclassified test images, read back from the folder
    run = train_json(cli, project / "configs" / "shapes_folder.yaml", "--set", "epochs=2")
    r = cli("evaluate", run["run_dir"], "--errors", tmp_path / "errors", "--json")
    assert r.exit_code == 0, r.stderr
    ev = json.loads(r.stdout)
    written = sorted((tmp_path / "errors").iterdir())
    assert [int(p.name[:4]) for p in written] == ev["misclassified"]
    ds = load_dataset(
        {
            "train": str(project / "data" / "examples" / "shapes"),
            "size": [16, 16],
            "test_fraction": 0.25,
            "seed": 1,
        }
    )
    for p in written:
        np.testing.assert_array_equal(
            np.asarray(Image.open(p)).reshape(-1) / 255.0, ds.X_test[:, int(p.name[:4])]
        )


def test_the_default_label_column_is_recorded_so_predict_takes_files_with_or_without_it(
    cli, tmp_path: Path, runs_dir: Path, monkeypatch
) -> None:
    rng = np.random.RandomState(4)
    x = rng.randn(40, 2)
    (tmp_path / "d.csv").write_text(
        "a,b,cls\n" + "".join(f"{a},{b},{'pos' if a > 0 else 'neg'}\n" for a, b in x)
    )
    (tmp_path / "new.csv").write_text("a,b\n0.5,1\n-0.5,1\n")
    config = tmp_path / "c.yaml"
    config.write_text(
        "dataset: {train: d.csv}\nlayer_dims: [auto, 1]\nactivations: [sigmoid]\n"
        "learning_rate: 0.5\niterations: 100\n"
    )
    out = train_json(cli, config)
    assert (
        yaml.safe_load((Path(out["run_dir"]) / "config.yaml").read_text())["dataset"]["label"]
        == "cls"
    )
    with_label = json.loads(cli("predict", out["run_dir"], tmp_path / "d.csv", "--json").stdout)
    without = json.loads(cli("predict", out["run_dir"], tmp_path / "new.csv", "--json").stdout)
    assert len(with_label) == 40 and [p["class"] for p in without] == ["pos", "neg"]
    # a CSV too large to parse in memory is refused before it is read
    monkeypatch.setenv("NNCTL_MAX_ARRAY_BYTES", "1000")
    line = one_error(cli("train", config, "--runs-dir", tmp_path / "none"), tmp_path / "none")
    assert line.startswith("d.csv: ") and "convert it to .npy or HDF5 first" in line


def test_an_unreadable_first_image_without_size(cli, tmp_path: Path, runs_dir: Path) -> None:
    (tmp_path / "ph" / "a").mkdir(parents=True)
    (tmp_path / "ph" / "b").mkdir()
    (tmp_path / "ph" / "a" / "0.png").write_text("not a png")
    Image.new("RGB", (5, 3)).save(tmp_path / "ph" / "a" / "1.png")
    Image.new("RGB", (5, 3)).save(tmp_path / "ph" / "b" / "2.png")
    config = tmp_path / "c.yaml"
    config.write_text(
        "dataset: {images: ph}\nlayer_dims: [auto, 1]\nactivations: [sigmoid]\n"
        "learning_rate: 0.1\niterations: 2\n"
    )
    assert one_error(cli("train", config), runs_dir) == (
        "ph/a/0.png: not an image file Pillow can read (set dataset.skip_bad: true to skip "
        "unreadable files)"
    )
    r = cli("data", "import", "ph", "-o", tmp_path / "ph.h5", "--skip-bad")
    assert r.exit_code == 0, r.stderr
    assert "warning: skipped ph/a/0.png: not an image file Pillow can read" in r.stderr
    with h5py.File(tmp_path / "ph.h5") as f:
        assert f["train_set_x"].shape == (2, 3, 5, 3)  # the size of the first readable image
    r = cli("data", "import", "ph", "-o", tmp_path / "no.h5")
    assert r.exit_code == 2 and not (tmp_path / "no.h5").exists()


def test_config_schema_has_the_dataset_reading_keys(cli) -> None:
    schema = json.loads(cli("config", "schema").stdout)
    files = schema["properties"]["dataset"]["anyOf"][2]["properties"]
    assert {
        "label",
        "features",
        "delimiter",
        "x_key",
        "y_key",
        "size",
        "color",
        "skip_bad",
        "test_fraction",
        "seed",
        "kind",
        "images",
    } <= set(files)
    assert files["kind"]["anyOf"][0]["enum"] == ["images", "hdf5", "npy", "npz", "csv"]
    assert schema["properties"]["normalize"]["enum"] == ["auto", "standard", "minmax", "none"]


def test_a_folder_imports_a_window_at_a_time_and_can_be_shuffled(
    cli, project: Path, tmp_path: Path, monkeypatch
) -> None:
    from nnctl.commands.datatools import importing as tools
    from nnctl.data import ReadOptions, read_folder

    shapes = project / "data" / "examples" / "shapes"
    monkeypatch.setattr(tools, "IMPORT_WINDOW", 5)  # 72 images in 15 windows: never all in memory
    seen = []
    real = tools.np.empty

    def recording(shape, *args, **kwargs):
        seen.append(tuple(shape) if isinstance(shape, tuple) else shape)
        return real(shape, *args, **kwargs)

    monkeypatch.setattr(tools.np, "empty", recording)
    r = cli("data", "import", shapes, "-o", tmp_path / "s.h5", "--size", "16x16")
    monkeypatch.setattr(tools.np, "empty", real)
    assert r.exit_code == 0, r.stderr
    assert (5, 16, 16, 3) in seen and not any(
        s and s[0] == 72 for s in seen if isinstance(s, tuple)
    )
    whole = read_folder(shapes, ReadOptions({"size": [16, 16]}))
    with h5py.File(tmp_path / "s.h5") as f:
        x, y = f["train_set_x"][()], f["train_set_y"][()]
    assert np.array_equal(x, whole.x) and np.array_equal(
        y, whole.y
    )  # the same bytes as reading it whole
    # --shuffle SEED: the same examples in a seeded order, the same file for the same seed
    r = cli("data", "import", shapes, "-o", tmp_path / "r.h5", "--size", "16x16", "--shuffle", "3")
    assert r.exit_code == 0, r.stderr
    assert "classes circle, square, triangle, shuffled (seed 3)" in r.stderr
    order = np.random.default_rng(3).permutation(72)
    with h5py.File(tmp_path / "r.h5") as f:
        assert np.array_equal(f["train_set_x"][()], whole.x[order])
        assert np.array_equal(f["train_set_y"][()], whole.y[order])
    cli("data", "import", shapes, "-o", tmp_path / "r2.h5", "--size", "16x16", "--shuffle", "3")
    with h5py.File(tmp_path / "r.h5") as a, h5py.File(tmp_path / "r2.h5") as b:
        assert np.array_equal(a["train_set_x"][()], b["train_set_x"][()])


def test_a_negative_shuffle_seed_is_a_usage_error(cli, project: Path, tmp_path: Path) -> None:
    r = cli(
        "data",
        "import",
        project / "data" / "examples" / "shapes",
        "-o",
        tmp_path / "s.h5",
        "--shuffle=-1",
    )
    assert r.exit_code == 2
    assert r.stderr.strip() == "error: --shuffle: must be 0 or more, got -1"
    assert not (tmp_path / "s.h5").exists()
