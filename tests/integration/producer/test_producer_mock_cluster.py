"""The Producer against librdkafka's 3-broker mock cluster: one request per leader.

What each broker received is shown three ways, which must agree:

- a counting proxy (the fault proxy, subclassed here) in front of the three brokers
  decodes every Produce request and records which topic-partitions it carried;
- the mock cluster's own request log (``rd_kafka_mock_get_requests``): how many Produce
  requests each broker got;
- the producer's ``metrics()``: ``produce_requests_by_node`` and ``partitions_by_node``.

Everything produced is read back with confluent-kafka's consumer, and keyed records
are checked against librdkafka's ``murmur2_random`` partitioner.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from confluent_kafka import Producer as CkProducer

from producer import Producer, RecordFuture
from producer.protocol import ApiKey, decode_request
from producer.records import decode_record_batches
from tests.integration.producer.test_producer_tansu import value_for
from tests.support.consume import ConsumedRecord
from tests.support.fault_proxy import FaultProxy, _Conn
from tests.support.mock_cluster import MockCluster
from tests.support.record_stream import RecordStream

pytestmark = pytest.mark.timeout(120)

Consume = Callable[..., list[ConsumedRecord]]


@dataclass(frozen=True, slots=True)
class SeenProduce:
    """One Produce request as the counting proxy saw it on its way to ``broker_id``."""

    broker_id: int
    batches: tuple[tuple[str, int, int], ...]  # (topic, partition, record count) per batch

    @property
    def partitions(self) -> list[tuple[str, int]]:
        return [(t, p) for t, p, _ in self.batches]


class CountingProxy(FaultProxy):
    """The fault proxy, also decoding each Produce request it forwards (tests only).

    Upstream ``i`` is broker ``i + 1`` (the mock's bootstrap list is in id order).
    Runs the decoding on the proxy thread; ``produces()`` copies under a lock.
    """

    def __init__(self, cluster: MockCluster) -> None:
        super().__init__([cluster.broker_address(b) for b in cluster.broker_ids])
        self._seen: list[SeenProduce] = []
        self._seen_lock = threading.Lock()

    def _frames_from_client(self, conn: _Conn) -> None:
        buffer = conn.from_client
        pos = 0
        while len(buffer) - pos >= 4:
            size = int.from_bytes(buffer[pos : pos + 4], "big", signed=True)
            if len(buffer) - pos < 4 + size:
                break
            frame = bytes(buffer[pos + 4 : pos + 4 + size])
            pos += 4 + size
            if int.from_bytes(frame[:2], "big", signed=True) == ApiKey.PRODUCE:
                _, body = decode_request(frame)
                batches = tuple(
                    (topic["name"], part["index"], sum(len(b.records) for b in decoded))
                    for topic in body["topic_data"]
                    for part in topic["partition_data"]
                    for decoded in [decode_record_batches(part["records"])]
                )
                with self._seen_lock:
                    self._seen.append(SeenProduce(conn.route.index + 1, batches))
        # Let the proxy forward the frames as it always does.
        super()._frames_from_client(conn)

    def produces(self) -> list[SeenProduce]:
        with self._seen_lock:
            return list(self._seen)


def new_topic() -> str:
    return f"mock-{uuid.uuid4().hex[:10]}"


def ck_partitions(bootstrap: str, topic: str, keys: list[bytes]) -> dict[bytes, int]:
    """Where confluent-kafka's Producer (murmur2_random) puts each key."""
    placed: dict[bytes, int] = {}

    def report(err: object, msg: object) -> None:
        assert err is None, err
        placed[msg.key()] = msg.partition()  # type: ignore[attr-defined]

    ck = CkProducer(
        {"bootstrap.servers": bootstrap, "partitioner": "murmur2_random", "log_level": 0}
    )
    for key in keys:
        ck.produce(topic, value=b"x", key=key, on_delivery=report)
    assert ck.flush(20) == 0
    return placed


def stream_keyed(
    producer: Producer, topic: str, total: int, keys: list[bytes]
) -> list[RecordFuture]:
    return [producer.send(topic, value=value_for(i), key=keys[i % len(keys)]) for i in range(total)]


def check_read_back(
    consumed: list[ConsumedRecord],
    futures: list[RecordFuture],
    keys: list[bytes],
) -> None:
    counts = Counter(r.value for r in consumed)
    assert len(counts) == len(futures) == len(consumed), (len(counts), len(futures), len(consumed))
    by_value = {r.value: r for r in consumed}
    for i, future in enumerate(futures):
        meta, record = future.result(timeout=0), by_value[value_for(i)]
        assert record.key == keys[i % len(keys)]
        assert (meta.partition, meta.offset) == (record.partition, record.offset), i
    by_partition: dict[int, list[int]] = defaultdict(list)
    for r in sorted(consumed, key=lambda r: (r.partition, r.offset)):
        by_partition[r.partition].append(int((r.value or b"")[2:10]))
    for partition, order in by_partition.items():
        assert order == sorted(order), f"partition {partition} not in send order"


def run_per_leader(
    kafka_cluster: MockCluster, consume_all: Consume, total: int, partitions: int
) -> None:
    topic = new_topic()
    leaders = kafka_cluster.create_topic(topic, partitions)
    assert set(leaders.values()) == {1, 2, 3}
    keys = [f"customer-{i}".encode() for i in range(5_000)]
    proxy = CountingProxy(kafka_cluster)
    with proxy:
        kafka_cluster.start_request_tracking()
        p = Producer(
            bootstrap_servers=proxy.bootstrap_servers,
            acks="all",
            linger_ms=5,
            batch_size=16_384,
            request_timeout_ms=10_000,
            delivery_timeout_ms=60_000,
        )
        try:
            assert p.partitions_for(topic) == list(range(partitions))
            futures = stream_keyed(p, topic, total, keys)
            p.flush(timeout=120)
            metrics = p.metrics()
        finally:
            p.close(timeout=10)
        seen = proxy.produces()
        broker_requests = Counter(
            r.broker_id for r in kafka_cluster.requests() if r.api_key == ApiKey.PRODUCE
        )
        assert not proxy.errors, proxy.errors
    assert all(f.exception(timeout=0) is None for f in futures)

    # Every Produce request a node received holds only partitions that node leads, and
    # each partition at most once (one batch per partition per drain).
    for request in seen:
        for t, partition in request.partitions:
            assert t == topic
            assert leaders[partition] == request.broker_id, (request, leaders)
        assert len(set(request.partitions)) == len(request.partitions), request
    # One request per node per drain carries several partitions: far fewer requests
    # than batches.
    batches = sum(len(r.batches) for r in seen)
    assert sum(n for r in seen for _, _, n in r.batches) == total
    assert len(seen) < batches, (len(seen), batches)
    multi = sum(1 for r in seen if len(r.batches) > 1)
    assert multi >= len(seen) // 4, f"only {multi} of {len(seen)} requests carry >1 partition"
    # The three views agree.
    by_proxy = Counter(r.broker_id for r in seen)
    assert dict(broker_requests) == dict(by_proxy)
    assert {int(k): v for k, v in metrics["produce_requests_by_node"].items()} == dict(by_proxy)
    expected_by_node: dict[int, set[tuple[str, int]]] = defaultdict(set)
    for partition, leader in leaders.items():
        expected_by_node[leader].add((topic, partition))
    by_node = {int(k): set(v) for k, v in metrics["partitions_by_node"].items()}
    assert by_node == dict(expected_by_node)

    consumed = consume_all(kafka_cluster.bootstrap_servers, topic, expected=total, timeout_s=120)
    check_read_back(consumed, futures, keys)
    ck_topic = new_topic()
    kafka_cluster.create_topic(ck_topic, partitions)
    theirs = ck_partitions(kafka_cluster.bootstrap_servers, ck_topic, keys)
    ours = {r.key: r.partition for r in consumed}
    differ = [k for k in keys if ours[k] != theirs[k]]
    assert not differ, f"{len(differ)} keys partitioned unlike murmur2_random, e.g. {differ[:3]}"


def test_one_produce_request_per_leader_holding_only_its_partitions(
    kafka_cluster: MockCluster, consume_all: Consume
) -> None:
    run_per_leader(kafka_cluster, consume_all, total=60_000, partitions=12)


@pytest.mark.soak
@pytest.mark.timeout(900)
def test_one_million_keyed_records_to_twelve_partitions(
    kafka_cluster: MockCluster, consume_all: Consume
) -> None:
    """Issue 4's "done when": 1,000,000 keyed records, 12 partitions, 3 leaders."""
    run_per_leader(kafka_cluster, consume_all, total=1_000_000, partitions=12)


def test_six_partitions_on_three_leaders_read_back_exactly_once(
    kafka_cluster: MockCluster, consume_all: Consume
) -> None:
    """No proxy: the producer talks to the mock brokers directly."""
    topic = new_topic()
    leaders = kafka_cluster.create_topic(topic, 6)
    keys = [f"k{i}".encode() for i in range(64)]
    kafka_cluster.start_request_tracking()
    with Producer(bootstrap_servers=kafka_cluster.bootstrap_servers, linger_ms=5) as p:
        futures = stream_keyed(p, topic, 20_000, keys)
        p.flush(timeout=60)
        metrics = p.metrics()
    broker_requests = Counter(
        r.broker_id for r in kafka_cluster.requests() if r.api_key == ApiKey.PRODUCE
    )
    assert {int(k): v for k, v in metrics["produce_requests_by_node"].items()} == dict(
        broker_requests
    )
    by_node = {int(k): set(v) for k, v in metrics["partitions_by_node"].items()}
    for node, tps in by_node.items():
        assert all(leaders[p] == node for _, p in tps), (node, tps, leaders)
    consumed = consume_all(kafka_cluster.bootstrap_servers, topic, expected=20_000)
    check_read_back(consumed, futures, keys)


def test_leader_moved_mid_stream_still_delivers_exactly_once(
    kafka_cluster: MockCluster, consume_all: Consume
) -> None:
    topic = new_topic()
    partitions, total = 6, 30_000
    leaders = kafka_cluster.create_topic(topic, partitions)
    keys = [f"key-{i}".encode() for i in range(60)]
    moved = {0: 2, 1: 3, 2: 1}  # partition -> new leader, each a different node than before
    assert all(leaders[p] != b for p, b in moved.items())
    proxy = CountingProxy(kafka_cluster)
    with proxy:
        p = Producer(
            bootstrap_servers=proxy.bootstrap_servers,
            acks="all",
            linger_ms=5,
            retry_backoff_ms=50,
            request_timeout_ms=5_000,
            delivery_timeout_ms=30_000,
        )
        stream = RecordStream(p, topic, total, keys, value_for, pause_every=500)
        futures = stream.futures
        try:
            stream.start()
            deadline = time.monotonic() + 20
            while len(futures) < total // 3:
                assert time.monotonic() < deadline
                time.sleep(0.01)
            moved_at = len(proxy.produces())
            for partition, broker_id in moved.items():
                kafka_cluster.set_leader(topic, partition, broker_id)
            stream.join(timeout_s=60)
            p.flush(timeout=60)
            metrics = p.metrics()
        finally:
            p.close(timeout=10)
        seen = proxy.produces()
    failures = Counter(type(e).__name__ for f in futures if (e := f.exception(timeout=0)))
    assert not failures, failures
    new_leaders = {**leaders, **moved}
    tail = seen[-10:]
    assert moved_at < len(seen) - 10, "the stream ended before the leaders moved"
    for request in tail:  # once settled, requests follow the new leaders
        assert all(new_leaders[part] == request.broker_id for _, part in request.partitions)
    for partition, broker_id in moved.items():
        assert any(
            (topic, partition) in r.partitions and r.broker_id == broker_id for r in seen[moved_at:]
        ), f"partition {partition} never went to its new leader {broker_id}"
        assert (topic, partition) in {tuple(x) for x in metrics["partitions_by_node"][broker_id]}
    consumed = consume_all(kafka_cluster.bootstrap_servers, topic, expected=total, timeout_s=60)
    check_read_back(consumed, futures, keys)
