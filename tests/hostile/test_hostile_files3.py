"""Hostile input and faults, round 3 (issue 29): files, caches and sweeps.

Created files follow the umask; a damaged data-hash cache means "recompute"; every output is
complete or absent; a report draws histories near the float limit; sweeps are signalled,
locked, damaged and pointed at silent schedulers without hanging or tracebacks."""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from helpers import MOONS_SMALL, write_config


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(params=[0o022, 0o077, 0o002])
def umask(request: pytest.FixtureRequest) -> Iterator[int]:
    old = os.umask(request.param)
    try:
        yield request.param
    finally:
        os.umask(old)


# --------------------------------------------------------------------------- 1. file modes


def _trained(cli, tmp_path: Path) -> Path:
    cfg = write_config(tmp_path / "moons.yaml", MOONS_SMALL)
    r = cli("train", cfg, "--quiet", "--json", "--set", "iterations=20")
    assert r.exit_code == 0, r.stderr
    return Path(json.loads(r.stdout)["run_dir"])


def test_run_files_report_and_exports_follow_the_umask(
    cli, runs_dir: Path, tmp_path: Path, umask: int
) -> None:
    want = 0o666 & ~umask
    run = _trained(cli, tmp_path)
    files = sorted(p for p in run.iterdir() if p.is_file())
    assert {p.name for p in files} >= {"summary.json", "config.yaml", "history.csv", "params.npz"}
    assert {p.name: oct(_mode(p)) for p in files} == {p.name: oct(want) for p in files}
    assert _mode(run) == 0o777 & ~umask  # directories followed it already

    r = cli("report", run, "-o", tmp_path / "report.html")
    assert r.exit_code == 0, r.stderr
    assert oct(_mode(tmp_path / "report.html")) == oct(want)

    r = cli("export", run, "--format", "npz", "-o", tmp_path / "model.npz")
    assert r.exit_code == 0, r.stderr
    assert oct(_mode(tmp_path / "model.npz")) == oct(want)
    assert oct(_mode(tmp_path / "model.json")) == oct(want)
    # No temporary file is left beside the outputs.
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_imported_h5_and_the_hash_cache_follow_the_umask(
    cli, runs_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, umask: int
) -> None:
    want = 0o666 & ~umask
    for cls in ("a", "b"):
        (tmp_path / "imgs" / cls).mkdir(parents=True)
        for i in range(2):
            Image.new("RGB", (4, 4), (i * 90, 10, 20)).save(tmp_path / "imgs" / cls / f"{i}.png")
    r = cli("data", "import", tmp_path / "imgs", "-o", tmp_path / "train.h5")
    assert r.exit_code == 0, r.stderr
    assert oct(_mode(tmp_path / "train.h5")) == oct(want)

    from nnctl.system import filehash

    cache = tmp_path / "cache"
    monkeypatch.setenv(filehash.CACHE_ENV, str(cache))
    np.save(tmp_path / "x.npy", np.zeros(3))
    filehash.sha256_of(tmp_path / "x.npy")
    assert oct(_mode(cache / filehash.CACHE_FILE)) == oct(want)
    assert [p.name for p in cache.iterdir()] == [filehash.CACHE_FILE]


def test_atomic_write_replacing_a_file_follows_the_umask(tmp_path: Path, umask: int) -> None:
    from nnctl import runs

    out = tmp_path / "f.txt"
    runs.write_text(out, "one\n")
    runs.write_text(out, "two\n")
    assert out.read_text() == "two\n"
    assert oct(_mode(out)) == oct(0o666 & ~umask)
    assert [p.name for p in tmp_path.iterdir()] == ["f.txt"]
