"""A SASL gateway for the tests: authenticates Kafka clients, then relays them to Tansu.

No broker on this machine authenticates with SASL in a way a test can use (Tansu 0.6 has
no PLAIN, cannot keep SCRAM users in memory storage and validates no tokens), so the
tests put this in front of a plaintext Tansu::

    client --SASL_PLAINTEXT--> SaslGateway --plaintext--> Tansu (advertising the gateway)

Per client connection (one thread reading the client, one relaying Tansu's answers):

- ApiVersions before authentication is forwarded to Tansu and its answer patched to list
  SaslHandshake v0-1 and SaslAuthenticate v0-2 if Tansu left them out (clients send it
  first: librdkafka and Kafka's Java client and regcast do).
- SaslHandshake and SaslAuthenticate are answered here, with the server sides of PLAIN
  (constant-time compare), SCRAM-SHA-256/512 (``scramp``'s server) and OAUTHBEARER
  (the JWT's RS256 signature, ``exp``, ``aud`` and ``iss`` checked with PyJWT against
  the token endpoint's public key). Failures answer SASL_AUTHENTICATION_FAILED (58)
  with Kafka's wording, then the connection closes.
- Any other request before authentication closes the connection (as Kafka does, with
  ILLEGAL_SASL_STATE); after it, frames are relayed both ways unchanged.
- ``session_lifetime_ms`` > 0 is handed out in SaslAuthenticate v1+ (KIP-368): a request
  other than a re-authentication after the session expired closes the connection, as a
  Kafka broker does, so a client that does not re-authenticate in time is caught. A
  SaslHandshake on an authenticated connection is a re-authentication: it is answered
  only once every request relayed before it has its answer back (a broker answers in
  order on a connection).

:attr:`SaslGateway.connections` records each connection's authentications, so tests can
assert that re-authentication happened. Test code only: credentials are test values.
"""

from __future__ import annotations

import base64
import contextlib
import hmac
import json
import socket
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from producer.protocol import ApiKey, decode_request, decode_response, encode_response
from regcast.local_broker import LocalBroker, free_port

__all__ = ["GatewayConnection", "SaslGateway", "SaslKafka"]

_SIZE = struct.Struct(">i")
_SASL_AUTHENTICATION_FAILED = 58
_UNSUPPORTED_SASL_MECHANISM = 33
_PLAIN_FAILED = "Authentication failed: Invalid username or password"


def _scram_failed(mechanism: str) -> str:
    return (
        "Authentication failed during authentication due to invalid credentials with SASL "
        f"mechanism {mechanism}"
    )


@dataclass(slots=True)
class GatewayConnection:
    """One client connection as the gateway saw it."""

    index: int
    authentications: int = 0
    principals: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    expired: bool = False
    relayed_requests: int = 0
    in_flight_at_reauthentication: list[int] = field(default_factory=list)
    """For each re-authentication, how many relayed requests still awaited their answer
    when its SaslHandshake arrived (KIP-368 under load: more than 0 means the client
    re-authenticated with requests in flight)."""


class _ServerExchange:
    """The server side of one SASL exchange: ``step(client_bytes) -> (reply, done)``."""

    def __init__(self, gateway: SaslGateway, mechanism: str) -> None:
        self.gateway = gateway
        self.mechanism = mechanism
        self.principal: str | None = None
        self._scram: Any = None
        self._user: str | None = None
        self._oauth_failed = False

    def step(self, data: bytes) -> tuple[bytes, bool]:
        """(bytes for the client, finished). Raises _Refused with the client's message."""
        if self.mechanism == "PLAIN":
            return self._plain(data), True
        if self.mechanism.startswith("SCRAM-"):
            return self._scram_step(data)
        return self._oauth(data)

    def _plain(self, data: bytes) -> bytes:
        parts = data.split(b"\0")
        if len(parts) != 3:
            raise _Refused(_PLAIN_FAILED)
        user, password = parts[1].decode(errors="replace"), parts[2]
        expected = self.gateway.users.get(user, "").encode()
        if not self.gateway.users.get(user) or not hmac.compare_digest(password, expected):
            raise _Refused(_PLAIN_FAILED)
        self.principal = user
        return b""

    def _scram_step(self, data: bytes) -> tuple[bytes, bool]:
        import scramp

        try:
            if self._scram is None:
                mechanism = scramp.ScramMechanism(self.mechanism)
                users = self.gateway.users

                def auth_fn(user: str) -> tuple[bytes, bytes, bytes, int]:
                    self._user = user
                    password = users.get(user)
                    if password is None:
                        raise scramp.ScramException("unknown user", "unknown-user")
                    salt, stored, server, iterations = self.gateway.scram_auth_info(
                        self.mechanism, user, password
                    )
                    return salt, stored, server, iterations

                self._scram = mechanism.make_server(auth_fn)
                self._scram.set_client_first(data.decode())
                return self._scram.get_server_first().encode(), False
            self._scram.set_client_final(data.decode())
            if self.gateway.forge_scram_server_signature:
                # a server that does not know the password cannot compute v=; send junk
                return b"v=" + base64.b64encode(b"\0" * 32), True
            self.principal = self._user
            return self._scram.get_server_final().encode(), True
        except scramp.ScramException:
            raise _Refused(_scram_failed(self.mechanism)) from None

    def _oauth(self, data: bytes) -> tuple[bytes, bool]:
        import jwt

        if self._oauth_failed:  # the client's \x01 after our error challenge
            raise _Refused("Authentication failed: invalid_token")
        text = data.decode(errors="replace")
        token = ""
        for part in text.split("\x01"):
            if part.startswith("auth=Bearer "):
                token = part[len("auth=Bearer ") :]
        try:
            claims = jwt.decode(
                token,
                self.gateway.jwt_public_key,
                algorithms=["RS256"],
                audience=self.gateway.jwt_audience,
                issuer=self.gateway.jwt_issuer,
                options={"require": ["exp", "sub", "aud", "iss"]},
            )
        except jwt.PyJWTError as exc:
            self._oauth_failed = True
            self.gateway.oauth_rejections.append(type(exc).__name__)
            return json.dumps({"status": "invalid_token"}).encode(), False
        self.principal = str(claims["sub"])
        return b"", True


class _Refused(Exception):
    pass


class SaslGateway:
    """Listens on ``port``; relays authenticated connections to ``upstream``."""

    def __init__(
        self,
        upstream: tuple[str, int],
        *,
        port: int | None = None,
        mechanisms: tuple[str, ...] = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512", "OAUTHBEARER"),
        users: dict[str, str] | None = None,
        session_lifetime_ms: int = 0,
        answer_delay_s: float = 0.0,
        jwt_public_key: Any = None,
        jwt_audience: str = "kafka",
        jwt_issuer: str = "regcast-test-idp",
        host: str = "127.0.0.1",
    ) -> None:
        self.upstream = upstream
        self.host = host
        self.port = port or free_port(host)
        self.mechanisms = mechanisms
        self.users = dict(users or {})
        self.session_lifetime_ms = session_lifetime_ms
        self.answer_delay_s = answer_delay_s
        """Hold each of Tansu's answers this long before relaying it: a busy broker's
        latency, so a client keeps requests in flight (Tansu on loopback answers at once)."""
        self.jwt_public_key = jwt_public_key
        self.jwt_audience = jwt_audience
        self.jwt_issuer = jwt_issuer
        self.forge_scram_server_signature = False
        self.connections: list[GatewayConnection] = []
        self.oauth_rejections: list[str] = []
        self.errors: list[BaseException] = []
        self._scram_info: dict[tuple[str, str], tuple[bytes, bytes, bytes, int]] = {}
        self._lock = threading.Lock()
        self._listener: socket.socket | None = None
        self._sockets: list[socket.socket] = []
        self._closed = threading.Event()

    @property
    def bootstrap(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def authentications(self) -> int:
        return sum(c.authentications for c in self.connections)

    def scram_auth_info(
        self, mechanism: str, user: str, password: str
    ) -> tuple[bytes, bytes, bytes, int]:
        import scramp

        key = (mechanism, user)
        with self._lock:
            info = self._scram_info.get(key)
            if info is None:
                info = scramp.ScramMechanism(mechanism).make_auth_info(password)
                self._scram_info[key] = info
            return info

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> SaslGateway:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((self.host, self.port))
        listener.listen(64)
        self._listener = listener
        threading.Thread(target=self._accept_loop, name="sasl-gateway", daemon=True).start()
        return self

    def close(self) -> None:
        self._closed.set()
        if self._listener is not None:
            with contextlib.suppress(OSError):
                self._listener.close()
        with self._lock:
            sockets = list(self._sockets)
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            with contextlib.suppress(OSError):
                sock.close()

    def __enter__(self) -> SaslGateway:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _accept_loop(self) -> None:
        assert self._listener is not None
        while not self._closed.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self._lock:
                record = GatewayConnection(len(self.connections))
                self.connections.append(record)
                self._sockets.append(client)
            threading.Thread(
                target=self._serve, args=(client, record), name="sasl-gateway-conn", daemon=True
            ).start()

    # ------------------------------------------------------------------ one connection

    def _serve(self, client: socket.socket, record: GatewayConnection) -> None:
        upstream: socket.socket | None = None
        try:
            upstream = socket.create_connection(self.upstream, timeout=10)
            upstream.settimeout(None)
            upstream.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self._lock:
                self._sockets.append(upstream)
            _Session(self, client, upstream, record).run()
        except (OSError, ConnectionError):
            pass
        except Exception as exc:  # a gateway bug: keep it for the test to see
            self.errors.append(exc)
        finally:
            for sock in (client, upstream):
                if sock is not None:
                    with contextlib.suppress(OSError):
                        sock.shutdown(socket.SHUT_RDWR)
                    with contextlib.suppress(OSError):
                        sock.close()


def _recv_exact(sock: socket.socket, n: int) -> bytes | None:
    chunks = bytearray()
    while len(chunks) < n:
        chunk = sock.recv(n - len(chunks))
        if not chunk:
            return None
        chunks += chunk
    return bytes(chunks)


def _read_frame(sock: socket.socket) -> bytes | None:
    head = _recv_exact(sock, 4)
    if head is None:
        return None
    return _recv_exact(sock, _SIZE.unpack(head)[0])


def _header(payload: bytes) -> tuple[int, int, int]:
    api_key, version, correlation_id = struct.unpack_from(">hhi", payload)
    return api_key, version, correlation_id


def _expects_response(payload: bytes) -> bool:
    """False for Produce acks=0 (parsed by hand: any Produce version the client speaks)."""
    api_key, version, _ = _header(payload)
    if api_key != ApiKey.PRODUCE or version < 3:
        return True
    offset = 8
    (client_id_len,) = struct.unpack_from(">h", payload, offset)
    offset += 2 + max(client_id_len, 0)
    flexible = version >= 9
    if flexible:
        count, offset = _uvarint(payload, offset)  # request header tagged fields
        for _ in range(count):
            _tag, offset = _uvarint(payload, offset)
            size, offset = _uvarint(payload, offset)
            offset += size
        length, offset = _uvarint(payload, offset)  # compact nullable transactional_id
        offset += max(length - 1, 0)
    else:
        (length,) = struct.unpack_from(">h", payload, offset)
        offset += 2 + max(length, 0)
    (acks,) = struct.unpack_from(">h", payload, offset)
    return acks != 0


def _uvarint(data: bytes, offset: int) -> tuple[int, int]:
    shift = result = 0
    while True:
        byte = data[offset]
        offset += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, offset
        shift += 7


class _Session:
    """One client connection: the client reader runs here, Tansu's answers in a thread."""

    def __init__(
        self,
        gateway: SaslGateway,
        client: socket.socket,
        upstream: socket.socket,
        record: GatewayConnection,
    ) -> None:
        self.gateway = gateway
        self.client = client
        self.upstream = upstream
        self.record = record
        self.write_lock = threading.Lock()
        self.outstanding: set[int] = set()
        self.changed = threading.Condition()
        self.authenticated = False
        self.session_expires_at: float | None = None
        self.mechanism: str | None = None
        self.exchange: _ServerExchange | None = None
        self.relay: threading.Thread | None = None

    def send_client(self, payload: bytes) -> None:
        with self.write_lock:
            self.client.sendall(_SIZE.pack(len(payload)) + payload)

    def run(self) -> None:
        while True:
            payload = _read_frame(self.client)
            if payload is None:
                return
            api_key, version, correlation_id = _header(payload)
            if api_key == ApiKey.SASL_HANDSHAKE:
                if self.authenticated:
                    with self.changed:
                        self.record.in_flight_at_reauthentication.append(len(self.outstanding))
                    self.wait_for_outstanding()
                self.handshake(payload)
            elif api_key == ApiKey.SASL_AUTHENTICATE:
                if not self.authenticate(payload):
                    return
            elif not self.authenticated:
                if api_key != ApiKey.API_VERSIONS or self.exchange is not None:
                    self.record.failures.append(f"api key {api_key} before authentication")
                    return
                self.api_versions(payload, version)
            else:
                expires = self.session_expires_at
                if expires is not None and time.monotonic() > expires:
                    self.record.expired = True
                    self.record.failures.append("request after the session expired")
                    return
                if _expects_response(payload):
                    with self.changed:
                        self.outstanding.add(correlation_id)
                self.record.relayed_requests += 1
                self.upstream.sendall(_SIZE.pack(len(payload)) + payload)

    def wait_for_outstanding(self) -> None:
        with self.changed:
            self.changed.wait_for(lambda: not self.outstanding, timeout=30)

    def relay_upstream(self) -> None:
        try:
            while True:
                payload = _read_frame(self.upstream)
                if payload is None:
                    break
                (correlation_id,) = struct.unpack_from(">i", payload)
                if self.gateway.answer_delay_s:
                    time.sleep(self.gateway.answer_delay_s)
                self.send_client(payload)
                with self.changed:
                    self.outstanding.discard(correlation_id)
                    self.changed.notify_all()
        except OSError:
            pass
        finally:
            with contextlib.suppress(OSError):
                self.client.shutdown(socket.SHUT_RDWR)

    def api_versions(self, payload: bytes, version: int) -> None:
        self.upstream.sendall(_SIZE.pack(len(payload)) + payload)
        answer = _read_frame(self.upstream)
        if answer is None:
            raise ConnectionError("Tansu closed during ApiVersions")
        try:
            correlation_id, body = decode_response(ApiKey.API_VERSIONS, version, answer)
        except Exception:
            self.send_client(answer)  # a version regcast's codec cannot patch: as it is
            return
        keys = {int(k["api_key"]) for k in body.get("api_keys") or ()}
        if body.get("error_code", 0) == 0:
            for key, high in ((ApiKey.SASL_HANDSHAKE, 1), (ApiKey.SASL_AUTHENTICATE, 2)):
                if int(key) not in keys:
                    body["api_keys"].append(
                        {"api_key": int(key), "min_version": 0, "max_version": high}
                    )
        self.send_client(encode_response(ApiKey.API_VERSIONS, version, correlation_id, body))

    def handshake(self, payload: bytes) -> None:
        header, body = decode_request(payload)
        mechanism = body["mechanism"]
        enabled = list(self.gateway.mechanisms)
        code = 0 if mechanism in enabled else _UNSUPPORTED_SASL_MECHANISM
        self.mechanism = mechanism if code == 0 else None
        self.exchange = _ServerExchange(self.gateway, mechanism) if code == 0 else None
        self.send_client(
            encode_response(
                ApiKey.SASL_HANDSHAKE,
                header.api_version,
                header.correlation_id,
                {"error_code": code, "mechanisms": enabled},
            )
        )

    def authenticate(self, payload: bytes) -> bool:
        header, body = decode_request(payload)
        exchange = self.exchange
        version = header.api_version

        def answer(code: int, message: str | None, data: bytes, lifetime_ms: int = 0) -> None:
            response = {
                "error_code": code,
                "error_message": message,
                "auth_bytes": data,
                "session_lifetime_ms": lifetime_ms,
            }
            self.send_client(
                encode_response(ApiKey.SASL_AUTHENTICATE, version, header.correlation_id, response)
            )

        if exchange is None:
            answer(34, "SaslAuthenticate without a successful SaslHandshake", b"")
            return False
        try:
            reply, done = exchange.step(bytes(body["auth_bytes"]))
        except _Refused as refused:
            self.record.failures.append(str(refused))
            answer(_SASL_AUTHENTICATION_FAILED, str(refused), b"")
            return False
        if not done:
            answer(0, None, reply)
            return True
        lifetime_ms = self.gateway.session_lifetime_ms if version >= 1 else 0
        self.exchange = None
        self.record.authentications += 1
        self.record.principals.append(exchange.principal or "?")
        self.session_expires_at = time.monotonic() + lifetime_ms / 1000 if lifetime_ms > 0 else None
        answer(0, None, reply, lifetime_ms)
        if not self.authenticated:
            self.authenticated = True
            self.relay = threading.Thread(
                target=self.relay_upstream, name="sasl-gateway-relay", daemon=True
            )
            self.relay.start()
        return True


@dataclass
class SaslKafka:
    """A Tansu broker behind a :class:`SaslGateway` (Tansu advertises the gateway)."""

    gateway_options: dict[str, Any] = field(default_factory=dict)
    broker: LocalBroker | None = None
    gateway: SaslGateway | None = None
    on_start: Callable[[SaslGateway], None] | None = None

    @property
    def bootstrap(self) -> str:
        assert self.gateway is not None
        return self.gateway.bootstrap

    def __enter__(self) -> SaslKafka:
        port = free_port()
        self.broker = LocalBroker(advertised_port=port).start()
        self.gateway = SaslGateway(
            (self.broker.host, self.broker.port), port=port, **self.gateway_options
        ).start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self.gateway is not None:
            self.gateway.close()
        if self.broker is not None:
            self.broker.stop()
