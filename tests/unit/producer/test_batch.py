"""ProducerBatch and RecordFuture: shared completion, exactly-once callbacks."""

from __future__ import annotations

import pytest

from producer.batch import ProducerBatch, RecordFuture, RecordMetadata, TopicPartition
from producer.errors import KafkaTimeoutError, ProducerError
from producer.records import CompressionType, RecordBatchBuilder

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
