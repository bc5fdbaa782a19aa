"""NetworkClient against a real Tansu broker, directly and through the fault proxy.

Every record produced here is read back by confluent-kafka's consumer (check.crcs on):
the judge is not regcast's own decoder.
"""

from __future__ import annotations

import itertools
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from producer.clock import monotonic_ms as now_ms
from producer.errors import BrokerConnectionError, DisconnectError, RequestTimeoutError
from producer.metadata import Metadata
from producer.network import ClientRequest, ClientResponse, ConnectionState, NetworkClient
from producer.protocol import SUPPORTED_VERSIONS, ApiKey
from producer.records import CompressionType, RecordBatchBuilder
from tests.conftest import KafkaBroker
from tests.support.consume import ConsumedRecord
from tests.support.fault_proxy import FaultProxy

Consume = Callable[..., list[ConsumedRecord]]


class Driver:
    """A NetworkClient plus the loop a sender would run around it (real clock)."""

    def __init__(
        self, bootstrap: str, *, metadata_max_age_ms: int = 300_000, **overrides: Any
    ) -> None:
        self.metadata = Metadata(metadata_max_age_ms=metadata_max_age_ms, refresh_backoff_ms=50)
        settings: dict[str, Any] = {
            "client_id": "regcast-it",
            "request_timeout_ms": 10_000,
            "max_in_flight_requests_per_connection": 5,
            "reconnect_backoff_ms": 20,
            "reconnect_backoff_max_ms": 400,
            "reconnect_backoff_jitter": 0.0,
        }
        settings.update(overrides)
        self.client = NetworkClient(bootstrap, metadata=self.metadata, **settings)

    def poll_until(self, condition: Callable[[], bool], timeout_s: float = 20.0) -> None:
        deadline = time.monotonic() + timeout_s
        while not condition():
            if time.monotonic() > deadline:
                raise AssertionError("condition not reached in time")
            self.client.poll(20, now_ms())

    def topic_metadata(self, topic: str, partitions: int) -> None:
        self.metadata.add_topic(topic, now_ms())

        def known() -> bool:
            cluster = self.metadata.cluster
            return len(cluster.available_partitions_for_topic(topic)) == partitions

        def refresh_until_known() -> bool:
            if not known() and not self.metadata.update_requested():
                self.metadata.request_update()
            return known()

        self.poll_until(refresh_until_known)

    def leader(self, topic: str, partition: int) -> int:
        node = self.metadata.cluster.leader_for(topic, partition)
        assert node is not None
        return node.node_id

    def send(self, request: ClientRequest) -> None:
        self.poll_until(lambda: self.client.ready(request.node_id, now_ms()))
        self.client.send(request, now_ms())

    def call(self, request: ClientRequest) -> ClientResponse:
        done: list[ClientResponse] = []
        request.callback = done.append
        self.send(request)
        self.poll_until(lambda: bool(done))
        return done[0]

    def close(self) -> None:
        self.client.close()


def record_batch(
    records: list[tuple[bytes | None, bytes | None]],
    headers: list[tuple[str, bytes | None]] | None = None,
    compression: CompressionType = CompressionType.NONE,
) -> bytes:
    timestamp_ms = int(time.time() * 1000)
    builder = RecordBatchBuilder(compression, 1 << 22, timestamp_ms)
    for key, value in records:
        assert builder.try_append(timestamp_ms, key, value, headers) >= 0
    return bytes(builder.build())


def produce_request(
    node_id: int,
    topic: str,
    partition: int,
    records: bytes,
    *,
    acks: int = -1,
    callback: Callable[[ClientResponse], None] | None = None,
) -> ClientRequest:
    def body(version: int) -> dict[str, Any]:
        return {
            "transactional_id": None,
            "acks": acks,
            "timeout_ms": 10_000,
            "topic_data": [
                {"name": topic, "partition_data": [{"index": partition, "records": records}]}
            ],
        }

    return ClientRequest(
        node_id, ApiKey.PRODUCE, body, expect_response=acks != 0, callback=callback
    )


def partition_response(response: ClientResponse) -> dict[str, Any]:
    assert response.error is None, response.error
    assert response.body is not None
    [topic] = response.body["responses"]
    [partition] = topic["partition_responses"]
    assert isinstance(partition, dict)
    return partition


@pytest.fixture
def topic() -> str:
    return f"net-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def driver(kafka_broker: KafkaBroker) -> Iterator[Driver]:
    d = Driver(kafka_broker.bootstrap)
    yield d
    d.close()


# ---------------------------------------------------------------- handshake and metadata


def test_api_versions_negotiated_with_tansu(driver: Driver) -> None:
    driver.poll_until(lambda: driver.metadata.version > 0)
    [node_id] = driver.metadata.cluster.brokers
    driver.poll_until(lambda: driver.client.ready(node_id, now_ms()))

    theirs = driver.client.api_versions(node_id)
    assert theirs is not None
    for api_key in (ApiKey.API_VERSIONS, ApiKey.METADATA, ApiKey.PRODUCE):
        assert int(api_key) in theirs
    response = driver.call(ClientRequest(node_id, ApiKey.METADATA, lambda v: {"topics": []}))
    expected = min(SUPPORTED_VERSIONS[ApiKey.METADATA][1], theirs[int(ApiKey.METADATA)][1])
    assert response.api_version == expected
    assert response.error is None
    assert response.body is not None and response.body["brokers"]


def test_metadata_lists_the_broker_and_every_leader(
    kafka_broker: KafkaBroker, driver: Driver, topic: str
) -> None:
    kafka_broker.create_topic(topic, partitions=3)
    driver.topic_metadata(topic, 3)
    cluster = driver.metadata.cluster

    [broker] = cluster.brokers.values()
    assert (broker.host, broker.port) == (kafka_broker.host, kafka_broker.port)
    partitions = cluster.partitions_for_topic(topic)
    assert [p.partition for p in partitions] == [0, 1, 2]
    assert {p.leader for p in partitions} == {broker.node_id}
    # the bootstrap connection is retired once real node ids are known
    driver.poll_until(lambda: driver.client.connection_state(-1) is ConnectionState.DISCONNECTED)


def test_metadata_refresh_on_demand_and_on_max_age(kafka_broker: KafkaBroker, topic: str) -> None:
    driver = Driver(kafka_broker.bootstrap, metadata_max_age_ms=300)
    try:
        driver.poll_until(lambda: driver.metadata.version > 0)
        # on demand: a topic created after the first refresh shows up once asked for
        kafka_broker.create_topic(topic, partitions=2)
        assert driver.metadata.cluster.partition_count(topic) is None
        driver.metadata.add_topic(topic, now_ms())
        assert driver.metadata.update_requested()
        driver.poll_until(lambda: driver.metadata.cluster.partition_count(topic) == 2)

        # on max age: nobody asks, yet the snapshot is renewed every 300 ms
        assert not driver.metadata.update_requested()
        refreshed_at: list[int] = []
        version = driver.metadata.version

        def three_more() -> bool:
            nonlocal version
            if driver.metadata.version != version:
                version = driver.metadata.version
                refreshed_at.append(now_ms())
            return len(refreshed_at) == 3

        driver.poll_until(three_more, timeout_s=10)
        gaps = [b - a for a, b in itertools.pairwise(refreshed_at)]
        assert all(gap >= 250 for gap in gaps), gaps  # 300 ms, less poll granularity
        assert driver.metadata.cluster.partition_count(topic) == 2
    finally:
        driver.close()


# ---------------------------------------------------------------- produce


def test_produce_through_the_network_client_reads_back(
    kafka_broker: KafkaBroker, driver: Driver, topic: str, consume_all: Consume
) -> None:
    kafka_broker.create_topic(topic, partitions=2)
    driver.topic_metadata(topic, 2)
    sent: dict[int, list[tuple[bytes | None, bytes | None]]] = {
        0: [(None, b"v0"), (b"", b""), (b"k2", None)],
        1: [(b"k\xff", "ünïcode".encode()), (b"k", b"x" * 100_000)],
    }
    for partition, records in sent.items():
        batch = record_batch(records, headers=[("hé", b"1"), ("n", None)])
        response = driver.call(
            produce_request(driver.leader(topic, partition), topic, partition, batch)
        )
        assert partition_response(response)["error_code"] == 0

    got = consume_all(kafka_broker.bootstrap, topic, expected=5)
    by_partition = {p: [(r.key, r.value) for r in got if r.partition == p] for p in sent}
    assert by_partition == sent
    assert all(r.headers == [("hé", b"1"), ("n", None)] for r in got)


def test_pipelined_produce_requests_to_one_node(
    kafka_broker: KafkaBroker, proxy: FaultProxy, topic: str, consume_all: Consume
) -> None:
    """Up to max_in_flight requests go out on one connection before any is answered.

    The answers are held back (the proxy stalls) while the first requests go out: on a
    loaded machine Tansu could otherwise answer each request before the next is written,
    and a count of one in flight would prove nothing either way."""
    kafka_broker.create_topic(topic, partitions=1)
    driver = Driver(proxy.bootstrap_servers)
    try:
        driver.topic_metadata(topic, 1)
        leader = driver.leader(topic, 0)
        driver.call(produce_request(leader, topic, 0, record_batch([(None, b"warm")])))
        done: list[ClientResponse] = []
        batches = [
            record_batch([(None, f"r{i}-{j}".encode()) for j in range(50)]) for i in range(20)
        ]
        proxy.stall()
        for batch in batches[:5]:
            driver.send(produce_request(leader, topic, 0, batch, callback=done.append))
        assert driver.client.in_flight_request_count(leader) == 5  # all out, none answered
        assert not driver.client.ready(leader, now_ms())  # max_in_flight_requests: 5
        proxy.resume()
        for batch in batches[5:]:
            driver.send(produce_request(leader, topic, 0, batch, callback=done.append))
            assert driver.client.in_flight_request_count(leader) <= 5
        driver.poll_until(lambda: len(done) == 20)
    finally:
        driver.close()

    offsets = [partition_response(r)["base_offset"] for r in done]
    assert offsets == sorted(offsets)  # answered in request order
    assert len(set(offsets)) == 20
    got = consume_all(kafka_broker.bootstrap, topic, expected=1001)
    assert [r.value for r in got[1:]] == [
        f"r{i}-{j}".encode() for i in range(20) for j in range(50)
    ]


def acks_zero_then_acked(driver: Driver, topic: str) -> None:
    """An acks=0 Produce completes once written; an acked one follows on the same
    connection. Tansu and librdkafka's mock answer acks=0 anyway (Kafka does not): the
    stray answer must not be taken for a correlation mismatch."""
    leader = driver.leader(topic, 0)
    fired: list[ClientResponse] = []
    driver.send(
        produce_request(
            leader, topic, 0, record_batch([(b"k", b"fire")]), acks=0, callback=fired.append
        )
    )
    driver.poll_until(lambda: bool(fired))
    assert fired[0].body is None and fired[0].error is None
    assert driver.client.in_flight_request_count() == 0  # left the deque once written

    acked = driver.call(produce_request(leader, topic, 0, record_batch([(b"k", b"acked")])))
    assert partition_response(acked)["error_code"] == 0
    assert driver.client.connection_state(leader) is ConnectionState.READY


def test_acks_zero_produce_completes_when_written(
    kafka_broker: KafkaBroker, driver: Driver, topic: str, consume_all: Consume
) -> None:
    kafka_broker.create_topic(topic, partitions=1)
    driver.topic_metadata(topic, 1)
    acks_zero_then_acked(driver, topic)
    got = consume_all(kafka_broker.bootstrap, topic, expected=2)
    assert [(r.key, r.value) for r in got] == [(b"k", b"fire"), (b"k", b"acked")]


# ---------------------------------------------------------------- failures


def test_broker_stopped_fails_in_flight_and_reconnects_back_off(
    kafka_broker: KafkaBroker, driver: Driver, topic: str
) -> None:
    kafka_broker.create_topic(topic, partitions=1)
    driver.topic_metadata(topic, 1)
    leader = driver.leader(topic, 0)
    done: list[ClientResponse] = []
    driver.send(
        produce_request(leader, topic, 0, record_batch([(None, b"lost")]), callback=done.append)
    )
    kafka_broker.stop()  # before the request is even written: it cannot be answered
    driver.poll_until(lambda: bool(done))

    assert isinstance(done[0].error, DisconnectError)
    assert driver.client.connection_state(leader) is ConnectionState.DISCONNECTED
    delays = []
    for _ in range(4):
        driver.poll_until(
            lambda: (
                driver.client.ready(leader, now_ms())
                or driver.client.connection_state(leader) is ConnectionState.CONNECTING
            )
        )
        driver.poll_until(lambda: driver.client.is_connection_failed(leader))
        assert isinstance(driver.client.connection_error(leader), BrokerConnectionError)
        delays.append(driver.client.connection_delay(leader, now_ms()))
    assert delays[-1] > delays[0]  # exponential: 20, 40, 80, 160 ms minus elapsed time

    kafka_broker.start()  # a new (empty) broker on the same port
    kafka_broker.create_topic(topic, partitions=1)
    response = driver.call(produce_request(leader, topic, 0, record_batch([(None, b"back")])))
    assert partition_response(response)["error_code"] == 0


def test_connection_refused_is_a_broker_connection_error(kafka_broker: KafkaBroker) -> None:
    kafka_broker.stop()
    driver = Driver(kafka_broker.bootstrap)
    try:
        driver.poll_until(lambda: driver.client.is_connection_failed(-1))
        error = driver.client.connection_error(-1)
        assert isinstance(error, BrokerConnectionError)
        assert str(kafka_broker.port) in str(error)
        assert driver.client.connection_delay(-1, now_ms()) > 0
        assert driver.metadata.version == 0
    finally:
        driver.close()


# ---------------------------------------------------------------- through the fault proxy


@pytest.fixture
def proxy(kafka_broker: KafkaBroker) -> Iterator[FaultProxy]:
    with FaultProxy.for_bootstrap(kafka_broker.bootstrap) as p:
        yield p
    assert p.errors == []


def test_proxy_rewrites_metadata_so_traffic_stays_on_it(
    kafka_broker: KafkaBroker, proxy: FaultProxy, topic: str, consume_all: Consume
) -> None:
    kafka_broker.create_topic(topic, partitions=1)
    driver = Driver(proxy.bootstrap_servers)
    try:
        driver.topic_metadata(topic, 1)
        [broker] = driver.metadata.cluster.brokers.values()
        assert (broker.host, broker.port) == proxy.address(0)
        response = driver.call(
            produce_request(driver.leader(topic, 0), topic, 0, record_batch([(None, b"via")]))
        )
        assert partition_response(response)["error_code"] == 0
    finally:
        driver.close()
    assert [r.value for r in consume_all(kafka_broker.bootstrap, topic, expected=1)] == [b"via"]


def test_request_timeout_when_the_proxy_stalls(
    kafka_broker: KafkaBroker, proxy: FaultProxy, topic: str, consume_all: Consume
) -> None:
    kafka_broker.create_topic(topic, partitions=1)
    driver = Driver(proxy.bootstrap_servers, request_timeout_ms=400)
    try:
        driver.topic_metadata(topic, 1)
        leader = driver.leader(topic, 0)
        driver.poll_until(lambda: driver.client.ready(leader, now_ms()))
        proxy.stall()
        done: list[ClientResponse] = []
        started = time.monotonic()
        driver.send(
            produce_request(
                leader, topic, 0, record_batch([(None, b"stuck")]), callback=done.append
            )
        )
        driver.poll_until(lambda: bool(done))
        assert isinstance(done[0].error, RequestTimeoutError)
        assert time.monotonic() - started >= 0.35
        proxy.cut()  # drop what the stalled proxy still holds
        proxy.resume()

        response = driver.call(produce_request(leader, topic, 0, record_batch([(None, b"ok")])))
        assert partition_response(response)["error_code"] == 0
    finally:
        driver.close()
    assert [r.value for r in consume_all(kafka_broker.bootstrap, topic, expected=1)] == [b"ok"]


def test_cut_connections_fail_in_flight_and_the_log_survives(
    kafka_broker: KafkaBroker, proxy: FaultProxy, topic: str, consume_all: Consume
) -> None:
    kafka_broker.create_topic(topic, partitions=1)
    driver = Driver(proxy.bootstrap_servers)
    try:
        driver.topic_metadata(topic, 1)
        leader = driver.leader(topic, 0)
        first = driver.call(produce_request(leader, topic, 0, record_batch([(None, b"one")])))
        assert partition_response(first)["error_code"] == 0

        proxy.stall()
        done: list[ClientResponse] = []
        for value in (b"two", b"three"):
            driver.send(
                produce_request(
                    leader, topic, 0, record_batch([(None, value)]), callback=done.append
                )
            )
        proxy.cut()
        driver.poll_until(lambda: len(done) == 2)
        assert all(isinstance(r.error, DisconnectError) for r in done)

        proxy.refuse()
        proxy.resume()
        driver.poll_until(
            lambda: isinstance(driver.client.connection_error(leader), BrokerConnectionError)
        )
        proxy.accept()
        last = driver.call(produce_request(leader, topic, 0, record_batch([(None, b"four")])))
        assert partition_response(last)["error_code"] == 0
    finally:
        driver.close()
    got = consume_all(kafka_broker.bootstrap, topic, expected=2)
    assert [r.value for r in got] == [b"one", b"four"]
