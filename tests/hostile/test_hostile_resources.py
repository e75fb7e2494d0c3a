"""Issue 15, classes 1 and 2: resources are bounded before they are spent, and nothing waits
forever. Each case runs nnctl in a subprocess with an address-space limit and a timeout, and
asserts the one error line, the exit status, the peak memory and that no run was left."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import pytest

from helpers import MOONS_SMALL, write_config
from helpers.hostile import billion_laughs, fifo, inflating_npy_member, npy_declaring, run_bounded
from nnctl.config import MAX_YAML_DEPTH, MAX_YAML_NODES, parse_yaml
from nnctl.system import (
    MAX_CONFIG_BYTES,
    ConfigError,
    DeclaredTooLarge,
    NotRegularFile,
    check_declared,
    human_bytes,
    npz_headers,
    open_regular,
    read_capped,
    training_estimate,
)

AS_MIB = 1024  # address space the subprocesses get: far below what any refused input asks for
PEAK_MIB = 200  # peak resident memory a refusal may take (nnctl itself is ~40-60 MiB)


def _refused(r, *needles: str, code: int = 2) -> str:
    assert r.returncode == code, (r.returncode, r.stderr)
    assert "Traceback" not in r.stderr
    assert r.peak_mib < PEAK_MIB, r.peak_mib
    for n in needles:
        assert n in r.stderr, (n, r.stderr)
    return r.stderr


# --------------------------------------------------------------------------- YAML bounds


@pytest.mark.parametrize("levels", [6, 9, 12])
def test_billion_laughs_config_is_refused_in_bounded_memory(tmp_path: Path, levels: int) -> None:
    path = write_config(tmp_path / "laughs.yaml", billion_laughs(levels))
    assert len(path.read_bytes()) < 1000
    for cmd in (
        ("train", path),
        ("config", "check", path, "--no-data"),
        ("config", "show", path, "--no-data"),
    ):
        r = run_bounded(
            *cmd, cwd=tmp_path, runs_dir=tmp_path / "runs", address_space_mib=AS_MIB, timeout=30
        )
        _refused(r, f"refused: aliases expand to more than {MAX_YAML_NODES:,} values")
    assert not (tmp_path / "runs").exists()


def test_billion_laughs_through_set_is_refused(tmp_path: Path) -> None:
    cfg = write_config(tmp_path / "m.yaml", MOONS_SMALL)
    value = (
        "[&a [1,1,1,1,1,1,1,1,1,1], &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a], "
        "&c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b], &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c], "
        "&e [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d], [*e,*e,*e,*e,*e,*e,*e,*e,*e,*e]]"
    )
    r = run_bounded(
        "train",
        cfg,
        "--set",
        f"layer_dims={value}",
        cwd=tmp_path,
        runs_dir=tmp_path / "runs",
        address_space_mib=AS_MIB,
        timeout=30,
    )
    err = _refused(r, "--set layer_dims=", "refused: aliases expand")
    assert len(err.splitlines()) == 1 and len(err) < 400  # the value is quoted cut short


@pytest.mark.parametrize(
    "text,needle",
    [
        ("a: &a [*a]\n", "an alias refers to a value that contains it"),
        (
            "layer_dims: " + "[" * 60 + "]" * 60 + "\n",
            f"nested more than {MAX_YAML_DEPTH} levels deep",
        ),
        (
            "layer_dims: " + "[" * 600 + "]" * 600 + "\n",
            f"nested more than {MAX_YAML_DEPTH} levels deep",
        ),
        ("layer_dims: " + "[" * 5000 + "]" * 5000 + "\n", "nest"),
        (
            "x:\n" + "".join("  " * i + f"k{i}:\n" for i in range(1, 80)) + "  " * 80 + "v: 1\n",
            "nested more than",
        ),
        ("- " * 900 + "1\n", "nest"),
    ],
)
def test_recursive_and_deep_yaml_are_one_error_line(text: str, needle: str) -> None:
    with pytest.raises(ConfigError) as exc:
        parse_yaml(text, "c.yaml")
    assert str(exc.value).startswith("c.yaml: ") and needle in str(exc.value)


def test_deep_config_file_is_exit_2_without_traceback(tmp_path: Path) -> None:
    path = write_config(tmp_path / "deep.yaml", "layer_dims: " + "[" * 900 + "]" * 900 + "\n")
    r = run_bounded(
        "train", path, cwd=tmp_path, runs_dir=tmp_path / "runs", address_space_mib=AS_MIB
    )
    _refused(r, "deep.yaml: ")


def test_config_size_is_capped_and_big_comment_files_are_refused_quickly(tmp_path: Path) -> None:
    path = tmp_path / "comments.yaml"
    path.write_text(("# " + "x" * 97 + "\n") * 60_000)  # 6 MB of comments
    r = run_bounded(
        "train",
        path,
        cwd=tmp_path,
        runs_dir=tmp_path / "runs",
        address_space_mib=AS_MIB,
        timeout=20,
    )
    _refused(
        r,
        f"comments.yaml: larger than {human_bytes(MAX_CONFIG_BYTES)}, more than a config may have",
    )
    # just under the cap, comments parse (with the C parser) and the config is judged on its keys
    path.write_text(("# " + "x" * 97 + "\n") * 10_000 + MOONS_SMALL)
    r = run_bounded(
        "config", "check", path, "--no-data", cwd=tmp_path, runs_dir=tmp_path / "runs", timeout=20
    )
    assert r.returncode == 0, r.stderr


def test_values_quoted_in_messages_are_cut_short() -> None:
    with pytest.raises(ConfigError) as exc:
        from nnctl.config import resolve

        resolve(
            {
                "dataset": "moons",
                "layer_dims": ["x" * 10_000],
                "activations": ["sigmoid"],
                "learning_rate": 0.1,
                "iterations": 1,
            },
            "c.yaml",
        )
    assert len(str(exc.value)) < 300 and "..." in str(exc.value)
    with pytest.raises(ConfigError) as exc:
        resolve({"k" * 5000: 1}, "c.yaml")
    assert len(str(exc.value)) < 600


# --------------------------------------------------------------------------- memory estimate


@pytest.mark.parametrize(
    "dims,extra,needle",
    [
        ("[auto, 1000000000, 1]", [], "needs at least"),
        ("[auto, 200000, 200000, 1]", [], "parameters and optimizer state 894.1 GiB"),
        ("[auto, 100000, 1]", ["--set", "dataset.m=2000000"], "activations"),
        (
            "[auto, 20000, 20000, 1]",
            ["--set", "optimizer=adam"],
            "parameters and optimizer state 14.9 GiB",
        ),
    ],
)
def test_a_config_too_big_for_memory_is_refused_before_allocating(
    tmp_path: Path, dims: str, extra: list, needle: str
) -> None:
    cfg = write_config(tmp_path / "big.yaml", MOONS_SMALL)
    r = run_bounded(
        "train",
        cfg,
        "--set",
        f"layer_dims={dims}",
        "--set",
        "activations={hidden: relu, output: sigmoid}",
        *extra,
        cwd=tmp_path,
        runs_dir=tmp_path / "runs",
        address_space_mib=AS_MIB,
        timeout=30,
    )
    err = _refused(r, f"layer_dims {dims}", needle, "of memory", "is available")
    assert len(err.strip().splitlines()) == 1
    assert not (tmp_path / "runs").exists()  # nothing created, no run left "failed"


def test_memory_refusal_follows_the_address_space_limit(tmp_path: Path) -> None:
    # ~350 MiB of parameters and state: fits in 1 GiB of address space, not in 400 MiB
    cfg = write_config(tmp_path / "m.yaml", MOONS_SMALL.replace("iterations: 300", "iterations: 1"))
    args = (
        "train",
        cfg,
        "-q",
        "--set",
        "layer_dims=[auto, 3000, 3000, 1]",
        "--set",
        "optimizer=adam",
        "--set",
        "activations={hidden: relu, output: sigmoid}",
    )
    r = run_bounded(
        *args, cwd=tmp_path, runs_dir=tmp_path / "runs", address_space_mib=AS_MIB, timeout=60
    )
    assert r.returncode == 0, r.stderr
    r = run_bounded(
        *args, cwd=tmp_path, runs_dir=tmp_path / "other", address_space_mib=400, timeout=60
    )
    _refused(r, "of memory (parameters and optimizer state 343.8 MiB", "is available")
    assert not (tmp_path / "other").exists()


def test_estimate_counts_parameters_state_data_and_activations(tmp_path: Path) -> None:
    from nnctl.config import load_config

    cfg = load_config(write_config(tmp_path / "m.yaml", MOONS_SMALL))
    from nnctl.training import optimizer_slots

    assert optimizer_slots(cfg) == 0
    est = training_estimate(cfg, n_x=2, m_train=150, m_other=50, optimizer_slots=0)
    n_params = 2 * 8 + 8 + 8 * 1 + 1
    assert est.parts["dataset"] == 2 * 200 * 8
    assert est.parts["parameters and optimizer state"] == n_params * 8 * 3  # params, grads, a copy
    assert est.parts["activations"] == (8 + 1) * 150 * 8 * 3
    # every example's label; the full batch's targets and the loss's two temporaries
    assert est.parts["labels and targets"] == 200 * 8 + 1 * 150 * 8 * 3
    # scoring the larger split (150): Z and A of each layer, targets and temporaries
    assert est.parts["scoring"] == ((8 + 1) * 2 + 1 * 3) * 150 * 8
    assert est.total == sum(est.parts.values())
    adam = load_config(write_config(tmp_path / "a.yaml", MOONS_SMALL + "optimizer: adam\n"))
    assert optimizer_slots(adam) == 2
    assert (
        training_estimate(adam, 2, 150, 50, 2).parts["parameters and optimizer state"]
        == n_params * 8 * 5
    )


# --------------------------------------------------------------------------- declared sizes


def test_check_declared_refuses_before_reading() -> None:
    assert check_declared((10, 3), np.float64, 240, "x") == 240
    with pytest.raises(
        DeclaredTooLarge,
        match=r"x: declares shape \(10\*\*12|x: declares shape \(1000000000000, 2\)",
    ):
        check_declared((10**12, 2), np.float64, 1 << 30, "x")


def _moons_run(tmp_path: Path) -> Path:
    cfg = write_config(tmp_path / "m.yaml", MOONS_SMALL)
    r = run_bounded("train", cfg, "-q", "--json", cwd=tmp_path, runs_dir=tmp_path / "runs")
    assert r.returncode == 0, r.stderr
    return Path(json.loads(r.stdout)["run_dir"])


def test_inflating_params_member_is_refused_from_its_header(tmp_path: Path) -> None:
    run = _moons_run(tmp_path)
    with np.load(run / "params.npz") as z:
        good = {k: z[k] for k in z.files}
    with zipfile.ZipFile(run / "params.npz", "w", zipfile.ZIP_DEFLATED) as zf:
        for k, v in good.items():
            if k != "W1":
                with zf.open(f"{k}.npy", "w") as f:
                    np.lib.format.write_array(f, v)
        inflating_npy_member(zf, "W1", (8, 2, 1 << 23))  # 1 GiB once inflated
    assert (run / "params.npz").stat().st_size < 8 << 20
    (tmp_path / "p.csv").write_text("0.5,0.5\n")
    for cmd in (
        ("predict", run, "p.csv"),
        ("evaluate", run, "--split", "test"),
        ("export", run, "-o", "x.npz"),
    ):
        r = run_bounded(
            *cmd, cwd=tmp_path, runs_dir=tmp_path / "runs", address_space_mib=AS_MIB, timeout=30
        )
        _refused(
            r, "params.npz: W1 has shape (8, 2, 8388608), but config.yaml's layer_dims say (8, 2)"
        )


def test_extra_member_inflating_is_refused_by_size(tmp_path: Path) -> None:
    from nnctl.runs import read_params
    from nnctl.system import RunError

    path = tmp_path / "p.npz"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        inflating_npy_member(zf, "junk", (1 << 28,))  # 2 GiB of zeros, a few MB on disk
    with pytest.raises(
        RunError, match=r"junk: declares shape \(268435456,\) of float64 \(2.0 GiB\)"
    ):
        read_params(path)
    assert set(npz_headers(path)) == {"junk"}


def test_npy_declaring_a_huge_shape_fails_alone_and_the_good_inputs_are_predicted(
    tmp_path: Path,
) -> None:
    run = _moons_run(tmp_path)
    npy_declaring(tmp_path / "huge.npy", (10**12, 2))
    npy_declaring(tmp_path / "wide.npy", (2, 10**11))
    (tmp_path / "good.csv").write_text("0.1,0.2\n1.5,-0.3\n")
    r = run_bounded(
        "predict",
        run,
        "huge.npy",
        "good.csv",
        "wide.npy",
        "--json",
        cwd=tmp_path,
        runs_dir=tmp_path / "runs",
        address_space_mib=AS_MIB,
        timeout=30,
    )
    err = _refused(
        r, "huge.npy: declares shape (1000000000000, 2)", "wide.npy: declares shape", code=1
    )
    assert "2 input(s) failed, 2 prediction(s) made" in err
    assert [p["input"] for p in json.loads(r.stdout)] == ["good.csv[0]", "good.csv[1]"]


# --------------------------------------------------------------------------- no waiting forever


def test_open_regular_refuses_fifos_devices_and_directories(tmp_path: Path) -> None:
    f = fifo(tmp_path / "pipe")
    for path, what in ((f, "a FIFO"), (Path("/dev/zero"), "a device"), (tmp_path, "a directory")):
        with pytest.raises(NotRegularFile, match=what):
            open_regular(path)
    (tmp_path / "ok").write_bytes(b"12345")
    assert read_capped(tmp_path / "ok", 5) == b"12345"
    with pytest.raises(OSError, match="larger than"):
        read_capped(tmp_path / "ok", 4)


def test_fifo_config_is_refused_not_waited_on(tmp_path: Path) -> None:
    fifo(tmp_path / "c.yaml")
    for cmd in (("train", "c.yaml"), ("config", "check", "c.yaml"), ("gradcheck", "c.yaml")):
        r = run_bounded(*cmd, cwd=tmp_path, runs_dir=tmp_path / "runs", timeout=20)
        _refused(r, "c.yaml: is a FIFO (named pipe), expected a YAML config file")
    r = run_bounded("train", "/dev/zero", cwd=tmp_path, runs_dir=tmp_path / "runs", timeout=20)
    _refused(r, "/dev/zero: is a device, expected a YAML config file")


@pytest.mark.parametrize(
    "name,cmd,needle",
    [
        ("params.npz", ("predict", "{run}", "p.csv"), "params.npz: is a FIFO (named pipe)"),
        ("params.npz", ("export", "{run}", "-o", "x.npz"), "params.npz: is a FIFO (named pipe)"),
        ("summary.json", ("runs", "show", "{run}"), "not a run directory (no summary.json)"),
        ("summary.json", ("predict", "{run}", "p.csv"), "not a run directory (no summary.json)"),
        (
            "config.yaml",
            ("predict", "{run}", "p.csv"),
            "config.yaml: missing; the run directory is damaged",
        ),
        ("config.yaml", ("runs", "show", "{run}"), "config.yaml: cannot read: is a FIFO"),
        ("history.csv", ("runs", "show", "{run}"), "history.csv: cannot read: is a FIFO"),
        ("checkpoint.npz", ("train", "--resume", "{run}"), "checkpoint.npz: is a FIFO"),
    ],
)
def test_fifo_in_place_of_a_run_file_is_refused(
    tmp_path: Path, name: str, cmd: tuple, needle: str
) -> None:
    run = _moons_run(tmp_path)
    if name == "checkpoint.npz":  # only a run with a state beyond its parameters reads one
        s = json.loads((run / "summary.json").read_text())
        (run / "summary.json").write_text(json.dumps({**s, "status": "interrupted"}))
    (run / name).unlink(missing_ok=True)
    fifo(run / name)
    (tmp_path / "p.csv").write_text("0.1,0.2\n")
    r = run_bounded(
        *(c.format(run=run) for c in cmd), cwd=tmp_path, runs_dir=tmp_path / "runs", timeout=20
    )
    _refused(r, needle)


def test_fifo_inputs_to_predict_fail_alone(tmp_path: Path) -> None:
    run = _moons_run(tmp_path)
    fifo(tmp_path / "rows.csv")
    fifo(tmp_path / "rows.npy")
    (tmp_path / "good.csv").write_text("0.1,0.2\n")
    r = run_bounded(
        "predict",
        run,
        "rows.csv",
        "good.csv",
        "rows.npy",
        cwd=tmp_path,
        runs_dir=tmp_path / "runs",
        timeout=20,
    )
    _refused(
        r,
        "rows.csv: is a FIFO (named pipe)",
        "rows.npy: is a FIFO (named pipe)",
        "2 input(s) failed, 1 prediction(s) made",
        code=1,
    )


def test_fifo_image_to_predict_fails_alone(tmp_path: Path) -> None:
    import h5py
    from PIL import Image

    rng = np.random.default_rng(0)
    with h5py.File(tmp_path / "img.h5", "w") as f:
        f["train_set_x"] = rng.integers(0, 256, (12, 6, 6, 3), dtype=np.uint8)
        f["train_set_y"] = rng.integers(0, 2, 12)
    cfg = write_config(
        tmp_path / "img.yaml",
        "dataset: {train: img.h5}\nlayer_dims: [auto, 4, 1]\n"
        "activations: [relu, sigmoid]\nlearning_rate: 0.01\niterations: 3\n",
    )
    r = run_bounded("train", cfg, "-q", "--json", cwd=tmp_path, runs_dir=tmp_path / "runs")
    run = json.loads(r.stdout)["run_dir"]
    fifo(tmp_path / "cat.png")
    Image.fromarray(np.zeros((6, 6, 3), dtype=np.uint8)).save(tmp_path / "ok.png")
    r = run_bounded(
        "predict",
        run,
        "cat.png",
        "ok.png",
        "--json",
        cwd=tmp_path,
        runs_dir=tmp_path / "runs",
        timeout=20,
    )
    _refused(r, "cat.png: is a FIFO (named pipe), expected a regular file", code=1)
    assert [p["input"] for p in json.loads(r.stdout)] == ["ok.png"]
