"""Security settings: which protocol, which TLS material, which SASL mechanism.

Kafka's ``security.protocol`` names two independent layers: TLS (``SSL``, ``SASL_SSL``)
between the socket and the frames, and SASL (``SASL_PLAINTEXT``, ``SASL_SSL``) as a
few requests each connection sends before ApiVersions' successors. This module checks
that the settings a user gave fit together (:func:`check_security_settings`, called by
``ProducerConfig.from_settings``) and turns them into what the network layer needs
(:func:`network_security`): an ``ssl.SSLContext`` and the SASL settings.

Rules, each a :class:`~producer.errors.ConfigError` naming the setting:

- ``ssl_*`` settings need ``SSL`` or ``SASL_SSL``; ``sasl_*`` settings need
  ``SASL_PLAINTEXT`` or ``SASL_SSL`` (a setting the protocol would ignore is a mistake);
- ``ssl_context`` replaces the file settings, so it cannot be combined with them;
  ``ssl_keyfile`` and ``ssl_password`` need ``ssl_certfile``;
- a SASL protocol needs ``sasl_mechanism`` (one of :data:`SASL_MECHANISMS`); PLAIN and
  SCRAM need ``sasl_plain_username`` and ``sasl_plain_password``; OAUTHBEARER needs either
  ``sasl_oauth_token_provider`` or the OIDC client-credentials trio (token endpoint URL,
  client id, client secret), not both.

Messages name settings, never their secret values.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from producer.errors import ConfigError

if TYPE_CHECKING:
    import ssl  # imported for real only when TLS is used: it costs ~9 MiB resident

__all__ = [
    "SASL_MECHANISMS",
    "SECURITY_PROTOCOLS",
    "NetworkSecurity",
    "SaslSettings",
    "TokenProvider",
    "check_security_settings",
    "create_ssl_context",
    "network_security",
]

SECURITY_PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
SASL_MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512", "OAUTHBEARER")

TokenProvider = Callable[[], tuple[str, int]]
"""``() -> (token, expires_at_ms)``: an OAUTHBEARER token and its expiry (epoch ms)."""

_SSL_FILES = ("ssl_cafile", "ssl_certfile", "ssl_keyfile", "ssl_password")
_SSL_SETTINGS = ("ssl_context", *_SSL_FILES)
_OIDC = (
    "sasl_oauthbearer_token_endpoint_url",
    "sasl_oauthbearer_client_id",
    "sasl_oauthbearer_client_secret",
)
_SASL_SETTINGS = (
    "sasl_mechanism",
    "sasl_plain_username",
    "sasl_plain_password",
    "sasl_oauth_token_provider",
    *_OIDC,
    "sasl_oauthbearer_scope",
)


@dataclass(frozen=True, slots=True)
class SaslSettings:
    """What a connection needs to authenticate; secrets stay out of the repr.

    ``token_provider`` is the user's ``sasl_oauth_token_provider`` or the built-in
    :class:`~producer.sasl.oidc.OidcTokenProvider` built from the OIDC settings.
    """

    mechanism: str
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    token_provider: TokenProvider | None = field(default=None, repr=False)


@dataclass(frozen=True, slots=True)
class NetworkSecurity:
    """The network layer's view of the security settings."""

    protocol: str = "PLAINTEXT"
    ssl_context: ssl.SSLContext | None = None
    sasl: SaslSettings | None = None


def _given(values: dict[str, Any], name: str) -> bool:
    return values.get(name) is not None


def check_security_settings(values: dict[str, Any]) -> None:
    """Normalise and check the security settings in ``values`` (in place)."""
    raw = values.get("security_protocol", "PLAINTEXT")
    protocol = raw.upper() if isinstance(raw, str) else raw
    if protocol not in SECURITY_PROTOCOLS:
        raise ConfigError(
            f"security_protocol must be one of {', '.join(SECURITY_PROTOCOLS)}, got {raw!r}"
        )
    values["security_protocol"] = protocol
    tls = protocol in ("SSL", "SASL_SSL")
    sasl = protocol.startswith("SASL_")
    for name in _SSL_SETTINGS:
        if _given(values, name) and not tls:
            raise ConfigError(
                f"{name} is set but security_protocol is {protocol}: TLS settings need "
                "security_protocol SSL or SASL_SSL"
            )
    for name in _SASL_SETTINGS:
        if _given(values, name) and not sasl:
            raise ConfigError(
                f"{name} is set but security_protocol is {protocol}: SASL settings need "
                "security_protocol SASL_PLAINTEXT or SASL_SSL"
            )
    if tls:
        _check_tls(values)
    if sasl:
        _check_sasl(values)


def _check_tls(values: dict[str, Any]) -> None:
    import ssl

    context = values.get("ssl_context")
    if context is not None:
        if not isinstance(context, ssl.SSLContext):
            raise ConfigError(f"ssl_context must be an ssl.SSLContext, got {type(context)!r}")
        for name in _SSL_FILES:
            if _given(values, name):
                raise ConfigError(
                    f"ssl_context and {name} are both set: load the file into the context "
                    "yourself, or drop ssl_context and let regcast build one"
                )
    for name in _SSL_FILES:
        if _given(values, name) and not isinstance(values[name], str):
            raise ConfigError(f"{name} must be a string (a file path or a password)")
    for name in ("ssl_keyfile", "ssl_password"):
        if _given(values, name) and not _given(values, "ssl_certfile"):
            raise ConfigError(
                f"{name} is set without ssl_certfile: mutual TLS needs the client "
                "certificate (ssl_certfile) as well"
            )
    check = values.get("ssl_check_hostname", True)
    if not isinstance(check, bool):
        raise ConfigError(f"ssl_check_hostname must be a bool, got {check!r}")


def _check_sasl(values: dict[str, Any]) -> None:
    raw = values.get("sasl_mechanism")
    if raw is None:
        raise ConfigError(
            f"security_protocol {values['security_protocol']} needs sasl_mechanism: one of "
            + ", ".join(SASL_MECHANISMS)
        )
    mechanism = raw.upper() if isinstance(raw, str) else raw
    if mechanism not in SASL_MECHANISMS:
        raise ConfigError(
            f"sasl_mechanism must be one of {', '.join(SASL_MECHANISMS)}, got {raw!r}"
        )
    values["sasl_mechanism"] = mechanism
    if mechanism == "OAUTHBEARER":
        for name in ("sasl_plain_username", "sasl_plain_password"):
            if _given(values, name):
                raise ConfigError(f"{name} is for PLAIN and SCRAM, not sasl_mechanism OAUTHBEARER")
        provider = values.get("sasl_oauth_token_provider")
        oidc = [name for name in _OIDC if _given(values, name)]
        if provider is not None:
            if not callable(provider):
                raise ConfigError(
                    "sasl_oauth_token_provider must be a callable () -> (token, expires_at_ms)"
                )
            if oidc or _given(values, "sasl_oauthbearer_scope"):
                raise ConfigError(
                    "sasl_oauth_token_provider and the OIDC settings "
                    "(sasl_oauthbearer_*) are both set: use one token source"
                )
            return
        missing = [name for name in _OIDC if name not in oidc]
        if missing:
            raise ConfigError(
                "sasl_mechanism OAUTHBEARER needs sasl_oauth_token_provider, or the OIDC "
                "client-credentials settings; missing: " + ", ".join(missing)
            )
        return
    for name in (*_OIDC, "sasl_oauth_token_provider", "sasl_oauthbearer_scope"):
        if _given(values, name):
            raise ConfigError(f"{name} is for OAUTHBEARER, not sasl_mechanism {mechanism}")
    for name in ("sasl_plain_username", "sasl_plain_password"):
        value = values.get(name)
        if not isinstance(value, str) or not value:
            raise ConfigError(f"sasl_mechanism {mechanism} needs {name} (a non-empty string)")


def create_ssl_context(
    *,
    cafile: str | None,
    certfile: str | None,
    keyfile: str | None,
    password: str | None,
    check_hostname: bool,
) -> ssl.SSLContext:
    """A client context: TLS 1.2+, peer verified against ``cafile`` (or the system CAs).

    ``check_hostname`` is Kafka's ``ssl.endpoint.identification.algorithm=https``: the
    broker's certificate must name the host (or IP) regcast connected to.
    """
    import ssl

    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        if cafile is not None:
            context.load_verify_locations(cafile=cafile)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(f"ssl_cafile {cafile!r} cannot be loaded: {_reason(exc)}") from None
    if certfile is not None:
        try:
            context.load_cert_chain(certfile, keyfile, password)
        except (OSError, ssl.SSLError) as exc:
            # the reason comes from OpenSSL and never carries the password
            raise ConfigError(
                f"ssl_certfile {certfile!r} / ssl_keyfile {keyfile!r} cannot be loaded "
                f"(wrong ssl_password, or a key that does not match the certificate?): "
                f"{_reason(exc)}"
            ) from None
    context.check_hostname = check_hostname
    return context


def _reason(exc: Exception) -> str:
    import ssl

    if isinstance(exc, ssl.SSLError):
        return exc.reason or str(exc)
    if isinstance(exc, OSError):
        return exc.strerror or str(exc)
    return type(exc).__name__


def network_security(config: Any) -> NetworkSecurity:
    """Build the network layer's security objects from a checked ``ProducerConfig``."""
    protocol: str = config.security_protocol
    context: ssl.SSLContext | None = None
    if protocol in ("SSL", "SASL_SSL"):
        context = config.ssl_context or create_ssl_context(
            cafile=config.ssl_cafile,
            certfile=config.ssl_certfile,
            keyfile=config.ssl_keyfile,
            password=config.ssl_password,
            check_hostname=config.ssl_check_hostname,
        )
    sasl: SaslSettings | None = None
    if protocol.startswith("SASL_"):
        provider: TokenProvider | None = config.sasl_oauth_token_provider
        if provider is None and config.sasl_oauthbearer_token_endpoint_url is not None:
            from producer.sasl.oidc import OidcTokenProvider

            # one provider per producer: its cached token serves every connection
            provider = OidcTokenProvider(
                config.sasl_oauthbearer_token_endpoint_url,
                config.sasl_oauthbearer_client_id,
                config.sasl_oauthbearer_client_secret,
                config.sasl_oauthbearer_scope,
            )
        sasl = SaslSettings(
            mechanism=config.sasl_mechanism,
            username=config.sasl_plain_username,
            password=config.sasl_plain_password,
            token_provider=provider,
        )
    return NetworkSecurity(protocol=protocol, ssl_context=context, sasl=sasl)
