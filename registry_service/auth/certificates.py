"""The client certificate's common name as the principal (``REGCAST_AUTH=mtls``).

The server verifies the certificate in the TLS handshake (``REGCAST_SSL_CA_CERTS``,
``REGCAST_SSL_CLIENT_AUTH``) and passes its subject in the ASGI TLS extension
(``scope["extensions"]["tls"]["client_cert_name"]``, which ``registry_service.tls`` adds
under uvicorn); nothing here verifies anything, it only reads what the handshake proved.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from cryptography import x509
from cryptography.x509.oid import NameOID


def client_cert_name(scope: dict[str, Any]) -> str | None:
    """The verified client certificate's subject (RFC 4514), if the server says."""
    extensions = scope.get("extensions")
    if not extensions:
        return None
    tls = extensions.get("tls")
    if not tls:
        return None
    name: str | None = tls.get("client_cert_name")
    return name


@lru_cache(maxsize=1024)
def common_name(subject: str) -> str | None:
    """The CN of an RFC 4514 subject (the last one, the most specific, when several);
    None when there is none. Cached: a handful of clients make every request."""
    try:
        name = x509.Name.from_rfc4514_string(subject)
    except ValueError:
        return None
    values = name.get_attributes_for_oid(NameOID.COMMON_NAME)
    if not values:
        return None
    value = values[-1].value
    return value if isinstance(value, str) else value.decode("utf-8", "replace")
