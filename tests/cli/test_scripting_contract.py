"""The scripting contract, tested with real processes: exit statuses, stdout purity, colour and
animation, --threads, many trainings started at once, and scripts/sweep_lr.sh."""

from __future__ import annotations

import json
import os
import pty
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import ROOT, write_config
from helpers.proc import TINY, env_for, nnctl

RUN_ID = re.compile(r"^\d{8}-\d{6}-\d{3}-[0-9a-f]{4}$")


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    return write_config(tmp_path / "tiny.yaml", TINY)


def test_exit_0_success_prints_only_the_run_id(tmp_path: Path, tiny: Path) -> None:
    r = nnctl("train", tiny, runs_dir=tmp_path / "runs", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert RUN_ID.match(r.stdout.strip()) and r.stdout.count("\n") == 1
    assert "Cost after iteration 0:" in r.stderr  # progress goes to stderr


def test_exit_1_diverged(tmp_path: Path, tiny: Path) -> None:
    r = nnctl(
        "train",
        tiny,
        "--set",
        "learning_rate=1e300",
        "--quiet",
        runs_dir=tmp_path / "runs",
        cwd=tmp_path,
    )
    assert r.returncode == 1
    run_id = r.stdout.strip()
    assert RUN_ID.match(run_id)
    assert "error: training diverged" in r.stderr
    assert (
        json.loads((tmp_path / "runs" / run_id / "summary.json").read_text())["status"]
        == "diverged"
    )


def test_exit_2_bad_input_one_line_no_traceback(tmp_path: Path, tiny: Path) -> None:
    for args in (
        ("train", tmp_path / "nope.yaml"),
        ("runs", "show", "latest"),
        ("train", tiny, "--threads", "0"),
    ):
        r = nnctl(*args, runs_dir=tmp_path / "runs", cwd=tmp_path)
        assert r.returncode == 2, args
        assert r.stdout == ""
        assert "Traceback" not in r.stderr and r.stderr.strip()
    assert not (tmp_path / "runs").exists()


def test_exit_130_interrupted(tmp_path: Path, tiny: Path) -> None:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "nnctl",
            "train",
            tiny,
            "--set",
            "iterations=10000000",
            "--set",
            "print_every=10",
        ],
        cwd=tmp_path,
        env=env_for(tmp_path / "runs"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        # Interrupt once training is under way, as Ctrl-C would.
        for line in proc.stderr:
            if line.startswith("Cost after iteration"):
                break
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=120)
    finally:
        proc.kill()
    assert proc.returncode == 130
    run_id = out.strip()
    summary = json.loads((tmp_path / "runs" / run_id / "summary.json").read_text())
    assert summary["status"] == "interrupted" and 0 < summary["iterations_done"] < 10_000_000
    assert "interrupted" in err


def test_json_stdout_stays_pure_while_progress_is_on(tmp_path: Path, tiny: Path) -> None:
    r = nnctl("train", tiny, "--json", runs_dir=tmp_path / "runs", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "Cost after iteration 50:" in r.stderr and "test accuracy" in r.stderr
    data = json.loads(r.stdout)
    assert data["status"] == "complete" and data["iterations"] == 200

    listed = nnctl("runs", "list", "--json", runs_dir=tmp_path / "runs", cwd=tmp_path)
    assert [row["id"] for row in json.loads(listed.stdout)] == [data["run_id"]]


def run_in_pty(args: list[str], cwd: Path, env: dict[str, str]) -> tuple[int, bytes]:
    """Runs a command with stdin, stdout and stderr on a pseudo-terminal, as in a real shell."""
    leader, follower = pty.openpty()
    proc = subprocess.Popen(
        args, cwd=cwd, env=env, stdin=follower, stdout=follower, stderr=follower
    )
    os.close(follower)
    chunks = []
    while True:
        try:
            data = os.read(leader, 65536)
        except OSError:  # EIO: the process closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    os.close(leader)
    return proc.wait(timeout=60), b"".join(chunks)


# SGR sequences that set a foreground/background colour (bold or dim alone are not colour).
COLOUR = re.compile(rb"\x1b\[(?:\d+;)*(?:3[0-8]|4[0-8]|9[0-7]|10[0-7])(?:;\d+)*m")
# What a live progress bar uses: hide the cursor, move up, erase the line.
ANIMATION = re.compile(rb"\x1b\[(?:\?25l|\d*A|\d*K)")


def test_colour_and_animation_follow_the_terminal(tmp_path: Path, tiny: Path) -> None:
    cmd = [
        sys.executable,
        "-m",
        "nnctl",
        "train",
        tiny,
        "--set",
        "iterations=1000",
        "--set",
        "print_every=500",
    ]
    bad = [sys.executable, "-m", "nnctl", "config", "check", tmp_path / "missing.yaml"]
    env = env_for(tmp_path / "runs", TERM="xterm-256color", COLUMNS="100")

    # On a terminal: a red error and a live progress bar ...
    code, out = run_in_pty(bad, tmp_path, env)
    assert code == 2 and COLOUR.search(out) and b"error:" in out
    code, out = run_in_pty(cmd, tmp_path, env)
    assert code == 0 and ANIMATION.search(out)

    # ... but with NO_COLOR, neither colour nor animation.
    env["NO_COLOR"] = "1"
    code, out = run_in_pty(bad, tmp_path, env)
    assert code == 2 and not COLOUR.search(out) and b"error:" in out
    code, out = run_in_pty(cmd, tmp_path, env)
    assert code == 0 and not COLOUR.search(out) and not ANIMATION.search(out)
    assert b"Cost after iteration 500" in out

    # Not a terminal (pipes): no escape sequences at all.
    r = nnctl("train", tiny, "--set", "learning_rate=-1", runs_dir=tmp_path / "runs", cwd=tmp_path)
    t = nnctl("train", tiny, runs_dir=tmp_path / "runs", cwd=tmp_path)
    assert r.returncode == 2 and t.returncode == 0
    assert "\x1b[" not in r.stderr + t.stderr + t.stdout


def test_threads_limits_blas_during_training(
    cli, runs_dir: Path, tiny: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from threadpoolctl import threadpool_info

    import nnctl.commands.train

    seen = []
    real_fit = nnctl.commands.train.fit

    # BLAS pools only: nnctl's products run there (an OpenMP pool another library loaded, such
    # as scikit-learn's, is not nnctl's to limit)
    def spy(*args, **kwargs):
        seen.append(
            {
                i["internal_api"]: i["num_threads"]
                for i in threadpool_info()
                if i["user_api"] == "blas"
            }
        )
        return real_fit(*args, **kwargs)

    monkeypatch.setattr(nnctl.commands.train, "fit", spy)
    before = {i["internal_api"]: i["num_threads"] for i in threadpool_info()}
    r = cli("train", tiny, "--threads", "1", "--quiet")
    assert r.exit_code == 0, r.stderr
    assert seen and all(n == 1 for n in seen[0].values())
    assert {
        i["internal_api"]: i["num_threads"] for i in threadpool_info()
    } == before  # restored afterwards


def test_default_threads_follow_the_environment(tmp_path: Path) -> None:
    probe = (
        "from nnctl.cli.common import limit_threads\n"
        "import numpy\n"
        "from threadpoolctl import threadpool_info\n"
        "with limit_threads(None):\n"
        "    print([i['num_threads'] for i in threadpool_info() if i['user_api'] == 'blas'])\n"
    )
    env = env_for(tmp_path / "runs", OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
    r = subprocess.run(
        [sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=60
    )
    assert r.returncode == 0, r.stderr
    counts = json.loads(r.stdout)
    if not counts:
        pytest.skip("numpy's BLAS is not visible to threadpoolctl here")
    assert counts == [1] * len(counts)


def test_eight_trainings_started_at_once(tmp_path: Path, tiny: Path) -> None:
    runs_dir = tmp_path / "runs"
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "nnctl",
                "train",
                tiny,
                "--set",
                f"seed={k + 1}",
                "--set",
                "iterations=20",
                "--threads",
                "1",
                "--quiet",
                "--json",
            ],
            cwd=tmp_path,
            env=env_for(runs_dir),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for k in range(8)
    ]
    results = [(p.communicate(timeout=120), p.returncode) for p in procs]
    assert [code for _, code in results] == [0] * 8, [err for (_, err), _ in results]
    outs = [json.loads(out) for (out, _), _ in results]
    ids = {o["run_id"] for o in outs}
    assert len(ids) == 8
    assert {p.name for p in runs_dir.iterdir()} == ids  # nothing else (no temp files, no strays)
    for o in outs:
        d = runs_dir / o["run_id"]
        assert sorted(p.name for p in d.iterdir()) == [
            "config.yaml",
            "history.csv",
            "params.npz",
            "summary.json",
        ]
        s = json.loads((d / "summary.json").read_text())
        assert s["status"] == "complete" and s["iterations_done"] == 20
        assert len((d / "history.csv").read_text().splitlines()) == 21


SWEEP = ROOT / "scripts" / "sweep_lr.sh"


def test_sweep_script_trains_each_rate_and_prints_the_best(tmp_path: Path, tiny: Path) -> None:
    # The winner is chosen on validation data (issue 13; it was test accuracy), so the config
    # gets a validation split through the script's --set pass-through.
    runs_dir = tmp_path / "runs"
    rates = ["0.02", "0.3", "1.5"]
    r = subprocess.run(
        ["bash", SWEEP, "--set", "validation_fraction=0.2", "--set", "seed=3", tiny, *rates],
        cwd=tmp_path,
        env=env_for(runs_dir, SWEEP_JOBS="3"),
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert r.returncode == 0, r.stderr
    summaries = [json.loads((d / "summary.json").read_text()) for d in runs_dir.iterdir()]
    assert len(summaries) == 3 and all(s["status"] == "complete" for s in summaries)
    assert sorted(s["name"].rsplit("-lr", 1)[1] for s in summaries) == sorted(rates)
    assert all(s["config"]["seed"] == 3 and s["dataset"]["n_val"] == 30 for s in summaries)
    best = min(summaries, key=lambda s: s["val_loss"])
    assert r.stdout.count("\n") == 1 and r.stdout.strip() == best["run_id"]
    assert f"best: {best['run_id']}" in r.stderr and f"val_loss {best['val_loss']:.4f}" in r.stderr
    assert f"its test accuracy {best['test_accuracy']:.4f}" in r.stderr


def test_sweep_script_regression_by_val_r2_and_refuses_no_validation_set(tmp_path: Path) -> None:
    runs_dir = tmp_path / "runs"
    sine = ROOT / "configs" / "sine.yaml"
    r = subprocess.run(
        [
            "bash",
            SWEEP,
            "--metric",
            "val_r2",
            "--set",
            "validation_fraction=0.25",
            "--set",
            "epochs=5",
            sine,
            "0.01",
            "0.05",
        ],
        cwd=tmp_path,
        env=env_for(runs_dir, SWEEP_JOBS="2"),
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert r.returncode == 0, r.stderr
    summaries = [json.loads((d / "summary.json").read_text()) for d in runs_dir.iterdir()]
    best = max(summaries, key=lambda s: s["val_r2"])
    assert (
        r.stdout.strip() == best["run_id"]
        and f"val_r2 {best['val_r2']:.4f}; its test MSE" in r.stderr
    )
    none = subprocess.run(
        ["bash", SWEEP, sine, "0.01"],
        cwd=tmp_path,
        env=env_for(tmp_path / "none"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert none.returncode == 2 and none.stdout == "" and not (tmp_path / "none").exists()
    assert (
        "no validation set to choose the winner on; set validation_fraction or dataset.val"
        in none.stderr
    )
    bad = subprocess.run(
        ["bash", SWEEP, "--metric", "test_accuracy", sine, "0.01"],
        cwd=tmp_path,
        env=env_for(tmp_path / "none"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert bad.returncode == 2 and "--metric test_accuracy: use val_loss" in bad.stderr


def test_sweep_script_checks_rates_before_training(tmp_path: Path, tiny: Path) -> None:
    runs_dir = tmp_path / "runs"
    r = subprocess.run(
        ["bash", SWEEP, tiny, "0.1", "fast"],
        cwd=tmp_path,
        env=env_for(runs_dir),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 2 and r.stdout == ""
    assert "learning_rate: expected a number, got the string 'fast'" in r.stderr
    assert not runs_dir.exists()
    usage = subprocess.run(
        ["bash", SWEEP, tiny],
        cwd=tmp_path,
        env=env_for(runs_dir),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert usage.returncode == 2 and "usage:" in usage.stderr
