"""Per-node in-flight deques: FIFO order, the send-more rule, deadlines."""

from __future__ import annotations

import pytest

from producer.errors import ConfigError
from producer.network.client import ClientRequest
from producer.network.in_flight import InFlightRequest, InFlightRequests
from producer.protocol import ApiKey


def req(
    node_id: int, correlation_id: int, send_ms: int = 0, expect: bool = True
) -> InFlightRequest:
    return InFlightRequest(
        node_id=node_id,
        request=ClientRequest(node_id, ApiKey.PRODUCE, lambda v: {}, expect_response=expect),
        api_version=9,
        correlation_id=correlation_id,
        send_ms=send_ms,
        deadline_ms=send_ms + 1000,
        expect_response=expect,
    )


def test_fifo_per_node() -> None:
    in_flight = InFlightRequests(5)
    a, b, c = req(1, 1), req(1, 2), req(2, 3)
    for r in (a, b, c):
        r.sent = True
        in_flight.add(r)
    assert in_flight.count() == 3
    assert in_flight.count(1) == 2
    assert in_flight.oldest(1) is a
    assert in_flight.complete_next(1) is a
    assert in_flight.complete_next(1) is b
    assert in_flight.is_empty(1)
    assert in_flight.count() == 1


def test_can_send_more_needs_room_and_the_newest_fully_written() -> None:
    in_flight = InFlightRequests(2)
    assert in_flight.can_send_more(1)
    first = req(1, 1)
    in_flight.add(first)
    assert not in_flight.can_send_more(1)  # still being written
    first.sent = True
    assert in_flight.can_send_more(1)
    second = req(1, 2)
    second.sent = True
    in_flight.add(second)
    assert not in_flight.can_send_more(1)  # at the limit
    in_flight.complete_next(1)
    assert in_flight.can_send_more(1)
    assert in_flight.can_send_more(2)  # other nodes are independent


def test_remove_takes_a_request_out_wherever_it_is() -> None:
    in_flight = InFlightRequests(5)
    rs = [req(1, i) for i in range(4)]
    for r in rs:
        in_flight.add(r)
    in_flight.remove(rs[3])
    in_flight.remove(rs[1])
    assert in_flight.clear_all(1) == [rs[0], rs[2]]
    assert in_flight.count() == 0
    assert in_flight.clear_all(1) == []


def test_deadlines_and_timed_out_nodes() -> None:
    in_flight = InFlightRequests(5)
    assert in_flight.earliest_deadline_ms() is None
    in_flight.add(req(1, 1, send_ms=100))
    in_flight.add(req(1, 2, send_ms=200))
    in_flight.add(req(2, 3, send_ms=150))
    assert in_flight.earliest_deadline_ms() == 1100
    assert in_flight.nodes_with_timed_out_requests(1099) == []
    assert in_flight.nodes_with_timed_out_requests(1100) == [1]
    assert sorted(in_flight.nodes_with_timed_out_requests(1150)) == [1, 2]
    assert sorted(in_flight.nodes()) == [1, 2]


def test_max_in_flight_must_be_positive() -> None:
    with pytest.raises(ConfigError, match="max_in_flight_requests_per_connection"):
        InFlightRequests(0)
