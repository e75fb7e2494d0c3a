"""Helpers for the hostile-input tests: nnctl in a subprocess under resource limits, with its
peak memory measured from inside, and hostile files (FIFOs, inflating archives, lying headers)."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from helpers.proc import env_for

# Runs nnctl's CLI in this interpreter and writes its own peak RSS (KiB) to the file named
# first. VmHWM, not getrusage: Linux carries ru_maxrss over exec, so a child forked from a big
# pytest process (preexec_fn forces a fork) would report the parent's peak.
_LAUNCH = """\
import runpy, sys
out = sys.argv.pop(1)
code = 0
try:
    sys.argv[0] = "nnctl"
    runpy.run_module("nnctl", run_name="__main__")
except SystemExit as exc:
    code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
finally:
    with open(out, "w") as f:
        with open("/proc/self/status") as status:
            f.write(next(l.split()[1] for l in status if l.startswith("VmHWM:")))
sys.exit(code)
"""


@dataclass
class Measured:
    returncode: int
    stdout: str
    stderr: str
    peak_mib: float  # the process's peak resident memory


def run_bounded(
    *args: object,
    cwd: Path,
    runs_dir: Path,
    timeout: float = 60,
    address_space_mib: int | None = None,
    **env: str,
) -> Measured:
    """nnctl ARGS in a subprocess that may use at most ``address_space_mib`` of address space
    (RLIMIT_AS) and ``timeout`` seconds; returns its exit status, output and peak RSS."""
    peak_file = cwd / f".peak-{os.getpid()}-{len(list(cwd.iterdir()))}"

    def limit() -> None:
        if address_space_mib is not None:
            lim = address_space_mib << 20
            resource.setrlimit(resource.RLIMIT_AS, (lim, lim))

    r = subprocess.run(
        [sys.executable, "-c", _LAUNCH, str(peak_file), *map(str, args)],
        cwd=cwd,
        env=env_for(runs_dir, OPENBLAS_NUM_THREADS="1", **env),
        capture_output=True,
        text=True,
        timeout=timeout,
        preexec_fn=limit,
    )
    peak = float(peak_file.read_text()) / 1024 if peak_file.exists() else float("nan")
    return Measured(r.returncode, r.stdout, r.stderr, peak)


def billion_laughs(levels: int = 9, width: int = 9) -> str:
    """A few hundred bytes of YAML whose aliases stand for width**levels values."""
    lines = ['a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    prev = "a"
    for i in range(levels - 1):
        name = f"n{i}"
        lines.append(f"{name}: &{name} [" + ", ".join([f"*{prev}"] * width) + "]")
        prev = name
    return "\n".join(lines) + f"\nlayer_dims: *{prev}\n"


def inflating_npy_member(
    zf: zipfile.ZipFile, name: str, shape: tuple[int, ...], chunk_mib: int = 16
) -> None:
    """Adds ``name``.npy of zeros with ``shape`` (float64) to a deflated archive, streaming:
    tiny on disk, ``prod(shape) * 8`` bytes once inflated."""
    header = np.lib.format.header_data_from_array_1_0(np.zeros((1,) * len(shape)))
    header["shape"] = shape
    with zf.open(f"{name}.npy", "w", force_zip64=True) as f:
        np.lib.format.write_array_header_1_0(f, header)
        left = int(np.prod(shape)) * 8
        block = bytes(chunk_mib << 20)
        while left > 0:
            n = min(left, len(block))
            f.write(block[:n])
            left -= n


def npy_declaring(path: Path, shape: tuple[int, ...]) -> Path:
    """A .npy file whose header declares ``shape`` (float64) but holds no data."""
    header = np.lib.format.header_data_from_array_1_0(np.zeros((1,) * len(shape)))
    header["shape"] = shape
    with open(path, "wb") as f:
        np.lib.format.write_array_header_1_0(f, header)
    return path


def fifo(path: Path) -> Path:
    os.mkfifo(path)
    return path


def summary(run_dir: Path) -> dict:
    return json.loads((run_dir / "summary.json").read_text())
