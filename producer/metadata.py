"""What the producer knows about the cluster: brokers, topics, partitions and leaders.

Theory of operation (after Kafka's ``Metadata``, ``ProducerMetadata`` and ``Cluster``):

- :class:`Cluster` is an immutable snapshot built from one Metadata response. Readers
  (``send()`` threads, the partitioner, the sender) take ``metadata.cluster`` once and
  work on that snapshot without locks; an update swaps in a new snapshot.
- :class:`Metadata` holds the current snapshot plus the refresh bookkeeping. It keeps
  only the *topics of interest* (those ``send()`` used, :meth:`Metadata.add_topic`) in
  its requests, like Java's producer; a new topic asks for an immediate refresh.
- A refresh is due when somebody asked for one (:meth:`Metadata.request_update`: a new
  topic, an unknown leader, ``NOT_LEADER_OR_FOLLOWER``) or when the snapshot is older
  than ``metadata_max_age_ms``; attempts are spaced by ``refresh_backoff_ms`` whether
  they succeeded or failed. :meth:`Metadata.time_to_next_update` folds both rules into
  one number the network client's poll loop sleeps on.
- The network client (sender thread) sends the Metadata request and calls
  :meth:`Metadata.update` or :meth:`Metadata.failed_update`; threads blocked in
  :meth:`Metadata.await_update` wake when ``version`` moves past what they saw.
- Leader epochs guard against going backwards: a partition whose new leader epoch is
  older than the one already known keeps its known leader (a lagging broker answered).

Thread model: every method may be called from any thread. Mutations hold one lock;
``cluster`` and ``version`` are plain attribute reads of immutable values.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from producer.clock import monotonic_ms
from producer.errors import ConfigError, ProducerClosedError


@dataclass(frozen=True, slots=True)
class BrokerNode:
    """One broker as the cluster advertises it (bootstrap entries use negative ids)."""

    node_id: int
    host: str
    port: int
    rack: str | None = None

    @property
    def address(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


@dataclass(frozen=True, slots=True)
class PartitionInfo:
    """One partition: its leader (-1 when leaderless), leader epoch and replica sets."""

    topic: str
    partition: int
    leader: int
    leader_epoch: int
    replicas: tuple[int, ...]
    isr: tuple[int, ...]


def parse_bootstrap_servers(bootstrap_servers: str) -> list[tuple[str, int]]:
    """Split ``"host:port,host:port"`` (IPv6 as ``[::1]:9092``) into (host, port) pairs.

    Raises :class:`ConfigError` naming the bad entry: a producer that cannot reach any
    broker must say so at construction, not by timing out later.
    """
    addresses: list[tuple[str, int]] = []
    for raw in bootstrap_servers.split(","):
        entry = raw.strip()
        if not entry:
            continue
        if entry.startswith("["):
            host, sep, rest = entry[1:].partition("]")
            port_text = rest[1:] if rest.startswith(":") else ""
            if not sep:
                host = ""
        else:
            host, _, port_text = entry.rpartition(":")
        if not host or not port_text.isdigit() or not 0 < int(port_text) < 65536:
            raise ConfigError(
                f"bootstrap_servers entry {entry!r} is not host:port "
                f"(e.g. 'localhost:9092' or '[::1]:9092')"
            )
        addresses.append((host, int(port_text)))
    if not addresses:
        raise ConfigError("bootstrap_servers is empty: give at least one host:port")
    return addresses


class Cluster:
    """An immutable snapshot of the cluster from one Metadata response.

    The lists returned by the partition accessors are shared and precomputed (the
    partitioner calls them per record): callers must not mutate them.
    """

    __slots__ = (
        "_available",
        "_by_partition",
        "_partitions",
        "brokers",
        "cluster_id",
        "controller_id",
        "partition_counts",
        "topic_errors",
    )

    def __init__(
        self,
        brokers: Iterable[BrokerNode] = (),
        partitions: Iterable[PartitionInfo] = (),
        topic_errors: Mapping[str, int] | None = None,
        *,
        cluster_id: str | None = None,
        controller_id: int = -1,
    ) -> None:
        self.brokers: Mapping[int, BrokerNode] = {b.node_id: b for b in brokers}
        by_topic: dict[str, dict[int, PartitionInfo]] = {}
        for info in partitions:
            by_topic.setdefault(info.topic, {})[info.partition] = info
        self._by_partition = by_topic
        self._partitions: dict[str, list[PartitionInfo]] = {
            topic: [parts[p] for p in sorted(parts)] for topic, parts in by_topic.items()
        }
        self._available: dict[str, list[PartitionInfo]] = {
            topic: [p for p in parts if p.leader >= 0] for topic, parts in self._partitions.items()
        }
        self.partition_counts: Mapping[str, int] = {
            topic: len(parts) for topic, parts in self._partitions.items() if parts
        }
        """Partitions per known topic: read by every ``send()``, so a dict, not a call."""
        self.topic_errors: Mapping[str, int] = dict(topic_errors or {})
        self.cluster_id = cluster_id
        self.controller_id = controller_id

    @classmethod
    def empty(cls) -> Cluster:
        return cls()

    @property
    def topics(self) -> frozenset[str]:
        return frozenset(self._partitions)

    def partitions_for_topic(self, topic: str) -> list[PartitionInfo]:
        """All known partitions of ``topic`` sorted by partition ([] when unknown)."""
        return self._partitions.get(topic, [])

    def available_partitions_for_topic(self, topic: str) -> list[PartitionInfo]:
        """Partitions of ``topic`` that have a leader right now."""
        return self._available.get(topic, [])

    def partition(self, topic: str, partition: int) -> PartitionInfo | None:
        parts = self._by_partition.get(topic)
        return None if parts is None else parts.get(partition)

    def leader_for(self, topic: str, partition: int) -> BrokerNode | None:
        """The leader broker of topic-partition, or None if unknown or leaderless."""
        parts = self._by_partition.get(topic)
        if parts is None:
            return None
        info = parts.get(partition)
        if info is None or info.leader < 0:
            return None
        return self.brokers.get(info.leader)

    def partition_count(self, topic: str) -> int | None:
        """How many partitions ``topic`` has, None while the topic is unknown."""
        return self.partition_counts.get(topic)

    def __repr__(self) -> str:
        return (
            f"Cluster(brokers={sorted(self.brokers)}, topics={sorted(self._partitions)}, "
            f"topic_errors={dict(self.topic_errors)})"
        )


class Metadata:
    """The current :class:`Cluster` plus refresh bookkeeping; thread-safe.

    Contract (BRIEF.md): the sender thread drives refreshes through the network client;
    ``send()`` threads call :meth:`add_topic`, :meth:`request_update` and block in
    :meth:`await_update`.
    """

    def __init__(self, *, metadata_max_age_ms: int, refresh_backoff_ms: int) -> None:
        if metadata_max_age_ms < 0:
            raise ConfigError(f"metadata_max_age_ms must be >= 0, got {metadata_max_age_ms}")
        if refresh_backoff_ms < 0:
            raise ConfigError(f"refresh_backoff_ms must be >= 0, got {refresh_backoff_ms}")
        self.metadata_max_age_ms = metadata_max_age_ms
        self.refresh_backoff_ms = refresh_backoff_ms
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self.cluster = Cluster.empty()
        """The current view; replaced whole on every update, never mutated (a plain
        attribute: every ``send()`` reads it)."""
        self._version = 0
        self._topics: set[str] = set()
        self._need_update = True
        self._last_refresh_ms: int | None = None  # last attempt's outcome, ok or not
        self._last_successful_refresh_ms: int | None = None
        self._closed = False
        self._fatal_error: BaseException | None = None
        # why the newest connection failed (set by the NetworkClient), for timeout messages
        self.last_connection_error: Exception | None = None

    @property
    def version(self) -> int:
        return self._version

    @property
    def last_successful_refresh_ms(self) -> int | None:
        return self._last_successful_refresh_ms

    def topics(self) -> set[str]:
        """A copy of the topics of interest (what the next Metadata request asks for)."""
        with self._lock:
            return set(self._topics)

    def add_topic(self, topic: str, now_ms: int) -> None:
        """Keep ``topic`` in metadata requests; a topic not seen before asks for a refresh.

        ``now_ms`` is accepted for the contract (topic expiry by idle time is not
        implemented: topics of interest stay for the producer's life).
        """
        with self._lock:
            if topic not in self._topics:
                self._topics.add(topic)
                self._need_update = True

    def request_update(self) -> int:
        """Ask for a refresh as soon as the backoff allows; returns the current version."""
        with self._lock:
            self._need_update = True
            return self._version

    def update_requested(self) -> bool:
        return self._need_update

    def time_to_next_update(self, now_ms: int) -> int:
        """Milliseconds until a refresh is due (0 = now), honouring refresh backoff."""
        with self._lock:
            if self._need_update or self._last_successful_refresh_ms is None:
                to_expire = 0
            else:
                to_expire = max(
                    self._last_successful_refresh_ms + self.metadata_max_age_ms - now_ms, 0
                )
            if self._last_refresh_ms is None:
                to_allow = 0
            else:
                to_allow = max(self._last_refresh_ms + self.refresh_backoff_ms - now_ms, 0)
            return max(to_expire, to_allow)

    def update(self, response_body: dict[str, Any], now_ms: int) -> None:
        """Install the cluster described by a Metadata response body (any version).

        Runs on the sender thread. A topic of interest missing from the response (added
        after the request left) keeps the refresh flag up, so it is asked for next time.
        """
        brokers = [
            BrokerNode(
                node_id=int(b["node_id"]),
                host=str(b["host"]),
                port=int(b["port"]),
                rack=b.get("rack"),
            )
            for b in response_body.get("brokers") or ()
        ]
        old = self.cluster
        partitions: list[PartitionInfo] = []
        topic_errors: dict[str, int] = {}
        seen_topics: set[str] = set()
        for topic_md in response_body.get("topics") or ():
            name = topic_md.get("name")
            if name is None:
                continue
            seen_topics.add(name)
            error_code = int(topic_md.get("error_code", 0))
            if error_code:
                topic_errors[name] = error_code
            for p in topic_md.get("partitions") or ():
                info = PartitionInfo(
                    topic=name,
                    partition=int(p["partition_index"]),
                    leader=int(p.get("leader_id", -1)),
                    leader_epoch=int(p.get("leader_epoch", -1)),
                    replicas=tuple(p.get("replica_nodes") or ()),
                    isr=tuple(p.get("isr_nodes") or ()),
                )
                known = old.partition(name, info.partition)
                if known is not None and 0 <= info.leader_epoch < known.leader_epoch:
                    info = known  # stale answer from a lagging broker: keep the newer leader
                partitions.append(info)
        cluster = Cluster(
            brokers,
            partitions,
            topic_errors,
            cluster_id=response_body.get("cluster_id"),
            controller_id=int(response_body.get("controller_id", -1)),
        )
        with self._changed:
            self.cluster = cluster
            self._version += 1
            self._last_refresh_ms = now_ms
            self._last_successful_refresh_ms = now_ms
            self._need_update = bool(self._topics - seen_topics)
            self._changed.notify_all()

    def failed_update(self, now_ms: int) -> None:
        """A refresh attempt failed: back off ``refresh_backoff_ms`` before the next."""
        with self._lock:
            self._last_refresh_ms = now_ms

    def await_update(self, last_version: int, timeout_ms: int) -> bool:
        """Block the calling thread until ``version > last_version``; False on timeout.

        Never called on the sender thread (that thread performs the update). Raises
        :class:`ProducerClosedError` if :meth:`close` is called while waiting, and the
        error given to :meth:`fail` once the producer failed for good.
        """
        deadline = monotonic_ms() + max(timeout_ms, 0)
        with self._changed:
            while self._version <= last_version:
                fatal = self._fatal_error
                if fatal is not None:
                    raise fatal.with_traceback(None)  # shared: do not grow its traceback
                if self._closed:
                    raise ProducerClosedError("producer closed while waiting for metadata")
                remaining_ms = deadline - monotonic_ms()
                if remaining_ms <= 0:
                    return False
                self._changed.wait(remaining_ms / 1000.0)
            return True

    def fail(self, error: BaseException) -> None:
        """The producer failed for good (authentication): waiters and later
        :meth:`await_update` calls raise ``error`` instead of waiting out their timeout
        (Kafka's ``Metadata.fatalError``)."""
        with self._changed:
            self._fatal_error = error
            self._changed.notify_all()

    def close(self) -> None:
        """Wake every waiter; later :meth:`await_update` calls raise ProducerClosedError."""
        with self._changed:
            self._closed = True
            self._changed.notify_all()
