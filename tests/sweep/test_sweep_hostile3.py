"""Sweeps under hostile conditions (issue 29): a scheduler address that accepts and never answers
(or answers junk), SIGTERM on the client, two resumes of one sweep at once, a damaged
study.json or results.json, and a worker count far beyond what the sweep or the machine can use.
Everything on 127.0.0.1."""

from __future__ import annotations

import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from helpers.proc import nnctl

pytest.importorskip("distributed")
pytest.importorskip("optuna")

pytestmark = pytest.mark.slow

BASE = """\
dataset: {synthetic: moons, m: 240, test_fraction: 0.25, seed: 1}
layer_dims: [auto, 8, 1]
activations: {hidden: relu, output: sigmoid}
init: he
learning_rate: 0.1
batch_size: 60
epochs: 10
validation_fraction: 0.2
optimizer: adam
print_every: 1000
"""


def sweep_file(tmp_path: Path, body: str) -> Path:
    (tmp_path / "base.yaml").write_text(BASE)
    f = tmp_path / "sw.yaml"
    f.write_text("config: base.yaml\n" + body)
    return f


def one_error_line(r: subprocess.CompletedProcess) -> str:
    assert r.returncode == 2, (r.stdout, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), r.stderr
    assert "Traceback" not in r.stderr and r.stdout == ""
    return lines[0]


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
