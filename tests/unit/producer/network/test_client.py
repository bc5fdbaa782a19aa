"""NetworkClient against the FAKE broker (tests/support/fake_broker.py), on a fake clock.

The fake broker exists for what a real broker will not do on request: wrong or swapped
correlation ids, half-written frames, silence, chosen error codes, restricted version
ranges. The real-broker paths are in tests/integration/producer/test_network_*.py.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from producer.clock import monotonic_ms
from producer.errors import (
    BrokerConnectionError,
    CorrelationIdMismatchError,
    DisconnectError,
    ProducerClosedError,
    RequestTimeoutError,
    UnsupportedVersionError,
)
from producer.metadata import Metadata
from producer.network import (
    ClientRequest,
    ClientResponse,
    ConnectionState,
    NetworkClient,
    NodeNotReadyError,
)
from producer.protocol import SUPPORTED_VERSIONS, ApiKey
from regcast.local_broker import free_port
from tests.support.fake_broker import FakeBroker, ReceivedRequest

REQUEST_TIMEOUT_MS = 30_000


class FakeClock:
    def __init__(self) -> None:
        self.now_ms = 1_000_000

    def __call__(self) -> int:
        return self.now_ms

    def advance(self, ms: int) -> None:
        self.now_ms += ms


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def broker() -> Iterator[FakeBroker]:
    with FakeBroker(node_id=0, topics={"t": 2}) as fake:
        yield fake


def make_client(
    bootstrap: str,
    clock: FakeClock,
    *,
    max_in_flight: int = 5,
    metadata_max_age_ms: int = 300_000,
    request_timeout_ms: int = REQUEST_TIMEOUT_MS,
) -> NetworkClient:
    metadata = Metadata(metadata_max_age_ms=metadata_max_age_ms, refresh_backoff_ms=100)
    return NetworkClient(
        bootstrap,
        metadata=metadata,
        client_id="regcast-test",
        request_timeout_ms=request_timeout_ms,
        max_in_flight_requests_per_connection=max_in_flight,
        reconnect_backoff_ms=50,
        reconnect_backoff_max_ms=1000,
        clock_ms=clock,
        reconnect_backoff_jitter=0.0,
        rng=random.Random(3),
    )


@pytest.fixture
def client(broker: FakeBroker, clock: FakeClock) -> Iterator[NetworkClient]:
    c = make_client(broker.bootstrap, clock)
    yield c
    c.close()


def poll_until(
    client: NetworkClient,
    clock: FakeClock,
    condition: Callable[[], bool],
    collected: list[ClientResponse] | None = None,
    rounds: int = 500,
) -> None:
    for _ in range(rounds):
        if condition():
            return
        responses = client.poll(10, clock())
        if collected is not None:
            collected.extend(responses)
    assert condition(), "condition not reached"


def wait_ready(client: NetworkClient, clock: FakeClock, node_id: int) -> None:
    poll_until(client, clock, lambda: client.ready(node_id, clock()))


def bootstrap_metadata(client: NetworkClient, clock: FakeClock) -> None:
    """Let the client fetch metadata through the bootstrap node (the first poll asks)."""
    metadata = client._metadata  # the instance given at construction
    poll_until(client, clock, lambda: metadata.version > 0)


def produce(
    node_id: int,
    *,
    acks: int = 1,
    partition: int = 0,
    callback: Callable[[ClientResponse], None] | None = None,
    max_version: int | None = None,
) -> ClientRequest:
    def body(version: int) -> dict[str, Any]:
        return {
            "transactional_id": None,
            "acks": acks,
            "timeout_ms": 1000,
            "topic_data": [
                {"name": "t", "partition_data": [{"index": partition, "records": b"fake"}]}
            ],
        }

    return ClientRequest(
        node_id,
        ApiKey.PRODUCE,
        body,
        max_version=max_version,
        expect_response=acks != 0,
        callback=callback,
    )


def send_when_ready(client: NetworkClient, clock: FakeClock, request: ClientRequest) -> None:
    wait_ready(client, clock, request.node_id)
    client.send(request, clock())


# ---------------------------------------------------------------- handshake


def test_handshake_then_request_at_the_highest_common_version(clock: FakeClock) -> None:
    versions = dict(SUPPORTED_VERSIONS)
    versions[ApiKey.PRODUCE] = (0, 7)
    with FakeBroker(api_versions={int(k): v for k, v in versions.items()}) as fake:
        client = make_client(fake.bootstrap, clock)
        bootstrap_metadata(client, clock)
        assert client.connection_state(0) is ConnectionState.DISCONNECTED
        done: list[ClientResponse] = []
        send_when_ready(client, clock, produce(0, callback=done.append))
        send_when_ready(client, clock, produce(0, callback=done.append, max_version=5))
        poll_until(client, clock, lambda: len(done) == 2)
        client.close()

    assert [r.api_version for r in done] == [7, 5]
    assert [r.api_version for r in fake.requests_of(ApiKey.PRODUCE)] == [7, 5]
    assert all(r.error is None and r.body is not None for r in done)
    api_versions_version = SUPPORTED_VERSIONS[ApiKey.API_VERSIONS][1]
    assert fake.requests_of(ApiKey.API_VERSIONS)[0].api_version == api_versions_version
    assert (
        fake.requests_of(ApiKey.METADATA)[0].api_version == SUPPORTED_VERSIONS[ApiKey.METADATA][1]
    )


def test_api_versions_retried_at_the_version_the_broker_has(clock: FakeClock) -> None:
    ours = SUPPORTED_VERSIONS[ApiKey.API_VERSIONS][1]
    versions = {int(k): v for k, v in SUPPORTED_VERSIONS.items()}
    versions[int(ApiKey.API_VERSIONS)] = (0, ours - 1)
    with FakeBroker(api_versions=versions) as fake:
        client = make_client(fake.bootstrap, clock)
        bootstrap_metadata(client, clock)
        client.close()
    assert [r.api_version for r in fake.requests_of(ApiKey.API_VERSIONS)] == [ours, ours - 1]


def test_api_versions_falls_back_to_v0_when_the_refusal_lists_no_range(
    clock: FakeClock,
) -> None:
    """Pre-KIP-511 brokers (and librdkafka's mock, see docs) refuse a newer ApiVersions
    without saying which versions they have: ask again at v0, as Java's client does."""
    with FakeBroker() as fake:
        answer = fake.handlers[int(ApiKey.API_VERSIONS)]

        def refuse_all_but_v0(request: ReceivedRequest) -> dict[str, Any] | None:
            if request.api_version > 0:
                return {"error_code": 35, "api_keys": [], "throttle_time_ms": 0}
            return answer(request)

        fake.handlers[int(ApiKey.API_VERSIONS)] = refuse_all_but_v0
        client = make_client(fake.bootstrap, clock)
        bootstrap_metadata(client, clock)
        wait_ready(client, clock, 0)
        versions = client.api_versions(0)
        client.close()
    ours = SUPPORTED_VERSIONS[ApiKey.API_VERSIONS][1]
    assert [r.api_version for r in fake.requests_of(ApiKey.API_VERSIONS)][:2] == [ours, 0]
    assert versions is not None
    assert versions[int(ApiKey.PRODUCE)] == SUPPORTED_VERSIONS[ApiKey.PRODUCE]


def test_api_versions_refused_at_v0_fails_the_connection(clock: FakeClock) -> None:
    def refuse(request: ReceivedRequest) -> dict[str, Any]:
        return {"error_code": 35, "api_keys": [], "throttle_time_ms": 0}

    with FakeBroker() as fake:
        fake.handlers[int(ApiKey.API_VERSIONS)] = refuse
        client = make_client(fake.bootstrap, clock)
        poll_until(client, clock, lambda: client.is_connection_failed(-1))
        error = client.connection_error(-1)
        client.close()
    assert [r.api_version for r in fake.requests_of(ApiKey.API_VERSIONS)] == [
        SUPPORTED_VERSIONS[ApiKey.API_VERSIONS][1],
        0,
    ]
    assert error is not None and "UNSUPPORTED_VERSION" in str(error)


def test_no_common_version_fails_only_that_request(clock: FakeClock) -> None:
    versions = {int(k): v for k, v in SUPPORTED_VERSIONS.items()}
    _, high = SUPPORTED_VERSIONS[ApiKey.PRODUCE]
    versions[int(ApiKey.PRODUCE)] = (high + 1, high + 3)
    with FakeBroker(api_versions=versions) as fake:
        client = make_client(fake.bootstrap, clock)
        bootstrap_metadata(client, clock)
        done: list[ClientResponse] = []
        send_when_ready(client, clock, produce(0, callback=done.append))
        poll_until(client, clock, lambda: len(done) == 1)
        assert client.is_ready(0, clock())  # the connection is fine
        client.close()
    assert isinstance(done[0].error, UnsupportedVersionError)
    assert "PRODUCE" in str(done[0].error)
    assert fake.requests_of(ApiKey.PRODUCE) == []


def test_unknown_api_version_cap_below_minimum_fails_the_request(
    client: NetworkClient, clock: FakeClock
) -> None:
    bootstrap_metadata(client, clock)
    done: list[ClientResponse] = []
    low = SUPPORTED_VERSIONS[ApiKey.PRODUCE][0]
    send_when_ready(client, clock, produce(0, callback=done.append, max_version=low - 1))
    poll_until(client, clock, lambda: len(done) == 1)
    assert isinstance(done[0].error, UnsupportedVersionError)


# ---------------------------------------------------------------- metadata


def test_bootstrap_metadata_then_bootstrap_connection_closed(
    broker: FakeBroker, client: NetworkClient, clock: FakeClock
) -> None:
    bootstrap_metadata(client, clock)
    cluster = client._metadata.cluster
    assert sorted(cluster.brokers) == [0]
    assert cluster.brokers[0].port == broker.port
    poll_until(client, clock, lambda: client.connection_state(-1) is ConnectionState.DISCONNECTED)
    assert client.least_loaded_node(clock()) == 0


def test_metadata_request_asks_for_topics_of_interest_with_auto_creation(
    broker: FakeBroker, client: NetworkClient, clock: FakeClock
) -> None:
    metadata = client._metadata
    metadata.add_topic("t", clock())
    metadata.add_topic("new-topic", clock())
    bootstrap_metadata(client, clock)

    request = broker.requests_of(ApiKey.METADATA)[-1]
    assert sorted(t["name"] for t in request.body["topics"]) == ["new-topic", "t"]
    assert request.body["allow_auto_topic_creation"] is True
    assert metadata.cluster.partition_count("t") == 2
    assert metadata.cluster.partition_count("new-topic") == 1
    assert metadata.cluster.leader_for("t", 1).node_id == 0  # type: ignore[union-attr]


def test_metadata_refreshes_when_max_age_passes(broker: FakeBroker, clock: FakeClock) -> None:
    client = make_client(broker.bootstrap, clock, metadata_max_age_ms=60_000)
    bootstrap_metadata(client, clock)
    version = client._metadata.version
    for _ in range(20):
        client.poll(1, clock())
    assert client._metadata.version == version  # not due yet: nothing sent
    sent_before = len(broker.requests_of(ApiKey.METADATA))

    clock.advance(60_000)
    poll_until(client, clock, lambda: client._metadata.version > version)

    assert len(broker.requests_of(ApiKey.METADATA)) == sent_before + 1
    client.close()


def test_metadata_request_on_demand(
    broker: FakeBroker, client: NetworkClient, clock: FakeClock
) -> None:
    bootstrap_metadata(client, clock)
    version = client._metadata.request_update()
    clock.advance(100)  # refresh backoff
    poll_until(client, clock, lambda: client._metadata.version > version)
    assert len(broker.requests_of(ApiKey.METADATA)) == 2


def test_failed_metadata_request_backs_off(broker: FakeBroker, clock: FakeClock) -> None:
    client = make_client(broker.bootstrap, clock)
    broker.close_on(ApiKey.METADATA, 1)
    poll_until(client, clock, lambda: len(broker.requests_of(ApiKey.METADATA)) == 1)
    poll_until(client, clock, lambda: client.connection_state(-1) is ConnectionState.DISCONNECTED)
    assert client._metadata.version == 0
    assert client._metadata.time_to_next_update(clock()) > 0
    clock.advance(1000)
    poll_until(client, clock, lambda: client._metadata.version == 1)
    client.close()


# ---------------------------------------------------------------- in flight


def test_pipelined_requests_complete_in_order_and_respect_the_limit(
    broker: FakeBroker, clock: FakeClock
) -> None:
    client = make_client(broker.bootstrap, clock, max_in_flight=3)
    bootstrap_metadata(client, clock)
    broker.no_response_on(ApiKey.PRODUCE, 4)  # keep the window full at the end
    order: list[int] = []
    for i in range(3):
        send_when_ready(client, clock, produce(0, callback=lambda r, i=i: order.append(i)))
    poll_until(client, clock, lambda: len(order) == 3)
    assert order == [0, 1, 2]
    assert client.in_flight_request_count() == 0

    for _ in range(3):
        send_when_ready(client, clock, produce(0, callback=order.append))  # type: ignore[arg-type]
    for _ in range(50):
        client.poll(1, clock())
    assert client.in_flight_request_count(0) == 3  # 4th request never answered
    assert not client.ready(0, clock())
    client.close()


def test_window_full_means_not_ready(broker: FakeBroker, clock: FakeClock) -> None:
    client = make_client(broker.bootstrap, clock, max_in_flight=2)
    bootstrap_metadata(client, clock)
    broker.no_response_on(ApiKey.PRODUCE, 1)
    send_when_ready(client, clock, produce(0))
    send_when_ready(client, clock, produce(0))
    for _ in range(20):
        client.poll(1, clock())
    assert client.in_flight_request_count(0) == 2
    assert not client.ready(0, clock())
    with pytest.raises(NodeNotReadyError, match="call ready"):
        client.send(produce(0), clock())
    client.close()


def test_acks_zero_completes_once_written(
    broker: FakeBroker, client: NetworkClient, clock: FakeClock
) -> None:
    bootstrap_metadata(client, clock)
    done: list[ClientResponse] = []
    send_when_ready(client, clock, produce(0, acks=0, callback=done.append))
    poll_until(client, clock, lambda: len(done) == 1)
    assert done[0].body is None
    assert done[0].error is None
    assert client.in_flight_request_count(0) == 0
    # the next request with a response still matches up
    send_when_ready(client, clock, produce(0, callback=done.append))
    poll_until(client, clock, lambda: len(done) == 2)
    assert done[1].error is None and done[1].body is not None
    poll_until(client, clock, lambda: len(broker.requests_of(ApiKey.PRODUCE)) == 2)


def test_an_answer_to_acks_zero_is_dropped_not_a_mismatch(
    broker: FakeBroker, client: NetworkClient, clock: FakeClock
) -> None:
    """Tansu and librdkafka's mock answer acks=0 Produce requests (Kafka does not)."""
    answer = broker.handlers[int(ApiKey.PRODUCE)]

    def answer_even_acks_zero(request: ReceivedRequest) -> dict[str, Any] | None:
        return answer(request) or {"responses": [], "throttle_time_ms": 0}

    broker.handlers[int(ApiKey.PRODUCE)] = answer_even_acks_zero
    bootstrap_metadata(client, clock)
    done: list[ClientResponse] = []
    for _ in range(3):
        send_when_ready(client, clock, produce(0, acks=0, callback=done.append))
    send_when_ready(client, clock, produce(0, callback=done.append))
    poll_until(client, clock, lambda: len(done) == 4)
    assert [r.body is None for r in done] == [True, True, True, False]
    assert all(r.error is None for r in done)
    assert client.connection_state(0) is ConnectionState.READY


def test_broker_error_code_is_delivered_in_the_body(
    broker: FakeBroker, client: NetworkClient, clock: FakeClock
) -> None:
    bootstrap_metadata(client, clock)
    broker.error_on(ApiKey.PRODUCE, 2, 6)  # NOT_LEADER_OR_FOLLOWER on the 2nd produce
    done: list[ClientResponse] = []
    send_when_ready(client, clock, produce(0, callback=done.append))
    send_when_ready(client, clock, produce(0, callback=done.append))
    poll_until(client, clock, lambda: len(done) == 2)
    codes = [r.body["responses"][0]["partition_responses"][0]["error_code"] for r in done]  # type: ignore[index]
    assert codes == [0, 6]


def test_send_before_ready_is_a_bug(client: NetworkClient, clock: FakeClock) -> None:
    with pytest.raises(NodeNotReadyError):
        client.send(produce(-1), clock())


# ---------------------------------------------------------------- failures


def test_correlation_id_mismatch_fails_every_in_flight_request(
    broker: FakeBroker, client: NetworkClient, clock: FakeClock
) -> None:
    bootstrap_metadata(client, clock)
    broker.mismatch_correlation_id_on(ApiKey.PRODUCE, 2)
    # Hold the (mismatched) answer to the 2nd produce until the 3rd is on the wire too,
    # so that two requests are in flight when it arrives.
    third_sent = threading.Event()
    answer_produce = broker.handlers[int(ApiKey.PRODUCE)]

    def held_answer(request: ReceivedRequest) -> dict[str, Any] | None:
        if len(broker.requests_of(ApiKey.PRODUCE)) == 2:
            assert third_sent.wait(10)
        return answer_produce(request)

    broker.handlers[int(ApiKey.PRODUCE)] = held_answer
    done: list[ClientResponse] = []
    send_when_ready(client, clock, produce(0, callback=done.append))
    poll_until(client, clock, lambda: len(done) == 1)
    send_when_ready(client, clock, produce(0, callback=done.append))
    send_when_ready(client, clock, produce(0, callback=done.append))
    poll_until(client, clock, lambda: client.is_ready(0, clock()))  # 3rd fully written
    assert client.in_flight_request_count(0) == 2
    third_sent.set()
    poll_until(client, clock, lambda: len(done) == 3)

    assert done[0].error is None
    assert all(isinstance(r.error, CorrelationIdMismatchError) for r in done[1:])
    assert "correlation id" in str(done[1].error)
    assert client.connection_state(0) is ConnectionState.DISCONNECTED
    assert client.in_flight_request_count(0) == 0


def test_swapped_responses_are_a_mismatch(
    broker: FakeBroker, client: NetworkClient, clock: FakeClock
) -> None:
    bootstrap_metadata(client, clock)
    broker.swap_responses_on(ApiKey.PRODUCE, 1)
    done: list[ClientResponse] = []
    send_when_ready(client, clock, produce(0, callback=done.append))
    send_when_ready(client, clock, produce(0, callback=done.append))
    poll_until(client, clock, lambda: len(done) == 2)
    assert all(isinstance(r.error, CorrelationIdMismatchError) for r in done)


def test_half_written_frame_then_close_is_a_disconnect(
    broker: FakeBroker, client: NetworkClient, clock: FakeClock
) -> None:
    bootstrap_metadata(client, clock)
    broker.half_frame_then_close_on(ApiKey.PRODUCE, 1)
    done: list[ClientResponse] = []
    send_when_ready(client, clock, produce(0, callback=done.append))
    poll_until(client, clock, lambda: len(done) == 1)
    assert isinstance(done[0].error, DisconnectError)
    assert client.connection_error(0) is not None
    assert client._metadata.update_requested()  # leaders may have moved


def test_half_written_frame_then_silence_times_out(
    broker: FakeBroker, client: NetworkClient, clock: FakeClock
) -> None:
    bootstrap_metadata(client, clock)
    broker.half_frame_then_stall_on(ApiKey.PRODUCE, 1)
    done: list[ClientResponse] = []
    send_when_ready(client, clock, produce(0, callback=done.append))
    for _ in range(20):
        client.poll(1, clock())
    assert done == []
    clock.advance(REQUEST_TIMEOUT_MS)
    poll_until(client, clock, lambda: len(done) == 1)
    assert isinstance(done[0].error, RequestTimeoutError)
    assert "request_timeout_ms=30000" in str(done[0].error)


def test_timeout_fails_expired_requests_and_disconnects_younger_ones(
    broker: FakeBroker, client: NetworkClient, clock: FakeClock
) -> None:
    bootstrap_metadata(client, clock)
    broker.no_response_on(ApiKey.PRODUCE, 1)
    done: list[ClientResponse] = []
    send_when_ready(client, clock, produce(0, callback=done.append))
    clock.advance(10_000)
    send_when_ready(client, clock, produce(0, callback=done.append))
    clock.advance(REQUEST_TIMEOUT_MS - 10_000 - 1)
    client.poll(0, clock())
    assert done == []
    clock.advance(1)
    poll_until(client, clock, lambda: len(done) == 2)
    assert isinstance(done[0].error, RequestTimeoutError)
    assert isinstance(done[1].error, DisconnectError)
    assert not isinstance(done[1].error, RequestTimeoutError)
    assert client.connection_state(0) is ConnectionState.DISCONNECTED


def test_poll_wait_is_bounded_by_the_next_request_deadline(broker: FakeBroker) -> None:
    real = FakeClock()
    real.now_ms = 0

    now = monotonic_ms
    client = NetworkClient(
        broker.bootstrap,
        metadata=Metadata(metadata_max_age_ms=300_000, refresh_backoff_ms=100),
        client_id="t",
        request_timeout_ms=300,
        max_in_flight_requests_per_connection=5,
        clock_ms=now,
    )
    broker.no_response_on(ApiKey.PRODUCE, 1)
    for _ in range(500):
        if client._metadata.version:
            break
        client.poll(10, now())
    while not client.ready(0, now()):
        client.poll(10, now())
    done: list[ClientResponse] = []
    client.send(produce(0, callback=done.append), now())
    started = time.monotonic()
    while not done and time.monotonic() - started < 30:
        client.poll(60_000, now())  # must not sleep through the deadline
    client.close()
    assert isinstance(done[0].error, RequestTimeoutError)
    assert time.monotonic() - started < 20


def test_connection_refused_and_exponential_backoff(clock: FakeClock) -> None:
    client = make_client(f"127.0.0.1:{free_port()}", clock)
    delays = []
    for _ in range(4):
        poll_until(client, clock, lambda: client.is_connection_failed(-1))
        assert isinstance(client.connection_error(-1), BrokerConnectionError)
        delay = client.connection_delay(-1, clock())
        delays.append(delay)
        assert not client.ready(-1, clock())  # in backoff: no new attempt
        assert client.connection_state(-1) is ConnectionState.DISCONNECTED
        clock.advance(delay)
        assert not client.ready(-1, clock())  # starts connecting now
        assert client.connection_state(-1) is ConnectionState.CONNECTING
    assert delays == [50, 100, 200, 400]
    assert client._metadata.version == 0
    client.close()


def test_reconnect_after_the_broker_drops_connections(
    broker: FakeBroker, client: NetworkClient, clock: FakeClock
) -> None:
    bootstrap_metadata(client, clock)
    wait_ready(client, clock, 0)
    broker.no_response_on(ApiKey.PRODUCE, 1)
    done: list[ClientResponse] = []
    client.send(produce(0, callback=done.append), clock())
    # The broker must have read the request it is told not to answer before the
    # connections drop; otherwise the next Produce would be the unanswered one.
    poll_until(client, clock, lambda: len(broker.requests_of(ApiKey.PRODUCE)) == 1)
    broker.close_connections()
    poll_until(client, clock, lambda: len(done) == 1)
    assert isinstance(done[0].error, DisconnectError)
    assert client.connection_delay(0, clock()) == 50
    assert not client.ready(0, clock())
    clock.advance(50)
    wait_ready(client, clock, 0)
    send_when_ready(client, clock, produce(0, callback=done.append))
    poll_until(client, clock, lambda: len(done) == 2)
    assert done[1].error is None


def test_close_fails_in_flight_requests_exactly_once(
    broker: FakeBroker, client: NetworkClient, clock: FakeClock
) -> None:
    bootstrap_metadata(client, clock)
    broker.no_response_on(ApiKey.PRODUCE, 1)
    calls: list[ClientResponse] = []
    send_when_ready(client, clock, produce(0, callback=calls.append))
    client.poll(0, clock())
    client.close()
    client.close()
    assert len(calls) == 1
    assert isinstance(calls[0].error, DisconnectError)
    with pytest.raises(ProducerClosedError):
        client.poll(0, clock())


def test_callback_exception_does_not_break_the_poll(
    broker: FakeBroker, client: NetworkClient, clock: FakeClock
) -> None:
    bootstrap_metadata(client, clock)
    done: list[ClientResponse] = []

    def explode(response: ClientResponse) -> None:
        raise RuntimeError("boom")

    send_when_ready(client, clock, produce(0, callback=explode))
    send_when_ready(client, clock, produce(0, callback=done.append))
    poll_until(client, clock, lambda: len(done) == 1)
    assert done[0].error is None


def test_wakeup_interrupts_a_blocking_poll(
    broker: FakeBroker, client: NetworkClient, clock: FakeClock
) -> None:
    bootstrap_metadata(client, clock)
    threading.Timer(0.1, client.wakeup).start()
    started = time.monotonic()
    client.poll(60_000, clock())
    assert time.monotonic() - started < 30


def test_least_loaded_node_prefers_idle_ready_nodes(clock: FakeClock) -> None:
    with FakeBroker(node_id=1) as b, FakeBroker(node_id=0) as a:
        # like a real cluster, each broker lists both: the client bootstraps from
        # whichever it picks first
        a.other_brokers = [(1, b.host, b.port)]
        b.other_brokers = [(0, a.host, a.port)]
        client = make_client(f"{a.bootstrap},{b.bootstrap}", clock)
        assert client.least_loaded_node(clock()) in (-1, -2)  # before metadata
        bootstrap_metadata(client, clock)
        assert sorted(client._metadata.cluster.brokers) == [0, 1]
        wait_ready(client, clock, 0)
        wait_ready(client, clock, 1)
        a.no_response_on(ApiKey.PRODUCE, 1)
        client.send(produce(0), clock())
        client.poll(0, clock())
        assert client.in_flight_request_count(0) == 1
        assert {client.least_loaded_node(clock()) for _ in range(20)} == {1}
        client.close()


@pytest.mark.parametrize(
    ("installed", "sent"),
    [("0.1.0", "0.1.0"), ("1.2.0+g1ab2", "1.2.0-g1ab2"), ("2.0.dev1", "2.0.dev1"), ("+", "0")],
)
def test_client_software_version_is_the_distributions_as_kip_511_allows(
    monkeypatch: pytest.MonkeyPatch, installed: str, sent: str
) -> None:
    import producer
    from producer.network.client import client_software_version

    assert client_software_version() == producer.__version__  # a plain release: as it is
    monkeypatch.setattr(producer, "__version__", installed)
    assert client_software_version() == sent
