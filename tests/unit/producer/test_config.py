"""ProducerConfig: Kafka's defaults, and errors that name the setting."""

from __future__ import annotations

from typing import Any

import pytest

from producer.config import ProducerConfig
from producer.errors import ConfigError
from producer.records import CompressionType


def _config(**settings: Any) -> ProducerConfig:
    return ProducerConfig.from_settings({"bootstrap_servers": "127.0.0.1:9092", **settings})


def test_defaults_are_kafkas() -> None:
    config = _config()
    assert config.acks == -1
    assert config.enable_idempotence is True
    assert config.batch_size == 16_384
    assert config.buffer_memory == 32 * 1024 * 1024
    assert config.delivery_timeout_ms == 120_000
    assert config.compression_type is CompressionType.NONE


@pytest.mark.parametrize(("raw", "acks"), [("all", -1), ("-1", -1), (1, 1), ("0", 0), ("ALL", -1)])
def test_acks_spellings(raw: object, acks: int) -> None:
    assert _config(acks=raw, enable_idempotence=False).acks == acks


def test_idempotence_quietly_off_when_not_asked_for_and_acks_1() -> None:
    assert _config(acks=1).enable_idempotence is False


@pytest.mark.parametrize(
    ("settings", "named"),
    [
        ({"acks": 1, "enable_idempotence": True}, "acks=1"),
        ({"retries": 0, "enable_idempotence": True}, "retries=0"),
        (
            {"max_in_flight_requests_per_connection": 6, "enable_idempotence": True},
            "max_in_flight_requests_per_connection=6",
        ),
        ({"acks": 2}, "acks"),
        ({"linger_ms": -1}, "linger_ms"),
        ({"batch_size": 0}, "batch_size"),
        ({"linger_ms": "5"}, "linger_ms"),
        ({"compression_type": "brotli"}, "compression_type"),
        ({"partitioner": "random"}, "partitioner"),
        ({"value_serializer": 3}, "value_serializer"),
        ({"delivery_timeout_ms": 1000}, "delivery_timeout_ms"),
        ({"lingers_ms": 5}, "linger_ms"),
    ],
)
def test_bad_settings_name_the_setting(settings: dict[str, Any], named: str) -> None:
    with pytest.raises(ConfigError, match=named):
        _config(**settings)


def test_bootstrap_servers_required() -> None:
    with pytest.raises(ConfigError, match="bootstrap_servers"):
        ProducerConfig.from_settings({})


def test_compression_by_name() -> None:
    assert _config(compression_type="lz4").compression_type is CompressionType.LZ4
