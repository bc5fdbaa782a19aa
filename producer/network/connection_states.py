"""Per-node connection state machine with exponential reconnect backoff.

After Kafka's ``ClusterConnectionStates``. A node moves through

    DISCONNECTED -> CONNECTING -> CHECKING_API_VERSIONS -> [AUTHENTICATING ->] READY
         ^______________|________________|____________________|_____________|

and any state can fall back to DISCONNECTED. AUTHENTICATING is the SASL exchange of a
``SASL_*`` connection (after ApiVersions, as Kafka's Java client does, so the
SaslAuthenticate version is negotiated); READY -> AUTHENTICATING -> READY is a KIP-368
re-authentication of a live connection, during which no new request is sent on it.
Every fall back counts as a failed attempt: the next connect waits
``reconnect_backoff_ms * 2**(failures-1)`` (capped at ``reconnect_backoff_max_ms``,
+/- ``jitter``), so a broker that is down is not hammered.
Reaching READY resets the count. Pure logic: time comes in as ``now_ms``.
"""

from __future__ import annotations

import enum
import random

from producer.errors import ConfigError


class ConnectionState(enum.Enum):
    DISCONNECTED = "disconnected"
    CONNECTING = "connecting"
    CHECKING_API_VERSIONS = "checking_api_versions"
    AUTHENTICATING = "authenticating"
    READY = "ready"


_TRANSITIONS: dict[ConnectionState, frozenset[ConnectionState]] = {
    ConnectionState.DISCONNECTED: frozenset({ConnectionState.CONNECTING}),
    ConnectionState.CONNECTING: frozenset(
        {ConnectionState.CHECKING_API_VERSIONS, ConnectionState.DISCONNECTED}
    ),
    ConnectionState.CHECKING_API_VERSIONS: frozenset(
        {ConnectionState.AUTHENTICATING, ConnectionState.READY, ConnectionState.DISCONNECTED}
    ),
    ConnectionState.AUTHENTICATING: frozenset(
        {ConnectionState.READY, ConnectionState.DISCONNECTED}
    ),
    ConnectionState.READY: frozenset(
        {ConnectionState.AUTHENTICATING, ConnectionState.DISCONNECTED}
    ),
}


class IllegalStateTransitionError(RuntimeError):
    """A bug in the network client: a transition the state table does not allow."""


class NodeConnectionState:
    """Bookkeeping for one node; mutated only through :class:`ClusterConnectionStates`."""

    __slots__ = (
        "failed_attempts",
        "host",
        "last_connect_attempt_ms",
        "last_error",
        "port",
        "reconnect_backoff_ms",
        "state",
    )

    def __init__(self, host: str, port: int) -> None:
        self.state = ConnectionState.DISCONNECTED
        self.host = host
        self.port = port
        self.last_connect_attempt_ms: int | None = None
        self.failed_attempts = 0
        self.reconnect_backoff_ms = 0
        self.last_error: Exception | None = None


class ClusterConnectionStates:
    """Connection states of every node the client has tried to reach.

    Runs on the sender thread (owned by the NetworkClient).
    """

    def __init__(
        self,
        *,
        reconnect_backoff_ms: int,
        reconnect_backoff_max_ms: int,
        jitter: float = 0.2,
        rng: random.Random | None = None,
    ) -> None:
        if reconnect_backoff_ms < 0:
            raise ConfigError(f"reconnect_backoff_ms must be >= 0, got {reconnect_backoff_ms}")
        if reconnect_backoff_max_ms < reconnect_backoff_ms:
            raise ConfigError(
                f"reconnect_backoff_max_ms ({reconnect_backoff_max_ms}) must be >= "
                f"reconnect_backoff_ms ({reconnect_backoff_ms})"
            )
        if not 0.0 <= jitter < 1.0:
            raise ConfigError(f"reconnect backoff jitter must be in [0, 1), got {jitter}")
        self.reconnect_backoff_ms = reconnect_backoff_ms
        self.reconnect_backoff_max_ms = reconnect_backoff_max_ms
        self._jitter = jitter
        self._rng = rng or random.Random()
        self._nodes: dict[int, NodeConnectionState] = {}

    def get(self, node_id: int) -> NodeConnectionState | None:
        return self._nodes.get(node_id)

    def state(self, node_id: int) -> ConnectionState:
        node = self._nodes.get(node_id)
        return ConnectionState.DISCONNECTED if node is None else node.state

    def node_ids(self) -> list[int]:
        return list(self._nodes)

    def _transition(self, node_id: int, target: ConnectionState) -> NodeConnectionState:
        node = self._nodes[node_id]
        if target not in _TRANSITIONS[node.state]:
            raise IllegalStateTransitionError(
                f"node {node_id}: connection state {node.state.value} -> {target.value} "
                f"is not allowed"
            )
        node.state = target
        return node

    def can_connect(self, node_id: int, now_ms: int) -> bool:
        """True when the node is disconnected and its reconnect backoff has passed."""
        node = self._nodes.get(node_id)
        if node is None:
            return True
        return node.state is ConnectionState.DISCONNECTED and self._backoff_left(node, now_ms) == 0

    def is_blacked_out(self, node_id: int, now_ms: int) -> bool:
        node = self._nodes.get(node_id)
        return (
            node is not None
            and node.state is ConnectionState.DISCONNECTED
            and self._backoff_left(node, now_ms) > 0
        )

    @staticmethod
    def _backoff_left(node: NodeConnectionState, now_ms: int) -> int:
        if node.last_connect_attempt_ms is None:
            return 0
        return max(node.last_connect_attempt_ms + node.reconnect_backoff_ms - now_ms, 0)

    def connection_delay(self, node_id: int, now_ms: int) -> int:
        """Milliseconds before a connect may be attempted; 0 if now.

        While connecting or connected there is nothing to wait for on a timer (a network
        event will come), so this returns a large number, as Kafka does.
        """
        node = self._nodes.get(node_id)
        if node is None:
            return 0
        if node.state is ConnectionState.DISCONNECTED:
            return self._backoff_left(node, now_ms)
        return 2**31 - 1

    def connecting(self, node_id: int, host: str, port: int, now_ms: int) -> None:
        """A connect was started now (the attempt counts for backoff from this moment)."""
        node = self._nodes.get(node_id)
        if node is None:
            node = self._nodes[node_id] = NodeConnectionState(host, port)
        node.host, node.port = host, port
        self._transition(node_id, ConnectionState.CONNECTING)
        node.last_connect_attempt_ms = now_ms

    def checking_api_versions(self, node_id: int) -> None:
        self._transition(node_id, ConnectionState.CHECKING_API_VERSIONS)

    def authenticating(self, node_id: int) -> None:
        """The SASL exchange starts (first authentication, or a re-authentication)."""
        self._transition(node_id, ConnectionState.AUTHENTICATING)

    def ready(self, node_id: int) -> None:
        """Handshake done: the node may take requests; the failure count resets."""
        node = self._transition(node_id, ConnectionState.READY)
        node.failed_attempts = 0
        node.reconnect_backoff_ms = 0
        node.last_error = None

    def disconnected(self, node_id: int, now_ms: int, error: Exception | None = None) -> None:
        """The connection closed or failed: start (or lengthen) the reconnect backoff."""
        node = self._nodes.get(node_id)
        if node is None or node.state is ConnectionState.DISCONNECTED:
            return
        self._transition(node_id, ConnectionState.DISCONNECTED)
        node.last_connect_attempt_ms = now_ms
        node.failed_attempts += 1
        node.reconnect_backoff_ms = self._next_backoff_ms(node.failed_attempts)
        node.last_error = error

    def _next_backoff_ms(self, failed_attempts: int) -> int:
        base = self.reconnect_backoff_ms
        if base == 0:
            return 0
        exponent = min(failed_attempts - 1, 32)
        backoff = min(base * (1 << exponent), self.reconnect_backoff_max_ms)
        if self._jitter:
            backoff = int(backoff * self._rng.uniform(1 - self._jitter, 1 + self._jitter))
        return max(backoff, 0)

    def remove(self, node_id: int) -> None:
        self._nodes.pop(node_id, None)
