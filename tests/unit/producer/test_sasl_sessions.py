"""SaslSessions' KIP-368 schedule, driven by hand on a recording host (no socket, no clock).

The end-to-end behaviour (a broker that refuses a request on an expired session) is in
tests/integration/producer/test_producer_sasl.py; here each step is checked at the
millisecond it happens.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

from producer.network.client import ClientRequest
from producer.network.in_flight import InFlightRequest, ResponseHandler
from producer.network.sasl_sessions import SaslSessions
from producer.protocol import ApiKey
from producer.security import SaslSettings

NODE = 3
LIFETIME_MS = 1_000


class RecordingHost:
    """The NetworkClient's side of SaslSessions, keeping what was asked of it."""

    def __init__(self) -> None:
        self.sent: list[tuple[ApiKey, int, ResponseHandler]] = []
        self.states: list[str] = []

    def node_address(self, node_id: int) -> str:
        return f"127.0.0.1:{9092 + node_id}"

    def send_sasl(
        self,
        node_id: int,
        api_key: ApiKey,
        body: Callable[[int], dict[str, Any]],
        now_ms: int,
        handler: ResponseHandler,
    ) -> None:
        self.sent.append((api_key, now_ms, handler))

    def fail_connection(
        self, node_id: int, now_ms: int, responses: list[Any], error: Exception
    ) -> None:
        raise AssertionError(f"connection failed: {error}")

    def authenticating(self, node_id: int) -> None:
        self.states.append("authenticating")

    def authenticated(self, node_id: int, first: bool) -> None:
        self.states.append("first" if first else "again")

    def answer(self, sessions: SaslSessions, body: dict[str, Any], now_ms: int) -> None:
        """Answer the last request sent, as the client's poll would."""
        api_key, send_ms, handler = self.sent[-1]
        request = InFlightRequest(
            node_id=NODE,
            request=ClientRequest(NODE, api_key, lambda _v: {}),
            api_version=1,
            correlation_id=len(self.sent),
            send_ms=send_ms,
            deadline_ms=send_ms + 30_000,
            expect_response=True,
            handler=handler,
        )
        handler(request, body, None, now_ms, [])


def _log_in(host: RecordingHost, sessions: SaslSessions, now_ms: int) -> None:
    sessions.start(NODE, now_ms, [])
    host.answer(sessions, {"error_code": 0, "mechanisms": ["PLAIN"]}, now_ms)
    host.answer(sessions, {"error_code": 0, "session_lifetime_ms": LIFETIME_MS}, now_ms)


def test_a_session_is_due_between_85_and_95_percent_and_not_after_it_began_again() -> None:
    host = RecordingHost()
    sessions = SaslSessions(SaslSettings("PLAIN", "alice", "secret"), host, random.Random(7))
    _log_in(host, sessions, now_ms=10_000)
    due_ms = sessions.next_due_ms()
    assert due_ms is not None and 10_850 <= due_ms <= 10_950
    assert not sessions.reauthentication_due(NODE, due_ms - 1)
    assert sessions.reauthentication_due(NODE, due_ms)
    assert not sessions.reauthentication_due(NODE + 1, due_ms), "another node has no session"

    sessions.reauthenticate_due(due_ms, lambda _node: True, [])
    assert host.sent[-1][0] is ApiKey.SASL_HANDSHAKE and host.sent[-1][1] == due_ms
    assert not sessions.reauthentication_due(NODE, due_ms + 500), "under way: not due again"
    host.answer(sessions, {"error_code": 0, "mechanisms": ["PLAIN"]}, due_ms)
    host.answer(sessions, {"error_code": 0, "session_lifetime_ms": LIFETIME_MS}, due_ms + 2)
    assert host.states == ["authenticating", "first", "authenticating", "again"]
    assert sessions.reauthentications == 1
    next_due_ms = sessions.next_due_ms()
    assert next_due_ms is not None and due_ms + 850 <= next_due_ms <= due_ms + 950
