"""ProducerBatch and RecordFuture: shared completion, exactly-once callbacks."""

from __future__ import annotations

import pytest

from producer.batch import ProducerBatch, RecordFuture, RecordMetadata, TopicPartition
from producer.errors import KafkaTimeoutError, ProducerError
from producer.records import CompressionType, RecordBatchBuilder, decode_record_batches

TP = TopicPartition("orders", 3)


def _batch() -> ProducerBatch:
    return ProducerBatch(TP, RecordBatchBuilder(CompressionType.NONE, 1024, 0), 0, 1024)


def test_offsets_are_base_plus_position_and_callbacks_run_once() -> None:
    batch = _batch()
    delivered: list[tuple[object, object]] = []
    futures = [
        batch.try_append(1_000 + i, b"k", b"v" * i, None, lambda e, m: delivered.append((e, m)))
        for i in range(3)
    ]
    assert all(isinstance(f, RecordFuture) for f in futures)
    done: list[RecordFuture] = []
    futures[0].add_done_callback(done.append)  # type: ignore[union-attr]
    assert not futures[0].done()  # type: ignore[union-attr]
    assert batch.complete(100, -1)
    assert not batch.fail(ProducerError("late"))  # a second completion is ignored
    metas = [f.result(0) for f in futures]  # type: ignore[union-attr]
    assert [m.offset for m in metas] == [100, 101, 102]
    assert metas[2] == RecordMetadata("orders", 3, 102, 1_002, 1, 2)
    assert len(delivered) == 3 and all(e is None for e, _ in delivered)
    assert done == [futures[0]]


def test_log_append_time_replaces_create_time() -> None:
    batch = _batch()
    future = batch.try_append(5, None, b"v", None, None)
    batch.complete(7, 99)
    assert future is not None and future.result(0).timestamp_ms == 99


def test_failure_reaches_result_exception_and_callbacks() -> None:
    batch = _batch()
    seen: list[object] = []
    future = batch.try_append(5, None, b"v", None, lambda e, m: seen.append((e, m)))
    assert future is not None
    error = ProducerError("boom")
    batch.fail(error)
    with pytest.raises(ProducerError, match="boom"):
        future.result(0)
    assert future.exception(0) is error
    assert seen == [(error, None)]
    late: list[RecordFuture] = []
    future.add_done_callback(late.append)  # added after completion: runs at once
    assert late == [future]


def test_result_times_out_with_a_typed_error() -> None:
    future = _batch().try_append(5, None, b"v", None, None)
    assert future is not None
    with pytest.raises(KafkaTimeoutError, match="orders-3"):
        future.result(0.01)


def test_callback_errors_do_not_stop_other_callbacks() -> None:
    batch = _batch()
    seen: list[int] = []

    def bad(_e: object, _m: object) -> None:
        raise RuntimeError("user bug")

    batch.try_append(5, None, b"a", None, bad)
    batch.try_append(5, None, b"b", None, lambda e, m: seen.append(1))
    batch.complete(0, -1)
    assert seen == [1]


# --------------------------------------------------------------------------- split


def _filled(
    count: int, compression: CompressionType = CompressionType.NONE
) -> tuple[ProducerBatch, list[RecordFuture], list[tuple[object, object]]]:
    batch = ProducerBatch(TP, RecordBatchBuilder(compression, 1 << 16, 1_000), 1_000, 1 << 16)
    delivered: list[tuple[object, object]] = []
    futures = []
    for i in range(count):
        future = batch.try_append(
            1_000 + 3 * i,
            f"k{i}".encode(),
            f"v{i}".encode(),
            [("h", str(i).encode())],
            lambda e, m: delivered.append((e, m)),
        )
        assert future is not None
        futures.append(future)
    return batch, futures, delivered


@pytest.mark.parametrize("compression", [CompressionType.NONE, CompressionType.LZ4])
def test_split_halves_hold_the_records_and_futures_read_their_part(
    compression: CompressionType,
) -> None:
    batch, futures, delivered = _filled(5, compression)
    parts = batch.split()
    assert [start for start, _ in parts] == [0, 2]
    decoded = [decode_record_batches(part.records())[0] for _, part in parts]
    records = [
        (b.base_timestamp + r.timestamp_delta, r.key, r.value, r.headers)
        for b in decoded
        for r in b.records
    ]
    assert records == [
        (1_000 + 3 * i, f"k{i}".encode(), f"v{i}".encode(), [("h", str(i).encode())])
        for i in range(5)
    ]
    assert all(b.compression is compression for b in decoded)
    batch.produce_future.split_into([(start, part.produce_future) for start, part in parts])
    parts[1][1].complete(70, -1)  # the second part first: nothing is done before all are
    assert futures[4].error() is None
    assert not batch.is_done
    parts[0][1].complete(40, -1)
    batch.done(-1, -1, None)
    assert [f.result(0).offset for f in futures] == [40, 41, 70, 71, 72]
    assert [f.result(0).timestamp_ms for f in futures] == [1_000 + 3 * i for i in range(5)]
    assert [m.offset for _, m in delivered] == [40, 41, 70, 71, 72]  # type: ignore[attr-defined]


def test_a_part_split_again_and_a_failed_part_reach_their_records_only() -> None:
    batch, futures, delivered = _filled(8)
    (_, first), (_, second) = batch.split()  # records 0-3 and 4-7
    batch.produce_future.split_into([(0, first.produce_future), (4, second.produce_future)])
    (_, first_a), (_, first_b) = first.split()  # records 0-1 and 2-3
    first.produce_future.split_into([(0, first_a.produce_future), (2, first_b.produce_future)])
    first_a.complete(10, -1)
    first_b.complete(20, -1)
    first.done(-1, -1, None)
    error = ProducerError("refused")
    second.fail(error)
    batch.done(-1, -1, error)
    assert [f.result(0).offset for f in futures[:4]] == [10, 11, 20, 21]
    assert all(f.exception(0) is error for f in futures[4:])
    assert [e for e, _ in delivered] == [None] * 4 + [error] * 4


def test_a_split_batch_failed_as_a_whole_leaves_no_part_pending() -> None:
    batch, futures, delivered = _filled(4)
    parts = batch.split()
    batch.produce_future.split_into([(start, part.produce_future) for start, part in parts])
    parts[0][1].complete(10, -1)
    error = ProducerError("closed")
    assert batch.fail(error)  # a forced close while the second part is still queued
    assert [f.exception(0) for f in futures] == [None, None, error, error]
    assert parts[1][1].is_done and not parts[1][1].fail(ProducerError("later"))
    assert len(delivered) == 4
