"""A fault-injecting TCP proxy between a Kafka client and REAL brokers (tests only).

Tests need brokers that go away and come back *with their log intact*, stall, or
refuse connections; a Tansu broker that is restarted forgets its log, and the
librdkafka mock cannot stall. This proxy sits in front of real brokers and lets a test:

- :meth:`FaultProxy.cut`: close every proxied connection (the client sees EOF);
- :meth:`FaultProxy.stall` / :meth:`FaultProxy.resume`: stop / restart moving bytes
  (requests stay unanswered, so clients hit their request timeouts);
- :meth:`FaultProxy.refuse` / :meth:`FaultProxy.accept`: close / reopen the listening
  socket (new connects get ECONNREFUSED, on the same port when reopened);
- ``max_batch_bytes``: play a broker whose ``message.max.bytes`` is that small: a
  Produce request carrying a larger batch is answered MESSAGE_TOO_LARGE by the proxy
  itself (as the broker would: nothing of it written) and never forwarded. (Tansu does
  not enforce the limit.)
- :meth:`FaultProxy.inject_error`: answer the next requests of one API with a chosen
  error code, from the proxy itself, for the errors no broker here gives on demand
  (CONCURRENT_TRANSACTIONS, COORDINATOR_NOT_AVAILABLE, NOT_COORDINATOR: a coordinator
  that moved, INVALID_PRODUCER_EPOCH, any code on EndTxn). Such a request is never
  forwarded: the broker does not see it, as a broker that refused it would not have
  acted on it. The answer is encoded with regcast's codec at the request's version,
  the error where that response carries it (see :meth:`FaultProxy.inject_error`);
- :meth:`FaultProxy.request_count` / :meth:`FaultProxy.injected_count`: how many
  requests of an API the clients sent, and how many of them the proxy answered itself.

Answers, the broker's and the proxy's own, reach the client in request order on each
connection (as Kafka guarantees), whoever wrote them.

One listener per upstream broker. Clients learn broker addresses from Metadata (and a
coordinator's from FindCoordinator) responses, so the proxy rewrites those (decoded and
re-encoded with regcast's codec): every broker address it proxies is replaced by its
listener's address, and clients keep talking through the proxy after bootstrap. All
other frames pass through as they are. Bytes are forwarded frame by frame (4-byte size
prefix), on one thread. ``raw=True`` forwards bytes as they come, without framing or
rewriting: for TLS, whose ciphertext the proxy cannot read (Metadata must then advertise
the proxy itself, and no error can be injected).

This is not a fake broker: every answer comes from the real broker behind it, except
the refusals a test asked for above, which a real broker would have given the same
way. A stand-in answer is evidence only once a reference client (confluent-kafka) was
shown to handle it as it handles a broker's (tests/integration/producer/
test_fault_proxy_transactions.py).
"""

from __future__ import annotations

import contextlib
import selectors
import socket
import struct
import threading
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

_SIZE = struct.Struct(">i")
_HEADER = struct.Struct(">hhi")  # request header: api_key, api_version, correlation_id
_PRODUCE = 0
_METADATA = 3
_FIND_COORDINATOR = 10
_INIT_PRODUCER_ID = 22
_ADD_PARTITIONS_TO_TXN = 24
_ADD_OFFSETS_TO_TXN = 25
_END_TXN = 26
_TXN_OFFSET_COMMIT = 28
_MESSAGE_TOO_LARGE = 10
_REWRITTEN = (_METADATA, _FIND_COORDINATOR)  # answers that carry broker addresses


@dataclass(eq=False)
class _Conn:
    route: _Route
    client: socket.socket
    upstream: socket.socket
    to_upstream: bytearray = field(default_factory=bytearray)
    to_client: bytearray = field(default_factory=bytearray)
    from_client: bytearray = field(default_factory=bytearray)
    from_upstream: bytearray = field(default_factory=bytearray)
    # correlation id -> (api key, version) of an answer whose broker addresses are rewritten
    rewrites: dict[int, tuple[int, int]] = field(default_factory=dict)
    # the answers owed to the client, in request order, as
    # [correlation id, frame or None while the broker's is awaited]
    answers: list[list[Any]] = field(default_factory=list)
    closed: bool = False


@dataclass(eq=False)
class _Injection:
    """Error answers still to give to requests of one API (in the order asked for)."""

    error_code: int
    count: int  # answers still to give
    after: int  # requests still to let through first


@dataclass(eq=False)
class _Route:
    index: int
    upstream: tuple[str, int]
    port: int = 0
    listener: socket.socket | None = None
    stalled: bool = False
    conns: list[_Conn] = field(default_factory=list)
    accepted: int = 0


class FaultProxy:
    """Forward ``host:port`` listeners to upstream brokers, with faults on demand.

    Use as a context manager. ``index`` arguments pick one upstream (in the order
    given); ``None`` means all of them.
    """

    def __init__(
        self,
        upstreams: Sequence[tuple[str, int]],
        *,
        host: str = "127.0.0.1",
        rewrite_metadata: bool = True,
        max_batch_bytes: int | None = None,
        raw: bool = False,
    ) -> None:
        self.host = host
        self.raw = raw
        self.rewrite_metadata = rewrite_metadata
        self.max_batch_bytes = max_batch_bytes
        self.refused_batch_sizes: list[int] = []  # batches answered MESSAGE_TOO_LARGE
        self.forwarded_batch_sizes: list[int] = []  # batches passed to the broker
        self._injections: dict[int, list[_Injection]] = {}  # api key -> queued injections
        self._requests: Counter[int] = Counter()  # api key -> requests seen
        self._injected: Counter[int] = Counter()  # api key -> answered by the proxy
        self._routes = [_Route(i, (h, p)) for i, (h, p) in enumerate(upstreams)]
        self._selector = selectors.DefaultSelector()
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._commands: list[tuple[Callable[[], None], threading.Event]] = []
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._running = False
        self._stopping = False
        self.errors: list[BaseException] = []  # anything that went wrong in the proxy thread

    @classmethod
    def for_bootstrap(cls, bootstrap_servers: str, **kwargs: Any) -> FaultProxy:
        upstreams = []
        for entry in bootstrap_servers.split(","):
            host, _, port = entry.strip().rpartition(":")
            upstreams.append((host, int(port)))
        return cls(upstreams, **kwargs)

    # ------------------------------------------------------------------ public

    @property
    def bootstrap_servers(self) -> str:
        return ",".join(f"{self.host}:{route.port}" for route in self._routes)

    def address(self, index: int) -> tuple[str, int]:
        return self.host, self._routes[index].port

    def start(self) -> FaultProxy:
        for route in self._routes:
            self._listen(route)
        self._selector.register(self._wake_r, selectors.EVENT_READ, None)
        self._running = True
        self._thread = threading.Thread(target=self._run, name="fault-proxy", daemon=True)
        self._thread.start()
        return self

    def close(self) -> None:
        if not self._running:
            return
        self._call(self._shutdown)
        self._running = False
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._selector.close()
        self._wake_r.close()
        self._wake_w.close()

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def cut(self, index: int | None = None) -> None:
        """Close every current connection (client and broker side)."""

        def run() -> None:
            for route in self._pick(index):
                for conn in list(route.conns):
                    self._close_conn(conn)

        self._call(run)

    def stall(self, index: int | None = None) -> None:
        """Stop moving bytes in both directions; connections stay open."""
        self._call(lambda: self._set_stalled(index, True))

    def resume(self, index: int | None = None) -> None:
        """Move bytes again (what was held is delivered)."""
        self._call(lambda: self._set_stalled(index, False))

    def refuse(self, index: int | None = None) -> None:
        """Close the listening socket: new connects are refused. Open ones stay."""

        def run() -> None:
            for route in self._pick(index):
                if route.listener is not None:
                    self._selector.unregister(route.listener)
                    route.listener.close()
                    route.listener = None

        self._call(run)

    def accept(self, index: int | None = None) -> None:
        """Listen again on the same port after :meth:`refuse`."""

        def run() -> None:
            for route in self._pick(index):
                if route.listener is None:
                    self._listen(route)

        self._call(run)

    def connection_count(self, index: int | None = None) -> int:
        result: list[int] = []
        self._call(lambda: result.append(sum(len(r.conns) for r in self._pick(index))))
        return result[0]

    def accepted_count(self, index: int | None = None) -> int:
        """How many client connections were accepted since start."""
        result: list[int] = []
        self._call(lambda: result.append(sum(r.accepted for r in self._pick(index))))
        return result[0]

    def inject_error(
        self, api_key: int, error_code: int, *, count: int = 1, after: int = 0
    ) -> None:
        """Answer ``count`` requests of ``api_key`` with ``error_code``, from the proxy.

        The first ``after`` requests of that API from now on pass to the broker as usual;
        the ``count`` after them are answered by the proxy itself and never forwarded (the
        broker does not see them), on whichever connection or upstream they come. A
        second call for the same API queues behind the first: ``inject_error(END_TXN,
        16); inject_error(END_TXN, 47)`` answers the next EndTxn NOT_COORDINATOR and the
        one after it INVALID_PRODUCER_EPOCH.

        The answer is the response at the request's version (header v1 where it is
        flexible), encoded with regcast's codec, with the error where it carries one:

        - FindCoordinator: ``error_code`` (v1-3), or one coordinator entry per key of
          ``coordinator_keys`` with the error (v4+); no coordinator (node id -1);
        - InitProducerId: ``error_code``, producer id and epoch -1;
        - AddOffsetsToTxn, EndTxn: ``error_code``;
        - AddPartitionsToTxn (v0-3), TxnOffsetCommit, Produce: the error on every
          partition of the request, its topics and partitions echoed (a Produce with
          acks=0 gets no answer, as from a broker).

        A request at a version regcast's codec cannot encode is forwarded instead, and
        the reason is put in :attr:`errors` (the injection stays pending).
        """
        if api_key not in _ERROR_ANSWERS:
            known = ", ".join(str(k) for k in sorted(_ERROR_ANSWERS))
            raise ValueError(f"no error answer for API key {api_key}; the proxy knows {known}")
        if count < 1 or after < 0:
            raise ValueError(f"count must be at least 1 and after at least 0: {count}, {after}")
        injection = _Injection(error_code, count, after)
        self._call(lambda: self._injections.setdefault(api_key, []).append(injection))

    def request_count(self, api_key: int) -> int:
        """How many requests of ``api_key`` clients sent since start, answered by the
        broker or by the proxy."""
        result: list[int] = []
        self._call(lambda: result.append(self._requests[api_key]))
        return result[0]

    def injected_count(self, api_key: int) -> int:
        """How many requests of ``api_key`` the proxy answered with an injected error."""
        result: list[int] = []
        self._call(lambda: result.append(self._injected[api_key]))
        return result[0]

    # ------------------------------------------------------------------ thread

    def _pick(self, index: int | None) -> list[_Route]:
        return self._routes if index is None else [self._routes[index]]

    def _call(self, fn: Callable[[], None]) -> None:
        if not self._running:
            fn()
            return
        done = threading.Event()
        with self._lock:
            self._commands.append((fn, done))
        with contextlib.suppress(OSError):
            self._wake_w.send(b"\x00")
        if not done.wait(10):
            raise RuntimeError("fault proxy thread did not run the command")

    def _listen(self, route: _Route) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((self.host, route.port))
        listener.listen(64)
        listener.setblocking(False)
        route.port = listener.getsockname()[1]
        route.listener = listener
        self._selector.register(listener, selectors.EVENT_READ, route)

    def _set_stalled(self, index: int | None, stalled: bool) -> None:
        for route in self._pick(index):
            route.stalled = stalled
            for conn in route.conns:
                self._update_interest(conn)

    def _update_interest(self, conn: _Conn) -> None:
        if conn.closed:
            return
        stalled = conn.route.stalled
        for sock, pending in ((conn.client, conn.to_client), (conn.upstream, conn.to_upstream)):
            events = 0
            if not stalled:
                events = selectors.EVENT_READ | (selectors.EVENT_WRITE if pending else 0)
            key = self._selector.get_map().get(sock)
            if events == 0:
                if key is not None:
                    self._selector.unregister(sock)
            elif key is None:
                self._selector.register(sock, events, conn)
            elif key.events != events:
                self._selector.modify(sock, events, conn)

    def _run(self) -> None:
        while True:
            try:
                events = self._selector.select(0.5)
            except OSError:
                return
            for key, mask in events:
                try:
                    self._handle(key, mask)
                except Exception as exc:  # recorded for the test to see
                    self.errors.append(exc)
            with self._lock:
                commands, self._commands = self._commands, []
            for fn, done in commands:
                try:
                    fn()
                except Exception as exc:
                    self.errors.append(exc)
                finally:
                    done.set()
            if self._stopping:
                return

    def _shutdown(self) -> None:
        self._stopping = True
        for route in self._routes:
            for conn in list(route.conns):
                self._close_conn(conn)
            if route.listener is not None:
                self._selector.unregister(route.listener)
                route.listener.close()
                route.listener = None

    def _handle(self, key: selectors.SelectorKey, mask: int) -> None:
        data = key.data
        if data is None:
            with contextlib.suppress(OSError):
                self._wake_r.recv(4096)
            return
        if isinstance(data, _Route):
            self._accept(data)
            return
        conn: _Conn = data
        if conn.closed:
            return
        from_client = key.fileobj is conn.client
        sock = conn.client if from_client else conn.upstream
        if mask & selectors.EVENT_READ:
            try:
                chunk = sock.recv(256 * 1024)
            except (BlockingIOError, InterruptedError):
                chunk = None
            except OSError:
                chunk = b""
            if chunk == b"":
                self._close_conn(conn)
                return
            if chunk and self.raw:
                if from_client:
                    conn.to_upstream += chunk
                else:
                    conn.to_client += chunk
            elif chunk:
                if from_client:
                    conn.from_client += chunk
                    self._frames_from_client(conn)
                else:
                    conn.from_upstream += chunk
                    self._frames_from_upstream(conn)
        if mask & selectors.EVENT_WRITE:
            self._flush(conn, sock, conn.to_client if from_client else conn.to_upstream)
        self._update_interest(conn)

    def _accept(self, route: _Route) -> None:
        assert route.listener is not None
        try:
            client, _ = route.listener.accept()
        except (BlockingIOError, InterruptedError):
            return
        try:
            upstream = socket.create_connection(route.upstream, timeout=2)
        except OSError:
            client.close()  # the broker is down: so is its proxy
            return
        client.setblocking(False)
        upstream.setblocking(False)
        for s in (client, upstream):
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        conn = _Conn(route, client, upstream)
        route.conns.append(conn)
        route.accepted += 1
        self._update_interest(conn)

    def _flush(self, conn: _Conn, sock: socket.socket, pending: bytearray) -> None:
        if not pending or conn.route.stalled:
            return
        try:
            sent = sock.send(pending)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            self._close_conn(conn)
            return
        del pending[:sent]

    def _frames(self, buffer: bytearray) -> list[bytes]:
        frames = []
        while len(buffer) >= 4:
            (size,) = _SIZE.unpack_from(buffer, 0)
            if len(buffer) < 4 + size:
                break
            frames.append(bytes(buffer[4 : 4 + size]))
            del buffer[: 4 + size]
        return frames

    def _frames_from_client(self, conn: _Conn) -> None:
        for frame in self._frames(conn.from_client):
            if len(frame) < _HEADER.size:  # not a request: the broker will say so
                conn.to_upstream += _SIZE.pack(len(frame)) + frame
                continue
            api_key, api_version, correlation_id = _HEADER.unpack_from(frame, 0)
            self._requests[api_key] += 1
            answered, answer = self._own_answer(api_key, frame)
            if answered:
                if answer is not None:
                    conn.answers.append([correlation_id, answer])
                continue
            if _expects_answer(api_key, api_version, frame):
                conn.answers.append([correlation_id, None])
            if api_key in _REWRITTEN and self.rewrite_metadata:
                conn.rewrites[correlation_id] = (api_key, api_version)
            conn.to_upstream += _SIZE.pack(len(frame)) + frame
        self._release_answers(conn)
        self._flush(conn, conn.upstream, conn.to_upstream)

    def _own_answer(self, api_key: int, frame: bytes) -> tuple[bool, bytes | None]:
        """(True, the proxy's own answer or None for none) for a request the proxy
        answers itself; (False, None) for one to forward to the broker."""
        queue = self._injections.get(api_key)
        if queue:
            injection = queue[0]
            if injection.after > 0:
                injection.after -= 1
            else:
                try:
                    answer = _error_answer(api_key, frame, injection.error_code)
                except Exception as exc:  # e.g. a version the codec lacks: forwarded
                    self.errors.append(exc)
                else:
                    injection.count -= 1
                    if injection.count == 0:
                        queue.pop(0)
                    self._injected[api_key] += 1
                    return True, answer
        if api_key == _PRODUCE and self.max_batch_bytes is not None:
            refusal = self._limit_batch_size(frame)
            if refusal is not None:
                return True, refusal
        return False, None

    def _limit_batch_size(self, frame: bytes) -> bytes | None:
        """The proxy's own MESSAGE_TOO_LARGE answer to a Produce request carrying a batch
        over ``max_batch_bytes``; None to forward the request."""
        from producer.protocol import ApiKey, decode_request, encode_response

        header, body = decode_request(frame)
        sizes = [
            len(partition["records"] or b"")
            for topic in body["topic_data"]
            for partition in topic["partition_data"]
        ]
        assert self.max_batch_bytes is not None
        if max(sizes, default=0) <= self.max_batch_bytes:
            self.forwarded_batch_sizes += sizes
            return None
        self.refused_batch_sizes += sizes
        refused = _produce_error(body, _MESSAGE_TOO_LARGE)
        return encode_response(ApiKey.PRODUCE, header.api_version, header.correlation_id, refused)

    def _release_answers(self, conn: _Conn) -> None:
        """Pass on the answers owed in order, as far as they are known."""
        while conn.answers and conn.answers[0][1] is not None:
            frame = conn.answers.pop(0)[1]
            conn.to_client += _SIZE.pack(len(frame)) + frame
        self._flush(conn, conn.client, conn.to_client)

    def _frames_from_upstream(self, conn: _Conn) -> None:
        for raw in self._frames(conn.from_upstream):
            frame = raw
            if len(frame) < 4:
                conn.answers.append([None, frame])
                continue
            (correlation_id,) = _SIZE.unpack_from(frame, 0)
            rewrite = conn.rewrites.pop(correlation_id, None)
            if rewrite is not None:
                frame = self._rewrite_addresses(*rewrite, correlation_id, frame)
            owed = next((a for a in conn.answers if a[0] == correlation_id and a[1] is None), None)
            if owed is None:  # an answer nobody waited for (acks=0): pass it on too
                conn.answers.append([correlation_id, frame])
            else:
                owed[1] = frame
        self._release_answers(conn)

    def _rewrite_addresses(
        self, api_key: int, version: int, correlation_id: int, frame: bytes
    ) -> bytes:
        """A Metadata or FindCoordinator answer with each proxied broker's address
        replaced by its listener's."""
        from producer.protocol import decode_response, encode_response

        try:
            _, body = decode_response(api_key, version, frame)
            if api_key == _METADATA:
                brokers = list(body.get("brokers") or ())
            elif version < 4:  # FindCoordinator v1-3: one coordinator at the top level
                brokers = [body] if body["error_code"] == 0 else []
            else:
                brokers = [c for c in body["coordinators"] if c["error_code"] == 0]
            by_port = {route.upstream[1]: route for route in self._routes}
            for broker in brokers:
                route = by_port.get(int(broker["port"]))
                if route is not None:
                    broker["host"] = self.host
                    broker["port"] = route.port
            return encode_response(api_key, version, correlation_id, body)
        except Exception as exc:
            self.errors.append(exc)
            return frame

    def _close_conn(self, conn: _Conn) -> None:
        if conn.closed:
            return
        conn.closed = True
        for sock in (conn.client, conn.upstream):
            if self._selector.get_map().get(sock) is not None:
                self._selector.unregister(sock)
            sock.close()
        with contextlib.suppress(ValueError):
            conn.route.conns.remove(conn)


# ---------------------------------------------------------------------- answers


def _expects_answer(api_key: int, version: int, frame: bytes) -> bool:
    """False for the one request a broker does not answer: Produce with acks=0."""
    if api_key != _PRODUCE:
        return True
    from producer.protocol.primitives import Reader

    try:
        reader = Reader(frame, _HEADER.size)
        reader.read_nullable_string()  # client id
        flexible = version >= 9
        if flexible:
            reader.skip_tagged_fields()
        if version >= 3:  # transactional id
            if flexible:
                reader.read_compact_nullable_string()
            else:
                reader.read_nullable_string()
        return reader.read_int16() != 0
    except Exception:
        return True  # the broker will refuse it, with an answer


def _produce_error(body: dict[str, Any], error_code: int) -> dict[str, Any]:
    return {
        "responses": [
            {
                "name": topic["name"],
                "partition_responses": [
                    {
                        "index": partition["index"],
                        "error_code": error_code,
                        "base_offset": -1,
                        "log_append_time_ms": -1,
                        "log_start_offset": -1,
                        "record_errors": [],
                        "error_message": None,
                    }
                    for partition in topic["partition_data"]
                ],
            }
            for topic in body["topic_data"]
        ],
        "throttle_time_ms": 0,
    }


def _find_coordinator_error(body: dict[str, Any], version: int, code: int) -> dict[str, Any]:
    if version < 4:
        return {"error_code": code, "error_message": None, "node_id": -1, "host": "", "port": -1}
    return {
        "coordinators": [
            {"key": key, "node_id": -1, "host": "", "port": -1, "error_code": code}
            for key in body["coordinator_keys"]
        ]
    }


def _add_partitions_error(body: dict[str, Any], version: int, code: int) -> dict[str, Any]:
    return {
        "results_by_topic_v3_and_below": [
            {
                "name": topic["name"],
                "results_by_partition": [
                    {"partition_index": p, "partition_error_code": code}
                    for p in topic["partitions"]
                ],
            }
            for topic in body["v3_and_below_topics"]
        ]
    }


def _txn_offset_commit_error(body: dict[str, Any], version: int, code: int) -> dict[str, Any]:
    return {
        "topics": [
            {
                "name": topic["name"],
                "partitions": [
                    {"partition_index": p["partition_index"], "error_code": code}
                    for p in topic["partitions"]
                ],
            }
            for topic in body["topics"]
        ]
    }


# api key -> the response body carrying an error code, from the request's body and version
_ERROR_ANSWERS: dict[int, Callable[[dict[str, Any], int, int], dict[str, Any]]] = {
    _PRODUCE: lambda body, version, code: _produce_error(body, code),
    _FIND_COORDINATOR: _find_coordinator_error,
    _INIT_PRODUCER_ID: lambda body, version, code: {
        "error_code": code,
        "producer_id": -1,
        "producer_epoch": -1,
    },
    _ADD_PARTITIONS_TO_TXN: _add_partitions_error,
    _ADD_OFFSETS_TO_TXN: lambda body, version, code: {"error_code": code},
    _END_TXN: lambda body, version, code: {"error_code": code},
    _TXN_OFFSET_COMMIT: _txn_offset_commit_error,
}


def _error_answer(api_key: int, frame: bytes, error_code: int) -> bytes | None:
    """The error response to one request frame, at its version; None for a Produce
    with acks=0, which is never answered."""
    from producer.protocol import decode_request, encode_response

    header, body = decode_request(frame)
    if api_key == _PRODUCE and body["acks"] == 0:
        return None
    answer = _ERROR_ANSWERS[api_key](body, header.api_version, error_code)
    return encode_response(api_key, header.api_version, header.correlation_id, answer)
