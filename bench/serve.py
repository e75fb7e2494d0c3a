#!/usr/bin/env python3
"""``nnctl serve`` under load: ``python bench/serve.py [--client wrk|python] [--seconds S]
[--requests N] [--rss-requests N] [--slow-clients N] [--only slow]``.

A real server (``nnctl serve --port 0`` in a subprocess) and a load generator on the same
machine: wrk (Debian's package; the default when it is on PATH) for --seconds per setting, or
an async Python client (httpx) for --requests requests per setting. For each model (the cat
model, configs/cat_deep.yaml trained briefly, one image per request, when the cat data is
there; a feature model, configs/moons.yaml, one row and 100 rows per request), each number of
concurrent clients (1, 16, 64) and each batching setting (micro-batching on, the defaults;
off, ``--max-batch 1``): requests per second and p50/p99 latency. Then the server's RSS
before and after --rss-requests one-row requests (16 clients), and the start-up time from
the command to its first answer. Then slow clients: one-row requests from 16 clients while
--slow-clients connections send request heads a byte a second (slowloris, reconnecting when
cut off; the server with --header-timeout 2), against the same without them, interleaved.
Writes bench/serve_results.json (``--only slow``: just the slow clients, into the file's
``slow_clients``); nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(os.environ.get("NNCTL_DATA_DIR", ROOT / "data"))


def train(config: str, runs_dir: Path, *sets: str) -> Path:
    args = [sys.executable, "-m", "nnctl", "train", str(ROOT / "configs" / config), "-q"]
    for s in sets:
        args += ["--set", s]
    out = subprocess.run(
        [*args, "--runs-dir", str(runs_dir)], capture_output=True, text=True, check=True
    )
    return runs_dir / out.stdout.strip()


class Server:
    def __init__(self, run: Path, *options: str) -> None:
        self.started = time.perf_counter()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "nnctl", "serve", str(run), "--port", "0", *options],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        assert self.proc.stdout is not None
        self.url = self.proc.stdout.readline().strip()
        self.model = run.name

    def rss_mib(self) -> float:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return float("nan")

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(60)


async def load(url: str, request: dict, total: int, clients: int) -> dict:
    """``total`` POSTs of ``request`` (httpx keyword arguments) from ``clients`` concurrent
    clients; requests per second and latency percentiles in ms."""
    latencies: list[float] = []
    left = total
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(timeout=120, limits=limits) as client:

        async def worker() -> None:
            nonlocal left
            while left > 0:
                left -= 1
                t = time.perf_counter()
                r = await client.post(url, **request)
                latencies.append(time.perf_counter() - t)
                assert r.status_code == 200, r.text

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(clients)))
        seconds = time.perf_counter() - start
    ms = sorted(x * 1000 for x in latencies)
    return {
        "requests": len(ms),
        "rps": round(len(ms) / seconds, 1),
        "p50_ms": round(statistics.median(ms), 2),
        "p99_ms": round(ms[min(len(ms) - 1, int(0.99 * len(ms)))], 2),
    }


WRK_SCRIPT = """\
wrk.method = "POST"
wrk.headers["Content-Type"] = "{kind}"
local f = io.open("{body}", "rb")
wrk.body = f:read("*all")
f:close()
"""


def _ms(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m|h)", text).groups()
    return float(value) * {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3, "h": 3600e3}[unit]


def wrk(url: str, request: dict, seconds: int, clients: int, scratch: Path) -> dict:
    """wrk POSTing ``request``'s body for ``seconds`` from ``clients`` connections."""
    body = scratch / "body"
    if "json" in request:
        body.write_text(json.dumps(request["json"]))
        kind = "application/json"
    else:
        body.write_bytes(request["content"])
        kind = request["headers"]["Content-Type"]
    script = scratch / "post.lua"
    script.write_text(WRK_SCRIPT.format(kind=kind, body=body))
    threads = str(min(2, clients))
    args = ["wrk", "-t", threads, "-c", str(clients), "-d", f"{seconds}s", "--latency"]
    out = subprocess.run(
        [*args, "-s", str(script), url], capture_output=True, text=True, check=True
    ).stdout
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    assert bad is None, out
    return {
        "requests": int(re.search(r"(\d+) requests in", out).group(1)),
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        # the distribution's lines, not a "+/- Stdev" column that ends in 50% or 99%
        "p50_ms": _ms(re.search(r"^\s+50%\s+(\S+)$", out, re.M).group(1)),
        "p99_ms": _ms(re.search(r"^\s+99%\s+(\S+)$", out, re.M).group(1)),
    }


class Slowloris:
    """``n`` connections sending a request head a byte a second, never finishing it; each one
    the server closes is opened again. ``cut``: how many the server closed."""

    HEAD = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"s" * 100_000

    def __init__(self, url: str, n: int) -> None:
        host, port = url.removeprefix("http://").split(":")
        self.address = (host, int(port))
        self.n, self.cut, self.refused = n, 0, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Slowloris:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(30)

    def _open(self) -> tuple[socket.socket, int] | None:
        try:
            sock = socket.create_connection(self.address, timeout=5)
        except OSError:
            self.refused += 1
            return None
        sock.setblocking(False)
        return sock, 0

    def _run(self) -> None:
        conns = [c for c in (self._open() for _ in range(self.n)) if c is not None]
        while not self._stop.wait(1.0):
            kept = []
            for sock, sent in conns:
                try:
                    sock.send(self.HEAD[sent : sent + 1])
                    if sock.recv(1 << 16) == b"":
                        raise ConnectionError
                except BlockingIOError:  # nothing to read: the server still waits
                    kept.append((sock, sent + 1))
                    continue
                except OSError:
                    pass
                sock.close()  # the server cut it off: open another in its place
                self.cut += 1
                again = self._open()
                if again is not None:
                    kept.append(again)
            conns = kept
        for sock, _ in conns:
            sock.close()


def slow_clients(run: Path, n: int, seconds: int, scratch: Path) -> dict:
    """One-row requests from 16 clients with and without ``n`` slowloris connections, three
    rounds interleaved; the medians."""
    one = {"json": {"inputs": [[0.25, -0.5]]}}
    rounds: dict[str, list[dict]] = {"without": [], "with": []}
    server = Server(run, "--header-timeout", "2")
    url = f"{server.url}/v1/models/{server.model}/predict"
    try:
        for _ in range(3):
            rounds["without"].append(wrk(url, one, seconds, 16, scratch))
            with Slowloris(server.url, n) as attack:
                time.sleep(3)  # every slow connection open and trickling
                row = wrk(url, one, seconds, 16, scratch)
            row.update(slow_cut=attack.cut, slow_refused=attack.refused)
            rounds["with"].append(row)
            print(json.dumps({"slow": n, **row}), flush=True)
    finally:
        server.stop()
    out: dict = {"slow_connections": n, "header_timeout_s": 2, "clients": 16}
    for name, rows in rounds.items():
        out[name] = {
            key: statistics.median(r[key] for r in rows) for key in ("rps", "p50_ms", "p99_ms")
        }
        out[name]["rounds"] = rows
    return out


def cat_image() -> bytes | None:
    path = DATA / "test_catvnoncat.h5"
    if not path.exists():
        return None
    import h5py
    from PIL import Image

    with h5py.File(path) as f:
        pixels = np.asarray(f["test_set_x"][0])
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, "JPEG", quality=92)
    return out.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--client", choices=["wrk", "python"], default=None)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--rss-requests", type=int, default=100_000)
    parser.add_argument("--slow-clients", type=int, default=500)
    parser.add_argument("--only", choices=["slow"], default=None)
    args = parser.parse_args()
    args.client = args.client or ("wrk" if shutil.which("wrk") else "python")
    if args.only == "slow":
        if args.client != "wrk":
            parser.error("--only slow measures with wrk, which is not on PATH")
        with tempfile.TemporaryDirectory() as tmp:
            moons = train("moons.yaml", Path(tmp) / "runs")
            slow = slow_clients(moons, args.slow_clients, args.seconds, Path(tmp))
        slow["load_average"] = os.getloadavg()
        path = ROOT / "bench" / "serve_results.json"
        results = json.loads(path.read_text()) if path.exists() else {}
        results["slow_clients"] = slow
        path.write_text(json.dumps(results, indent=2) + "\n")
        return
    results: dict = {
        "machine": {"cores": os.cpu_count(), "load_average_at_start": os.getloadavg()},
        "params": vars(args),
        "throughput": [],
    }
    with tempfile.TemporaryDirectory() as tmp:
        runs = Path(tmp) / "runs"
        moons = train("moons.yaml", runs)
        rng = np.random.default_rng(0)
        one = {"json": {"inputs": rng.normal(size=(1, 2)).tolist()}}
        hundred = {"json": {"inputs": rng.normal(size=(100, 2)).tolist()}}
        cases = [("moons, 1 row", moons, one), ("moons, 100 rows", moons, hundred)]
        image = cat_image()
        if image is not None:
            cat = train("cat_deep.yaml", runs, "iterations=30")
            raw = {"content": image, "headers": {"Content-Type": "image/jpeg"}}
            cases.insert(0, ("cat, 1 image", cat, raw))
        for name, run, request in cases:
            for batching, options in (("on", ()), ("off", ("--max-batch", "1"))):
                server = Server(run, *options)
                url = f"{server.url}/v1/models/{server.model}/predict"
                try:
                    for clients in (1, 16, 64):
                        if args.client == "wrk":
                            row = wrk(url, request, args.seconds, clients, Path(tmp))
                        else:
                            row = asyncio.run(load(url, request, args.requests, clients))
                        row.update(case=name, batching=batching, clients=clients)
                        results["throughput"].append(row)
                        print(json.dumps(row), flush=True)
                finally:
                    server.stop()
        server = Server(moons)
        url = f"{server.url}/v1/models/{server.model}/predict"
        try:
            asyncio.run(load(url, one, 1, 1))
            first = time.perf_counter() - server.started
            before = server.rss_mib()
            if args.client == "wrk":  # rounds of --seconds until --rss-requests were answered
                row = {"requests": 0}
                while row["requests"] < args.rss_requests:
                    done = row["requests"]
                    row = wrk(url, one, args.seconds, 16, Path(tmp))
                    row["requests"] += done
            else:
                row = asyncio.run(load(url, one, args.rss_requests, 16))
            after = server.rss_mib()
        finally:
            server.stop()
        results["start_to_first_answer_s"] = round(first, 3)
        results["rss_mib"] = {"before": round(before, 1), "after": round(after, 1), **row}
        print(json.dumps({"start": results["start_to_first_answer_s"], **results["rss_mib"]}))
        if args.client == "wrk":
            results["slow_clients"] = slow_clients(
                moons, args.slow_clients, args.seconds, Path(tmp)
            )
    results["machine"]["load_average_at_end"] = os.getloadavg()
    (ROOT / "bench" / "serve_results.json").write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
