"""The Kafka security options ``produce`` and ``demo`` share, and their one resolution.

Each option reads its flag, else its ``REGCAST_KAFKA_*`` environment variable (typer's
``envvar=``), else None; :func:`kafka_security` then fills the gaps from regcast.toml's
``[kafka]`` table and lets the producer's own checks judge the result, so the CLI and
``Producer(**settings)`` can never disagree on what a setting means. Secrets get no
default shown in ``--help`` and are never echoed: the producer's messages name settings,
not values.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

import typer

from regcast.commands._common import fail
from regcast.config import RegcastConfig
from regcast.kafka_settings import KAFKA_SETTINGS, producer_security_settings, setting

__all__ = [
    "SaslMechanismOption",
    "SaslOauthbearerClientIdOption",
    "SaslOauthbearerClientSecretOption",
    "SaslOauthbearerScopeOption",
    "SaslOauthbearerTokenEndpointUrlOption",
    "SaslPasswordOption",
    "SaslUsernameOption",
    "SecurityProtocolOption",
    "SslCafileOption",
    "SslCertfileOption",
    "SslCheckHostnameOption",
    "SslKeyfileOption",
    "SslPasswordOption",
    "kafka_security",
]


def _option(name: str, help: str) -> Any:
    spec = setting(name)
    return typer.Option(
        spec.flag,
        envvar=spec.env_var,
        help=help,
        show_default=False,
    )


SecurityProtocolOption = Annotated[
    str | None,
    _option(
        "security_protocol",
        "PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL [default: PLAINTEXT].",
    ),
]
SslCafileOption = Annotated[
    str | None,
    _option("ssl_cafile", "PEM file of the CA(s) that signed the brokers' certificates "
            "[default: the system's CAs]."),
]  # fmt: skip
SslCertfileOption = Annotated[
    str | None, _option("ssl_certfile", "Mutual TLS: this client's certificate (PEM).")
]
SslKeyfileOption = Annotated[
    str | None,
    _option("ssl_keyfile", "Mutual TLS: the certificate's private key (PEM), if not in "
            "--ssl-certfile."),
]  # fmt: skip
SslPasswordOption = Annotated[
    str | None, _option("ssl_password", "Password of the private key (secret).")
]
SslCheckHostnameOption = Annotated[
    bool | None,
    typer.Option(
        "--ssl-check-hostname/--no-ssl-check-hostname",
        envvar=setting("ssl_check_hostname").env_var,
        help="Check that the broker's certificate names the host connected to [default: check].",
        show_default=False,
    ),
]
SaslMechanismOption = Annotated[
    str | None,
    _option("sasl_mechanism", "PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 or OAUTHBEARER."),
]
SaslUsernameOption = Annotated[
    str | None, _option("sasl_username", "PLAIN and SCRAM: the user name.")
]
SaslPasswordOption = Annotated[
    str | None,
    _option("sasl_password", "PLAIN and SCRAM: the password (secret; prefer the env var)."),
]
SaslOauthbearerTokenEndpointUrlOption = Annotated[
    str | None,
    _option("sasl_oauthbearer_token_endpoint_url",
            "OAUTHBEARER via OIDC: the token endpoint (client-credentials grant)."),
]  # fmt: skip
SaslOauthbearerClientIdOption = Annotated[
    str | None, _option("sasl_oauthbearer_client_id", "OAUTHBEARER via OIDC: the client id.")
]
SaslOauthbearerClientSecretOption = Annotated[
    str | None,
    _option("sasl_oauthbearer_client_secret",
            "OAUTHBEARER via OIDC: the client secret (secret; prefer the env var)."),
]  # fmt: skip
SaslOauthbearerScopeOption = Annotated[
    str | None, _option("sasl_oauthbearer_scope", "OAUTHBEARER via OIDC: the scope to ask for.")
]


def _where(message: str) -> str:
    """Say which flag / env var backs each producer setting a message names."""
    named = [s for s in KAFKA_SETTINGS if s.producer_name in message]
    if not named:
        return message
    hints = ", ".join(f"{s.producer_name}: {s.flag} / {s.env_var}" for s in named)
    return f"{message}\n  ({hints})"


def kafka_security(config: RegcastConfig, options: Mapping[str, Any]) -> dict[str, Any]:
    """The producer's security keyword arguments; exit 2 with the producer's reason if wrong.

    ``options`` is the command's parsed options (typer's ``ctx.params``): the security ones
    are picked by their regcast.toml names (None when neither the flag nor the env var was
    set), so every command that declares the options gets them the same way. The settings
    are checked here, before any registry or broker is touched, with the producer's own
    :meth:`~producer.config.ProducerConfig.from_settings`.
    """
    from producer.config import ProducerConfig
    from producer.errors import ConfigError

    given = {spec.name: options.get(spec.name) for spec in KAFKA_SETTINGS}
    settings = producer_security_settings(given, config.kafka)
    try:  # only the security settings are judged here: any address will do
        ProducerConfig.from_settings({"bootstrap_servers": "127.0.0.1:9092", **settings})
    except ConfigError as exc:
        fail(f"bad Kafka security setting: {_where(str(exc))}")
    return settings
