"""NetworkClient against librdkafka's 3-broker mock cluster (a real, separate Kafka
implementation): every broker and leader in metadata, Produce to each leader, brokers
going down with requests in flight, and the fault proxy in front of all three."""

from __future__ import annotations

import ctypes
import uuid
from collections.abc import Iterator

import pytest

from producer.errors import DisconnectError
from producer.network import ClientRequest, ClientResponse, ConnectionState
from producer.protocol import SUPPORTED_VERSIONS, ApiKey
from tests.integration.producer.test_network_tansu import (
    Consume,
    Driver,
    acks_zero_then_acked,
    now_ms,
    partition_response,
    produce_request,
    record_batch,
)
from tests.support.fault_proxy import FaultProxy
from tests.support.mock_cluster import MockCluster, _librdkafka


def set_rtt(cluster: MockCluster, broker_id: int, rtt_ms: int) -> None:
    """Delay the broker's responses by ``rtt_ms`` (librdkafka mock API, via ctypes)."""
    lib = _librdkafka()
    lib.rd_kafka_mock_broker_set_rtt.argtypes = [ctypes.c_void_p, ctypes.c_int32, ctypes.c_int]
    lib.rd_kafka_mock_broker_set_rtt(cluster._mcluster, broker_id, rtt_ms)


@pytest.fixture
def topic() -> str:
    return f"net-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def driver(kafka_cluster: MockCluster) -> Iterator[Driver]:
    d = Driver(kafka_cluster.bootstrap_servers)
    yield d
    d.close()


def test_metadata_lists_every_broker_and_leader(
    kafka_cluster: MockCluster, driver: Driver, topic: str
) -> None:
    leaders = kafka_cluster.create_topic(topic, partitions=6)
    driver.topic_metadata(topic, 6)
    cluster = driver.metadata.cluster

    assert sorted(cluster.brokers) == [1, 2, 3]
    for broker_id in (1, 2, 3):
        node = cluster.brokers[broker_id]
        assert (node.host, node.port) == kafka_cluster.broker_address(broker_id)
    assert {p.partition: p.leader for p in cluster.partitions_for_topic(topic)} == leaders
    assert all(p.leader_epoch >= 0 for p in cluster.partitions_for_topic(topic))


def test_handshake_and_negotiation_with_each_broker(
    kafka_cluster: MockCluster, driver: Driver, topic: str
) -> None:
    """The mock refuses ApiVersions v3 (it has v0-v2) with an answer that lists no
    range, so the handshake falls back to v0; later requests go out at the highest
    version both sides have."""
    kafka_cluster.create_topic(topic, partitions=3, leaders={0: 1, 1: 2, 2: 3})
    driver.topic_metadata(topic, 3)
    for broker_id in (1, 2, 3):
        driver.poll_until(lambda b=broker_id: driver.client.ready(b, now_ms()))
        theirs = driver.client.api_versions(broker_id)
        assert theirs is not None
        assert theirs[int(ApiKey.API_VERSIONS)][1] < SUPPORTED_VERSIONS[ApiKey.API_VERSIONS][1]

        metadata = driver.call(ClientRequest(broker_id, ApiKey.METADATA, lambda v: {"topics": []}))
        assert metadata.error is None and metadata.body is not None
        assert metadata.api_version == min(
            SUPPORTED_VERSIONS[ApiKey.METADATA][1], theirs[int(ApiKey.METADATA)][1]
        )
        assert sorted(b["node_id"] for b in metadata.body["brokers"]) == [1, 2, 3]

        produce = driver.call(
            produce_request(broker_id, topic, broker_id - 1, record_batch([(None, b"v")]))
        )
        assert partition_response(produce)["error_code"] == 0
        assert produce.api_version == min(
            SUPPORTED_VERSIONS[ApiKey.PRODUCE][1], theirs[int(ApiKey.PRODUCE)][1]
        )


def test_produce_to_every_leader_reads_back(
    kafka_cluster: MockCluster, driver: Driver, topic: str, consume_all: Consume
) -> None:
    kafka_cluster.create_topic(topic, partitions=6)
    driver.topic_metadata(topic, 6)
    kafka_cluster.start_request_tracking()
    done: list[ClientResponse] = []
    for partition in range(6):
        batch = record_batch(
            [(f"k{partition}".encode(), f"p{partition}-{i}".encode()) for i in range(10)]
        )
        driver.send(
            produce_request(
                driver.leader(topic, partition), topic, partition, batch, callback=done.append
            )
        )
    driver.poll_until(lambda: len(done) == 6)
    assert all(partition_response(r)["error_code"] == 0 for r in done)

    produce_brokers = {r.broker_id for r in kafka_cluster.requests() if r.api_key == 0}
    assert produce_brokers == {1, 2, 3}
    got = consume_all(kafka_cluster.bootstrap_servers, topic, expected=60)
    assert sorted((r.partition, r.value) for r in got) == sorted(
        (p, f"p{p}-{i}".encode()) for p in range(6) for i in range(10)
    )


def test_acks_zero_produce_completes_when_written(
    kafka_cluster: MockCluster, driver: Driver, topic: str, consume_all: Consume
) -> None:
    kafka_cluster.create_topic(topic, partitions=1)
    driver.topic_metadata(topic, 1)
    acks_zero_then_acked(driver, topic)
    got = consume_all(kafka_cluster.bootstrap_servers, topic, expected=2)
    assert [(r.key, r.value) for r in got] == [(b"k", b"fire"), (b"k", b"acked")]


def test_broker_down_fails_its_in_flight_requests_only(
    kafka_cluster: MockCluster, driver: Driver, topic: str
) -> None:
    kafka_cluster.create_topic(topic, partitions=3, leaders={0: 1, 1: 2, 2: 3})
    driver.topic_metadata(topic, 3)
    driver.poll_until(lambda: driver.client.ready(1, now_ms()))  # handshake before the delay
    set_rtt(kafka_cluster, 1, 5_000)
    slow: list[ClientResponse] = []
    for i in range(3):
        driver.send(
            produce_request(
                1, topic, 0, record_batch([(None, f"s{i}".encode())]), callback=slow.append
            )
        )
    driver.poll_until(lambda: driver.client.in_flight_request_count(1) == 3)
    fast = driver.call(produce_request(2, topic, 1, record_batch([(None, b"fast")])))
    assert partition_response(fast)["error_code"] == 0

    kafka_cluster.broker_down(1)
    driver.poll_until(lambda: len(slow) == 3)
    assert all(isinstance(r.error, DisconnectError) for r in slow)
    assert driver.client.connection_state(2) is ConnectionState.READY  # untouched
    assert driver.client.in_flight_request_count() == 0

    set_rtt(kafka_cluster, 1, 0)
    kafka_cluster.broker_up(1)
    back = driver.call(produce_request(1, topic, 0, record_batch([(None, b"back")])))
    assert partition_response(back)["error_code"] == 0


def test_fault_proxy_in_front_of_three_brokers(
    kafka_cluster: MockCluster, topic: str, consume_all: Consume
) -> None:
    kafka_cluster.create_topic(topic, partitions=3)
    with FaultProxy.for_bootstrap(kafka_cluster.bootstrap_servers) as proxy:
        driver = Driver(proxy.bootstrap_servers)
        try:
            driver.topic_metadata(topic, 3)
            cluster = driver.metadata.cluster
            assert {(b.host, b.port) for b in cluster.brokers.values()} == {
                proxy.address(i) for i in range(3)
            }
            done: list[ClientResponse] = []
            for partition in range(3):
                driver.send(
                    produce_request(
                        driver.leader(topic, partition),
                        topic,
                        partition,
                        record_batch([(None, f"v{partition}".encode())]),
                        callback=done.append,
                    )
                )
            driver.poll_until(lambda: len(done) == 3)
            assert all(partition_response(r)["error_code"] == 0 for r in done)
            assert proxy.accepted_count() >= 3
        finally:
            driver.close()
        assert proxy.errors == []
    got = consume_all(kafka_cluster.bootstrap_servers, topic, expected=3)
    assert sorted(r.value or b"" for r in got) == [b"v0", b"v1", b"v2"]
