"""Micro-batching: concurrent requests share one forward pass, and each gets the answers
``nnctl predict`` gives for those examples in that pass. A product's last bit depends on how
many columns it has (and where one sits) in BLAS, so the exact comparison sends the same rows
in every request: the shared pass is then predict of those rows repeated, in any order."""

from __future__ import annotations

import json
import socket
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from helpers.serving import Server

ROWS = [[0.1, 0.2], [1.0, -0.5], [-1.25, 0.75]]
CLIENTS = 16


def concurrently(server: Server, run: Path, bodies: list[dict]) -> list[list[dict]]:
    """POSTs every body at once (one thread each); returns the answers in body order."""
    import httpx

    answers: list[list[dict]] = [[] for _ in bodies]
    start = threading.Barrier(len(bodies))

    def ask(k: int) -> None:
        start.wait()
        r = httpx.post(f"{server.url}/v1/models/{run.name}/predict", json=bodies[k], timeout=60)
        assert r.status_code == 200, r.text
        answers[k] = r.json()

    clients = [threading.Thread(target=ask, args=(k,)) for k in range(len(bodies))]
    for c in clients:
        c.start()
    for c in clients:
        c.join(60)
    return answers


def predicted(trained, rows: list[list[float]], tmp_path: Path) -> list[dict]:
    """``nnctl predict --json``'s records for rows, through the Python API (the same code,
    in this process), without their input names."""
    from nnctl.api import Run

    records = Run(trained[2]).predictions(np.array(rows, dtype=np.float64))
    return [{k: v for k, v in a.items() if k != "input"} for a in records]


@pytest.fixture(scope="module")
def batching(trained):
    """A server whose requests wait up to 1 s for others (all CLIENTS land in one pass)."""
    root, runs_dir, moons, _ = trained
    s = Server(moons, "--max-batch", "1000", "--max-wait-ms", "1000", runs_dir=runs_dir, cwd=root)
    yield s
    s.stop()


def test_concurrent_requests_share_one_pass_with_predicts_answers(
    batching, trained, tmp_path: Path
) -> None:
    _, _, moons, _ = trained
    # A request still sending its body keeps a pass waiting (up to --max-wait-ms) for the
    # others in the server, so all CLIENTS requests land in one pass however they arrive.
    host, port = batching.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port))) as slow:
        slow.sendall(
            f"POST /v1/models/{moons.name}/predict HTTP/1.1\r\nHost: x\r\n"
            "Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{".encode()
        )
        while batching.client.get("/healthz").json()["in_flight"] < 1:
            time.sleep(0.01)
        before = batching.client.get("/healthz").json()
        answers = concurrently(batching, moons, [{"inputs": ROWS}] * CLIENTS)
        after = batching.client.get("/healthz").json()
    assert after["examples"] - before["examples"] == CLIENTS * len(ROWS)
    assert after["forward_passes"] - before["forward_passes"] == 1
    whole = predicted(trained, ROWS * CLIENTS, tmp_path)
    slices = [whole[k * len(ROWS) : (k + 1) * len(ROWS)] for k in range(CLIENTS)]
    for got in answers:
        assert [a["input"] for a in got] == ["inputs[0]", "inputs[1]", "inputs[2]"]
        plain = [{k: v for k, v in a.items() if k != "input"} for a in got]
        assert plain in slices  # exactly the answers predict gives somewhere in that pass
    # and each slice went to one request: the requests' answers are the pass's, in some order
    shown = sorted(
        json.dumps([{k: v for k, v in a.items() if k != "input"} for a in got]) for got in answers
    )
    assert shown == sorted(json.dumps(piece) for piece in slices)


def test_different_requests_in_one_pass_get_their_own_answers(
    batching, trained, tmp_path: Path
) -> None:
    _, _, moons, _ = trained
    rng = np.random.default_rng(5)
    bodies = [{"inputs": rng.normal(size=(1 + k % 3, 2)).tolist()} for k in range(CLIENTS)]
    answers = concurrently(batching, moons, bodies)
    for body, got in zip(bodies, answers):
        want = predicted(trained, body["inputs"], tmp_path)
        assert [a["class"] for a in got] == [w["class"] for w in want]
        np.testing.assert_allclose(
            [a["probability"] for a in got], [w["probability"] for w in want], rtol=1e-13
        )


def test_max_batch_1_answers_each_request_alone_as_predict(trained, tmp_path: Path) -> None:
    root, runs_dir, moons, _ = trained
    s = Server(moons, "--max-batch", "1", runs_dir=runs_dir, cwd=root)
    try:
        rng = np.random.default_rng(6)
        bodies = [{"inputs": rng.normal(size=(1 + k % 3, 2)).tolist()} for k in range(8)]
        answers = concurrently(s, moons, bodies)
        for body, got in zip(bodies, answers):
            plain = [{k: v for k, v in a.items() if k != "input"} for a in got]
            assert plain == predicted(trained, body["inputs"], tmp_path)  # to the last bit
        assert s.client.get("/healthz").json()["forward_passes"] == 8
    finally:
        s.stop()


def test_a_request_alone_does_not_wait_for_others(batching, trained) -> None:
    """The server waits up to 1 s for requests to share a pass, but only while others are in
    it: one request at a time is answered without that wait."""
    _, _, moons, _ = trained
    for _ in range(3):
        started = time.monotonic()
        r = batching.client.post(f"/v1/models/{moons.name}/predict", json={"inputs": ROWS})
        assert r.status_code == 200
        assert time.monotonic() - started < 0.5


def test_a_batch_normalized_run_answers_each_request_as_predict(trained, tmp_path: Path) -> None:
    """A batch-normalized run serves with its running averages: requests that share one
    forward pass get what predict gives their rows alone (the other requests' examples do not
    move the statistics)."""
    from typer.testing import CliRunner

    from helpers.proc import TINY
    from nnctl.api import Run
    from nnctl.cli import app

    root, runs_dir, _, _ = trained
    (root / "bn.yaml").write_text(
        "name: bn_served\n"
        + TINY.replace("[auto, 8, 1]", "[auto, 8, 4, 1]").replace(
            "[relu, sigmoid]", "[relu, tanh, sigmoid]"
        )
        + "batch_norm: true\n"
    )
    r = CliRunner().invoke(
        app,
        ["train", str(root / "bn.yaml"), "-q", "--runs-dir", str(runs_dir)],
        catch_exceptions=False,
    )
    assert r.exit_code == 0, r.stderr
    run = runs_dir / r.stdout.strip()
    s = Server(run, "--max-batch", "1000", "--max-wait-ms", "1000", runs_dir=runs_dir, cwd=root)
    try:
        rng = np.random.default_rng(7)
        bodies = [{"inputs": rng.normal(size=(1 + k % 3, 2)).tolist()} for k in range(8)]
        answers = concurrently(s, run, bodies)
        assert s.client.get("/healthz").json()["forward_passes"] < len(bodies)  # shared
        for body, got in zip(bodies, answers):
            want = Run(run).predictions(np.array(body["inputs"]))
            assert [a["class"] for a in got] == [w["class"] for w in want]
            np.testing.assert_allclose(
                [a["probability"] for a in got], [w["probability"] for w in want], rtol=1e-13
            )
    finally:
        s.stop()
