"""Sender: the background thread that turns ready batches into Produce requests.

After Kafka's ``Sender``. One loop iteration (:meth:`Sender.run_once`):

1. With idempotence, make sure there is a producer id (InitProducerId to the least
   loaded node) before any batch is drained; after a broken sequence chain, wait until
   nothing is in flight and get a new one.
2. Ask the accumulator which leader nodes have sendable batches; topics whose leader is
   unknown trigger a metadata refresh.
3. Keep the nodes the :class:`NetworkClient` can send to now (connecting to the others).
4. Drain up to ``max_request_size`` per node and send **one Produce request per node**
   carrying every partition drained for it.
5. Fail batches that outlived ``delivery_timeout_ms`` while queued.
6. Poll the network client until the next thing is due; responses complete batches
   through :meth:`Sender._handle_produce_response`.

A partition's outcome in a response either completes its batch (offsets, log-append
time), puts it back at the head of its deque for a retry after ``retry_backoff_ms``
(retriable errors, disconnects and timeouts, while ``retries`` and
``delivery_timeout_ms`` allow; a metadata refresh is requested when the error says
the leader may have moved), or fails it with the typed error. Every batch completes
exactly once, and its memory goes back to the pool when it does.

Fatal errors: a producer id the broker refuses, or an authentication failure on any
connection (:attr:`NetworkClient.authentication_error`: SASL refused, a SCRAM server that
cannot prove itself, a TLS handshake that fails). As in Kafka's client, such an error
is final: it becomes :attr:`Sender.fatal_error`, the requests in flight on the refused
connection fail with it, every queued batch fails with it, ``send()`` raises it and
threads waiting in ``send()`` for metadata are woken with it; no connection is retried.

Transactions (a ``transactional_id``): before step 2, the
:class:`~producer.transaction_manager.TransactionManager`'s next request (FindCoordinator,
InitProducerId, AddPartitionsToTxn, AddOffsetsToTxn, TxnOffsetCommit, EndTxn) is sent to
its coordinator, one at a time; while it is in flight no produce data leaves (as in
Kafka's ``maybeSendAndPollTransactionalRequest``). Batches of partitions not yet added to
the transaction are not drained; when a transaction is aborting or failed, queued batches
fail at once; a batch that fails for good makes the transaction abortable (or, fenced,
fatal). ``close()`` aborts a transaction left open.

Shutdown: :meth:`Sender.initiate_close` lets the loop run until nothing is queued or in
flight (``close()`` delivers what is buffered); :meth:`Sender.force_close` fails what is
left with :class:`ProducerClosedError`.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Callable
from functools import partial
from typing import Any

from producer.accumulator import RecordAccumulator
from producer.batch import ProducerBatch, TopicPartition
from producer.clock import monotonic_ms
from producer.config import ProducerConfig
from producer.errors import (
    DeliveryTimeoutError,
    KafkaError,
    ProducerClosedError,
    ProducerError,
    RetriableError,
)
from producer.idempotence import IdempotenceManager, ProducerIdState
from producer.metadata import Metadata
from producer.network import ClientRequest, ClientResponse, NetworkClient
from producer.protocol import ApiKey
from producer.protocol.error_codes import error_for_code
from producer.transaction_manager import TransactionalRequest, TransactionManager
from producer.transaction_state import TransactionState

__all__ = ["Sender"]

log = logging.getLogger(__name__)

_MESSAGE_TOO_LARGE = 10
_OUT_OF_ORDER_SEQUENCE_NUMBER = 45
_DUPLICATE_SEQUENCE_NUMBER = 46
_INVALID_PRODUCER_EPOCH = 47
_UNKNOWN_PRODUCER_ID = 59
_PRODUCER_ID_LOST = frozenset({_INVALID_PRODUCER_EPOCH, _UNKNOWN_PRODUCER_ID})
# errors after which the cached leader is probably wrong (Kafka's InvalidMetadataException)
_STALE_METADATA = frozenset({3, 5, 6, 56, 74, 75, 103})
_MAX_POLL_MS = 1_000
_MAX_WAKE_SLACK_MS = 5
_ALWAYS_WAKE = 2**62  # the deadline published while the sender is not in a produce poll


class Sender:
    """Drains the accumulator into Produce requests on its own thread."""

    def __init__(
        self,
        config: ProducerConfig,
        *,
        client: NetworkClient,
        metadata: Metadata,
        accumulator: RecordAccumulator,
        idempotence: IdempotenceManager | None,
        transactions: TransactionManager | None = None,
        clock_ms: Callable[[], int] = monotonic_ms,
    ) -> None:
        self._config = config
        self._client = client
        self._metadata = metadata
        self._accumulator = accumulator
        self._idempotence = idempotence
        self._transactions = transactions
        self._transactional_id = None if transactions is None else transactions.transactional_id
        self._clock_ms = clock_ms
        self._acks = config.acks
        self._running = True
        self._force_close = False
        self._next_init_ms = 0
        self._poll_deadline_ms = _ALWAYS_WAKE
        self._wake_slack_ms = min(config.linger_ms, _MAX_WAKE_SLACK_MS)
        self.fatal_error: BaseException | None = None
        """An error that makes every further send fail (e.g. producer id refused)."""
        self.produce_requests_by_node: Counter[int] = Counter()
        self.partitions_by_node: dict[int, set[tuple[str, int]]] = {}
        self.records_sent = 0
        self.bytes_sent = 0
        self.batches_sent = 0
        self.batches_retried = 0
        self.batches_split = 0
        self.batches_failed = 0
        self.records_failed = 0
        self.request_latency_total_ms = 0
        self.request_latency_max_ms = 0
        self.responses = 0
        self._thread = threading.Thread(
            target=self.run, name=f"regcast-producer-sender-{config.client_id}", daemon=True
        )

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> None:
        self._thread.start()

    def wakeup(self) -> None:
        """Thread-safe: interrupt the sender's poll so it looks at the accumulator now."""
        self._client.wakeup()

    def wakeup_for_batch(self, now_ms: int) -> None:
        """Thread-safe: a batch opened or filled; wake the sender unless it wakes soon anyway.

        Waking costs a syscall and, in CPython, handing the GIL over mid-burst. When the
        sender is due back within ``_wake_slack_ms`` (at most ``linger_ms``, at most 5 ms)
        the batch simply waits for that turn, so a batch waits at most that long longer
        than in Kafka's client, which always wakes. No wakeup is lost: the sender
        publishes its deadline before it re-checks :attr:`RecordAccumulator.batches_created`
        and sleeps only if no batch appeared meanwhile.
        """
        if self._poll_deadline_ms > now_ms + self._wake_slack_ms:
            self._client.wakeup()

    def initiate_close(self) -> None:
        """Stop taking on work once everything queued and in flight is done."""
        self._running = False
        self.wakeup()

    def force_close(self) -> None:
        """Stop now; whatever is left fails with :class:`ProducerClosedError`."""
        self._force_close = True
        self._running = False
        self.wakeup()

    def join(self, timeout_s: float | None) -> bool:
        """Wait for the thread to end; True if it did."""
        self._thread.join(timeout_s)
        return not self._thread.is_alive()

    def run(self) -> None:
        """The sender thread's body."""
        try:
            while self._running:
                self.run_once()
            transactions = self._transactions
            if transactions is not None and not self._force_close:
                self._abort_open_transaction(transactions)
            accumulator = self._accumulator
            while not self._force_close and (
                accumulator.has_undrained()
                or self._client.in_flight_request_count() > 0
                or (transactions is not None and self._has_transactional_work(transactions))
            ):
                self.run_once()
        except Exception as exc:  # a bug: fail everything loudly rather than hang
            log.exception("the producer's sender thread crashed")
            self.fatal_error = exc
        finally:
            error = self.fatal_error or ProducerClosedError(
                "the producer was closed before these records were delivered"
            )
            self._accumulator.abort_incomplete_batches(error)
            self._client.close()

    # ------------------------------------------------------------------ one iteration

    def run_once(self) -> None:
        """Runs on the sender thread."""
        now_ms = self._clock_ms()
        if self.fatal_error is None and self._client.authentication_error is not None:
            self._fail_fatally(self._client.authentication_error)
        if self.fatal_error is not None:
            self._accumulator.abort_undrained_batches(self.fatal_error)
            self._client.poll(_MAX_POLL_MS, now_ms)
            return
        idempotence = self._idempotence
        transactions = self._transactions
        if transactions is not None:
            if transactions.fatal_error is not None:  # fenced, not authorized: for good
                self._fail_fatally(transactions.fatal_error)
                return
            transactional_poll_ms = self._maybe_send_transactional_request(transactions, now_ms)
            if transactional_poll_ms is not None:
                self._fail_expired(self._accumulator.expired_batches(now_ms))
                self._client.poll(transactional_poll_ms, now_ms)
                return
        elif idempotence is not None and not idempotence.has_producer_id:
            poll_ms = self._maybe_init_producer_id(idempotence, now_ms)
            self._fail_expired(self._accumulator.expired_batches(now_ms))
            self._client.poll(poll_ms, now_ms)
            return
        batches_seen = self._accumulator.batches_created
        poll_ms = self._send_producer_data(now_ms)
        if transactions is not None:
            delay_ms = transactions.wake_delay_ms(now_ms)
            if delay_ms is not None:
                poll_ms = min(poll_ms, delay_ms)
        self._poll_deadline_ms = now_ms + poll_ms
        if self._accumulator.batches_created != batches_seen:
            poll_ms = 0  # a batch opened while we looked: look again before sleeping
        self._client.poll(poll_ms, now_ms)
        self._poll_deadline_ms = _ALWAYS_WAKE

    def _fail_fatally(self, error: BaseException) -> None:
        """Runs on the sender thread: ``error`` ends the producer (see the docstring)."""
        self.fatal_error = error
        log.error("the producer cannot continue, failing queued records: %s", error)
        self._accumulator.abort_undrained_batches(error)
        self._metadata.fail(error)

    def _send_producer_data(self, now_ms: int) -> int:
        accumulator = self._accumulator
        cluster = self._metadata.cluster
        result = accumulator.ready(cluster, now_ms)
        if result.unknown_leader_topics:
            for topic in result.unknown_leader_topics:
                self._metadata.add_topic(topic, now_ms)
            self._metadata.request_update()
        poll_ms = min(result.next_ready_check_delay_ms, _MAX_POLL_MS)
        ready_nodes = set()
        for node in result.ready_nodes:
            if self._client.ready(node, now_ms):
                ready_nodes.add(node)
            else:
                poll_ms = min(poll_ms, max(self._client.connection_delay(node, now_ms), 1))
        if ready_nodes:
            drained = accumulator.drain(cluster, ready_nodes, self._config.max_request_size, now_ms)
            for node, batches in drained.items():
                self._send_produce_request(node, batches, now_ms)
            if drained:
                poll_ms = 0
        self._fail_expired(accumulator.expired_batches(now_ms))
        if result.next_expiry_ms < 2**62:
            poll_ms = min(poll_ms, max(result.next_expiry_ms - now_ms, 0))
        return max(poll_ms, 0)

    def _fail_expired(self, expired: list[ProducerBatch]) -> None:
        for batch in expired:
            error = DeliveryTimeoutError(
                f"{batch.record_count} record(s) for {_name(batch.topic_partition)} expired: "
                f"not delivered within delivery_timeout_ms={self._config.delivery_timeout_ms} "
                "(is the partition's leader reachable?)"
            )
            self._finish(batch, error, in_flight=False)

    # ------------------------------------------------------------------ transactions

    def _maybe_send_transactional_request(
        self, transactions: TransactionManager, now_ms: int
    ) -> int | None:
        """Send the transaction manager's next request; the poll timeout if this iteration
        is spent on it (None: go on to produce data)."""
        if transactions.in_flight is not None:
            return self._config.retry_backoff_ms  # wait for its answer, as Kafka's Sender
        accumulator = self._accumulator
        abort_error = transactions.undrained_batch_error()
        if (
            abort_error is not None
            and accumulator.abort_undrained_batches(abort_error)
            and self._idempotence is not None
        ):
            self._idempotence.request_reset()  # a retried batch left a sequence gap
        request = transactions.next_request(accumulator.has_incomplete(), now_ms)
        if request is None:
            return None
        node = transactions.target_node(request)
        if node is None:
            node = self._client.least_loaded_node(now_ms)
        if node is None or not self._client.ready(node, now_ms):
            unreachable = node is not None and self._client.is_connection_failed(node)
            transactions.requeue(request, coordinator_unreachable=unreachable)
            if node is None:
                return self._config.reconnect_backoff_ms
            return max(self._client.connection_delay(node, now_ms), 1)
        self._client.send(
            ClientRequest(
                node_id=node,
                api_key=request.api_key,
                body=request.body,
                callback=partial(self._handle_transactional_response, request),
                created_ms=now_ms,
            ),
            now_ms,
        )
        return self._config.retry_backoff_ms

    def _handle_transactional_response(
        self, request: TransactionalRequest, response: ClientResponse
    ) -> None:
        transactions = self._transactions
        assert transactions is not None
        transactions.handle_response(request, response.body, response.error, response.received_ms)

    def _abort_open_transaction(self, transactions: TransactionManager) -> None:
        """close() with a transaction open: abort it, as Kafka's producer does."""
        if transactions.state in (
            TransactionState.IN_TRANSACTION,
            TransactionState.ABORTABLE_ERROR,
        ):
            log.info("closing with the transaction of %r open: aborting it", self._transactional_id)
            transactions.begin_abort()

    def _has_transactional_work(self, transactions: TransactionManager) -> bool:
        return transactions.fatal_error is None and transactions.has_pending_work()

    # ------------------------------------------------------------------ InitProducerId

    def _maybe_init_producer_id(self, idempotence: IdempotenceManager, now_ms: int) -> int:
        """Get a producer id when needed; the poll timeout until the next step."""
        if idempotence.reset_pending and idempotence.state is ProducerIdState.READY:
            if self._client.in_flight_request_count() > 0:
                return self._config.retry_backoff_ms
            idempotence.begin_reset()
        if idempotence.state is ProducerIdState.REQUESTING:
            return _MAX_POLL_MS
        if now_ms < self._next_init_ms:
            return self._next_init_ms - now_ms
        node = self._client.least_loaded_node(now_ms)
        if node is None or not self._client.ready(node, now_ms):
            return self._config.reconnect_backoff_ms
        idempotence.state = ProducerIdState.REQUESTING
        self._client.send(
            ClientRequest(
                node_id=node,
                api_key=ApiKey.INIT_PRODUCER_ID,
                body=idempotence.init_producer_id_body,
                callback=self._handle_init_producer_id,
                created_ms=now_ms,
            ),
            now_ms,
        )
        return _MAX_POLL_MS

    def _handle_init_producer_id(self, response: ClientResponse) -> None:
        idempotence = self._idempotence
        assert idempotence is not None
        body = response.body
        error: BaseException | None = response.error
        if error is None and body is not None and body.get("error_code", 0):
            error = error_for_code(
                int(body["error_code"]), f"InitProducerId on node {response.node_id}"
            )
        if error is None and body is not None:
            idempotence.set_producer_id(int(body["producer_id"]), int(body["producer_epoch"]))
            log.debug("producer id %d, epoch %d", body["producer_id"], body["producer_epoch"])
            return
        idempotence.state = ProducerIdState.NEEDS_ID
        self._next_init_ms = response.received_ms + self._config.retry_backoff_ms
        if isinstance(error, RetriableError):
            log.info("InitProducerId failed, will retry: %s", error)
            return
        # the broker refuses idempotence (authorization, unsupported): fail what is queued
        self.fatal_error = error
        log.error("cannot get a producer id, failing queued records: %s", error)
        self._accumulator.abort_undrained_batches(
            error or ProducerError("InitProducerId failed without an error")
        )

    # ------------------------------------------------------------------ Produce

    def _send_produce_request(self, node: int, batches: list[ProducerBatch], now_ms: int) -> None:
        """One Produce request carrying every batch drained for ``node``."""
        by_tp: dict[TopicPartition, ProducerBatch] = {}
        topic_data: dict[str, list[dict[str, Any]]] = {}
        for batch in batches:
            tp = batch.topic_partition
            by_tp[tp] = batch
            topic_data.setdefault(tp.topic, []).append(
                {"index": tp.partition, "records": batch.records()}
            )
        body = {
            "transactional_id": self._transactional_id,
            "acks": self._acks,
            "timeout_ms": self._config.request_timeout_ms,
            "topic_data": [
                {"name": topic, "partition_data": partitions}
                for topic, partitions in topic_data.items()
            ],
        }
        self.produce_requests_by_node[node] += 1
        self.partitions_by_node.setdefault(node, set()).update(by_tp)
        self._client.send(
            ClientRequest(
                node_id=node,
                api_key=ApiKey.PRODUCE,
                body=lambda _version: body,
                expect_response=self._acks != 0,
                callback=partial(self._handle_produce_response, by_tp),
                created_ms=now_ms,
            ),
            now_ms,
        )

    def _handle_produce_response(
        self, batches: dict[TopicPartition, ProducerBatch], response: ClientResponse
    ) -> None:
        """Runs on the sender thread, from the network client's poll."""
        now_ms = response.received_ms
        latency_ms = max(now_ms - response.request.created_ms, 0)
        self.responses += 1
        self.request_latency_total_ms += latency_ms
        self.request_latency_max_ms = max(self.request_latency_max_ms, latency_ms)
        if response.error is not None:
            for batch in batches.values():
                self._complete_batch(batch, response.error, -1, -1, now_ms)
            return
        if response.body is None:  # acks=0: written to the socket is all we will know
            for batch in batches.values():
                self._complete_batch(batch, None, -1, -1, now_ms)
            return
        node = response.node_id
        answered: set[TopicPartition] = set()
        for topic_response in response.body.get("responses") or ():
            topic = topic_response["name"]
            for part in topic_response.get("partition_responses") or ():
                tp = TopicPartition(topic, int(part["index"]))
                sent = batches.get(tp)
                if sent is None or tp in answered:
                    continue
                answered.add(tp)
                code = int(part.get("error_code", 0))
                error: BaseException | None = None
                if code:
                    context = f"produce to {_name(tp)} on node {node}"
                    if part.get("error_message"):
                        context += f" ({part['error_message']})"
                    error = error_for_code(code, context)
                self._complete_batch(
                    sent,
                    error,
                    int(part.get("base_offset", -1)),
                    int(part.get("log_append_time_ms", -1)),
                    now_ms,
                )
        for tp, batch in batches.items():
            if tp not in answered:
                missing = ProducerError(
                    f"node {node} answered a Produce request without a result for {_name(tp)}"
                )
                self._complete_batch(batch, missing, -1, -1, now_ms)

    def _complete_batch(
        self,
        batch: ProducerBatch,
        error: BaseException | None,
        base_offset: int,
        log_append_time_ms: int,
        now_ms: int,
    ) -> None:
        idempotence = self._idempotence
        code = error.code if isinstance(error, KafkaError) else 0
        if error is None or code == _DUPLICATE_SEQUENCE_NUMBER:
            # a duplicate was written before: success, but the broker no longer knows where
            if idempotence is not None:
                idempotence.on_acked(batch)
            self.records_sent += batch.record_count
            self.bytes_sent += batch.builder.size_bytes
            self.batches_sent += 1
            self._finish(batch, None, base_offset, log_append_time_ms)
            return
        if (
            code == _MESSAGE_TOO_LARGE
            and batch.record_count > 1
            and not batch.has_reached_delivery_timeout(self._config.delivery_timeout_ms, now_ms)
        ):
            self._split(batch)
            return
        if idempotence is not None and batch.has_sequence and self._transactions is None:
            if code in _PRODUCER_ID_LOST:
                idempotence.request_reset()
            elif code == _OUT_OF_ORDER_SEQUENCE_NUMBER and idempotence.is_next_in_line(batch):
                # the broker lost our sequence although nothing before this batch is
                # missing: only a new producer id gets the partition going again
                idempotence.request_reset()
        if self._can_retry(batch, error, code, now_ms):
            if code in _STALE_METADATA or not isinstance(error, KafkaError):
                self._metadata.request_update()
            log.debug("retrying %r after %s", batch, error)
            self.batches_retried += 1
            self._accumulator.reenqueue(batch, now_ms)
            return
        if isinstance(error, RetriableError) and batch.has_reached_delivery_timeout(
            self._config.delivery_timeout_ms, now_ms
        ):
            timeout = DeliveryTimeoutError(
                f"{batch.record_count} record(s) for {_name(batch.topic_partition)} not "
                f"delivered within delivery_timeout_ms={self._config.delivery_timeout_ms}; "
                f"last error: {error}"
            )
            timeout.__cause__ = error
            error = timeout
        self._finish(batch, error)

    def _split(self, batch: ProducerBatch) -> None:
        """Send a batch the broker refused as too large again as two, in its place (as
        Kafka's producer does; a single record that is too large fails instead).

        The batch keeps its reservation and its futures; it completes when both parts
        have, each record with its part's outcome. A part refused again is split again.
        """
        parts = batch.split()
        if self._idempotence is not None and batch.has_sequence:
            self._idempotence.stamp_split(batch, parts)
        batch.produce_future.split_into([(start, part.produce_future) for start, part in parts])

        def part_done() -> None:
            # on the thread that completed a part (two may race at a forced close: both
            # may see every part done, and batch.done and deallocate act once)
            results = [part.produce_future for _, part in parts]
            if all(result.done() for result in results):
                errors = [result.error for result in results if result.error is not None]
                batch.done(-1, -1, errors[0] if errors else None)
                self._accumulator.deallocate(batch)

        for _, part in parts:
            part.produce_future.on_done(part_done)
        self.batches_split += 1
        log.info("%r was too large for the broker: sending it as two batches", batch)
        self._accumulator.enqueue_split(batch, [part for _, part in parts])

    def _can_retry(
        self, batch: ProducerBatch, error: BaseException, code: int, now_ms: int
    ) -> bool:
        if batch.has_reached_delivery_timeout(self._config.delivery_timeout_ms, now_ms):
            return False
        if batch.attempts >= self._config.retries:
            return False
        if code in _PRODUCER_ID_LOST or code == _OUT_OF_ORDER_SEQUENCE_NUMBER:
            # idempotent: a new producer id mends the chain; in a transaction the
            # transaction fails instead (aborted, then a new epoch)
            return self._idempotence is not None and self._transactions is None
        return isinstance(error, RetriableError)

    def _finish(
        self,
        batch: ProducerBatch,
        error: BaseException | None,
        base_offset: int = -1,
        log_append_time_ms: int = -1,
        *,
        in_flight: bool = True,
    ) -> None:
        if in_flight:
            self._accumulator.sent_batch_done(batch)
        if error is not None:
            self.batches_failed += 1
            self.records_failed += batch.record_count
            if self._idempotence is not None and batch.has_sequence:
                # failed for good or expired: the partition's sequence chain has a gap
                self._idempotence.request_reset()
            if self._transactions is not None:
                self._transactions.on_batch_failed(batch, error)
        batch.done(base_offset, log_append_time_ms, error)
        self._accumulator.deallocate(batch)


def _name(tp: TopicPartition) -> str:
    return f"{tp.topic}-{tp.partition}"
