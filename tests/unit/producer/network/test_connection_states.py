"""Connection state table and exponential reconnect backoff, on a fake clock."""

from __future__ import annotations

import random

import pytest

from producer.errors import ConfigError
from producer.network.connection_states import (
    ClusterConnectionStates,
    ConnectionState,
    IllegalStateTransitionError,
)


def states(jitter: float = 0.0) -> ClusterConnectionStates:
    return ClusterConnectionStates(
        reconnect_backoff_ms=50, reconnect_backoff_max_ms=1000, jitter=jitter, rng=random.Random(7)
    )


def test_unknown_node_is_disconnected_and_may_connect() -> None:
    s = states()
    assert s.state(1) is ConnectionState.DISCONNECTED
    assert s.can_connect(1, 0)
    assert s.connection_delay(1, 0) == 0


def test_happy_path_through_the_states() -> None:
    s = states()
    s.connecting(1, "h", 9092, now_ms=100)
    assert s.state(1) is ConnectionState.CONNECTING
    assert not s.can_connect(1, 100)
    s.checking_api_versions(1)
    assert s.state(1) is ConnectionState.CHECKING_API_VERSIONS
    s.ready(1)
    assert s.state(1) is ConnectionState.READY
    assert s.connection_delay(1, 100) > 10**9  # nothing to wait for on a timer


@pytest.mark.parametrize(
    "steps",
    [
        ["ready"],  # DISCONNECTED -> READY
        ["checking"],  # DISCONNECTED -> CHECKING
        ["connecting", "ready"],  # CONNECTING -> READY skips the handshake
        ["connecting", "checking", "ready", "checking"],
    ],
)
def test_illegal_transitions_raise(steps: list[str]) -> None:
    s = states()
    s.connecting(9, "h", 1, 0)
    s.disconnected(9, 0)
    actions = {
        "connecting": lambda: s.connecting(9, "h", 1, 0),
        "checking": lambda: s.checking_api_versions(9),
        "ready": lambda: s.ready(9),
    }
    with pytest.raises(IllegalStateTransitionError):
        for step in steps:
            actions[step]()


def test_backoff_doubles_per_failed_attempt_up_to_the_max() -> None:
    s = states()
    now = 1_000
    delays = []
    for _ in range(8):
        assert s.can_connect(1, now)
        s.connecting(1, "h", 1, now)
        s.disconnected(1, now, OSError("refused"))
        delays.append(s.connection_delay(1, now))
        assert not s.can_connect(1, now + delays[-1] - 1)
        now += delays[-1]
    assert delays == [50, 100, 200, 400, 800, 1000, 1000, 1000]


def test_ready_resets_the_backoff() -> None:
    s = states()
    for now in (0, 50, 150):
        s.connecting(1, "h", 1, now)
        s.disconnected(1, now)
    assert s.connection_delay(1, 250) == 150 + 200 - 250
    s.connecting(1, "h", 1, 1_000)
    s.checking_api_versions(1)
    s.ready(1)
    s.disconnected(1, 2_000, OSError("peer closed"))
    assert s.connection_delay(1, 2_000) == 50
    assert isinstance(s.get(1).last_error, OSError)  # type: ignore[union-attr]


def test_jitter_keeps_the_backoff_within_twenty_percent() -> None:
    s = states(jitter=0.2)
    seen = set()
    for i in range(50):
        s.connecting(i, "h", 1, 0)
        s.disconnected(i, 0)
        delay = s.connection_delay(i, 0)
        assert 40 <= delay <= 60
        seen.add(delay)
    assert len(seen) > 5


def test_disconnected_twice_counts_once() -> None:
    s = states()
    s.connecting(1, "h", 1, 0)
    s.disconnected(1, 0)
    s.disconnected(1, 0)
    assert s.connection_delay(1, 0) == 50


def test_bad_config_is_rejected() -> None:
    with pytest.raises(ConfigError, match="reconnect_backoff_max_ms"):
        ClusterConnectionStates(reconnect_backoff_ms=100, reconnect_backoff_max_ms=10)
    with pytest.raises(ConfigError, match="reconnect_backoff_ms"):
        ClusterConnectionStates(reconnect_backoff_ms=-1, reconnect_backoff_max_ms=10)
