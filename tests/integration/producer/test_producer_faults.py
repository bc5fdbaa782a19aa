"""The Producer when brokers fail: every future ends, typed, and nothing is lost or doubled.

- Broker stopped (a real Tansu process killed): a full buffer makes send() raise after
  max_block_ms, the buffered records' futures fail after delivery_timeout_ms, close()
  is bounded and leaves no future pending.
- Broker cut, stalled, refusing and back again mid-stream, through the fault proxy in
  front of a real Tansu broker (its log survives, unlike a restart): with acks=all and
  idempotence every acknowledged record is read back, exactly once, in send order.
- Error codes a real broker cannot be made to return on demand come from the FAKE
  broker (tests/support/fake_broker.py); those tests only claim what the fake can
  show: what the producer sent again, with which producer id and sequence.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable

import pytest

from producer import Producer, RecordFuture
from producer.errors import (
    BufferExhaustedError,
    DeliveryTimeoutError,
    KafkaError,
    KafkaTimeoutError,
    ProducerError,
    RetriableError,
)
from producer.protocol import ApiKey
from producer.protocol.error_codes import code_for_name
from producer.records import RecordBatch, decode_record_batches
from tests.conftest import KafkaBroker
from tests.integration.producer.test_producer_tansu import value_for
from tests.support.consume import ConsumedRecord
from tests.support.fake_broker import FakeBroker, ReceivedRequest
from tests.support.fault_proxy import FaultProxy
from tests.support.record_stream import RecordStream

pytestmark = pytest.mark.timeout(60)

Consume = Callable[..., list[ConsumedRecord]]


def new_topic() -> str:
    return f"faults-{uuid.uuid4().hex[:10]}"


class Completions:
    """When each future completed (monotonic seconds), recorded by its done callback."""

    def __init__(self) -> None:
        self.at: dict[int, float] = {}
        self.calls: Counter[int] = Counter()
        self._lock = threading.Lock()

    def watch(self, index: int, future: RecordFuture) -> None:
        def done(_: RecordFuture) -> None:
            with self._lock:
                self.at.setdefault(index, time.monotonic())
                self.calls[index] += 1

        future.add_done_callback(done)


def wait_done(futures: list[RecordFuture], timeout_s: float) -> list[BaseException | None]:
    """Each future's exception (None for success); fails the test if one is still pending."""
    deadline = time.monotonic() + timeout_s
    outcomes = []
    for f in futures:
        try:
            outcomes.append(f.exception(timeout=max(0.0, deadline - time.monotonic())))
        except TimeoutError:
            pending = sum(1 for g in futures if not g.done())
            raise AssertionError(f"{pending} futures still pending after {timeout_s}s") from None
    return outcomes


def produced_batches(request: ReceivedRequest) -> list[tuple[str, int, RecordBatch]]:
    """(topic, partition, batch) for every batch a Produce request carried."""
    return [
        (topic["name"], partition["index"], batch)
        for topic in request.body["topic_data"]
        for partition in topic["partition_data"]
        for batch in decode_record_batches(partition["records"])
    ]


# --------------------------------------------------------------------------- broker stopped


def test_broker_stopped_buffer_full_send_raises_then_futures_time_out(
    kafka_broker: KafkaBroker,
) -> None:
    topic = new_topic()
    kafka_broker.create_topic(topic, partitions=1)
    max_block_ms, delivery_timeout_ms = 500, 2_500
    p = Producer(
        bootstrap_servers=kafka_broker.bootstrap,
        buffer_memory=64 * 1024,
        batch_size=16 * 1024,
        linger_ms=5,
        max_block_ms=max_block_ms,
        request_timeout_ms=1_000,
        delivery_timeout_ms=delivery_timeout_ms,
        retry_backoff_ms=50,
    )
    try:
        p.send(topic, value=b"warm-up").result(timeout=10)  # metadata known, connected
        kafka_broker.stop()
        stopped_at = time.monotonic()

        completions = Completions()
        futures: list[RecordFuture] = []
        raised: BufferExhaustedError | None = None
        blocked_s = 0.0
        for i in range(1_000):  # 1 KB values: 64 KiB of buffer holds about 60 of them
            start = time.monotonic()
            try:
                future = p.send(topic, value=value_for(i, 1_000))
            except BufferExhaustedError as exc:
                blocked_s = time.monotonic() - start
                raised = exc
                break
            completions.watch(i, future)
            futures.append(future)
        assert raised is not None, "send() never reported the full buffer"
        assert isinstance(raised, KafkaTimeoutError) and isinstance(raised, TimeoutError)
        assert "buffer_memory" in str(raised) or "max_block_ms" in str(raised), str(raised)
        assert max_block_ms / 1000 * 0.9 <= blocked_s < max_block_ms / 1000 + 1.5, blocked_s
        assert 30 <= len(futures) <= 70, len(futures)
        assert not any(f.done() for f in futures), "futures failed before delivery_timeout_ms"

        start = time.monotonic()
        p.flush(timeout=delivery_timeout_ms / 1000 + 5)
        assert time.monotonic() - start < delivery_timeout_ms / 1000 + 4
        outcomes = wait_done(futures, 1)
        for outcome in outcomes:
            assert isinstance(outcome, (DeliveryTimeoutError, RetriableError)), repr(outcome)
        assert any(isinstance(outcome, DeliveryTimeoutError) for outcome in outcomes)
        earliest = min(completions.at.values()) - stopped_at
        assert earliest >= delivery_timeout_ms / 1000 - 0.1, f"a future failed after {earliest}s"
        assert set(completions.calls.values()) == {1}
        assert len(completions.calls) == len(futures)
    finally:
        start = time.monotonic()
        p.close(timeout=5)
        assert time.monotonic() - start < 7


def test_close_with_the_broker_gone_is_bounded_and_leaves_nothing_pending(
    kafka_broker: KafkaBroker,
) -> None:
    topic = new_topic()
    kafka_broker.create_topic(topic, partitions=2)
    p = Producer(
        bootstrap_servers=kafka_broker.bootstrap,
        linger_ms=5,
        request_timeout_ms=5_000,
        delivery_timeout_ms=30_000,
        max_block_ms=2_000,
    )
    p.send(topic, value=b"warm-up").result(timeout=10)
    kafka_broker.stop()
    futures = [p.send(topic, value=value_for(i), key=b"k%d" % (i % 3)) for i in range(500)]
    start = time.monotonic()
    p.close(timeout=1)
    assert time.monotonic() - start < 4, "close(timeout=1) overran"
    outcomes = wait_done(futures, 1)
    assert all(isinstance(exc, ProducerError) for exc in outcomes), Counter(
        type(e).__name__ for e in outcomes
    )


@pytest.mark.parametrize("acks", ["all", "1"])
def test_unanswered_requests_fail_after_delivery_timeout(
    kafka_broker: KafkaBroker, acks: str
) -> None:
    """A broker that accepts and never answers (the proxy stalls): requests time out and
    are retried until delivery_timeout_ms, then every future fails, typed."""
    topic = new_topic()
    kafka_broker.create_topic(topic, partitions=2)
    delivery_timeout_ms = 3_000
    with FaultProxy.for_bootstrap(kafka_broker.bootstrap) as proxy:
        p = Producer(
            bootstrap_servers=proxy.bootstrap_servers,
            acks=acks,
            enable_idempotence=acks == "all",
            linger_ms=5,
            request_timeout_ms=800,
            delivery_timeout_ms=delivery_timeout_ms,
            retry_backoff_ms=50,
        )
        try:
            p.send(topic, value=b"warm-up").result(timeout=10)
            proxy.stall()
            stalled_at = time.monotonic()
            completions = Completions()
            futures = []
            for i in range(300):
                future = p.send(topic, value=value_for(i), key=b"k%d" % (i % 4))
                completions.watch(i, future)
                futures.append(future)
            outcomes = wait_done(futures, delivery_timeout_ms / 1000 + 5)
            assert all(isinstance(e, (DeliveryTimeoutError, RetriableError)) for e in outcomes), (
                Counter(type(e).__name__ for e in outcomes)
            )
            earliest = min(completions.at.values()) - stalled_at
            assert earliest >= delivery_timeout_ms / 1000 - 0.1, earliest
            assert set(completions.calls.values()) == {1}
        finally:
            proxy.resume()
            p.close(timeout=5)


# --------------------------------------------------------------------------- away and back


def test_broker_away_and_back_mid_stream_acks_all_loses_and_doubles_nothing(
    kafka_broker: KafkaBroker, consume_all: Consume
) -> None:
    topic = new_topic()
    partitions, total = 3, 20_000
    kafka_broker.create_topic(topic, partitions)
    keys = [f"key-{k}".encode() for k in range(6)]
    with FaultProxy.for_bootstrap(kafka_broker.bootstrap) as proxy:
        p = Producer(
            bootstrap_servers=proxy.bootstrap_servers,
            acks="all",
            linger_ms=5,
            request_timeout_ms=1_000,
            delivery_timeout_ms=25_000,
            retry_backoff_ms=50,
            max_block_ms=20_000,
        )
        # spread over the fault windows
        stream = RecordStream(p, topic, total, keys, value_for, pause_every=200)
        futures = stream.futures
        try:
            stream.start()
            deadline = time.monotonic() + 15
            while sum(1 for f in futures[:2000] if f.done()) < 500:
                assert time.monotonic() < deadline, "nothing delivered before the faults"
                time.sleep(0.02)
            proxy.cut()  # connections dropped with requests in flight
            time.sleep(0.3)
            proxy.stall()  # answers held back past request_timeout_ms
            time.sleep(1.5)
            proxy.resume()
            time.sleep(0.3)
            proxy.refuse()  # broker "gone": no connects at all...
            proxy.cut()
            time.sleep(1.0)
            proxy.accept()  # ...and back, on the same port
            stream.join(timeout_s=30)
            p.flush(timeout=30)
            outcomes = wait_done(futures, 1)
        finally:
            p.close(timeout=10)
        assert proxy.accepted_count() > 2, "the faults never forced a reconnect"
        assert not proxy.errors, proxy.errors

    failures = Counter(type(e).__name__ for e in outcomes if e is not None)
    assert all(e is None or isinstance(e, ProducerError) for e in outcomes), failures
    assert not failures, f"records failed although the broker came back in time: {failures}"
    consumed = consume_all(kafka_broker.bootstrap, topic, timeout_s=30)
    counts = Counter(r.value for r in consumed)
    doubled = [v for v, n in counts.items() if n > 1]
    assert not doubled, f"{len(doubled)} records written twice, e.g. {doubled[:3]}"
    acked = [(i, f) for i, f in enumerate(futures) if f.exception(timeout=0) is None]
    by_value = {r.value: r for r in consumed}
    lost = [i for i, _ in acked if value_for(i) not in by_value]
    assert not lost, f"{len(lost)} acknowledged records missing, e.g. {lost[:5]}"
    unknown_offsets = 0
    for i, f in acked:
        meta, record = f.result(timeout=0), by_value[value_for(i)]
        assert meta.partition == record.partition
        # Tansu answers a retried batch it already holds with DUPLICATE_SEQUENCE_NUMBER
        # and no offset (Kafka returns the original one): the producer then knows the
        # batch is written but not where, and says offset -1, as Java's client would.
        if meta.offset == -1:
            unknown_offsets += 1
        else:
            assert meta.offset == record.offset, (i, meta, record)
    assert unknown_offsets < len(acked) // 10, unknown_offsets
    by_partition: dict[int, list[int]] = defaultdict(list)
    for r in sorted(consumed, key=lambda r: (r.partition, r.offset)):
        by_partition[r.partition].append(int((r.value or b"")[2:10]))
    for partition, order in by_partition.items():
        assert order == sorted(order), f"partition {partition} reordered by retries"


# --------------------------------------------------------------------------- fake broker


@pytest.mark.parametrize("error_name", ["NOT_LEADER_OR_FOLLOWER", "NOT_ENOUGH_REPLICAS"])
def test_retriable_error_on_second_produce_is_retried_once_same_sequence(
    error_name: str,
) -> None:
    """FAKE broker: the 2nd Produce is answered with a retriable error code. The batch
    must be sent again (once), with the same producer id, epoch and base sequence, after
    a metadata refresh, and its future must succeed exactly once."""
    topic = "orders"
    with FakeBroker(topics={topic: 1}) as fake:
        fake.error_on(ApiKey.PRODUCE, 2, code_for_name(error_name))
        p = Producer(
            bootstrap_servers=fake.bootstrap,
            acks="all",
            linger_ms=0,
            retry_backoff_ms=50,
            request_timeout_ms=2_000,
            delivery_timeout_ms=5_000,
        )
        try:
            completions = Completions()
            first = p.send(topic, value=b"one", key=b"k")
            completions.watch(1, first)
            first.result(timeout=5)
            metadata_before = len(fake.requests_of(ApiKey.METADATA))
            second = p.send(topic, value=b"two", key=b"k")
            completions.watch(2, second)
            meta = second.result(timeout=5)
            p.flush(timeout=5)
        finally:
            p.close(timeout=5)
        produces = fake.requests_of(ApiKey.PRODUCE)
        assert not fake.errors, fake.errors
    assert len(produces) == 3, [len(produced_batches(r)) for r in produces]
    batches = [produced_batches(r) for r in produces]
    assert all(len(b) == 1 for b in batches)
    (_, _, b1), (_, _, b2), (_, _, b3) = (b[0] for b in batches)
    assert [r.value for r in b1.records] == [b"one"]
    assert [r.value for r in b2.records] == [r.value for r in b3.records] == [b"two"]
    assert b1.producer_id >= 0 and b1.producer_id == b2.producer_id == b3.producer_id
    assert b1.producer_epoch == b2.producer_epoch == b3.producer_epoch
    assert (b1.base_sequence, b2.base_sequence, b3.base_sequence) == (0, 1, 1)
    if error_name == "NOT_LEADER_OR_FOLLOWER":  # the leader moved: metadata is stale
        assert len(fake.requests_of(ApiKey.METADATA)) > metadata_before, "no metadata refresh"
    assert meta.offset > first.result(timeout=0).offset
    assert completions.calls == Counter({1: 1, 2: 1})


def test_unanswered_produce_is_retried_on_a_new_connection_same_sequence() -> None:
    """FAKE broker: the 2nd Produce is never answered. After request_timeout_ms the
    producer drops that connection and sends the same batch (same sequence) again."""
    topic = "orders"
    with FakeBroker(topics={topic: 1}) as fake:
        fake.no_response_on(ApiKey.PRODUCE, 2)
        p = Producer(
            bootstrap_servers=fake.bootstrap,
            acks="all",
            linger_ms=0,
            retry_backoff_ms=50,
            request_timeout_ms=700,
            delivery_timeout_ms=5_000,
        )
        try:
            p.send(topic, value=b"one").result(timeout=5)
            start = time.monotonic()
            p.send(topic, value=b"two").result(timeout=5)
            assert time.monotonic() - start >= 0.6, "answered before request_timeout_ms"
        finally:
            p.close(timeout=5)
        produces = fake.requests_of(ApiKey.PRODUCE)
    assert len(produces) == 3
    (_, _, b2), (_, _, b3) = produced_batches(produces[1])[0], produced_batches(produces[2])[0]
    assert [r.value for r in b2.records] == [r.value for r in b3.records] == [b"two"]
    assert (b2.producer_id, b2.base_sequence) == (b3.producer_id, b3.base_sequence)
    assert produces[2].connection != produces[1].connection


def test_fatal_error_code_fails_the_future_without_retry() -> None:
    """FAKE broker: TOPIC_AUTHORIZATION_FAILED is not retriable: the future fails at
    once with that typed KafkaError and the batch is not sent again."""
    topic = "orders"
    code = code_for_name("TOPIC_AUTHORIZATION_FAILED")
    with FakeBroker(topics={topic: 1}) as fake:
        fake.error_on(ApiKey.PRODUCE, 1, code)
        p = Producer(
            bootstrap_servers=fake.bootstrap,
            acks="all",
            linger_ms=0,
            request_timeout_ms=2_000,
            delivery_timeout_ms=10_000,
        )
        try:
            start = time.monotonic()
            future = p.send(topic, value=b"secret")
            exc = future.exception(timeout=5)
            assert time.monotonic() - start < 2
            time.sleep(0.3)  # a retry, if any, would arrive within retry_backoff_ms
        finally:
            p.close(timeout=5)
        produces = fake.requests_of(ApiKey.PRODUCE)
    assert isinstance(exc, KafkaError) and exc.code == code, repr(exc)
    assert not isinstance(exc, RetriableError)
    assert topic in str(exc)
    assert len(produces) == 1


# --------------------------------------------------------------------------- too large


@pytest.mark.parametrize(("acks", "idempotence"), [("all", True), ("1", False)])
def test_batches_too_large_for_the_broker_are_split_and_all_delivered_in_order(
    kafka_broker: KafkaBroker, consume_all: Consume, acks: str, idempotence: bool
) -> None:
    """A broker whose message.max.bytes is smaller than the producer's batches (the
    proxy plays it: Tansu does not enforce the limit) answers MESSAGE_TOO_LARGE; each
    such batch is sent again as two, and again, until the parts fit. Every record is
    delivered once (in send order with idempotence), at the offset its future reports,
    with the key, headers and timestamp it was sent with."""
    topic = new_topic()
    kafka_broker.create_topic(topic, partitions=1)
    limit = 4096
    with FaultProxy.for_bootstrap(kafka_broker.bootstrap, max_batch_bytes=limit) as proxy:
        p = Producer(
            bootstrap_servers=proxy.bootstrap_servers,
            acks=acks,
            enable_idempotence=idempotence,
            linger_ms=20,
            batch_size=16 * 1024,
            request_timeout_ms=10_000,
            delivery_timeout_ms=30_000,
        )
        try:
            sent = [
                (
                    value_for(i, 200),
                    f"k{i % 7}".encode(),
                    1_700_000_000_000 + i,
                    p.send(
                        topic,
                        value=value_for(i, 200),
                        key=f"k{i % 7}".encode(),
                        partition=0,
                        timestamp_ms=1_700_000_000_000 + i,
                        headers=[("i", str(i).encode())],
                    ),
                )
                for i in range(2_000)
            ]
            p.flush(timeout=30)
            split = p.metrics()["batches_split"]
        finally:
            p.close(timeout=10)
    assert proxy.errors == []
    assert proxy.refused_batch_sizes, "no batch was ever too large: the test proves nothing"
    assert max(proxy.forwarded_batch_sizes) <= limit
    assert split >= len(proxy.refused_batch_sizes)
    consumed = consume_all(kafka_broker.bootstrap, topic, expected=len(sent), timeout_s=30)
    if not idempotence:
        # without idempotence, a batch sent again may land after batches sent after it
        # (as in Kafka with more than one request in flight): order by what was sent
        position = {value: i for i, (value, _, _, _) in enumerate(sent)}
        consumed.sort(key=lambda r: position[r.value or b""])
    assert [r.value for r in consumed] == [value for value, _, _, _ in sent]
    for i, (record, (_, key, timestamp_ms, future)) in enumerate(zip(consumed, sent, strict=True)):
        meta = future.result(timeout=0)
        assert (meta.partition, meta.offset) == (record.partition, record.offset)
        assert meta.timestamp_ms == record.timestamp_ms == timestamp_ms
        assert record.key == key
        assert record.headers == [("i", str(i).encode())]


def test_a_single_record_too_large_for_the_broker_fails_alone(
    kafka_broker: KafkaBroker, consume_all: Consume
) -> None:
    """A batch of one record cannot be split: its future fails with the broker's
    MESSAGE_TOO_LARGE, typed; the records around it are delivered."""
    topic = new_topic()
    kafka_broker.create_topic(topic, partitions=1)
    with FaultProxy.for_bootstrap(kafka_broker.bootstrap, max_batch_bytes=4096) as proxy:
        p = Producer(bootstrap_servers=proxy.bootstrap_servers, linger_ms=0)
        try:
            before = p.send(topic, value=b"small-1")
            before.result(timeout=10)
            big = p.send(topic, value=b"x" * 10_000)
            error = big.exception(timeout=10)
            after = p.send(topic, value=b"small-2")
            after.result(timeout=10)
        finally:
            p.close(timeout=10)
    assert isinstance(error, KafkaError) and error.code == code_for_name("MESSAGE_TOO_LARGE")
    assert not error.retriable
    consumed = consume_all(kafka_broker.bootstrap, topic, expected=2, timeout_s=20)
    assert [r.value for r in consumed] == [b"small-1", b"small-2"]
