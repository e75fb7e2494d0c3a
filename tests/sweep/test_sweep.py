"""nnctl sweep: sweep files checked like configs, trials searched with Optuna and trained on real
Dask clusters (a LocalCluster of processes, and a `dask scheduler` with two `dask worker`
processes that cannot see the runs directory or the data files), every trial an ordinary run,
the winner chosen on validation data. Small trials, one BLAS thread each."""

from __future__ import annotations

import importlib.util
import itertools
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest

from helpers.proc import env_for, nnctl
from helpers.sweeps import BASE, DaskCluster, one_error_line, sweep_file, write

pytest.importorskip("distributed")
pytest.importorskip("optuna")

pytestmark = pytest.mark.slow

# ---------------------------------------------------------------------------- bad sweep files


@pytest.mark.parametrize(
    "body, message",
    [
        (
            "metric: val_loss\nsampler: tpe\ntrails: 3\nspace: {learning_rate: {choice: [0.1]}}\n",
            "unknown key 'trails' (did you mean trials?)",
        ),
        (
            "space: {learnig_rate: {log_uniform: [0.001, 0.1]}}\n",
            "space: unknown config key 'learnig_rate' (did you mean learning_rate?)",
        ),
        (
            "sampler: grid\nspace: {learning_rate: {uniform: [0.01, 0.1]}}\n",
            "space.learning_rate: the grid sampler needs a choice list",
        ),
        (
            "metric: test_accuracy\nspace: {learning_rate: {choice: [0.1]}}\n",
            "metric: unknown metric 'test_accuracy' (did you mean val_accuracy?) "
            "(a sweep chooses on validation data",
        ),
        (
            "space: {learning_rate: {log_uniform: [0, 0.1]}}\n",
            "space.learning_rate: log_uniform needs low > 0",
        ),
        ("space: {learning_rate: {uniform: [0.1, 0.01]}}\n", "needs low < high, got [0.1, 0.01]"),
        ("space: {batch_size: {int_uniform: [8, 64.5]}}\n", "int_uniform needs two integers"),
        ("space: {learning_rate: {normal: [0, 1]}}\n", "unknown distribution 'normal'"),
        (
            "sampler: bayes\nspace: {learning_rate: {choice: [0.1]}}\n",
            "sampler: unknown sampler 'bayes'; valid: grid, random, tpe",
        ),
        (
            "metric: val_mse\nspace: {learning_rate: {choice: [0.1]}}\n",
            "metric: val_mse needs a regression config",
        ),
        ("space: {learning_rate: {choice: [0.1, -1]}}\n", "learning_rate: must be"),
        (
            "set: {epochs: 5}\nspace: {epochs: {choice: [1, 2]}}\n",
            "epochs is both fixed (set) and swept (space)",
        ),
    ],
)
def test_bad_sweep_file_is_one_line_and_exit_2(
    cli, runs_dir: Path, tmp_path: Path, body: str, message: str
) -> None:
    f = sweep_file(tmp_path, body)
    for cmd in ("check", "run"):
        r = cli("sweep", cmd, f)
        assert r.exit_code == 2 and r.stdout == "", r.stderr
        (line,) = r.stderr.strip().splitlines()
        assert line.startswith("error: ") and message in line and str(f) in line
    assert not runs_dir.exists()  # nothing half-written


def test_base_config_without_validation_split_is_refused(tmp_path: Path) -> None:
    f = sweep_file(
        tmp_path,
        "space: {learning_rate: {choice: [0.1, 0.3]}}\n",
        base=BASE.replace("validation_fraction: 0.2\n", ""),
    )
    line = one_error_line(nnctl("sweep", "run", f, runs_dir=tmp_path / "runs", cwd=tmp_path))
    assert (
        "has no validation split" in line
        and "set validation_fraction (e.g. 0.2) or dataset.val" in line
    )
    assert not (tmp_path / "runs").exists()


def test_check_validates_every_grid_config_against_the_data(tmp_path: Path) -> None:
    # the second layer_dims ends in 3 units: a sigmoid output needs 1; found before anything trains
    f = sweep_file(
        tmp_path,
        "sampler: grid\nspace:\n  learning_rate: {choice: [0.1, 0.3]}\n"
        "  layer_dims: {choice: [[auto, 8, 1], [auto, 8, 3]]}\n",
    )
    line = one_error_line(nnctl("sweep", "check", f, runs_dir=tmp_path / "runs", cwd=tmp_path))
    assert 'layer_dims=["auto", 8, 3]' in line and "sigmoid" in line
    ok = sweep_file(
        tmp_path,
        "sampler: grid\nspace:\n  learning_rate: {choice: [0.1, 0.3]}\n"
        "  batch_size: {choice: [30, 60, 120]}\n",
        name="ok.yaml",
    )
    r = nnctl("sweep", "check", ok, runs_dir=tmp_path / "runs", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert (
        "ok (grid, 6 trials, 2 swept keys, metric val_loss; 6 trial config(s) checked "
        "against the data)" in r.stderr
    )
    assert not (tmp_path / "runs").exists()


def test_bad_scheduler_address_leaves_no_sweep_behind(cli, runs_dir: Path, tmp_path: Path) -> None:
    f = sweep_file(tmp_path, "space: {learning_rate: {choice: [0.1, 0.3]}}\n")
    r = cli("sweep", "run", f, "--scheduler", "127.0.0.1:8786")
    assert r.exit_code == 2 and r.stdout == ""
    assert r.stderr.strip() == (
        "error: --scheduler 127.0.0.1:8786: expected a Dask scheduler address like tcp://HOST:8786"
    )
    assert not (runs_dir / "sweeps").exists() or not any((runs_dir / "sweeps").iterdir())
    r = cli("sweep", "run", f, "--scheduler", "tcp://127.0.0.1:8786", "--workers", "2")
    assert r.exit_code == 2 and "--workers sizes a local cluster" in r.stderr


def test_missing_extra_says_how_to_install(tmp_path: Path) -> None:
    # a Python that cannot import dask or optuna: the command names the extra, exit 2
    f = sweep_file(tmp_path, "space: {learning_rate: {choice: [0.1, 0.3]}}\n")
    shim = write(
        tmp_path / "shim" / "sitecustomize.py",
        "import sys\nsys.modules['distributed'] = None\nsys.modules['optuna'] = None\n",
    )
    # the shim first, then whatever PYTHONPATH already chose (a worktree's checkout under test)
    path = os.pathsep.join(p for p in (str(shim.parent), os.environ.get("PYTHONPATH")) if p)
    r = nnctl("sweep", "run", f, runs_dir=tmp_path / "runs", cwd=tmp_path, PYTHONPATH=path)
    line = one_error_line(r)
    assert (
        "nnctl sweep needs Dask distributed and Optuna" in line
        and "pip install 'nnctl[sweep]'" in line
    )


# ---------------------------------------------------------------------------- a LocalCluster


def test_grid_on_a_local_cluster_runs_every_combination_once_as_ordinary_runs(
    tmp_path: Path,
) -> None:
    f = sweep_file(
        tmp_path,
        "metric: val_accuracy\nsampler: grid\nprune: false\nset: {epochs: 6}\nspace:\n"
        "  learning_rate: {choice: [0.03, 0.3]}\n"
        "  layer_dims: {choice: [[auto, 4, 1], [auto, 8, 8, 1]]}\n"
        "  seed: {choice: [1, 2]}\n",
    )
    runs = tmp_path / "runs"
    r = nnctl(
        "sweep", "run", f, "--workers", "2", "--json", runs_dir=runs, cwd=tmp_path, timeout=180
    )
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    sweep_id = out["sweep_id"]
    assert out["metric"] == "val_accuracy" and out["status"] == "complete"
    # grid exactness: every combination exactly once, nothing else
    got = sorted(json.dumps(t["params"], sort_keys=True) for t in out["trials"])
    want = sorted(
        json.dumps({"learning_rate": lr, "layer_dims": dims, "seed": seed}, sort_keys=True)
        for lr, dims, seed in itertools.product(
            [0.03, 0.3], [["auto", 4, 1], ["auto", 8, 8, 1]], [1, 2]
        )
    )
    assert got == want
    assert all(t["status"] == "complete" and t["attempts"] == 1 for t in out["trials"])
    # the best by validation accuracy, and the test score of that run only
    values = {t["run_id"]: t["value"] for t in out["trials"]}
    assert out["best_value"] == max(values.values()) == values[out["best_run_id"]]
    best = json.loads((runs / out["best_run_id"] / "summary.json").read_text())
    assert best["val_accuracy"] == out["best_value"]
    assert out["best_test"] == {"test_accuracy": best["test_accuracy"]}
    assert f"its test accuracy {best['test_accuracy']:.4g}" in r.stderr
    # every trial is an ordinary run: named <sweep>-tNNNN, its values in its config, listed by sweep
    listed = json.loads(
        nnctl(
            "runs",
            "list",
            "--json",
            "--columns",
            "id,sweep,val_accuracy",
            "--filter",
            f"sweep={sweep_id}",
            "--sort",
            "-val_accuracy",
            runs_dir=runs,
            cwd=tmp_path,
        ).stdout
    )
    assert len(listed) == 8 and listed[0]["val_accuracy"] == out["best_value"]
    for t in out["trials"]:
        s = json.loads((runs / t["run_id"] / "summary.json").read_text())
        assert s["name"] == f"{sweep_id}-t{t['trial']:04d}" and s["sweep"] == sweep_id
        assert s["config"]["learning_rate"] == t["params"]["learning_rate"]
        assert (
            s["config"]["seed"] == t["params"]["seed"]
            and s["layer_dims"][1:] == t["params"]["layer_dims"][1:]
        )
    # a trial's run is the run `nnctl train` gives for the same config, to the bit
    b = out["trials"][0]
    p = b["params"]
    r2 = nnctl(
        "train",
        tmp_path / "base.yaml",
        "--set",
        "epochs=6",
        "--set",
        f"learning_rate={p['learning_rate']}",
        "--set",
        f"layer_dims={json.dumps(p['layer_dims'])}",
        "--set",
        f"seed={p['seed']}",
        "--threads",
        "1",
        "-q",
        runs_dir=runs,
        cwd=tmp_path,
    )
    assert r2.returncode == 0, r2.stderr
    with (
        np.load(runs / b["run_id"] / "params.npz") as a,
        np.load(runs / r2.stdout.strip() / "params.npz") as c,
    ):
        assert sorted(a.files) == sorted(c.files)
        for k in a.files:
            np.testing.assert_array_equal(a[k], c[k])
    # predict and evaluate work on a trial
    r3 = nnctl("evaluate", out["best_run_id"], "--json", runs_dir=runs, cwd=tmp_path)
    assert r3.returncode == 0, r3.stderr
    # the sweep directory: the sweep file, the study, the results table; show re-prints it
    sweep_dir = runs / "sweeps" / sweep_id
    assert (sweep_dir / "sweep.yaml").read_text() == f.read_text()
    study = json.loads((sweep_dir / "study.json").read_text())
    assert study["sampler"] == "grid" and len(study["trials"]) == 8
    assert all(t["state"] == "COMPLETE" for t in study["trials"])
    shown = nnctl("sweep", "show", sweep_id, "--json", runs_dir=runs, cwd=tmp_path)
    assert json.loads(shown.stdout) == out
    if (
        importlib.util.find_spec("matplotlib") is not None
    ):  # nnctl plot: the metric against a swept key
        png = tmp_path / "lr.png"
        r4 = nnctl(
            "plot",
            "--sweep",
            sweep_id,
            "--against",
            "learning_rate",
            "--metric",
            "val_accuracy",
            "-o",
            png,
            runs_dir=runs,
            cwd=tmp_path,
        )
        assert r4.returncode == 0 and r4.stdout.strip() == str(png), r4.stderr
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    table = nnctl("sweep", "show", sweep_id, runs_dir=runs, cwd=tmp_path)
    assert table.returncode == 0 and len(table.stdout.strip().splitlines()) == 9
    assert f"best: trial {out['best_trial']}" in table.stderr


def test_same_seed_same_trials_with_one_worker(tmp_path: Path) -> None:
    f = sweep_file(
        tmp_path,
        "sampler: tpe\nseed: 7\ntrials: 5\nset: {epochs: 3}\nspace:\n"
        "  learning_rate: {log_uniform: [0.001, 0.5]}\n"
        "  l2: {uniform: [0.0, 0.1]}\n  batch_size: {int_uniform: [20, 100]}\n",
    )
    params = []
    for i in range(2):
        r = nnctl(
            "sweep",
            "run",
            f,
            "--workers",
            "1",
            "--json",
            runs_dir=tmp_path / f"runs{i}",
            cwd=tmp_path,
            timeout=180,
        )
        assert r.returncode == 0, r.stderr
        out = json.loads(r.stdout)
        params.append([(t["trial"], t["params"], t["value"]) for t in out["trials"]])
    assert params[0] == params[1] and len(params[0]) == 5
    assert len({json.dumps(p) for _, p, _ in params[0]}) == 5


def test_ctrl_c_then_resume_completes_the_sweep(tmp_path: Path) -> None:
    f = sweep_file(
        tmp_path,
        "sampler: random\nseed: 3\ntrials: 6\nset: {epochs: 40}\nspace:\n"
        "  learning_rate: {log_uniform: [0.001, 0.5]}\n",
    )
    runs = tmp_path / "runs"
    proc = subprocess.Popen(
        [sys.executable, "-m", "nnctl", "sweep", "run", f, "--workers", "1"],
        cwd=tmp_path,
        env=env_for(runs),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        for line in proc.stderr:  # interrupt once a trial has finished, as Ctrl-C would:
            if line.startswith("trial "):  # SIGINT to the whole process group, workers too
                break
        os.killpg(proc.pid, signal.SIGINT)
        out, err = proc.communicate(timeout=120)
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait()
    assert proc.returncode == 130, err
    assert "continue it with: nnctl sweep resume" in err and "Traceback" not in err
    (sweep_dir,) = (runs / "sweeps").iterdir()
    record = json.loads((sweep_dir / "results.json").read_text())
    assert record["status"] == "interrupted" and 1 <= len(record["trials"]) < 6
    done_before = len(record["trials"])
    r = nnctl(
        "sweep",
        "resume",
        sweep_dir.name,
        "--workers",
        "1",
        "--json",
        runs_dir=runs,
        cwd=tmp_path,
        timeout=180,
    )
    assert r.returncode == 0, r.stderr
    res = json.loads(r.stdout)
    assert res["status"] == "complete" and len(res["trials"]) == 6
    assert (
        len({t["run_id"] for t in res["trials"]}) == 6
        and len({t["trial"] for t in res["trials"]}) == 6
    )
    assert all(t["status"] in ("complete", "pruned") for t in res["trials"])
    # the resumed sampler draws new values, not the first trials' again
    assert len({t["params"]["learning_rate"] for t in res["trials"]}) == 6
    assert f", {done_before} done) on 1 worker(s)" in r.stderr
    again = nnctl("sweep", "resume", sweep_dir.name, runs_dir=runs, cwd=tmp_path)
    assert again.returncode == 2 and "already complete" in again.stderr


# ---------------------------------------------------------------------------- a real Dask cluster


def _h5(path: Path) -> Path:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 2))
    y = (X[:, 0] * X[:, 1] > 0).astype(np.int64)
    with h5py.File(path, "w") as f:
        f["pts_x"] = X
        f["pts_y"] = y
        f["list_classes"] = np.array([b"off", b"on"])
    return path


POINTS_BASE = (
    "dataset: {train: data/points.h5}\nlayer_dims: [auto, 16, 1]\nactivations: [relu, sigmoid]\n"
    "init: he\nlearning_rate: 0.05\nbatch_size: 30\nepochs: 60\nvalidation_fraction: 0.25\n"
    "optimizer: adam\nprint_every: 100000\n"
)


def _points_sweep(client_dir: Path) -> Path:
    _h5(
        write(client_dir / "data" / ".keep", "").parent / "points.h5"
    )  # only the client's folder has it
    return sweep_file(
        client_dir,
        "sampler: random\nseed: 1\ntrials: 6\nprune: false\nspace:\n"
        "  learning_rate: {log_uniform: [0.005, 0.2]}\n",
        base=POINTS_BASE,
    )


def _sweep_proc(f: Path, client_dir: Path, address: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "nnctl", "sweep", "run", f, "--scheduler", address, "--json"],
        cwd=client_dir,
        env=env_for(client_dir / "runs"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_sweep_on_a_dask_scheduler_and_two_workers_survives_a_killed_worker(tmp_path: Path) -> None:
    client_dir = tmp_path / "client"
    f = _points_sweep(client_dir)
    cluster = DaskCluster(tmp_path)
    sweep = None
    try:
        cluster.add_workers("w1", "w2")
        sweep = _sweep_proc(f, client_dir, cluster.address)
        cluster.kill_while_training(
            "w1", "-t0", sweep
        )  # while it trains a trial, not between trials
        out, err = sweep.communicate(timeout=180)
        assert sweep.returncode == 0, err
        res = json.loads(out)
        assert len(res["trials"]) == 6 and all(t["status"] == "complete" for t in res["trials"])
        retried = [t for t in res["trials"] if t["attempts"] == 2]
        # the trial it was training and whatever Dask had queued on that worker, each sent once
        # more: at most the trials in flight, one more than there are workers (3); which of
        # them Dask had placed on the killed worker is the scheduler's choice (seen: 1 to 3)
        assert 1 <= len(retried) <= 3, res["trials"]
        for t in retried:
            assert f"trial {t['trial']}: its worker died; sending it again" in err
        assert "retried after a worker died" in err
        # the client wrote every run; the workers' folders hold no run and no data
        runs = client_dir / "runs"
        assert all((runs / t["run_id"] / "params.npz").is_file() for t in res["trials"])
        for d in ("w1", "w2"):
            assert not list((tmp_path / d).rglob("summary.json")) and not list(
                (tmp_path / d).rglob("*.h5")
            )
    finally:
        if sweep is not None and sweep.poll() is None:
            sweep.kill()
            sweep.wait()
        cluster.close()


def test_a_trial_whose_worker_dies_twice_is_recorded_failed_and_the_sweep_completes(
    tmp_path: Path,
) -> None:
    client_dir = tmp_path / "client"
    f = _points_sweep(client_dir)
    cluster = DaskCluster(tmp_path)
    sweep = None
    try:
        cluster.add_workers("w1", "w2")
        sweep = _sweep_proc(f, client_dir, cluster.address)
        cluster.kill_while_training("w1", "-a1", sweep)
        key = cluster.kill_while_training("w2", "-a2", sweep)  # a trial's second attempt dies too
        cluster.add_workers("w3")  # the rest of the sweep needs a worker
        out, err = sweep.communicate(timeout=180)
        assert sweep.returncode == 1, (
            err
        )  # some trial failed; the best of the others is still chosen
        res = json.loads(out)
        assert len(res["trials"]) == 6 and res["status"] == "complete" and res["best_run_id"]
        failed = [t for t in res["trials"] if t["status"] == "failed"]
        trial = int(key.split("-t")[-1].split("-")[0])
        assert trial in [t["trial"] for t in failed]
        assert all(
            t["attempts"] == 2 and t["message"] == "its worker died twice" for t in failed
        ), json.dumps(failed)
        s = json.loads((client_dir / "runs" / failed[0]["run_id"] / "summary.json").read_text())
        assert (
            s["status"] == "failed"
            and s["message"] == "its worker died twice"
            and s["attempts"] == 2
        )
        assert f"{len(failed)} failed" in err
    finally:
        if sweep is not None and sweep.poll() is None:
            sweep.kill()
            sweep.wait()
        cluster.close()


# ---------------------------------------------------------------------------- pieces


def test_the_median_rule_prunes_only_after_warmup_and_above_the_median() -> None:
    from nnctl.sweep import prune_rule

    assert (
        prune_rule([[1.0, 0.5]] * 3, epochs=8) is None
    )  # fewer than 4 complete trials: no pruning
    rule = prune_rule(
        [[1.0, 0.8, 0.6, 0.5], [1.0, 0.6, 0.4, 0.3], [1.0, 0.7, 0.5], [2.0, 0.9, 0.7, 0.6]],
        epochs=8,
    )
    assert rule.warmup == 2 and rule.medians == (1.0, 0.75, 0.55, 0.5)
    assert not rule.prunes(1, 5.0)  # still warming up
    assert rule.prunes(2, 0.56) and not rule.prunes(2, 0.55)
    assert not rule.prunes(
        9, 99.0
    )  # beyond every complete trial's curve: no median to compare with


def test_grid_order_and_what_check_enumerates(tmp_path: Path) -> None:
    from nnctl.sweep import check_values, load_sweep

    f = sweep_file(
        tmp_path,
        "sampler: grid\nspace:\n  learning_rate: {choice: [0.1, 0.3]}\n"
        "  layer_dims: {choice: [[auto, 4, 1], [auto, 8, 1], [auto, 8, 8, 1]]}\n",
    )
    spec = load_sweep(f)
    assert spec.n_trials() == 6 and spec.grid()[:4] == [
        {"learning_rate": 0.1, "layer_dims": ["auto", 4, 1]},
        {"learning_rate": 0.1, "layer_dims": ["auto", 8, 1]},
        {"learning_rate": 0.1, "layer_dims": ["auto", 8, 8, 1]},
        {"learning_rate": 0.3, "layer_dims": ["auto", 4, 1]},
    ]
    assert check_values(spec) == spec.grid()
    f2 = sweep_file(
        tmp_path,
        "trials: 50\nspace:\n  learning_rate: {log_uniform: [0.001, 0.1]}\n"
        "  batch_size: {choice: [16, 32, 64]}\n",
        name="tpe.yaml",
    )
    spec2 = load_sweep(f2)
    assert spec2.n_trials() == 50
    assert check_values(spec2) == [
        {"learning_rate": 0.001, "batch_size": 16},
        {"learning_rate": 0.1, "batch_size": 16},
        {"learning_rate": 0.001, "batch_size": 32},
        {"learning_rate": 0.001, "batch_size": 64},
    ]


def test_a_streamed_dataset_is_read_by_each_trial_not_scattered(
    tmp_path: Path, monkeypatch
) -> None:
    # data streamed from its file (here asked for; the same for a file larger than memory) is
    # not loaded by the client: each trial streams it as `nnctl train` would, to the same bits
    from nnctl.config import load_config
    from nnctl.sweep import engine
    from nnctl.sweep.engine.datasets import Datasets

    _h5(tmp_path / "pts.h5")
    base = BASE.replace(
        "dataset: {synthetic: moons, m: 240, test_fraction: 0.25, seed: 1}",
        "dataset: {train: pts.h5, stream: true}",
    )
    f = sweep_file(
        tmp_path,
        "sampler: grid\nprune: false\nset: {epochs: 4}\nspace:\n"
        "  learning_rate: {choice: [0.03, 0.3]}\n",
        base=base,
    )
    cfg = load_config(tmp_path / "base.yaml")
    assert engine.streams(cfg)
    assert Datasets(client=None).future(cfg) is None  # nothing read, nothing scattered
    runs = tmp_path / "runs"
    r = nnctl(
        "sweep", "run", f, "--workers", "2", "--json", runs_dir=runs, cwd=tmp_path, timeout=180
    )
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["status"] == "complete" and [t["status"] for t in out["trials"]] == ["complete"] * 2
    t = out["trials"][0]
    r2 = nnctl(
        "train",
        tmp_path / "base.yaml",
        "--set",
        "epochs=4",
        "--set",
        f"learning_rate={t['params']['learning_rate']}",
        "--threads",
        "1",
        "-q",
        runs_dir=runs,
        cwd=tmp_path,
    )
    assert r2.returncode == 0, r2.stderr
    with (
        np.load(runs / t["run_id"] / "params.npz") as a,
        np.load(runs / r2.stdout.strip() / "params.npz") as c,
    ):
        for k in a.files:
            np.testing.assert_array_equal(a[k], c[k])
