"""One ``selectors`` loop over every broker connection, plus a wakeup socket.

After Kafka's ``Selector``. The owner (the NetworkClient, on the sender thread) calls
:meth:`Selector.connect`, :meth:`Selector.send` and :meth:`Selector.close`, then one
:meth:`Selector.poll` per turn. A poll:

1. reports connects that finished or failed without waiting (loopback refusals);
2. writes pending frames *before* waiting (most sockets are writable: this saves a
   round through ``select``), and asks for write readiness only for channels the
   kernel could not take everything from;
3. waits in ``select`` for at most the timeout — no wait at all when step 1 or 2
   already produced results;
4. finishes connects, reads whole frames, writes more.

With an ``ssl_context`` every connection is a
:class:`~producer.network.tls_channel.TlsChannel`: after TCP connects, readiness events
drive its TLS handshake and the node is reported ``connected`` only when that is done.
Such a channel may hold bytes OpenSSL has already decrypted, which ``select`` cannot
see: it stays in ``_buffered`` and is read again on the next poll, which then does not
wait. Certificate and protocol failures are reported as ``SslError``; a connection
closed or reset mid-handshake as a (retriable) ``DisconnectError``.

Results land in four lists reused across polls (no per-poll allocation):
``connected`` (node ids), ``disconnected`` ((node id, exception)), ``completed_sends``
(tokens of fully written frames) and ``completed_receives`` ((node id, payload)).
A node reported disconnected is already closed and forgotten.

:meth:`Selector.wakeup` is the only thread-safe method: it writes one byte to a
socketpair whose read end is registered with the selector, so a ``select`` blocked in
another thread returns at once.
"""

from __future__ import annotations

import contextlib
import errno
import os
import selectors
import socket
from typing import TYPE_CHECKING

from producer.errors import BrokerConnectionError, DisconnectError, ProducerError
from producer.network.channel import (
    DEFAULT_MAX_RECEIVE_SIZE_BYTES,
    DEFAULT_RECEIVE_BUFFER_BYTES,
    KafkaChannel,
)

if TYPE_CHECKING:
    import ssl

_READ = selectors.EVENT_READ
_WRITE = selectors.EVENT_WRITE


class Selector:
    """Non-blocking I/O over all connections; runs on the sender thread."""

    def __init__(
        self,
        *,
        receive_buffer_bytes: int = DEFAULT_RECEIVE_BUFFER_BYTES,
        max_receive_size_bytes: int = DEFAULT_MAX_RECEIVE_SIZE_BYTES,
        socket_send_buffer_bytes: int = -1,
        socket_receive_buffer_bytes: int = -1,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self._selector = selectors.DefaultSelector()
        self._ssl_context = ssl_context
        self._channels: dict[int, KafkaChannel] = {}
        self._receive_buffer_bytes = receive_buffer_bytes
        self._max_receive_size_bytes = max_receive_size_bytes
        self._socket_send_buffer_bytes = socket_send_buffer_bytes
        self._socket_receive_buffer_bytes = socket_receive_buffer_bytes
        self._writers: dict[int, KafkaChannel] = {}  # channels with queued bytes
        # TLS channels holding decrypted (or undecrypted) bytes select() cannot see
        self._buffered: dict[int, KafkaChannel] = {}
        self._addresses: dict[int, tuple[str, int]] = {}
        self._early_connected: list[int] = []
        self._early_failed: list[tuple[int, Exception]] = []
        self._wakeup_r, self._wakeup_w = socket.socketpair()
        self._wakeup_r.setblocking(False)
        self._wakeup_w.setblocking(False)
        self._selector.register(self._wakeup_r, _READ, None)
        self._closed = False
        self.connected: list[int] = []
        self.disconnected: list[tuple[int, Exception]] = []
        self.completed_sends: list[object] = []
        self.completed_receives: list[tuple[int, bytes]] = []

    # ------------------------------------------------------------------ control

    def is_connected(self, node_id: int) -> bool:
        channel = self._channels.get(node_id)
        return channel is not None and channel.connected

    def connect_stage(self, node_id: int) -> str:
        """Where a connection that is not ready yet stands, for a timeout's message."""
        channel = self._channels.get(node_id)
        if channel is None or channel.connected:
            return ""
        if not channel.tcp_connected:
            return "TCP connect not finished"
        if channel.received_any:
            return "TLS handshake not finished"
        return (
            "the broker sent nothing back to the TLS ClientHello: is it a plaintext "
            "listener? security_protocol SSL needs the broker's TLS port"
        )

    def has_channel(self, node_id: int) -> bool:
        return node_id in self._channels

    def connect(self, node_id: int, host: str, port: int) -> None:
        """Start a non-blocking connect; its outcome comes from the next polls.

        Name resolution (``getaddrinfo``) blocks, as it does in Kafka's client; a failure
        there, or an immediate refusal, is reported by the next :meth:`poll`.
        """
        if node_id in self._channels:
            raise ValueError(f"node {node_id} already has a connection")
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
            family, type_, proto, _, address = infos[0]
            sock = socket.socket(family, type_, proto)
        except OSError as exc:
            self._early_failed.append(
                (node_id, BrokerConnectionError(f"cannot resolve broker {host}:{port}: {exc}"))
            )
            return
        sock.setblocking(False)
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if self._socket_send_buffer_bytes > 0:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, self._socket_send_buffer_bytes)
        if self._socket_receive_buffer_bytes > 0:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, self._socket_receive_buffer_bytes)
        code = sock.connect_ex(address)
        if code not in (0, errno.EINPROGRESS, errno.EWOULDBLOCK, errno.EAGAIN):
            sock.close()
            self._early_failed.append(
                (node_id, _connect_error(node_id, host, port, OSError(code, os.strerror(code))))
            )
            return
        channel = self._new_channel(node_id, sock, host, port)
        self._channels[node_id] = channel
        self._addresses[node_id] = (host, port)
        channel.interest = _WRITE
        self._selector.register(sock, _WRITE, channel)
        if code == 0:
            channel.tcp_connected = True
            if self._ssl_context is None:
                channel.connected = True
                self._set_interest(channel, _READ)
                self._early_connected.append(node_id)
            else:
                self._advance_handshake(channel, self._early_connected, self._early_failed)

    def _new_channel(self, node_id: int, sock: socket.socket, host: str, port: int) -> KafkaChannel:
        if self._ssl_context is None:
            return KafkaChannel(
                node_id,
                sock,
                receive_buffer_bytes=self._receive_buffer_bytes,
                max_receive_size_bytes=self._max_receive_size_bytes,
            )
        from producer.network.tls import TlsSession  # imports ssl: only when TLS is used
        from producer.network.tls_channel import TlsChannel

        return TlsChannel(
            node_id,
            sock,
            TlsSession(self._ssl_context, host),
            host=host,
            where=f"node {node_id} at {host}:{port}",
            receive_buffer_bytes=self._receive_buffer_bytes,
            max_receive_size_bytes=self._max_receive_size_bytes,
        )

    def send(self, node_id: int, payload: bytes, token: object) -> None:
        """Queue one frame for ``node_id``; the next :meth:`poll` writes it."""
        channel = self._channels.get(node_id)
        if channel is None:
            raise ValueError(f"node {node_id} has no connection")
        channel.enqueue(payload, token)
        self._writers[node_id] = channel

    def close(self, node_id: int) -> None:
        """Close the node's connection now; nothing about it is reported later."""
        channel = self._channels.pop(node_id, None)
        self._writers.pop(node_id, None)
        self._addresses.pop(node_id, None)
        self._buffered.pop(node_id, None)
        if channel is None:
            return
        with contextlib.suppress(KeyError, ValueError, OSError):
            self._selector.unregister(channel.sock)
        channel.close()

    def wakeup(self) -> None:
        """Thread-safe: make a blocked (or the next) :meth:`poll` return immediately."""
        with contextlib.suppress(BlockingIOError, OSError):
            self._wakeup_w.send(b"\x00")

    def close_all(self) -> None:
        for node_id in list(self._channels):
            self.close(node_id)
        if not self._closed:
            self._closed = True
            self._selector.close()
            self._wakeup_r.close()
            self._wakeup_w.close()

    # ------------------------------------------------------------------ polling

    def _set_interest(self, channel: KafkaChannel, events: int) -> None:
        if channel.interest != events:
            channel.interest = events
            self._selector.modify(channel.sock, events, channel)

    def _fail(self, channel: KafkaChannel, error: Exception) -> None:
        self.close(channel.node_id)
        self.disconnected.append((channel.node_id, error))

    def poll(self, timeout_ms: int) -> None:
        """One turn: connect, write, wait up to ``timeout_ms``, read. See module doc."""
        connected = self.connected
        disconnected = self.disconnected
        completed_sends = self.completed_sends
        completed_receives = self.completed_receives
        connected.clear()
        disconnected.clear()
        completed_sends.clear()
        completed_receives.clear()
        if self._early_connected:
            connected.extend(self._early_connected)
            self._early_connected.clear()
        if self._early_failed:
            disconnected.extend(self._early_failed)
            self._early_failed.clear()

        if self._writers:
            for channel in list(self._writers.values()):
                if channel.connected:
                    self._write(channel)

        if connected or disconnected or completed_sends or self._buffered:
            timeout_ms = 0
        events = self._selector.select(max(timeout_ms, 0) / 1000.0)
        for key, mask in events:
            channel = key.data
            if channel is None:
                self._drain_wakeup()
                continue
            if channel.node_id not in self._channels:
                continue  # closed earlier in this loop
            if not channel.connected:
                self._connecting_event(channel, mask)
                continue
            if mask & _READ and not self._read(channel):
                continue
            if mask & _WRITE and channel.has_pending_send:
                self._write(channel)
        if self._buffered:
            for node_id, channel in list(self._buffered.items()):
                if node_id in self._channels:
                    self._read(channel)

    def _connecting_event(self, channel: KafkaChannel, mask: int) -> None:
        """The socket of a channel not yet connected is ready: TCP, then TLS."""
        if not channel.tcp_connected:
            try:
                channel.finish_connect()
            except OSError as exc:
                host, port = self._addresses.get(channel.node_id, ("?", 0))
                self._fail(channel, _connect_error(channel.node_id, host, port, exc))
                return
            if channel.connected:  # plaintext: ready for frames now
                self.connected.append(channel.node_id)
                self._set_interest(channel, _READ | (_WRITE if channel.has_pending_send else 0))
                if channel.has_pending_send:
                    self._write(channel)
                return
        elif mask & _READ:
            from producer.network.tls_channel import TlsChannel

            assert isinstance(channel, TlsChannel)
            try:
                open_ = channel.receive_handshake_bytes()
            except OSError as exc:
                self._fail(channel, _closed_during_handshake(channel, exc))
                return
            if not open_:
                self._fail(channel, _closed_during_handshake(channel))
                return
        self._advance_handshake(channel, self.connected, self.disconnected)

    def _advance_handshake(
        self,
        channel: KafkaChannel,
        connected: list[int],
        disconnected: list[tuple[int, Exception]],
    ) -> None:
        from producer.network.tls_channel import TlsChannel

        assert isinstance(channel, TlsChannel)
        try:
            done = channel.handshake()
        except ProducerError as exc:  # SslError: which check failed
            self.close(channel.node_id)
            disconnected.append((channel.node_id, exc))
            return
        except OSError as exc:
            self.close(channel.node_id)
            disconnected.append(
                (
                    channel.node_id,
                    DisconnectError(
                        f"connection to {channel.where} broke in the TLS handshake: {exc}"
                    ),
                )
            )
            return
        if not done:
            self._set_interest(channel, _READ | (_WRITE if channel.wants_write else 0))
            return
        connected.append(channel.node_id)
        self._set_interest(channel, _READ | (_WRITE if channel.has_pending_send else 0))
        if channel.has_buffered_read:
            self._buffered[channel.node_id] = channel
        if channel.has_pending_send:
            self._write(channel)

    def _read(self, channel: KafkaChannel) -> bool:
        """Read whole frames; False when the channel failed (and was closed)."""
        try:
            open_ = channel.read(self.completed_receives)
        except ProducerError as exc:  # ProtocolError, SslError
            self._fail(channel, exc)
            return False
        except OSError as exc:
            self._fail(channel, DisconnectError(_broke(channel, exc)))
            return False
        if not open_:
            self._fail(channel, DisconnectError(_closed(channel)))
            return False
        if channel.has_buffered_read:
            self._buffered[channel.node_id] = channel
        else:
            self._buffered.pop(channel.node_id, None)
        return True

    def _write(self, channel: KafkaChannel) -> None:
        try:
            channel.write(self.completed_sends)
        except ProducerError as exc:  # SslError
            self._fail(channel, exc)
            return
        except OSError as exc:
            self._fail(channel, DisconnectError(_broke(channel, exc)))
            return
        if channel.has_pending_send:
            self._set_interest(channel, _READ | _WRITE)
        else:
            self._writers.pop(channel.node_id, None)
            self._set_interest(channel, _READ)

    def _drain_wakeup(self) -> None:
        with contextlib.suppress(BlockingIOError, OSError):
            while self._wakeup_r.recv(4096):
                pass


_NOT_ANSWERED_HINT = (
    "; it hung up before answering anything: if it is a TLS listener, set security_protocol SSL "
    "(or SASL_SSL); if it requires SASL, set security_protocol SASL_PLAINTEXT or SASL_SSL"
)


def _broke(channel: KafkaChannel, exc: OSError) -> str:
    hint = "" if channel.received_any else _NOT_ANSWERED_HINT
    return f"connection to node {channel.node_id} broke: {exc}{hint}"


def _closed(channel: KafkaChannel) -> str:
    hint = "" if channel.received_any else _NOT_ANSWERED_HINT
    return f"node {channel.node_id} closed the connection{hint}"


def _closed_during_handshake(channel: KafkaChannel, exc: OSError | None = None) -> DisconnectError:
    # retriable, as Java's "EOF during handshake": a network cut looks the same as a
    # plaintext broker hanging up on a ClientHello it cannot parse
    where = getattr(channel, "where", f"node {channel.node_id}")
    how = "closed the connection" if exc is None else f"broke the connection ({exc})"
    return DisconnectError(
        f"{where} {how} during the TLS handshake: is it a TLS listener? "
        "A plaintext port needs security_protocol PLAINTEXT (or SASL_PLAINTEXT)"
    )


def _connect_error(node_id: int, host: str, port: int, exc: OSError) -> BrokerConnectionError:
    return BrokerConnectionError(
        f"cannot connect to node {node_id} at {host}:{port}: {exc.strerror or exc}"
    )
