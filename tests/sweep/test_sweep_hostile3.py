"""Sweeps under hostile conditions (issue 29): a scheduler address that accepts and never answers
(or answers junk), SIGTERM on the client, two resumes of one sweep at once, a damaged
study.json or results.json, and a worker count far beyond what the sweep or the machine can use.
Everything on 127.0.0.1."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from helpers.proc import env_for, nnctl
from helpers.sweeps import BASE, one_error_line, sweep_file

pytest.importorskip("distributed")
pytest.importorskip("optuna")

pytestmark = pytest.mark.slow


def no_sweep_left(runs: Path) -> bool:
    return not (runs / "sweeps").exists() or not any((runs / "sweeps").iterdir())


# --------------------------------------------------------------------------- a silent scheduler


@pytest.fixture
def peer(request: pytest.FixtureRequest) -> Iterator[str]:
    """tcp://127.0.0.1:PORT of a server that accepts connections and then stays silent
    (``silent``) or sends junk (``junk``), keeping every connection open."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(64)
    server.settimeout(0.2)
    conns: list[socket.socket] = []
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                c, _ = server.accept()
            except OSError:
                continue
            conns.append(c)
            if request.param == "junk":
                c.sendall(b"\xff" * 64 + b"HTTP/1.1 200 OK\r\n\r\nnot dask\n" * 8)

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    try:
        yield f"tcp://127.0.0.1:{server.getsockname()[1]}"
    finally:
        stop.set()
        t.join(5)
        for c in conns:
            c.close()
        server.close()


@pytest.mark.parametrize("peer", ["silent", "junk"], indirect=True)
def test_a_scheduler_that_never_answers_is_one_line_in_bounded_time(
    tmp_path: Path, peer: str
) -> None:
    f = sweep_file(tmp_path, "space: {learning_rate: {choice: [0.1, 0.3]}}\n")
    runs = tmp_path / "runs"
    start = time.monotonic()
    r = nnctl("sweep", "run", f, "--scheduler", peer, runs_dir=runs, cwd=tmp_path, timeout=90)
    took = time.monotonic() - start
    line = one_error_line(r)
    assert line.startswith(f"error: --scheduler {peer}: ") and "Dask scheduler" in line, line
    assert took < 40, took
    assert no_sweep_left(runs)


# --------------------------------------------------------------------------- SIGTERM and the lock


# Trials of a second or two each: the sweep is still running when the test acts on it.
SLOW_BASE = BASE.replace("m: 240", "m: 3000")


def _start(f: Path, runs: Path, *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "nnctl", "sweep", *args],
        cwd=f.parent,
        env=env_for(runs),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def _wait_for_a_trial(proc: subprocess.Popen) -> list[str]:
    seen = []
    for line in proc.stderr:  # type: ignore[union-attr]
        seen.append(line)
        if line.startswith("trial "):
            return seen
    raise AssertionError("".join(seen))


def _group_gone(pgid: int, seconds: float = 20) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.2)
    return False


def test_sigterm_stops_a_sweep_like_ctrl_c_and_a_second_resume_is_refused(
    tmp_path: Path,
) -> None:
    f = sweep_file(
        tmp_path,
        "sampler: random\nseed: 3\ntrials: 5\nset: {epochs: 300}\nspace:\n"
        "  learning_rate: {log_uniform: [0.001, 0.5]}\n",
        base=SLOW_BASE,
    )
    runs = tmp_path / "runs"
    proc = _start(f, runs, "run", str(f), "--workers", "1")
    try:
        _wait_for_a_trial(proc)
        (sweep_dir,) = (runs / "sweeps").iterdir()
        # A second client of the same sweep, while the first runs: refused, trains nothing.
        second = nnctl("sweep", "resume", sweep_dir.name, runs_dir=runs, cwd=tmp_path, timeout=60)
        line = one_error_line(second)
        assert f"{sweep_dir}: is being run by another process" in line, line
        # SIGTERM to the client alone, as kill, timeout and batch schedulers send it.
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    assert proc.returncode == 143, err
    assert "terminated (SIGTERM); the sweep is saved: continue it with: nnctl sweep resume" in err
    assert "Traceback" not in err
    assert _group_gone(proc.pid), "the sweep's worker processes outlived it"
    record = json.loads((sweep_dir / "results.json").read_text())
    assert record["status"] == "interrupted" and 1 <= len(record["trials"]) < 5
    r = nnctl(
        "sweep", "resume", sweep_dir.name, "--workers", "1", "--json",
        runs_dir=runs, cwd=tmp_path, timeout=180,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    res = json.loads(r.stdout)
    assert res["status"] == "complete" and len(res["trials"]) == 5
    assert len({t["trial"] for t in res["trials"]}) == 5
    # Every run directory is one of the sweep's trials: nothing was trained twice.
    assert sorted(p.name for p in runs.iterdir() if p.name != "sweeps") == sorted(
        t["run_id"] for t in res["trials"]
    )


# --------------------------------------------------------------------------- damaged sweep files


@pytest.fixture(scope="module")
def finished_sweep(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A two-trial grid sweep, run once; each test damages a copy of its directory."""
    tmp = tmp_path_factory.mktemp("sweep")
    f = sweep_file(tmp, "sampler: grid\nspace: {learning_rate: {choice: [0.1, 0.3]}}\n")
    r = nnctl("sweep", "run", f, "--workers", "1", runs_dir=tmp / "runs", cwd=tmp, timeout=180)
    assert r.returncode == 0, r.stderr
    (sweep_dir,) = (tmp / "runs" / "sweeps").iterdir()
    return sweep_dir


def _copy_interrupted(sweep_dir: Path, tmp_path: Path) -> Path:
    import shutil

    runs = tmp_path / "runs"
    shutil.copytree(sweep_dir.parent.parent, runs)
    copy = runs / "sweeps" / sweep_dir.name
    record = json.loads((copy / "results.json").read_text())
    record["status"] = "interrupted"
    (copy / "results.json").write_text(json.dumps(record))
    return copy


def _put(path: Path, damage: object) -> None:
    """Replaces ``path`` by a FIFO (``"fifo"``) or by the damaged text or bytes."""
    path.unlink()
    if damage == "fifo":
        os.mkfifo(path)
    elif isinstance(damage, bytes):
        path.write_bytes(damage)
    else:
        path.write_text(str(damage))


def _told(sweep_dir: Path) -> dict:
    return json.loads((sweep_dir / "study.json").read_text())


DEEP = "[" * 100_000 + "]" * 100_000


def _study_damage(study: dict) -> dict[str, object]:
    """study.json damaged in ways a disk, an editor or a script can: its text or a JSON value."""
    t0 = study["trials"][0]
    return {
        "deep": DEEP,
        "deep_in_a_trial": json.dumps({**study, "trials": [{"trial": 0}]}).replace(
            '{"trial": 0}', '{"trial": 0, "params": ' + DEEP + "}"
        ),
        "not_utf8": b"\xff\xfe{\x00",
        "top_level_list": "[]",
        "trials_not_objects": json.dumps({**study, "trials": [1, 2]}),
        "state_unknown": json.dumps({**study, "trials": [{**t0, "state": "EXPLODED"}]}),
        "state_a_number": json.dumps({**study, "trials": [{**t0, "state": 3}]}),
        "trial_a_string": json.dumps({**study, "trials": [{**t0, "trial": "zero"}]}),
        "params_a_list": json.dumps({**study, "trials": [{**t0, "params": [0.1]}]}),
        "params_a_key_missing": json.dumps({**study, "trials": [{**t0, "params": {}}]}),
        "param_outside_the_space": json.dumps(
            {**study, "trials": [{**t0, "params": {"learning_rate": 7.5}}]}
        ),
        "value_a_string": json.dumps({**study, "trials": [{**t0, "value": "low"}]}),
        "complete_without_value": json.dumps({**study, "trials": [{**t0, "value": None}]}),
    }


STUDY_CASES = list(_study_damage({"trials": [{}]}))


@pytest.mark.parametrize("case", STUDY_CASES + ["fifo"])
def test_a_damaged_study_is_one_line_on_resume(
    finished_sweep: Path, tmp_path: Path, case: str
) -> None:
    copy = _copy_interrupted(finished_sweep, tmp_path)
    study = copy / "study.json"
    _put(study, "fifo" if case == "fifo" else _study_damage(_told(copy))[case])
    runs_before = sorted(p.name for p in copy.parent.parent.iterdir())
    r = nnctl(
        "sweep", "resume", copy.name, "--workers", "1",
        runs_dir=copy.parent.parent, cwd=tmp_path, timeout=60,
    )  # fmt: skip
    line = one_error_line(r)
    assert line.startswith(f"error: {study}: "), line
    assert len(line) < 300, line
    assert sorted(p.name for p in copy.parent.parent.iterdir()) == runs_before
    assert json.loads((copy / "results.json").read_text())["status"] == "interrupted"


def _results_damage(record: dict) -> dict[str, object]:
    row = record["trials"][0]
    return {
        "deep": DEEP,
        "not_utf8": b"\xff\xfe{\x00",
        "n_trials_a_string": json.dumps({**record, "n_trials": "2"}),
        "keys_not_strings": json.dumps({**record, "keys": [1]}),
        "trials_not_a_list": json.dumps({**record, "trials": {"0": row}}),
        "trial_a_string": json.dumps({**record, "trials": [{**row, "trial": "zero"}]}),
        "value_a_string": json.dumps({**record, "trials": [{**row, "value": "low"}]}),
        "params_a_list": json.dumps({**record, "trials": [{**row, "params": [1]}]}),
        "direction_unknown": json.dumps({**record, "direction": "sideways"}),
        "unknown_key": json.dumps({**record, "colour": "blue"}),
    }


RESULTS_CASES = list(_results_damage({"trials": [{}]}))


@pytest.mark.parametrize("command", ["resume", "show"])
@pytest.mark.parametrize("case", RESULTS_CASES + ["fifo"])
def test_damaged_results_are_one_line(
    finished_sweep: Path, tmp_path: Path, case: str, command: str
) -> None:
    copy = _copy_interrupted(finished_sweep, tmp_path)
    results = copy / "results.json"
    _put(
        results,
        "fifo" if case == "fifo" else _results_damage(json.loads(results.read_text()))[case],
    )
    r = nnctl("sweep", command, copy, runs_dir=copy.parent.parent, cwd=tmp_path, timeout=60)
    line = one_error_line(r)
    assert line.startswith(f"error: {results}: "), line
    assert len(line) < 300, line


def test_a_fifo_in_place_of_the_sweep_file_copy_is_one_line(
    finished_sweep: Path, tmp_path: Path
) -> None:
    copy = _copy_interrupted(finished_sweep, tmp_path)
    (copy / "sweep.yaml").unlink()
    os.mkfifo(copy / "sweep.yaml")
    r = nnctl("sweep", "resume", copy, runs_dir=copy.parent.parent, cwd=tmp_path, timeout=60)
    line = one_error_line(r)
    assert line == f"error: {copy / 'sweep.yaml'}: cannot read: is a FIFO (named pipe), " + (
        "expected a regular file"
    )


# --------------------------------------------------------------------------- too many workers


def test_a_worker_count_beyond_the_trials_and_the_machine_is_capped_in_one_line(
    tmp_path: Path,
) -> None:
    f = sweep_file(tmp_path, "sampler: grid\nspace: {learning_rate: {choice: [0.1, 0.3]}}\n")
    start = time.monotonic()
    r = nnctl(
        "sweep", "run", f, "--workers", "100000", "--json",
        runs_dir=tmp_path / "runs", cwd=tmp_path, timeout=120,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert time.monotonic() - start < 90
    want = min(2, len(os.sched_getaffinity(0)))
    notices = [line for line in r.stderr.splitlines() if line.startswith("--workers 100000")]
    assert notices == [
        f"--workers 100000: capped at {want} (the sweep has 2 trials left; "
        f"this machine has {len(os.sched_getaffinity(0))} cores)"
    ], r.stderr
    assert f"on {want} worker(s)" in r.stderr
    assert json.loads(r.stdout)["status"] == "complete"


def test_worker_count_is_capped_by_trials_cores_and_memory(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from nnctl.sweep.engine import cluster

    monkeypatch.setattr(cluster, "_cores", lambda: 8)
    monkeypatch.setattr(cluster, "_memory", lambda: 10 * cluster.WORKER_BYTES)
    assert cluster.worker_count(None, 100) == (8, None)  # the default: one per core
    assert cluster.worker_count(None, 3) == (3, None)  # no more than there are trials
    assert cluster.worker_count(4, 100) == (4, None)
    assert cluster.worker_count(0 + 1, 0) == (1, None)
    n, notice = cluster.worker_count(500, 100)
    assert n == 8 and notice == "--workers 500: capped at 8 (this machine has 8 cores)"
    monkeypatch.setattr(cluster, "_memory", lambda: 2 * cluster.WORKER_BYTES + 5)
    n, notice = cluster.worker_count(6, 100)
    assert n == 2 and notice is not None
    assert notice.startswith("--workers 6: capped at 2 (this machine has memory for 2 workers")
    monkeypatch.setattr(cluster, "_memory", lambda: None)  # unknown: no memory bound
    assert cluster.worker_count(6, 100) == (6, None)
