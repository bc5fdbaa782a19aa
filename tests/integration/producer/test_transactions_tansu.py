"""regcast's transactions end to end on a real broker (Tansu), librdkafka as the reference.

Tansu's Fetch lists no aborted transactions, so a read_committed consumer there cannot
tell a committed record from an aborted one: what a transaction did is read off the
log itself (``tests.support.transaction_log``): data batches with the transactional bit
and the producer's id and epoch, each transaction closed by its COMMIT or ABORT marker
for the same id and epoch. Where a test compares, confluent-kafka's transactional
producer does the same steps on the same broker and its log must have the same shape.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from confluent_kafka import Consumer
from confluent_kafka import Producer as LibrdkafkaProducer
from confluent_kafka import TopicPartition as LibrdkafkaTopicPartition

from producer import Producer
from producer.errors import (
    ProducerFencedError,
    TransactionAbortedError,
    TransactionStateError,
)
from tests.conftest import KafkaBroker
from tests.support.consume import consume_all
from tests.support.transaction_log import read_log, summarize, wait_for_marker

pytestmark = pytest.mark.timeout(60)


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def topic(kafka_broker: KafkaBroker) -> str:
    name = _name("txn")
    kafka_broker.create_topic(name, partitions=2)
    return name


@pytest.fixture
def transactional(kafka_broker: KafkaBroker) -> Iterator[Producer]:
    producer = Producer(
        bootstrap_servers=kafka_broker.bootstrap,
        transactional_id=_name("regcast-txn"),
        request_timeout_ms=5_000,
        delivery_timeout_ms=10_000,
    )
    producer.init_transactions(10)
    try:
        yield producer
    finally:
        producer.close(5)


def _log(kafka_broker: KafkaBroker, topic: str, partition: int, markers: int) -> list[Any]:
    wait_for_marker(kafka_broker.host, kafka_broker.port, topic, partition, count=markers)
    return summarize(read_log(kafka_broker.host, kafka_broker.port, topic, partition))


def _shape(summary: list[Any]) -> list[Any]:
    """A log summary without the producer ids (each client gets its own), epochs kept
    relative: ("data", values) and the marker types, each checked to carry the id and
    epoch of the data before it."""
    shape: list[Any] = []
    last: tuple[int, int] | None = None
    for entry in summary:
        if entry[0] == "data":
            last = (entry[1], entry[2])
            shape.append(("data", entry[3]))
        else:
            assert last is None or (entry[1], entry[2]) == last, summary
            shape.append(entry[0])
    return shape


def test_commit_and_abort_leave_the_log_librdkafka_leaves(
    kafka_broker: KafkaBroker, transactional: Producer, topic: str
) -> None:
    """One committed and one aborted transaction over two partitions, by regcast and by
    librdkafka: each partition's log has the same batches and markers, the data
    transactional and every marker for the producer id and epoch of its data."""
    reference_topic = _name("txn-ref")
    kafka_broker.create_topic(reference_topic, partitions=2)
    reference = LibrdkafkaProducer(
        {
            "bootstrap.servers": kafka_broker.bootstrap,
            "transactional.id": _name("librdkafka-txn"),
            "log_level": 0,
        }
    )
    reference.init_transactions(10)
    for client, name in ((transactional, topic), (reference, reference_topic)):
        client.begin_transaction()
        for i in range(4):
            send = client.send if client is transactional else client.produce
            send(name, f"c{i}".encode(), partition=i % 2)
        client.commit_transaction(10)
        client.begin_transaction()
        send(name, b"a0", partition=0)
        send(name, b"a1", partition=1)
        client.flush(10)  # written, then aborted: the log holds them, marked
        client.abort_transaction(10)

    for partition in (0, 1):
        ours = _log(kafka_broker, topic, partition, markers=2)
        theirs = _log(kafka_broker, reference_topic, partition, markers=2)
        assert (
            _shape(ours)
            == _shape(theirs)
            == [
                ("data", [f"c{partition}", f"c{partition + 2}"]),
                "COMMIT",
                ("data", [f"a{partition}"]),
                "ABORT",
            ]
        )
        assert {entry[1] for entry in ours} == {ours[0][1]}  # one producer id throughout


def test_records_not_yet_sent_fail_when_the_transaction_aborts(
    kafka_broker: KafkaBroker, transactional: Producer, topic: str
) -> None:
    """Queued records of an aborted transaction fail with TransactionAbortedError and
    never reach the log; the next transaction works."""
    transactional.begin_transaction()
    queued = [transactional.send(topic, f"q{i}".encode(), partition=0) for i in range(3)]
    transactional.abort_transaction(10)
    for future in queued:
        error = future.exception(5)
        if error is not None:  # sent before the abort came: written, then marked aborted
            assert isinstance(error, TransactionAbortedError)
            assert error.transactional_id == transactional.config.transactional_id
    aborted_unsent = sum(future.exception(0) is not None for future in queued)
    with transactional.transaction():
        transactional.send(topic, b"after", partition=0)
    markers = 2 if aborted_unsent < 3 else 1
    log = _log(kafka_broker, topic, 0, markers=markers)
    assert log[-2:][0][3][-1:] == ["after"] and log[-1][0] == "COMMIT"
    values = [value for entry in log if entry[0] == "data" for value in entry[3]]
    assert len(values) == 3 - aborted_unsent + 1


def test_the_context_manager_commits_or_aborts(
    kafka_broker: KafkaBroker, transactional: Producer, topic: str
) -> None:
    with transactional.transaction():
        transactional.send(topic, b"kept", partition=0)
    with pytest.raises(RuntimeError, match="changed my mind"), transactional.transaction():
        transactional.send(topic, b"dropped", partition=0).result(5)
        raise RuntimeError("changed my mind")
    assert _shape(_log(kafka_broker, topic, 0, markers=2)) == [
        ("data", ["kept"]),
        "COMMIT",
        ("data", ["dropped"]),
        "ABORT",
    ]


def test_an_empty_transaction_sends_nothing(
    kafka_broker: KafkaBroker, transactional: Producer, topic: str
) -> None:
    """A transaction to which nothing was added ends without an EndTxn (as in Kafka's
    client): no marker anywhere."""
    transactional.begin_transaction()
    transactional.commit_transaction(5)
    transactional.begin_transaction()
    transactional.abort_transaction(5)
    with transactional.transaction():
        transactional.send(topic, b"one", partition=0)
    assert _shape(_log(kafka_broker, topic, 0, markers=1)) == [("data", ["one"]), "COMMIT"]


def test_calls_in_the_wrong_state_are_refused(transactional: Producer, topic: str) -> None:
    with pytest.raises(TransactionStateError, match="begin_transaction"):
        transactional.send(topic, b"outside", partition=0)
    with pytest.raises(TransactionStateError, match="begin_transaction"):
        transactional.commit_transaction(1)
    with pytest.raises(TransactionStateError, match="once, first"):
        transactional.init_transactions(1)
    transactional.begin_transaction()
    with pytest.raises(TransactionStateError, match="in transaction"):
        transactional.begin_transaction()
    transactional.abort_transaction(5)


def test_a_fenced_producer_fails_and_writes_nothing_more(
    kafka_broker: KafkaBroker, transactional: Producer, topic: str
) -> None:
    """A second producer with the same transactional id fences the first: the first's
    next calls raise ProducerFencedError (naming the transactional id), its records fail
    with it, and nothing it sends becomes visible; its open transaction is aborted by
    the coordinator."""
    transactional_id = transactional.config.transactional_id
    assert transactional_id is not None
    transactional.begin_transaction()
    transactional.send(topic, b"zombie-1", partition=0).result(5)
    successor = Producer(
        bootstrap_servers=kafka_broker.bootstrap, transactional_id=transactional_id
    )
    try:
        successor.init_transactions(10)  # bumps the epoch; aborts the zombie's transaction
        late = transactional.send(topic, b"zombie-2", partition=1)
        with pytest.raises(ProducerFencedError, match=transactional_id):
            transactional.commit_transaction(10)
        assert isinstance(late.exception(5), ProducerFencedError)
        with pytest.raises(ProducerFencedError, match=transactional_id):
            transactional.send(topic, b"zombie-3", partition=0)
        with pytest.raises(ProducerFencedError):
            transactional.begin_transaction()
        with successor.transaction():
            successor.send(topic, b"successor", partition=0)
    finally:
        successor.close(5)

    log = _log(kafka_broker, topic, 0, markers=2)
    (zombie_data, zombie_abort, successor_data, successor_commit) = log
    assert zombie_data[3] == ["zombie-1"] and zombie_abort[0] == "ABORT"
    assert successor_data[3] == ["successor"] and successor_commit[0] == "COMMIT"
    assert successor_data[2] > zombie_data[2]  # the successor's epoch is newer
    assert summarize(read_log(kafka_broker.host, kafka_broker.port, topic, 1)) == []


def test_consume_transform_produce_commits_offsets_with_the_records(
    kafka_broker: KafkaBroker, transactional: Producer, topic: str
) -> None:
    """Read from an input topic with confluent-kafka's consumer, write the transformed
    records and the consumer's offsets in one transaction: after a commit the group's
    committed offset is the transaction's; after an abort it is unchanged."""
    source = _name("txn-in")
    kafka_broker.create_topic(source, partitions=1)
    group = _name("txn-group")
    plain = Producer(bootstrap_servers=kafka_broker.bootstrap)
    for i in range(6):
        plain.send(source, f"in{i}".encode(), partition=0)
    plain.close(5)
    consumer = Consumer(
        {
            "bootstrap.servers": kafka_broker.bootstrap,
            "group.id": group,
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
            "log_level": 0,
        }
    )
    try:
        consumer.assign([LibrdkafkaTopicPartition(source, 0, 0)])
        consumed = _consume(consumer, 3)
        with transactional.transaction():
            for record in consumed:
                transactional.send(topic, record.value().upper(), partition=0)
            transactional.send_offsets_to_transaction(
                consumer.position(consumer.assignment()), group
            )
        assert _committed(consumer, source) == 3

        more = _consume(consumer, 3)
        transactional.begin_transaction()
        for record in more:
            transactional.send(topic, record.value().upper(), partition=0)
        transactional.send_offsets_to_transaction({(source, 0): more[-1].offset() + 1}, group)
        transactional.flush(10)  # written, so the abort has something to mark
        transactional.abort_transaction(10)
        assert _committed(consumer, source) == 3  # the aborted transaction's offsets: gone
    finally:
        consumer.close()

    assert _shape(_log(kafka_broker, topic, 0, markers=2)) == [
        ("data", ["IN0", "IN1", "IN2"]),
        "COMMIT",
        ("data", ["IN3", "IN4", "IN5"]),
        "ABORT",
    ]


def test_a_read_committed_consumer_stops_before_an_open_transaction(
    kafka_broker: KafkaBroker, transactional: Producer, topic: str
) -> None:
    """librdkafka with isolation.level=read_committed reads a committed transaction, not
    one still open (Tansu's last stable offset), and reads it once it commits."""
    with transactional.transaction():
        transactional.send(topic, b"committed", partition=0)
    transactional.begin_transaction()
    transactional.send(topic, b"open", partition=0).result(5)
    committed = {"isolation.level": "read_committed"}
    seen = consume_all(kafka_broker.bootstrap, topic, config=committed, idle_s=0.5)
    assert [r.value for r in seen] == [b"committed"]
    transactional.commit_transaction(10)
    seen = consume_all(kafka_broker.bootstrap, topic, expected=2, config=committed)
    assert [r.value for r in seen] == [b"committed", b"open"]


def _consume(consumer: Consumer, count: int) -> list[Any]:
    records: list[Any] = []
    for _ in range(50):
        for message in consumer.consume(num_messages=count - len(records), timeout=0.2):
            assert message.error() is None, message.error()
            records.append(message)
        if len(records) == count:
            return records
    raise AssertionError(f"consumed {len(records)} of {count} records")


def _committed(consumer: Consumer, topic: str) -> int:
    [partition] = consumer.committed([LibrdkafkaTopicPartition(topic, 0)], timeout=10)
    offset: int = partition.offset
    return offset
