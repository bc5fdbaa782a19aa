"""Each connection's SASL session: its login, and when it logs in again (KIP-368).

The :class:`~producer.network.client.NetworkClient` owns the sockets and the in-flight
deques; :class:`SaslSessions` owns what SASL adds to a connection's life, on the sender
thread:

- after ApiVersions, :meth:`SaslSessions.start` opens an exchange
  (:class:`~producer.network.authenticator.SaslAuthenticator` decides what each request
  carries and whether the broker's answer is a failure) and sends SaslHandshake through
  the client;
- the answers come back to :meth:`_on_handshake` / :meth:`_on_authenticate` as in-flight
  response handlers; the next SaslAuthenticate goes out, or the node is READY again;
- a session with a lifetime is due for re-authentication at 85-95% of it, counted from
  when the last SaslAuthenticate was sent; :meth:`reauthenticate_due` starts those, and
  :meth:`next_due_ms` tells the client's poll how long it may sleep;
- a failure goes back to the client, which closes the connection (and keeps an
  :class:`~producer.errors.AuthenticationError` as fatal); :meth:`forget` drops what
  was known about a connection that closed.

The client is reached only through :class:`SaslHost`, so this module holds no socket.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from typing import Any, Protocol

from producer.errors import BrokerConnectionError, ProducerError
from producer.network.authenticator import SaslAuthenticator, reauthentication_delay_ms
from producer.network.in_flight import InFlightRequest, ResponseHandler
from producer.protocol import ApiKey
from producer.security import SaslSettings

__all__ = ["SaslHost", "SaslSessions"]

log = logging.getLogger("producer.network.client")


class SaslHost(Protocol):
    """What the NetworkClient does for :class:`SaslSessions`."""

    def node_address(self, node_id: int) -> str:
        """``host:port`` of the node, for messages."""
        ...

    def send_sasl(
        self,
        node_id: int,
        api_key: ApiKey,
        body: Callable[[int], dict[str, Any]],
        now_ms: int,
        handler: ResponseHandler,
    ) -> None:
        """Queue a SASL request behind whatever is in flight, at a negotiated version."""
        ...

    def fail_connection(
        self, node_id: int, now_ms: int, responses: list[Any], error: Exception
    ) -> None:
        """Close the node's connection and fail its in-flight requests with ``error``."""
        ...

    def authenticating(self, node_id: int) -> None:
        """The node is logging in: it takes no new requests."""
        ...

    def authenticated(self, node_id: int, first: bool) -> None:
        """The node is READY again; ``first``: this ends the connection's setup."""
        ...


class SaslSessions:
    """The SASL side of every connection of one client (sender thread only)."""

    __slots__ = (
        "_exchanges",
        "_host",
        "_live",
        "_reauthenticate_at_ms",
        "_rng",
        "_settings",
        "authentications",
        "reauthentications",
    )

    def __init__(self, settings: SaslSettings, host: SaslHost, rng: random.Random) -> None:
        self._settings = settings
        self._host = host
        self._rng = rng
        self._exchanges: dict[int, SaslAuthenticator] = {}
        self._live: set[int] = set()  # nodes authenticated on their current connection
        self._reauthenticate_at_ms: dict[int, int] = {}
        self.authentications = 0
        """Completed SASL authentications (first ones and re-authentications)."""
        self.reauthentications = 0
        """Completed KIP-368 re-authentications of live connections."""

    def start(self, node_id: int, now_ms: int, responses: list[Any]) -> None:
        """SaslHandshake for a new connection, or a live one due for re-authentication."""
        address = self._host.node_address(node_id)
        exchange = SaslAuthenticator(self._settings, node_id, address)
        self._host.authenticating(node_id)
        self._exchanges[node_id] = exchange
        self._reauthenticate_at_ms.pop(node_id, None)
        log.debug("node %d: SASL %s authentication", node_id, exchange.mechanism_name)
        try:
            exchange.start()
            self._host.send_sasl(
                node_id, ApiKey.SASL_HANDSHAKE, exchange.handshake_body, now_ms, self._on_handshake
            )
        except ProducerError as exc:
            self._host.fail_connection(node_id, now_ms, responses, exc)
        except Exception as exc:  # the user's token provider failed: retried after backoff
            error = BrokerConnectionError(
                f"SASL {exchange.mechanism_name} with node {node_id} at {address}: "
                f"sasl_oauth_token_provider raised {type(exc).__name__}"
            )
            self._host.fail_connection(node_id, now_ms, responses, error)

    def forget(self, node_id: int) -> None:
        """The node's connection closed: its exchange and its schedule go with it."""
        self._exchanges.pop(node_id, None)
        self._reauthenticate_at_ms.pop(node_id, None)
        self._live.discard(node_id)

    def reauthentication_due(self, node_id: int, now_ms: int) -> bool:
        """True when ``node_id``'s session is due for re-authentication and it has not begun."""
        due_ms = self._reauthenticate_at_ms.get(node_id)
        return due_ms is not None and due_ms <= now_ms

    def next_due_ms(self) -> int | None:
        """When the next re-authentication is due, if any."""
        due = self._reauthenticate_at_ms
        return min(due.values()) if due else None

    def reauthenticate_due(
        self, now_ms: int, is_ready: Callable[[int], bool], responses: list[Any]
    ) -> None:
        """Start a re-authentication on each ready connection that is due; a connection
        that is not ready (closing, reconnecting) loses its schedule instead."""
        for node_id, due_ms in list(self._reauthenticate_at_ms.items()):
            if due_ms > now_ms:
                continue
            if is_ready(node_id):
                self.start(node_id, now_ms, responses)
            else:
                self._reauthenticate_at_ms.pop(node_id, None)

    def _exchange_for(
        self, request: InFlightRequest, error: Exception | None
    ) -> SaslAuthenticator | None:
        # a failed request: whoever failed it closed the connection (and called forget)
        return None if error is not None else self._exchanges.get(request.node_id)

    def _on_handshake(
        self,
        request: InFlightRequest,
        body: dict[str, Any] | None,
        error: Exception | None,
        now_ms: int,
        responses: list[Any],
    ) -> None:
        exchange = self._exchange_for(request, error)
        if body is None or exchange is None:
            return
        try:
            payload = exchange.on_handshake_response(body)
            self._send_authenticate(request.node_id, payload, now_ms)
        except ProducerError as exc:
            self._host.fail_connection(request.node_id, now_ms, responses, exc)

    def _send_authenticate(self, node_id: int, payload: bytes, now_ms: int) -> None:
        self._host.send_sasl(
            node_id,
            ApiKey.SASL_AUTHENTICATE,
            lambda _version: {"auth_bytes": payload},
            now_ms,
            self._on_authenticate,
        )

    def _on_authenticate(
        self,
        request: InFlightRequest,
        body: dict[str, Any] | None,
        error: Exception | None,
        now_ms: int,
        responses: list[Any],
    ) -> None:
        exchange = self._exchange_for(request, error)
        if body is None or exchange is None:
            return
        node_id = request.node_id
        try:
            payload = exchange.on_authenticate_response(body)
            if payload is not None:
                self._send_authenticate(node_id, payload, now_ms)
                return
        except ProducerError as exc:
            self._host.fail_connection(node_id, now_ms, responses, exc)
            return
        del self._exchanges[node_id]
        first = node_id not in self._live
        self._live.add(node_id)
        self.authentications += 1
        if not first:
            self.reauthentications += 1
        lifetime_ms = exchange.session_lifetime_ms
        if lifetime_ms > 0:
            # from when the last SaslAuthenticate was sent: no later than the broker's start
            self._reauthenticate_at_ms[node_id] = request.send_ms + reauthentication_delay_ms(
                lifetime_ms, self._rng
            )
        self._host.authenticated(node_id, first)
        log.debug(
            "node %d: SASL %s %s, session lifetime %d ms; ready",
            node_id,
            exchange.mechanism_name,
            "authenticated" if first else "re-authenticated",
            lifetime_ms,
        )
