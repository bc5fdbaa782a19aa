"""The fault proxy's injected transaction errors, proven with the reference client.

Tansu cannot be made to answer CONCURRENT_TRANSACTIONS, COORDINATOR_NOT_AVAILABLE,
NOT_COORDINATOR or a chosen error on EndTxn, so issue 17's tests get them from
``FaultProxy.inject_error``: the proxy answers the request itself, at its version, and
the broker never sees it. Before regcast's TransactionManager is tested against such
answers, confluent-kafka's transactional producer (librdkafka 2.16) is, here, on a real
Tansu behind the proxy: each test shows that librdkafka takes the proxy's answer as a
broker's and records in its docstring what librdkafka does with it. regcast's
TransactionManager is held to the same behaviour (and to Kafka's Java client's, which
classifies these errors the same way: retry, look the coordinator up again, fatal, or
abortable). The classification is librdkafka's ``rdkafka_txnmgr.c``
(``rd_kafka_txn_handle_AddPartitionsToTxn``, ``..._EndTxn``, ``..._FindCoordinator``).
"""

from __future__ import annotations

import socket
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from confluent_kafka import KafkaError, KafkaException
from confluent_kafka import Producer as LibrdkafkaProducer

from producer.protocol import ApiKey, decode_response, encode_request
from tests.conftest import KafkaBroker
from tests.support.fault_proxy import FaultProxy
from tests.support.transaction_log import read_log, summarize, wait_for_marker

pytestmark = pytest.mark.timeout(30)

FIND_COORDINATOR, ADD_PARTITIONS_TO_TXN, END_TXN = 10, 24, 26
COORDINATOR_NOT_AVAILABLE, NOT_COORDINATOR, TOPIC_AUTHORIZATION_FAILED = 15, 16, 29
INVALID_PRODUCER_EPOCH, CONCURRENT_TRANSACTIONS, PRODUCER_FENCED = 47, 51, 90
TRANSACTION_ABORTABLE = 120


def _transactional(proxy: FaultProxy) -> LibrdkafkaProducer:
    """librdkafka's transactional producer, bootstrapped through the proxy (it reaches
    the coordinator and the leader at the addresses the proxy rewrote)."""
    return LibrdkafkaProducer(
        {
            "bootstrap.servers": proxy.bootstrap_servers,
            "transactional.id": f"txn-fault-{uuid.uuid4().hex[:8]}",
            "log_level": 0,
        }
    )


def _send(producer: LibrdkafkaProducer, topic: str, *values: str) -> list[KafkaError | None]:
    """Produce ``values`` to partition 0 and wait for their delivery reports."""
    outcomes: list[KafkaError | None] = []
    for value in values:
        producer.produce(
            topic, value=value.encode(), partition=0, on_delivery=lambda e, _m: outcomes.append(e)
        )
    producer.flush(5)
    return outcomes


def _log(kafka_broker: KafkaBroker, topic: str, markers: int) -> list[tuple[object, ...]]:
    wait_for_marker(kafka_broker.host, kafka_broker.port, topic, 0, count=markers)
    return summarize(read_log(kafka_broker.host, kafka_broker.port, topic))


def _raised(call: Callable[..., object], *args: object) -> KafkaError:
    """The KafkaError that ``call(*args)`` raises."""
    with pytest.raises(KafkaException) as raised:
        call(*args)
    error: KafkaError = raised.value.args[0]
    return error


def test_concurrent_transactions_on_add_partitions_is_retried(
    kafka_broker: KafkaBroker, proxy: FaultProxy, topic: str
) -> None:
    """CONCURRENT_TRANSACTIONS (51) on AddPartitionsToTxn, twice: librdkafka sends the
    same AddPartitionsToTxn again after a short backoff (20 ms for this error, 500 ms
    for COORDINATOR_LOAD_IN_PROGRESS / UNKNOWN_TOPIC_OR_PART), to the same coordinator
    (no FindCoordinator), holds the records until the partition is added, and the
    transaction commits: nothing surfaces to the application."""
    producer = _transactional(proxy)
    producer.init_transactions(5)
    lookups = proxy.request_count(FIND_COORDINATOR)
    proxy.inject_error(ADD_PARTITIONS_TO_TXN, CONCURRENT_TRANSACTIONS, count=2)
    producer.begin_transaction()
    assert _send(producer, topic, "r1", "r2", "r3") == [None, None, None]
    producer.commit_transaction(5)

    assert proxy.injected_count(ADD_PARTITIONS_TO_TXN) == 2
    assert proxy.request_count(ADD_PARTITIONS_TO_TXN) == 3  # the third reached Tansu
    assert proxy.request_count(FIND_COORDINATOR) == lookups
    [(_, pid, epoch, values), marker] = _log(kafka_broker, topic, markers=1)
    assert (values, marker) == (["r1", "r2", "r3"], ("COMMIT", pid, epoch))


def test_coordinator_not_available_on_find_coordinator_is_retried(
    kafka_broker: KafkaBroker, proxy: FaultProxy, topic: str
) -> None:
    """COORDINATOR_NOT_AVAILABLE (15) on FindCoordinator, twice: librdkafka keeps no
    coordinator and asks again on its coordinator timer (500 ms), until a broker names
    one; init_transactions (within its timeout) then succeeds and so does a
    transaction. Not an error the application sees."""
    producer = _transactional(proxy)
    proxy.inject_error(FIND_COORDINATOR, COORDINATOR_NOT_AVAILABLE, count=2)
    producer.init_transactions(5)
    producer.begin_transaction()
    assert _send(producer, topic, "r1") == [None]
    producer.commit_transaction(5)

    assert proxy.injected_count(FIND_COORDINATOR) == 2
    assert proxy.request_count(FIND_COORDINATOR) >= 3
    [(_, pid, epoch, values), marker] = _log(kafka_broker, topic, markers=1)
    assert (values, marker) == (["r1"], ("COMMIT", pid, epoch))


def test_not_coordinator_on_end_txn_looks_the_coordinator_up_again(
    kafka_broker: KafkaBroker, proxy: FaultProxy, topic: str
) -> None:
    """NOT_COORDINATOR (16) on EndTxn (the coordinator moved): librdkafka forgets its
    coordinator, sends FindCoordinator again, and retries the same EndTxn(commit) on the
    coordinator it is told; commit_transaction succeeds and the COMMIT marker is
    written once. (COORDINATOR_NOT_AVAILABLE on EndTxn is handled the same way.)"""
    producer = _transactional(proxy)
    producer.init_transactions(5)
    producer.begin_transaction()
    assert _send(producer, topic, "r1", "r2") == [None, None]
    lookups = proxy.request_count(FIND_COORDINATOR)
    proxy.inject_error(END_TXN, NOT_COORDINATOR)
    producer.commit_transaction(5)

    assert proxy.injected_count(END_TXN) == 1
    assert proxy.request_count(END_TXN) == 2
    assert proxy.request_count(FIND_COORDINATOR) > lookups
    [(_, pid, epoch, values), marker] = _log(kafka_broker, topic, markers=1)
    assert (values, marker) == (["r1", "r2"], ("COMMIT", pid, epoch))


@pytest.mark.parametrize("code", [INVALID_PRODUCER_EPOCH, PRODUCER_FENCED])
def test_fencing_error_on_end_txn_is_fatal(
    kafka_broker: KafkaBroker, proxy: FaultProxy, topic: str, code: int
) -> None:
    """INVALID_PRODUCER_EPOCH (47) or PRODUCER_FENCED (90) on EndTxn: librdkafka does not
    retry; it raises a fatal error, both codes normalised to one, ``_FENCED`` (-144),
    neither retriable nor abortable; every transactional call after it raises the same
    fatal error (abort_transaction too), and it sends no further EndTxn. The broker never
    saw the EndTxn, so the transaction stays open: no marker in the log."""
    producer = _transactional(proxy)
    producer.init_transactions(5)
    producer.begin_transaction()
    assert _send(producer, topic, "r1") == [None]
    proxy.inject_error(END_TXN, code)
    error = _raised(producer.commit_transaction, 5)

    assert error.fatal() and not error.retriable() and not error.txn_requires_abort()
    assert error.code() == KafkaError._FENCED
    again = _raised(producer.abort_transaction, 2)
    assert again.fatal() and again.code() == KafkaError._FENCED
    assert proxy.injected_count(END_TXN) == 1 and proxy.request_count(END_TXN) == 1
    [(kind, _, _, values)] = summarize(read_log(kafka_broker.host, kafka_broker.port, topic))
    assert (kind, values) == ("data", ["r1"])


def test_topic_authorization_failed_on_add_partitions_is_abortable(
    kafka_broker: KafkaBroker, proxy: FaultProxy, topic: str
) -> None:
    """TOPIC_AUTHORIZATION_FAILED (29) on AddPartitionsToTxn, a partition-level error:
    librdkafka does not retry it; the transaction goes to the abortable-error state, its
    queued records fail (delivery report ``_PURGE_QUEUE``, never produced), and
    commit_transaction raises an error with ``txn_requires_abort()`` (not fatal, not
    retriable) carrying the code. abort_transaction then sends EndTxn(abort) all the same
    (after any failed request librdkafka counts it as possibly seen by the broker) and
    succeeds, and the producer goes on: the next transaction commits, and the log holds
    only its records and COMMIT marker. (TRANSACTIONAL_ID_AUTHORIZATION_FAILED (53),
    by contrast, is fatal there, with the fencing errors, INVALID_TXN_STATE and
    CLUSTER_AUTHORIZATION_FAILED.)"""
    producer = _transactional(proxy)
    producer.init_transactions(5)
    proxy.inject_error(ADD_PARTITIONS_TO_TXN, TOPIC_AUTHORIZATION_FAILED)
    producer.begin_transaction()
    outcomes = _send(producer, topic, "lost")
    assert [e.code() if e else None for e in outcomes] == [KafkaError._PURGE_QUEUE]
    error = _raised(producer.commit_transaction, 5)

    assert error.txn_requires_abort() and not error.fatal() and not error.retriable()
    assert error.code() == KafkaError.TOPIC_AUTHORIZATION_FAILED
    producer.abort_transaction(5)
    assert proxy.request_count(END_TXN) == 1
    producer.begin_transaction()
    assert _send(producer, topic, "kept") == [None]
    producer.commit_transaction(5)
    assert proxy.injected_count(ADD_PARTITIONS_TO_TXN) == 1
    [(_, pid, epoch, values), marker] = _log(kafka_broker, topic, markers=1)
    assert (values, marker) == (["kept"], ("COMMIT", pid, epoch))


def test_transaction_abortable_on_end_txn_is_abortable(
    kafka_broker: KafkaBroker, proxy: FaultProxy, topic: str
) -> None:
    """TRANSACTION_ABORTABLE (120) on EndTxn(commit): librdkafka treats every EndTxn error
    it does not name (retry: NOT_COORDINATOR, COORDINATOR_NOT_AVAILABLE,
    COORDINATOR_LOAD_IN_PROGRESS, CONCURRENT_TRANSACTIONS; fatal: the fencing errors,
    TRANSACTIONAL_ID_AUTHORIZATION_FAILED, CLUSTER_AUTHORIZATION_FAILED,
    INVALID_TXN_STATE) as abortable, as Kafka's Java client does this one:
    commit_transaction raises with ``txn_requires_abort()``, not retried, not fatal;
    abort_transaction then sends EndTxn(abort), which the broker takes, and the log shows
    the records followed by an ABORT marker."""
    producer = _transactional(proxy)
    producer.init_transactions(5)
    producer.begin_transaction()
    assert _send(producer, topic, "r1", "r2") == [None, None]
    proxy.inject_error(END_TXN, TRANSACTION_ABORTABLE)
    error = _raised(producer.commit_transaction, 5)

    assert error.txn_requires_abort() and not error.fatal() and not error.retriable()
    assert error.code() == TRANSACTION_ABORTABLE
    producer.abort_transaction(5)
    assert proxy.injected_count(END_TXN) == 1 and proxy.request_count(END_TXN) == 2
    [(_, pid, epoch, values), marker] = _log(kafka_broker, topic, markers=1)
    assert (values, marker) == (["r1", "r2"], ("ABORT", pid, epoch))


def test_answers_keep_request_order_at_every_version(proxy: FaultProxy) -> None:
    """The proxy's own wire check (regcast's codec both ways, no client judging it): on
    one connection, requests pipelined at flexible and classic versions, some forwarded
    to Tansu and some answered by the proxy, are answered in request order (a Produce
    with acks=0, never answered, holding none of them up); the error
    sits where each response carries it, the request's topics and partitions echoed,
    FindCoordinator v4's per key; the broker's FindCoordinator answer names the proxy's
    listener, so a client that connects to the host and port it is given (as Kafka's
    Java client does) stays behind the proxy; ``after`` lets requests through first."""
    topics = [{"name": "t", "partitions": [0, 2]}]
    offsets = [{"name": "t", "partitions": [{"partition_index": 1, "committed_offset": 5}]}]
    requests: list[tuple[ApiKey, int, dict[str, Any]]] = [
        (ApiKey.FIND_COORDINATOR, 4, {"key_type": 1, "coordinator_keys": ["a"]}),
        (ApiKey.FIND_COORDINATOR, 4, {"key_type": 1, "coordinator_keys": ["a", "b"]}),
        (ApiKey.FIND_COORDINATOR, 2, {"key": "a", "key_type": 1}),
        (ApiKey.PRODUCE, 9, _NO_ACKS),  # forwarded, never answered (acks=0)
        (ApiKey.PRODUCE, 8, _NO_ACKS),
        (ApiKey.END_TXN, 3, {**_PRODUCER, "committed": True}),
        (ApiKey.ADD_PARTITIONS_TO_TXN, 3, _v3_and_below({**_PRODUCER, "topics": topics})),
        (ApiKey.TXN_OFFSET_COMMIT, 3, {**_PRODUCER, "group_id": "g", "topics": offsets}),
        (ApiKey.INIT_PRODUCER_ID, 4, {"transactional_id": "x", "transaction_timeout_ms": 1}),
        (ApiKey.ADD_OFFSETS_TO_TXN, 0, {**_PRODUCER, "group_id": "g"}),
        (ApiKey.METADATA, 12, {"topics": []}),
    ]
    proxy.inject_error(ApiKey.FIND_COORDINATOR, COORDINATOR_NOT_AVAILABLE, count=2, after=1)
    for api_key in (ApiKey.END_TXN, ApiKey.ADD_PARTITIONS_TO_TXN, ApiKey.TXN_OFFSET_COMMIT):
        proxy.inject_error(api_key, CONCURRENT_TRANSACTIONS)
    proxy.inject_error(ApiKey.INIT_PRODUCER_ID, NOT_COORDINATOR)
    proxy.inject_error(ApiKey.ADD_OFFSETS_TO_TXN, PRODUCER_FENCED)
    frames = b"".join(
        _framed(encode_request(api_key, version, correlation_id, "order", body))
        for correlation_id, (api_key, version, body) in enumerate(requests)
    )
    with socket.create_connection(proxy.address(0), timeout=5) as sock:
        sock.sendall(frames)
        answers = [
            decode_response(api_key, version, _read_frame(sock))
            for api_key, version, _ in requests
            if api_key != ApiKey.PRODUCE
        ]

    answered = [i for i, (api_key, _, _) in enumerate(requests) if api_key != ApiKey.PRODUCE]
    assert [correlation_id for correlation_id, _ in answers] == answered
    bodies = [body for _, body in answers]
    [found] = bodies[0]["coordinators"]
    assert (found["error_code"], found["host"], found["port"]) == (0, *proxy.address(0))
    assert [(c["key"], c["error_code"], c["node_id"]) for c in bodies[1]["coordinators"]] == [
        ("a", COORDINATOR_NOT_AVAILABLE, -1),
        ("b", COORDINATOR_NOT_AVAILABLE, -1),
    ]
    assert (bodies[2]["error_code"], bodies[2]["node_id"]) == (COORDINATOR_NOT_AVAILABLE, -1)
    assert bodies[3]["error_code"] == CONCURRENT_TRANSACTIONS
    assert bodies[4]["results_by_topic_v3_and_below"] == [
        {
            "name": "t",
            "results_by_partition": [
                {"partition_index": p, "partition_error_code": CONCURRENT_TRANSACTIONS}
                for p in (0, 2)
            ],
        }
    ]
    assert bodies[5]["topics"] == [
        {"name": "t", "partitions": [{"partition_index": 1, "error_code": CONCURRENT_TRANSACTIONS}]}
    ]
    assert (bodies[6]["error_code"], bodies[6]["producer_id"]) == (NOT_COORDINATOR, -1)
    assert bodies[7]["error_code"] == PRODUCER_FENCED
    assert [b["port"] for b in bodies[8]["brokers"]] == [proxy.address(0)[1]]
    assert proxy.request_count(ApiKey.FIND_COORDINATOR) == 3
    assert proxy.injected_count(ApiKey.FIND_COORDINATOR) == 2
    assert proxy.injected_count(ApiKey.METADATA) == 0


_PRODUCER: dict[str, Any] = {"transactional_id": "x", "producer_id": 7, "producer_epoch": 0}
_NO_ACKS: dict[str, Any] = {
    "transactional_id": None,
    "acks": 0,
    "timeout_ms": 1000,
    "topic_data": [],
}


def _v3_and_below(body: dict[str, Any]) -> dict[str, Any]:
    """AddPartitionsToTxn v0-3's field names (Kafka's JSON prefixes them)."""
    return {f"v3_and_below_{key}": value for key, value in body.items()}


def _framed(payload: bytes) -> bytes:
    return len(payload).to_bytes(4, "big") + payload


def _read_frame(sock: socket.socket) -> bytes:
    size = int.from_bytes(_read_exact(sock, 4), "big")
    return _read_exact(sock, size)


def _read_exact(sock: socket.socket, n: int) -> bytes:
    data = bytearray()
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        assert chunk, f"the proxy closed the connection after {len(data)} of {n} bytes"
        data += chunk
    return bytes(data)
