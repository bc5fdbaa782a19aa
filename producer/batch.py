"""ProducerBatch and the futures of its records.

After Kafka's ``ProducerBatch``, ``ProduceRequestResult`` and ``FutureRecordMetadata``.

Futures are cheap by construction: every record of a batch shares the batch's one
:class:`ProduceRequestResult` (set once; it holds the topic-partition and the batch's
first timestamp too), and a :class:`RecordFuture` is a small slotted object holding
what only that record knows: its offset and its timestamp relative to the batch's
(small ints, which CPython shares), and its key and value sizes. A record's offset and
timestamp are only computed when asked for. Callers keep these by the hundred thousand,
so every slot counts: a future with its ints is about 70-130 bytes.

Split batches: a batch the broker refuses as too large (MESSAGE_TOO_LARGE) is split
into two new batches (:meth:`ProducerBatch.split`), sent in its place. Its futures stay
as they are: the batch's result learns which part each range of records went to
(:meth:`ProduceRequestResult.split_into`), and a future reads its offset and error from
its part. The batch itself completes once every part has.

Exactly-once completion: :meth:`ProducerBatch.complete` and :meth:`ProducerBatch.fail`
go through :meth:`ProducerBatch.done`, which completes the batch the first time and
returns False on every later call; the sender, the expiry check and ``close()`` may race
to finish a batch and only one of them wins. Callbacks run on the thread that completes
the batch (the sender thread, or the caller of ``close()``), as in Kafka: keep them short.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import NamedTuple

from producer.errors import KafkaTimeoutError
from producer.records import Headers, RecordBatchBuilder, decode_record_batches

__all__ = [
    "DeliveryCallback",
    "ProduceRequestResult",
    "ProducerBatch",
    "RecordFuture",
    "RecordMetadata",
    "TopicPartition",
]

log = logging.getLogger(__name__)


class TopicPartition(NamedTuple):
    topic: str
    partition: int


class RecordMetadata(NamedTuple):
    """Where a record was written. ``offset`` is -1 with ``acks=0`` (the broker never says).

    ``timestamp_ms`` is the broker's log-append time when the topic uses it, else the
    record's create time. A NamedTuple: one is built per record for delivery callbacks,
    and a tuple is several times cheaper to build than a frozen dataclass.
    """

    topic: str
    partition: int
    offset: int
    timestamp_ms: int
    serialized_key_size: int
    serialized_value_size: int


DeliveryCallback = Callable[[BaseException | None, RecordMetadata | None], None]
"""``on_delivery(error, metadata)``: exactly one of the two is None."""


_RESULT_LOCK = threading.Lock()
"""Guards every ProduceRequestResult's waiters: setting a result takes it once per batch,
and a lock per batch would cost more than it saves."""


class ProduceRequestResult:
    """The outcome of one batch, shared by all of its records' futures.

    The event a thread blocks on is created only when one does so before the batch
    completes: most results are never waited on that way (``flush()`` waits on the last
    batch's, callbacks and ``done()`` need none).
    """

    __slots__ = (
        "_done",
        "_event",
        "_parts",
        "_waiters",
        "base_offset",
        "base_timestamp_ms",
        "error",
        "log_append_time_ms",
        "topic_partition",
    )

    def __init__(self, topic_partition: TopicPartition, base_timestamp_ms: int) -> None:
        self.topic_partition = topic_partition
        self.base_timestamp_ms = base_timestamp_ms
        self._done = False
        self._event: threading.Event | None = None
        self._waiters: list[Callable[[], object]] | None = None
        self._parts: list[tuple[int, ProduceRequestResult]] | None = None
        self.base_offset = -1
        self.log_append_time_ms = -1
        self.error: BaseException | None = None

    def done(self) -> bool:
        return self._done

    def wait(self, timeout_s: float | None) -> bool:
        if self._done:
            return True
        with _RESULT_LOCK:
            if self._done:
                return True
            event = self._event
            if event is None:
                event = self._event = threading.Event()
        return event.wait(timeout_s)

    def set(self, base_offset: int, log_append_time_ms: int, error: BaseException | None) -> bool:
        """Record the outcome once, wake waiters, run the callbacks; False if already set."""
        with _RESULT_LOCK:
            if self._done:
                return False
            self.base_offset = base_offset
            self.log_append_time_ms = log_append_time_ms
            self.error = error
            self._done = True
            event, waiters = self._event, self._waiters
            self._event = self._waiters = None
        if event is not None:
            event.set()
        if waiters:
            for waiter in waiters:
                _run_callback(waiter)
        return True

    def split_into(self, parts: list[tuple[int, ProduceRequestResult]]) -> None:
        """Records from each part's first offset (relative to this batch) on went to that
        part's batch; ``parts`` in offset order, the first starting at 0."""
        self._parts = parts

    def fail_pending_parts(self, error: BaseException) -> None:
        """Fail every part (and part of a part) not complete yet: this batch is being
        failed as a whole (expiry of the batch, a forced close)."""
        for _, part in self._parts or ():
            part.fail_pending_parts(error)
            part.set(-1, -1, error)

    def part_for(self, relative_offset: int) -> tuple[ProduceRequestResult, int]:
        """The result that holds the record at ``relative_offset``, and its offset there."""
        result = self
        while result._parts is not None:
            for start, part in reversed(result._parts):
                if relative_offset >= start:
                    result, relative_offset = part, relative_offset - start
                    break
        return result, relative_offset

    def on_done(self, callback: Callable[[], object]) -> None:
        """Run ``callback`` once the outcome is known (now, if it already is)."""
        with _RESULT_LOCK:
            if not self._done:
                if self._waiters is None:
                    self._waiters = []
                self._waiters.append(callback)
                return
        _run_callback(callback)


def _run_callback(callback: Callable[[], object]) -> None:
    try:
        callback()
    except Exception:  # a user callback must not kill the sender thread
        log.exception("a delivery callback raised")


class RecordFuture:
    """The pending outcome of one ``send()``: ``result()``, ``exception()``, ``done()``.

    Shaped like :class:`concurrent.futures.Future` where it matters (``result(timeout)``
    raises the delivery error, ``add_done_callback(fn)`` calls ``fn(future)``).
    """

    __slots__ = ("_relative_offset", "_result", "_timestamp_delta_ms", "key_size", "value_size")

    def __init__(
        self,
        result: ProduceRequestResult,
        relative_offset: int,
        timestamp_delta_ms: int,
        key_size: int,
        value_size: int,
    ) -> None:
        self._result = result
        self._relative_offset = relative_offset
        self._timestamp_delta_ms = timestamp_delta_ms
        self.key_size = key_size
        self.value_size = value_size

    @property
    def topic_partition(self) -> TopicPartition:
        return self._result.topic_partition

    def done(self) -> bool:
        return self._result.done()

    def result(self, timeout: float | None = None) -> RecordMetadata:
        """The record's metadata; raises its delivery error, or a timeout after ``timeout`` s."""
        self._wait(timeout)
        error = self.error()
        if error is not None:
            raise error
        return self._metadata()

    def exception(self, timeout: float | None = None) -> BaseException | None:
        self._wait(timeout)
        return self.error()

    def error(self) -> BaseException | None:
        """The delivery error once done (None if delivered), without waiting."""
        result = self._result
        if result._parts is not None:
            result = result.part_for(self._relative_offset)[0]
        return result.error

    def add_done_callback(self, fn: Callable[[RecordFuture], object]) -> None:
        self._result.on_done(lambda: fn(self))

    def _wait(self, timeout: float | None) -> None:
        if not self._result.wait(timeout):
            tp = self.topic_partition
            raise KafkaTimeoutError(
                f"record for {tp.topic}-{tp.partition} not delivered within {timeout} s "
                "(it is still pending; the producer's delivery_timeout_ms bounds it)"
            )

    def _metadata(self) -> RecordMetadata:
        result = self._result
        written, relative_offset = result, self._relative_offset
        if result._parts is not None:  # its batch was split: the part it went with
            written, relative_offset = result.part_for(relative_offset)
        base = written.base_offset
        tp = result.topic_partition
        log_append_time_ms = written.log_append_time_ms
        return RecordMetadata(
            tp.topic,
            tp.partition,
            base + relative_offset if base >= 0 else -1,
            log_append_time_ms
            if log_append_time_ms >= 0
            else result.base_timestamp_ms + self._timestamp_delta_ms,
            self.key_size,
            self.value_size,
        )

    def __repr__(self) -> str:
        tp = self.topic_partition
        state = "done" if self.done() else "pending"
        return f"RecordFuture({tp.topic}-{tp.partition}, {state})"


class ProducerBatch:
    """Records for one topic-partition on their way to the broker, and their futures.

    Appends happen under the partition deque's lock (caller threads); everything else
    (drain, stamping, completion) on the sender thread.
    """

    __slots__ = (
        "_callbacks",
        "attempts",
        "base_sequence",
        "builder",
        "created_ms",
        "is_transactional",
        "last_attempt_ms",
        "produce_future",
        "producer_epoch",
        "producer_id",
        "reserved_bytes",
        "topic_partition",
    )

    def __init__(
        self,
        topic_partition: TopicPartition,
        builder: RecordBatchBuilder,
        created_ms: int,
        reserved_bytes: int,
    ) -> None:
        self.topic_partition = topic_partition
        self.builder = builder
        self.created_ms = created_ms
        self.last_attempt_ms = created_ms
        self.attempts = 0
        self.reserved_bytes = reserved_bytes
        self.produce_future = ProduceRequestResult(topic_partition, builder.base_timestamp_ms)
        self.producer_id = -1
        self.producer_epoch = -1
        self.base_sequence = -1
        self.is_transactional = False
        self._callbacks: list[tuple[RecordFuture, DeliveryCallback]] = []

    # ------------------------------------------------------------------ caller threads

    def try_append(
        self,
        timestamp_ms: int,
        key: bytes | None,
        value: bytes | None,
        headers: Headers | None,
        on_delivery: DeliveryCallback | None,
    ) -> RecordFuture | None:
        """Append one record; its future, or None when the batch has no room."""
        offset = self.builder.try_append(timestamp_ms, key, value, headers)
        if offset < 0:
            return None
        result = self.produce_future
        future = RecordFuture(
            result,
            offset,
            timestamp_ms - result.base_timestamp_ms,
            -1 if key is None else len(key),
            -1 if value is None else len(value),
        )
        if on_delivery is not None:
            # appended under the partition's deque lock: no lock of its own per record
            self._callbacks.append((future, on_delivery))
        return future

    # ------------------------------------------------------------------ sender thread

    @property
    def record_count(self) -> int:
        return self.builder.record_count

    @property
    def estimated_size_bytes(self) -> int:
        return self.builder.estimated_size_bytes

    def is_full(self) -> bool:
        return self.builder.is_full

    @property
    def has_sequence(self) -> bool:
        return self.base_sequence >= 0

    def set_producer_state(
        self,
        producer_id: int,
        producer_epoch: int,
        base_sequence: int,
        is_transactional: bool = False,
    ) -> None:
        self.producer_id = producer_id
        self.producer_epoch = producer_epoch
        self.base_sequence = base_sequence
        self.is_transactional = is_transactional

    def records(self) -> bytes | memoryview:
        """The batch's wire bytes, stamped with its producer id, epoch and sequence and,
        in a transaction, the transactional bit (a view of the batch's buffer when
        uncompressed: encode it before the batch is deallocated)."""
        return self.builder.build(
            self.producer_id, self.producer_epoch, self.base_sequence, self.is_transactional
        )

    def has_reached_delivery_timeout(self, delivery_timeout_ms: int, now_ms: int) -> bool:
        return now_ms - self.created_ms >= delivery_timeout_ms

    def is_backing_off(self, retry_backoff_ms: int, now_ms: int) -> bool:
        """A retried batch waits ``retry_backoff_ms`` after its last attempt."""
        return self.attempts > 0 and now_ms - self.last_attempt_ms < retry_backoff_ms

    def split(self) -> list[tuple[int, ProducerBatch]]:
        """Two batches holding this batch's records, each half of them, with the first
        record offset (relative to this batch) of each (sender thread).

        For a batch the broker refused as too large. The parts are built in buffers of
        their own, not from the pool: this batch keeps its reservation until they are
        done. Their futures are this batch's (see :meth:`ProduceRequestResult.split_into`).
        """
        (decoded,) = decode_record_batches(self.records())
        records = decoded.records
        middle = len(records) // 2
        parts: list[tuple[int, ProducerBatch]] = []
        for start, chunk in ((0, records[:middle]), (middle, records[middle:])):
            first_timestamp_ms = decoded.base_timestamp + chunk[0].timestamp_delta
            builder = RecordBatchBuilder(
                self.builder.compression, self.builder.batch_size_bytes, first_timestamp_ms
            )
            for record in chunk:
                offset = builder.try_append(
                    decoded.base_timestamp + record.timestamp_delta,
                    record.key,
                    record.value,
                    record.headers,
                )
                if offset < 0:  # cannot happen: a part holds less than the batch did
                    raise AssertionError(f"a part of {self!r} refused a record")
            part = ProducerBatch(self.topic_partition, builder, self.created_ms, 0)
            part.attempts = self.attempts
            part.last_attempt_ms = self.last_attempt_ms
            parts.append((start, part))
        return parts

    def reenqueued(self, now_ms: int) -> None:
        self.attempts += 1
        self.last_attempt_ms = now_ms

    @property
    def is_done(self) -> bool:
        return self.produce_future.done()

    def complete(self, base_offset: int, log_append_time_ms: int) -> bool:
        return self.done(base_offset, log_append_time_ms, None)

    def fail(self, error: BaseException) -> bool:
        return self.done(-1, -1, error)

    def done(self, base_offset: int, log_append_time_ms: int, error: BaseException | None) -> bool:
        """Complete the batch once; False (and nothing happens) if it already was."""
        if error is not None and self.produce_future._parts is not None:
            # failed as a whole while split: no record may stay pending in a part
            self.produce_future.fail_pending_parts(error)
        if not self.produce_future.set(base_offset, log_append_time_ms, error):
            return False
        callbacks, self._callbacks = self._callbacks, []
        split = self.produce_future._parts is not None
        for future, on_delivery in callbacks:
            if split:  # each record's outcome is its part's
                error = future.error()
            try:
                on_delivery(error, None if error is not None else future._metadata())
            except Exception:  # a user callback must not kill the sender thread
                log.exception("a delivery callback raised")
        return True

    def __repr__(self) -> str:
        tp = self.topic_partition
        return (
            f"ProducerBatch({tp.topic}-{tp.partition}, records={self.record_count}, "
            f"attempts={self.attempts}, sequence={self.base_sequence})"
        )
