"""One broker connection: a non-blocking socket with its outgoing and incoming frames.

After Kafka's ``KafkaChannel`` + ``NetworkSend``/``NetworkReceive``. Kafka frames every
request and response with a 4-byte big-endian size. Partial reads and writes are the
normal case on a non-blocking socket, so the channel keeps:

- an *outgoing queue* of buffers (size prefix, payload, size prefix, payload, ...).
  :meth:`KafkaChannel.write` hands as many of them as possible to one ``sendmsg``
  (scatter-gather: the payload is never copied to glue the prefix on) and advances past
  what the kernel took, slicing a partially written buffer with a ``memoryview``. Each
  frame carries a *token* (the in-flight request); a token is reported once the last
  byte of its frame has been written.
- an *incoming buffer*: one preallocated ``bytearray`` filled with ``recv_into``. Whole
  frames are copied out as ``bytes``; a partial frame stays, moved to the front when
  room runs out. A frame larger than the buffer gets a ``bytearray`` of exactly its size
  that ``recv_into`` fills directly, so large responses cost one copy, not many.

No threads, no clocks, no protocol knowledge beyond the size prefix.
:class:`~producer.network.tls_channel.TlsChannel` is the same channel with TLS between
the socket and these buffers.
"""

from __future__ import annotations

import os
import socket
import struct
from collections import deque

from producer.errors import ProtocolError

_SIZE = struct.Struct(">i")
_MAX_IOV = 64
DEFAULT_RECEIVE_BUFFER_BYTES = 256 * 1024
DEFAULT_MAX_RECEIVE_SIZE_BYTES = 512 * 1024 * 1024


class KafkaChannel:
    """Frame buffers around one non-blocking socket (used by the Selector only)."""

    __slots__ = (
        "_big",
        "_big_filled",
        "_buf",
        "_end",
        "_frame_ends",
        "_max_receive_size_bytes",
        "_out",
        "_queued_bytes",
        "_start",
        "_view",
        "_written_bytes",
        "connected",
        "interest",
        "node_id",
        "received_any",
        "sock",
        "tcp_connected",
    )

    def __init__(
        self,
        node_id: int,
        sock: socket.socket,
        *,
        receive_buffer_bytes: int = DEFAULT_RECEIVE_BUFFER_BYTES,
        max_receive_size_bytes: int = DEFAULT_MAX_RECEIVE_SIZE_BYTES,
    ) -> None:
        self.node_id = node_id
        self.sock = sock
        self.tcp_connected = False  # the TCP connect finished
        self.connected = False  # ready for frames (after the TLS handshake, if any)
        self.received_any = False  # the peer has sent at least one byte
        self.interest = 0  # selector events currently registered
        self._out: deque[memoryview] = deque()
        self._frame_ends: deque[tuple[int, object]] = deque()  # (stream offset, token)
        self._queued_bytes = 0
        self._written_bytes = 0
        self._buf = bytearray(max(receive_buffer_bytes, 64))
        self._view = memoryview(self._buf)
        self._start = 0
        self._end = 0
        self._big: bytearray | None = None
        self._big_filled = 0
        self._max_receive_size_bytes = max_receive_size_bytes

    # ------------------------------------------------------------------ connect

    def finish_connect(self) -> None:
        """Complete a non-blocking connect; raises OSError if it failed."""
        err = self.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if err:
            raise OSError(err, os.strerror(err))
        self.tcp_connected = True
        self.connected = True

    # ------------------------------------------------------------------ sending

    def enqueue(self, payload: bytes, token: object) -> None:
        """Queue one frame (``payload`` without its size prefix) to be written."""
        size = len(payload)
        self._out.append(memoryview(_SIZE.pack(size)))
        self._out.append(memoryview(payload))
        self._queued_bytes += size + 4
        self._frame_ends.append((self._queued_bytes, token))

    @property
    def has_pending_send(self) -> bool:
        return bool(self._out)

    @property
    def has_buffered_read(self) -> bool:
        """Bytes already received that ``select`` will not report (TLS only)."""
        return False

    @property
    def pending_send_bytes(self) -> int:
        return self._queued_bytes - self._written_bytes

    def write(self, completed: list[object]) -> int:
        """Write as much as the socket takes; append tokens of finished frames.

        Returns the number of bytes written (0 when the socket buffer is full). Raises
        OSError when the connection is broken.
        """
        out = self._out
        total = 0
        while out:
            if len(out) == 1:
                buffers: list[memoryview] = [out[0]]
                want = len(buffers[0])
            else:
                buffers = [out[i] for i in range(min(len(out), _MAX_IOV))]
                want = sum(map(len, buffers))
            try:
                sent = self.sock.sendmsg(buffers)
            except (BlockingIOError, InterruptedError):
                break
            if sent <= 0:
                break
            total += sent
            self._written_bytes += sent
            remaining = sent
            while remaining:
                head = out[0]
                if len(head) <= remaining:
                    remaining -= len(head)
                    out.popleft()
                else:
                    out[0] = head[remaining:]
                    remaining = 0
            ends = self._frame_ends
            while ends and ends[0][0] <= self._written_bytes:
                completed.append(ends.popleft()[1])
            if sent < want:
                break  # the kernel buffer is full: wait for the socket to be writable
        if not out:
            # rebase the stream counters so they never grow without bound
            self._queued_bytes = self._written_bytes = 0
        return total

    # ------------------------------------------------------------------ receiving

    def read(self, frames: list[tuple[int, bytes]]) -> bool:
        """Read what the socket has; append ``(node_id, payload)`` per whole frame.

        Returns False when the peer closed the connection (EOF). Raises OSError on a
        broken connection and :class:`ProtocolError` on an impossible frame size.
        """
        for _ in range(8):  # bounded: one busy connection must not starve the others
            if self._big is not None:
                try:
                    n = self._recv_into(memoryview(self._big)[self._big_filled :])
                except (BlockingIOError, InterruptedError):
                    return True
                if n == 0:
                    return False
                self._big_filled += n
                if self._big_filled == len(self._big):
                    frames.append((self.node_id, bytes(self._big)))
                    self._big = None
                    self._big_filled = 0
                continue
            if self._end == len(self._buf):
                self._compact()
                if self._end == len(self._buf):  # cannot happen: _parse moves big frames out
                    raise ProtocolError(f"node {self.node_id}: receive buffer wedged")
            try:
                n = self._recv_into(self._view[self._end :])
            except (BlockingIOError, InterruptedError):
                return True
            if n == 0:
                return False
            if not self.received_any:
                self.received_any = True
                self._check_first_bytes(n)
            self._end += n
            full = self._end == len(self._buf)
            self._parse(frames)
            if not full:
                return True  # the socket is drained
        return True

    def _recv_into(self, view: memoryview) -> int:
        """Bytes into ``view``; 0 at EOF; BlockingIOError when there are none yet."""
        return self.sock.recv_into(view)

    def _check_first_bytes(self, n: int) -> None:
        """A TLS record where a Kafka response should start: the port speaks TLS."""
        head = self._view[self._end : self._end + min(n, 2)].tobytes()
        if head in (b"\x15\x03", b"\x16\x03"):  # a TLS alert or handshake record
            raise ProtocolError(
                f"node {self.node_id} answered with TLS, not Kafka: it is a TLS listener; "
                "set security_protocol SSL (or SASL_SSL) and ssl_cafile"
            )

    def _parse(self, frames: list[tuple[int, bytes]]) -> None:
        buf, start, end = self._buf, self._start, self._end
        node_id = self.node_id
        while end - start >= 4:
            (size,) = _SIZE.unpack_from(buf, start)
            if size < 0 or size > self._max_receive_size_bytes:
                raise ProtocolError(
                    f"node {node_id} sent a frame of impossible size {size} "
                    f"(limit {self._max_receive_size_bytes} bytes): not a Kafka response stream"
                )
            frame_end = start + 4 + size
            if frame_end <= end:
                frames.append((node_id, bytes(self._view[start + 4 : frame_end])))
                start = frame_end
                continue
            if size + 4 > len(buf):
                have = end - start - 4
                big = bytearray(size)
                big[:have] = self._view[start + 4 : end]
                self._big = big
                self._big_filled = have
                start = end = 0
            break
        if start == end:
            start = end = 0
        self._start, self._end = start, end
        if start and (len(buf) - start) < 4096:
            self._compact()

    def _compact(self) -> None:
        start, end = self._start, self._end
        if start:
            self._view[: end - start] = self._view[start:end]  # memmove-safe overlap
            self._start, self._end = 0, end - start

    def close(self) -> None:
        self._out.clear()
        self._frame_ends.clear()
        try:
            self.sock.close()
        finally:
            self._view.release()
