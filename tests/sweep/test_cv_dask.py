"""nnctl cv and learning curves on a real local Dask cluster (2 worker processes, tiny
configs): the same folds, shares, seeds and parameters, bit for bit, as one after another
(one BLAS thread both ways); the fold statistics those of the child runs written by the
client; bad cluster options, an unreachable scheduler and a missing extra refused in one line
with nothing written."""

from __future__ import annotations

import json
import os
import statistics
from pathlib import Path

import numpy as np
import pytest

from helpers.proc import nnctl
from helpers.sweeps import one_error_line, write

pytest.importorskip("distributed")

pytestmark = pytest.mark.slow

MOONS = """\
dataset: {synthetic: moons, m: 120, test_fraction: 0.25, seed: 1}
layer_dims: [auto, 8, 1]
activations: [relu, sigmoid]
init: he
learning_rate: 0.5
iterations: 150
print_every: 50
seed: 3
"""
ONE_THREAD = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def _run(tmp_path: Path, runs: Path, *args: object) -> dict:
    r = nnctl(*args, "--json", runs_dir=runs, cwd=tmp_path, timeout=180, **ONE_THREAD)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def _params(runs: Path, run_id: str) -> dict[str, np.ndarray]:
    with np.load(runs / run_id / "params.npz") as z:
        return {k: z[k] for k in z.files}


def _same_params(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> None:
    assert sorted(a) == sorted(b)
    for k in a:
        assert a[k].dtype == b[k].dtype and np.array_equal(a[k], b[k]), k  # bit for bit


def _summary(runs: Path, run_id: str) -> dict:
    return json.loads((runs / run_id / "summary.json").read_text())


def test_cv_on_dask_is_the_folds_one_after_another_bit_for_bit(tmp_path: Path) -> None:
    cfg = write(tmp_path / "moons.yaml", MOONS)
    seq_runs, dask_runs = tmp_path / "seq", tmp_path / "dask"
    seq = _run(tmp_path, seq_runs, "cv", cfg, "--folds", "3", "--threads", "1")
    par = _run(tmp_path, dask_runs, "cv", cfg, "--folds", "3", "--workers", "2")
    assert par["metrics"] == seq["metrics"] and par["status"] == "complete"
    for key in ("folds", "stratify", "seed", "n_examples", "task", "classes"):
        assert par[key] == seq[key], key
    assert [r["fold"] for r in par["runs"]] == [1, 2, 3]
    for a, b in zip(seq["runs"], par["runs"]):
        _same_params(_params(seq_runs, a["run_id"]), _params(dask_runs, b["run_id"]))
    with (
        np.load(Path(seq["cv_dir"]) / "oof.npz") as s,
        np.load(Path(par["cv_dir"]) / "oof.npz") as p,
    ):
        for k in ("index", "fold", "label", "output"):
            assert np.array_equal(s[k], p[k]), k
    assert (Path(seq["cv_dir"]) / "oof.csv").read_text() == (
        Path(par["cv_dir"]) / "oof.csv"
    ).read_text()

    # the statistics are the child runs' (written by the client, linked to the cv record)
    children = [_summary(dask_runs, r["run_id"]) for r in par["runs"]]
    for f, s in enumerate(children):
        assert (s["cv"], s["fold"], s["folds"], s["status"]) == (par["cv_id"], f + 1, 3, "complete")
    for name, m in par["metrics"].items():
        values = [s[name] for s in children]
        assert m["folds"] == values
        assert m["mean"] == pytest.approx(statistics.fmean(values), rel=1e-12)
        assert m["std"] == pytest.approx(statistics.stdev(values), rel=1e-12)
    assert sorted(p.name for p in dask_runs.iterdir()) == sorted(
        ["cv", *(r["run_id"] for r in par["runs"])]
    )
    record = json.loads((Path(par["cv_dir"]) / "cv.json").read_text())
    assert record["runs"] == par["runs"] and record["metrics"] == par["metrics"]

    # the display: a notice of the workers, a line per fold as it finishes
    r = nnctl(
        "cv", cfg, "--folds", "3", "--workers", "2", runs_dir=dask_runs, cwd=tmp_path, timeout=180
    )
    assert r.returncode == 0, r.stderr
    assert "on Dask" in r.stderr and "the folds run on 2 Dask worker(s)" in r.stderr
    assert sorted(
        line.split(":")[0] for line in r.stderr.splitlines() if line.startswith("fold ")
    ) == [
        "fold 1/3",
        "fold 2/3",
        "fold 3/3",
    ]


def test_learning_curve_on_dask_is_the_shares_one_after_another_bit_for_bit(
    tmp_path: Path,
) -> None:
    cfg = write(tmp_path / "moons.yaml", MOONS + "validation_fraction: 0.25\n")
    runs = tmp_path / "runs"
    parent = _run(tmp_path, runs, "train", cfg, "--threads", "1")["run_id"]
    sizes = ("--sizes", "0.25,0.5,1")
    seq = _run(tmp_path, runs, "diagnose", parent, "--learning-curve", *sizes)
    par = _run(tmp_path, runs, "diagnose", parent, "--learning-curve", *sizes, "--workers", "2")
    assert par["reading"] == seq["reading"]
    assert [p["share"] for p in par["points"]] == [0.25, 0.5, 1.0]
    for a, b in zip(seq["points"], par["points"]):
        for key in ("share", "examples", "status", "train_error", "val_error", "gap"):
            assert a[key] == b[key], key
        _same_params(_params(runs, a["run_id"]), _params(runs, b["run_id"]))
        s = _summary(runs, b["run_id"])
        assert (s["learning_curve"], s["share"], s["sizes"]) == (
            parent,
            b["share"],
            [0.25, 0.5, 1.0],
        )
        assert s["dataset"]["n_train"] == b["examples"]


def _nothing_written(runs: Path) -> None:
    assert not runs.exists() or not any(runs.rglob("*")), list(runs.rglob("*"))


@pytest.mark.parametrize(
    "args, message",
    [
        (("--workers", "0"), "error: --workers: 0 is not in the range x>=1."),
        (
            ("--workers", "2", "--scheduler", "tcp://127.0.0.1:8786"),
            "error: --workers sizes a local cluster; with --scheduler the cluster's own "
            "workers run the tasks",
        ),
        (
            ("--scheduler", "127.0.0.1:8786"),
            "error: --scheduler 127.0.0.1:8786: expected a Dask scheduler address like "
            "tcp://HOST:8786",
        ),
        (
            ("--scheduler", "tcp://127.0.0.1:9"),
            "error: --scheduler tcp://127.0.0.1:9: cannot connect",
        ),
    ],
)
def test_bad_cluster_options_are_one_line_and_nothing_written(
    tmp_path: Path, args: tuple[str, ...], message: str
) -> None:
    cfg = write(tmp_path / "moons.yaml", MOONS + "validation_fraction: 0.25\n")
    runs = tmp_path / "runs"
    line = one_error_line(nnctl("cv", cfg, "--folds", "3", *args, runs_dir=runs, cwd=tmp_path))
    assert line.startswith(message), line
    _nothing_written(runs)
    parent_runs = tmp_path / "parent"
    parent = _run(tmp_path, parent_runs, "train", cfg)["run_id"]
    before = sorted(p.name for p in parent_runs.iterdir())
    r = nnctl("diagnose", parent, "--learning-curve", *args, runs_dir=parent_runs, cwd=tmp_path)
    assert one_error_line(r).startswith(message)
    assert sorted(p.name for p in parent_runs.iterdir()) == before


def test_without_the_sweep_extra_workers_names_it(tmp_path: Path) -> None:
    cfg = write(tmp_path / "moons.yaml", MOONS + "validation_fraction: 0.25\n")
    runs = tmp_path / "runs"
    parent = _run(tmp_path, runs, "train", cfg)["run_id"]
    shim = write(
        tmp_path / "shim" / "sitecustomize.py", "import sys\nsys.modules['distributed'] = None\n"
    )
    path = os.pathsep.join(p for p in (str(shim.parent), os.environ.get("PYTHONPATH")) if p)
    for args in (("cv", cfg, "--folds", "3"), ("diagnose", parent, "--learning-curve")):
        r = nnctl(*args, "--workers", "2", runs_dir=runs, cwd=tmp_path, PYTHONPATH=path)
        line = one_error_line(r)
        assert "runs on Dask distributed, which is not installed" in line, line
        assert "pip install 'nnctl[sweep]'" in line
        assert sorted(p.name for p in runs.iterdir()) == [parent]
        # without --workers the same Python runs them one after another
    r = nnctl("cv", cfg, "--folds", "2", "--json", runs_dir=runs, cwd=tmp_path, PYTHONPATH=path)
    assert r.returncode == 0, r.stderr


def test_cv_on_a_scheduler_survives_a_killed_worker_with_the_same_results(tmp_path: Path) -> None:
    import signal
    import subprocess
    import sys
    import time

    from helpers.proc import env_for
    from helpers.sweeps import DaskCluster

    # folds long enough (a second or two) to be caught on a worker and killed there
    text = MOONS.replace("iterations: 150", "iterations: 40000")
    client_dir = tmp_path / "client"
    cfg = write(client_dir / "moons.yaml", text)
    seq = _run(client_dir, client_dir / "seq", "cv", cfg, "--folds", "3", "--threads", "1")
    cluster = DaskCluster(tmp_path)
    try:
        cluster.add_workers("w1", "w2")
        proc = subprocess.Popen(
            [sys.executable, "-m", "nnctl", "cv", cfg, "--folds", "3"]
            + ["--scheduler", cluster.address, "--json"],
            cwd=client_dir,
            env=env_for(client_dir / "runs", **ONE_THREAD),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        killed, deadline = None, time.monotonic() + 120
        while killed is None and time.monotonic() < deadline and proc.poll() is None:
            names = {a: w["name"] for a, w in cluster.client.scheduler_info()["workers"].items()}
            for addr, keys in cluster.client.processing().items():
                if any("-fold-0-a1" in str(k) for k in keys) and addr in names:
                    killed = names[addr]
                    os.killpg(cluster.workers[killed].pid, signal.SIGKILL)
                    break
            time.sleep(0.02)
        out, err = proc.communicate(timeout=300)
    finally:
        cluster.close()
    assert killed is not None, err
    assert proc.returncode == 0, err
    assert "fold 1: its worker died; sending it again" in err
    par = json.loads(out)
    assert par["metrics"] == seq["metrics"] and par["status"] == "complete"
    for a, b in zip(seq["runs"], par["runs"]):
        _same_params(
            _params(client_dir / "seq", a["run_id"]), _params(client_dir / "runs", b["run_id"])
        )
    # the client wrote every run; the workers' folders hold none
    for name in ("w1", "w2"):
        assert not list((tmp_path / name).rglob("summary.json"))
