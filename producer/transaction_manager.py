"""TransactionManager: the transactional producer's requests, in the shape of Kafka's.

After the transactional half of Kafka's ``TransactionManager`` (the idempotent half is
:mod:`producer.idempotence`). A transaction is a conversation with the broker that
coordinates the producer's ``transactional_id``, carried by five request types::

    init_transactions()   FindCoordinator(transaction) -> InitProducerId(transactional id)
    send(first record of a partition)   AddPartitionsToTxn, before the partition's first
                                        batch of the transaction may be sent (the
                                        partitions first sent to within linger_ms of
                                        each other go in one request)
    send_offsets_to_transaction()       AddOffsetsToTxn -> FindCoordinator(group)
                                        -> TxnOffsetCommit to the group's coordinator
    commit_transaction() / abort_transaction()
                                        EndTxn, once every batch of the transaction is done

Threads. The public calls run on the caller's thread: they check the state
(:mod:`producer.transaction_state`), move it, queue the requests and hand back a
:class:`TransactionalResult` to wait on. The requests are sent by the sender thread,
one at a time, ahead of produce data (:meth:`next_request`), to the coordinator they
need (looked up first when unknown); answers are handled there too. One lock guards
what both threads touch.

Which answers do what, as Kafka's and librdkafka's clients classify them:

- *retried* after ``retry_backoff_ms``: coordinator errors (COORDINATOR_NOT_AVAILABLE,
  NOT_COORDINATOR: the coordinator is looked up again first), COORDINATOR_LOAD_IN_PROGRESS,
  CONCURRENT_TRANSACTIONS (an AddPartitionsToTxn right after the previous transaction
  ended: 20 ms), and lost connections;
- *abortable* (:class:`~producer.errors.TransactionAbortableError`: the application aborts
  and goes on): a record that failed for good, a refused topic or group, a consumer
  generation that moved on, UNKNOWN_PRODUCER_ID, TRANSACTION_ABORTABLE;
- *fatal* (the producer must be closed): PRODUCER_FENCED, INVALID_PRODUCER_EPOCH,
  TRANSACTIONAL_ID_AUTHORIZATION_FAILED, INVALID_TXN_STATE, and anything unexpected.
  The error is raised as its own :class:`~producer.errors.KafkaError` subclass
  (``ProducerFencedError``...) by every later call, naming the transactional id.

A transaction to which nothing was added ends without an EndTxn (the broker never heard
of it). Records still queued when a transaction is aborted fail with
:class:`~producer.errors.TransactionAbortedError`; if any of them had a sequence number
the next transaction starts with a new producer epoch (InitProducerId again), since the
broker would otherwise wait for the missing sequence.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any

from producer.batch import ProducerBatch, TopicPartition
from producer.clock import monotonic_ms
from producer.errors import (
    KafkaError,
    KafkaTimeoutError,
    RetriableError,
    TransactionAbortableError,
    TransactionAbortedError,
    TransactionError,
    TransactionStateError,
)
from producer.idempotence import IdempotenceManager
from producer.protocol import ApiKey
from producer.protocol.error_codes import error_for_code
from producer.transaction_state import (
    FATAL_ERROR_CODES,
    VALID_TRANSITIONS,
    TransactionState,
    TransactionStateMachine,
)

__all__ = [
    "ConsumerGroupMetadata",
    "CoordinatorType",
    "TransactionManager",
    "TransactionalRequest",
    "TransactionalResult",
    "group_from",
    "offsets_from",
]

log = logging.getLogger(__name__)

_S = TransactionState

# error codes the handlers name
_REQUEST_TIMED_OUT = 7
_COORDINATOR_LOAD_IN_PROGRESS = 14
_COORDINATOR_NOT_AVAILABLE = 15
_NOT_COORDINATOR = 16
_CONCURRENT_TRANSACTIONS = 51
_OPERATION_NOT_ATTEMPTED = 55
_COORDINATOR_MOVED = frozenset({_COORDINATOR_NOT_AVAILABLE, _NOT_COORDINATOR})
_TRY_AGAIN = frozenset({_COORDINATOR_LOAD_IN_PROGRESS, _CONCURRENT_TRANSACTIONS})
# fatal beyond FATAL_ERROR_CODES: the coordinator says our view of the transaction is wrong
_INVALID_TXN_STATE = 48
_ABORTABLE_CODES = frozenset(
    {
        22,  # ILLEGAL_GENERATION: the consumer's group moved on (offsets)
        25,  # UNKNOWN_MEMBER_ID
        29,  # TOPIC_AUTHORIZATION_FAILED
        30,  # GROUP_AUTHORIZATION_FAILED
        49,  # INVALID_PRODUCER_ID_MAPPING
        59,  # UNKNOWN_PRODUCER_ID
        82,  # FENCED_INSTANCE_ID
        120,  # TRANSACTION_ABORTABLE
    }
)
_CONCURRENT_TRANSACTIONS_BACKOFF_MS = 20  # Kafka's and librdkafka's, for AddPartitionsToTxn


class CoordinatorType(IntEnum):
    """FindCoordinator's key type."""

    GROUP = 0
    TRANSACTION = 1


@dataclass(frozen=True, slots=True)
class ConsumerGroupMetadata:
    """The consuming side of consume-transform-produce, as Kafka's ``ConsumerGroupMetadata``.

    With only ``group_id`` the offsets are committed whatever the group's generation;
    with the generation and member id (KIP-447) the group coordinator refuses them from
    a consumer that has lost its partitions (an abortable error).
    """

    group_id: str
    generation_id: int = -1
    member_id: str = ""
    group_instance_id: str | None = None


class TransactionalResult:
    """The outcome of one public call, completed on the sender thread."""

    __slots__ = ("_error", "_event", "operation")

    def __init__(self, operation: str) -> None:
        self.operation = operation
        self._event = threading.Event()
        self._error: BaseException | None = None

    @property
    def is_done(self) -> bool:
        return self._event.is_set()

    def complete(self, error: BaseException | None = None) -> None:
        if not self._event.is_set():
            self._error = error
            self._event.set()

    def wait(self, timeout_s: float | None, transactional_id: str) -> None:
        """Wait for the outcome; raise its error, or KafkaTimeoutError after ``timeout_s``."""
        if not self._event.wait(timeout_s):
            raise KafkaTimeoutError(
                f"{self.operation}() for transactional id {transactional_id!r} did not "
                f"complete within {timeout_s} s; it goes on in the background: call "
                f"{self.operation}() again to keep waiting"
            )
        if self._error is not None:
            raise self._error


@dataclass(eq=False)
class TransactionalRequest:
    """One request the manager wants sent, and how its answer is handled."""

    api_key: ApiKey
    priority: int  # Kafka's order: lookups, then the producer id, then adds, then the end
    body: Callable[[int], dict[str, Any]]
    handle: Callable[[TransactionalRequest, dict[str, Any], int], None]
    coordinator: CoordinatorType | None  # None: any node (FindCoordinator itself)
    coordinator_key: str = ""
    result: TransactionalResult | None = None
    retry_at_ms: int = 0
    is_end: bool = False  # EndTxn: waits for the batches; local when nothing was added
    state: dict[str, Any] = field(default_factory=dict)  # what the handler needs again


_FIND_COORDINATOR, _INIT_PRODUCER_ID, _ADD, _END = 0, 1, 2, 3


class TransactionManager:
    """A transactional producer's state and its requests to the coordinators."""

    def __init__(
        self,
        transactional_id: str,
        *,
        transaction_timeout_ms: int,
        retry_backoff_ms: int,
        linger_ms: int,
        idempotence: IdempotenceManager,
    ) -> None:
        self.transactional_id = transactional_id
        self._transaction_timeout_ms = transaction_timeout_ms
        self._retry_backoff_ms = retry_backoff_ms
        self._linger_ms = linger_ms
        self._idempotence = idempotence
        self._machine = TransactionStateMachine(transactional_id)
        self._lock = threading.RLock()
        self._queue: list[tuple[int, int, TransactionalRequest]] = []
        self._order = itertools.count()
        self.in_flight: TransactionalRequest | None = None
        self._coordinators: dict[tuple[CoordinatorType, str], int] = {}
        self._new_partitions: set[TopicPartition] = set()
        self._adding: set[TopicPartition] = set()  # in an AddPartitionsToTxn in flight
        self._add_at_ms = 0  # the next AddPartitionsToTxn not before (linger, backoff)
        self.sendable_partitions: set[TopicPartition] = set()
        """The partitions AddPartitionsToTxn added: the accumulator drains only these
        (shared with it; only the sender thread changes it)."""
        self._in_transaction: set[TopicPartition] = set()  # new, adding or sendable
        self._started = False  # the broker may know of the open transaction
        self._pending: dict[str, TransactionalResult] = {}  # call -> result, to resume

    # ------------------------------------------------------------------ introspection

    @property
    def state(self) -> TransactionState:
        return self._machine.state

    @property
    def fatal_error(self) -> BaseException | None:
        return self._machine.error if self._machine.state is _S.FATAL_ERROR else None

    def __repr__(self) -> str:
        return f"TransactionManager({self.transactional_id!r}, {self._machine.state.value})"

    # ------------------------------------------------------------------ caller threads

    def check(self, call: str) -> None:
        """Raise unless ``call`` is accepted now: the fatal error itself, a
        TransactionAbortableError in a failed transaction, else TransactionStateError."""
        machine = self._machine
        state = machine.state
        if state is _S.FATAL_ERROR:
            raise self._fatal_error_for(call)
        if state is _S.ABORTABLE_ERROR and call != "abort_transaction":
            assert machine.error is not None  # the state is entered with its error
            raise self._abortable_error(
                machine.error,
                f"{call}() on transactional id {self.transactional_id!r}: the transaction "
                "failed and must be aborted (abort_transaction())",
            )
        machine.check(call)

    def initialize(self) -> TransactionalResult:
        """``init_transactions()``: look up the coordinator and get the producer id."""
        with self._lock:
            pending = self._pending.get("init_transactions")
            if pending is not None and not pending.is_done:
                return pending  # called again after a timeout: the same outcome
            self.check("init_transactions")
            self._machine.transition_to(_S.INITIALIZING)
            result = self._start("init_transactions")
            self._enqueue(self._init_producer_id_request(result))
            return result

    def begin(self) -> None:
        """``begin_transaction()``: local only; the broker hears of it with the first add."""
        with self._lock:
            self.check("begin_transaction")
            self._machine.transition_to(_S.IN_TRANSACTION)

    def maybe_add_partition(self, tp: TopicPartition) -> bool:
        """``send()`` to ``tp``: check the state, and remember ``tp`` for AddPartitionsToTxn.

        True when the partition is new to the transaction (wake the sender). Called per
        record, so the common case (a partition already added) takes no lock.
        """
        if tp in self._in_transaction and self._machine.state is _S.IN_TRANSACTION:
            return False
        with self._lock:
            self.check("send")
            if tp in self._in_transaction:
                return False
            if not self._new_partitions:
                # the partitions a burst of sends reaches within linger_ms go in one request
                self._add_at_ms = max(self._add_at_ms, monotonic_ms() + self._linger_ms)
            self._in_transaction.add(tp)
            self._new_partitions.add(tp)
            return True

    def send_offsets(
        self,
        offsets: Mapping[TopicPartition, tuple[int, str | None]],
        group: ConsumerGroupMetadata,
    ) -> TransactionalResult:
        """``send_offsets_to_transaction()``: AddOffsetsToTxn, then TxnOffsetCommit."""
        with self._lock:
            self.check("send_offsets_to_transaction")
            result = TransactionalResult("send_offsets_to_transaction")
            self._enqueue(self._add_offsets_request(dict(offsets), group, result))
            return result

    def begin_commit(self) -> TransactionalResult:
        """``commit_transaction()``: EndTxn(commit) once every batch is done."""
        return self._begin_end("commit_transaction", _S.COMMITTING_TRANSACTION, committed=True)

    def begin_abort(self) -> TransactionalResult:
        """``abort_transaction()``: queued records fail, then EndTxn(abort)."""
        return self._begin_end("abort_transaction", _S.ABORTING_TRANSACTION, committed=False)

    def _begin_end(
        self, call: str, target: TransactionState, committed: bool
    ) -> TransactionalResult:
        with self._lock:
            pending = self._pending.get(call)
            if pending is not None and not pending.is_done:
                return pending
            self.check(call)
            self._machine.transition_to(target)
            if not committed:
                # never added: their batches stay unsendable and fail as undrained
                self._in_transaction.difference_update(self._new_partitions)
                self._new_partitions.clear()
            result = self._start(call)
            self._enqueue(self._end_txn_request(committed, result))
            return result

    def _start(self, call: str) -> TransactionalResult:
        result = self._pending[call] = TransactionalResult(call)
        return result

    # ------------------------------------------------------------------ sender thread

    def has_pending_work(self) -> bool:
        """Requests queued or in flight (close() lets them finish)."""
        return bool(self._queue or self._new_partitions or self.in_flight is not None)

    def undrained_batch_error(self) -> BaseException | None:
        """What queued batches must fail with now, if anything: they will never be sent
        in an aborting or failed transaction."""
        state = self._machine.state
        if state is _S.ABORTING_TRANSACTION:
            return TransactionAbortedError(
                f"the transaction of transactional id {self.transactional_id!r} was aborted "
                "before this record was sent",
                self.transactional_id,
            )
        if state is _S.ABORTABLE_ERROR:
            assert self._machine.error is not None
            return self._abortable_error(
                self._machine.error,
                f"the transaction of transactional id {self.transactional_id!r} failed "
                "before this record was sent",
            )
        return None

    def next_request(
        self, has_incomplete_batches: bool, now_ms: int
    ) -> TransactionalRequest | None:
        """The request to send now, if any (one at a time, ahead of produce data)."""
        with self._lock:
            if self.in_flight is not None:
                return None
            self._maybe_add_partitions_request(now_ms)
            while self._queue:
                request = self._queue[0][2]
                if request.retry_at_ms > now_ms:
                    return None
                if request.is_end and (has_incomplete_batches or self._new_partitions):
                    return None  # EndTxn after the transaction's batches, as Kafka
                heapq.heappop(self._queue)
                if request.is_end and not self._started:
                    request.handle(request, {}, now_ms)  # the broker never heard of it
                    continue
                if request.coordinator is not None:
                    key = (request.coordinator, request.coordinator_key)
                    if key not in self._coordinators:
                        self._enqueue(request)
                        self._lookup_coordinator(*key)
                        continue
                self.in_flight = request
                return request
            return None

    def wake_delay_ms(self, now_ms: int) -> int | None:
        """Milliseconds until a queued request's backoff ends (None: nothing waits)."""
        with self._lock:
            times = [entry[2].retry_at_ms for entry in self._queue]
            if self._new_partitions:
                times.append(self._add_at_ms)
            return max(min(times) - now_ms, 0) if times else None

    def target_node(self, request: TransactionalRequest) -> int | None:
        """The coordinator's node id for ``request`` (None: any node will do)."""
        if request.coordinator is None:
            return None
        return self._coordinators.get((request.coordinator, request.coordinator_key))

    def requeue(self, request: TransactionalRequest, *, coordinator_unreachable: bool) -> None:
        """``request`` could not be sent now (its node is not ready): try again later."""
        with self._lock:
            if self.in_flight is request:
                self.in_flight = None
            if coordinator_unreachable:
                self._forget_coordinator(request)
            self._enqueue(request)

    def handle_response(
        self,
        request: TransactionalRequest,
        body: dict[str, Any] | None,
        error: Exception | None,
        now_ms: int,
    ) -> None:
        """An answer (or a transport failure) for the request in flight."""
        with self._lock:
            if self.in_flight is request:
                self.in_flight = None
            if self._machine.state is _S.FATAL_ERROR:
                return
            if error is not None:
                if isinstance(error, RetriableError):
                    log.debug("%s failed, will retry: %s", request.api_key.name, error)
                    self._retry(request, now_ms, look_up_coordinator=True)
                else:
                    self._fail_fatally(error)
                return
            assert body is not None
            request.handle(request, body, now_ms)

    def on_batch_failed(self, batch: ProducerBatch, error: BaseException) -> None:
        """A batch of the transaction failed for good: the transaction cannot commit."""
        with self._lock:
            code = error.code if isinstance(error, KafkaError) else 0
            if code in FATAL_ERROR_CODES:
                self._fail_fatally(error)
            elif self._machine.state in (_S.IN_TRANSACTION, _S.COMMITTING_TRANSACTION):
                self._abortable(error)

    # ------------------------------------------------------------------ requests

    def _to_coordinator(self, **fields: Any) -> TransactionalRequest:
        """A request for this transactional id's coordinator."""
        return TransactionalRequest(
            coordinator=CoordinatorType.TRANSACTION, coordinator_key=self.transactional_id, **fields
        )

    def _producer_fields(self) -> dict[str, Any]:
        """Who asks, in AddOffsetsToTxn, EndTxn and TxnOffsetCommit (Kafka's JSON shares
        these three fields between them)."""
        idempotence = self._idempotence
        return {
            "transactional_id": self.transactional_id,
            "producer_id": idempotence.producer_id,
            "producer_epoch": idempotence.producer_epoch,
        }

    def _enqueue(self, request: TransactionalRequest) -> None:
        heapq.heappush(self._queue, (request.priority, next(self._order), request))

    def _retry(
        self,
        request: TransactionalRequest,
        now_ms: int,
        *,
        look_up_coordinator: bool = False,
        backoff_ms: int | None = None,
    ) -> None:
        if look_up_coordinator:
            self._forget_coordinator(request)
        request.retry_at_ms = now_ms + (
            self._retry_backoff_ms if backoff_ms is None else backoff_ms
        )
        self._enqueue(request)

    def _forget_coordinator(self, request: TransactionalRequest) -> None:
        """The coordinator ``request`` went to moved: look it up again before the retry."""
        if request.coordinator is not None:
            self._coordinators.pop((request.coordinator, request.coordinator_key), None)

    def _lookup_coordinator(self, coordinator: CoordinatorType, key: str) -> None:
        for _, _, queued in self._queue:
            if queued.api_key is ApiKey.FIND_COORDINATOR and queued.state["key"] == (
                coordinator,
                key,
            ):
                return
        self._enqueue(
            TransactionalRequest(
                api_key=ApiKey.FIND_COORDINATOR,
                priority=_FIND_COORDINATOR,
                body=lambda version: {
                    "key": key,
                    "key_type": int(coordinator),
                    "coordinator_keys": [key],
                },
                handle=self._handle_find_coordinator,
                coordinator=None,
                state={"key": (coordinator, key)},
            )
        )

    def _handle_find_coordinator(
        self, request: TransactionalRequest, body: dict[str, Any], now_ms: int
    ) -> None:
        coordinator, key = request.state["key"]
        entries = body.get("coordinators")
        entry = entries[0] if entries else body
        code = int(entry.get("error_code", 0))
        if code == 0:
            node_id = int(entry["node_id"])
            self._coordinators[(coordinator, key)] = node_id
            log.debug(
                "the %s coordinator for %r is node %d", coordinator.name.lower(), key, node_id
            )
            return
        error = self._error(code, f"FindCoordinator({coordinator.name.lower()} {key!r})")
        if isinstance(error, RetriableError):
            self._retry(request, now_ms)
        elif code in _ABORTABLE_CODES:  # GROUP_AUTHORIZATION_FAILED: fails what waits on it
            self._abortable(error)
        else:
            self._fail_fatally(error)

    def _init_producer_id_request(self, result: TransactionalResult) -> TransactionalRequest:
        return self._to_coordinator(
            api_key=ApiKey.INIT_PRODUCER_ID,
            priority=_INIT_PRODUCER_ID,
            body=lambda version: {
                "transactional_id": self.transactional_id,
                "transaction_timeout_ms": self._transaction_timeout_ms,
                # -1/-1: a new session; the coordinator bumps the epoch (fencing any
                # older producer of this id) and aborts what that one left open
                "producer_id": -1,
                "producer_epoch": -1,
            },
            handle=self._handle_init_producer_id,
            result=result,
        )

    def _handle_init_producer_id(
        self, request: TransactionalRequest, body: dict[str, Any], now_ms: int
    ) -> None:
        code = int(body.get("error_code", 0))
        if code == 0:
            producer_id, epoch = int(body["producer_id"]), int(body["producer_epoch"])
            self._idempotence.set_producer_id(producer_id, epoch)
            log.debug(
                "transactional id %r: producer id %d, epoch %d",
                self.transactional_id,
                producer_id,
                epoch,
            )
            self._machine.transition_to(_S.READY)
            self._complete(request.result, None)
            return
        if not self._retried(request, code, now_ms):
            self._fail_fatally(self._error(code, "InitProducerId"))

    def _maybe_add_partitions_request(self, now_ms: int) -> None:
        """Queue an AddPartitionsToTxn for the partitions new to the transaction."""
        if (
            not self._new_partitions
            or self._adding
            or self._machine.state not in (_S.IN_TRANSACTION, _S.COMMITTING_TRANSACTION)
            or (self._add_at_ms > now_ms and self._machine.state is _S.IN_TRANSACTION)
        ):
            return  # (committing: the batches wait for it, so no lingering)
        self._adding, self._new_partitions = self._new_partitions, set()
        by_topic: dict[str, list[int]] = {}
        for tp in sorted(self._adding, key=lambda tp: (tp.topic, tp.partition)):
            by_topic.setdefault(tp.topic, []).append(tp.partition)
        topics = [{"name": topic, "partitions": parts} for topic, parts in by_topic.items()]
        self._started = True
        idempotence = self._idempotence
        self._enqueue(
            self._to_coordinator(
                api_key=ApiKey.ADD_PARTITIONS_TO_TXN,
                priority=_ADD,
                body=lambda version: {
                    "v3_and_below_transactional_id": self.transactional_id,
                    "v3_and_below_producer_id": idempotence.producer_id,
                    "v3_and_below_producer_epoch": idempotence.producer_epoch,
                    "v3_and_below_topics": topics,
                },
                handle=self._handle_add_partitions,
            )
        )

    def _handle_add_partitions(
        self, request: TransactionalRequest, body: dict[str, Any], now_ms: int
    ) -> None:
        codes: dict[int, TopicPartition] = {}
        refused: list[TopicPartition] = []
        for topic in body.get("results_by_topic_v3_and_below") or ():
            for part in topic.get("results_by_partition") or ():
                code = int(part.get("partition_error_code", 0))
                if code and code != _OPERATION_NOT_ATTEMPTED:
                    tp = TopicPartition(topic["name"], int(part["partition_index"]))
                    codes.setdefault(code, tp)
                    refused.append(tp)
        if not codes:
            self.sendable_partitions.update(self._adding)
            self._adding = set()
            return
        adding_allowed = (_S.IN_TRANSACTION, _S.COMMITTING_TRANSACTION)
        if self._machine.state not in adding_allowed and not codes.keys() & FATAL_ERROR_CODES:
            # aborting (or already failed): these partitions will not be added now
            self._in_transaction.difference_update(self._adding)
            self._adding = set()
            return
        # give the partitions back: a retry (or an abort) decides what becomes of them
        self._new_partitions |= self._adding
        self._adding = set()
        code, tp = min(codes.items(), key=lambda item: item[0] not in FATAL_ERROR_CODES)
        context = f"AddPartitionsToTxn({tp.topic}-{tp.partition})"
        if code in _COORDINATOR_MOVED or code in _TRY_AGAIN or code == 3:
            if code in _COORDINATOR_MOVED:
                self._forget_coordinator(request)
            backoff_ms = self._retry_backoff_ms
            if code == _CONCURRENT_TRANSACTIONS:
                backoff_ms = min(_CONCURRENT_TRANSACTIONS_BACKOFF_MS, backoff_ms)
            self._add_at_ms = now_ms + backoff_ms
            return
        error = self._error(code, context)
        if code in _ABORTABLE_CODES:
            self._abortable(error)
        else:
            self._fail_fatally(error)

    def _add_offsets_request(
        self,
        offsets: dict[TopicPartition, tuple[int, str | None]],
        group: ConsumerGroupMetadata,
        result: TransactionalResult,
    ) -> TransactionalRequest:
        self._started = True
        return self._to_coordinator(
            api_key=ApiKey.ADD_OFFSETS_TO_TXN,
            priority=_ADD,
            body=lambda version: {**self._producer_fields(), "group_id": group.group_id},
            handle=self._handle_add_offsets,
            result=result,
            state={"offsets": offsets, "group": group},
        )

    def _handle_add_offsets(
        self, request: TransactionalRequest, body: dict[str, Any], now_ms: int
    ) -> None:
        code = int(body.get("error_code", 0))
        if code == 0:
            if self._machine.state is _S.IN_TRANSACTION:
                self._enqueue(self._txn_offset_commit_request(request))
            else:  # the transaction failed meanwhile: its offsets go nowhere
                self._complete(request.result, self.undrained_batch_error())
            return
        if self._retried(request, code, now_ms):
            return
        self._fail(
            request, self._error(code, f"AddOffsetsToTxn({request.state['group'].group_id!r})")
        )

    def _txn_offset_commit_request(self, add_offsets: TransactionalRequest) -> TransactionalRequest:
        offsets: dict[TopicPartition, tuple[int, str | None]] = add_offsets.state["offsets"]
        group: ConsumerGroupMetadata = add_offsets.state["group"]
        state: dict[str, Any] = {"offsets": offsets, "group": group}

        def body(version: int) -> dict[str, Any]:
            by_topic: dict[str, list[dict[str, Any]]] = {}
            for tp, (offset, metadata) in state["offsets"].items():
                by_topic.setdefault(tp.topic, []).append(
                    {
                        "partition_index": tp.partition,
                        "committed_offset": offset,
                        "committed_metadata": metadata,
                    }
                )
            return {
                **self._producer_fields(),
                "group_id": group.group_id,
                "generation_id": group.generation_id,
                "member_id": group.member_id,
                "group_instance_id": group.group_instance_id,
                "topics": [
                    {"name": topic, "partitions": parts} for topic, parts in by_topic.items()
                ],
            }

        return TransactionalRequest(
            api_key=ApiKey.TXN_OFFSET_COMMIT,
            priority=_ADD,
            body=body,
            handle=self._handle_txn_offset_commit,
            coordinator=CoordinatorType.GROUP,
            coordinator_key=group.group_id,
            result=add_offsets.result,
            state=state,
        )

    def _handle_txn_offset_commit(
        self, request: TransactionalRequest, body: dict[str, Any], now_ms: int
    ) -> None:
        offsets: dict[TopicPartition, tuple[int, str | None]] = request.state["offsets"]
        failed: dict[TopicPartition, int] = {}
        for topic in body.get("topics") or ():
            for part in topic.get("partitions") or ():
                code = int(part.get("error_code", 0))
                if code:
                    failed[TopicPartition(topic["name"], int(part["partition_index"]))] = code
        if not failed:
            self._complete(request.result, None)
            return
        code = min(failed.values(), key=lambda code: code not in FATAL_ERROR_CODES)
        if all(
            c in _COORDINATOR_MOVED or c in _TRY_AGAIN or c in (3, _REQUEST_TIMED_OUT)
            for c in failed.values()
        ):
            request.state["offsets"] = {tp: offsets[tp] for tp in failed if tp in offsets}
            moved = any(c in _COORDINATOR_MOVED or c == _REQUEST_TIMED_OUT for c in failed.values())
            self._retry(request, now_ms, look_up_coordinator=moved)
            return
        self._fail(request, self._error(code, f"TxnOffsetCommit({request.coordinator_key!r})"))

    def _end_txn_request(
        self, committed: bool, result: TransactionalResult
    ) -> TransactionalRequest:
        return self._to_coordinator(
            api_key=ApiKey.END_TXN,
            priority=_END,
            body=lambda version: {**self._producer_fields(), "committed": committed},
            handle=self._handle_end_txn,
            result=result,
            is_end=True,
            state={"committed": committed},
        )

    def _handle_end_txn(
        self, request: TransactionalRequest, body: dict[str, Any], now_ms: int
    ) -> None:
        code = int(body.get("error_code", 0))
        committed = request.state["committed"]
        if code == 0:
            self.sendable_partitions.clear()
            self._in_transaction.clear()
            self._new_partitions.clear()
            self._started = False
            if not committed and self._idempotence.reset_pending:
                # a record with a sequence never reached the broker: start a new epoch
                self._machine.transition_to(_S.INITIALIZING)
                self._enqueue(
                    self._init_producer_id_request(request.result or self._start("abort"))
                )
                return
            self._machine.transition_to(_S.READY)
            self._complete(request.result, None)
            return
        if self._retried(request, code, now_ms):
            return
        error = self._error(code, "EndTxn(commit)" if committed else "EndTxn(abort)")
        if committed and code not in FATAL_ERROR_CODES and code != _INVALID_TXN_STATE:
            self._abortable(error)  # as librdkafka: the application aborts and goes on
        else:
            self._fail_fatally(error)

    # ------------------------------------------------------------------ outcomes

    def _retried(self, request: TransactionalRequest, code: int, now_ms: int) -> bool:
        """Retry ``request`` if ``code`` says that may work (coordinator moved, busy)."""
        if code in _COORDINATOR_MOVED:
            self._retry(request, now_ms, look_up_coordinator=True)
            return True
        if code in _TRY_AGAIN:
            self._retry(request, now_ms)
            return True
        return False

    def _fail(self, request: TransactionalRequest, error: KafkaError) -> None:
        """A request other than EndTxn failed: abortable or fatal by its code."""
        if error.code in _ABORTABLE_CODES:
            self._abortable(error)
            if request.result is not None:
                request.result.complete(self._abortable_error(error))
        else:
            self._fail_fatally(error)

    def _error(self, code: int, what: str) -> KafkaError:
        return error_for_code(code, f"{what} for transactional id {self.transactional_id!r}")

    def _abortable_error(
        self, cause: BaseException, what: str | None = None
    ) -> TransactionAbortableError:
        """``what`` happened (by default: the transaction must be aborted), ``cause`` why."""
        if what is None:
            what = (
                f"the transaction of transactional id {self.transactional_id!r} failed and "
                "must be aborted (abort_transaction())"
            )
        error = TransactionAbortableError(f"{what}: {cause}", self.transactional_id)
        error.__cause__ = cause
        return error

    def _abortable(self, error: BaseException) -> None:
        machine = self._machine
        if machine.state is _S.FATAL_ERROR:
            return
        if _S.ABORTABLE_ERROR not in _reachable(machine.state):
            self._fail_fatally(error)  # e.g. an abort that failed: nothing left to abort to
            return
        log.warning(
            "transactional id %r: the transaction must be aborted: %s", self.transactional_id, error
        )
        machine.transition_to(_S.ABORTABLE_ERROR, error)
        # what was queued for this transaction (a commit's EndTxn, offsets) fails with it
        failed = self._abortable_error(error)
        kept = []
        for entry in self._queue:
            request = entry[2]
            if request.api_key is ApiKey.FIND_COORDINATOR:
                kept.append(entry)
            elif request.result is not None:
                request.result.complete(failed)
        self._queue = kept
        heapq.heapify(self._queue)
        commit = self._pending.get("commit_transaction")
        if commit is not None:  # its EndTxn may be the request that failed
            commit.complete(failed)

    def _fail_fatally(self, error: BaseException) -> None:
        if self._machine.state is _S.FATAL_ERROR:
            return
        self._machine.transition_to(_S.FATAL_ERROR, error)
        self._queue.clear()
        for result in self._pending.values():
            result.complete(error)

    def _complete(self, result: TransactionalResult | None, error: BaseException | None) -> None:
        if result is not None:
            result.complete(error)

    def _fatal_error_for(self, call: str) -> BaseException:
        """A fresh instance of the fatal error's own type (``except ProducerFencedError``)."""
        cause = self._machine.error
        message = (
            f"{call}() on transactional id {self.transactional_id!r}: the producer hit a "
            f"fatal error and must be closed: {cause}"
        )
        error: BaseException
        if isinstance(cause, TransactionError):
            error = type(cause)(message, self.transactional_id)
        elif isinstance(cause, KafkaError):
            error = type(cause)(message)
        else:
            error = TransactionStateError(message)
        error.__cause__ = cause
        return error


def _reachable(state: TransactionState) -> set[TransactionState]:
    return {target for target, sources in VALID_TRANSITIONS.items() if state in sources}


def group_from(group: ConsumerGroupMetadata | str | Any) -> ConsumerGroupMetadata:
    """Normalise the group ``send_offsets_to_transaction`` accepts: a group id, a
    :class:`ConsumerGroupMetadata`, or any object with ``group_id`` (and optionally
    ``generation_id``, ``member_id``, ``group_instance_id``, as Kafka's has)."""
    if isinstance(group, ConsumerGroupMetadata):
        return group
    if isinstance(group, str):
        if not group:
            raise ValueError("the group id is empty")
        return ConsumerGroupMetadata(group)
    group_id = getattr(group, "group_id", None)
    if not isinstance(group_id, str) or not group_id:
        raise ValueError(
            "a group id, a ConsumerGroupMetadata or an object with a group_id is needed, "
            f"got {group!r}"
        )
    return ConsumerGroupMetadata(
        group_id,
        int(getattr(group, "generation_id", -1)),
        str(getattr(group, "member_id", "") or ""),
        getattr(group, "group_instance_id", None),
    )


def offsets_from(
    offsets: Mapping[Any, Any] | Iterable[Any],
) -> dict[TopicPartition, tuple[int, str | None]]:
    """Normalise the offsets ``send_offsets_to_transaction`` accepts.

    A mapping from ``(topic, partition)`` (or anything with ``.topic`` and
    ``.partition``) to an offset or an ``(offset, metadata)`` pair; or, as
    confluent-kafka's consumer hands them out, a sequence of objects with ``.topic``,
    ``.partition``, ``.offset`` (and optionally ``.metadata``). The offset is the next
    record to consume, as in every Kafka client.
    """
    items: list[tuple[Any, Any]]
    if isinstance(offsets, Mapping):
        items = list(offsets.items())
    else:
        items = [(entry, entry) for entry in offsets]
    normal: dict[TopicPartition, tuple[int, str | None]] = {}
    for key, value in items:
        topic: Any
        partition: Any
        offset: Any
        metadata: Any
        if isinstance(key, tuple) and len(key) == 2:
            topic, partition = key
        else:
            topic, partition = getattr(key, "topic", None), getattr(key, "partition", None)
        if isinstance(value, int) and not isinstance(value, bool):
            offset, metadata = value, None
        elif isinstance(value, tuple) and len(value) == 2:
            offset, metadata = value
        else:
            offset, metadata = getattr(value, "offset", None), getattr(value, "metadata", None)
        if not isinstance(topic, str) or not topic:
            raise ValueError(f"an offset needs a topic name, got {key!r}")
        if not isinstance(partition, int) or partition < 0:
            raise ValueError(f"an offset needs a partition >= 0, got {key!r}")
        if not isinstance(offset, int) or isinstance(offset, bool) or offset < 0:
            raise ValueError(
                f"the offset for {topic}-{partition} must be an int >= 0 (the next record "
                f"to consume), got {offset!r}"
            )
        if metadata is not None and not isinstance(metadata, str):
            raise ValueError(f"offset metadata for {topic}-{partition} must be a str")
        normal[TopicPartition(topic, partition)] = (offset, metadata)
    if not normal:
        raise ValueError("send_offsets_to_transaction() needs at least one offset")
    return normal
