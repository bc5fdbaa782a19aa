"""SASL mechanisms as sans-I/O state machines, and the OAUTHBEARER token sources.

- :mod:`producer.sasl.mechanisms`: PLAIN (RFC 4616), SCRAM-SHA-256/512 (RFC 5802/7677,
  through ``scramp``) and OAUTHBEARER (RFC 7628). Bytes in, bytes out: no sockets, no
  clocks; :mod:`producer.network.authenticator` carries their bytes in SaslAuthenticate
  requests.
- :mod:`producer.sasl.oidc`: the built-in OIDC client-credentials token provider (the
  only code here that does I/O: one bounded HTTPS POST to the token endpoint).
"""

from producer.sasl.mechanisms import (
    OAuthBearerMechanism,
    PlainMechanism,
    SaslMechanism,
    ScramMechanism,
    create_mechanism,
)
from producer.sasl.oidc import OidcTokenProvider

__all__ = [
    "OAuthBearerMechanism",
    "OidcTokenProvider",
    "PlainMechanism",
    "SaslMechanism",
    "ScramMechanism",
    "create_mechanism",
]
