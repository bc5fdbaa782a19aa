"""The lean access log: what a line holds (and never: headers), and that a stalled output
drops lines with a count instead of queuing without bound."""

from __future__ import annotations

import asyncio
import io
from typing import Any

import pytest

from registry_service import access_log
from registry_service.access_log import AccessLog, AccessLogWriter


async def answer_204(scope: dict[str, Any], receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 204, "headers": []})
    await send({"type": "http.response.body", "body": b""})


def request(layer: AccessLog, path: bytes, query: bytes = b"") -> None:
    scope = {
        "type": "http",
        "method": "GET",
        "path": path.decode(),
        "raw_path": path,
        "query_string": query,
        "http_version": "1.1",
        "client": ("10.1.2.3", 40000),
        "headers": [(b"authorization", b"Basic c2VjcmV0OnBhc3N3b3Jk")],
    }

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b""}

    async def send(message: dict[str, Any]) -> None:
        pass

    asyncio.run(layer(scope, receive, send))


def test_a_line_has_the_request_and_the_answer_and_no_header() -> None:
    out = io.StringIO()
    writer = AccessLogWriter(out)
    layer = AccessLog(answer_204, writer)
    request(layer, b"/subjects/a%2Fb/versions", b"deleted=true")
    writer.flush()
    line = out.getvalue()
    assert line.endswith("ms\n") and line.count("\n") == 1
    stamp, client, rest = line.split(" ", 2)
    assert stamp.endswith("Z") and len(stamp) == len("2026-12-07T11:00:00.123Z")
    assert client == "10.1.2.3:40000"
    assert rest.startswith('"GET /subjects/a%2Fb/versions?deleted=true HTTP/1.1" 204 ')
    assert "c2VjcmV0" not in line and "uthorization" not in line


def test_a_stalled_output_drops_lines_and_says_how_many(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(access_log, "MAX_PENDING", 2)
    out = io.StringIO()
    writer = AccessLogWriter(out)
    layer = AccessLog(answer_204, writer)
    for n in range(5):
        request(layer, f"/schemas/ids/{n}".encode())
    assert len(writer.pending) == 2
    writer.flush()
    lines = out.getvalue().splitlines()
    assert [line.split('"')[1] for line in lines[:2]] == [
        "GET /schemas/ids/0 HTTP/1.1",
        "GET /schemas/ids/1 HTTP/1.1",
    ]
    assert lines[2] == "access log: 3 lines dropped (the output did not keep up)"
    writer.flush()  # nothing new: nothing written
    assert len(out.getvalue().splitlines()) == 3
