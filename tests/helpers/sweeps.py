"""Helpers for the sweep tests: a small base config, sweep files beside it, the one error
line a refused sweep command prints, and a real Dask cluster of processes (``DaskCluster``:
the sweep's and ``nnctl cv``'s tests on a scheduler)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

from helpers.proc import BIN

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


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def sweep_file(tmp_path: Path, body: str, name: str = "sw.yaml", base: str = BASE) -> Path:
    """``tmp_path/name``: ``body`` on top of ``base`` (written as ``tmp_path/base.yaml``)."""
    write(tmp_path / "base.yaml", base)
    return write(tmp_path / name, "config: base.yaml\n" + body)


def one_error_line(r: subprocess.CompletedProcess) -> str:
    """The single ``error:`` line of a command that exited 2 with nothing on stdout."""
    assert r.returncode == 2, (r.stdout, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), r.stderr
    assert "Traceback" not in r.stderr and r.stdout == ""
    return lines[0]


def worker_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NNCTL_")}
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env["DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES"] = "0"  # the client retries, and says so
    return env


class DaskCluster:
    """A `dask scheduler` and `dask worker` processes on 127.0.0.1, each in its own folder (none
    of them the client's), each in its own process group; ``close`` kills every one."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp, self.procs, self.workers = tmp_path, [], {}
        sched_dir = tmp_path / "scheduler"
        sched_dir.mkdir()
        scheduler_file = sched_dir / "scheduler.json"
        self._start(
            [
                "scheduler",
                "--host",
                "127.0.0.1",
                "--port",
                "0",
                "--no-dashboard",
                "--scheduler-file",
                str(scheduler_file),
            ],
            sched_dir,
        )
        deadline = time.monotonic() + 60
        while not scheduler_file.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        self.address = json.loads(scheduler_file.read_text())["address"]
        assert self.address.startswith("tcp://127.0.0.1:")
        from distributed import Client

        self.client = Client(self.address, timeout="30s")

    def _start(self, args: list[str], cwd: Path) -> subprocess.Popen:
        p = subprocess.Popen(
            [str(BIN / "dask"), *args],
            cwd=cwd,
            env=worker_env(),
            start_new_session=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.procs.append(p)
        return p

    def add_workers(self, *names: str) -> None:
        for name in names:
            d = self.tmp / name
            d.mkdir()
            self.workers[name] = self._start(
                [
                    "worker",
                    self.address,
                    "--nthreads",
                    "1",
                    "--nworkers",
                    "1",
                    "--name",
                    name,
                    "--no-dashboard",
                    "--host",
                    "127.0.0.1",
                    "--local-directory",
                    str(d),
                ],
                d,
            )
        deadline = time.monotonic() + 60
        while not set(names) <= {
            w["name"] for w in self.client.scheduler_info()["workers"].values()
        }:
            assert time.monotonic() < deadline, f"workers {names} did not arrive"
            time.sleep(0.1)

    def kill_while_training(self, name: str, key_part: str, sweep: subprocess.Popen) -> str:
        """SIGKILLs worker ``name`` (and its nanny) once it holds a task whose key contains
        ``key_part``; returns that key."""
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and sweep.poll() is None:
            names = {a: w["name"] for a, w in self.client.scheduler_info()["workers"].items()}
            for addr, keys in self.client.processing().items():
                hit = [str(k) for k in keys if key_part in str(k)]
                if names.get(addr) == name and hit:
                    os.killpg(self.workers[name].pid, signal.SIGKILL)
                    return hit[0]
            time.sleep(0.02)
        raise AssertionError(f"worker {name} never ran a task like {key_part!r}")

    def close(self) -> None:
        self.client.close()
        for p in self.procs:
            if p.poll() is None:
                try:
                    os.killpg(p.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            p.wait(timeout=30)
