"""A real ``nnctl serve`` in a subprocess on a free loopback port (``--port 0``; the address it
prints), and the small runs the serve tests use: a binary feature run (moons) and an image run
trained on a folder of tiny generated images."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image
from typer.testing import CliRunner

from helpers.proc import TINY, env_for
from nnctl.cli import app

MOONS = "name: moons_served\n" + TINY  # a binary classifier of 2 features

TINY_IMAGES = """\
name: tiny_images
dataset: {images: images/, size: [8, 8], color: rgb, test_fraction: 0.25, seed: 1}
layer_dims: [auto, 6, 2]
activations: {hidden: relu, output: softmax}
init: he
learning_rate: 0.05
iterations: 30
"""


def png(pixels: np.ndarray) -> bytes:
    """uint8 (h, w, 3) -> the bytes of a PNG file."""
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, "PNG")
    return out.getvalue()


def image_pixels(k: int, size: int = 8) -> np.ndarray:
    """Image k of the tiny dataset: dark (even k) or light (odd k) noise, (size, size, 3)."""
    rng = np.random.default_rng(k)
    base = 60 if k % 2 == 0 else 180
    return np.clip(base + rng.integers(-50, 50, (size, size, 3)), 0, 255).astype(np.uint8)


def train_runs(root: Path) -> tuple[Path, Path, Path]:
    """Trains the moons and the tiny image run in root/runs; returns (runs_dir, moons run
    directory, image run directory)."""
    runs_dir = root / "runs"
    for k in range(16):
        d = root / "images" / ("dark" if k % 2 == 0 else "light")
        d.mkdir(parents=True, exist_ok=True)
        (d / f"{k}.png").write_bytes(png(image_pixels(k)))
    made = []
    for name, text in (("moons.yaml", MOONS), ("tiny.yaml", TINY_IMAGES)):
        (root / name).write_text(text)
        r = CliRunner().invoke(
            app,
            ["train", str(root / name), "-q", "--runs-dir", str(runs_dir)],
            catch_exceptions=False,
        )
        assert r.exit_code == 0, r.stderr
        made.append(runs_dir / r.stdout.strip())
    return runs_dir, made[0], made[1]


class Server:
    """``nnctl serve ARGS --port 0`` started in a subprocess; ``url`` once it listens."""

    def __init__(self, *args: object, runs_dir: Path, cwd: Path, **env: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "nnctl", "serve", *map(str, args), "--port", "0"],
            cwd=cwd,
            env=env_for(runs_dir, PYTHONUNBUFFERED="1", **env),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().strip()
        if not line.startswith("http://"):
            self.proc.kill()
            raise AssertionError(f"serve did not start: {line!r} {self.proc.stderr.read()}")
        import httpx  # the serve extra's client: imported once the tests know it is there

        self.url = line
        self.client = httpx.Client(base_url=self.url, timeout=30)
        self._transport_error = httpx.TransportError

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30) -> tuple[int, str]:
        """Sends ``sig``; returns (exit status, stderr)."""
        self.client.close()
        if self.proc.poll() is None:
            os.kill(self.proc.pid, sig)
        try:
            _, err = self.proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            _, err = self.proc.communicate()
        return self.proc.returncode, err

    def healthy(self) -> bool:
        """The server still answers /healthz."""
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                return self.client.get("/healthz").status_code == 200
            except self._transport_error:
                time.sleep(0.1)
        return False
