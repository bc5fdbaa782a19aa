"""Read back what reached a broker, with confluent-kafka's consumer as the judge.

``check.crcs`` is on, so a record batch whose CRC-32C regcast got wrong fails here
instead of being silently accepted.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from confluent_kafka import Consumer, KafkaError, TopicPartition


@dataclass(frozen=True, slots=True)
class ConsumedRecord:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: list[tuple[str, bytes | None]]
    timestamp_type: int
    timestamp_ms: int


def consume_all(
    bootstrap: str,
    topic: str,
    *,
    expected: int | None = None,
    timeout_s: float = 30.0,
    idle_s: float = 1.0,
    config: dict[str, object] | None = None,
) -> list[ConsumedRecord]:
    """Every record of every partition of ``topic``, from the beginning.

    Stops when ``expected`` records were read, or when every partition reached its end
    and nothing new came for ``idle_s``; raises on a consumer error (a bad CRC, a
    corrupt batch) and on ``timeout_s``. ``config`` adds or overrides librdkafka settings
    (``security.protocol``, ``ssl.ca.location``, ``sasl.*``) to read over a secured listener.
    """
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"regcast-check-{time.monotonic_ns()}",
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
            "check.crcs": True,
            "enable.partition.eof": True,
            "fetch.max.bytes": 64 * 1024 * 1024,
            "max.partition.fetch.bytes": 16 * 1024 * 1024,
            "log_level": 0,
        }
        | (config or {})
    )
    try:
        metadata = consumer.list_topics(topic, timeout=10)
        topic_md = metadata.topics[topic]
        if topic_md.error is not None:
            raise RuntimeError(f"topic {topic!r}: {topic_md.error}")
        partitions = sorted(topic_md.partitions)
        consumer.assign([TopicPartition(topic, p, 0) for p in partitions])
        records: list[ConsumedRecord] = []
        at_eof: set[int] = set()
        deadline = time.monotonic() + timeout_s
        last_progress = time.monotonic()
        while True:
            if expected is not None and len(records) >= expected:
                break
            if (
                expected is None
                and len(at_eof) == len(partitions)
                and time.monotonic() - last_progress >= idle_s
            ):
                break
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"consumed {len(records)} records of {topic!r} "
                    f"(expected {expected}) in {timeout_s}s"
                )
            for msg in consumer.consume(num_messages=10000, timeout=0.2):
                err = msg.error()
                if err is not None:
                    if err.code() == KafkaError._PARTITION_EOF:
                        at_eof.add(msg.partition())
                        continue
                    raise RuntimeError(f"consumer error on {topic!r}: {err}")
                at_eof.discard(msg.partition())
                last_progress = time.monotonic()
                ts_type, ts = msg.timestamp()
                records.append(
                    ConsumedRecord(
                        topic=msg.topic(),
                        partition=msg.partition(),
                        offset=msg.offset(),
                        key=msg.key(),
                        value=msg.value(),
                        headers=list(msg.headers() or []),
                        timestamp_type=ts_type,
                        timestamp_ms=ts,
                    )
                )
        return records
    finally:
        consumer.close()
