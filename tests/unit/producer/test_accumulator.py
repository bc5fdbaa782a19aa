"""RecordAccumulator: readiness, drain per node, memory bound, expiry, retry order.

Time is passed in (``now_ms``); only the buffer-exhaustion test waits (50 ms), since
``max_block_ms`` is a real wait for the caller.
"""

from __future__ import annotations

import threading

import pytest

from producer.accumulator import RecordAccumulator
from producer.batch import ProducerBatch, TopicPartition
from producer.buffer_pool import BufferPool
from producer.errors import BufferExhaustedError, ProducerClosedError
from producer.idempotence import IdempotenceManager
from producer.metadata import BrokerNode, Cluster, PartitionInfo
from producer.records import CompressionType, decode_record_batches

T0 = TopicPartition("t", 0)
T1 = TopicPartition("t", 1)
T2 = TopicPartition("t", 2)


def _cluster() -> Cluster:
    """Partitions 0 and 1 led by node 1, partition 2 by node 2, topic 'u' leaderless."""
    return Cluster(
        [BrokerNode(1, "h", 1), BrokerNode(2, "h", 2)],
        [
            PartitionInfo("t", 0, 1, 0, (1,), (1,)),
            PartitionInfo("t", 1, 1, 0, (1,), (1,)),
            PartitionInfo("t", 2, 2, 0, (2,), (2,)),
            PartitionInfo("u", 0, -1, 0, (1,), ()),
        ],
    )


def _accumulator(
    *,
    batch_size: int = 1024,
    buffer_memory: int = 1 << 20,
    linger_ms: int = 10,
    idempotence: IdempotenceManager | None = None,
    guarantee_order: bool = False,
) -> RecordAccumulator:
    return RecordAccumulator(
        batch_size_bytes=batch_size,
        compression=CompressionType.NONE,
        linger_ms=linger_ms,
        retry_backoff_ms=100,
        delivery_timeout_ms=1000,
        buffer_pool=BufferPool(buffer_memory, batch_size),
        idempotence=idempotence,
        guarantee_order=guarantee_order,
    )


def _append(acc: RecordAccumulator, tp: TopicPartition, now_ms: int = 0, size: int = 10):
    return acc.append(tp, 1_000, None, b"v" * size, None, None, 0, now_ms)


def test_batch_becomes_ready_after_linger() -> None:
    acc = _accumulator(linger_ms=10)
    _future, wake = _append(acc, T0)
    assert wake  # a new batch: the sender should look
    early = acc.ready(_cluster(), now_ms=5)
    assert early.ready_nodes == set()
    assert early.next_ready_check_delay_ms == 5
    assert acc.ready(_cluster(), now_ms=10).ready_nodes == {1}


def test_full_batch_is_ready_at_once() -> None:
    acc = _accumulator(batch_size=200, linger_ms=1_000)
    wakes = [_append(acc, T0, size=50)[1] for _ in range(6)]
    assert wakes[0] and any(wakes[1:])
    assert acc.ready(_cluster(), now_ms=0).ready_nodes == {1}


def test_drain_groups_partitions_by_leader_one_list_per_node() -> None:
    acc = _accumulator(linger_ms=0)
    for tp in (T0, T1, T2):
        _append(acc, tp)
    ready = acc.ready(_cluster(), now_ms=0)
    assert ready.ready_nodes == {1, 2}
    drained = acc.drain(_cluster(), ready.ready_nodes, 1 << 20, now_ms=0)
    assert {b.topic_partition for b in drained[1]} == {T0, T1}
    assert [b.topic_partition for b in drained[2]] == [T2]
    assert not acc.has_undrained()


def test_drain_respects_max_request_size_but_always_takes_one() -> None:
    acc = _accumulator(linger_ms=0, batch_size=4096)
    _append(acc, T0, size=1000)
    _append(acc, T1, size=1000)
    drained = acc.drain(_cluster(), {1}, 1200, now_ms=0)
    assert len(drained[1]) == 1
    assert acc.has_undrained()
    drained = acc.drain(_cluster(), {1}, 1200, now_ms=0)
    assert len(drained[1]) == 1


def test_unknown_leader_is_reported() -> None:
    acc = _accumulator(linger_ms=0)
    _append(acc, TopicPartition("u", 0))
    ready = acc.ready(_cluster(), now_ms=0)
    assert ready.ready_nodes == set()
    assert ready.unknown_leader_topics == {"u"}


def test_send_blocks_then_raises_when_buffer_memory_is_full() -> None:
    acc = _accumulator(batch_size=1000, buffer_memory=2000, linger_ms=0)
    _append(acc, T0)
    _append(acc, T1)
    with pytest.raises(BufferExhaustedError, match="buffer_memory"):
        acc.append(T2, 0, None, b"x", None, None, 50, 0)


def test_completed_batch_frees_memory_for_a_blocked_send() -> None:
    acc = _accumulator(batch_size=1000, buffer_memory=1000, linger_ms=0)
    _append(acc, T0)
    (batch,) = acc.drain(_cluster(), {1}, 1 << 20, now_ms=0)[1]
    outcome: list[object] = []
    thread = threading.Thread(
        target=lambda: outcome.append(acc.append(T1, 0, None, b"x", None, None, 5_000, 0))
    )
    thread.start()
    batch.complete(0, -1)
    acc.sent_batch_done(batch)
    acc.deallocate(batch)
    thread.join(5)
    assert len(outcome) == 1 and acc.has_undrained()


def test_expired_batches_leave_the_queue() -> None:
    acc = _accumulator(linger_ms=5_000)
    _append(acc, T0, now_ms=0)
    assert acc.expired_batches(now_ms=999) == []
    (expired,) = acc.expired_batches(now_ms=1000)
    assert expired.topic_partition == T0
    assert not acc.has_undrained()


def test_reenqueued_batch_goes_first_and_waits_for_backoff() -> None:
    acc = _accumulator(linger_ms=0)
    _append(acc, T0, now_ms=0)
    (first,) = acc.drain(_cluster(), {1}, 1 << 20, now_ms=0)[1]
    _append(acc, T0, now_ms=1)
    acc.reenqueue(first, now_ms=10)
    assert acc.ready(_cluster(), now_ms=50).ready_nodes == set()
    assert acc.ready(_cluster(), now_ms=110).ready_nodes == {1}
    (again,) = acc.drain(_cluster(), {1}, 1 << 20, now_ms=110)[1]
    assert again is first and first.attempts == 1


def test_idempotent_drain_stamps_sequences_and_mutes_retries() -> None:
    idem = IdempotenceManager()
    idem.set_producer_id(42, 0)
    acc = _accumulator(linger_ms=0, idempotence=idem)
    for _ in range(3):
        _append(acc, T0)
    (b1,) = acc.drain(_cluster(), {1}, 1 << 20, now_ms=0)[1]
    acc.ready(_cluster(), 0)
    _append(acc, T0)  # a second batch for T0
    b2 = next(b for b in acc.drain(_cluster(), {1}, 1 << 20, now_ms=0)[1])
    assert (b1.base_sequence, b2.base_sequence) == (0, 3)
    header = decode_record_batches(b1.records())[0]
    assert (header.producer_id, header.base_sequence) == (42, 0)
    # b1 fails and comes back while b2 is still in flight: it must wait for b2
    acc.reenqueue(b1, now_ms=0)
    assert acc.drain(_cluster(), {1}, 1 << 20, now_ms=500) == {}
    acc.reenqueue(b2, now_ms=0)
    retried = acc.drain(_cluster(), {1}, 1 << 20, now_ms=500)[1]
    assert retried == [b1]


def test_in_order_mode_mutes_partition_with_batch_in_flight() -> None:
    acc = _accumulator(linger_ms=0, guarantee_order=True)
    _append(acc, T0)
    first: ProducerBatch = acc.drain(_cluster(), {1}, 1 << 20, now_ms=0)[1][0]
    _append(acc, T0)
    assert acc.ready(_cluster(), now_ms=0).ready_nodes == set()
    first.complete(0, -1)
    acc.sent_batch_done(first)
    assert acc.ready(_cluster(), now_ms=0).ready_nodes == {1}


def test_closed_accumulator_refuses_appends() -> None:
    acc = _accumulator()
    acc.close()
    with pytest.raises(ProducerClosedError):
        _append(acc, T0)


def test_abort_fails_every_future_exactly_once() -> None:
    acc = _accumulator(linger_ms=0)
    futures = [_append(acc, tp)[0] for tp in (T0, T1, T2)]
    acc.abort_incomplete_batches(ProducerClosedError("closed"))
    assert all(isinstance(f.exception(0), ProducerClosedError) for f in futures)
    assert not acc.has_incomplete()
