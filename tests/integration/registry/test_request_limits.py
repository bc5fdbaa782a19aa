"""Request body and schema size limits: 413 before a body is read, 42209 for schemas.

The first tests drive the application's ASGI callable directly, so they can see how
many body bytes it asked for: none when ``Content-Length`` is over the limit, no more
than the limit and one chunk when the body is chunked. The last one runs a real
registry process (uvicorn, SQLite) and sends it a 20 MB body, announced and chunked,
and a slow chunked one, while another client's reads must keep being answered promptly.
"""

from __future__ import annotations

import asyncio
import json
import socket
import statistics
import threading
import time
from collections.abc import Callable, Iterator, MutableMapping
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from regcast.local_broker import stop_process
from registry_service.settings import (
    DEFAULT_MAX_REQUEST_BYTES,
    DEFAULT_MAX_SCHEMA_BYTES,
    Settings,
)
from tests.support.registry import serve_registry

LIMIT = 64 * 1024
SCHEMA_LIMIT = 4096
CHUNK = 16 * 1024
SCHEMA = json.dumps({"type": "record", "name": "U", "fields": [{"name": "a", "type": "int"}]})

# (method, path) of every call that reads a body; "?routed=1" keeps HotPaths out
BODY_CALLS = [
    ("POST", "/subjects/s/versions"),
    ("POST", "/subjects/s/versions?routed=1"),
    ("POST", "/subjects/s"),
    ("POST", "/compatibility/subjects/s/versions/latest"),
    ("POST", "/compatibility/subjects/s/versions"),
    ("PUT", "/config"),
    ("PUT", "/mode/s"),
]


def padded_body(size: int) -> bytes:
    """A valid register body of exactly ``size`` bytes (JSON whitespace as padding)."""
    body = json.dumps({"schema": SCHEMA}).encode()
    return body[:-1] + b" " * (size - len(body)) + b"}"


class AsgiCall:
    """One request straight into the ASGI app, counting the body bytes it reads."""

    def __init__(self, method: str, path: str, headers: list[tuple[bytes, bytes]]) -> None:
        route, _, query = path.partition("?")
        self.scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": method,
            "scheme": "http",
            "path": route,
            "raw_path": route.encode(),
            "query_string": query.encode(),
            "root_path": "",
            "headers": [(b"host", b"registry"), *headers],
            "server": ("registry", 80),
            "client": ("client", 1),
            "state": {},
        }
        self.read_bytes = 0
        self.receive_calls = 0
        self.messages: list[dict[str, Any]] = []

    def run(self, app: FastAPI, chunks: Iterator[bytes]) -> tuple[int, dict[bytes, bytes], Any]:
        async def receive() -> dict[str, Any]:
            self.receive_calls += 1
            chunk = next(chunks, None)
            if chunk is None:
                return {"type": "http.request", "body": b"", "more_body": False}
            self.read_bytes += len(chunk)
            return {"type": "http.request", "body": chunk, "more_body": True}

        async def send(message: MutableMapping[str, Any]) -> None:
            self.messages.append(dict(message))

        async def call() -> None:
            async with app.router.lifespan_context(app):
                await app(self.scope, receive, send)

        asyncio.run(call())
        start = self.messages[0]
        body = b"".join(m.get("body", b"") for m in self.messages[1:])
        return start["status"], dict(start["headers"]), json.loads(body)


def endless() -> Iterator[bytes]:
    while True:
        yield b" " * CHUNK


@pytest.fixture
def limited(registry_app: Callable[..., FastAPI]) -> FastAPI:
    return registry_app(max_request_bytes=LIMIT, max_schema_bytes=SCHEMA_LIMIT)


@pytest.mark.parametrize(("method", "path"), BODY_CALLS)
@pytest.mark.parametrize("length", [LIMIT + 1, 20 * 1024 * 1024, 10**30])
def test_announced_bodies_above_the_limit_are_413_unread(
    limited: FastAPI, method: str, path: str, length: int
) -> None:
    call = AsgiCall(method, path, [(b"content-length", str(length).encode())])
    status, headers, body = call.run(limited, endless())
    assert status == 413 and body["error_code"] == 413, body
    assert "REGCAST_MAX_REQUEST_BYTES" in body["message"]
    assert headers[b"connection"] == b"close"
    assert call.receive_calls == 0  # refused from the headers alone


@pytest.mark.parametrize(("method", "path"), BODY_CALLS)
def test_chunked_bodies_are_not_read_past_the_limit(
    limited: FastAPI, method: str, path: str
) -> None:
    call = AsgiCall(method, path, [(b"transfer-encoding", b"chunked")])
    status, headers, body = call.run(limited, endless())
    assert status == 413 and body["error_code"] == 413, body
    assert headers[b"connection"] == b"close"
    assert LIMIT < call.read_bytes <= LIMIT + CHUNK


@pytest.mark.parametrize("announced", [True, False])
def test_bodies_up_to_the_limit_are_taken(limited: FastAPI, announced: bool) -> None:
    raw = padded_body(LIMIT)
    headers = [(b"content-length", str(LIMIT).encode())] if announced else []
    chunks = iter([raw[i : i + CHUNK] for i in range(0, len(raw), CHUNK)])
    status, _, body = AsgiCall("POST", "/subjects/s/versions", headers).run(limited, chunks)
    assert status == 200, body
    assert body["version"] == 1


def stored(client: TestClient) -> Any:
    return client.get("/subjects?deleted=true").json(), client.get("/schemas").json()


@pytest.mark.parametrize(
    "schema",
    [
        "x" * (SCHEMA_LIMIT + 1),
        SCHEMA + " " * (SCHEMA_LIMIT + 1 - len(SCHEMA)),
        "\u00e9" * (SCHEMA_LIMIT // 2 + 1),  # fewer characters than bytes of UTF-8
        "\U0001f600" * (SCHEMA_LIMIT // 4 + 1),
    ],
)
def test_schemas_above_max_schema_bytes_are_42209(limited: FastAPI, schema: str) -> None:
    with TestClient(limited) as client:
        assert client.post("/subjects/s/versions", json={"schema": SCHEMA}).status_code == 200
        before = stored(client)
        body = {"schema": schema}
        for path in (
            "/subjects/s/versions",
            "/subjects/s/versions?routed=1",
            "/subjects/new/versions",
            "/subjects/s",
            "/compatibility/subjects/s/versions/latest",
        ):
            response = client.post(path, json=body)
            assert response.status_code == 422, response.text
            assert response.json()["error_code"] == 42209
            assert "REGCAST_MAX_SCHEMA_BYTES" in response.json()["message"]
        assert stored(client) == before


def test_a_schema_of_exactly_max_schema_bytes_is_taken(limited: FastAPI) -> None:
    schema = SCHEMA + " " * (SCHEMA_LIMIT - len(SCHEMA))
    with TestClient(limited) as client:
        response = client.post("/subjects/s/versions", json={"schema": schema})
        assert response.status_code == 200, response.text


def test_limits_are_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings().max_request_bytes == DEFAULT_MAX_REQUEST_BYTES == 8 * 1024 * 1024
    assert Settings().max_schema_bytes == DEFAULT_MAX_SCHEMA_BYTES == 1024 * 1024
    monkeypatch.setenv("REGCAST_MAX_REQUEST_BYTES", "2048")
    monkeypatch.setenv("REGCAST_MAX_SCHEMA_BYTES", "100")
    assert (Settings().max_request_bytes, Settings().max_schema_bytes) == (2048, 100)


# -- a real registry process -----------------------------------------------------------

BIG = 20 * 1024 * 1024


def read_response(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    """One HTTP/1.1 response with a Content-Length, read from ``sock``."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError(f"closed before the response: {data!r}")
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    length = int(headers.get("content-length", "0"))
    while len(rest) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        rest += chunk
    return int(lines[0].split()[1]), headers, rest[:length]


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


class Poller(threading.Thread):
    """Another client: reads from the registry in a loop, timing every answer."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.url = url
        self.latencies_s: list[float] = []
        self.failures: list[str] = []
        self.stop = threading.Event()

    def run(self) -> None:
        paths = ["/schemas/ids/1", "/subjects/s/versions/latest", "/subjects"]
        with httpx.Client(base_url=self.url, timeout=10) as client:
            while not self.stop.is_set():
                for path in paths:
                    started = time.monotonic()
                    try:
                        response = client.get(path)
                    except httpx.HTTPError as exc:
                        self.failures.append(f"{path}: {exc!r}")
                        continue
                    self.latencies_s.append(time.monotonic() - started)
                    if response.status_code != 200:
                        self.failures.append(f"{path}: {response.status_code}")
                time.sleep(0.005)


def connect(url: str) -> socket.socket:
    host, port = url.rsplit("//", 1)[1].split(":")
    sock = socket.create_connection((host, int(port)), timeout=15)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def request_head(path: str, extra: str) -> bytes:
    return (
        f"POST {path} HTTP/1.1\r\nHost: registry\r\nContent-Type: application/json\r\n{extra}\r\n"
    ).encode()


def send_quietly(sock: socket.socket, data: bytes) -> int:
    """Send as much of ``data`` as the server takes; the count sent."""
    sent = 0
    try:
        view = memoryview(data)
        while sent < len(data):
            sent += sock.send(view[sent : sent + 65536])
    except OSError:  # the server answered and closed: that is the point
        pass
    return sent


def huge_announced_body(url: str) -> tuple[int, dict[str, str], bytes]:
    with connect(url) as sock:
        sock.sendall(request_head("/subjects/big/versions", f"Content-Length: {BIG}\r\n"))
        sock.sendall(b'{"schema": "' + b"x" * 65536)
        answer = read_response(sock)
        send_quietly(sock, b"x" * (BIG - 65536 - 12))
        return answer


def huge_chunked_body(url: str) -> tuple[int, dict[str, str], bytes]:
    with connect(url) as sock:
        sock.sendall(request_head("/subjects/big/versions", "Transfer-Encoding: chunked\r\n"))
        chunk = b"x" * 65536
        framed = f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n"
        sender = threading.Thread(
            target=send_quietly, args=(sock, framed * (BIG // len(chunk))), daemon=True
        )
        sender.start()
        answer = read_response(sock)
        sender.join(30)
        return answer


def slow_chunked_body(url: str, seconds: float, result: list[Any]) -> None:
    """A valid registration whose body trickles in over ``seconds``."""
    body = padded_body(4096)
    pieces = [body[i : i + 100] for i in range(0, len(body), 100)]
    pause = seconds / len(pieces)
    with connect(url) as sock:
        sock.sendall(request_head("/subjects/slow/versions", "Transfer-Encoding: chunked\r\n"))
        for piece in pieces:
            sock.sendall(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
            time.sleep(pause)
        sock.sendall(b"0\r\n\r\n")
        result.append(read_response(sock))


def test_huge_and_slow_bodies_neither_crash_nor_stall_the_registry(tmp_path: Path) -> None:
    process, url = serve_registry(f"sqlite:///{tmp_path / 'r.db'}", tmp_path / "registry.log")
    try:
        with httpx.Client(base_url=url) as client:
            assert client.post("/subjects/s/versions", json={"schema": SCHEMA}).status_code == 200
        poller = Poller(url)
        poller.start()
        slow: list[Any] = []
        trickle = threading.Thread(target=slow_chunked_body, args=(url, 4.0, slow), daemon=True)
        trickle.start()
        memory_before = rss_bytes(process.pid)

        started = time.monotonic()
        status, headers, body = huge_announced_body(url)
        assert status == 413, body
        assert json.loads(body)["error_code"] == 413
        assert headers["connection"] == "close"
        assert time.monotonic() - started < 5
        # refused from the headers: the 20 MB were never held
        assert rss_bytes(process.pid) - memory_before < 8 * 1024 * 1024

        started = time.monotonic()
        status, headers, body = huge_chunked_body(url)
        assert status == 413, body
        assert json.loads(body)["error_code"] == 413
        assert time.monotonic() - started < 10

        trickle.join(30)
        assert slow and slow[0][0] == 200, slow  # the slow body was taken in the end
        time.sleep(0.2)
        poller.stop.set()
        poller.join(15)

        assert poller.failures == []
        assert len(poller.latencies_s) >= 30  # answered all along, ~4 s of reads
        assert statistics.median(poller.latencies_s) < 0.25
        assert max(poller.latencies_s) < 2.0
        assert process.poll() is None  # still running
        with httpx.Client(base_url=url) as client:
            assert client.get("/subjects").json() == ["s", "slow"]
    finally:
        stop_process(process)
