"""Dataset loading: HDF5 layout discovery, validation errors, path resolution, generators."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest

from nnctl.data import load_dataset, prepare_x, resolve_path
from nnctl.system import DataError


def make_h5(
    path: Path,
    x: np.ndarray,
    y: np.ndarray,
    prefix: str = "train_set",
    classes: list[bytes] | None = (b"no", b"yes"),
) -> Path:
    with h5py.File(path, "w") as f:
        f[f"{prefix}_x"] = x
        f[f"{prefix}_y"] = y
        if classes is not None:
            f["list_classes"] = np.array(classes)
    return path


def images(m: int, seed: int = 0) -> np.ndarray:
    return np.random.RandomState(seed).randint(0, 256, size=(m, 4, 5, 3)).astype(np.uint8)


def test_h5_any_prefix_flattened_and_scaled_like_the_course(tmp_path: Path) -> None:
    x = images(6)
    y = np.array([0, 1, 1, 0, 1, 0])
    make_h5(tmp_path / "a.h5", x, y, prefix="mytrain")
    make_h5(tmp_path / "b.h5", images(3, 1), np.array([1, 0, 1]), prefix="holdout")
    ds = load_dataset({"train": str(tmp_path / "a.h5"), "test": str(tmp_path / "b.h5")})
    np.testing.assert_array_equal(ds.X_train, x.reshape(6, -1).T / 255.0)
    assert ds.X_train.shape == (60, 6) and ds.X_test.shape == (60, 3)
    assert ds.Y_train.tolist() == [[0, 1, 1, 0, 1, 0]] and ds.Y_test.shape == (1, 3)
    assert ds.classes == ["no", "yes"] and ds.input_shape == (4, 5, 3)
    assert ds.kind == "image" and ds.divide_by == 255.0
    assert [s["role"] for s in ds.sources] == ["train", "test"]
    assert len(ds.sources[0]["sha256"]) == 64


def test_float32_data_is_float32(tmp_path: Path) -> None:
    make_h5(tmp_path / "a.h5", images(4), np.array([0, 1, 1, 0]))
    ds = load_dataset({"train": str(tmp_path / "a.h5")}, "float32")
    assert ds.X_train.dtype == np.float32 and ds.X_test is None
    np.testing.assert_array_equal(
        ds.X_train, images(4).reshape(4, -1).T.astype(np.float32) / np.float32(255)
    )


@pytest.mark.parametrize(
    "x,y,message",
    [
        (
            np.array([[0.1, np.nan], [0.2, 0.3]]),
            np.array([0, 1]),
            "train_set_x: 1 NaN or infinite value(s)",
        ),
        (
            np.array([[0.1, np.inf], [0.2, 0.3]]),
            np.array([0, 1]),
            "train_set_x: 1 NaN or infinite value(s)",
        ),
        (
            np.ones((3, 2)),
            np.array([0, 1]),
            "train_set_x has 3 examples but train_set_y has 2 labels",
        ),
        (
            np.ones((3, 2)),
            np.array([0, 1, 2]),
            "train_set_y: label 2 is outside the classes 0..1 (no, yes)",
        ),
        (
            np.ones((3, 2)),
            np.array([0, -1, 1]),
            "train_set_y: label -1 is outside the classes 0..1",
        ),
        (
            np.ones((3, 2)),
            np.array([0.0, 0.5, 1.0]),
            "train_set_y: labels must be whole class numbers",
        ),
    ],
)
def test_bad_arrays_are_refused_naming_file_and_array(tmp_path, x, y, message) -> None:
    path = make_h5(tmp_path / "bad.h5", x, y)
    with pytest.raises(DataError) as exc:
        load_dataset({"train": str(path)})
    assert str(exc.value).startswith(str(path)) and message in str(exc.value)


def test_bad_test_file_is_named(tmp_path: Path) -> None:
    make_h5(tmp_path / "a.h5", images(4), np.array([0, 1, 1, 0]))
    make_h5(tmp_path / "t.h5", images(2), np.array([0, 3]), prefix="test_set")
    with pytest.raises(DataError, match=r"t\.h5: test_set_y: label 3 is outside"):
        load_dataset({"train": str(tmp_path / "a.h5"), "test": str(tmp_path / "t.h5")})


def test_missing_arrays_and_non_hdf5(tmp_path: Path) -> None:
    with h5py.File(tmp_path / "e.h5", "w") as f:
        f["images"] = np.ones((2, 2))
    with pytest.raises(
        DataError, match=r"expected exactly one '\*_x' and one '\*_y' array, found images"
    ):
        load_dataset({"train": str(tmp_path / "e.h5")})
    (tmp_path / "n.h5").write_text("not hdf5")
    with pytest.raises(DataError, match="not a readable HDF5 file"):
        load_dataset({"train": str(tmp_path / "n.h5")})


def test_paths_resolve_in_cwd_then_data_dir(tmp_path: Path, monkeypatch) -> None:
    store = tmp_path / "store"
    store.mkdir()
    make_h5(store / "cats.h5", images(2), np.array([0, 1]))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("NNCTL_DATA_DIR", str(store))
    assert resolve_path("data/cats.h5") == store / "cats.h5"  # by file name under the data dir
    (tmp_path / "data").mkdir()
    make_h5(tmp_path / "data" / "cats.h5", images(2), np.array([0, 1]))
    assert resolve_path("data/cats.h5") == Path("data/cats.h5")  # the working directory wins
    with pytest.raises(DataError, match=f"searched {tmp_path}/nope.h5, {store}/nope.h5"):
        resolve_path("nope.h5")


def test_planar_reproduces_the_course_generator() -> None:
    # The course's load_planar_dataset(), written independently with the global RNG.
    np.random.seed(1)
    m, N, a = 400, 200, 4
    X = np.zeros((m, 2))
    Y = np.zeros((m, 1), dtype="uint8")
    for j in range(2):
        ix = range(N * j, N * (j + 1))
        t = np.linspace(j * 3.12, (j + 1) * 3.12, N) + np.random.randn(N) * 0.2
        r = a * np.sin(4 * t) + np.random.randn(N) * 0.2
        X[ix] = np.c_[r * np.sin(t), r * np.cos(t)]
        Y[ix] = j
    ds = load_dataset(
        {"synthetic": "planar", "m": 400, "test_fraction": 0.0, "seed": 1, "noise": 0.2}
    )
    np.testing.assert_array_equal(ds.X_train, X.T)
    np.testing.assert_array_equal(ds.Y_train, Y.T)
    assert ds.X_test is None


@pytest.mark.parametrize("name", ["planar", "moons", "circles"])  # the two-class 2-D generators
def test_generators_split_and_balance(name: str) -> None:
    spec = {"synthetic": name, "m": 101, "test_fraction": 0.2, "seed": 5, "noise": None}
    ds = load_dataset(spec)
    assert ds.X_train.shape == (2, 81) and ds.X_test.shape == (2, 20)
    y = np.concatenate([ds.Y_train, ds.Y_test], axis=1)
    assert sorted(np.bincount(y[0]).tolist()) == [50, 51]
    again = load_dataset(spec)
    np.testing.assert_array_equal(ds.X_test, again.X_test)
    other = load_dataset({**spec, "seed": 6})
    assert not np.array_equal(ds.X_train, other.X_train)


def test_split_does_not_move_the_points() -> None:
    a = load_dataset(
        {"synthetic": "moons", "m": 50, "test_fraction": 0.0, "seed": 2, "noise": None}
    )
    b = load_dataset(
        {"synthetic": "moons", "m": 50, "test_fraction": 0.3, "seed": 2, "noise": None}
    )
    pooled = np.concatenate([b.X_train, b.X_test], axis=1)
    assert sorted(map(tuple, pooled.T)) == sorted(map(tuple, a.X_train.T))


def test_prepare_x_shared_by_train_and_predict() -> None:
    x = images(3)
    np.testing.assert_array_equal(prepare_x(x, 255.0, np.float64), x.reshape(3, -1).T / 255.0)
    np.testing.assert_array_equal(prepare_x(np.ones((2, 3)), 1.0, np.float64), np.ones((3, 2)))
