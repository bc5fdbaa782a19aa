"""Metadata and Cluster: parsing responses, refresh timing on a fake clock, waiting."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from producer.errors import ConfigError, ProducerClosedError
from producer.metadata import (
    BrokerNode,
    Cluster,
    Metadata,
    PartitionInfo,
    parse_bootstrap_servers,
)

T0 = 1_000_000


def response(
    topics: dict[str, list[tuple[int, int, int]]],
    *,
    brokers: tuple[int, ...] = (1, 2, 3),
    errors: dict[str, int] | None = None,
) -> dict[str, Any]:
    """A Metadata response body; partitions as (index, leader, leader_epoch)."""
    errors = errors or {}
    return {
        "throttle_time_ms": 0,
        "brokers": [
            {"node_id": b, "host": f"broker{b}", "port": 9090 + b, "rack": None} for b in brokers
        ],
        "cluster_id": "c1",
        "controller_id": brokers[0] if brokers else -1,
        "topics": [
            {
                "error_code": errors.get(name, 0),
                "name": name,
                "is_internal": False,
                "partitions": [
                    {
                        "error_code": 0 if leader >= 0 else 5,
                        "partition_index": index,
                        "leader_id": leader,
                        "leader_epoch": epoch,
                        "replica_nodes": list(brokers),
                        "isr_nodes": list(brokers[:1]),
                        "offline_replicas": [],
                    }
                    for index, leader, epoch in parts
                ],
            }
            for name, parts in topics.items()
        ],
    }


def metadata(max_age_ms: int = 300_000, backoff_ms: int = 100) -> Metadata:
    return Metadata(metadata_max_age_ms=max_age_ms, refresh_backoff_ms=backoff_ms)


# ---------------------------------------------------------------- bootstrap servers


def test_parse_bootstrap_servers() -> None:
    assert parse_bootstrap_servers("a:1, b.example:9092,[::1]:9093,") == [
        ("a", 1),
        ("b.example", 9092),
        ("::1", 9093),
    ]


@pytest.mark.parametrize(
    "bad", ["", " , ", "host", "host:", ":9092", "h:0", "h:70000", "h:x", "[::1"]
)
def test_parse_bootstrap_servers_rejects_bad_entries(bad: str) -> None:
    with pytest.raises(ConfigError, match="bootstrap_servers"):
        parse_bootstrap_servers(bad)


# ---------------------------------------------------------------- cluster


def test_cluster_from_a_response() -> None:
    md = metadata()
    md.update(response({"orders": [(2, 3, 7), (0, 1, 4), (1, -1, 2)], "logs": [(0, 2, 0)]}), T0)
    cluster = md.cluster

    assert sorted(cluster.brokers) == [1, 2, 3]
    assert cluster.brokers[2] == BrokerNode(2, "broker2", 9092, None)
    assert [p.partition for p in cluster.partitions_for_topic("orders")] == [0, 1, 2]
    assert [p.partition for p in cluster.available_partitions_for_topic("orders")] == [0, 2]
    assert cluster.partition_count("orders") == 3
    assert cluster.partition_count("nope") is None
    assert cluster.leader_for("orders", 2) == BrokerNode(3, "broker3", 9093, None)
    assert cluster.leader_for("orders", 1) is None  # leaderless
    assert cluster.leader_for("orders", 9) is None
    assert cluster.partition("orders", 2) == PartitionInfo("orders", 2, 3, 7, (1, 2, 3), (1,))
    assert cluster.topics == {"orders", "logs"}
    assert cluster.cluster_id == "c1"
    assert cluster.controller_id == 1
    assert cluster.topic_errors == {}


def test_topic_errors_are_kept_per_topic() -> None:
    md = metadata()
    md.update(response({"ok": [(0, 1, 0)], "missing": []}, errors={"missing": 3}), T0)
    assert md.cluster.topic_errors == {"missing": 3}
    assert md.cluster.partition_count("missing") is None


def test_an_older_leader_epoch_does_not_replace_a_newer_one() -> None:
    md = metadata()
    md.update(response({"t": [(0, 1, 10), (1, 2, 5)]}), T0)
    md.update(response({"t": [(0, 2, 9), (1, 3, 6)]}), T0 + 1)  # p0 stale, p1 newer
    assert md.cluster.partition("t", 0).leader == 1  # type: ignore[union-attr]
    assert md.cluster.partition("t", 0).leader_epoch == 10  # type: ignore[union-attr]
    assert md.cluster.partition("t", 1).leader == 3  # type: ignore[union-attr]


def test_old_snapshot_stays_valid_after_an_update() -> None:
    md = metadata()
    md.update(response({"t": [(0, 1, 0)]}), T0)
    before = md.cluster
    md.update(response({"t": [(0, 2, 1)]}), T0 + 5)
    assert before.partition("t", 0).leader == 1  # type: ignore[union-attr]
    assert md.cluster.partition("t", 0).leader == 2  # type: ignore[union-attr]


def test_empty_cluster() -> None:
    cluster = Cluster.empty()
    assert cluster.brokers == {}
    assert cluster.partitions_for_topic("t") == []
    assert cluster.leader_for("t", 0) is None


# ---------------------------------------------------------------- refresh timing


def test_first_update_is_due_at_once() -> None:
    md = metadata()
    assert md.update_requested()
    assert md.time_to_next_update(0) == 0


def test_max_age_triggers_a_refresh() -> None:
    md = metadata(max_age_ms=5_000, backoff_ms=100)
    md.update(response({}), T0)
    assert not md.update_requested()
    assert md.time_to_next_update(T0) == 5_000
    assert md.time_to_next_update(T0 + 4_999) == 1
    assert md.time_to_next_update(T0 + 5_000) == 0


def test_requested_update_waits_for_the_refresh_backoff() -> None:
    md = metadata(max_age_ms=5_000, backoff_ms=100)
    md.update(response({}), T0)
    version = md.request_update()
    assert version == md.version
    assert md.update_requested()
    assert md.time_to_next_update(T0 + 30) == 70
    assert md.time_to_next_update(T0 + 100) == 0


def test_failed_update_backs_off_and_keeps_the_request() -> None:
    md = metadata(max_age_ms=5_000, backoff_ms=100)
    md.failed_update(T0)
    assert md.update_requested()
    assert md.time_to_next_update(T0 + 40) == 60
    assert md.time_to_next_update(T0 + 100) == 0
    assert md.version == 0


def test_new_topic_requests_an_update_and_known_topic_does_not() -> None:
    md = metadata()
    md.add_topic("a", T0)
    md.update(response({"a": [(0, 1, 0)]}), T0)
    assert not md.update_requested()
    md.add_topic("a", T0 + 1)
    assert not md.update_requested()
    md.add_topic("b", T0 + 2)
    assert md.update_requested()
    assert md.topics() == {"a", "b"}


def test_topic_missing_from_the_response_keeps_the_update_requested() -> None:
    md = metadata()
    md.add_topic("a", T0)
    md.add_topic("late", T0)
    md.update(response({"a": [(0, 1, 0)]}), T0)  # request left before "late" was added
    assert md.update_requested()


def test_version_bumps_on_every_update() -> None:
    md = metadata()
    assert md.version == 0
    md.update(response({}), T0)
    md.update(response({}), T0 + 1)
    assert md.version == 2


# ---------------------------------------------------------------- waiting


def test_await_update_returns_when_another_thread_updates() -> None:
    md = metadata()
    version = md.request_update()
    thread = threading.Thread(target=lambda: md.update(response({"t": [(0, 1, 0)]}), T0))
    thread.start()
    assert md.await_update(version, timeout_ms=10_000)
    thread.join()
    assert md.cluster.partition_count("t") == 1


def test_await_update_times_out() -> None:
    md = metadata()
    assert md.await_update(md.version, timeout_ms=1) is False


def test_await_update_returns_at_once_if_already_newer() -> None:
    md = metadata()
    md.update(response({}), T0)
    assert md.await_update(0, timeout_ms=0)


def test_close_wakes_waiters_with_an_error() -> None:
    md = metadata()
    errors: list[BaseException] = []

    def wait() -> None:
        try:
            md.await_update(md.version, timeout_ms=60_000)
        except ProducerClosedError as exc:
            errors.append(exc)

    thread = threading.Thread(target=wait)
    thread.start()
    md.close()
    thread.join(timeout=10)
    assert not thread.is_alive()
    assert len(errors) == 1


def test_negative_settings_are_rejected() -> None:
    with pytest.raises(ConfigError, match="metadata_max_age_ms"):
        Metadata(metadata_max_age_ms=-1, refresh_backoff_ms=0)
    with pytest.raises(ConfigError, match="refresh_backoff_ms"):
        Metadata(metadata_max_age_ms=0, refresh_backoff_ms=-1)
