"""RecordAccumulator: per-partition deques of batches between ``send()`` and the sender.

After Kafka's ``RecordAccumulator``.

Theory of operation
-------------------
*Append* (caller threads). Each topic-partition has a deque of batches guarded by its
own lock; ``send()`` appends to the last batch of its partition's deque. When that
batch has no room, the caller reserves a new batch's bytes from the
:class:`~producer.buffer_pool.BufferPool` *outside* the lock (this is where ``send()``
blocks when ``buffer_memory`` is full), then takes the lock again, and either appends to
a batch another thread opened meanwhile or opens a new one.

*Ready* (sender thread). A partition is sendable when its head batch is full (or not
alone in the deque), has waited ``linger_ms``, or when something is waiting on the
producer (a flush, memory exhaustion, close). The result is the set of leader nodes
with something sendable, plus how long until the next partition becomes sendable.

*Drain* (sender thread). For each ready node, take the head batch of each partition it
leads, up to ``max_request_size`` bytes, starting from a rotating position so that no
partition starves. Drained batches leave their deque: nothing can be appended to them.

*Ordering.* A partition with a batch in flight is *muted* (skipped by ready and drain)
when order would otherwise be at risk: with ``max_in_flight_requests_per_connection=1``
and no idempotence (Kafka's ``guaranteeMessageOrder``), and, with idempotence, while the
head batch is a retry: the retry goes out alone, after everything sent before it came
back, so the broker sees sequences in order.

*Transactions.* A transactional producer passes ``sendable_partitions``, the set of
partitions its transaction manager has added to the open transaction (AddPartitionsToTxn
answered); batches of any other partition are neither ready nor drained, as in Kafka's
``isSendToPartitionAllowed``. Only the sender thread changes that set.

*Completion.* A batch keeps its reservation until it completes (success, failure or
expiry); :meth:`RecordAccumulator.deallocate` returns it. ``flush()`` waits on the
outcome of every batch incomplete when it started.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field

from producer.batch import DeliveryCallback, ProducerBatch, RecordFuture, TopicPartition
from producer.buffer_pool import BufferPool
from producer.clock import monotonic_ms
from producer.errors import KafkaTimeoutError, ProducerClosedError
from producer.idempotence import IdempotenceManager
from producer.metadata import Cluster
from producer.records import (
    CompressionType,
    Headers,
    RecordBatchBuilder,
    record_size_upper_bound_bytes,
)

__all__ = ["AppendResult", "ReadyCheckResult", "RecordAccumulator"]

_NEVER_MS = 2**62


AppendResult = tuple[RecordFuture, bool]
"""The record's future, and whether the sender should wake (a batch filled or opened)."""


@dataclass(slots=True)
class ReadyCheckResult:
    ready_nodes: set[int] = field(default_factory=set)
    next_ready_check_delay_ms: int = _NEVER_MS
    unknown_leader_topics: set[str] = field(default_factory=set)
    next_expiry_ms: int = _NEVER_MS


class _PartitionQueue:
    """One partition's deque of batches, its lock, and how many of its batches are in flight."""

    __slots__ = ("batches", "in_flight", "lock")

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.batches: deque[ProducerBatch] = deque()
        self.in_flight = 0


class RecordAccumulator:
    """Batches records per partition under a memory bound; see the module docstring."""

    def __init__(
        self,
        *,
        batch_size_bytes: int,
        compression: CompressionType,
        linger_ms: int,
        retry_backoff_ms: int,
        delivery_timeout_ms: int,
        buffer_pool: BufferPool,
        idempotence: IdempotenceManager | None = None,
        guarantee_order: bool = False,
        sendable_partitions: set[TopicPartition] | None = None,
    ) -> None:
        self._batch_size_bytes = batch_size_bytes
        self._compression = compression
        self._linger_ms = linger_ms
        self._retry_backoff_ms = retry_backoff_ms
        self._delivery_timeout_ms = delivery_timeout_ms
        self._pool = buffer_pool
        self._idempotence = idempotence
        self._guarantee_order = guarantee_order
        self._sendable_partitions = sendable_partitions
        self._queues: dict[TopicPartition, _PartitionQueue] = {}
        self._queues_lock = threading.Lock()
        self._incomplete: set[ProducerBatch] = set()
        self._incomplete_lock = threading.Lock()
        self._drain_index: dict[int, int] = {}
        self._flushes_in_progress = 0
        self.batches_created = 0
        """Counts every batch opened; the sender re-checks it before sleeping."""
        self._flush_lock = threading.Lock()
        self._closed = False

    # ------------------------------------------------------------------ caller threads

    def _queue(self, tp: TopicPartition) -> _PartitionQueue:
        queue = self._queues.get(tp)
        if queue is None:
            with self._queues_lock:
                queue = self._queues.setdefault(tp, _PartitionQueue())
        return queue

    def append(
        self,
        tp: TopicPartition,
        timestamp_ms: int,
        key: bytes | None,
        value: bytes | None,
        headers: Headers | None,
        on_delivery: DeliveryCallback | None,
        max_block_ms: int,
        now_ms: int | None,
    ) -> AppendResult:
        """Add one record to its partition's last batch, opening a new batch if needed.

        Blocks up to ``max_block_ms`` when ``buffer_memory`` is full, then raises
        :class:`~producer.errors.BufferExhaustedError`. ``now_ms`` is the caller's clock
        reading, used only if a batch is opened; None reads the monotonic clock then
        (``send()`` does not read it per record).
        """
        queue = self._queues.get(tp)  # ``_queue``'s hit, written out (see Producer.send)
        if queue is None:
            queue = self._queue(tp)
        with queue.lock:
            # the hot path: the open batch at the tail takes the record
            result = self._try_append(queue, timestamp_ms, key, value, headers, on_delivery)
            if result is not None:
                return result
        if now_ms is None:
            now_ms = monotonic_ms()
        size = max(self._batch_size_bytes, record_size_upper_bound_bytes(key, value, headers))
        buffer = self._pool.allocate(size, max_block_ms)
        try:
            with queue.lock:
                result = self._try_append(queue, timestamp_ms, key, value, headers, on_delivery)
                if result is None:
                    builder = RecordBatchBuilder(
                        self._compression, size, timestamp_ms, buffer=buffer
                    )
                    batch = ProducerBatch(tp, builder, now_ms, size)
                    future = batch.try_append(timestamp_ms, key, value, headers, on_delivery)
                    if future is None:  # a new batch takes any first record
                        raise AssertionError("a new batch refused its first record")
                    queue.batches.append(batch)
                    self.batches_created += 1
                    with self._incomplete_lock:
                        self._incomplete.add(batch)
                    return future, True
        except BaseException:
            self._pool.deallocate(buffer, size)
            raise
        self._pool.deallocate(buffer, size)  # another thread opened a batch meanwhile
        return result

    def _try_append(
        self,
        queue: _PartitionQueue,
        timestamp_ms: int,
        key: bytes | None,
        value: bytes | None,
        headers: Headers | None,
        on_delivery: DeliveryCallback | None,
    ) -> AppendResult | None:
        """Append to the open batch at the deque's tail (queue lock held)."""
        if self._closed:
            raise ProducerClosedError("the producer is closed: no new records are accepted")
        batches = queue.batches
        if not batches:
            return None
        last = batches[-1]
        future = last.try_append(timestamp_ms, key, value, headers, on_delivery)
        if future is None:
            last.builder.close()
            return None
        return future, last.builder.is_full

    # ------------------------------------------------------------------ sender thread

    def _muted(self, queue: _PartitionQueue, head: ProducerBatch) -> bool:
        if not queue.in_flight:
            return False
        return self._guarantee_order or head.has_sequence

    def ready(self, cluster: Cluster, now_ms: int) -> ReadyCheckResult:
        """Which leader nodes have a sendable batch, and when to look again (sender thread)."""
        result = ReadyCheckResult()
        exhausted = self._pool.queued > 0
        hurry = exhausted or self._closed or self._flushes_in_progress > 0
        linger_ms = self._linger_ms
        backoff_ms = self._retry_backoff_ms
        delivery_timeout_ms = self._delivery_timeout_ms
        ready_nodes = result.ready_nodes
        sendable_partitions = self._sendable_partitions
        for tp, queue in list(self._queues.items()):
            batches = queue.batches
            try:
                head = batches[0]
            except IndexError:
                continue
            expiry_ms = head.created_ms + delivery_timeout_ms
            if expiry_ms < result.next_expiry_ms:
                result.next_expiry_ms = expiry_ms
            leader = cluster.leader_for(tp.topic, tp.partition)
            if leader is None:
                result.unknown_leader_topics.add(tp.topic)
                continue
            node = leader.node_id
            if node in ready_nodes or self._muted(queue, head):
                continue
            if sendable_partitions is not None and tp not in sendable_partitions:
                continue  # not in the transaction yet: the sender adds it first
            waited_ms = now_ms - head.last_attempt_ms
            backing_off = head.is_backing_off(backoff_ms, now_ms)
            time_to_wait_ms = backoff_ms if backing_off else linger_ms
            sendable = hurry or len(batches) > 1 or head.is_full() or waited_ms >= time_to_wait_ms
            if sendable and not backing_off:
                ready_nodes.add(node)
            else:
                delay_ms = max(time_to_wait_ms - waited_ms, 0)
                if delay_ms < result.next_ready_check_delay_ms:
                    result.next_ready_check_delay_ms = delay_ms
        return result

    def drain(
        self, cluster: Cluster, nodes: set[int], max_request_size_bytes: int, now_ms: int
    ) -> dict[int, list[ProducerBatch]]:
        """Take up to ``max_request_size_bytes`` of head batches per node (sender thread)."""
        by_node: dict[int, list[_PartitionQueue]] = {}
        for tp, queue in list(self._queues.items()):
            if not queue.batches:
                continue
            leader = cluster.leader_for(tp.topic, tp.partition)
            if leader is not None and leader.node_id in nodes:
                by_node.setdefault(leader.node_id, []).append(queue)
        drained: dict[int, list[ProducerBatch]] = {}
        for node, queues in by_node.items():
            ready = self._drain_node(node, queues, max_request_size_bytes, now_ms)
            if ready:
                drained[node] = ready
        return drained

    def _drain_node(
        self, node: int, queues: list[_PartitionQueue], max_request_size_bytes: int, now_ms: int
    ) -> list[ProducerBatch]:
        start = self._drain_index.get(node, 0) % len(queues)
        self._drain_index[node] = start + 1
        idempotence = self._idempotence
        ready: list[ProducerBatch] = []
        size_bytes = 0
        # no ``continue``/``break`` inside the ``with``: mypyc cannot compile them there
        for queue in queues[start:] + queues[:start]:
            with queue.lock:
                head = self._drainable_head(queue, now_ms)
                fits = head is not None and (
                    not ready or size_bytes + head.estimated_size_bytes <= max_request_size_bytes
                )
                if head is not None and fits:
                    queue.batches.popleft()
                    head.builder.close()
                    if idempotence is not None:
                        idempotence.stamp(head)
                    queue.in_flight += 1
            if head is None:
                continue
            if not fits:
                break
            size_bytes += head.estimated_size_bytes
            ready.append(head)
        return ready

    def _drainable_head(self, queue: _PartitionQueue, now_ms: int) -> ProducerBatch | None:
        """The partition's head batch if it may leave now (queue lock held)."""
        if not queue.batches:
            return None
        head = queue.batches[0]
        if self._muted(queue, head) or head.is_backing_off(self._retry_backoff_ms, now_ms):
            return None
        sendable_partitions = self._sendable_partitions
        if sendable_partitions is not None and head.topic_partition not in sendable_partitions:
            return None
        return head

    def reenqueue(self, batch: ProducerBatch, now_ms: int) -> None:
        """Put a batch that will be retried back at the head of its deque, in sequence order."""
        batch.reenqueued(now_ms)
        queue = self._queue(batch.topic_partition)
        with queue.lock:
            queue.in_flight -= 1
            self._insert_at_head(queue.batches, batch)

    def enqueue_split(self, batch: ProducerBatch, parts: list[ProducerBatch]) -> None:
        """Put the parts of a batch split after it came back at the head of its deque, in
        its place (sender thread); the batch itself is no longer in flight."""
        queue = self._queue(batch.topic_partition)
        with queue.lock:
            queue.in_flight -= 1
            for part in reversed(parts):
                self._insert_at_head(queue.batches, part)

    @staticmethod
    def _insert_at_head(batches: deque[ProducerBatch], batch: ProducerBatch) -> None:
        """At the head, or with a sequence, before the first batch with a later one."""
        if not batch.has_sequence:
            batches.appendleft(batch)
            return
        position = 0
        for other in batches:
            if not other.has_sequence or other.base_sequence > batch.base_sequence:
                break
            position += 1
        batches.insert(position, batch)

    def sent_batch_done(self, batch: ProducerBatch) -> None:
        """A drained batch came back for good (completed or failed); unmute its partition."""
        queue = self._queue(batch.topic_partition)
        with queue.lock:
            queue.in_flight -= 1

    def expired_batches(self, now_ms: int) -> list[ProducerBatch]:
        """Remove and return queued batches older than ``delivery_timeout_ms`` (sender thread)."""
        expired: list[ProducerBatch] = []
        timeout_ms = self._delivery_timeout_ms
        for queue in list(self._queues.values()):
            if not queue.batches:
                continue
            with queue.lock:
                # creation order, except retries at the head, which are older still
                batches = queue.batches
                while batches and batches[0].has_reached_delivery_timeout(timeout_ms, now_ms):
                    expired.append(batches.popleft())
        return expired

    def deallocate(self, batch: ProducerBatch) -> None:
        """Release a completed batch's reservation (any thread)."""
        with self._incomplete_lock:
            if batch not in self._incomplete:
                return
            self._incomplete.discard(batch)
        self._pool.deallocate(batch.builder.buffer, batch.reserved_bytes)

    @property
    def buffer_available_bytes(self) -> int:
        return self._pool.available_bytes

    def has_undrained(self) -> bool:
        return any(queue.batches for queue in list(self._queues.values()))

    def has_incomplete(self) -> bool:
        return bool(self._incomplete)

    def _undrained(self) -> Iterator[ProducerBatch]:
        for queue in list(self._queues.values()):
            with queue.lock:
                batches = list(queue.batches)
                queue.batches.clear()
            yield from batches

    def abort_undrained_batches(self, error: BaseException) -> bool:
        """Fail every batch still in a deque (sender thread: forced close, fatal error, an
        aborted transaction). True if one of them had a sequence number (a retry): the
        partition's sequence chain then has a gap."""
        sequenced = False
        for batch in self._undrained():
            sequenced = sequenced or batch.has_sequence
            batch.fail(error)
            self.deallocate(batch)
        return sequenced

    def abort_incomplete_batches(self, error: BaseException) -> None:
        """Fail every batch not yet completed, queued or in flight (forced close)."""
        self.abort_undrained_batches(error)
        with self._incomplete_lock:
            remaining = list(self._incomplete)
        for batch in remaining:
            batch.fail(error)
            self.deallocate(batch)

    # ------------------------------------------------------------------ flush and close

    def begin_flush(self) -> None:
        """Make every batch sendable now, until the matching :meth:`end_flush`."""
        with self._flush_lock:
            self._flushes_in_progress += 1

    def end_flush(self) -> None:
        with self._flush_lock:
            self._flushes_in_progress -= 1

    def await_flush_completion(self, timeout_s: float | None) -> None:
        """Wait for every batch that was incomplete when called (caller's thread)."""
        with self._incomplete_lock:
            pending = list(self._incomplete)
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        for batch in pending:
            remaining = None if deadline is None else max(deadline - time.monotonic(), 0.0)
            if not batch.produce_future.wait(remaining):
                raise KafkaTimeoutError(
                    f"flush() timed out after {timeout_s} s with records still undelivered "
                    f"(e.g. {batch!r})"
                )

    def close(self) -> None:
        """Refuse further appends; every queued batch becomes sendable at once."""
        self._closed = True
        self._pool.close()
