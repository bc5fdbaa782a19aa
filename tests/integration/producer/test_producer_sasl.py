"""The producer over SASL: PLAIN, SCRAM-SHA-256/512 and OAUTHBEARER, end to end.

No broker here authenticates with SASL in a usable way, so the peer is the tests' own
gateway (tests/support/sasl_gateway.py) in front of a real Tansu. The gateway is proven
first, in this module, against librdkafka (confluent-kafka): each mechanism produces and
reads back, a wrong password is refused. Only then is regcast tested through it, with
confluent-kafka's consumer (check.crcs) as the judge of what arrived.

Tansu's own SASL code is used for the one thing it can do: started with
``--authentication`` it runs a SCRAM exchange for a user it cannot have, and regcast must
call that an authentication failure whatever the error code says.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Producer as LibrdkafkaProducer

from producer import Producer
from producer.errors import AuthenticationError, AuthenticationFailedError
from regcast.local_broker import LocalBroker, free_port
from tests.support.consume import consume_all
from tests.support.sasl_gateway import SaslGateway, SaslKafka
from tests.support.tls import TlsTerminator, make_certificates
from tests.support.token_endpoint import TokenEndpoint

pytestmark = pytest.mark.timeout(90)

USER, PASSWORD = "alice", "correct-horse-battery-staple"
CLIENT_ID, CLIENT_SECRET = "regcast-service", "oidc-client-secret-value"
SCRAM = ["SCRAM-SHA-256", "SCRAM-SHA-512"]


def new_topic() -> str:
    return f"sasl-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def token_endpoint() -> Iterator[TokenEndpoint]:
    endpoint = TokenEndpoint(clients={CLIENT_ID: CLIENT_SECRET}).start()
    try:
        yield endpoint
    finally:
        endpoint.close()


def _gateway(token_endpoint: TokenEndpoint, **options: Any) -> SaslKafka:
    return SaslKafka(
        gateway_options={
            "users": {USER: PASSWORD},
            "jwt_public_key": token_endpoint.public_key,
            **options,
        }
    )


def librdkafka_sasl(mechanism: str, token_endpoint: TokenEndpoint) -> dict[str, Any]:
    """confluent-kafka's settings for ``mechanism`` (OIDC client credentials for tokens)."""
    config: dict[str, Any] = {
        "security.protocol": "SASL_PLAINTEXT",
        "sasl.mechanism": mechanism,
        "log_level": 0,
    }
    if mechanism == "OAUTHBEARER":
        config |= {
            "sasl.oauthbearer.method": "oidc",
            "sasl.oauthbearer.token.endpoint.url": token_endpoint.url,
            "sasl.oauthbearer.client.id": CLIENT_ID,
            "sasl.oauthbearer.client.secret": CLIENT_SECRET,
        }
    else:
        config |= {"sasl.username": USER, "sasl.password": PASSWORD}
    return config


def regcast_sasl(mechanism: str, token_endpoint: TokenEndpoint) -> dict[str, Any]:
    settings: dict[str, Any] = {"security_protocol": "SASL_PLAINTEXT", "sasl_mechanism": mechanism}
    if mechanism == "OAUTHBEARER":
        settings |= {
            "sasl_oauthbearer_token_endpoint_url": token_endpoint.url,
            "sasl_oauthbearer_client_id": CLIENT_ID,
            "sasl_oauthbearer_client_secret": CLIENT_SECRET,
        }
    else:
        settings |= {"sasl_plain_username": USER, "sasl_plain_password": PASSWORD}
    return settings


def fast_failure() -> dict[str, Any]:
    return {"max_block_ms": 5_000, "request_timeout_ms": 3_000, "delivery_timeout_ms": 5_000}


def send_all_and_close(producer: Producer, topic: str, total: int) -> None:
    """Send ``v-0`` .. ``v-{total-1}``, each delivered, then close the producer."""
    try:
        futures = [producer.send(topic, value=f"v-{i}".encode()) for i in range(total)]
        producer.flush(timeout=30)
        assert all(f.exception(timeout=0) is None for f in futures)
    finally:
        producer.close(timeout=10)


def in_order_per_partition(records: list[Any], total: int) -> None:
    by_partition: dict[int, list[int]] = defaultdict(list)
    for record in sorted(records, key=lambda r: (r.partition, r.offset)):
        by_partition[record.partition].append(int(record.value.split(b"-")[1]))
    seen = sorted(i for order in by_partition.values() for i in order)
    assert seen == list(range(total)), "records lost or written twice"
    for partition, order in by_partition.items():
        assert order == sorted(order), f"partition {partition} out of order"


# ------------------------------------------------------------- the gateway, proven first


@pytest.mark.parametrize("mechanism", ["PLAIN", *SCRAM, "OAUTHBEARER"])
def test_the_gateway_authenticates_librdkafka(
    mechanism: str, token_endpoint: TokenEndpoint
) -> None:
    topic = new_topic()
    with _gateway(token_endpoint) as kafka:
        config = librdkafka_sasl(mechanism, token_endpoint)
        producer = LibrdkafkaProducer({"bootstrap.servers": kafka.bootstrap, **config})
        for i in range(50):
            producer.produce(topic, value=f"v-{i}".encode())
        assert producer.flush(20) == 0
        records = consume_all(kafka.bootstrap, topic, expected=50, config=config)
        in_order_per_partition(records, 50)
        assert kafka.gateway is not None and kafka.gateway.authentications >= 2


@pytest.mark.parametrize("mechanism", ["PLAIN", *SCRAM])
def test_the_gateway_refuses_librdkafka_with_a_wrong_password(
    mechanism: str, token_endpoint: TokenEndpoint
) -> None:
    errors: list[Any] = []
    with _gateway(token_endpoint) as kafka:
        config = librdkafka_sasl(mechanism, token_endpoint) | {
            "sasl.password": "wrong",
            "error_cb": errors.append,
            "message.timeout.ms": 3000,
        }
        producer = LibrdkafkaProducer({"bootstrap.servers": kafka.bootstrap, **config})
        producer.produce(new_topic(), value=b"x")
        deadline = time.monotonic() + 5
        while not errors and time.monotonic() < deadline:  # the refusal, not the timeout
            producer.poll(0.05)
        producer.purge()
        assert kafka.gateway is not None and kafka.gateway.authentications == 0
    assert any("Authentication failed" in str(e) or "SASL" in str(e) for e in errors), errors


# ------------------------------------------------------------- regcast through it


@pytest.mark.parametrize("mechanism", ["PLAIN", *SCRAM, "OAUTHBEARER"])
def test_regcast_produces_over_sasl(mechanism: str, token_endpoint: TokenEndpoint) -> None:
    topic, total = new_topic(), 3_000
    with _gateway(token_endpoint) as kafka:
        producer = Producer(
            bootstrap_servers=kafka.bootstrap,
            acks="all",
            compression_type="lz4",
            **regcast_sasl(mechanism, token_endpoint),
        )
        send_all_and_close(producer, topic, total)
        records = consume_all(
            kafka.bootstrap,
            topic,
            expected=total,
            config=librdkafka_sasl(mechanism, token_endpoint),
        )
        in_order_per_partition(records, total)
        assert kafka.gateway is not None
        assert all(not c.failures for c in kafka.gateway.connections)
    if mechanism == "OAUTHBEARER":
        assert token_endpoint.issued, "the built-in OIDC provider fetched no token"


def test_regcast_oauthbearer_with_a_token_provider(token_endpoint: TokenEndpoint) -> None:
    topic = new_topic()
    calls: list[int] = []

    def provider() -> tuple[str, int]:
        calls.append(1)
        return token_endpoint.issue("app", lifetime_s=600), int(time.time() * 1000) + 600_000

    with _gateway(token_endpoint) as kafka:
        producer = Producer(
            bootstrap_servers=kafka.bootstrap,
            security_protocol="SASL_PLAINTEXT",
            sasl_mechanism="OAUTHBEARER",
            sasl_oauth_token_provider=provider,
        )
        try:
            producer.send(topic, value=b"v-0").result(timeout=20)
        finally:
            producer.close(timeout=10)
        assert calls
        assert kafka.gateway is not None
        assert any("app" in c.principals for c in kafka.gateway.connections)


@pytest.mark.parametrize("mechanism", ["PLAIN", *SCRAM])
def test_a_wrong_password_is_fatal_fast_and_says_so(
    mechanism: str, token_endpoint: TokenEndpoint, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    wrong = "not-the-password-42"
    with _gateway(token_endpoint) as kafka:
        settings = regcast_sasl(mechanism, token_endpoint) | {"sasl_plain_password": wrong}
        producer = Producer(bootstrap_servers=kafka.bootstrap, **settings, **fast_failure())
        started = time.monotonic()
        try:
            with pytest.raises(AuthenticationFailedError) as first:
                producer.send(new_topic(), value=b"x").result(timeout=10)
            assert time.monotonic() - started < 3, "authentication failure not reported fast"
            with pytest.raises(AuthenticationError) as later:
                producer.send(new_topic(), value=b"y").result(timeout=10)
        finally:
            producer.close(timeout=5)
        assert kafka.gateway is not None and kafka.gateway.authentications == 0
        assert len(kafka.gateway.connections) <= 2, "the producer kept reconnecting"
    message = str(first.value)
    assert f"SASL {mechanism} authentication with node" in message
    assert "Invalid username or password" in message or "invalid credentials" in message
    for text in (message, str(later.value), repr(producer), repr(producer.config), caplog.text):
        assert wrong not in text
        assert PASSWORD not in text
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and "cannot continue" in errors[0], errors  # said once


def test_a_mechanism_the_broker_does_not_enable_names_the_enabled_ones(
    token_endpoint: TokenEndpoint,
) -> None:
    with _gateway(token_endpoint, mechanisms=("PLAIN", "SCRAM-SHA-256")) as kafka:
        producer = Producer(
            bootstrap_servers=kafka.bootstrap,
            **regcast_sasl("SCRAM-SHA-512", token_endpoint),
            **fast_failure(),
        )
        try:
            with pytest.raises(AuthenticationError) as failure:
                producer.send(new_topic(), value=b"x").result(timeout=10)
        finally:
            producer.close(timeout=5)
    assert "SCRAM-SHA-512 is not enabled on the broker, which enables: PLAIN, SCRAM-SHA-256" in str(
        failure.value
    )


def test_a_scram_server_that_cannot_prove_the_password_is_refused(
    token_endpoint: TokenEndpoint,
) -> None:
    with _gateway(token_endpoint) as kafka:
        assert kafka.gateway is not None
        kafka.gateway.forge_scram_server_signature = True
        producer = Producer(
            bootstrap_servers=kafka.bootstrap,
            **regcast_sasl("SCRAM-SHA-256", token_endpoint),
            **fast_failure(),
        )
        try:
            with pytest.raises(AuthenticationFailedError, match="signature"):
                producer.send(new_topic(), value=b"x").result(timeout=10)
        finally:
            producer.close(timeout=5)


def test_an_expired_oidc_client_secret_is_fatal(token_endpoint: TokenEndpoint) -> None:
    with _gateway(token_endpoint) as kafka:
        settings = regcast_sasl("OAUTHBEARER", token_endpoint) | {
            "sasl_oauthbearer_client_secret": "revoked-secret-value"
        }
        producer = Producer(bootstrap_servers=kafka.bootstrap, **settings, **fast_failure())
        try:
            with pytest.raises(AuthenticationError) as failure:
                producer.send(new_topic(), value=b"x").result(timeout=10)
        finally:
            producer.close(timeout=5)
    assert "revoked-secret-value" not in str(failure.value)
    assert token_endpoint.refused >= 1


@pytest.mark.parametrize("mechanism", ["SCRAM-SHA-256", "OAUTHBEARER"])
def test_reauthentication_under_a_full_stream_keeps_it_whole(mechanism: str) -> None:
    """KIP-368 under load: 1 s sessions, a ~4 s stream sent as fast as the 5-deep in-flight
    window allows against a broker that takes 3 ms to answer. Each connection
    re-authenticates several times with requests in flight (the gateway counts them when
    the SaslHandshake arrives, and answers it only after they are answered, as a broker
    does), no session expires in use, and every record arrives once and in order. With
    OAUTHBEARER the tokens live 2 s, so the OIDC provider must fetch new ones between
    re-authentications (the gateway refuses an expired JWT)."""
    _stream_through_reauthentications(mechanism, stream_s=4.0, session_ms=1_000, token_s=2)


@pytest.mark.soak
@pytest.mark.timeout(300)
@pytest.mark.parametrize("mechanism", ["SCRAM-SHA-512", "OAUTHBEARER"])
def test_reauthentication_over_a_long_run_keeps_it_whole(mechanism: str) -> None:
    """The same for a minute (``make soak``): about 30 re-authentications per connection,
    10 token refreshes, some 200,000 records."""
    _stream_through_reauthentications(mechanism, stream_s=60.0, session_ms=2_000, token_s=6)


def _stream_through_reauthentications(
    mechanism: str, *, stream_s: float, session_ms: int, token_s: int
) -> None:
    topic = new_topic()
    endpoint = TokenEndpoint(clients={CLIENT_ID: CLIENT_SECRET}, lifetime_s=token_s)
    with (
        endpoint as token_endpoint,
        _gateway(token_endpoint, session_lifetime_ms=session_ms, answer_delay_s=0.003) as kafka,
    ):
        producer = Producer(
            bootstrap_servers=kafka.bootstrap,
            acks="all",
            enable_idempotence=True,
            linger_ms=2,
            batch_size=4_096,  # about 4 records a request: many requests, few records
            buffer_memory=256 * 1024,  # send() waits for the window: no run-away backlog
            **regcast_sasl(mechanism, token_endpoint),
        )
        try:
            futures = []
            deadline = time.monotonic() + stream_s
            while time.monotonic() < deadline:
                value = f"v-{len(futures)}-".encode().ljust(1_000, b".")
                futures.append(producer.send(topic, value=value))
            producer.flush(timeout=30)
            failures = [f.exception(timeout=0) for f in futures if f.exception(timeout=0)]
            assert not failures, failures[:3]
        finally:
            producer.close(timeout=10)
        gateway = kafka.gateway
        assert gateway is not None
        assert not any(c.expired for c in gateway.connections), "a session expired in use"
        assert not gateway.oauth_rejections, gateway.oauth_rejections
        expected_authentications = int(stream_s * 1000 / session_ms) - 1
        assert max(c.authentications for c in gateway.connections) >= expected_authentications, [
            c.authentications for c in gateway.connections
        ]
        in_flight = [n for c in gateway.connections for n in c.in_flight_at_reauthentication]
        assert max(in_flight) >= 1, f"no re-authentication with requests in flight: {in_flight}"
        if mechanism == "OAUTHBEARER":
            assert len(token_endpoint.issued) >= stream_s / token_s, "tokens not refreshed"
        records = consume_all(
            kafka.bootstrap,
            topic,
            expected=len(futures),
            config=librdkafka_sasl(mechanism, token_endpoint),
        )
    in_order_per_partition(records, len(futures))


# ------------------------------------------------------------- Tansu's own SASL code


def test_tansu_scram_for_an_unknown_user_is_an_authentication_failure() -> None:
    with LocalBroker(authentication=True) as broker:
        producer = Producer(
            bootstrap_servers=broker.bootstrap_servers,
            security_protocol="SASL_PLAINTEXT",
            sasl_mechanism="SCRAM-SHA-256",
            sasl_plain_username="nobody",
            sasl_plain_password="tansu-cannot-know-this",
            **fast_failure(),
        )
        try:
            with pytest.raises(AuthenticationFailedError) as failure:
                producer.send(new_topic(), value=b"x").result(timeout=10)
        finally:
            producer.close(timeout=5)
    assert "tansu-cannot-know-this" not in str(failure.value)
    assert "SCRAM-SHA-256" in str(failure.value)


# ------------------------------------------------------------- SASL_SSL


def test_sasl_ssl_through_socat_in_front_of_the_gateway(
    tmp_path: Path, token_endpoint: TokenEndpoint
) -> None:
    """client --TLS--> socat --> gateway (SCRAM) --> Tansu, Tansu advertising socat."""
    certs = make_certificates(tmp_path)
    tls_port, gateway_port = free_port(), free_port()
    topic, total = new_topic(), 1_000
    with (
        LocalBroker(advertised_port=tls_port) as broker,
        SaslGateway((broker.host, broker.port), port=gateway_port, users={USER: PASSWORD}),
        TlsTerminator(gateway_port, certs, port=tls_port) as terminator,
    ):
        tls = {"security_protocol": "SASL_SSL", "ssl_cafile": str(certs.ca)}
        producer = Producer(
            bootstrap_servers=terminator.bootstrap,
            acks="all",
            **(regcast_sasl("SCRAM-SHA-512", token_endpoint) | tls),
        )
        send_all_and_close(producer, topic, total)
        librdkafka = librdkafka_sasl("SCRAM-SHA-512", token_endpoint) | {
            "security.protocol": "SASL_SSL",
            "ssl.ca.location": str(certs.ca),
        }
        records = consume_all(terminator.bootstrap, topic, expected=total, config=librdkafka)
    in_order_per_partition(records, total)
