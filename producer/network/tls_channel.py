"""A broker connection with TLS between its socket and its frame buffers.

:class:`TlsChannel` is a :class:`~producer.network.channel.KafkaChannel` whose bytes pass
through a :class:`~producer.network.tls.TlsSession`:

- *connecting*: after the TCP connect, :meth:`TlsChannel.handshake` advances the TLS
  handshake each time the socket is readable or writable; the selector reports the node
  connected only when it is done, so ``connection_setup_timeout_ms`` covers it.
- *receiving*: the frame logic of ``KafkaChannel.read`` is unchanged; its ``_recv_into``
  hook decrypts instead of calling ``recv_into`` (ciphertext is pulled from the socket
  only when the session has no plaintext left).
- *sending*: queued frames are joined into chunks of up to 64 KiB and encrypted
  (small frames would otherwise each cost a TLS record), then the ciphertext is written
  with partial writes. A frame's token is reported once all ciphertext holding it is in
  the kernel, the same point a plaintext frame counts as sent.
- *closing*: a close_notify is sent if the socket takes it at once; nobody waits for it.

OpenSSL errors become :class:`~producer.errors.SslError` with the message of
:func:`~producer.network.tls.describe_ssl_error`: they are configuration problems, not
network weather, and are never retried as if they were.
"""

from __future__ import annotations

import contextlib
import socket
import ssl

from producer.errors import SslError
from producer.network.channel import (
    DEFAULT_MAX_RECEIVE_SIZE_BYTES,
    DEFAULT_RECEIVE_BUFFER_BYTES,
    KafkaChannel,
)
from producer.network.tls import TlsSession, describe_ssl_error

__all__ = ["TlsChannel"]

_SEAL_BYTES = 64 * 1024  # plaintext per encryption call: four full TLS records
_RECV_BYTES = 256 * 1024


class TlsChannel(KafkaChannel):
    """Frame buffers around one non-blocking socket, through TLS (selector only)."""

    __slots__ = ("_cipher", "_cipher_sent", "_sealed", "host", "tls", "where")

    def __init__(
        self,
        node_id: int,
        sock: socket.socket,
        session: TlsSession,
        *,
        host: str,
        where: str,
        receive_buffer_bytes: int = DEFAULT_RECEIVE_BUFFER_BYTES,
        max_receive_size_bytes: int = DEFAULT_MAX_RECEIVE_SIZE_BYTES,
    ) -> None:
        super().__init__(
            node_id,
            sock,
            receive_buffer_bytes=receive_buffer_bytes,
            max_receive_size_bytes=max_receive_size_bytes,
        )
        self.tls = session
        self.host = host
        self.where = where  # "node 1 at host:port", for messages
        self._cipher = b""  # ciphertext not yet (fully) written
        self._cipher_sent = 0
        self._sealed: list[object] = []  # tokens of frames inside _cipher

    # ------------------------------------------------------------------ errors

    def _ssl_error(self, exc: ssl.SSLError) -> SslError:
        return SslError(
            describe_ssl_error(exc, self.where, self.host, handshake_done=self.tls.handshake_done)
        )

    # ------------------------------------------------------------------ connect

    def finish_connect(self) -> None:
        """TCP is up; the channel is connected once :meth:`handshake` says so."""
        super().finish_connect()
        self.connected = False

    def handshake(self) -> bool:
        """Advance the handshake and send what it produced; True when it is complete.

        Raises :class:`SslError` when TLS fails and OSError when the socket does.
        """
        try:
            done = self.tls.do_handshake()
        except ssl.SSLEOFError:
            # the peer hung up mid-handshake: retried like any broken connection, as
            # Java's client treats "EOF during handshake"
            raise ConnectionResetError("EOF during the TLS handshake") from None
        except ssl.SSLError as exc:
            raise self._ssl_error(exc) from None
        self._flush()
        if done:
            self.connected = True
        return done

    def receive_handshake_bytes(self) -> bool:
        """Move what the socket has into the session; False when the peer closed."""
        while True:
            try:
                data = self.sock.recv(_RECV_BYTES)
            except (BlockingIOError, InterruptedError):
                return True
            if not data:
                return False
            self.received_any = True
            self.tls.receive(data)

    @property
    def wants_write(self) -> bool:
        """Ciphertext is waiting for the socket to be writable."""
        return self._cipher_sent < len(self._cipher) or self.tls.has_ciphertext

    # ------------------------------------------------------------------ receiving

    def _recv_into(self, view: memoryview) -> int:
        tls = self.tls
        while True:
            try:
                n = tls.read_into(view)
            except ssl.SSLEOFError:
                return 0  # EOF without close_notify: a cut connection, not a TLS failure
            except ssl.SSLError as exc:
                raise self._ssl_error(exc) from None
            if n >= 0:
                return n
            data = self.sock.recv(_RECV_BYTES)  # BlockingIOError: nothing to decrypt yet
            if data:
                tls.receive(data)
            else:
                tls.receive_eof()

    @property
    def has_buffered_read(self) -> bool:
        """Plaintext (or ciphertext) inside the session that ``select`` cannot see."""
        return self.tls.has_buffered_plaintext

    # ------------------------------------------------------------------ sending

    @property
    def has_pending_send(self) -> bool:
        return bool(self._out) or self.wants_write

    def _flush(self) -> int:
        """Write pending ciphertext; bytes written. OSError when the socket broke."""
        if self.tls.has_ciphertext:
            more = self.tls.ciphertext()
            rest = self._cipher[self._cipher_sent :]
            self._cipher = rest + more if rest else more
            self._cipher_sent = 0
        total = 0
        view = memoryview(self._cipher)
        while self._cipher_sent < len(self._cipher):
            try:
                sent = self.sock.send(view[self._cipher_sent :])
            except (BlockingIOError, InterruptedError):
                break
            if sent <= 0:
                break
            self._cipher_sent += sent
            total += sent
        return total

    def _seal_next(self) -> None:
        """Encrypt up to ``_SEAL_BYTES`` of queued frames; their tokens wait in _sealed."""
        out = self._out
        parts: list[memoryview] = []
        size = 0
        while out and size < _SEAL_BYTES:
            head = out[0]
            room = _SEAL_BYTES - size
            if len(head) <= room:
                parts.append(head)
                size += len(head)
                out.popleft()
            else:
                parts.append(head[:room])
                out[0] = head[room:]
                size += room
        try:
            self.tls.write(parts[0] if len(parts) == 1 else b"".join(parts))
        except ssl.SSLError as exc:
            raise self._ssl_error(exc) from None
        self._written_bytes += size
        ends = self._frame_ends
        while ends and ends[0][0] <= self._written_bytes:
            self._sealed.append(ends.popleft()[1])

    def write(self, completed: list[object]) -> int:
        total = 0
        while True:
            total += self._flush()
            if self._cipher_sent < len(self._cipher):
                return total  # the kernel buffer is full: wait until the socket is writable
            if self._sealed:
                completed.extend(self._sealed)
                self._sealed.clear()
            if not self._out:
                self._queued_bytes = self._written_bytes = 0
                return total
            self._seal_next()

    def close(self) -> None:
        if self.tls.handshake_done:
            self.tls.close()
            with contextlib.suppress(OSError):
                self._flush()
        super().close()
