"""regcast.readback against a real broker, with confluent-kafka as the writer.

The demo's read-back must find exactly the records another client wrote, at the
offsets that client was told, whatever the compression and partitioning.
"""

from __future__ import annotations

from typing import Any

import pytest
from confluent_kafka import Producer as CkProducer

from regcast.local_broker import free_port
from regcast.readback import ReadBackError, read_back


def _produce(bootstrap: str, topic: str, count: int, compression: str) -> dict[Any, bytes]:
    """Write ``count`` records with confluent-kafka; (topic, partition, offset) -> value."""
    producer = CkProducer(
        {
            "bootstrap.servers": bootstrap,
            "compression.type": compression,
            "linger.ms": 5,
            "batch.num.messages": 40,  # several batches per partition
            "log_level": 0,
        }
    )
    written: dict[Any, bytes] = {}

    def on_delivery(error: Any, message: Any) -> None:
        assert error is None, error
        written[(message.topic(), message.partition(), message.offset())] = message.value()

    for i in range(count):
        producer.produce(
            topic, value=f"value-{i}".encode() * 3, key=str(i).encode(), on_delivery=on_delivery
        )
    assert producer.flush(15) == 0
    return written


@pytest.mark.parametrize("compression", ["none", "lz4", "zstd"])
def test_reads_back_what_confluent_kafka_wrote(kafka_broker: Any, compression: str) -> None:
    topic = f"readback-{compression}"
    kafka_broker.create_topic(topic, partitions=3)
    written = _produce(kafka_broker.bootstrap, topic, 300, compression)
    assert {partition for _, partition, _ in written} == {0, 1, 2}
    # Every 7th record, so most fetches start in the middle of a batch.
    wanted = sorted(written)[::7]
    found = read_back(kafka_broker.bootstrap, wanted, timeout_s=15)
    assert set(found) == set(wanted)
    for position in wanted:
        record = found[position]
        assert record.value == written[position]
        assert (record.topic, record.partition, record.offset) == position
        assert record.value is not None and record.key is not None
        assert record.value.startswith(b"value-" + record.key + b"value-")


def test_positions_beyond_the_log_are_absent_after_the_deadline(kafka_broker: Any) -> None:
    topic = "readback-short"
    kafka_broker.create_topic(topic, partitions=1)
    written = _produce(kafka_broker.bootstrap, topic, 3, "none")
    found = read_back(kafka_broker.bootstrap, [*written, (topic, 0, 50)], timeout_s=1.5)
    assert set(found) == set(written)


def test_unknown_topic_and_unreachable_broker_are_errors(kafka_broker: Any) -> None:
    with pytest.raises(ReadBackError, match="no-such-topic"):
        read_back(kafka_broker.bootstrap, [("no-such-topic", 0, 0)], timeout_s=5)
    with pytest.raises(ReadBackError, match=r"cannot connect to 127\.0\.0\.1:"):
        read_back(f"127.0.0.1:{free_port()}", [("t", 0, 0)], timeout_s=2)
