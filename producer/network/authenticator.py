"""The client side of one connection's SASL exchange (KIP-152), and KIP-368's timing.

After Kafka's ``SaslClientAuthenticator``. The NetworkClient owns the I/O: it sends the
requests this object describes and feeds it their responses; this object decides what
comes next and whether the exchange failed. Runs on the sender thread.

The flow on a ``SASL_PLAINTEXT`` / ``SASL_SSL`` connection, once TCP (and TLS) is up and
ApiVersions has answered (Java's order: the broker's versions pick the SaslAuthenticate
version, v2 being flexible):

1. ``SaslHandshake`` v1 naming the mechanism. A broker without it answers
   UNSUPPORTED_SASL_MECHANISM (33) and the list of mechanisms it enables, which the
   error repeats so the user can fix ``sasl_mechanism``.
2. ``SaslAuthenticate`` frames carrying the mechanism's messages until the mechanism has
   nothing more to say (PLAIN: one; SCRAM: two; OAUTHBEARER: one, or two on a refusal).
   A non-zero error_code (SASL_AUTHENTICATION_FAILED, 58) fails with the broker's
   error_message; a mechanism that is not satisfied (SCRAM's server signature, a
   server ``e=`` message) fails although the broker said 0.
3. ``session_lifetime_ms`` (SaslAuthenticate v1+) > 0 means the broker closes the
   connection when the session expires (KIP-368): :func:`reauthentication_delay_ms`
   says when to authenticate again — 85 to 95% of the lifetime, random, as Java's client
   — counted from when the last SaslAuthenticate request was sent, which is no later
   than when the broker started the session's clock.

Every failure here is an :class:`~producer.errors.AuthenticationError`: final for the
producer (the NetworkClient records it and connects no more), because the same
credentials would be refused again. Failures of the token source that are not a refusal
(an unreachable OIDC endpoint) are retriable connection errors instead.
"""

from __future__ import annotations

import random
from typing import Any

from producer.errors import AuthenticationError, AuthenticationFailedError
from producer.protocol.error_codes import error_for_code
from producer.sasl.mechanisms import SaslMechanism, create_mechanism
from producer.security import SaslSettings

__all__ = ["SaslAuthenticator", "reauthentication_delay_ms"]

_UNSUPPORTED_SASL_MECHANISM = 33
REAUTHENTICATE_AT = (0.85, 0.95)
"""The fraction of the session lifetime after which to re-authenticate (random in it)."""


def reauthentication_delay_ms(session_lifetime_ms: int, rng: random.Random) -> int:
    """Milliseconds after the authentication to start the next one (KIP-368)."""
    low, high = REAUTHENTICATE_AT
    return int(session_lifetime_ms * rng.uniform(low, high))


class SaslAuthenticator:
    """One authentication of one connection: the requests' bodies, the responses' checks.

    A re-authentication uses a new instance (a new SCRAM nonce, a fresh token).
    """

    __slots__ = ("_mechanism", "_settings", "_where", "rounds", "session_lifetime_ms")

    def __init__(self, settings: SaslSettings, node_id: int, address: str) -> None:
        self._settings = settings
        self._where = f"node {node_id} at {address}"
        self._mechanism: SaslMechanism | None = None
        self.session_lifetime_ms = 0
        self.rounds = 0

    @property
    def mechanism_name(self) -> str:
        return self._settings.mechanism

    @property
    def complete(self) -> bool:
        return self._mechanism is not None and self._mechanism.complete

    def __repr__(self) -> str:
        return f"SaslAuthenticator({self._settings.mechanism}, {self._where})"

    def handshake_body(self, version: int) -> dict[str, Any]:
        return {"mechanism": self._settings.mechanism}

    def start(self) -> None:
        """Prepare the mechanism (for OAUTHBEARER: get a token, possibly over HTTP).

        Called before the SaslHandshake is sent, so a token source that fails fails the
        connection before anything was exchanged.
        """
        settings = self._settings
        provider = settings.token_provider

        def token() -> str:
            assert provider is not None
            value = provider()
            if not (isinstance(value, tuple) and len(value) == 2 and isinstance(value[0], str)):
                raise AuthenticationFailedError(
                    "sasl_oauth_token_provider must return (token: str, expires_at_ms: int)"
                )
            return value[0]

        try:
            self._mechanism = create_mechanism(
                settings.mechanism,
                username=settings.username,
                password=settings.password,
                token=token if provider is not None else None,
            )
        except AuthenticationError as exc:
            raise type(exc)(f"SASL {settings.mechanism} with {self._where}: {exc}") from None

    def on_handshake_response(self, body: dict[str, Any]) -> bytes:
        """Check the SaslHandshake answer; the first SaslAuthenticate payload."""
        code = int(body.get("error_code", 0))
        if code:
            enabled = ", ".join(body.get("mechanisms") or ()) or "none"
            if code == _UNSUPPORTED_SASL_MECHANISM:
                context = (
                    f"SASL handshake with {self._where}: mechanism {self.mechanism_name} is "
                    f"not enabled on the broker, which enables: {enabled} (set "
                    "sasl_mechanism to one of them)"
                )
            else:
                context = f"SASL handshake ({self.mechanism_name}) with {self._where} failed"
            raise error_for_code(code, context)
        assert self._mechanism is not None, "start() first"
        return self._mechanism.initial()

    def on_authenticate_response(self, body: dict[str, Any]) -> bytes | None:
        """Check one SaslAuthenticate answer; the next payload, or None when done."""
        mechanism = self._mechanism
        assert mechanism is not None, "start() first"
        self.rounds += 1
        code = int(body.get("error_code", 0))
        if code:
            message = body.get("error_message")
            detail = f" ({_printable(message)})" if message else ""
            server_error = getattr(mechanism, "server_error", None)
            if server_error:
                detail += f" [{server_error}]"
            raise error_for_code(
                code,
                f"SASL {self.mechanism_name} authentication with {self._where} failed{detail}",
            )
        try:
            reply = mechanism.step(bytes(body.get("auth_bytes") or b""))
        except AuthenticationFailedError as exc:
            raise AuthenticationFailedError(f"{self._where}: {exc}") from None
        if reply is None:
            if not mechanism.complete:  # a mechanism ends only complete or raising
                raise AuthenticationFailedError(
                    f"SASL {self.mechanism_name} with {self._where}: the exchange ended unfinished"
                )
            self.session_lifetime_ms = max(int(body.get("session_lifetime_ms") or 0), 0)
        return reply


def _printable(message: object, limit: int = 300) -> str:
    text = str(message)[:limit]
    return "".join(ch if ch.isprintable() else "?" for ch in text)
