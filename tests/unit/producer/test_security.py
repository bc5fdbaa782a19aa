"""Security settings: contradictions are ConfigErrors naming the setting, never the secret."""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import Any

import pytest

from producer.config import ProducerConfig
from producer.errors import ConfigError
from producer.security import create_ssl_context, network_security

SECRET = "hunter2-do-not-print"


def _config(**settings: Any) -> ProducerConfig:
    return ProducerConfig.from_settings({"bootstrap_servers": "127.0.0.1:9092", **settings})


def _scram(**extra: Any) -> dict[str, Any]:
    return {
        "security_protocol": "SASL_SSL",
        "sasl_mechanism": "SCRAM-SHA-256",
        "sasl_plain_username": "alice",
        "sasl_plain_password": SECRET,
        **extra,
    }


def test_default_is_plaintext_without_tls_or_sasl() -> None:
    config = _config()
    assert config.security_protocol == "PLAINTEXT"
    security = network_security(config)
    assert security.ssl_context is None
    assert security.sasl is None


def test_protocol_and_mechanism_are_case_insensitive() -> None:
    config = _config(**_scram(security_protocol="sasl_ssl", sasl_mechanism="scram-sha-256"))
    assert config.security_protocol == "SASL_SSL"
    assert config.sasl_mechanism == "SCRAM-SHA-256"


@pytest.mark.parametrize(
    ("settings", "named"),
    [
        ({"security_protocol": "TLS"}, "security_protocol must be one of PLAINTEXT, SSL"),
        ({"ssl_cafile": "ca.pem"}, "ssl_cafile is set but security_protocol is PLAINTEXT"),
        (
            {"security_protocol": "SASL_PLAINTEXT", "ssl_certfile": "c.pem"},
            "ssl_certfile is set but security_protocol is SASL_PLAINTEXT",
        ),
        (
            {"security_protocol": "SSL", "sasl_mechanism": "PLAIN"},
            "sasl_mechanism is set but security_protocol is SSL",
        ),
        (
            {"sasl_plain_password": SECRET},
            "sasl_plain_password is set but security_protocol is PLAINTEXT",
        ),
        (
            {"security_protocol": "SSL", "ssl_keyfile": "k.pem"},
            "ssl_keyfile is set without ssl_certfile",
        ),
        (
            {"security_protocol": "SSL", "ssl_password": SECRET},
            "ssl_password is set without ssl_certfile",
        ),
        (
            {"security_protocol": "SSL", "ssl_context": object()},
            "ssl_context must be an ssl.SSLContext",
        ),
        (
            {
                "security_protocol": "SSL",
                "ssl_context": ssl.create_default_context(),
                "ssl_cafile": "ca.pem",
            },
            "ssl_context and ssl_cafile are both set",
        ),
        (
            {"security_protocol": "SSL", "ssl_check_hostname": "yes"},
            "ssl_check_hostname must be a bool",
        ),
        ({"security_protocol": "SASL_SSL"}, "security_protocol SASL_SSL needs sasl_mechanism"),
        (
            {"security_protocol": "SASL_PLAINTEXT", "sasl_mechanism": "GSSAPI"},
            "sasl_mechanism must be one of PLAIN, SCRAM-SHA-256, SCRAM-SHA-512, OAUTHBEARER",
        ),
        (
            {"security_protocol": "SASL_PLAINTEXT", "sasl_mechanism": "PLAIN"},
            "sasl_mechanism PLAIN needs sasl_plain_username",
        ),
        (
            _scram(sasl_plain_password=None),
            "sasl_mechanism SCRAM-SHA-256 needs sasl_plain_password",
        ),
        (
            _scram(sasl_oauthbearer_client_id="me"),
            "sasl_oauthbearer_client_id is for OAUTHBEARER, not sasl_mechanism SCRAM-SHA-256",
        ),
        (
            {"security_protocol": "SASL_SSL", "sasl_mechanism": "OAUTHBEARER"},
            "OAUTHBEARER needs sasl_oauth_token_provider, or the OIDC client-credentials "
            "settings; missing: sasl_oauthbearer_token_endpoint_url, "
            "sasl_oauthbearer_client_id, sasl_oauthbearer_client_secret",
        ),
        (
            {
                "security_protocol": "SASL_SSL",
                "sasl_mechanism": "OAUTHBEARER",
                "sasl_oauthbearer_token_endpoint_url": "http://127.0.0.1/token",
                "sasl_oauthbearer_client_secret": SECRET,
            },
            "missing: sasl_oauthbearer_client_id",
        ),
        (
            {
                "security_protocol": "SASL_SSL",
                "sasl_mechanism": "OAUTHBEARER",
                "sasl_oauth_token_provider": lambda: ("t", 0),
                "sasl_oauthbearer_client_id": "me",
            },
            "sasl_oauth_token_provider and the OIDC settings (sasl_oauthbearer_*) are both set",
        ),
        (
            {
                "security_protocol": "SASL_SSL",
                "sasl_mechanism": "OAUTHBEARER",
                "sasl_oauth_token_provider": "token",
            },
            "sasl_oauth_token_provider must be a callable",
        ),
        (
            {
                "security_protocol": "SASL_SSL",
                "sasl_mechanism": "OAUTHBEARER",
                "sasl_oauth_token_provider": lambda: ("t", 0),
                "sasl_plain_password": SECRET,
            },
            "sasl_plain_password is for PLAIN and SCRAM, not sasl_mechanism OAUTHBEARER",
        ),
    ],
)
def test_contradictions_name_the_setting_not_the_secret(
    settings: dict[str, Any], named: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        _config(**settings)
    assert named in str(caught.value)
    assert SECRET not in str(caught.value)


def test_secrets_stay_out_of_the_repr() -> None:
    config = _config(
        **_scram(ssl_certfile="client.pem", ssl_keyfile="client.key", ssl_password=SECRET)
    )
    assert SECRET not in repr(config)
    assert "alice" in repr(config)
    oauth = _config(
        security_protocol="SASL_SSL",
        sasl_mechanism="OAUTHBEARER",
        sasl_oauthbearer_token_endpoint_url="http://127.0.0.1:1/token",
        sasl_oauthbearer_client_id="regcast",
        sasl_oauthbearer_client_secret=SECRET,
    )
    assert SECRET not in repr(oauth)


def test_oidc_settings_are_accepted() -> None:
    config = _config(
        security_protocol="SASL_PLAINTEXT",
        sasl_mechanism="OAUTHBEARER",
        sasl_oauthbearer_token_endpoint_url="http://127.0.0.1:1/token",
        sasl_oauthbearer_client_id="regcast",
        sasl_oauthbearer_client_secret=SECRET,
        sasl_oauthbearer_scope="kafka",
    )
    assert config.sasl_oauthbearer_scope == "kafka"


def test_tls_context_is_tls12_plus_and_checks_hostnames() -> None:
    security = network_security(_config(security_protocol="SSL"))
    context = security.ssl_context
    assert context is not None
    assert context.minimum_version >= ssl.TLSVersion.TLSv1_2
    assert context.check_hostname is True
    assert context.verify_mode is ssl.CERT_REQUIRED
    loose = network_security(_config(security_protocol="SSL", ssl_check_hostname=False))
    assert loose.ssl_context is not None
    assert loose.ssl_context.check_hostname is False


def test_users_context_is_used_as_given() -> None:
    mine = ssl.create_default_context()
    assert network_security(_config(security_protocol="SSL", ssl_context=mine)).ssl_context is mine


def test_unreadable_files_are_config_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"ssl_cafile '.*missing.pem' cannot be loaded"):
        create_ssl_context(
            cafile=str(tmp_path / "missing.pem"),
            certfile=None,
            keyfile=None,
            password=None,
            check_hostname=True,
        )
    junk = tmp_path / "junk.pem"
    junk.write_text("not a certificate")
    with pytest.raises(ConfigError, match="ssl_certfile") as caught:
        create_ssl_context(
            cafile=None, certfile=str(junk), keyfile=None, password=SECRET, check_hostname=True
        )
    assert SECRET not in str(caught.value)


def test_sasl_settings_keep_the_password_out_of_their_repr() -> None:
    security = network_security(_config(**_scram()))
    assert security.sasl is not None
    assert security.sasl.mechanism == "SCRAM-SHA-256"
    assert security.sasl.password == SECRET
    assert SECRET not in repr(security)
