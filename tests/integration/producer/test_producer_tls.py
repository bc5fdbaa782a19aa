"""regcast's producer over TLS through socat in front of Tansu; confluent-kafka reads back."""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import pytest
from confluent_kafka import Producer as LibrdkafkaProducer

from producer import Producer
from producer.errors import ProducerError, SslError
from regcast.local_broker import LocalBroker, free_port
from tests.integration.producer.test_producer_tansu import value_for
from tests.support.consume import ConsumedRecord, consume_all
from tests.support.fault_proxy import FaultProxy
from tests.support.record_stream import RecordStream
from tests.support.tls import (
    KEY_PASSWORD,
    Certificates,
    TlsKafka,
    TlsTerminator,
    librdkafka_tls_config,
    make_certificates,
)


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certificates:
    return make_certificates(Path(tmp_path_factory.mktemp("tls")))


@pytest.fixture(scope="module")
def tls_kafka(certs: Certificates) -> Iterator[TlsKafka]:
    with TlsKafka(certs) as kafka:
        yield kafka


def test_regcast_produces_over_tls(tls_kafka: TlsKafka, certs: Certificates) -> None:
    topic, total = f"tls-{time.monotonic_ns()}", 5_000
    producer = Producer(
        bootstrap_servers=tls_kafka.bootstrap,
        security_protocol="SSL",
        ssl_cafile=str(certs.ca),
        acks="all",
        enable_idempotence=True,
        compression_type="lz4",
    )
    try:
        futures = [producer.send(topic, value=value_for(i, 300)) for i in range(total)]
        producer.flush()
        for future in futures:
            future.result(timeout=10)
    finally:
        producer.close()
    records = consume_all(
        tls_kafka.bootstrap, topic, expected=total, config=tls_kafka.client_config()
    )
    _exactly_once_in_order(records, total)
    assert {r.value for r in records} == {value_for(i, 300) for i in range(total)}


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
    assert isinstance(info.value, SslError) or isinstance(info.value.__cause__, SslError)


def _fail_fast(**settings: object) -> ProducerError:
    settings = {"max_block_ms": 5000, "delivery_timeout_ms": 5000, **settings}
    producer = Producer(request_timeout_ms=3000, **settings)
    started = time.monotonic()
    try:
        with pytest.raises(ProducerError) as info:
            producer.send("tls-bad", value=b"x").result(timeout=10)
    finally:
        producer.close()
    assert time.monotonic() - started < 6
    return info.value


def test_tls_client_to_plaintext_port(tls_kafka: TlsKafka, certs: Certificates) -> None:
    error = _fail_fast(
        bootstrap_servers=tls_kafka.plaintext_bootstrap,
        security_protocol="SSL",
        ssl_cafile=str(certs.ca),
        socket_connection_setup_timeout_ms=1000,
        max_block_ms=2500,  # the hint is in the metadata timeout's "last connection error"
    )
    assert "plaintext" in str(error)


def test_plaintext_client_to_tls_port(tls_kafka: TlsKafka) -> None:
    error = _fail_fast(bootstrap_servers=tls_kafka.bootstrap, max_block_ms=2500)
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


# ------------------------------------------------------------------ the terminator, proven


def test_the_terminator_serves_librdkafka(tls_kafka: TlsKafka, certs: Certificates) -> None:
    """socat + OpenSSL is a real TLS peer: librdkafka produces through it, and without the
    client certificate a mutual-TLS terminator refuses librdkafka too."""
    topic = f"tls-librdkafka-{time.monotonic_ns()}"
    producer = LibrdkafkaProducer(
        {"bootstrap.servers": tls_kafka.bootstrap, "log_level": 0, **tls_kafka.client_config()}
    )
    for i in range(100):
        producer.produce(topic, value=b"r%d" % i)
    assert producer.flush(20) == 0
    records = consume_all(
        tls_kafka.bootstrap, topic, expected=100, config=tls_kafka.client_config()
    )
    assert sorted(r.value for r in records) == sorted(b"r%d" % i for i in range(100))

    outcomes: list[object] = []
    with TlsKafka(certs, require_client_cert=True) as kafka:
        refused = LibrdkafkaProducer(
            {
                "bootstrap.servers": kafka.bootstrap,
                "log_level": 0,
                "message.timeout.ms": 3000,
                **kafka.client_config(),
            }
        )
        refused.produce(topic, value=b"x", on_delivery=lambda err, _msg: outcomes.append(err))
        refused.flush(6)
    assert len(outcomes) == 1 and outcomes[0] is not None, "delivered without a client cert"


def test_encrypted_client_key_and_a_users_ssl_context(certs: Certificates) -> None:
    import ssl

    with TlsKafka(certs, require_client_cert=True) as kafka:
        with_password = Producer(
            bootstrap_servers=kafka.bootstrap,
            security_protocol="SSL",
            ssl_cafile=str(certs.ca),
            ssl_certfile=str(certs.client_cert),
            ssl_keyfile=str(certs.client_key_encrypted),
            ssl_password=KEY_PASSWORD,
            compression_type="zstd",
        )
        context = ssl.create_default_context(cafile=str(certs.ca))
        context.load_cert_chain(str(certs.client_cert), str(certs.client_key))
        with_context = Producer(
            bootstrap_servers=kafka.bootstrap, security_protocol="SSL", ssl_context=context
        )
        topic = f"tls-mtls-{time.monotonic_ns()}"
        try:
            with_password.send(topic, value=b"from-password", partition=0).result(timeout=10)
            with_context.send(topic, value=b"from-context", partition=0).result(timeout=10)
        finally:
            with_password.close()
            with_context.close()
        assert KEY_PASSWORD not in repr(with_password) + repr(with_password.config)
        records = consume_all(
            kafka.bootstrap, topic, expected=2, config=kafka.client_config(client_cert=True)
        )
    assert [r.value for r in records] == [b"from-password", b"from-context"]


# ------------------------------------------------------------------ faults with TLS on


@pytest.fixture
def tls_behind_proxy(certs: Certificates) -> Iterator[tuple[FaultProxy, str]]:
    """client -> fault proxy -> socat (TLS) -> Tansu, Tansu advertising the proxy: every
    connection's ciphertext crosses the proxy, so it can stall or cut a handshake."""
    tls_port = free_port()
    with FaultProxy([("127.0.0.1", tls_port)], rewrite_metadata=False, raw=True) as proxy:
        port = proxy.address(0)[1]
        with (
            LocalBroker(advertised_port=port) as broker,
            TlsTerminator(broker.port, certs, port=tls_port),
        ):
            yield proxy, f"127.0.0.1:{port}"


def _tls_producer(bootstrap: str, certs: Certificates) -> Producer:
    return Producer(
        bootstrap_servers=bootstrap,
        security_protocol="SSL",
        ssl_cafile=str(certs.ca),
        acks="all",
        enable_idempotence=True,
        linger_ms=5,
        request_timeout_ms=1_000,
        delivery_timeout_ms=25_000,
        socket_connection_setup_timeout_ms=1_000,
        max_block_ms=20_000,
    )


def _exactly_once_in_order(records: list[ConsumedRecord], total: int) -> None:
    by_partition: dict[int, list[int]] = defaultdict(list)
    for r in sorted(records, key=lambda r: (r.partition, r.offset)):
        by_partition[r.partition].append(int((r.value or b"")[2:10]))
    assert sorted(i for order in by_partition.values() for i in order) == list(range(total))
    for partition, order in by_partition.items():
        assert order == sorted(order), f"partition {partition} reordered"


def test_handshakes_stalled_and_cut_then_the_stream_goes_through(
    tls_behind_proxy: tuple[FaultProxy, str], certs: Certificates
) -> None:
    proxy, bootstrap = tls_behind_proxy
    topic, total = f"tls-faults-{time.monotonic_ns()}", 2_000
    proxy.stall()  # the ClientHello goes nowhere: the handshake hangs
    producer = _tls_producer(bootstrap, certs)
    stream = RecordStream(producer, topic, total, [b"k0", b"k1"], value_for, pause_every=200)
    try:
        stream.start()
        time.sleep(1.5)  # past socket_connection_setup_timeout_ms: one attempt gave up
        proxy.cut()  # and the next one is cut mid-handshake
        time.sleep(0.2)
        proxy.resume()
        stream.join(timeout_s=30)
        producer.flush(timeout=30)
        failures = [f.exception(timeout=10) for f in stream.futures]
    finally:
        producer.close(timeout=10)
    assert not any(failures), [e for e in failures if e][:3]
    assert proxy.accepted_count() >= 2, "the handshake was never retried"
    assert not proxy.errors, proxy.errors
    records = consume_all(bootstrap, topic, expected=total, config=librdkafka_tls_config(certs))
    _exactly_once_in_order(records, total)


def test_connections_cut_and_stalled_mid_stream_lose_and_double_nothing(
    tls_behind_proxy: tuple[FaultProxy, str], certs: Certificates
) -> None:
    proxy, bootstrap = tls_behind_proxy
    topic, total = f"tls-faults-{time.monotonic_ns()}", 10_000
    producer = _tls_producer(bootstrap, certs)
    stream = RecordStream(producer, topic, total, [b"k0", b"k1", b"k2"], value_for, 200)
    try:
        stream.start()
        deadline = time.monotonic() + 15
        while sum(1 for f in stream.futures[:2000] if f.done()) < 500:
            assert time.monotonic() < deadline, "nothing delivered before the faults"
            time.sleep(0.02)
        proxy.cut()  # TLS sessions dropped with requests in flight
        time.sleep(0.3)
        proxy.stall()  # answers held back past request_timeout_ms
        time.sleep(1.5)
        proxy.resume()
        time.sleep(0.3)
        proxy.cut()
        stream.join(timeout_s=30)
        producer.flush(timeout=30)
        failures = [f.exception(timeout=10) for f in stream.futures]
    finally:
        producer.close(timeout=10)
    assert not any(failures), [e for e in failures if e][:3]
    assert proxy.accepted_count() > 2, "the faults never forced a reconnect"
    records = consume_all(bootstrap, topic, expected=total, config=librdkafka_tls_config(certs))
    _exactly_once_in_order(records, total)
