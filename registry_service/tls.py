"""The client's certificate in the ASGI scope, which uvicorn does not put there.

uvicorn (0.55) terminates TLS itself (``--ssl-certfile``, ``--ssl-cert-reqs``) but gives
the application nothing of the handshake: its scope has ``scheme == "https"`` and no
``extensions["tls"]``, so a verified client certificate cannot be read by the app.
``HttpToolsTlsProtocol`` is uvicorn's own httptools protocol with the ASGI TLS extension
added (https://asgi.readthedocs.io/en/latest/extensions.html#tls): the peer certificate
is read once per connection, in ``connection_made`` (asyncio and uvloop call it after
the handshake), and each request's scope gets the same ``extensions["tls"]`` dict:

- ``client_cert_chain``: the client's certificate, PEM (Python's ``ssl`` gives the
  leaf only, not the chain it was verified through);
- ``client_cert_name``: its subject, RFC 4514 (``CN=orders-app,O=Example``); None
  without a certificate;
- ``client_cert_error``: None (the handshake fails on a certificate that does not
  verify, so a request never carries one);
- ``tls_version``: e.g. ``0x0304`` for TLS 1.3; ``server_cert`` and ``cipher_suite``
  None (``ssl`` does not give the suite's number).

It is selected with uvicorn's ``http=`` setting (``regcast serve`` passes it when TLS is
on); plaintext connections get no extension and cost nothing more. ``common_name``
turns ``client_cert_name`` into the principal ``auth.guard`` uses.
"""

from __future__ import annotations

import asyncio
import ssl
from typing import Any

from cryptography import x509
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from registry_service.settings import ClientAuth

PROTOCOL = "registry_service.tls:HttpToolsTlsProtocol"
TLS_VERSIONS = {"TLSv1.2": 0x0303, "TLSv1.3": 0x0304}
CERT_REQS = {
    ClientAuth.NONE: ssl.CERT_NONE,
    ClientAuth.OPTIONAL: ssl.CERT_OPTIONAL,
    ClientAuth.REQUIRED: ssl.CERT_REQUIRED,
}


def tls_extension(ssl_object: ssl.SSLObject | ssl.SSLSocket) -> dict[str, Any]:
    """The ASGI TLS extension's dict for one established connection."""
    der = ssl_object.getpeercert(binary_form=True)
    chain: list[str] = []
    name = None
    if der:
        certificate = x509.load_der_x509_certificate(der)
        chain.append(ssl.DER_cert_to_PEM_cert(der))
        name = certificate.subject.rfc4514_string()
    return {
        "server_cert": None,
        "client_cert_chain": chain,
        "client_cert_name": name,
        "client_cert_error": None,
        "tls_version": TLS_VERSIONS.get(ssl_object.version() or ""),
        "cipher_suite": None,
    }


class HttpToolsTlsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, plus ``scope["extensions"]["tls"]`` (module
    docstring). Runs on the event loop."""

    _tls: dict[str, Any] | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        ssl_object = transport.get_extra_info("ssl_object")
        if ssl_object is not None:
            self._tls = tls_extension(ssl_object)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self._tls is not None:
            self.scope["extensions"] = {"tls": self._tls}  # type: ignore[dict-item]
