"""A FAKE Kafka broker, in process, for faults a real broker cannot be made to produce.

Built on regcast's own codec (``decode_request`` / ``encode_response``). It answers
ApiVersions, Metadata (itself as the only broker, leader of every partition), Produce
and InitProducerId plausibly enough for a client to get going, and then misbehaves on
request: a response with the wrong correlation id, two responses swapped, half a frame
and then silence or a closed socket, a chosen error code on the Nth request of an API,
no answer at all.

It is NOT a Kafka broker: nothing is stored, nothing is validated beyond decoding. A
test that claims the real path works must use the ``kafka_broker`` / ``kafka_cluster``
fixtures; this one is only for the failure paths those cannot reach.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from producer.protocol import SUPPORTED_VERSIONS, ApiKey, decode_request, encode_response

_SIZE = struct.Struct(">i")


@dataclass
class ReceivedRequest:
    """A request the fake broker decoded: which connection, header fields and body."""

    connection: int
    api_key: int
    api_version: int
    correlation_id: int
    client_id: str | None
    body: dict[str, Any]


@dataclass
class _Fault:
    api_key: int
    nth: int  # 1-based count of requests of that api key, over all connections
    kind: str  # "mismatch" | "swap" | "half_close" | "half_stall" | "silent" | "close" | "error"
    error_code: int = 0


@dataclass
class _Connection:
    index: int
    sock: socket.socket
    held: list[bytes] = field(default_factory=list)  # responses held back by a "swap" fault


class FakeBroker:
    """An in-process fake broker on a loopback port (one thread per connection)."""

    def __init__(
        self,
        *,
        node_id: int = 0,
        topics: dict[str, int] | None = None,
        api_versions: dict[int, tuple[int, int]] | None = None,
        other_brokers: list[tuple[int, str, int]] | None = None,
        host: str = "127.0.0.1",
    ) -> None:
        self.node_id = node_id
        self.other_brokers = list(other_brokers or [])  # (node_id, host, port) to advertise
        self.host = host
        self.topics: dict[str, int] = dict(topics or {})
        self.api_versions: dict[int, tuple[int, int]] = (
            dict(api_versions)
            if api_versions is not None
            else {int(k): v for k, v in SUPPORTED_VERSIONS.items()}
        )
        self.requests: list[ReceivedRequest] = []
        self.errors: list[BaseException] = []
        self._faults: list[_Fault] = []
        self._counts: dict[int, int] = {}
        self._offsets: dict[tuple[str, int], int] = {}
        self._lock = threading.Lock()
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind((host, 0))
        self.port: int = self._listener.getsockname()[1]
        self._connections: list[_Connection] = []
        self._threads: list[threading.Thread] = []
        self._closed = threading.Event()
        self.handlers: dict[int, Callable[[ReceivedRequest], dict[str, Any] | None]] = {
            int(ApiKey.API_VERSIONS): self._api_versions,
            int(ApiKey.METADATA): self._metadata,
            int(ApiKey.PRODUCE): self._produce,
            int(ApiKey.INIT_PRODUCER_ID): self._init_producer_id,
        }

    @property
    def bootstrap(self) -> str:
        return f"{self.host}:{self.port}"

    # ------------------------------------------------------------------ faults

    def _add(self, api_key: int, nth: int, kind: str, error_code: int = 0) -> None:
        with self._lock:
            self._faults.append(_Fault(int(api_key), nth, kind, error_code))

    def mismatch_correlation_id_on(self, api_key: int, nth: int) -> None:
        """Answer the nth request of ``api_key`` with a correlation id nobody sent."""
        self._add(api_key, nth, "mismatch")

    def swap_responses_on(self, api_key: int, nth: int) -> None:
        """Hold the answer to the nth request of ``api_key``; send it after the next one's."""
        self._add(api_key, nth, "swap")

    def half_frame_then_close_on(self, api_key: int, nth: int) -> None:
        """Write half of the nth response frame, then close the connection."""
        self._add(api_key, nth, "half_close")

    def half_frame_then_stall_on(self, api_key: int, nth: int) -> None:
        """Write half of the nth response frame, then never write again."""
        self._add(api_key, nth, "half_stall")

    def no_response_on(self, api_key: int, nth: int) -> None:
        """Read the nth request of ``api_key`` and never answer it (nor anything after)."""
        self._add(api_key, nth, "silent")

    def close_on(self, api_key: int, nth: int) -> None:
        """Close the connection when the nth request of ``api_key`` arrives."""
        self._add(api_key, nth, "close")

    def error_on(self, api_key: int, nth: int, error_code: int) -> None:
        """Answer the nth request of ``api_key`` with ``error_code`` (top level or per
        partition, wherever that API carries it)."""
        self._add(api_key, nth, "error", error_code)

    def requests_of(self, api_key: int) -> list[ReceivedRequest]:
        with self._lock:
            return [r for r in self.requests if r.api_key == int(api_key)]

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> FakeBroker:
        self._listener.listen(16)
        self._listener.settimeout(0.2)  # here, not in the thread: close() may come first
        thread = threading.Thread(target=self._accept_loop, name="fake-broker", daemon=True)
        thread.start()
        self._threads.append(thread)
        return self

    def close(self) -> None:
        self._closed.set()
        with contextlib.suppress(OSError):
            self._listener.close()
        with self._lock:
            connections = list(self._connections)
        for conn in connections:
            with contextlib.suppress(OSError):
                conn.sock.shutdown(socket.SHUT_RDWR)
            with contextlib.suppress(OSError):
                conn.sock.close()
        for thread in self._threads:
            thread.join(timeout=5)

    def close_connections(self) -> None:
        """Drop every open connection (the listener stays)."""
        with self._lock:
            connections = list(self._connections)
        for conn in connections:
            with contextlib.suppress(OSError):
                conn.sock.shutdown(socket.SHUT_RDWR)

    def __enter__(self) -> FakeBroker:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # ------------------------------------------------------------------ serving

    def _accept_loop(self) -> None:
        while not self._closed.is_set():
            try:
                sock, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            sock.settimeout(None)
            with self._lock:
                conn = _Connection(len(self._connections), sock)
                self._connections.append(conn)
            thread = threading.Thread(
                target=self._serve, args=(conn,), name=f"fake-broker-{conn.index}", daemon=True
            )
            thread.start()
            self._threads.append(thread)

    def _recv_exact(self, sock: socket.socket, n: int) -> bytes | None:
        data = bytearray()
        while len(data) < n:
            try:
                chunk = sock.recv(n - len(data))
            except OSError:
                return None
            if not chunk:
                return None
            data += chunk
        return bytes(data)

    def _serve(self, conn: _Connection) -> None:
        sock = conn.sock
        try:
            while not self._closed.is_set():
                head = self._recv_exact(sock, 4)
                if head is None:
                    return
                (size,) = _SIZE.unpack(head)
                payload = self._recv_exact(sock, size)
                if payload is None:
                    return
                if not self._handle(conn, payload):
                    return
        except Exception as exc:  # surfaced to the test through .errors
            self.errors.append(exc)
        finally:
            with contextlib.suppress(OSError):
                sock.close()

    def _handle(self, conn: _Connection, payload: bytes) -> bool:
        header, body = decode_request(payload)
        request = ReceivedRequest(
            connection=conn.index,
            api_key=int(header.api_key),
            api_version=int(header.api_version),
            correlation_id=int(header.correlation_id),
            client_id=header.client_id,
            body=body,
        )
        with self._lock:
            self.requests.append(request)
            count = self._counts[request.api_key] = self._counts.get(request.api_key, 0) + 1
            fault = next(
                (f for f in self._faults if f.api_key == request.api_key and f.nth == count), None
            )
        kind = fault.kind if fault else None
        if kind == "close":
            return False
        if kind == "silent":
            self._closed.wait()
            return False
        handler = self.handlers.get(request.api_key)
        if handler is None:
            raise ValueError(f"fake broker has no handler for api key {request.api_key}")
        if kind == "error":
            assert fault is not None
            response_body = self._with_error(request, fault.error_code)
        else:
            response_body = handler(request)
        if response_body is None:  # Produce acks=0
            return True
        version = request.api_version
        if request.api_key == ApiKey.API_VERSIONS and response_body.get("error_code") == 35:
            version = 0  # Kafka answers an unknown ApiVersions version in v0
        correlation_id = request.correlation_id + (1000 if kind == "mismatch" else 0)
        frame_payload = encode_response(
            ApiKey(request.api_key), version, correlation_id, response_body
        )
        frame = _SIZE.pack(len(frame_payload)) + frame_payload
        if kind in ("half_close", "half_stall"):
            conn.sock.sendall(frame[: max(len(frame) // 2, 5)])
            if kind == "half_stall":
                self._closed.wait()
            return False
        if kind == "swap":
            conn.held.append(frame)
            return True
        conn.sock.sendall(frame)
        while conn.held:
            conn.sock.sendall(conn.held.pop(0))
        return True

    # ------------------------------------------------------------------ answers

    def _with_error(self, request: ReceivedRequest, error_code: int) -> dict[str, Any]:
        handler = self.handlers[request.api_key]
        body = handler(request) or {}
        if request.api_key == ApiKey.PRODUCE:
            for topic in body["responses"]:
                for partition in topic["partition_responses"]:
                    partition["error_code"] = error_code
                    partition["base_offset"] = -1
        elif request.api_key == ApiKey.METADATA:
            for topic in body["topics"]:
                topic["error_code"] = error_code
        else:
            body["error_code"] = error_code
        return body

    def _api_versions(self, request: ReceivedRequest) -> dict[str, Any]:
        ours = self.api_versions.get(int(ApiKey.API_VERSIONS), (0, 0))
        error_code = 35 if request.api_version > ours[1] else 0
        return {
            "error_code": error_code,
            "api_keys": [
                {"api_key": key, "min_version": low, "max_version": high}
                for key, (low, high) in sorted(self.api_versions.items())
            ],
            "throttle_time_ms": 0,
        }

    def _metadata(self, request: ReceivedRequest) -> dict[str, Any]:
        requested = request.body.get("topics")
        names = (
            sorted(self.topics)
            if requested is None
            else [t["name"] for t in requested if t.get("name") is not None]
        )
        topics = []
        for name in names:
            if name not in self.topics:
                self.topics[name] = 1  # auto-create, like Tansu and Kafka's default
            topics.append(
                {
                    "error_code": 0,
                    "name": name,
                    "is_internal": False,
                    "partitions": [
                        {
                            "error_code": 0,
                            "partition_index": p,
                            "leader_id": self.node_id,
                            "leader_epoch": 0,
                            "replica_nodes": [self.node_id],
                            "isr_nodes": [self.node_id],
                            "offline_replicas": [],
                        }
                        for p in range(self.topics[name])
                    ],
                }
            )
        return {
            "throttle_time_ms": 0,
            "brokers": [
                {"node_id": node_id, "host": host, "port": port, "rack": None}
                for node_id, host, port in [
                    (self.node_id, self.host, self.port),
                    *self.other_brokers,
                ]
            ],
            "cluster_id": "fake-cluster",
            "controller_id": self.node_id,
            "topics": topics,
        }

    def _produce(self, request: ReceivedRequest) -> dict[str, Any] | None:
        if request.body.get("acks") == 0:
            return None
        responses = []
        for topic in request.body.get("topic_data") or ():
            partitions = []
            for partition in topic.get("partition_data") or ():
                key = (topic["name"], partition["index"])
                with self._lock:
                    base = self._offsets.get(key, 0)
                    self._offsets[key] = base + 1
                partitions.append(
                    {
                        "index": partition["index"],
                        "error_code": 0,
                        "base_offset": base,
                        "log_append_time_ms": -1,
                        "log_start_offset": 0,
                        "record_errors": [],
                        "error_message": None,
                    }
                )
            responses.append({"name": topic["name"], "partition_responses": partitions})
        return {"responses": responses, "throttle_time_ms": 0}

    def _init_producer_id(self, request: ReceivedRequest) -> dict[str, Any]:
        with self._lock:
            producer_id = 1000 + self._counts.get(int(ApiKey.INIT_PRODUCER_ID), 0)
        return {
            "throttle_time_ms": 0,
            "error_code": 0,
            "producer_id": producer_id,
            "producer_epoch": 0,
        }
