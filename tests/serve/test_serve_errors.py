"""Bad requests: each gets a 4xx JSON error whose one line names the problem, never a
traceback, and the server keeps answering afterwards. Bodies over --max-body get 413 before
they are read whole; a client too slow to send its body gets 408."""

from __future__ import annotations

import socket
import struct
import time
import zlib
from collections.abc import Iterator

import numpy as np
import pytest
from PIL import Image

from helpers.serving import Server, image_pixels, png

JSON = "application/json"


def png_claiming(width: int, height: int) -> bytes:
    """A PNG whose header claims width x height pixels (a decompression bomb's header)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    idat = zlib.compress(b"\x00" * (width + 1))  # one row; the open is refused before decoding
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
    )


def float_tiff() -> bytes:
    import io

    out = io.BytesIO()
    Image.fromarray(np.zeros((8, 8), dtype=np.float32), mode="F").save(out, "TIFF")
    return out.getvalue()


def multipart(parts: list[tuple[str, bytes]], boundary: str = "xyzzy") -> bytes:
    out = b""
    for name, data in parts:
        out += (
            (
                f'--{boundary}\r\nContent-Disposition: form-data; name="f"; filename="{name}"\r\n'
                f"Content-Type: image/png\r\n\r\n"
            ).encode()
            + data
            + b"\r\n"
        )
    return out + f"--{boundary}--\r\n".encode()


CASES = [
    # (model: moons|images, Content-Type, body, query, status, words in the message)
    ("moons", JSON, b'{"inputs": [[0.1]]}', "", 400, "inputs[0]: has 1 value(s), but the run"),
    ("moons", JSON, b'{"inputs": [[NaN, 1]]}', "", 400, "NaN is not allowed"),
    ("moons", JSON, b'{"inputs": [[1, Infinity]]}', "", 400, "Infinity is not allowed"),
    ("moons", JSON, b'{"inputs": [[1e400, 1]]}', "", 400, "infinite values"),
    ("moons", JSON, b'{"inputs": [[1, "2"]]}', "", 400, 'inputs[0][1]: "2" is not a number'),
    ("moons", JSON, b'{"inputs": [[1, true]]}', "", 400, "inputs[0][1]: true is not a number"),
    ("moons", JSON, b'{"inputs": [1, 2]}', "", 400, "inputs[0]: a row is a list of 2 numbers"),
    ("moons", JSON, b'{"rows": [[1, 2]]}', "", 400, 'expected {"inputs": [[2 numbers], ...]}'),
    ("moons", JSON, b'{"inputs": [[1, 2]', "", 400, "the body is not valid JSON"),
    ("moons", JSON, b"\xff\xfe", "", 400, "the body is not valid JSON"),
    ("moons", JSON, b"[" * 100_000, "", 400, "nests JSON too deeply"),
    ("moons", JSON, b'{"inputs": [[1.7e308, 1.7e308]]}', "", 422, "overflowed inside the network"),
    ("moons", JSON, b'{"inputs": [[1, 2]]}', "?threshold=1.5", 400, "threshold '1.5'"),
    ("moons", "text/plain", b"1,2", "", 415, "Content-Type 'text/plain' is not taken"),
    ("moons", "", b"1,2", "", 415, "Content-Type '(none)' is not taken"),
    ("moons", "image/png", b"x", "", 415, "takes feature rows"),
    ("images", JSON, b'{"inputs": [[1]]}', "", 415, "takes images"),
    ("images", "image/png", b"", "", 400, "the body is empty"),
    ("images", "image/png", b"not an image", "", 422, "image: not an image file Pillow can read"),
    ("images", "image/png", png(image_pixels(1))[:60], "", 422, "image: cannot read image"),
    ("images", "image/png", png_claiming(30000, 30000), "?name=bomb.png", 422,
     "bomb.png: refused as a possible decompression bomb"),
    ("images", "image/tiff", float_tiff(), "", 422, "floating-point image (mode F)"),
    ("images", "image/png", png(image_pixels(1)), "?threshold=0.7", 400,
     "threshold applies to binary classifiers"),
    ("images", "multipart/form-data", b"--x--", "", 400, "without a boundary"),
    ("images", "multipart/form-data; boundary=xyzzy", b"--xyzzy--\r\n", "", 400, "holds no parts"),
    ("images", "multipart/form-data; boundary=xyzzy",
     multipart([("good.png", png(image_pixels(1))), ("bad.png", b"junk")]), "", 422,
     "bad.png: not an image file Pillow can read"),
]  # fmt: skip


@pytest.mark.parametrize(("model", "kind", "body", "query", "status", "words"), CASES)
def test_bad_request_is_a_one_line_json_error_and_the_server_keeps_serving(
    server, trained, model, kind, body, query, status, words
) -> None:
    _, _, moons, images = trained
    run = moons if model == "moons" else images
    headers = {"Content-Type": kind} if kind else {}
    r = server.client.post(f"/v1/models/{run.name}/predict{query}", content=body, headers=headers)
    assert r.status_code == status, r.text
    message = r.json()["error"]
    assert words in message and "\n" not in message and "Traceback" not in message
    assert server.healthy()
    ok = server.client.post(f"/v1/models/{moons.name}/predict", json={"inputs": [[0.5, 0.5]]})
    assert ok.status_code == 200


def test_unknown_model_path_and_method(server, trained) -> None:
    _, _, moons, _ = trained
    r = server.client.post("/v1/models/nope/predict", json={"inputs": [[1, 2]]})
    assert r.status_code == 404
    assert r.json()["error"].startswith("no model 'nope' is served; served: ")
    assert moons.name in r.json()["error"] and "moons_served" in r.json()["error"]
    assert server.client.get("/nothing").json() == {"error": "GET /nothing: Not Found"}
    r = server.client.get(f"/v1/models/{moons.name}/predict")
    assert (r.status_code, r.json()["error"]) == (
        405,
        f"GET /v1/models/{moons.name}/predict: Method Not Allowed",
    )
    assert server.healthy()


@pytest.fixture(scope="module")
def strict(trained) -> Iterator[Server]:
    """A server taking bodies of at most 2000 bytes, each within 1 s."""
    root, runs_dir, moons, images = trained
    s = Server(moons, images, "--max-body", "2000", "--timeout", "1", runs_dir=runs_dir, cwd=root)
    yield s
    s.stop()


def raw_request(url: str, head: str, body: bytes, wait: float = 10) -> bytes:
    """Sends ``head`` and ``body`` on a plain socket (nothing more, the connection left open);
    returns what the server answers within ``wait`` seconds."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=wait) as sock:
        sock.sendall(head.encode() + b"\r\n\r\n" + body)
        answer = b""
        deadline = time.monotonic() + wait
        while b"}" not in answer and time.monotonic() < deadline:
            data = sock.recv(65536)
            if not data:
                break
            answer += data
    return answer


def test_declared_body_over_the_limit_gets_413_before_it_is_sent(strict, trained) -> None:
    _, _, moons, _ = trained
    head = (
        f"POST /v1/models/{moons.name}/predict HTTP/1.1\r\nHost: x\r\n"
        "Content-Type: application/json\r\nContent-Length: 1000000000"
    )
    started = time.monotonic()
    answer = raw_request(strict.url, head, b'{"inputs": ')  # a GB declared, 11 bytes sent
    assert answer.startswith(b"HTTP/1.1 413"), answer
    assert b"request body of 953.7 MiB is over the limit of 2.0 KiB (--max-body)" in answer
    assert time.monotonic() - started < 5
    assert strict.healthy()


def test_chunked_body_over_the_limit_gets_413(strict, trained) -> None:
    _, _, moons, _ = trained

    def chunks() -> Iterator[bytes]:
        yield b'{"inputs": ['
        for _ in range(400):
            yield b"[0.5, 0.5],"
        yield b"[0.5, 0.5]]}"

    r = strict.client.post(
        f"/v1/models/{moons.name}/predict", content=chunks(), headers={"Content-Type": JSON}
    )
    assert r.status_code == 413
    assert "sent without a Content-Length" in r.json()["error"]
    assert strict.healthy()


def test_slow_client_gets_408_and_does_not_hold_the_server(strict, trained) -> None:
    _, _, moons, _ = trained
    head = (
        f"POST /v1/models/{moons.name}/predict HTTP/1.1\r\nHost: x\r\n"
        "Content-Type: application/json\r\nContent-Length: 100"
    )
    answer = raw_request(strict.url, head, b'{"inputs": ', wait=10)  # 11 of 100 bytes, then nothing
    assert answer.startswith(b"HTTP/1.1 408"), answer
    assert b"request body not received within 1 s (--timeout)" in answer
    ok = strict.client.post(f"/v1/models/{moons.name}/predict", json={"inputs": [[0.5, 0.5]]})
    assert ok.status_code == 200
