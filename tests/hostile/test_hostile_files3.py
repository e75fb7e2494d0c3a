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


# --------------------------------------------------------------------------- 2. the hash cache


def _damage(kind: str, cache: Path) -> None:
    """Puts a damaged cache file of ``kind`` in ``cache``'s place."""
    from nnctl.system import filehash

    file = cache / filehash.CACHE_FILE
    cache.mkdir(parents=True, exist_ok=True)
    if kind == "fifo":
        os.mkfifo(file)
    elif kind == "directory":
        file.mkdir()
    elif kind == "deep":
        file.write_text("[" * 200_000 + "]" * 200_000)
    elif kind == "deep_value":
        file.write_text('{"k": ' + "[" * 200_000 + "]" * 200_000 + "}")
    elif kind == "garbage":
        file.write_bytes(os.urandom(4096) + b"\xff\xfe")
    elif kind == "wrong_types":
        file.write_text('{"a": 1, "b": [1, 2], "c": {"version": "x", "sha256": 3}}')
    elif kind == "huge":
        with open(file, "wb") as f:
            f.write(b'{"k": "')
            f.truncate(64 << 20)  # sparse: 64 MiB to read, none of it JSON
    else:
        raise AssertionError(kind)


DAMAGE = ("fifo", "directory", "deep", "deep_value", "garbage", "wrong_types", "huge")


@pytest.mark.parametrize("kind", DAMAGE)
def test_a_damaged_hash_cache_means_recompute(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    import hashlib
    import threading

    from nnctl.system import filehash

    cache = tmp_path / "cache"
    monkeypatch.setenv(filehash.CACHE_ENV, str(cache))
    data = tmp_path / "x.bin"
    data.write_bytes(b"some data" * 1000)
    _damage(kind, cache)
    result: list = []

    def hash_it() -> None:
        try:
            result.append(filehash.sha256_cached(data))
        except BaseException as exc:  # what the test reports, instead of a hung thread
            result.append(exc)

    worker = threading.Thread(target=hash_it, daemon=True)
    worker.start()
    worker.join(timeout=20)
    if worker.is_alive() and kind == "fifo":  # unblock the reader so the thread can end
        with open(cache / filehash.CACHE_FILE, "wb"):
            pass
    assert result, f"{kind}: hashing waited on the cache"
    assert result[0] == (hashlib.sha256(data.read_bytes()).hexdigest(), False), result[0]
    # The next time comes from the cache when it could be rewritten, and is right either way.
    again = filehash.sha256_cached(data)
    assert again[0] == result[0][0]
    assert again[1] is (kind != "directory")
    assert not [p.name for p in cache.iterdir() if p.name.startswith(".")]  # no temporary left


def test_a_cached_digest_that_is_not_a_digest_is_recomputed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import hashlib

    from nnctl.system import filehash

    cache = tmp_path / "cache"
    monkeypatch.setenv(filehash.CACHE_ENV, str(cache))
    data = tmp_path / "x.bin"
    data.write_bytes(b"abc")
    filehash.sha256_cached(data)
    entries = json.loads((cache / filehash.CACHE_FILE).read_text())
    (entry,) = entries.values()
    entry["sha256"] = "not a digest"
    (cache / filehash.CACHE_FILE).write_text(json.dumps(entries))
    assert filehash.sha256_cached(data) == (hashlib.sha256(b"abc").hexdigest(), False)


@pytest.mark.parametrize("kind", ["fifo", "deep"])
def test_training_with_a_damaged_hash_cache_trains(tmp_path: Path, kind: str) -> None:
    from helpers.proc import nnctl

    rng = np.random.default_rng(0)
    np.save(tmp_path / "x.npy", rng.normal(size=(60, 2)))
    np.save(tmp_path / "y.npy", (rng.random(60) > 0.5).astype(np.int64))
    cfg = write_config(
        tmp_path / "c.yaml",
        "dataset: {train: {x: x.npy, y: y.npy}}\nlayer_dims: [auto, 4, 1]\n"
        "activations: [relu, sigmoid]\nlearning_rate: 0.1\niterations: 5\n",
    )
    cache = tmp_path / "cache"
    _damage(kind, cache)
    r = nnctl(
        "train", cfg, "--quiet", "--json", runs_dir=tmp_path / "runs", cwd=tmp_path,
        timeout=60, NNCTL_CACHE_DIR=str(cache),
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert r.stderr == ""


# --------------------------------------------------------------------------- 3. whole outputs

WIDE = MOONS_SMALL.replace("[auto, 8, 1]", "[auto, 64, 64, 1]").replace(
    "[relu, sigmoid]", "[relu, relu, sigmoid]"
)


def _fsize_limited(limit: int):
    import resource

    def limit_file_size() -> None:  # Python ignores SIGXFSZ: a write past it fails with EFBIG
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return limit_file_size


@pytest.mark.parametrize("old", [False, True], ids=["fresh", "over-an-old-export"])
def test_npz_export_on_a_full_disk_leaves_both_files_or_neither(
    cli, runs_dir: Path, tmp_path: Path, old: bool
) -> None:
    import subprocess
    import sys

    from helpers.proc import env_for

    cfg = write_config(tmp_path / "wide.yaml", WIDE)
    r = cli("train", cfg, "--quiet", "--json", "--set", "iterations=5")
    assert r.exit_code == 0, r.stderr
    run = Path(json.loads(r.stdout)["run_dir"])
    out = tmp_path / "out"
    out.mkdir()
    if old:
        (out / "model.npz").write_bytes(b"old arrays")
        (out / "model.json").write_text("old sidecar")
    # The sidecar (~1.5 KB) fits under the limit, the arrays (~35 KB) do not: a disk that
    # fills up between the two files.
    p = subprocess.run(
        [sys.executable, "-m", "nnctl", "export", run, "-f", "npz", "-o", out / "model.npz"],
        cwd=tmp_path,
        env=env_for(runs_dir, PYTHONDONTWRITEBYTECODE="1"),
        capture_output=True,
        text=True,
        timeout=60,
        preexec_fn=_fsize_limited(8 << 10),
    )
    assert p.returncode == 2, p.stderr
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), p.stderr
    assert "model.npz" in lines[0] and "Traceback" not in p.stderr
    left = {f.name: f.read_bytes() for f in out.iterdir()}
    if old:
        assert left == {"model.npz": b"old arrays", "model.json": b"old sidecar"}
    else:
        assert left == {}


def test_write_all_removes_every_temporary_when_one_write_fails(tmp_path: Path) -> None:
    from nnctl import runs
    from nnctl.system import RunError

    def boom(f) -> None:
        f.write(b"partial")
        raise OSError(28, "No space left on device")

    with pytest.raises(RunError, match=r"b\.bin: cannot write: No space left on device"):
        runs.atomic_write_all([(tmp_path / "a.json", b"{}"), (tmp_path / "b.bin", boom)])
    assert list(tmp_path.iterdir()) == []
    runs.atomic_write_all([(tmp_path / "a.json", b"{}"), (tmp_path / "b.bin", b"xy")])
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == {"a.json": b"{}", "b.bin": b"xy"}


# --------------------------------------------------------------------------- 4. report overflow

BIG = float(np.finfo(float).max)
HOSTILE_VALUES = {
    "both_limits": [BIG, -BIG, 0.5],
    "near_max": [BIG, BIG * 0.99, 1.0],
    "at_max": [BIG, BIG],
    "subnormal_to_max": [5e-324, 1.0, BIG],
}


@pytest.mark.parametrize("name", HOSTILE_VALUES)
@pytest.mark.parametrize("log_y", [False, True])
def test_charts_draw_values_near_the_float_limit(name: str, log_y: bool) -> None:
    import re
    import warnings

    from nnctl.commands.report.svg import Series, line_chart, scatter, smooth

    ys = HOSTILE_VALUES[name]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow warnings either
        charts = [
            line_chart([Series("a", list(range(len(ys))), ys)], "x", "y", log_y=log_y),
            line_chart([Series("a", [0.0, BIG], [1.0, 2.0])], "x", "y", log_y=log_y),
            line_chart([Series("a", list(range(len(ys))), smooth(ys, 2))], "x", "y"),
            scatter(ys, ys, "x", "y", diagonal=True, zero_line=True),
        ]
    for chart in charts:
        assert "<svg" in chart
        coords = re.findall(r'\s(?:x1|x2|y1|y2|cx|cy|x|y)="([^"]*)"', chart)
        coords += [
            c for pts in re.findall(r'points="([^"]*)"', chart) for c in re.split("[ ,]", pts)
        ]
        assert coords and all(-1e4 < float(c) < 1e4 for c in coords), chart
    clipped = [c for c in charts if "drawn at the edge" in c]
    assert clipped, "a clipped chart says so"


def test_ordinary_charts_say_nothing_about_clipping() -> None:
    from nnctl.commands.report.svg import Series, line_chart

    chart = line_chart([Series("a", [0, 1, 2], [0.7, 0.5, 0.1])], "x", "y", log_y=True)
    assert "drawn at the edge" not in chart


def test_report_of_a_history_near_the_float_limit_is_written(
    cli, runs_dir: Path, tmp_path: Path
) -> None:
    run = _trained(cli, tmp_path)
    rows = [f"{i},{v!r}" for i, v in enumerate([0.5, BIG, -BIG, BIG * 0.5, 5e-324, 0.25])]
    (run / "history.csv").write_text("iteration,cost\n" + "\n".join(rows) + "\n")
    r = cli("report", run, "-o", tmp_path / "report.html")
    assert r.exit_code == 0, r.stderr
    page = (tmp_path / "report.html").read_text()
    assert "drawn at the edge" in page and "Traceback" not in r.stderr
