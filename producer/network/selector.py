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

from producer.errors import BrokerConnectionError, DisconnectError, ProtocolError
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
        channel = KafkaChannel(
            node_id,
            sock,
            receive_buffer_bytes=self._receive_buffer_bytes,
            max_receive_size_bytes=self._max_receive_size_bytes,
        )
        self._channels[node_id] = channel
        self._addresses[node_id] = (host, port)
        channel.interest = _WRITE
        self._selector.register(sock, _WRITE, channel)
        if code == 0:
            channel.connected = True
            self._set_interest(channel, _READ)
            self._early_connected.append(node_id)

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

        if connected or disconnected or completed_sends:
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
                try:
                    channel.finish_connect()
                except OSError as exc:
                    host, port = self._addresses.get(channel.node_id, ("?", 0))
                    self._fail(channel, _connect_error(channel.node_id, host, port, exc))
                    continue
                connected.append(channel.node_id)
                self._set_interest(channel, _READ | (_WRITE if channel.has_pending_send else 0))
                if channel.has_pending_send:
                    self._write(channel)
                continue
            if mask & _READ:
                try:
                    open_ = channel.read(completed_receives)
                except ProtocolError as exc:
                    self._fail(channel, exc)
                    continue
                except OSError as exc:
                    self._fail(
                        channel,
                        DisconnectError(f"connection to node {channel.node_id} broke: {exc}"),
                    )
                    continue
                if not open_:
                    self._fail(
                        channel,
                        DisconnectError(f"node {channel.node_id} closed the connection"),
                    )
                    continue
            if mask & _WRITE and channel.has_pending_send:
                self._write(channel)

    def _write(self, channel: KafkaChannel) -> None:
        try:
            channel.write(self.completed_sends)
        except OSError as exc:
            self._fail(
                channel, DisconnectError(f"connection to node {channel.node_id} broke: {exc}")
            )
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


def _connect_error(node_id: int, host: str, port: int, exc: OSError) -> BrokerConnectionError:
    return BrokerConnectionError(
        f"cannot connect to node {node_id} at {host}:{port}: {exc.strerror or exc}"
    )
