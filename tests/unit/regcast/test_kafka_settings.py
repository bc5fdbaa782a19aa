"""The CLI's Kafka security settings: regcast.toml [kafka], env vars, flags, the mapping.

The option parsing is exercised through the real ``regcast produce`` command (typer's
CliRunner), stopped right after the settings are resolved: what reaches the producer is
captured, nothing is registered or sent.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from regcast.cli import app
from regcast.commands import _kafka, produce
from regcast.config import ConfigError, load_config
from regcast.kafka_settings import (
    KAFKA_SETTINGS,
    KafkaTableError,
    parse_kafka_table,
    producer_security_settings,
)

SECRET = "pa55-w0rd-that-must-not-leak"


def _toml(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "regcast.toml"
    path.write_text(body, encoding="utf-8")
    return path


# --------------------------------------------------------------------- regcast.toml


def test_the_kafka_table_gives_non_secret_settings_with_paths_resolved(tmp_path: Path) -> None:
    config = load_config(
        _toml(
            tmp_path,
            '[kafka]\nsecurity_protocol = "SASL_SSL"\nssl_cafile = "certs/ca.pem"\n'
            'ssl_check_hostname = false\nsasl_mechanism = "SCRAM-SHA-512"\n'
            'sasl_username = "orders"\n',
        )
    )
    assert config.kafka == {
        "security_protocol": "SASL_SSL",
        "ssl_cafile": str((tmp_path / "certs/ca.pem").resolve()),
        "ssl_check_hostname": False,
        "sasl_mechanism": "SCRAM-SHA-512",
        "sasl_username": "orders",
    }


def test_no_kafka_table_means_no_settings(tmp_path: Path) -> None:
    assert load_config(_toml(tmp_path, '[registry]\nurl = "http://x:1"\n')).kafka == {}


@pytest.mark.parametrize(
    ("key", "env_var", "flag"),
    [
        ("ssl_password", "REGCAST_KAFKA_SSL_PASSWORD", "--ssl-password"),
        ("sasl_password", "REGCAST_KAFKA_SASL_PASSWORD", "--sasl-password"),
        (
            "sasl_oauthbearer_client_secret",
            "REGCAST_KAFKA_SASL_OAUTHBEARER_CLIENT_SECRET",
            "--sasl-oauthbearer-client-secret",
        ),
    ],
)
def test_a_secret_in_regcast_toml_is_refused_naming_the_env_var_and_flag(
    tmp_path: Path, key: str, env_var: str, flag: str
) -> None:
    path = _toml(tmp_path, f'[kafka]\nsecurity_protocol = "SASL_SSL"\n{key} = "{SECRET}"\n')
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    message = str(caught.value)
    assert f"{path} [kafka]: {key} is a secret" in message
    assert env_var in message and flag in message
    assert SECRET not in message


def test_the_producer_spelling_in_the_toml_gets_a_hint(tmp_path: Path) -> None:
    with pytest.raises(KafkaTableError, match=r"regcast\.toml spells it 'sasl_username'"):
        parse_kafka_table({"sasl_plain_username": "u"}, "[kafka]", tmp_path)
    with pytest.raises(KafkaTableError, match="unknown key 'bootstrap'"):
        parse_kafka_table({"bootstrap": "x:1"}, "[kafka]", tmp_path)


def test_wrong_types_in_the_toml_are_refused_without_echoing_the_value(tmp_path: Path) -> None:
    with pytest.raises(KafkaTableError, match="'ssl_check_hostname' must be true or false"):
        parse_kafka_table({"ssl_check_hostname": "no"}, "[kafka]", tmp_path)
    with pytest.raises(KafkaTableError, match="'sasl_mechanism' must be a non-empty string"):
        parse_kafka_table({"sasl_mechanism": ""}, "[kafka]", tmp_path)


def test_a_kafka_key_that_is_not_a_table_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"\[kafka\] must be a table"):
        load_config(_toml(tmp_path, 'kafka = "SSL"\n'))


# --------------------------------------------------------------------- merge and mapping


def test_the_mapping_onto_the_producer_settings() -> None:
    given: dict[str, Any] = {s.name: f"v-{s.name}" for s in KAFKA_SETTINGS}
    given["ssl_check_hostname"] = False
    settings = producer_security_settings(given, {})
    assert settings == {
        "security_protocol": "v-security_protocol",
        "ssl_cafile": "v-ssl_cafile",
        "ssl_certfile": "v-ssl_certfile",
        "ssl_keyfile": "v-ssl_keyfile",
        "ssl_password": "v-ssl_password",
        "ssl_check_hostname": False,
        "sasl_mechanism": "v-sasl_mechanism",
        "sasl_plain_username": "v-sasl_username",
        "sasl_plain_password": "v-sasl_password",
        "sasl_oauthbearer_token_endpoint_url": "v-sasl_oauthbearer_token_endpoint_url",
        "sasl_oauthbearer_client_id": "v-sasl_oauthbearer_client_id",
        "sasl_oauthbearer_client_secret": "v-sasl_oauthbearer_client_secret",
        "sasl_oauthbearer_scope": "v-sasl_oauthbearer_scope",
    }
    from producer.config import ProducerConfig

    fields = ProducerConfig.__dataclass_fields__
    assert all(name in fields for name in settings)


def test_given_values_beat_the_toml_and_unset_ones_fall_through() -> None:
    settings = producer_security_settings(
        {"security_protocol": "SSL", "ssl_cafile": None, "ssl_check_hostname": None},
        {"security_protocol": "SASL_SSL", "ssl_cafile": "/ca.pem", "ssl_check_hostname": False},
    )
    assert settings == {
        "security_protocol": "SSL",
        "ssl_cafile": "/ca.pem",
        "ssl_check_hostname": False,
    }
    assert producer_security_settings({}, {}) == {}


# --------------------------------------------------------------------- through the CLI


@pytest.fixture
def resolved(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """What ``regcast produce`` would hand the producer; the command stops right there."""
    captured: dict[str, Any] = {}
    real = _kafka.kafka_security

    def spy(*args: Any, **kwargs: Any) -> dict[str, Any]:
        captured.update(real(*args, **kwargs))
        raise typer.Exit(0)

    monkeypatch.setattr(produce, "kafka_security", spy)
    for spec in KAFKA_SETTINGS:
        monkeypatch.delenv(spec.env_var, raising=False)
    return captured


def _produce(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> Any:
    config = tmp_path / "regcast.toml"
    if not config.exists():
        config.write_text("", encoding="utf-8")
    return CliRunner().invoke(
        app,
        ["produce", "-t", "t", "-s", "x.avsc", "-c", str(config), *args],
        env=env,
        catch_exceptions=False,
    )


def test_an_env_var_is_picked_up(tmp_path: Path, resolved: dict[str, Any]) -> None:
    result = _produce(
        tmp_path,
        env={
            "REGCAST_KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
            "REGCAST_KAFKA_SASL_MECHANISM": "SCRAM-SHA-256",
            "REGCAST_KAFKA_SASL_USERNAME": "orders",
            "REGCAST_KAFKA_SASL_PASSWORD": SECRET,
            "REGCAST_KAFKA_SSL_CHECK_HOSTNAME": "false",
        },
    )
    assert result.exit_code == 0, result.output
    assert resolved == {
        "security_protocol": "SASL_SSL",
        "sasl_mechanism": "SCRAM-SHA-256",
        "sasl_plain_username": "orders",
        "sasl_plain_password": SECRET,
        "ssl_check_hostname": False,
    }


def test_a_flag_beats_the_env_var_which_beats_the_toml(
    tmp_path: Path, resolved: dict[str, Any]
) -> None:
    _toml(
        tmp_path,
        '[kafka]\nsecurity_protocol = "SASL_PLAINTEXT"\nsasl_mechanism = "PLAIN"\n'
        'sasl_username = "from-toml"\nssl_cafile = "ca.pem"\n',
    )
    result = _produce(
        tmp_path,
        "--security-protocol", "SASL_SSL", "--sasl-username", "from-flag",
        env={
            "REGCAST_KAFKA_SECURITY_PROTOCOL": "SSL",
            "REGCAST_KAFKA_SASL_USERNAME": "from-env",
            "REGCAST_KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
            "REGCAST_KAFKA_SASL_PASSWORD": SECRET,
        },
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert resolved == {
        "security_protocol": "SASL_SSL",  # flag over env over toml
        "sasl_plain_username": "from-flag",  # flag over env over toml
        "sasl_mechanism": "SCRAM-SHA-512",  # env over toml
        "sasl_plain_password": SECRET,  # env only
        "ssl_cafile": str((tmp_path / "ca.pem").resolve()),  # toml only
    }


def test_no_ssl_check_hostname_flag_beats_the_env(tmp_path: Path, resolved: dict[str, Any]) -> None:
    env = {"REGCAST_KAFKA_SECURITY_PROTOCOL": "SSL", "REGCAST_KAFKA_SSL_CHECK_HOSTNAME": "true"}
    assert _produce(tmp_path, "--no-ssl-check-hostname", env=env).exit_code == 0
    assert resolved == {"security_protocol": "SSL", "ssl_check_hostname": False}


def test_a_contradiction_exits_2_with_the_producers_reason_and_no_secret(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    result = _produce(
        tmp_path, "--sasl-mechanism", "PLAIN", "--sasl-password", SECRET,
        env={"REGCAST_KAFKA_SECURITY_PROTOCOL": "SSL"},
    )  # fmt: skip
    assert result.exit_code == 2
    assert "bad Kafka security setting: sasl_mechanism is set but security_protocol is SSL" in (
        result.output
    )
    assert "--sasl-mechanism / REGCAST_KAFKA_SASL_MECHANISM" in result.output
    assert SECRET not in result.output and SECRET not in caplog.text


def test_help_never_shows_a_secret_from_the_environment(tmp_path: Path) -> None:
    env = {spec.env_var: SECRET for spec in KAFKA_SETTINGS if spec.secret}
    for command in ("produce", "demo"):
        result = CliRunner().invoke(app, [command, "--help"], env=env)
        assert result.exit_code == 0
        assert "REGCAST_KAFKA_SASL_PASSWORD" in result.output
        assert SECRET not in result.output


REPO = Path(__file__).resolve().parents[3]


def _demo(*args: str) -> Any:
    return CliRunner().invoke(
        app, ["demo", "-c", str(REPO / "regcast.toml"), *args], catch_exceptions=False
    )


def test_the_demo_refuses_security_settings_for_the_plaintext_tansu_it_starts() -> None:
    result = _demo("--security-protocol", "SSL")
    assert result.exit_code == 2
    assert "the Tansu the demo starts listens in plaintext: pass --bootstrap" in result.output


def test_read_back_reports_a_tls_file_that_does_not_load(tmp_path: Path) -> None:
    from regcast.readback import ReadBackError, read_back

    missing = str(tmp_path / "no-such-ca.pem")
    security = {"security_protocol": "SSL", "ssl_cafile": missing}
    with pytest.raises(ReadBackError, match="bad security setting: ssl_cafile"):
        read_back("127.0.0.1:1", [("t", 0, 0)], timeout_s=0.1, security=security)
