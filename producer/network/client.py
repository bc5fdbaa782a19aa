"""NetworkClient: connections per node, the ApiVersions handshake, in-flight requests.

After Kafka's ``NetworkClient`` (with its ``DefaultMetadataUpdater``). Everything here
runs on the sender thread, except :meth:`NetworkClient.wakeup`.

Theory of operation
-------------------
*Nodes.* A node id names a broker: ids from the cluster metadata, or the temporary
negative ids ``-1, -2, ...`` given to the ``bootstrap_servers`` entries until the first
Metadata response lists the real brokers (the bootstrap connections are then closed as
soon as they are idle).

*Connecting.* :meth:`NetworkClient.ready` answers "can I send to this node now?" and,
when the node is disconnected and out of its reconnect backoff, starts a non-blocking
connect. Each node walks the state table of
:mod:`producer.network.connection_states`: once TCP connects the client sends
ApiVersions (the highest version it knows; a broker answering UNSUPPORTED_VERSION gets
asked again at the version it says it has) and stores the broker's version ranges. Every
later request goes out at the highest version both sides support, capped by
``ClientRequest.max_version``; no common version fails that request with
:class:`UnsupportedVersionError`.

*Authenticating.* On a ``SASL_*`` connection the node goes from ApiVersions to
AUTHENTICATING: SaslHandshake v1, then SaslAuthenticate frames, then READY
(:mod:`producer.network.sasl_sessions` runs each connection's login and its schedule
through the client's ``SaslHost`` methods; :mod:`producer.network.authenticator`
decides what each request carries and whether the exchange failed). ApiVersions comes
first, as in Kafka's Java client (brokers answer it unauthenticated), so
SaslAuthenticate goes out at a negotiated version. The
connection-setup timeout covers the whole setup of such a connection: TCP, TLS,
ApiVersions and authentication.

*Re-authentication (KIP-368).* A broker that returns ``session_lifetime_ms > 0`` closes
the connection when the session expires, so at 85-95% of it the node goes
READY -> AUTHENTICATING again on the same connection. Its SaslHandshake joins the node's
in-flight deque *behind* the Produce requests still waiting: the broker answers in order,
so their responses arrive first and complete as usual, nothing is failed or reordered.
While AUTHENTICATING the node is not ready, so no new request is sent until the session
is renewed. Due times come from the ``now_ms`` passed in, so tests drive them on a fake
clock.

*Authentication failures are fatal* (as in Kafka's client): an
:class:`~producer.errors.AuthenticationError` on any connection (a SASL refusal, a SCRAM
server that cannot prove itself, a TLS handshake failure reported by the selector) fails
that node's in-flight requests with it and is kept as :attr:`NetworkClient.authentication_error`;
from then on no node is connected again (retrying would be refused the same way, and a
loop of refused logins can lock the account). The sender reads it and fails the producer.

*In flight.* :meth:`NetworkClient.send` encodes the request with the next correlation id,
appends it to the node's in-flight deque and queues the frame on the node's channel.
Kafka answers in order on a connection, so a response must carry the correlation id of
the oldest request waiting on that node; anything else closes the connection and fails
all of its in-flight requests with :class:`CorrelationIdMismatchError`. A request with
``expect_response=False`` (Produce acks=0) completes, body None, as soon as its last
byte is written.

*Failures fail exactly what they touch.* A broken connection fails that node's in-flight
requests with :class:`DisconnectError` (:class:`BrokerConnectionError` when it never
connected); a request without an answer within ``request_timeout_ms`` closes its
connection (the answers behind it could no longer be matched): the requests whose
deadline passed fail with :class:`RequestTimeoutError`, the younger ones with
:class:`DisconnectError`. Every failure also asks for a metadata refresh (leaders move
when brokers die). Every request's callback runs exactly once, including at
:meth:`NetworkClient.close`.

*Metadata.* Each :meth:`NetworkClient.poll` first checks ``metadata.time_to_next_update``;
when due it sends a Metadata request (topics of interest, auto-creation allowed, like
Java's producer) to the least loaded node, connecting to one if needed. While an update
is due and not yet sent, :meth:`NetworkClient.ready` says no to other requests so that
the Metadata request gets the next free in-flight slot.

*Poll.* One turn of the selector, waiting at most until the next request deadline,
connection-setup deadline or metadata refresh; then completed sends, responses,
disconnects, new connections and time-outs are processed and callbacks run in order.
"""

from __future__ import annotations

import logging
import random
import re
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from producer.clock import monotonic_ms
from producer.errors import (
    AuthenticationError,
    BrokerConnectionError,
    CorrelationIdMismatchError,
    DisconnectError,
    ProducerClosedError,
    ProducerError,
    ProtocolError,
    RequestTimeoutError,
    UnsupportedVersionError,
)
from producer.metadata import BrokerNode, Metadata, parse_bootstrap_servers
from producer.network.channel import DEFAULT_RECEIVE_BUFFER_BYTES
from producer.network.connection_states import ClusterConnectionStates, ConnectionState
from producer.network.in_flight import InFlightRequest, InFlightRequests
from producer.network.in_flight import ResponseHandler as _Handler
from producer.network.sasl_sessions import SaslSessions
from producer.network.selector import Selector
from producer.protocol import (
    SUPPORTED_VERSIONS,
    ApiKey,
    decode_response,
    encode_request,
    peek_correlation_id,
)
from producer.protocol.error_codes import error_for_code
from producer.security import NetworkSecurity

log = logging.getLogger(__name__)

_UNSUPPORTED_VERSION = 35
_CLIENT_SOFTWARE_NAME = "regcast"
_NEVER_MS = 2**31 - 1
_UNANSWERED_KEPT = 1024  # correlation ids of acks=0 requests remembered per node
_SETTING_UP = frozenset(
    {
        ConnectionState.CONNECTING,
        ConnectionState.CHECKING_API_VERSIONS,
        ConnectionState.AUTHENTICATING,
    }
)


@dataclass(slots=True)
class ClientRequest:
    """A request for one node; ``body`` builds the body for the negotiated version."""

    node_id: int
    api_key: ApiKey
    body: Callable[[int], dict[str, Any]]
    max_version: int | None = None
    expect_response: bool = True
    callback: Callable[[ClientResponse], None] | None = None
    created_ms: int = 0


@dataclass(slots=True)
class ClientResponse:
    """How a :class:`ClientRequest` ended: a body, or an error, never both.

    ``body`` is None with ``error`` None for a request that expected no response.
    """

    request: ClientRequest
    api_version: int
    body: dict[str, Any] | None
    error: Exception | None
    received_ms: int

    @property
    def node_id(self) -> int:
        return self.request.node_id


class NodeNotReadyError(ProducerError):
    """``send()`` was called for a node that ``ready()`` did not report ready (a bug)."""


def _describe(request: InFlightRequest) -> str:
    return (
        f"{request.request.api_key.name} v{request.api_version} "
        f"(correlation id {request.correlation_id})"
    )


def _metadata_request_body(topics: list[str], version: int) -> dict[str, Any]:
    body: dict[str, Any] = {"topics": [{"name": topic} for topic in topics]}
    if version >= 4:
        body["allow_auto_topic_creation"] = True
    return body


def client_software_version() -> str:
    """The distribution's version as KIP-511 lets a client name it (``[a-zA-Z0-9.-]``,
    alphanumeric at both ends): a local version such as ``1.2+g1ab`` becomes ``1.2-g1ab``."""
    from producer import __version__  # at call time: the package is initialised by then

    return re.sub(r"[^a-zA-Z0-9.-]", "-", __version__).strip(".-") or "0"


def _api_versions_request_body(version: int) -> dict[str, Any]:
    if version >= 3:
        return {
            "client_software_name": _CLIENT_SOFTWARE_NAME,
            "client_software_version": client_software_version(),
        }
    return {}


class NetworkClient:
    """Connections, handshakes and in-flight requests for every node (sender thread)."""

    def __init__(
        self,
        bootstrap_servers: str,
        *,
        metadata: Metadata,
        client_id: str,
        request_timeout_ms: int,
        max_in_flight_requests_per_connection: int,
        reconnect_backoff_ms: int = 50,
        reconnect_backoff_max_ms: int = 1000,
        clock_ms: Callable[[], int] = monotonic_ms,
        connection_setup_timeout_ms: int = 10_000,
        reconnect_backoff_jitter: float = 0.2,
        rng: random.Random | None = None,
        receive_buffer_bytes: int = DEFAULT_RECEIVE_BUFFER_BYTES,
        socket_send_buffer_bytes: int = -1,
        socket_receive_buffer_bytes: int = -1,
        security: NetworkSecurity | None = None,
    ) -> None:
        if request_timeout_ms <= 0:
            raise ProducerError(f"request_timeout_ms must be > 0, got {request_timeout_ms}")
        self._bootstrap: dict[int, BrokerNode] = {
            -(index + 1): BrokerNode(-(index + 1), host, port, None)
            for index, (host, port) in enumerate(parse_bootstrap_servers(bootstrap_servers))
        }
        self._bootstrap_ids = list(self._bootstrap)
        self._bootstrap_retired = False
        self._metadata = metadata
        self._client_id = client_id
        self._request_timeout_ms = request_timeout_ms
        self._connection_setup_timeout_ms = connection_setup_timeout_ms
        self._reconnect_backoff_ms = reconnect_backoff_ms
        self._clock_ms = clock_ms
        self._rng = rng or random.Random()
        self._in_flight = InFlightRequests(max_in_flight_requests_per_connection)
        self._states = ClusterConnectionStates(
            reconnect_backoff_ms=reconnect_backoff_ms,
            reconnect_backoff_max_ms=reconnect_backoff_max_ms,
            jitter=reconnect_backoff_jitter,
            rng=self._rng,
        )
        self._security = security or NetworkSecurity()
        self._selector = Selector(
            receive_buffer_bytes=receive_buffer_bytes,
            socket_send_buffer_bytes=socket_send_buffer_bytes,
            socket_receive_buffer_bytes=socket_receive_buffer_bytes,
            ssl_context=self._security.ssl_context,
        )
        self._api_versions: dict[int, dict[int, tuple[int, int]]] = {}
        self._connect_started_ms: dict[int, int] = {}
        self._correlation_id = 0
        self._metadata_in_flight = False
        self._aborted: list[ClientResponse] = []
        self._unanswered: dict[int, deque[int]] = {}
        sasl = self._security.sasl
        self._sasl = None if sasl is None else SaslSessions(sasl, self, self._rng)
        self._authentication_error: AuthenticationError | None = None
        self._closed = False

    # ------------------------------------------------------------------ nodes

    def _node(self, node_id: int) -> BrokerNode | None:
        if node_id < 0:
            return self._bootstrap.get(node_id)
        return self._metadata.cluster.brokers.get(node_id)

    def _candidate_nodes(self) -> list[int]:
        brokers = self._metadata.cluster.brokers
        return list(brokers) if brokers else self._bootstrap_ids

    def connection_state(self, node_id: int) -> ConnectionState:
        return self._states.state(node_id)

    def api_versions(self, node_id: int) -> dict[int, tuple[int, int]] | None:
        """The broker's (min, max) version per api key, once the handshake is done."""
        return self._api_versions.get(node_id)

    @property
    def authentication_error(self) -> AuthenticationError | None:
        """The first authentication failure on any connection; once set, the client is
        done connecting (see the module docstring: authentication failures are fatal)."""
        return self._authentication_error

    def _can_send_request(self, node_id: int) -> bool:
        return (
            self._states.state(node_id) is ConnectionState.READY
            and self._in_flight.can_send_more(node_id)
            and self._selector.is_connected(node_id)
        )

    def _metadata_update_due(self, now_ms: int) -> bool:
        return not self._metadata_in_flight and self._metadata.time_to_next_update(now_ms) == 0

    def is_ready(self, node_id: int, now_ms: int) -> bool:
        """Ready to take a request now (no side effect; see :meth:`ready`).

        A connection whose KIP-368 re-authentication is due takes nothing more until the
        next :meth:`poll` has started it, as Java's selector begins a re-authentication
        before it writes a send: a sender thread that wakes late must not spend the last
        milliseconds of a session on a request the broker may receive after it ended.
        """
        return (
            not self._metadata_update_due(now_ms)
            and self._can_send_request(node_id)
            and (self._sasl is None or not self._sasl.reauthentication_due(node_id, now_ms))
        )

    def ready(self, node_id: int, now_ms: int) -> bool:
        """True when a request can be sent to ``node_id`` now; else start connecting.

        Ready means connected, handshake done and room in the in-flight deque (and no
        metadata refresh waiting for that slot). An unknown node id asks for metadata.
        """
        self._check_open()
        if self.is_ready(node_id, now_ms):
            return True
        if self._authentication_error is None and self._states.can_connect(node_id, now_ms):
            self._initiate_connect(node_id, now_ms)
        return False

    def is_connection_failed(self, node_id: int, now_ms: int | None = None) -> bool:
        """True when the last connection to ``node_id`` failed or broke (in backoff or not)."""
        state = self._states.get(node_id)
        return state is not None and state.state is ConnectionState.DISCONNECTED

    def connection_error(self, node_id: int) -> Exception | None:
        """Why the last connection to ``node_id`` failed (BrokerConnectionError, ...)."""
        state = self._states.get(node_id)
        return None if state is None else state.last_error

    def connection_delay(self, node_id: int, now_ms: int) -> int:
        """Milliseconds until a connect to ``node_id`` may be tried (reconnect backoff)."""
        return self._states.connection_delay(node_id, now_ms)

    def in_flight_request_count(self, node_id: int | None = None) -> int:
        return self._in_flight.count(node_id)

    def least_loaded_node(self, now_ms: int) -> int | None:
        """The node to send a request that any broker can answer (Metadata).

        Prefer a ready node with the fewest in-flight requests (an idle one at once),
        then one that is connecting, then one that may connect now; None if every node
        is in reconnect backoff. The scan starts at a random node to spread the load.
        """
        nodes = self._candidate_nodes()
        if not nodes:
            return None
        offset = self._rng.randrange(len(nodes))
        best: int | None = None
        best_in_flight = _NEVER_MS
        connecting: int | None = None
        can_connect: int | None = None
        for i in range(len(nodes)):
            node_id = nodes[(offset + i) % len(nodes)]
            if self._can_send_request(node_id):
                count = self._in_flight.count(node_id)
                if count == 0:
                    return node_id
                if count < best_in_flight:
                    best, best_in_flight = node_id, count
                continue
            state = self._states.state(node_id)
            if state in _SETTING_UP:
                connecting = node_id
            elif state is ConnectionState.DISCONNECTED and self._states.can_connect(
                node_id, now_ms
            ):
                can_connect = node_id
            elif state is ConnectionState.READY and best is None:
                best = node_id  # connected but its in-flight deque is full
        if best is not None:
            return best
        return connecting if connecting is not None else can_connect

    def _initiate_connect(self, node_id: int, now_ms: int) -> None:
        node = self._node(node_id)
        if node is None:
            self._metadata.request_update()
            return
        log.debug("connecting to node %d at %s", node_id, node.address)
        self._states.connecting(node_id, node.host, node.port, now_ms)
        self._connect_started_ms[node_id] = now_ms
        self._selector.connect(node_id, node.host, node.port)

    # ------------------------------------------------------------------ sending

    def _check_open(self) -> None:
        if self._closed:
            raise ProducerClosedError("the network client is closed")

    def _next_correlation_id(self) -> int:
        self._correlation_id = (self._correlation_id + 1) & 0x7FFFFFFF
        return self._correlation_id

    def _negotiate(self, node_id: int, api_key: ApiKey, cap: int | None) -> int:
        ours = SUPPORTED_VERSIONS.get(api_key)
        if ours is None:
            raise UnsupportedVersionError(f"regcast cannot encode {api_key.name} requests")
        theirs = self._api_versions.get(node_id, {}).get(int(api_key))
        if theirs is None:
            raise UnsupportedVersionError(
                f"node {node_id} does not support {api_key.name} (not in its ApiVersions)"
            )
        high = min(ours[1], theirs[1])
        if cap is not None:
            high = min(high, cap)
        low = max(ours[0], theirs[0])
        if high < low:
            capped = f", capped at v{cap}" if cap is not None else ""
            raise UnsupportedVersionError(
                f"no common {api_key.name} version with node {node_id}: broker supports "
                f"v{theirs[0]}..v{theirs[1]}, regcast v{ours[0]}..v{ours[1]}{capped}"
            )
        return high

    def send(self, request: ClientRequest, now_ms: int) -> None:
        """Queue ``request`` for its node (which :meth:`ready` reported ready).

        The request completes later through :meth:`poll`: its response, or its failure
        (unsupported version, a body that cannot be encoded, disconnect, timeout).
        """
        self._check_open()
        node_id = request.node_id
        if not self._can_send_request(node_id):
            raise NodeNotReadyError(
                f"node {node_id} cannot take a request now (state "
                f"{self._states.state(node_id).value}, {self._in_flight.count(node_id)} in "
                f"flight of {self._in_flight.max_per_connection}): call ready() first"
            )
        self._send_negotiated(request, now_ms, None)

    def _send_negotiated(
        self, request: ClientRequest, now_ms: int, handler: _Handler | None
    ) -> None:
        version = -1
        try:
            version = self._negotiate(request.node_id, request.api_key, request.max_version)
            self._enqueue(request, version, now_ms, handler)
        except Exception as exc:  # the request fails; the client and connection live on
            if handler is not None:
                handler(_unsent(request, version, now_ms), None, exc, now_ms, self._aborted)
            else:
                self._aborted.append(ClientResponse(request, version, None, exc, now_ms))

    def _enqueue(
        self, request: ClientRequest, version: int, now_ms: int, handler: _Handler | None
    ) -> None:
        body = request.body(version)
        correlation_id = self._next_correlation_id()
        payload = encode_request(request.api_key, version, correlation_id, self._client_id, body)
        in_flight = InFlightRequest(
            node_id=request.node_id,
            request=request,
            api_version=version,
            correlation_id=correlation_id,
            send_ms=now_ms,
            deadline_ms=now_ms + self._request_timeout_ms,
            expect_response=request.expect_response,
            handler=handler,
        )
        self._in_flight.add(in_flight)
        self._selector.send(request.node_id, payload, in_flight)

    # ------------------------------------------------------------------ polling

    def wakeup(self) -> None:
        """Thread-safe: interrupt a :meth:`poll` blocked in another thread."""
        self._selector.wakeup()

    def poll(self, timeout_ms: int, now_ms: int) -> list[ClientResponse]:
        """One turn of the selector; returns (and calls back) the completed requests."""
        self._check_open()
        responses: list[ClientResponse] = []
        metadata_wait_ms = self._maybe_update_metadata(now_ms)
        if self._aborted:
            responses.extend(self._aborted)
            self._aborted.clear()
        if self._sasl is not None:
            self._sasl.reauthenticate_due(now_ms, self._is_connected_and_ready, self._aborted)
        wait_ms = min(timeout_ms, metadata_wait_ms, self._time_to_next_deadline(now_ms))
        if responses:
            wait_ms = 0
        selector = self._selector
        selector.poll(max(wait_ms, 0))
        now_ms = self._clock_ms()
        if selector.completed_sends:
            self._handle_completed_sends(responses, now_ms)
        if selector.completed_receives:
            self._handle_completed_receives(responses, now_ms)
        if selector.disconnected:
            self._handle_disconnections(responses, now_ms)
        if selector.connected:
            self._handle_connections(now_ms)
        if self._connect_started_ms:
            self._handle_timed_out_connections(responses, now_ms)
        if self._in_flight.count():
            self._handle_timed_out_requests(responses, now_ms)
        if self._bootstrap_retired:
            self._close_idle_bootstrap_connections()
        if self._aborted:
            responses.extend(self._aborted)
            self._aborted.clear()
        if responses:
            _run_callbacks(responses)
        return responses

    def _time_to_next_deadline(self, now_ms: int) -> int:
        earliest = self._in_flight.earliest_deadline_ms()
        if self._connect_started_ms:
            setup = min(self._connect_started_ms.values()) + self._connection_setup_timeout_ms
            earliest = setup if earliest is None else min(earliest, setup)
        due = None if self._sasl is None else self._sasl.next_due_ms()
        if due is not None:
            earliest = due if earliest is None else min(earliest, due)
        return _NEVER_MS if earliest is None else max(earliest - now_ms, 0)

    def _complete(
        self,
        request: InFlightRequest,
        body: dict[str, Any] | None,
        error: Exception | None,
        now_ms: int,
        responses: list[ClientResponse],
    ) -> None:
        if request.handler is not None:
            request.handler(request, body, error, now_ms, responses)
        else:
            responses.append(
                ClientResponse(request.request, request.api_version, body, error, now_ms)
            )

    def _handle_completed_sends(self, responses: list[ClientResponse], now_ms: int) -> None:
        for token in self._selector.completed_sends:
            assert isinstance(token, InFlightRequest)
            token.sent = True
            if not token.expect_response:
                unanswered = self._unanswered.get(token.node_id)
                if unanswered is None:
                    unanswered = self._unanswered[token.node_id] = deque(maxlen=_UNANSWERED_KEPT)
                unanswered.append(token.correlation_id)
                self._in_flight.remove(token)
                self._complete(token, None, None, now_ms, responses)

    def _handle_completed_receives(self, responses: list[ClientResponse], now_ms: int) -> None:
        selector = self._selector
        in_flight = self._in_flight
        for node_id, payload in selector.completed_receives:
            if not selector.has_channel(node_id):
                continue  # closed earlier in this batch
            head = in_flight.oldest(node_id)
            try:
                correlation_id = peek_correlation_id(payload)
            except ProtocolError as exc:
                self._fail_node(node_id, now_ms, responses, exc, _same_error(exc))
                continue
            if head is None or not head.expect_response or head.correlation_id != correlation_id:
                if self._is_unwanted_answer(node_id, correlation_id):
                    continue
                expected = (
                    "no request in flight"
                    if head is None or not head.expect_response
                    else f"the oldest in-flight request is {_describe(head)}"
                )
                self._fail_node(
                    node_id,
                    now_ms,
                    responses,
                    CorrelationIdMismatchError(
                        f"node {node_id} sent a response with correlation id {correlation_id}"
                        f" but {expected}; connection closed"
                    ),
                    _mismatch_error(node_id, correlation_id),
                )
                continue
            in_flight.complete_next(node_id)
            try:
                body = self._decode(head, payload)
            except Exception as exc:
                error = exc if isinstance(exc, ProtocolError) else _undecodable(head, exc)
                self._complete(head, None, error, now_ms, responses)
                self._fail_node(
                    node_id,
                    now_ms,
                    responses,
                    error,
                    _closed_after_undecodable(node_id),
                )
                continue
            self._complete(head, body, None, now_ms, responses)

    def _is_unwanted_answer(self, node_id: int, correlation_id: int) -> bool:
        """True for an answer to a request that expects none (Tansu answers acks=0 Produce).

        Kafka brokers never answer acks=0; one that does answers in order, so the ids
        up to this one are dropped from the record of unanswered requests too.
        """
        unanswered = self._unanswered.get(node_id)
        if not unanswered or correlation_id not in unanswered:
            return False
        while unanswered and unanswered.popleft() != correlation_id:
            pass
        log.debug("node %d answered request %d, which expected no answer", node_id, correlation_id)
        return True

    @staticmethod
    def _decode(request: InFlightRequest, payload: bytes) -> dict[str, Any]:
        api_key = request.request.api_key
        try:
            return decode_response(api_key, request.api_version, payload)[1]
        except ProtocolError:
            if api_key is not ApiKey.API_VERSIONS or request.api_version == 0:
                raise
        # A broker that does not know our ApiVersions version answers UNSUPPORTED_VERSION
        # in the v0 layout (KIP-511); some (librdkafka's mock) in a layout of their own.
        try:
            return decode_response(api_key, 0, payload)[1]
        except ProtocolError:
            return {"error_code": _UNSUPPORTED_VERSION, "api_keys": []}

    def _handle_disconnections(self, responses: list[ClientResponse], now_ms: int) -> None:
        for node_id, error in list(self._selector.disconnected):
            log.debug("node %d disconnected: %s", node_id, error)
            self._fail_node(node_id, now_ms, responses, error, _same_error(error))

    def _handle_connections(self, now_ms: int) -> None:
        for node_id in self._selector.connected:
            if self._sasl is None:  # a SASL connection is set up once authenticated
                self._connect_started_ms.pop(node_id, None)
            self._states.checking_api_versions(node_id)
            self._send_api_versions(node_id, SUPPORTED_VERSIONS[ApiKey.API_VERSIONS][1], now_ms)

    def _send_api_versions(self, node_id: int, version: int, now_ms: int) -> None:
        request = ClientRequest(node_id, ApiKey.API_VERSIONS, _api_versions_request_body)
        try:
            self._enqueue(request, version, now_ms, self._handle_api_versions_response)
        except ProducerError as exc:
            self._fail_node(node_id, now_ms, self._aborted, exc, _same_error(exc))

    def _handle_api_versions_response(
        self,
        request: InFlightRequest,
        body: dict[str, Any] | None,
        error: Exception | None,
        now_ms: int,
        responses: list[ClientResponse],
    ) -> None:
        node_id = request.node_id
        if error is not None or body is None:
            return  # whoever failed the request closed the connection
        if self._states.state(node_id) is not ConnectionState.CHECKING_API_VERSIONS:
            return
        code = int(body.get("error_code", 0))
        api_keys = body.get("api_keys") or ()
        if code == _UNSUPPORTED_VERSION and request.api_version > 0:
            # ask again at the version the broker says it has, else at v0, which all have
            theirs = next((k for k in api_keys if k["api_key"] == ApiKey.API_VERSIONS), None)
            version = 0
            if theirs is not None and 0 <= int(theirs["max_version"]) < request.api_version:
                version = int(theirs["max_version"])
            self._send_api_versions(node_id, version, now_ms)
            return
        if code != 0:
            self._fail_node(
                node_id,
                now_ms,
                responses,
                error_for_code(code, f"ApiVersions handshake with node {node_id} failed"),
                _same_error(DisconnectError("handshake failed")),
            )
            return
        self._api_versions[node_id] = {
            int(k["api_key"]): (int(k["min_version"]), int(k["max_version"])) for k in api_keys
        }
        if self._sasl is not None:
            self._sasl.start(node_id, now_ms, responses)
            return
        self._states.ready(node_id)
        log.debug("node %d ready", node_id)

    # ------------------------------------------------------------------ SASL
    # What SaslSessions (producer.network.sasl_sessions) asks of the client: SaslHost.

    def node_address(self, node_id: int) -> str:
        state = self._states.get(node_id)
        return f"{state.host}:{state.port}" if state else "?"

    def send_sasl(
        self,
        node_id: int,
        api_key: ApiKey,
        body: Callable[[int], dict[str, Any]],
        now_ms: int,
        handler: _Handler,
    ) -> None:
        """Queue a SASL request at the negotiated version (behind whatever is in flight)."""
        if int(api_key) in self._api_versions.get(node_id, {}):
            version = self._negotiate(node_id, api_key, None)
        else:  # a broker that did not list it: v1 is what every SASL broker accepts
            version = min(SUPPORTED_VERSIONS[api_key][1], 1)
        self._enqueue(ClientRequest(node_id, api_key, body), version, now_ms, handler)

    def fail_connection(
        self, node_id: int, now_ms: int, responses: list[ClientResponse], error: Exception
    ) -> None:
        self._fail_node(node_id, now_ms, responses, error, _same_error(error))

    def authenticating(self, node_id: int) -> None:
        self._states.authenticating(node_id)

    def authenticated(self, node_id: int, first: bool) -> None:
        if first:
            self._connect_started_ms.pop(node_id, None)  # the connection is set up
        self._states.ready(node_id)

    def _is_connected_and_ready(self, node_id: int) -> bool:
        return self._states.state(node_id) is ConnectionState.READY and (
            self._selector.is_connected(node_id)
        )

    def _handle_timed_out_connections(self, responses: list[ClientResponse], now_ms: int) -> None:
        limit = self._connection_setup_timeout_ms
        for node_id, started_ms in list(self._connect_started_ms.items()):
            if now_ms - started_ms >= limit:
                state = self._states.get(node_id)
                where = f" at {state.host}:{state.port}" if state else ""
                phase = self._states.state(node_id).value.replace("_", " ")
                stage = self._selector.connect_stage(node_id)
                if stage:
                    phase = f"{phase}: {stage}"
                error = BrokerConnectionError(
                    f"connection to node {node_id}{where} not established within "
                    f"{limit} ms (connection setup timeout, while {phase})"
                )
                self._fail_node(node_id, now_ms, responses, error, _same_error(error))

    def _handle_timed_out_requests(self, responses: list[ClientResponse], now_ms: int) -> None:
        timeout_ms = self._request_timeout_ms
        for node_id in self._in_flight.nodes_with_timed_out_requests(now_ms):

            def error_for(req: InFlightRequest, node_id: int = node_id) -> Exception:
                if req.deadline_ms <= now_ms:
                    return RequestTimeoutError(
                        f"{_describe(req)} to node {node_id} got no response within "
                        f"request_timeout_ms={timeout_ms}; connection closed"
                    )
                return DisconnectError(
                    f"{_describe(req)} to node {node_id} failed: connection closed because "
                    f"an earlier request on it timed out"
                )

            oldest = self._in_flight.oldest(node_id)
            assert oldest is not None
            self._fail_node(node_id, now_ms, responses, error_for(oldest), error_for)

    def _fail_node(
        self,
        node_id: int,
        now_ms: int,
        responses: list[ClientResponse],
        cause: Exception,
        error_for: Callable[[InFlightRequest], Exception],
    ) -> None:
        """Close ``node_id``'s connection and fail each of its in-flight requests.

        An :class:`AuthenticationError` ``cause`` is also kept as the client's fatal
        :attr:`authentication_error` (the first one wins).
        """
        if isinstance(cause, AuthenticationError) and self._authentication_error is None:
            self._authentication_error = cause
            # the sender logs it once, at ERROR, when it fails the producer with it
            log.debug("node %d: authentication failed, no more connections: %s", node_id, cause)
        self._selector.close(node_id)
        if self._sasl is not None:
            self._sasl.forget(node_id)
        self._connect_started_ms.pop(node_id, None)
        self._api_versions.pop(node_id, None)
        self._unanswered.pop(node_id, None)
        self._states.disconnected(node_id, now_ms, cause)
        for request in self._in_flight.clear_all(node_id):
            self._complete(request, None, error_for(request), now_ms, responses)
        self._metadata.last_connection_error = cause
        self._metadata.request_update()

    # ------------------------------------------------------------------ metadata

    def _maybe_update_metadata(self, now_ms: int) -> int:
        """Send a Metadata request if one is due; ms until this needs looking at again."""
        if self._metadata_in_flight or self._authentication_error is not None:
            return _NEVER_MS
        wait_ms = self._metadata.time_to_next_update(now_ms)
        if wait_ms > 0:
            return wait_ms
        node_id = self.least_loaded_node(now_ms)
        if node_id is None:
            return self._reconnect_backoff_ms or 1
        if self._can_send_request(node_id):
            topics = sorted(self._metadata.topics())
            request = ClientRequest(
                node_id, ApiKey.METADATA, partial(_metadata_request_body, topics)
            )
            self._metadata_in_flight = True
            self._send_negotiated(request, now_ms, self._handle_metadata_response)
            return self._request_timeout_ms
        state = self._states.state(node_id)
        if state is ConnectionState.DISCONNECTED and self._states.can_connect(node_id, now_ms):
            self._initiate_connect(node_id, now_ms)
            return self._reconnect_backoff_ms or 1
        if state is ConnectionState.READY:
            return _NEVER_MS  # in-flight deque full: a response will free a slot
        return self._reconnect_backoff_ms or 1

    def _handle_metadata_response(
        self,
        request: InFlightRequest,
        body: dict[str, Any] | None,
        error: Exception | None,
        now_ms: int,
        responses: list[ClientResponse],
    ) -> None:
        self._metadata_in_flight = False
        if error is not None or body is None or not body.get("brokers"):
            if error is not None:
                log.debug("metadata request to node %d failed: %s", request.node_id, error)
            self._metadata.failed_update(now_ms)
            return
        self._metadata.update(body, now_ms)
        self._bootstrap_retired = True  # real brokers known: bootstrap connections may go

    def _close_idle_bootstrap_connections(self) -> None:
        remaining = False
        for node_id in self._bootstrap_ids:
            if self._states.get(node_id) is None:
                continue
            if self._in_flight.is_empty(node_id):
                self._selector.close(node_id)
                self._connect_started_ms.pop(node_id, None)
                self._api_versions.pop(node_id, None)
                self._unanswered.pop(node_id, None)
                if self._sasl is not None:
                    self._sasl.forget(node_id)
                self._states.remove(node_id)
            else:
                remaining = True
        if not remaining:
            self._bootstrap_retired = False

    # ------------------------------------------------------------------ closing

    def close(self) -> None:
        """Close every connection; in-flight requests fail with DisconnectError."""
        if self._closed:
            return
        self._closed = True
        responses = list(self._aborted)
        self._aborted.clear()
        now_ms = self._clock_ms()
        for node_id in list(self._in_flight.nodes()):
            for request in self._in_flight.clear_all(node_id):
                self._complete(
                    request,
                    None,
                    DisconnectError(f"{_describe(request)} to node {node_id}: client closed"),
                    now_ms,
                    responses,
                )
        self._selector.close_all()
        _run_callbacks(responses)

    def __enter__(self) -> NetworkClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _unsent(request: ClientRequest, version: int, now_ms: int) -> InFlightRequest:
    return InFlightRequest(
        node_id=request.node_id,
        request=request,
        api_version=version,
        correlation_id=-1,
        send_ms=now_ms,
        deadline_ms=now_ms,
        expect_response=request.expect_response,
    )


def _same_error(error: Exception) -> Callable[[InFlightRequest], Exception]:
    """Per-request copies of one failure (each future gets its own exception object)."""
    error_type = type(error)

    def make(request: InFlightRequest) -> Exception:
        try:
            return error_type(f"{_describe(request)} failed: {error}")
        except Exception:
            return DisconnectError(f"{_describe(request)} failed: {error}")

    return make


def _mismatch_error(node_id: int, correlation_id: int) -> Callable[[InFlightRequest], Exception]:
    def make(request: InFlightRequest) -> Exception:
        return CorrelationIdMismatchError(
            f"{_describe(request)} to node {node_id} failed: the node answered correlation id "
            f"{correlation_id} out of order; connection closed"
        )

    return make


def _closed_after_undecodable(node_id: int) -> Callable[[InFlightRequest], Exception]:
    def make(request: InFlightRequest) -> Exception:
        return DisconnectError(
            f"{_describe(request)} to node {node_id} failed: connection closed after an "
            f"undecodable response"
        )

    return make


def _undecodable(request: InFlightRequest, exc: Exception) -> ProtocolError:
    return ProtocolError(f"cannot decode the response to {_describe(request)}: {exc!r}")


def _run_callbacks(responses: list[ClientResponse]) -> None:
    for response in responses:
        callback = response.request.callback
        if callback is not None:
            try:
                callback(response)
            except Exception:
                log.exception(
                    "callback of %s request to node %d raised",
                    response.request.api_key.name,
                    response.node_id,
                )
