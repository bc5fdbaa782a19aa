"""Producer: the facade users import; ``send()`` returns at once with a future.

After Kafka's ``KafkaProducer``. ``send()`` runs on the caller's thread and does only
cheap work: wait for the topic's partitions (once per topic, up to ``max_block_ms``),
serialize, pick a partition, check the size, and append to the
:class:`~producer.accumulator.RecordAccumulator`. Everything that touches the network
happens on the :class:`~producer.sender.Sender` thread. Follow one record::

    Producer.send -> partitioner -> RecordAccumulator.append -> (linger, batch full)
    -> Sender.run_once -> RecordAccumulator.ready / drain -> one Produce request per node
    -> NetworkClient.poll -> Sender._handle_produce_response -> ProducerBatch.done
    -> RecordFuture.result() / on_delivery

Delivery callbacks and ``add_done_callback`` functions run on the sender thread.

Transactions (``transactional_id`` set): ``init_transactions()`` once, then per
transaction ``begin_transaction()``, ``send()``..., optionally
``send_offsets_to_transaction()``, and ``commit_transaction()`` or
``abort_transaction()`` (or ``with producer.transaction(): ...``). The calls are
Kafka's; :mod:`producer.transaction_manager` does the work on the sender thread.
"""

from __future__ import annotations

import contextlib
import functools
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from producer.accumulator import RecordAccumulator
from producer.batch import DeliveryCallback, RecordFuture, TopicPartition
from producer.buffer_pool import BufferPool
from producer.clock import monotonic_ms
from producer.config import ProducerConfig
from producer.errors import (
    AuthenticationError,
    ConfigError,
    InvalidRecordError,
    KafkaError,
    MetadataTimeoutError,
    ProducerClosedError,
    RecordTooLargeError,
)
from producer.idempotence import IdempotenceManager
from producer.metadata import Cluster, Metadata
from producer.network import NetworkClient
from producer.partitioner import (
    KeylessPartitioner,
    RoundRobinPartitioner,
    StickyPartitioner,
    partition_for_key,
)
from producer.protocol.error_codes import error_for_code
from producer.records import record_size_upper_bound_bytes
from producer.security import network_security
from producer.sender import Sender
from producer.transaction_manager import (
    ConsumerGroupMetadata,
    TransactionalResult,
    TransactionManager,
    group_from,
    offsets_from,
)
from producer.transaction_state import FATAL_ERROR_CODES, TransactionState

__all__ = ["Producer", "SendContext"]

HeadersArg = Sequence[tuple[str, bytes | str | None]] | Mapping[str, bytes | str | None]
_UNKNOWN_TOPIC_OR_PARTITION = 3
_LEADER_NOT_AVAILABLE = 5
_RECORD_BOUND_BYTES = record_size_upper_bound_bytes(None, None)  # header + widest framing
_RECORD_FRAMING_BYTES = 8  # a small record's typical framing inside a batch


@dataclass(slots=True)
class SendContext:
    """What a serializer is told: the shape of confluent-kafka's ``SerializationContext``."""

    topic: str
    field: str
    headers: list[tuple[str, bytes | None]] | None = None


_yield_gil = functools.partial(time.sleep, 0)


class Producer:
    """A thread-safe Kafka producer; see the module docstring for the path of a record.

    Settings are Kafka's producer configs in snake_case (:class:`ProducerConfig`); an
    invalid or contradictory one raises :class:`~producer.errors.ConfigError` here.
    """

    def __init__(self, **settings: Any) -> None:
        config = ProducerConfig.from_settings(settings)
        self.config = config
        self._metadata = Metadata(
            metadata_max_age_ms=config.metadata_max_age_ms,
            refresh_backoff_ms=config.retry_backoff_ms,
        )
        self._idempotence = (
            IdempotenceManager(transactional=config.transactional_id is not None)
            if config.enable_idempotence
            else None
        )
        self._transactions: TransactionManager | None = None
        if config.transactional_id is not None and self._idempotence is not None:
            self._transactions = TransactionManager(
                config.transactional_id,
                transaction_timeout_ms=config.transaction_timeout_ms,
                retry_backoff_ms=config.retry_backoff_ms,
                linger_ms=config.linger_ms,
                idempotence=self._idempotence,
            )
        self._accumulator = RecordAccumulator(
            batch_size_bytes=config.batch_size,
            compression=config.compression_type,
            linger_ms=config.linger_ms,
            retry_backoff_ms=config.retry_backoff_ms,
            delivery_timeout_ms=config.delivery_timeout_ms,
            buffer_pool=BufferPool(config.buffer_memory, config.batch_size),
            idempotence=self._idempotence,
            guarantee_order=config.max_in_flight_requests_per_connection == 1,
            sendable_partitions=(
                None if self._transactions is None else self._transactions.sendable_partitions
            ),
        )
        client = NetworkClient(
            config.bootstrap_servers,
            metadata=self._metadata,
            client_id=config.client_id,
            request_timeout_ms=config.request_timeout_ms,
            max_in_flight_requests_per_connection=config.max_in_flight_requests_per_connection,
            reconnect_backoff_ms=config.reconnect_backoff_ms,
            reconnect_backoff_max_ms=config.reconnect_backoff_max_ms,
            connection_setup_timeout_ms=config.socket_connection_setup_timeout_ms,
            security=network_security(config),
        )
        self._sender = Sender(
            config,
            client=client,
            metadata=self._metadata,
            accumulator=self._accumulator,
            idempotence=self._idempotence,
            transactions=self._transactions,
        )
        partitioner = config.partitioner
        self._user_partitioner = None if isinstance(partitioner, str) else partitioner
        self._keyless: KeylessPartitioner = (
            RoundRobinPartitioner()
            if partitioner == "round_robin"
            else StickyPartitioner(config.batch_size)
        )
        self._key_serializer = config.key_serializer
        self._value_serializer = config.value_serializer
        self._max_block_ms = config.max_block_ms
        self._max_record_bytes = min(config.max_request_size, config.buffer_memory)
        self._topic_partitions: dict[str, dict[int, TopicPartition]] = {}
        self._closed = False
        self._sender.start()

    # ------------------------------------------------------------------ sending

    def send(
        self,
        topic: str,
        value: Any = None,
        key: Any = None,
        partition: int | None = None,
        timestamp_ms: int | None = None,
        headers: HeadersArg | None = None,
        on_delivery: DeliveryCallback | None = None,
    ) -> RecordFuture:
        """Queue one record; returns its future at once (blocks only for metadata or memory).

        Raises at once for what can never succeed: a closed producer, a record larger
        than ``max_request_size`` or ``buffer_memory``, an unknown topic or partition
        after ``max_block_ms``, a full buffer for ``max_block_ms``.
        """
        if self._closed:
            raise ProducerClosedError(f"cannot send to {topic!r}: the producer is closed")
        fatal = self._sender.fatal_error
        if fatal is not None:
            raise _fatal_send_error(fatal)
        # The clock is read only where it is needed (a metadata wait, a new batch), not
        # once per record.
        now_ms: int | None = None
        max_block_ms = self._max_block_ms
        cluster = self._metadata.cluster
        count = cluster.partition_counts.get(topic)
        if count is None or (partition is not None and partition >= count):
            now_ms = monotonic_ms()
            cluster, count = self._wait_on_metadata(topic, partition, now_ms)
            waited_ms = monotonic_ms() - now_ms
            now_ms += waited_ms
            max_block_ms = max(max_block_ms - waited_ms, 0)
        header_list = _headers(headers) if headers else None
        # the common case (bytes, no serializer) costs two type checks
        if self._key_serializer is not None or not (key is None or type(key) is bytes):
            key = self._serialize(self._key_serializer, key, topic, "key", header_list)
        if self._value_serializer is not None or not (value is None or type(value) is bytes):
            value = self._serialize(self._value_serializer, value, topic, "value", header_list)
        if header_list is None:
            size_bytes = (
                _RECORD_BOUND_BYTES + (len(key) if key else 0) + (len(value) if value else 0)
            )
        else:
            size_bytes = record_size_upper_bound_bytes(key, value, header_list)
        if size_bytes > self._max_record_bytes:
            raise RecordTooLargeError(
                f"a record of about {size_bytes} bytes for {topic!r} (serialized, with batch "
                f"overhead) exceeds max_request_size={self.config.max_request_size} or "
                f"buffer_memory={self.config.buffer_memory}"
            )
        if partition is None:
            if self._user_partitioner is not None:
                partition = self._user_partitioner(topic, key, count)
                if not 0 <= partition < count:
                    raise InvalidRecordError(
                        f"the partitioner returned {partition} for {topic!r}, which has "
                        f"{count} partitions"
                    )
            elif key is not None:
                partition = partition_for_key(key, count)
            else:
                # about what the record adds to its batch (Kafka counts appended bytes)
                appended = size_bytes - _RECORD_BOUND_BYTES + _RECORD_FRAMING_BYTES
                partition = self._keyless.partition(topic, cluster, appended)
        elif partition < 0:
            raise InvalidRecordError(f"partition must be >= 0, got {partition}")
        if timestamp_ms is None:
            timestamp_ms = time.time_ns() // 1_000_000
        elif type(timestamp_ms) is not int:  # plain Python would fail later, in the sender
            raise TypeError(f"timestamp_ms must be an int, got {type(timestamp_ms).__name__}")
        # ``_topic_partition``'s lookup, written out: one call less per record (with the
        # same in ``RecordAccumulator.append``, about 3% of send()'s CPU, measured).
        by_partition = self._topic_partitions.get(topic)
        tp = None if by_partition is None else by_partition.get(partition)
        if tp is None:
            tp = self._topic_partition(topic, partition)
        transactions = self._transactions
        if transactions is not None and transactions.maybe_add_partition(tp):
            self._sender.wakeup()  # a partition new to the transaction: AddPartitionsToTxn
        future, wake = self._accumulator.append(
            tp,
            timestamp_ms,
            key,
            value,
            header_list,
            on_delivery,
            max_block_ms,
            now_ms,
        )
        if wake:
            self._sender.wakeup_for_batch(monotonic_ms() if now_ms is None else now_ms)
            # A batch just filled: hand the GIL to the sender now rather than at the end
            # of this thread's 5 ms switch interval, so batches leave as they fill
            # instead of piling up in buffer_memory (measured: +30% records/s and a
            # third of the peak RSS at 100-byte values).
            _yield_gil()
        return future

    def _topic_partition(self, topic: str, partition: int) -> TopicPartition:
        """One shared TopicPartition per partition (no tuple built per record)."""
        by_partition = self._topic_partitions.get(topic)
        if by_partition is None:
            by_partition = self._topic_partitions[topic] = {}
        tp = by_partition.get(partition)
        if tp is None:
            tp = by_partition[partition] = TopicPartition(topic, partition)
        return tp

    @staticmethod
    def _serialize(
        serializer: Any,
        obj: Any,
        topic: str,
        field: str,
        headers: list[tuple[str, bytes | None]] | None,
    ) -> bytes | None:
        if serializer is not None:
            obj = serializer(obj, SendContext(topic, field, headers))
        if obj is None or isinstance(obj, bytes):
            return obj
        if isinstance(obj, str):
            return obj.encode()
        if isinstance(obj, bytearray | memoryview):
            return bytes(obj)
        raise InvalidRecordError(
            f"the {field} for {topic!r} is a {type(obj).__name__}, not bytes: configure a "
            f"{field}_serializer, or pass bytes or str"
        )

    def _wait_on_metadata(
        self, topic: str, partition: int | None, begin_ms: int
    ) -> tuple[Cluster, int]:
        """Block until ``topic`` (and ``partition``) is known, up to ``max_block_ms``."""
        # checked here, where a topic is first seen, not per record; a compiled send()
        # already refused a non-str at the call
        if not isinstance(topic, str):
            raise TypeError(f"topic must be a str, got {type(topic).__name__}")
        if not topic:
            raise InvalidRecordError("topic must not be empty")
        metadata = self._metadata
        metadata.add_topic(topic, begin_ms)
        max_wait_ms = self._max_block_ms
        while True:
            cluster = metadata.cluster
            count = cluster.partition_count(topic)
            if count is not None and (partition is None or partition < count):
                return cluster, count
            code = cluster.topic_errors.get(topic, 0)
            if code and code not in (_UNKNOWN_TOPIC_OR_PARTITION, _LEADER_NOT_AVAILABLE):
                raise error_for_code(code, f"metadata for topic {topic!r}")
            elapsed_ms = monotonic_ms() - begin_ms
            if elapsed_ms >= max_wait_ms:
                if count is not None:
                    raise MetadataTimeoutError(
                        f"partition {partition} of topic {topic!r} does not exist: the topic "
                        f"has {count} partitions (waited max_block_ms={max_wait_ms})"
                    )
                last = metadata.last_connection_error
                raise MetadataTimeoutError(
                    f"topic {topic!r} not present in metadata after max_block_ms="
                    f"{max_wait_ms}: check that it exists (or that the broker creates topics "
                    f"on first use) and that {self.config.bootstrap_servers} is reachable"
                    + ("" if last is None else f"; last connection error: {last}")
                )
            version = metadata.request_update()
            self._sender.wakeup()
            metadata.await_update(version, max_wait_ms - elapsed_ms)
            if self._closed:
                raise ProducerClosedError("the producer closed while send() waited for metadata")

    def partitions_for(self, topic: str) -> list[int]:
        """The partition ids of ``topic``, waiting for metadata up to ``max_block_ms``."""
        cluster = self._metadata.cluster
        if cluster.partition_count(topic) is None:
            cluster, _ = self._wait_on_metadata(topic, None, monotonic_ms())
        return [p.partition for p in cluster.partitions_for_topic(topic)]

    # ------------------------------------------------------------------ transactions

    def init_transactions(self, timeout: float | None = None) -> None:
        """Register the ``transactional_id`` with its coordinator: once, before the first
        transaction. Fences any older producer with the same id and aborts what it left
        open. ``timeout`` in seconds, ``max_block_ms`` by default; after a timeout,
        calling again keeps waiting for the same outcome.
        """
        transactions = self._require_transactions("init_transactions")
        result = transactions.initialize()
        self._sender.wakeup()
        result.wait(self._transaction_timeout_s(timeout), transactions.transactional_id)

    def begin_transaction(self) -> None:
        """Start a transaction: the records sent until commit or abort belong to it."""
        self._require_transactions("begin_transaction").begin()

    def send_offsets_to_transaction(
        self,
        offsets: Mapping[Any, Any] | Iterable[Any],
        group_metadata: ConsumerGroupMetadata | str | Any,
        timeout: float | None = None,
    ) -> None:
        """Commit a consumer group's offsets as part of the open transaction
        (consume-transform-produce): they count only if the transaction commits.

        ``offsets`` maps ``(topic, partition)`` to the next offset to consume (or is a
        list of confluent-kafka ``TopicPartition``); ``group_metadata`` is a group id,
        a :class:`ConsumerGroupMetadata`, or any object with ``group_id`` (and
        ``generation_id``, ``member_id``, ``group_instance_id``).
        """
        transactions = self._require_transactions("send_offsets_to_transaction")
        try:
            normal, group = offsets_from(offsets), group_from(group_metadata)
        except ValueError as exc:
            raise InvalidRecordError(f"send_offsets_to_transaction(): {exc}") from None
        result = transactions.send_offsets(normal, group)
        self._sender.wakeup()
        result.wait(self._transaction_timeout_s(timeout), transactions.transactional_id)

    def commit_transaction(self, timeout: float | None = None) -> None:
        """Send what is buffered, then commit: returns once the coordinator confirmed it.

        Raises :class:`~producer.errors.TransactionAbortableError` if the transaction
        cannot commit (abort it and go on), the fatal error (``ProducerFencedError``...)
        if the producer must be closed, KafkaTimeoutError after ``timeout`` seconds
        (``max_block_ms`` by default; calling again keeps waiting).
        """
        transactions = self._require_transactions("commit_transaction")
        result = transactions.begin_commit()
        self._await_end(transactions, result, timeout)

    def abort_transaction(self, timeout: float | None = None) -> None:
        """Abort: records not yet sent fail with TransactionAbortedError, and those
        written are marked aborted (read_committed consumers skip them)."""
        transactions = self._require_transactions("abort_transaction")
        result = transactions.begin_abort()
        self._await_end(transactions, result, timeout)

    @contextlib.contextmanager
    def transaction(self, timeout: float | None = None) -> Iterator[Producer]:
        """``with producer.transaction(): producer.send(...)``: begins a transaction,
        commits it when the block ends, aborts it when the block (or the commit) raises."""
        transactions = self._require_transactions("transaction")
        self.begin_transaction()
        try:
            yield self
            self.commit_transaction(timeout)
        except BaseException:
            if transactions.state in (
                TransactionState.IN_TRANSACTION,
                TransactionState.ABORTABLE_ERROR,
            ):
                self.abort_transaction(timeout)
            raise

    def _await_end(
        self, transactions: TransactionManager, result: TransactionalResult, timeout: float | None
    ) -> None:
        # batches leave at once, not after linger_ms: the commit waits for them
        accumulator = self._accumulator
        accumulator.begin_flush()
        try:
            self._sender.wakeup()
            result.wait(self._transaction_timeout_s(timeout), transactions.transactional_id)
        finally:
            accumulator.end_flush()

    def _require_transactions(self, call: str) -> TransactionManager:
        if self._closed:
            raise ProducerClosedError(f"{call}(): the producer is closed")
        transactions = self._transactions
        if transactions is None:
            raise ConfigError(f"{call}() needs a transactional producer: set transactional_id")
        return transactions

    def _transaction_timeout_s(self, timeout: float | None) -> float:
        return self._max_block_ms / 1000 if timeout is None else timeout

    # ------------------------------------------------------------------ flush and close

    def flush(self, timeout: float | None = None) -> None:
        """Send everything buffered now and wait until every record's future is done.

        Raises :class:`~producer.errors.KafkaTimeoutError` if ``timeout`` seconds pass first.
        """
        accumulator = self._accumulator
        accumulator.begin_flush()
        try:
            self._sender.wakeup()
            accumulator.await_flush_completion(timeout)
        finally:
            accumulator.end_flush()

    def close(self, timeout: float | None = None) -> None:
        """Deliver what is buffered (waiting up to ``timeout`` s), then stop the sender.

        Records still undelivered when ``timeout`` runs out fail with
        :class:`ProducerClosedError`. Idempotent; a closed producer refuses ``send()``.
        """
        if self._closed:
            self._sender.join(timeout)
            return
        self._closed = True
        self._accumulator.close()
        self._sender.initiate_close()
        if not self._sender.join(timeout):
            self._sender.force_close()
            self._sender.join(None)
        self._metadata.close()

    def __enter__(self) -> Producer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # ------------------------------------------------------------------ introspection

    def metrics(self) -> dict[str, Any]:
        """Counters kept by the sender thread (read without locking: a consistent-enough view).

        ``bytes_sent`` counts record-batch bytes on the wire (after compression);
        latencies are from a Produce request's creation to its answer.
        """
        sender = self._sender
        responses = sender.responses
        return {
            "records_sent": sender.records_sent,
            "bytes_sent": sender.bytes_sent,
            "batches_sent": sender.batches_sent,
            "average_batch_size_bytes": (
                sender.bytes_sent / sender.batches_sent if sender.batches_sent else 0.0
            ),
            "request_latency_avg_ms": (
                sender.request_latency_total_ms / responses if responses else 0.0
            ),
            "request_latency_max_ms": sender.request_latency_max_ms,
            "batches_retried": sender.batches_retried,
            "batches_split": sender.batches_split,
            "batches_failed": sender.batches_failed,
            "records_failed": sender.records_failed,
            "buffer_available_bytes": self._accumulator.buffer_available_bytes,
            "produce_requests_by_node": dict(sender.produce_requests_by_node),
            "partitions_by_node": {
                node: set(parts) for node, parts in sender.partitions_by_node.items()
            },
        }


def _fatal_send_error(fatal: BaseException) -> BaseException:
    """What ``send()`` raises once the producer failed for good.

    An authentication failure is raised as itself, a new instance of its own type (so
    ``except AuthenticationFailedError`` works, as Kafka's ``send()`` throws the
    ``AuthenticationException``); anything else as a ProducerClosedError caused by it.
    """
    if isinstance(fatal, AuthenticationError) or (
        isinstance(fatal, KafkaError) and fatal.code in FATAL_ERROR_CODES
    ):
        error = type(fatal)(f"the producer cannot send: {fatal}")
        error.__cause__ = fatal
        return error
    closed = ProducerClosedError(f"the producer failed and cannot send: {fatal}")
    closed.__cause__ = fatal
    return closed


def _headers(headers: HeadersArg) -> list[tuple[str, bytes | None]]:
    items = headers.items() if isinstance(headers, Mapping) else headers
    result: list[tuple[str, bytes | None]] = []
    for item in items:
        try:
            name, value = item
        except (TypeError, ValueError):
            raise InvalidRecordError(
                f"headers must be (str, bytes) pairs or a dict, got {item!r}"
            ) from None
        if not isinstance(name, str):
            raise InvalidRecordError(f"a header name must be a str, got {name!r}")
        if isinstance(value, str):
            value = value.encode()
        elif value is not None and not isinstance(value, bytes):
            raise InvalidRecordError(f"header {name!r} must be bytes, str or None, got {value!r}")
        result.append((name, value))
    return result
