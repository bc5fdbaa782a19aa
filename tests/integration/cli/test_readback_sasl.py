"""The demo's read-back logs in with SASL as the producer does (tests' gateway, proven
against librdkafka in tests/integration/producer/test_producer_sasl.py)."""

from __future__ import annotations

from typing import Any

import pytest
from confluent_kafka import Producer as CkProducer

from regcast.readback import ReadBackError, read_back
from tests.support.sasl_gateway import SaslKafka

USER, PASSWORD = "reader", "read-back-password-17"


def _scram(password: str) -> dict[str, Any]:
    return {
        "security_protocol": "SASL_PLAINTEXT",
        "sasl_mechanism": "SCRAM-SHA-256",
        "sasl_plain_username": USER,
        "sasl_plain_password": password,
    }


def test_read_back_over_sasl_scram_and_a_wrong_password() -> None:
    with SaslKafka(gateway_options={"users": {USER: PASSWORD}}) as kafka:
        producer = CkProducer(
            {
                "bootstrap.servers": kafka.bootstrap,
                "security.protocol": "SASL_PLAINTEXT",
                "sasl.mechanism": "SCRAM-SHA-256",
                "sasl.username": USER,
                "sasl.password": PASSWORD,
                "log_level": 0,
            }
        )
        written: dict[Any, bytes] = {}

        def on_delivery(error: Any, message: Any) -> None:
            assert error is None, error
            written[(message.topic(), message.partition(), message.offset())] = message.value()

        for i in range(40):
            producer.produce("readback-sasl", value=b"v-%d" % i, on_delivery=on_delivery)
        assert producer.flush(15) == 0

        found = read_back(kafka.bootstrap, sorted(written), timeout_s=15, security=_scram(PASSWORD))
        assert {position: r.value for position, r in found.items()} == written
        assert kafka.gateway is not None and kafka.gateway.authentications >= 3

        wrong = "not-the-read-back-password"
        with pytest.raises(ReadBackError, match="AuthenticationFailedError") as failure:
            read_back(kafka.bootstrap, sorted(written), timeout_s=5, security=_scram(wrong))
    assert "SASL SCRAM-SHA-256 authentication" in str(failure.value)
    assert wrong not in str(failure.value)
