"""Sender decisions that need no broker: expiry of a sequenced batch breaks the chain."""

from __future__ import annotations

from producer.accumulator import RecordAccumulator
from producer.batch import TopicPartition
from producer.buffer_pool import BufferPool
from producer.config import ProducerConfig
from producer.errors import DeliveryTimeoutError
from producer.idempotence import IdempotenceManager
from producer.metadata import BrokerNode, Cluster, Metadata, PartitionInfo
from producer.network import NetworkClient
from producer.records import CompressionType
from producer.sender import Sender

TP = TopicPartition("t", 0)
CLUSTER = Cluster([BrokerNode(1, "h", 1)], [PartitionInfo("t", 0, 1, 0, (1,), (1,))])


def test_expired_retry_with_a_sequence_asks_for_a_new_producer_id() -> None:
    config = ProducerConfig.from_settings({"bootstrap_servers": "127.0.0.1:1"})
    idempotence = IdempotenceManager()
    idempotence.set_producer_id(7, 0)
    accumulator = RecordAccumulator(
        batch_size_bytes=1024,
        compression=CompressionType.NONE,
        linger_ms=0,
        retry_backoff_ms=100,
        delivery_timeout_ms=config.delivery_timeout_ms,
        buffer_pool=BufferPool(1 << 20, 1024),
        idempotence=idempotence,
    )
    future, _ = accumulator.append(TP, 0, None, b"v", None, None, 0, now_ms=0)
    (batch,) = accumulator.drain(CLUSTER, {1}, 1 << 20, now_ms=0)[1]
    assert batch.has_sequence
    accumulator.reenqueue(batch, now_ms=10)  # a retriable failure put it back
    metadata = Metadata(metadata_max_age_ms=300_000, refresh_backoff_ms=100)
    expired_at = config.delivery_timeout_ms + 1
    with NetworkClient(
        config.bootstrap_servers,
        metadata=metadata,
        client_id="t",
        request_timeout_ms=1_000,
        max_in_flight_requests_per_connection=5,
    ) as client:
        sender = Sender(
            config,
            client=client,
            metadata=metadata,
            accumulator=accumulator,
            idempotence=idempotence,
            clock_ms=lambda: expired_at,
        )
        sender.run_once()
    assert isinstance(future.exception(0), DeliveryTimeoutError)
    assert idempotence.reset_pending  # later batches would otherwise hit OUT_OF_ORDER forever
    assert not idempotence.has_producer_id
