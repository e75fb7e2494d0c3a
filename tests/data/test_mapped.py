"""Training data mapped from its HDF5 file instead of copied (``readers.hdf5.map_contiguous``):
the same bits as the read, only where the file's layout allows it, never outside the file, the
memory estimate leaving the mapped examples out, and the arrays pickling (sweep workers) as
plain arrays."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import h5py
import numpy as np
import pytest

from helpers import write_config
from nnctl.config import load_config
from nnctl.data import is_mapped, load_dataset, map_contiguous, map_region, normalize, prepare_x
from nnctl.system import training_estimate
from nnctl.training.binding import _mapped_examples, bind


def _h5(path: Path, x: np.ndarray, m: int | None = None, userblock: int = 0, **dset_kw) -> Path:
    m = x.shape[0] if m is None else m
    kw = {"userblock_size": userblock} if userblock else {}
    with h5py.File(path, "w", **kw) as f:
        f.create_dataset("train_x", data=x, **dset_kw)
        f["train_y"] = np.arange(m) % 2
    return path


def _x(dtype: str = "float32", m: int = 300, n: int = 7) -> np.ndarray:
    rng = np.random.default_rng(3)
    x = rng.standard_normal((m, n)).astype(dtype)
    x[0, 0] = -0.0  # the sign of a zero survives too
    return x


def _read(path: Path, dtype: type) -> np.ndarray:
    with h5py.File(path, "r") as f:
        return prepare_x(f["train_x"][()], 1.0, dtype)


@pytest.mark.parametrize("dtype,userblock", [("float32", 0), ("float64", 0), ("float32", 512)])
def test_a_contiguous_float_x_is_mapped_with_the_bits_of_the_read(
    tmp_path: Path, dtype: str, userblock: int
) -> None:
    path = _h5(tmp_path / "d.h5", _x(dtype), userblock=userblock)
    ds = load_dataset({"train": str(path)}, dtype)
    assert is_mapped(ds.X_train)
    assert not ds.X_train.flags.writeable
    want = _read(path, np.dtype(dtype).type)
    assert ds.X_train.shape == want.shape and ds.X_train.dtype == want.dtype
    assert ds.X_train.tobytes(order="A") == want.tobytes(order="A")
    assert ds.X_train.strides == want.strides  # column-major, as a read X is


def test_what_is_not_mapped_is_read_as_before(tmp_path: Path) -> None:
    x = _x("float32")
    cases = {
        "chunked": _h5(tmp_path / "c.h5", x, chunks=(50, 7)),
        "compressed": _h5(tmp_path / "z.h5", x, compression="gzip"),
        "big-endian": _h5(tmp_path / "b.h5", x.astype(">f4")),
        "integers": _h5(tmp_path / "i.h5", (x * 10).astype(np.int16)),
    }
    for what, path in cases.items():
        ds = load_dataset({"train": str(path)}, "float32")
        assert not is_mapped(ds.X_train), what
        with h5py.File(path, "r") as f:
            want = prepare_x(f["train_x"][()], 1.0, np.float32)
        np.testing.assert_array_equal(ds.X_train, want, err_msg=what)
    # a float32 file for a float64 run: converted from the map, so a new array
    ds = load_dataset({"train": str(_h5(tmp_path / "f.h5", x))}, "float64")
    assert not is_mapped(ds.X_train) and ds.X_train.dtype == np.float64
    assert ds.X_train.tobytes(order="A") == _read(tmp_path / "f.h5", np.float64).tobytes(order="A")


def test_only_the_training_loader_maps(tmp_path: Path) -> None:
    """``data inspect``/``import``, predict and the course reader (``read_h5``) read as before."""
    from nnctl.data import read_h5

    path = _h5(tmp_path / "d.h5", _x())
    assert not is_mapped(read_h5(path).x)


def test_a_region_outside_the_file_is_never_mapped(tmp_path: Path) -> None:
    path = tmp_path / "blob"
    path.write_bytes(bytes(4096))
    f4 = np.dtype(np.float32)
    assert map_region(path, 0, (1024,), f4) is not None  # exactly the file
    assert map_region(path, 4, (1024,), f4) is None  # one value past the end
    assert map_region(path, 8192, (1,), f4) is None  # starts past the end
    assert map_region(path, -4, (4,), f4) is None
    assert map_region(path, 0, (0,), f4) is None
    assert map_region(tmp_path / "missing", 0, (1,), f4) is None


def test_a_dataset_never_written_is_not_mapped(tmp_path: Path) -> None:
    with h5py.File(tmp_path / "e.h5", "w") as f:
        f.create_dataset("train_x", shape=(10, 3), dtype="f4")  # no storage allocated
        assert map_contiguous(f["train_x"], tmp_path / "e.h5") is None


def test_a_header_placing_the_values_outside_the_file_is_refused_in_one_line(
    tmp_path: Path, cli, runs_dir
) -> None:
    """The contiguous layout message's address moved past the end: HDF5 itself refuses it; the
    run ends with one error line naming the file (and map_region would not map it)."""
    x = _x(m=200, n=30)
    path = _h5(tmp_path / "lie.h5", x)
    with h5py.File(path, "r") as f:
        offset = f["train_x"].id.get_offset()
    data = bytearray(path.read_bytes())
    pattern = b"\x03\x01" + offset.to_bytes(8, "little") + x.nbytes.to_bytes(8, "little")
    assert data.count(pattern) == 1
    i = data.index(pattern)
    data[i + 2 : i + 10] = (len(data) - 100).to_bytes(8, "little")
    path.write_bytes(bytes(data))
    cfg = write_config(
        tmp_path / "c.yaml",
        f"dataset: {{train: {path}}}\nlayer_dims: [30, 1]\n"
        "activations: [sigmoid]\nlearning_rate: 0.1\niterations: 2\n",
    )
    r = cli("train", cfg, "--quiet")
    assert r.exit_code == 2
    assert (
        r.stderr.startswith("error: ")
        and str(path) in r.stderr
        and len(r.stderr.strip().splitlines()) == 1
    )
    assert "Traceback" not in r.stderr


def test_training_on_a_mapped_file_equals_training_on_the_read_values(
    tmp_path: Path, cli, runs_dir
) -> None:
    """The same file once contiguous (mapped) and once chunked (read): the same run, bit for bit."""
    x = _x(m=400, n=12)
    results = []
    for name, kw in (("mapped", {}), ("read", {"chunks": (100, 12)})):
        path = _h5(tmp_path / f"{name}.h5", x, **kw)
        cfg = write_config(
            tmp_path / f"{name}.yaml",
            (
                f"dataset: {{train: {path}}}\nlayer_dims: [12, 8, 1]\n"
                "activations: [relu, sigmoid]\n"
                "optimizer: adam\nlearning_rate: 0.01\nbatch_size: 64\nepochs: 3\ndtype: float32\n"
            ),
        )
        r = cli("train", cfg, "--quiet", "--json")
        assert r.exit_code == 0, r.stderr
        out = json.loads(r.stdout)
        params = np.load(Path(out["run_dir"]) / "params.npz")
        results.append(
            (
                out["final_cost"],
                out["train_accuracy"],
                {k: params[k].tobytes() for k in params.files},
            )
        )
    assert results[0] == results[1]


def test_mapped_arrays_pickle_as_plain_arrays(tmp_path: Path) -> None:
    """A sweep sends the dataset to its workers: they get the values, not a map."""
    ds = load_dataset({"train": str(_h5(tmp_path / "d.h5", _x()))}, "float32")
    back = pickle.loads(pickle.dumps(ds.X_train, protocol=5))
    assert type(back) is np.ndarray and not is_mapped(back)
    assert back.tobytes(order="A") == ds.X_train.tobytes(order="A")


def test_the_memory_estimate_leaves_mapped_examples_out(tmp_path: Path) -> None:
    path = _h5(tmp_path / "d.h5", _x(m=300, n=7))
    text = (
        f"dataset: {{train: {path}}}\nlayer_dims: [7, 3, 1]\nactivations: [relu, sigmoid]\n"
        "learning_rate: 0.1\niterations: 2\ndtype: float32\n"
    )
    cfg = load_config(write_config(tmp_path / "a.yaml", text))
    ds = load_dataset(cfg.dataset, cfg.dtype)
    assert _mapped_examples(cfg, ds) == 300
    full = training_estimate(cfg, 7, 300, 0, 0)
    mapped = training_estimate(cfg, 7, 300, 0, 0, mapped_examples=300)
    assert full.parts["dataset"] == 7 * 300 * 4 and mapped.parts["dataset"] == 0
    # a validation hold-out copies the training columns; a normalization makes new arrays
    held = load_config(write_config(tmp_path / "b.yaml", text + "validation_fraction: 0.2\n"))
    assert _mapped_examples(held, ds) == 0
    normed = load_config(write_config(tmp_path / "n.yaml", text + "normalize: standard\n"))
    assert _mapped_examples(normed, ds) == 0
    # and binding trains on the map
    assert is_mapped(bind(cfg).dataset.X_train)
    assert not is_mapped(bind(held).dataset.X_train)


@pytest.mark.parametrize("m,block", [(300, 7), (300, 300), (300, 1024), (4097, 1024)])
def test_feature_spreads_equal_the_whole_array_std(m: int, block: int) -> None:
    rng = np.random.default_rng(5)
    X = np.asfortranarray(
        (rng.standard_normal((6, m)) * np.array([[1e-3], [1], [10], [1e3], [0], [5]]) + 7).astype(
            np.float32
        )
    )
    want = np.asarray(X, dtype=np.float64).std(axis=1)
    got = normalize.feature_spreads(X, block)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-300)
    assert got[4] == 0.0


def test_training_on_an_hdf5_file_imports_only_what_it_uses(tmp_path: Path) -> None:
    """The whole ``nnctl train`` process on an HDF5 file: no other kind's reader, no image
    library, nothing of the optional extras (start-up is part of every run's time)."""
    import subprocess
    import sys

    path = _h5(tmp_path / "d.h5", _x(m=64, n=5))
    cfg = write_config(
        tmp_path / "c.yaml",
        f"dataset: {{train: {path}}}\nlayer_dims: [5, 1]\n"
        "activations: [sigmoid]\nlearning_rate: 0.1\niterations: 2\n",
    )
    code = (
        "import sys; from nnctl.cli import main\n"
        f"sys.argv = ['nnctl', 'train', {str(cfg)!r}, '--quiet', '--runs-dir', "
        f"{str(tmp_path / 'runs')!r}]\n"
        "try: main()\nexcept SystemExit as e: assert not e.code, e.code\n"
        "print(' '.join(sorted(sys.modules)), file=sys.stderr)"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    loaded = set(out.stderr.split())
    assert "nnctl.data.readers.hdf5" in loaded and "nnctl.commands.train" in loaded
    unused = {
        "nnctl.data.readers.folder",
        "nnctl.data.readers.numpyfile",
        "nnctl.data.readers.csvfile",
        "nnctl.data.images",
        "PIL",
        "scipy",
        "matplotlib",
        "optuna",
        "distributed",
        "dask",
        "onnx",
        "torch",
        "pandas",
    }
    assert loaded & unused == set()


def test_the_scale_warning_of_a_large_x_looks_at_evenly_spaced_examples(monkeypatch) -> None:
    rng = np.random.default_rng(0)
    X = (rng.standard_normal((3, 40_000)) * np.array([[1.0], [1e3], [1.0]])).astype(np.float32)
    shapes = []
    real = normalize.feature_spreads

    def recording(A, *args, **kwargs):
        shapes.append(A.shape)
        return real(A, *args, **kwargs)

    monkeypatch.setattr(normalize, "feature_spreads", recording)
    warning = normalize.scale_warning(X, "x.h5")
    assert shapes == [(3, 20_000)]  # every second example: at least SPREAD_SAMPLE of them
    assert warning is not None and warning.startswith(
        "x.h5: feature spreads differ by a factor of 9"
    )  # ~1000
    assert normalize.scale_warning(X[[0, 2]], "x.h5") is None
    assert normalize.scale_warning(X[:, :100], "x.h5") is not None and shapes[-1] == (
        3,
        100,
    )  # small: all
