"""An HTTP proxy in front of the REAL registry: counts requests, injects faults, checks auth.

Tests only. A registry cannot be made to answer 503 on cue, drop a connection half way,
or demand basic auth (regcast's registry has no auth of its own), yet those are exactly
the paths of the client's retry and auth code. This proxy sits between the client and
a real registry process and, on demand:

- :meth:`RegistryProxy.fail_next`: answer the next ``n`` requests itself with an HTTP
  error (503 / error_code 50003 by default, the shape Confluent's registry uses when it
  cannot forward to its leader);
- :meth:`RegistryProxy.drop_next`: close the connection of the next ``n`` requests
  without answering (the client sees "server disconnected");
- ``basic_auth=(user, password)``: answer 401 / error_code 40101 to requests without
  those credentials.

Every other request is forwarded and the registry's own answer returned unchanged, and
every request that reaches the proxy is recorded in :attr:`RegistryProxy.requests`
(method, path with query) so tests can count HTTP round trips.
"""

from __future__ import annotations

import base64
import http.client
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

__all__ = ["RegistryProxy"]


class RegistryProxy:
    """Forward ``http://127.0.0.1:<port>`` to ``upstream`` (a registry URL), with faults."""

    def __init__(self, upstream: str, *, basic_auth: tuple[str, str] | None = None) -> None:
        parts = urlsplit(upstream)
        self._upstream = (parts.hostname or "127.0.0.1", parts.port or 80)
        self._expected_auth = (
            None
            if basic_auth is None
            else "Basic " + base64.b64encode(f"{basic_auth[0]}:{basic_auth[1]}".encode()).decode()
        )
        self._lock = threading.Lock()
        self._faults: list[tuple[str, int, int]] = []  # ("fail"|"drop", status, error_code)
        self.requests: list[tuple[str, str]] = []
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> RegistryProxy:
        self._thread.start()
        return self

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> RegistryProxy:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def fail_next(self, count: int, status: int = 503, error_code: int = 50003) -> None:
        """Answer the next ``count`` requests with ``status`` instead of forwarding them."""
        with self._lock:
            self._faults.extend([("fail", status, error_code)] * count)

    def drop_next(self, count: int) -> None:
        """Close the connection of the next ``count`` requests without any answer."""
        with self._lock:
            self._faults.extend([("drop", 0, 0)] * count)

    def _next_fault(self) -> tuple[str, int, int] | None:
        with self._lock:
            return self._faults.pop(0) if self._faults else None

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                pass

            def _answer(self, status: int, body: bytes, content_type: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _error(self, status: int, error_code: int, message: str) -> None:
                body = json.dumps({"error_code": error_code, "message": message}).encode()
                self._answer(status, body, "application/vnd.schemaregistry.v1+json")

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                with proxy._lock:
                    proxy.requests.append((self.command, self.path))
                if (
                    proxy._expected_auth is not None
                    and self.headers.get("Authorization") != proxy._expected_auth
                ):
                    self._error(401, 40101, "Unauthorized")
                    return
                fault = proxy._next_fault()
                if fault is not None and fault[0] == "drop":
                    self.close_connection = True
                    self.connection.shutdown(2)
                    return
                if fault is not None:
                    self._error(fault[1], fault[2], "injected by RegistryProxy")
                    return
                upstream = http.client.HTTPConnection(*proxy._upstream, timeout=10)
                try:
                    headers = {
                        k: v
                        for k, v in self.headers.items()
                        if k.lower() not in ("host", "authorization", "connection")
                    }
                    upstream.request(self.command, self.path, body=body or None, headers=headers)
                    response = upstream.getresponse()
                    payload = response.read()
                    content_type = response.getheader("Content-Type") or "application/json"
                    self._answer(response.status, payload, content_type)
                finally:
                    upstream.close()

            do_GET = do_POST = do_PUT = do_DELETE = _handle

        return Handler
