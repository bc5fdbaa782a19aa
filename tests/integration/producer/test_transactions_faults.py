"""regcast's transactions under the errors no broker here gives on demand.

The fault proxy answers chosen requests itself (``FaultProxy.inject_error``), in front
of a real Tansu; ``test_fault_proxy_transactions.py`` first shows librdkafka's
transactional producer taking those answers as a broker's, and what it does with each.
regcast must do the same: retry CONCURRENT_TRANSACTIONS and COORDINATOR_NOT_AVAILABLE,
look the coordinator up again after NOT_COORDINATOR, end for good on fencing, and let
the application abort and go on after an abortable error. Each outcome is also checked
in the log (``tests.support.transaction_log``).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from producer import Producer
from producer.errors import (
    InvalidProducerEpochError,
    ProducerFencedError,
    TransactionAbortableError,
    TransactionalIdAuthorizationFailedError,
)
from tests.conftest import KafkaBroker
from tests.support.fault_proxy import FaultProxy
from tests.support.transaction_log import read_log, summarize, wait_for_marker

pytestmark = pytest.mark.timeout(30)

PRODUCE, FIND_COORDINATOR, INIT_PRODUCER_ID, ADD_PARTITIONS_TO_TXN, END_TXN = 0, 10, 22, 24, 26
TRANSACTIONAL_ID_AUTHORIZATION_FAILED = 53
COORDINATOR_NOT_AVAILABLE, NOT_COORDINATOR, TOPIC_AUTHORIZATION_FAILED = 15, 16, 29
INVALID_PRODUCER_EPOCH, CONCURRENT_TRANSACTIONS, PRODUCER_FENCED = 47, 51, 90
TRANSACTION_ABORTABLE = 120


@pytest.fixture
def producer(proxy: FaultProxy) -> Iterator[Producer]:
    producer = Producer(
        bootstrap_servers=proxy.bootstrap_servers,
        transactional_id=f"txn-fault-{uuid.uuid4().hex[:8]}",
        retry_backoff_ms=20,
        request_timeout_ms=5_000,
        delivery_timeout_ms=10_000,
    )
    try:
        yield producer
    finally:
        producer.close(5)


def _log(kafka_broker: KafkaBroker, topic: str, markers: int) -> list[Any]:
    wait_for_marker(kafka_broker.host, kafka_broker.port, topic, 0, count=markers)
    return summarize(read_log(kafka_broker.host, kafka_broker.port, topic))


def _send(producer: Producer, topic: str, *values: str) -> list[BaseException | None]:
    futures = [producer.send(topic, value.encode(), partition=0) for value in values]
    return [future.exception(10) for future in futures]


def test_concurrent_transactions_on_add_partitions_is_retried(
    kafka_broker: KafkaBroker, proxy: FaultProxy, producer: Producer, topic: str
) -> None:
    producer.init_transactions(5)
    lookups = proxy.request_count(FIND_COORDINATOR)
    proxy.inject_error(ADD_PARTITIONS_TO_TXN, CONCURRENT_TRANSACTIONS, count=2)
    producer.begin_transaction()
    assert _send(producer, topic, "r1", "r2", "r3") == [None, None, None]
    producer.commit_transaction(5)

    assert proxy.injected_count(ADD_PARTITIONS_TO_TXN) == 2
    assert proxy.request_count(ADD_PARTITIONS_TO_TXN) == 3
    assert proxy.request_count(FIND_COORDINATOR) == lookups  # same coordinator
    [(_, pid, epoch, values), marker] = _log(kafka_broker, topic, markers=1)
    assert (values, marker) == (["r1", "r2", "r3"], ("COMMIT", pid, epoch))


def test_coordinator_not_available_on_find_coordinator_is_retried(
    kafka_broker: KafkaBroker, proxy: FaultProxy, producer: Producer, topic: str
) -> None:
    proxy.inject_error(FIND_COORDINATOR, COORDINATOR_NOT_AVAILABLE, count=2)
    producer.init_transactions(5)
    assert proxy.injected_count(FIND_COORDINATOR) == 2
    assert proxy.request_count(FIND_COORDINATOR) >= 3
    with producer.transaction():
        producer.send(topic, b"after-lookup", partition=0)
    [(_, _, _, values), (marker, _, _)] = _log(kafka_broker, topic, markers=1)
    assert (values, marker) == (["after-lookup"], "COMMIT")


def test_not_coordinator_on_end_txn_looks_the_coordinator_up_again(
    kafka_broker: KafkaBroker, proxy: FaultProxy, producer: Producer, topic: str
) -> None:
    """The coordinator moved: FindCoordinator again, the same EndTxn(commit) again, and
    the commit is written once."""
    producer.init_transactions(5)
    lookups = proxy.request_count(FIND_COORDINATOR)
    proxy.inject_error(END_TXN, NOT_COORDINATOR)
    producer.begin_transaction()
    assert _send(producer, topic, "moved") == [None]
    producer.commit_transaction(5)
    assert proxy.request_count(END_TXN) == 2
    assert proxy.request_count(FIND_COORDINATOR) == lookups + 1
    assert [entry[0] for entry in _log(kafka_broker, topic, markers=1)] == ["data", "COMMIT"]


@pytest.mark.parametrize(
    ("code", "error_type"),
    [(PRODUCER_FENCED, ProducerFencedError), (INVALID_PRODUCER_EPOCH, InvalidProducerEpochError)],
)
def test_fencing_on_end_txn_is_fatal(
    kafka_broker: KafkaBroker,
    proxy: FaultProxy,
    producer: Producer,
    topic: str,
    code: int,
    error_type: type[Exception],
) -> None:
    """No retry; every later call raises the same error type, naming the transactional
    id; no EndTxn reaches the broker, so the log has the data and no marker."""
    producer.init_transactions(5)
    proxy.inject_error(END_TXN, code)
    producer.begin_transaction()
    assert _send(producer, topic, "doomed") == [None]
    transactional_id = producer.config.transactional_id
    assert transactional_id is not None
    with pytest.raises(error_type, match=transactional_id):
        producer.commit_transaction(5)
    for call in (producer.abort_transaction, producer.begin_transaction):
        with pytest.raises(error_type, match=transactional_id):
            call()
    with pytest.raises(error_type):
        producer.send(topic, b"late", partition=0)
    assert proxy.request_count(END_TXN) == 1
    assert [
        entry[0] for entry in summarize(read_log(kafka_broker.host, kafka_broker.port, topic))
    ] == ["data"]


def test_topic_authorization_failed_on_add_partitions_is_abortable(
    kafka_broker: KafkaBroker, proxy: FaultProxy, producer: Producer, topic: str
) -> None:
    """The partition is refused: its records fail unsent, the commit raises
    TransactionAbortableError; the abort works, and the next transaction commits."""
    producer.init_transactions(5)
    proxy.inject_error(ADD_PARTITIONS_TO_TXN, TOPIC_AUTHORIZATION_FAILED)
    producer.begin_transaction()
    outcomes = _send(producer, topic, "refused-1", "refused-2")
    assert all(isinstance(error, TransactionAbortableError) for error in outcomes), outcomes
    with pytest.raises(TransactionAbortableError) as raised:
        producer.commit_transaction(5)
    assert getattr(raised.value.__cause__, "code", None) == TOPIC_AUTHORIZATION_FAILED
    producer.abort_transaction(5)
    with producer.transaction():
        producer.send(topic, b"next", partition=0)
    log = _log(kafka_broker, topic, markers=1)
    assert [(entry[0], entry[3] if entry[0] == "data" else None) for entry in log][-2:] == [
        ("data", ["next"]),
        ("COMMIT", None),
    ]
    values = [value for entry in log if entry[0] == "data" for value in entry[3]]
    assert values == ["next"]


def test_transaction_abortable_on_end_txn_commit_is_abortable(
    kafka_broker: KafkaBroker, proxy: FaultProxy, producer: Producer, topic: str
) -> None:
    """As librdkafka: an EndTxn(commit) error that is neither retriable nor fatal makes
    the transaction abortable; abort_transaction sends EndTxn(abort), and the log shows
    the records followed by ABORT."""
    producer.init_transactions(5)
    proxy.inject_error(END_TXN, TRANSACTION_ABORTABLE)
    producer.begin_transaction()
    assert _send(producer, topic, "a1", "a2") == [None, None]
    with pytest.raises(TransactionAbortableError):
        producer.commit_transaction(5)
    producer.abort_transaction(5)
    [(_, pid, epoch, values), marker] = _log(kafka_broker, topic, markers=1)
    assert (values, marker) == (["a1", "a2"], ("ABORT", pid, epoch))


def test_invalid_producer_epoch_on_produce_is_fatal(
    kafka_broker: KafkaBroker, proxy: FaultProxy, producer: Producer, topic: str
) -> None:
    """A batch refused as from an old epoch: the producer was fenced, so the record
    fails with it and the transaction cannot go on."""
    producer.init_transactions(5)
    proxy.inject_error(PRODUCE, INVALID_PRODUCER_EPOCH)
    producer.begin_transaction()
    [error] = _send(producer, topic, "stale")
    assert isinstance(error, InvalidProducerEpochError)
    with pytest.raises(InvalidProducerEpochError):
        producer.commit_transaction(5)


def test_transactional_id_authorization_failed_on_init_is_fatal(
    proxy: FaultProxy, producer: Producer
) -> None:
    """The broker refuses the transactional id (ACLs): init_transactions raises
    TransactionalIdAuthorizationFailedError naming it, and so does every later call."""
    proxy.inject_error(INIT_PRODUCER_ID, TRANSACTIONAL_ID_AUTHORIZATION_FAILED)
    transactional_id = producer.config.transactional_id
    assert transactional_id is not None
    with pytest.raises(TransactionalIdAuthorizationFailedError, match=transactional_id):
        producer.init_transactions(5)
    with pytest.raises(TransactionalIdAuthorizationFailedError, match=transactional_id):
        producer.begin_transaction()
    assert proxy.request_count(INIT_PRODUCER_ID) == 1  # not retried
