"""SASL client mechanisms: small state machines, bytes in and bytes out.

Each mechanism is driven the same way by the network layer's authenticator
(KIP-152: one SaslAuthenticate request per client message)::

    first = mechanism.initial()          # the client's first message
    reply = mechanism.step(server_bytes) # the next client message, or None: nothing more
    mechanism.complete                   # True once the exchange succeeded on our side

``step`` raises :class:`~producer.errors.AuthenticationFailedError` when the server's
message shows the exchange failed, or when the server cannot prove what it must (SCRAM's
server signature): a broker answering error_code 0 is not enough, the client checks the
proof itself (RFC 5802 §5.1: a client that cannot verify the server signature must
consider the authentication failed). Error messages name the mechanism and what failed,
never the password or token.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Protocol

from producer.errors import AuthenticationFailedError

__all__ = [
    "OAuthBearerMechanism",
    "PlainMechanism",
    "SaslMechanism",
    "ScramMechanism",
    "create_mechanism",
]


class SaslMechanism(Protocol):
    """The client side of one SASL exchange (one per authentication, never reused)."""

    name: str

    def initial(self) -> bytes:
        """The client's first message."""
        ...

    def step(self, challenge: bytes) -> bytes | None:
        """Consume the server's message; the next client message, or None when done."""
        ...

    @property
    def complete(self) -> bool:
        """True when the exchange succeeded as far as the client can tell."""
        ...


class PlainMechanism:
    """RFC 4616 PLAIN: ``authzid NUL authcid NUL passwd`` (empty authzid), one message.

    PLAIN sends the password as it is: use it over TLS (SASL_SSL) outside tests.
    """

    name = "PLAIN"
    __slots__ = ("_complete", "_password", "_username")

    def __init__(self, username: str, password: str) -> None:
        if "\0" in username or "\0" in password:
            raise AuthenticationFailedError(
                "SASL PLAIN cannot carry a username or password containing NUL"
            )
        self._username = username
        self._password = password
        self._complete = False

    def initial(self) -> bytes:
        return b"\0" + self._username.encode() + b"\0" + self._password.encode()

    def step(self, challenge: bytes) -> bytes | None:
        if challenge:
            raise AuthenticationFailedError(
                "SASL PLAIN: the server sent a challenge after the credentials; PLAIN has "
                "none (is the broker really using PLAIN?)"
            )
        self._complete = True
        return None

    @property
    def complete(self) -> bool:
        return self._complete

    def __repr__(self) -> str:
        return f"PlainMechanism(username={self._username!r})"


class ScramMechanism:
    """SCRAM-SHA-256 / SCRAM-SHA-512 (RFC 5802, RFC 7677) through ``scramp``.

    Three messages: client-first, (server-first ->) client-final, (server-final ->)
    done. The server-final message must carry the server signature ``v=`` that only a
    server knowing the password (its stored key) can compute; a server-final ``e=...``
    (``e=unknown-user``, ``e=invalid-proof``) or a wrong signature fails the exchange
    even if the broker's SaslAuthenticate error_code is 0.
    """

    __slots__ = ("_client", "_complete", "_state", "name")

    def __init__(self, mechanism: str, username: str, password: str) -> None:
        from scramp import ScramClient  # imported only when SCRAM is used

        self.name = mechanism
        self._client = ScramClient([mechanism], username, password)
        self._state = "initial"
        self._complete = False

    def initial(self) -> bytes:
        if self._state != "initial":
            raise AuthenticationFailedError(f"SASL {self.name}: initial() called twice")
        self._state = "server_first"
        return str(self._client.get_client_first()).encode()

    def step(self, challenge: bytes) -> bytes | None:
        from scramp import ScramException

        message = _decode(self.name, challenge)
        if message.startswith("e="):
            raise AuthenticationFailedError(
                f"SASL {self.name} authentication failed: the server answered "
                f"{_printable(message)!r}"
            )
        try:
            if self._state == "server_first":
                self._client.set_server_first(message)
                self._state = "server_final"
                return str(self._client.get_client_final()).encode()
            if self._state == "server_final":
                self._client.set_server_final(message)
                self._state = "done"
                self._complete = True
                return None
        except ScramException as exc:
            raise AuthenticationFailedError(
                f"SASL {self.name} authentication failed: {_scram_reason(exc)} (the server "
                "could not prove it knows the credentials, or it is not speaking SCRAM)"
            ) from None
        raise AuthenticationFailedError(
            f"SASL {self.name}: the server sent a message after the exchange ended"
        )

    @property
    def complete(self) -> bool:
        return self._complete

    def __repr__(self) -> str:
        return f"ScramMechanism({self.name}, state={self._state})"


class OAuthBearerMechanism:
    """RFC 7628 OAUTHBEARER: ``n,,\\x01auth=Bearer <token>\\x01\\x01``, as Kafka sends it.

    A successful server answers with an empty message. A refusing server sends an error
    JSON (``{"status": "invalid_token", ...}``) as a challenge; RFC 7628 §3.2.3 has the
    client answer ``\\x01`` so the server can end the exchange with its failure, which the
    broker then reports in the SaslAuthenticate error. The JSON's status is kept for the
    message in case the broker ends without one.
    """

    name = "OAUTHBEARER"
    __slots__ = ("_complete", "_server_error", "_token")

    def __init__(self, token: str) -> None:
        if not token or "\x01" in token:
            raise AuthenticationFailedError(
                "SASL OAUTHBEARER: the token provider returned an empty or malformed token"
            )
        self._token = token
        self._complete = False
        self._server_error: str | None = None

    @property
    def server_error(self) -> str | None:
        """The server's error JSON status/scope (no token in it), once it sent one."""
        return self._server_error

    def initial(self) -> bytes:
        return b"n,,\x01auth=Bearer " + self._token.encode() + b"\x01\x01"

    def step(self, challenge: bytes) -> bytes | None:
        if self._server_error is not None:
            raise AuthenticationFailedError(
                f"SASL OAUTHBEARER authentication failed: the server refused the token "
                f"({self._server_error})"
            )
        if not challenge:
            self._complete = True
            return None
        self._server_error = _oauth_error(challenge)
        return b"\x01"

    @property
    def complete(self) -> bool:
        return self._complete

    def __repr__(self) -> str:
        return "OAuthBearerMechanism(token=<hidden>)"


def create_mechanism(
    mechanism: str,
    *,
    username: str | None = None,
    password: str | None = None,
    token: Callable[[], str] | None = None,
) -> SaslMechanism:
    """A fresh mechanism for one authentication (``token`` is called only for OAUTHBEARER)."""
    if mechanism == "PLAIN":
        return PlainMechanism(username or "", password or "")
    if mechanism in ("SCRAM-SHA-256", "SCRAM-SHA-512"):
        return ScramMechanism(mechanism, username or "", password or "")
    if mechanism == "OAUTHBEARER":
        if token is None:
            raise AuthenticationFailedError("SASL OAUTHBEARER needs a token source")
        return OAuthBearerMechanism(token())
    raise AuthenticationFailedError(f"SASL mechanism {mechanism!r} is not supported")


def _decode(name: str, challenge: bytes) -> str:
    try:
        return challenge.decode()
    except UnicodeDecodeError:
        raise AuthenticationFailedError(
            f"SASL {name}: the server sent a message that is not UTF-8"
        ) from None


def _printable(message: str, limit: int = 200) -> str:
    return "".join(ch if ch.isprintable() else "?" for ch in message[:limit])


def _scram_reason(exc: Exception) -> str:
    # scramp's messages describe the check that failed (never the password)
    return _printable(str(exc.args[0]) if exc.args else type(exc).__name__)


def _oauth_error(challenge: bytes) -> str:
    try:
        parsed = json.loads(challenge)
    except ValueError:
        return "an error message that is not JSON"
    if not isinstance(parsed, dict):
        return "an error message that is not a JSON object"
    parts = [
        f"{key}={_printable(str(parsed[key]), 100)}"
        for key in ("status", "scope", "openid-configuration")
        if key in parsed
    ]
    return ", ".join(parts) or "an error without a status"
