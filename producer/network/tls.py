"""TLS between a socket and the frame buffers, with OpenSSL kept at arm's length.

Theory of operation
-------------------
The selector loop owns non-blocking sockets and must never block in a handshake or a
read, so TLS runs over memory, not over the socket (as h11/httpcore keep TLS at the
edge): an ``ssl.SSLObject`` between two ``ssl.MemoryBIO`` buffers. Ciphertext the socket
received goes in with :meth:`TlsSession.receive`; plaintext comes out with
:meth:`TlsSession.read_into`; plaintext frames go in with :meth:`TlsSession.write`; the
ciphertext to put on the socket comes out with :meth:`TlsSession.ciphertext`. The class
does no I/O at all: :class:`~producer.network.channel.TlsChannel` moves the bytes.

Two things a TLS channel must handle that a plaintext one need not:

- **Bytes nobody will signal.** OpenSSL decrypts whole TLS records; what does not fit in
  the caller's buffer stays inside the ``SSLObject`` (``pending()``), and ciphertext
  received but not yet decrypted stays in the incoming BIO. ``select`` knows nothing of
  either, so :attr:`TlsSession.has_buffered_plaintext` tells the selector to read that
  channel again without waiting for the socket.
- **Errors that mean "wrong peer".** A verification failure says which check failed
  (unknown CA, host name, expiry); the server asking for a client certificate, and a
  peer that answers the ClientHello with something that is not TLS, get their own words.
  :func:`describe_ssl_error` turns OpenSSL's reasons into those sentences. Messages never
  carry key passwords: OpenSSL never sees them past ``load_cert_chain``.

``import ssl`` happens only here and in :mod:`producer.security`, and only when TLS is
configured: the module costs about 9 MiB resident that plaintext users should not pay.
"""

from __future__ import annotations

import contextlib
import ssl
from typing import cast

__all__ = ["TlsSession", "describe_ssl_error"]

# X509_V_ERR_* codes (OpenSSL's x509_vfy.h) that verification failures come with
_UNTRUSTED = {2, 18, 19, 20, 21, 27}  # no issuer, self-signed, not trusted
_EXPIRED = 10
_NOT_YET_VALID = 9
_HOSTNAME_MISMATCH = {62, 64}  # host name, IP address


class TlsSession:
    """One client-side TLS session over memory buffers (no socket, no clock)."""

    __slots__ = ("_incoming", "_object", "_outgoing", "handshake_done", "received_any")

    def __init__(self, context: ssl.SSLContext, server_hostname: str) -> None:
        self._incoming = ssl.MemoryBIO()
        self._outgoing = ssl.MemoryBIO()
        # SNI and the host name check both use server_hostname; an IP address is matched
        # against the certificate's IP SANs and sent without SNI, as RFC 6066 asks
        self._object = context.wrap_bio(
            self._incoming, self._outgoing, server_side=False, server_hostname=server_hostname
        )
        self.handshake_done = False
        self.received_any = False

    # ------------------------------------------------------------------ handshake

    def do_handshake(self) -> bool:
        """Advance the handshake; True once it is complete. Raises ``ssl.SSLError``."""
        if self.handshake_done:
            return True
        try:
            self._object.do_handshake()
        except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
            return False
        self.handshake_done = True
        return True

    @property
    def version(self) -> str | None:
        return self._object.version()

    # ------------------------------------------------------------------ bytes in

    def receive(self, ciphertext: bytes) -> None:
        """Ciphertext from the socket."""
        if ciphertext:
            self.received_any = True
            self._incoming.write(ciphertext)

    def receive_eof(self) -> None:
        """The socket reached EOF: OpenSSL decides whether that was a clean close."""
        self._incoming.write_eof()

    def read_into(self, buffer: memoryview) -> int:
        """Decrypt into ``buffer``: bytes written, -1 when more ciphertext is needed, 0 at
        the end of the stream (close_notify, or EOF). Raises ``ssl.SSLError``."""
        try:
            # with a buffer, read() returns a count (typeshed only knows the bytes form)
            return cast(int, self._object.read(len(buffer), buffer))
        except ssl.SSLWantReadError:
            return 0 if self._incoming.eof else -1
        except ssl.SSLZeroReturnError:
            return 0

    @property
    def has_buffered_plaintext(self) -> bool:
        """Decrypted bytes, or received ciphertext, that a read would return now."""
        return self._object.pending() > 0 or self._incoming.pending > 0

    # ------------------------------------------------------------------ bytes out

    def write(self, plaintext: bytes | memoryview) -> None:
        """Encrypt ``plaintext`` (all of it: the outgoing BIO grows as needed)."""
        self._object.write(plaintext)

    def ciphertext(self) -> bytes:
        """Everything there is to put on the socket now (handshake records included)."""
        return self._outgoing.read()

    @property
    def has_ciphertext(self) -> bool:
        return self._outgoing.pending > 0

    def close(self) -> None:
        """Queue close_notify (best effort: the caller sends :meth:`ciphertext` once)."""
        with contextlib.suppress(ssl.SSLError, ValueError):
            self._object.unwrap()


def describe_ssl_error(exc: ssl.SSLError, where: str, host: str, *, handshake_done: bool) -> str:
    """What went wrong, in the words of the setting that fixes it.

    ``where`` names the connection ("node 1 at 127.0.0.1:9093"); ``host`` is the name the
    certificate had to match.
    """
    if isinstance(exc, ssl.SSLCertVerificationError):
        code = exc.verify_code
        detail = exc.verify_message or exc.reason or str(exc)
        if code in _HOSTNAME_MISMATCH:
            return (
                f"TLS handshake with {where} failed: the broker's certificate does not name "
                f"{host!r} ({detail}); connect with a name the certificate lists, or set "
                "ssl_check_hostname=False only if you understand the risk"
            )
        if code == _EXPIRED:
            return (
                f"TLS handshake with {where} failed: the broker's certificate has expired "
                f"({detail})"
            )
        if code == _NOT_YET_VALID:
            return (
                f"TLS handshake with {where} failed: the broker's certificate is not valid yet "
                f"({detail}): check the clocks"
            )
        if code in _UNTRUSTED:
            return (
                f"TLS handshake with {where} failed: the broker's certificate is not signed by "
                f"a CA regcast trusts ({detail}); set ssl_cafile to the CA that signed it"
            )
        return f"TLS handshake with {where} failed: certificate verify failed ({detail})"
    reason = exc.reason or ""
    if "CERTIFICATE_REQUIRED" in reason or (
        reason == "SSLV3_ALERT_HANDSHAKE_FAILURE" and handshake_done
    ):
        return (
            f"{where} refused the connection: the broker requires a client certificate "
            f"(mutual TLS) and none was sent; set ssl_certfile and ssl_keyfile ({reason})"
        )
    if "ALERT_BAD_CERTIFICATE" in reason or "ALERT_UNKNOWN_CA" in reason:
        return (
            f"{where} refused regcast's client certificate ({reason}): it must be signed by a "
            "CA the broker trusts"
        )
    if reason in ("WRONG_VERSION_NUMBER", "RECORD_LAYER_FAILURE", "PACKET_LENGTH_TOO_LONG") or (
        "UNEXPECTED_RECORD" in reason or "HTTP_REQUEST" in reason
    ):
        return (
            f"{where} did not answer the TLS handshake as a TLS server ({reason}): is it a "
            "plaintext listener? security_protocol SSL needs the broker's TLS port"
        )
    stage = "TLS session" if handshake_done else "TLS handshake"
    return f"{stage} with {where} failed: {reason or exc}"
