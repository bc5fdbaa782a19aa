"""regcast's producer over TLS through socat in front of Tansu; confluent-kafka reads back."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from producer import Producer
from producer.errors import ProducerError, SslError
from tests.support.consume import consume_all
from tests.support.tls import Certificates, TlsKafka, make_certificates


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certificates:
    return make_certificates(Path(tmp_path_factory.mktemp("tls")))


@pytest.fixture(scope="module")
def tls_kafka(certs: Certificates) -> Iterator[TlsKafka]:
    with TlsKafka(certs) as kafka:
        yield kafka


def test_regcast_produces_over_tls(tls_kafka: TlsKafka, certs: Certificates) -> None:
    topic = f"tls-{time.monotonic_ns()}"
    producer = Producer(
        bootstrap_servers=tls_kafka.bootstrap,
        security_protocol="SSL",
        ssl_cafile=str(certs.ca),
        acks="all",
        enable_idempotence=True,
    )
    try:
        futures = [producer.send(topic, value=b"v%d" % i) for i in range(2000)]
        producer.flush()
        for future in futures:
            future.result(timeout=10)
    finally:
        producer.close()
    records = consume_all(
        tls_kafka.bootstrap, topic, expected=2000, config=tls_kafka.client_config()
    )
    assert [r.value for r in records] == [b"v%d" % i for i in range(2000)]


def test_unknown_ca_fails_fast(tls_kafka: TlsKafka, certs: Certificates) -> None:
    producer = Producer(
        bootstrap_servers=tls_kafka.bootstrap,
        security_protocol="SSL",
        ssl_cafile=str(certs.other_ca),
        max_block_ms=5000,
        delivery_timeout_ms=5000,
        request_timeout_ms=3000,
    )
    started = time.monotonic()
    try:
        with pytest.raises(ProducerError) as info:
            producer.send("tls-bad-ca", value=b"x").result(timeout=10)
    finally:
        producer.close()
    assert time.monotonic() - started < 6
    print(type(info.value), info.value)
    assert isinstance(info.value, SslError) or isinstance(info.value.__cause__, SslError)


def _fail_fast(**settings: object) -> ProducerError:
    producer = Producer(
        max_block_ms=5000, delivery_timeout_ms=5000, request_timeout_ms=3000, **settings
    )
    started = time.monotonic()
    try:
        with pytest.raises(ProducerError) as info:
            producer.send("tls-bad", value=b"x").result(timeout=10)
    finally:
        producer.close()
    assert time.monotonic() - started < 6
    print(type(info.value).__name__, info.value)
    return info.value


def test_tls_client_to_plaintext_port(tls_kafka: TlsKafka, certs: Certificates) -> None:
    error = _fail_fast(
        bootstrap_servers=tls_kafka.plaintext_bootstrap,
        security_protocol="SSL",
        ssl_cafile=str(certs.ca),
        socket_connection_setup_timeout_ms=1500,
    )
    assert "plaintext" in str(error)


def test_plaintext_client_to_tls_port(tls_kafka: TlsKafka) -> None:
    error = _fail_fast(bootstrap_servers=tls_kafka.bootstrap)
    assert "TLS" in str(error)


def test_mutual_tls(certs: Certificates) -> None:
    with TlsKafka(certs, require_client_cert=True) as kafka:
        error = _fail_fast(
            bootstrap_servers=kafka.bootstrap, security_protocol="SSL", ssl_cafile=str(certs.ca)
        )
        assert "certificate" in str(error)
        producer = Producer(
            bootstrap_servers=kafka.bootstrap,
            security_protocol="SSL",
            ssl_cafile=str(certs.ca),
            ssl_certfile=str(certs.client_cert),
            ssl_keyfile=str(certs.client_key),
        )
        try:
            producer.send("tls-mtls", value=b"m").result(timeout=10)
        finally:
            producer.close()


@pytest.mark.parametrize(
    ("cert_name", "words"), [("expired_cert", "expired"), ("wrong_host_cert", "127.0.0.1")]
)
def test_bad_server_certificate(certs: Certificates, cert_name: str, words: str) -> None:
    with TlsKafka(certs, cert=getattr(certs, cert_name)) as kafka:
        error = _fail_fast(
            bootstrap_servers=kafka.bootstrap, security_protocol="SSL", ssl_cafile=str(certs.ca)
        )
    assert isinstance(error, SslError)
    assert words in str(error)
