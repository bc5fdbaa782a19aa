"""Requests written (or being written) to a node and not yet answered, oldest first.

After Kafka's ``InFlightRequests``. Kafka answers requests on one connection in the
order they were sent, so each node has a FIFO deque: a response always belongs to the
oldest request still waiting for one, and its correlation id must match.

A node can take another request when its deque holds fewer than
``max_in_flight_requests_per_connection`` AND its newest request has been fully written
(as Kafka does: this keeps at most one partially written request per connection, so
requests do not pile up in user space behind a slow socket).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, TypeAlias

from producer.errors import ConfigError

if TYPE_CHECKING:
    from producer.network.client import ClientRequest, ClientResponse

ResponseHandler: TypeAlias = (
    "Callable[[InFlightRequest, dict[str, Any] | None, Exception | None, int, "
    "list[ClientResponse]], None]"
)
"""How the client's own requests complete: (request, body, error, now_ms, responses)."""


class InFlightRequest:
    """One request on the wire. ``handler`` is set for the client's own requests
    (ApiVersions handshake, Metadata refresh), which never reach the caller."""

    __slots__ = (
        "api_version",
        "correlation_id",
        "deadline_ms",
        "expect_response",
        "handler",
        "node_id",
        "request",
        "send_ms",
        "sent",
    )

    def __init__(
        self,
        *,
        node_id: int,
        request: ClientRequest,
        api_version: int,
        correlation_id: int,
        send_ms: int,
        deadline_ms: int,
        expect_response: bool,
        handler: ResponseHandler | None = None,
    ) -> None:
        self.node_id = node_id
        self.request = request
        self.api_version = api_version
        self.correlation_id = correlation_id
        self.send_ms = send_ms
        self.deadline_ms = deadline_ms
        self.expect_response = expect_response
        self.handler = handler
        self.sent = False

    def __repr__(self) -> str:
        return (
            f"InFlightRequest(node={self.node_id}, api={self.request.api_key!r} "
            f"v{self.api_version}, correlation_id={self.correlation_id}, sent={self.sent})"
        )


class InFlightRequests:
    """Per-node FIFO deques of :class:`InFlightRequest`; runs on the sender thread."""

    __slots__ = ("_count", "_max_per_connection", "_requests")

    def __init__(self, max_in_flight_requests_per_connection: int) -> None:
        if max_in_flight_requests_per_connection < 1:
            raise ConfigError(
                "max_in_flight_requests_per_connection must be >= 1, got "
                f"{max_in_flight_requests_per_connection}"
            )
        self._max_per_connection = max_in_flight_requests_per_connection
        self._requests: dict[int, deque[InFlightRequest]] = {}
        self._count = 0

    @property
    def max_per_connection(self) -> int:
        return self._max_per_connection

    def add(self, request: InFlightRequest) -> None:
        queue = self._requests.get(request.node_id)
        if queue is None:
            queue = self._requests[request.node_id] = deque()
        queue.append(request)
        self._count += 1

    def can_send_more(self, node_id: int) -> bool:
        queue = self._requests.get(node_id)
        return not queue or (queue[-1].sent and len(queue) < self._max_per_connection)

    def oldest(self, node_id: int) -> InFlightRequest | None:
        queue = self._requests.get(node_id)
        return queue[0] if queue else None

    def complete_next(self, node_id: int) -> InFlightRequest:
        """Remove and return the oldest request of ``node_id`` (its response arrived)."""
        request = self._requests[node_id].popleft()
        self._count -= 1
        return request

    def remove(self, request: InFlightRequest) -> None:
        """Remove one request wherever it is (a request without response, now written).

        Searched from the newest end: such a request is the newest fully written one.
        """
        queue = self._requests[request.node_id]
        if queue[-1] is request:
            queue.pop()
        else:
            queue.remove(request)
        self._count -= 1

    def clear_all(self, node_id: int) -> list[InFlightRequest]:
        """Remove and return every request of ``node_id``, oldest first (disconnect)."""
        queue = self._requests.pop(node_id, None)
        if not queue:
            return []
        self._count -= len(queue)
        return list(queue)

    def count(self, node_id: int | None = None) -> int:
        if node_id is None:
            return self._count
        queue = self._requests.get(node_id)
        return len(queue) if queue else 0

    def is_empty(self, node_id: int) -> bool:
        return not self._requests.get(node_id)

    def nodes(self) -> Iterator[int]:
        return (node_id for node_id, queue in self._requests.items() if queue)

    def earliest_deadline_ms(self) -> int | None:
        """The soonest request deadline over all nodes (oldest-first deques, so heads)."""
        earliest: int | None = None
        for queue in self._requests.values():
            if queue:
                deadline = queue[0].deadline_ms
                if earliest is None or deadline < earliest:
                    earliest = deadline
        return earliest

    def nodes_with_timed_out_requests(self, now_ms: int) -> list[int]:
        return [
            node_id
            for node_id, queue in self._requests.items()
            if queue and queue[0].deadline_ms <= now_ms
        ]
