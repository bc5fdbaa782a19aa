"""Read records back from Kafka at the offsets the producer reported (``regcast demo``).

Why a reader of its own
-----------------------
The demo proves the round trip with regcast's own packages, so ``pip install regcast``
(or the container image) runs it without confluent-kafka. This is not a consumer: no
group, no commits, no rebalancing. It is given the exact ``(topic, partition, offset)``
of each record it wants (the producer's futures report them), asks each partition's
leader for them with Fetch, and stops when it has them all or the deadline passes.

Protocol
--------
ApiVersions and Metadata are encoded and decoded by :mod:`producer.protocol` (the
producer's codec and message tables). Fetch is declared here, at version 4 only, from
Kafka's ``FetchRequest.json`` / ``FetchResponse.json``: v4 is the lowest version Kafka 4
still serves and the first that returns record batch v2; the producer never fetches, so
its tables do not carry it. Each partition's record set is cut after its last complete
batch (a broker may end a response with a partial one) and decoded by
:func:`producer.records.decode_record_batches`, which verifies every batch's CRC-32C and
decompresses it.

I/O
---
One blocking socket per broker, one request in flight, every wait bounded by the
caller's deadline. Everything runs on the caller's thread.

Security
--------
``security`` takes the producer's security keyword arguments. For ``SSL`` each socket
is wrapped in the very ``ssl.SSLContext`` the producer builds from them
(:func:`producer.security.network_security`: the same CA, client certificate and
hostname check), so what the demo reads back travels as protected as what it sent.
For ``SASL_PLAINTEXT`` / ``SASL_SSL`` each connection then logs in with the producer's own
:class:`~producer.network.authenticator.SaslAuthenticator` (SaslHandshake v1, then
SaslAuthenticate v1 frames; the same mechanism, credentials or token source), in lock
step on the blocking socket. A read-back lasts seconds, so it never re-authenticates.
"""

from __future__ import annotations

import socket
import struct
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from producer.errors import ProducerError
from producer.protocol import ApiKey, decode_response, encode_request
from producer.protocol import primitives as p
from producer.protocol.codec import SUPPORTED_VERSIONS
from producer.protocol.error_codes import NONE, spec_for_code
from producer.protocol.primitives import Reader
from producer.records import decode_record_batches

if TYPE_CHECKING:
    import ssl

    from producer.security import NetworkSecurity, SaslSettings

__all__ = [
    "FETCH_VERSION",
    "FetchedPartition",
    "FetchedRecord",
    "ReadBackError",
    "complete_batches_bytes",
    "decode_fetch_response",
    "encode_fetch_request",
    "read_back",
]

FETCH_VERSION = 4
_LOG_OVERHEAD_BYTES = 12  # base_offset int64 + batch_length int32
_MAX_PARTITION_BYTES = 64 * 1024 * 1024
_MAX_WAIT_S = 0.5  # how long a broker may hold a Fetch that has nothing new yet
_IO_GRACE_S = 5.0
_SETUP_MIN_S = 1.0  # the least a connection's setup gets, even right at the deadline

Position = tuple[str, int, int]  # topic, partition, offset


class ReadBackError(Exception):
    """The records could not be read: broker unreachable, an error code, bad bytes."""


@dataclass(frozen=True, slots=True)
class FetchedRecord:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: list[tuple[str, bytes | None]]


# --------------------------------------------------------------------- Fetch v4, sans I/O


def encode_fetch_request(
    correlation_id: int,
    client_id: str,
    partitions: dict[tuple[str, int], tuple[int, int]],
    *,
    max_wait_ms: int,
    max_bytes: int = 0x7FFFFFFF,
) -> bytes:
    """Request header v1 and a Fetch v4 body, without the 4-byte size of the frame.

    ``partitions`` maps (topic, partition) to (fetch offset, partition max bytes).
    """
    out = bytearray()
    p.write_int16(out, ApiKey.FETCH)
    p.write_int16(out, FETCH_VERSION)
    p.write_int32(out, correlation_id)
    p.write_nullable_string(out, client_id)
    p.write_int32(out, -1)  # replica_id: a consumer
    p.write_int32(out, max_wait_ms)
    p.write_int32(out, 1)  # min_bytes
    p.write_int32(out, max_bytes)
    p.write_int8(out, 0)  # isolation_level: READ_UNCOMMITTED
    by_topic: dict[str, list[tuple[int, int, int]]] = {}
    for (topic, partition), (offset, limit) in partitions.items():
        by_topic.setdefault(topic, []).append((partition, offset, limit))
    p.write_array_length(out, len(by_topic))
    for topic, entries in by_topic.items():
        p.write_string(out, topic)
        p.write_array_length(out, len(entries))
        for partition, offset, limit in entries:
            p.write_int32(out, partition)
            p.write_int64(out, offset)
            p.write_int32(out, limit)
    return bytes(out)


@dataclass(frozen=True, slots=True)
class FetchedPartition:
    """One partition of a Fetch v4 response; ``records`` is the raw record set."""

    topic: str
    partition: int
    error_code: int
    high_watermark: int
    records: bytes


def decode_fetch_response(payload: bytes) -> tuple[int, list[FetchedPartition]]:
    """(correlation id, partitions) of a Fetch v4 response payload (header v0).

    Raises :class:`~producer.errors.ProtocolError` for bytes that do not decode.
    """
    reader = Reader(payload)
    correlation_id = reader.read_int32()
    reader.read_int32()  # throttle_time_ms
    partitions: list[FetchedPartition] = []
    for _ in range(reader.read_array_length(False) or 0):
        topic = reader.read_string()
        # partition, error, high watermark, last stable offset, aborted (null), records
        for _ in range(reader.read_array_length(False, 30) or 0):
            partition = reader.read_int32()
            error_code = reader.read_int16()
            high_watermark = reader.read_int64()
            reader.read_int64()  # last_stable_offset
            for _ in range(reader.read_array_length(True, 16) or 0):
                reader.read_int64()  # aborted producer_id
                reader.read_int64()  # aborted first_offset
            records = reader.read_nullable_bytes() or b""
            partitions.append(
                FetchedPartition(topic, partition, error_code, high_watermark, records)
            )
    return correlation_id, partitions


def complete_batches_bytes(records: bytes) -> bytes:
    """The prefix of a record set that holds whole batches (drops a partial last one)."""
    end = len(records)
    pos = 0
    while end - pos >= _LOG_OVERHEAD_BYTES:
        (batch_length,) = struct.unpack_from(">i", records, pos + 8)
        batch_end = pos + _LOG_OVERHEAD_BYTES + batch_length
        if batch_length < 0 or batch_end > end:
            break
        pos = batch_end
    return records[:pos]


# --------------------------------------------------------------------- I/O


class _Connection:
    """A blocking socket to one broker; request and response in lock step."""

    def __init__(
        self,
        host: str,
        port: int,
        client_id: str,
        deadline: float,
        security: NetworkSecurity | None = None,
    ) -> None:
        self.where = f"{host}:{port}"
        self.client_id = client_id
        # Connecting, the TLS handshake and the SASL login get the caller's deadline, not
        # the Fetch grace in ``deadline`` (a broker never holds those): a plaintext port
        # that stays silent after a ClientHello fails at the deadline, not 5 s later.
        setup_deadline = max(deadline - _IO_GRACE_S, time.monotonic() + _SETUP_MIN_S)
        self._deadline = min(deadline, setup_deadline)
        self._correlation_id = 0
        try:
            sock = socket.create_connection((host, port), timeout=self._remaining())
        except OSError as exc:
            raise ReadBackError(f"cannot connect to {self.where}: {exc}") from exc
        self._sock: socket.socket = sock
        ssl_context = None if security is None else security.ssl_context
        if ssl_context is not None:
            self._sock = _wrap_tls(sock, ssl_context, host, self.where)
        if security is not None and security.sasl is not None:
            try:
                self._authenticate(security.sasl)
            except BaseException:
                self._sock.close()
                raise
        self._deadline = deadline

    def _authenticate(self, sasl: SaslSettings) -> None:
        """KIP-152's exchange, one request at a time; ReadBackError naming what failed."""
        from producer.network.authenticator import SaslAuthenticator

        authenticator = SaslAuthenticator(sasl, -1, self.where)
        try:
            authenticator.start()
            handshake = self.call(ApiKey.SASL_HANDSHAKE, 1, authenticator.handshake_body(1))
            payload: bytes | None = authenticator.on_handshake_response(handshake)
            while payload is not None:
                answer = self.call(ApiKey.SASL_AUTHENTICATE, 1, {"auth_bytes": payload})
                payload = authenticator.on_authenticate_response(answer)
        except ProducerError as exc:  # AuthenticationError: names the broker, not the secret
            raise ReadBackError(f"{type(exc).__name__}: {exc}") from None

    def _remaining(self) -> float:
        remaining = self._deadline - time.monotonic()
        if remaining <= 0:
            raise ReadBackError(f"timed out talking to {self.where}")
        return remaining

    def next_correlation_id(self) -> int:
        self._correlation_id += 1
        return self._correlation_id

    def roundtrip(self, request: bytes, correlation_id: int) -> bytes:
        """Send one framed request; the response payload (its correlation id checked)."""
        try:
            self._sock.settimeout(self._remaining())
            self._sock.sendall(struct.pack(">i", len(request)) + request)
            (size,) = struct.unpack(">i", self._read(4))
            payload = self._read(size)
        except OSError as exc:  # includes socket.timeout
            raise ReadBackError(f"connection to {self.where} failed: {exc}") from exc
        (answered,) = struct.unpack_from(">i", payload)
        if answered != correlation_id:
            raise ReadBackError(
                f"{self.where} answered request {answered}, expected {correlation_id}"
            )
        return payload

    def _read(self, size: int) -> bytes:
        chunks = bytearray()
        while len(chunks) < size:
            self._sock.settimeout(self._remaining())
            chunk = self._sock.recv(min(size - len(chunks), 1 << 20))
            if not chunk:
                raise ReadBackError(f"{self.where} closed the connection")
            chunks += chunk
        return bytes(chunks)

    def call(self, api_key: ApiKey, version: int, body: dict[str, Any]) -> dict[str, Any]:
        """One request through producer.protocol's codec; the decoded response body."""
        correlation_id = self.next_correlation_id()
        request = encode_request(api_key, version, correlation_id, self.client_id, body)
        payload = self.roundtrip(request, correlation_id)
        _, decoded = decode_response(api_key, version, payload)
        return decoded

    def close(self) -> None:
        self._sock.close()


def _wrap_tls(sock: socket.socket, context: ssl.SSLContext, host: str, where: str) -> socket.socket:
    import ssl

    try:  # the handshake runs here, bounded by the socket's timeout
        wrapped: socket.socket = context.wrap_socket(sock, server_hostname=host)
    except ssl.SSLCertVerificationError as exc:
        sock.close()
        raise ReadBackError(
            f"TLS handshake with {where} failed: the broker's certificate was "
            f"refused ({exc.verify_message})"
        ) from None
    except OSError as exc:  # ssl.SSLError, a timeout, a reset
        sock.close()
        raise ReadBackError(
            f"TLS handshake with {where} failed: {exc} (is it a TLS listener?)"
        ) from None
    return wrapped


def _pick_version(api_key: ApiKey, broker: dict[int, tuple[int, int]], where: str) -> int:
    ours_low, ours_high = SUPPORTED_VERSIONS[api_key]
    theirs_low, theirs_high = broker.get(api_key, (0, -1))
    version = min(ours_high, theirs_high)
    if version < max(ours_low, theirs_low):
        raise ReadBackError(f"{where} does not serve {api_key.name} versions regcast speaks")
    return version


@dataclass
class _State:
    """What is still wanted per partition, and where to fetch it from next."""

    wanted: dict[tuple[str, int], set[int]]
    next_offset: dict[tuple[str, int], int] = field(default_factory=dict)
    max_bytes: dict[tuple[str, int], int] = field(default_factory=dict)
    found: dict[Position, FetchedRecord] = field(default_factory=dict)


def _check(code: int, context: str) -> None:
    if code != NONE:
        spec = spec_for_code(code)
        raise ReadBackError(f"{context}: {spec.name} ({code}): {spec.message}")


def read_back(
    bootstrap: str,
    positions: Iterable[Position],
    *,
    timeout_s: float = 20.0,
    client_id: str = "regcast-readback",
    on_progress: Callable[[int], None] | None = None,
    security: Mapping[str, Any] | None = None,
) -> dict[Position, FetchedRecord]:
    """Fetch the records at ``positions``; those found, by position.

    A position the broker does not have by the deadline is simply absent from the
    result. Raises :class:`ReadBackError` when no broker can be reached, a broker
    answers an error code, or its bytes do not decode (a CRC mismatch included), and
    for ``security`` whose TLS files do not load or whose SASL login fails.
    """
    network = _network_security(bootstrap, security or {})
    deadline = time.monotonic() + timeout_s
    # Socket waits get a grace period: a Fetch sent just before the deadline may be held
    # by the broker for its max wait, and that is not a failure to talk to it.
    io_deadline = deadline + _IO_GRACE_S
    state = _State({})
    for topic, partition, offset in positions:
        state.wanted.setdefault((topic, partition), set()).add(offset)
    if not state.wanted:
        return {}
    connections: dict[tuple[str, int], _Connection] = {}
    try:
        leaders = _leaders(bootstrap, state, client_id, io_deadline, connections, network)
        while any(state.wanted.values()) and time.monotonic() < deadline:
            progressed = False
            for address, partitions in leaders.items():
                live = [tp for tp in partitions if state.wanted[tp]]
                if not live:
                    continue
                connection = connections.get(address)
                if connection is None:
                    connection = _Connection(*address, client_id, io_deadline, network)
                    connections[address] = connection
                progressed |= _fetch_once(connection, live, state, deadline)
            if on_progress is not None:
                on_progress(len(state.found))
            if not progressed:
                time.sleep(0.05)
    except ProducerError as exc:  # ProtocolError, CorruptRecordError from the decoders
        raise ReadBackError(f"{type(exc).__name__}: {exc}") from exc
    finally:
        for connection in connections.values():
            connection.close()
    return state.found


def _network_security(bootstrap: str, security: Mapping[str, Any]) -> NetworkSecurity | None:
    """The producer's TLS context and SASL settings for these settings; None for plaintext."""
    protocol = str(security.get("security_protocol", "PLAINTEXT")).upper()
    if protocol == "PLAINTEXT":
        return None
    from producer.config import ProducerConfig
    from producer.security import network_security

    try:  # ConfigError names the setting, never a password
        config = ProducerConfig.from_settings({"bootstrap_servers": bootstrap, **security})
        return network_security(config)
    except ProducerError as exc:
        raise ReadBackError(f"bad security setting: {exc}") from None


def _leaders(
    bootstrap: str,
    state: _State,
    client_id: str,
    deadline: float,
    connections: dict[tuple[str, int], _Connection],
    network: NetworkSecurity | None,
) -> dict[tuple[str, int], list[tuple[str, int]]]:
    """Leader address -> the partitions it leads, from the first bootstrap that answers."""
    problems: list[str] = []
    for address in bootstrap.split(","):
        host, _, port = address.strip().rpartition(":")
        if not host or not port.isdigit():
            raise ReadBackError(f"bad bootstrap address {address!r}: expected host:port")
        try:
            connection = _Connection(host.strip("[]"), int(port), client_id, deadline, network)
        except ReadBackError as exc:
            problems.append(str(exc))
            continue
        connections[(host.strip("[]"), int(port))] = connection
        return _leaders_from(connection, state)
    raise ReadBackError("; ".join(problems))


def _leaders_from(
    connection: _Connection, state: _State
) -> dict[tuple[str, int], list[tuple[str, int]]]:
    versions = connection.call(ApiKey.API_VERSIONS, 0, {})
    _check(versions["error_code"], f"ApiVersions from {connection.where}")
    served = {k["api_key"]: (k["min_version"], k["max_version"]) for k in versions["api_keys"]}
    low, high = served.get(ApiKey.FETCH, (0, -1))
    if not low <= FETCH_VERSION <= high:
        raise ReadBackError(f"{connection.where} does not serve Fetch v{FETCH_VERSION}")
    version = _pick_version(ApiKey.METADATA, served, connection.where)
    topics = sorted({topic for topic, _ in state.wanted})
    metadata = connection.call(
        ApiKey.METADATA,
        version,
        {"topics": [{"name": t} for t in topics], "allow_auto_topic_creation": False},
    )
    brokers = {b["node_id"]: (b["host"], b["port"]) for b in metadata["brokers"]}
    leader_of: dict[tuple[str, int], int] = {}
    for topic in metadata["topics"]:
        _check(topic["error_code"], f"metadata of topic {topic['name']}")
        for partition in topic["partitions"]:
            leader_of[(topic["name"], partition["partition_index"])] = partition["leader_id"]
    leaders: dict[tuple[str, int], list[tuple[str, int]]] = {}
    for tp in state.wanted:
        node = leader_of.get(tp)
        if node is None or node not in brokers:
            raise ReadBackError(f"no leader known for {tp[0]}-{tp[1]}")
        leaders.setdefault(brokers[node], []).append(tp)
        state.next_offset[tp] = min(state.wanted[tp])
        state.max_bytes[tp] = 1024 * 1024
    return leaders


def _fetch_once(
    connection: _Connection, partitions: list[tuple[str, int]], state: _State, deadline: float
) -> bool:
    """One Fetch for ``partitions``; True when it brought at least one whole batch."""
    max_wait_ms = int(max(0.0, min(_MAX_WAIT_S, deadline - time.monotonic())) * 1000)
    correlation_id = connection.next_correlation_id()
    request = encode_fetch_request(
        correlation_id,
        connection.client_id,
        {tp: (state.next_offset[tp], state.max_bytes[tp]) for tp in partitions},
        max_wait_ms=max_wait_ms,
    )
    _, fetched = decode_fetch_response(connection.roundtrip(request, correlation_id))
    progressed = False
    for part in fetched:
        tp = (part.topic, part.partition)
        if tp not in state.next_offset:
            continue
        _check(part.error_code, f"fetch {part.topic}-{part.partition} at offset "
               f"{state.next_offset[tp]} from {connection.where}")  # fmt: skip
        whole = complete_batches_bytes(part.records)
        if not whole:
            if part.records:  # one batch larger than we asked for: ask for more
                state.max_bytes[tp] = min(state.max_bytes[tp] * 4, _MAX_PARTITION_BYTES)
            continue
        wanted = state.wanted[tp]
        for batch in decode_record_batches(whole):
            state.next_offset[tp] = max(state.next_offset[tp], batch.last_offset + 1)
            if batch.is_control:
                continue
            for record in batch.records:
                offset = batch.offset_of(record)
                if offset in wanted:
                    wanted.discard(offset)
                    state.found[(part.topic, part.partition, offset)] = FetchedRecord(
                        part.topic, part.partition, offset, record.key, record.value,
                        record.headers,
                    )  # fmt: skip
        # Offsets behind the new fetch position were not in the log (e.g. compacted away).
        wanted.difference_update({o for o in wanted if o < state.next_offset[tp]})
        progressed = True
    return progressed
