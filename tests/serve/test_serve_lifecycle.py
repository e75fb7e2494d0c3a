"""The command itself: SIGTERM (and Ctrl-C) while requests are in flight answers every one of
them, then exits 0; what cannot be served is a one-line error and exit 2 before it listens."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import threading
import time

import pytest

from helpers.proc import env_for, nnctl
from helpers.serving import Server, image_pixels, png


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signal_during_requests_answers_every_accepted_one_then_exits_0(trained, sig) -> None:
    import httpx

    root, runs_dir, moons, _ = trained
    # requests wait up to 400 ms to share a forward pass: all of them are in flight when the
    # signal comes
    s = Server(moons, "--max-wait-ms", "400", "--max-batch", "1000", runs_dir=runs_dir, cwd=root)
    answers: list[int] = []

    def ask(k: int) -> None:
        r = httpx.post(
            f"{s.url}/v1/models/{moons.name}/predict",
            json={"inputs": [[k / 10, -k / 10]]},
            timeout=30,
        )
        answers.append(r.status_code)

    clients = [threading.Thread(target=ask, args=(k,)) for k in range(12)]
    for c in clients:
        c.start()
    deadline = time.monotonic() + 20
    while s.client.get("/healthz").json()["in_flight"] < 12 and time.monotonic() < deadline:
        time.sleep(0.01)  # until every request has been received and waits for its batch
    status, err = s.stop(sig)
    for c in clients:
        c.join(30)
    assert answers == [200] * 12
    assert status == 0, err
    assert "stopped: every accepted request was answered" in err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["nope"], "nope"),
        (["MOONS", "--port", "70000"], "--port"),
        (["MOONS", "--max-batch", "0"], "--max-batch"),
        (["MOONS", "--timeout", "0"], "--timeout"),
        (["MOONS", "--header-timeout", "0"], "--header-timeout"),
        (["MOONS", "--max-connections", "0"], "--max-connections"),
        (["MOONS", "MOONS"], "is named twice"),
        (["MOONS", "--host", "no.such.host.invalid"], "--host 'no.such.host.invalid'"),
    ],
)
def test_what_cannot_be_served_is_one_error_line_and_exit_2(trained, args, words) -> None:
    root, runs_dir, moons, _ = trained
    args = [str(moons) if a == "MOONS" else a for a in args]
    # --port 0 first: a --port in the case comes later and wins
    r = nnctl("serve", "--port", "0", *args, runs_dir=runs_dir, cwd=root, timeout=30)
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert words in r.stderr and "Traceback" not in r.stderr and r.stdout == ""


def test_a_port_in_use_is_one_error_line(trained) -> None:
    root, runs_dir, moons, _ = trained
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        r = nnctl("serve", moons, "--port", port, runs_dir=runs_dir, cwd=root, timeout=30)
    assert r.returncode == 2
    assert r.stderr.strip() == (
        f"error: cannot listen on 127.0.0.1:{port}: Address already in use"
    ), r.stderr


def test_nothing_a_request_sends_is_written_to_disk(trained, tmp_path) -> None:
    """Rows, an image and a multipart upload of 2 MB: the server's working and temporary
    folders stay empty (Starlette's own form parser would spool that upload to a file), and
    the runs directory is as it was."""
    _, runs_dir, moons, images = trained
    work, scratch = tmp_path / "cwd", tmp_path / "tmp"
    work.mkdir()
    scratch.mkdir()
    s = Server(moons, images, runs_dir=runs_dir, cwd=work, TMPDIR=str(scratch))
    before = {p: p.stat().st_mtime_ns for p in runs_dir.rglob("*")}
    try:
        big = png(image_pixels(3, size=1000))  # noise: about 3 MB of PNG
        assert len(big) > 2_000_000
        r = s.client.post(f"/v1/models/{moons.name}/predict", json={"inputs": [[0.1, 0.2]]})
        assert r.status_code == 200
        r = s.client.post(f"/v1/models/{images.name}/predict", files=[("a", ("big.png", big))])
        assert r.status_code == 200 and r.json()[0]["input"] == "big.png"
        r = s.client.post(
            f"/v1/models/{images.name}/predict",
            content=big,
            headers={"Content-Type": "image/png"},
        )
        assert r.status_code == 200
        assert list(work.iterdir()) == [] and list(scratch.iterdir()) == []
        # and the runs served are read, never written (no lock, no cache, no log)
        assert {p: p.stat().st_mtime_ns for p in runs_dir.rglob("*")} == before
    finally:
        s.stop()


def test_without_the_serve_extra_it_says_how_to_install_it(trained) -> None:
    root, runs_dir, moons, _ = trained
    code = (
        "import sys; sys.modules['uvicorn'] = None; sys.argv = ['nnctl', 'serve', sys.argv[1]]; "
        "from nnctl.cli import main; main()"
    )
    r = subprocess.run(
        [sys.executable, "-c", code, str(moons)],
        cwd=root,
        env=env_for(runs_dir),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 2
    assert r.stderr.strip() == (
        "error: nnctl serve needs Starlette and uvicorn, which are not installed; install them "
        "with: pip install 'nnctl[serve]'  (or: pip install starlette uvicorn)"
    )


def test_the_web_stack_is_loaded_only_when_serving() -> None:
    """``nnctl --help``, ``nnctl serve --help`` and ``import nnctl.serve`` load neither
    Starlette nor uvicorn (the import contract checks the code; this, what runs)."""
    for code in (
        "import sys; sys.argv = ['nnctl', '--help']\nfrom nnctl.cli import main",
        "import sys; sys.argv = ['nnctl', 'serve', '--help']\nfrom nnctl.cli import main",
        "import sys, nnctl.serve; nnctl.serve.ServeOptions; main = lambda: None",
    ):
        r = subprocess.run(
            [
                sys.executable,
                "-c",
                f"{code}\ntry: main()\nexcept SystemExit: pass\n"
                "print(sorted(m for m in sys.modules if m.split('.')[0] in "
                "('starlette', 'uvicorn')))",
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert r.returncode == 0, r.stderr
        assert r.stdout.strip().splitlines()[-1] == "[]", code
