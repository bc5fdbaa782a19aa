"""The evidence issue 17's transaction tests will rest on, proven with the reference client.

Tansu runs transactions but its Fetch lists no aborted transactions, so consumers cannot
tell a committed record from an aborted one there. ``tests.support.transaction_log``
reads the log itself: here confluent-kafka's transactional producer (librdkafka) commits
one transaction and aborts another on Tansu, and the log must show exactly that: the
batches with the transactional bit and the producer's id and epoch, each transaction
followed by its COMMIT or ABORT marker for the same id and epoch. A producer fenced by a
newer one with the same transactional id must leave nothing more in the log. When
regcast's producer has transactions, its tests check its logs the same way.
"""

from __future__ import annotations

import uuid

import pytest
from confluent_kafka import KafkaError
from confluent_kafka import Producer as LibrdkafkaProducer

from tests.conftest import KafkaBroker
from tests.support.consume import consume_all
from tests.support.transaction_log import read_log, summarize, wait_for_marker

pytestmark = pytest.mark.timeout(60)


def _transactional(kafka_broker: KafkaBroker, transactional_id: str) -> LibrdkafkaProducer:
    producer = LibrdkafkaProducer(
        {
            "bootstrap.servers": kafka_broker.bootstrap,
            "transactional.id": transactional_id,
            "log_level": 0,
        }
    )
    producer.init_transactions(15)
    return producer


def _send(producer: LibrdkafkaProducer, topic: str, *values: str) -> None:
    for value in values:
        producer.produce(topic, value=value.encode(), partition=0)
    assert producer.flush(15) == 0


def test_the_log_shows_librdkafkas_commit_and_abort(kafka_broker: KafkaBroker) -> None:
    topic = f"txn-log-{uuid.uuid4().hex[:8]}"
    kafka_broker.create_topic(topic, partitions=1)
    producer = _transactional(kafka_broker, f"txn-log-{uuid.uuid4().hex[:8]}")
    producer.begin_transaction()
    _send(producer, topic, "c1", "c2", "c3")
    producer.commit_transaction(15)
    producer.begin_transaction()
    _send(producer, topic, "a1", "a2")
    producer.abort_transaction(15)
    wait_for_marker(kafka_broker.host, kafka_broker.port, topic, 0, count=2)

    summary = summarize(read_log(kafka_broker.host, kafka_broker.port, topic))
    [pid] = {entry[1] for entry in summary}
    [epoch] = {entry[2] for entry in summary}
    assert summary == [
        ("data", pid, epoch, ["c1", "c2", "c3"]),
        ("COMMIT", pid, epoch),
        ("data", pid, epoch, ["a1", "a2"]),
        ("ABORT", pid, epoch),
    ]


def test_the_log_shows_a_fenced_producer_wrote_nothing_more(kafka_broker: KafkaBroker) -> None:
    """A newer producer with the same transactional id fences the first: the first's next
    record is refused with PRODUCER_FENCED (90) and never reaches the log; its open
    transaction is aborted."""
    topic = f"txn-fence-{uuid.uuid4().hex[:8]}"
    kafka_broker.create_topic(topic, partitions=1)
    transactional_id = f"txn-fence-{uuid.uuid4().hex[:8]}"
    zombie = _transactional(kafka_broker, transactional_id)
    zombie.begin_transaction()
    _send(zombie, topic, "z1")
    successor = _transactional(kafka_broker, transactional_id)  # bumps the epoch
    refused: list[KafkaError | None] = []
    zombie.produce(topic, value=b"z2", partition=0, on_delivery=lambda e, _m: refused.append(e))
    zombie.flush(15)
    assert [e.code() if e else None for e in refused] == [KafkaError.PRODUCER_FENCED]
    successor.begin_transaction()
    _send(successor, topic, "s1")
    successor.commit_transaction(15)
    wait_for_marker(kafka_broker.host, kafka_broker.port, topic, 0, count=2)

    summary = summarize(read_log(kafka_broker.host, kafka_broker.port, topic))
    [pid] = {entry[1] for entry in summary}
    zombie_epoch = summary[0][2]
    (abort, abort_pid, abort_epoch) = summary[1]
    # Kafka writes the abort with the bumped epoch; Tansu 0.6 writes the zombie's own
    assert (abort, abort_pid) == ("ABORT", pid) and abort_epoch in (zombie_epoch, zombie_epoch + 1)
    assert summary == [
        ("data", pid, zombie_epoch, ["z1"]),
        summary[1],
        ("data", pid, zombie_epoch + 1, ["s1"]),
        ("COMMIT", pid, zombie_epoch + 1),
    ], summary


def test_a_read_committed_consumer_stops_before_an_open_transaction(
    kafka_broker: KafkaBroker,
) -> None:
    """What Tansu's isolation does give: a ``read_committed`` consumer reads up to the
    last stable offset, so records of a transaction still open stay out of sight (while
    ``read_uncommitted`` sees them), and appear once it commits."""
    topic = f"txn-open-{uuid.uuid4().hex[:8]}"
    kafka_broker.create_topic(topic, partitions=1)
    producer = _transactional(kafka_broker, f"txn-open-{uuid.uuid4().hex[:8]}")
    producer.begin_transaction()
    _send(producer, topic, "c1")
    producer.commit_transaction(15)
    producer.begin_transaction()
    _send(producer, topic, "o1", "o2")

    def values(isolation: str) -> list[bytes | None]:
        config = {"isolation.level": isolation}
        records = consume_all(kafka_broker.bootstrap, topic, idle_s=0.5, config=config)
        return [r.value for r in records]

    assert values("read_committed") == [b"c1"]
    assert values("read_uncommitted") == [b"c1", b"o1", b"o2"]
    producer.commit_transaction(15)
    assert values("read_committed") == [b"c1", b"o1", b"o2"]
