"""Which partition a record goes to.

The rules, in the order the producer applies them (Kafka's ``KafkaProducer.partition``):

1. An explicit ``partition`` argument wins.
2. A user callable ``partitioner(topic, key_bytes, partition_count)`` decides everything
   else when configured.
3. A key is hashed with :func:`murmur2` exactly as Java's client does
   (``toPositive(murmur2(key)) % partition_count`` over *all* partitions), so a key lands
   where Java's client and librdkafka's ``murmur2_random`` put it.
4. A record without a key goes to the ``sticky`` partition (Kafka >= 3.3's uniform sticky
   partitioning, KIP-794 without the adaptive part: stay on one available partition until
   ``batch_size`` bytes went to it, then move to another at random), or, with
   ``partitioner="round_robin"``, to the next available partition in turn.

Partitioners run on the caller's thread inside ``send()``; per-topic state is guarded by
one lock each, never held across anything slow.
"""

from __future__ import annotations

import random
import struct
import threading
from typing import TYPE_CHECKING, Protocol

from producer.metadata import Cluster

if TYPE_CHECKING:
    from mypy_extensions import i64  # mypyc's 64-bit int; a plain int at run time

__all__ = [
    "KeylessPartitioner",
    "RoundRobinPartitioner",
    "StickyPartitioner",
    "murmur2",
    "partition_for_key",
]

_M = 0x5BD1E995
_SEED = 0x9747B28C
_MASK32 = 0xFFFFFFFF


def murmur2(data: bytes) -> int:
    """Java's ``Utils.murmur2``: 32-bit MurmurHash2, seed 0x9747b28c, as an unsigned int.

    ``h`` and ``k`` are ``i64`` for mypyc: compiled, a product of plain ints is a machine
    multiplication only while both factors are below 2**30; larger ones (these are up to
    2**32) go to CPython's big-int multiplication, which runs pending signal handlers,
    and an exception raised there (Ctrl-C, or SIGTERM handled as one) is taken by mypyc
    for an allocation failure: it aborts the process. As i64 every product here (below
    2**63) is a machine multiplication. Plain Python reads the annotations as ints.
    """
    length = len(data)
    h: i64 = (_SEED ^ length) & _MASK32
    k: i64
    for k in struct.unpack_from(f"<{length // 4}I", data):
        k = (k * _M) & _MASK32
        k ^= k >> 24
        k = (k * _M) & _MASK32
        h = ((h * _M) & _MASK32) ^ k
    tail = length & 3
    if tail:
        base = length - tail
        if tail == 3:
            h ^= data[base + 2] << 16
        if tail >= 2:
            h ^= data[base + 1] << 8
        h ^= data[base]
        h = (h * _M) & _MASK32
    h ^= h >> 13
    h = (h * _M) & _MASK32
    h ^= h >> 15
    return h


def partition_for_key(key: bytes, partition_count: int) -> int:
    """The partition Java's default partitioner gives ``key`` (``toPositive``: ``& 0x7fffffff``)."""
    return (murmur2(key) & 0x7FFFFFFF) % partition_count


class KeylessPartitioner(Protocol):
    """Chooses partitions for records that have neither a key nor an explicit partition."""

    def partition(self, topic: str, cluster: Cluster, size_bytes: int) -> int:
        """The partition of ``topic`` (which the cluster knows) for a record adding about
        ``size_bytes`` to its batch; runs on the caller's thread, once per record.

        One call both chooses and accounts (Java's client chooses, appends, then reports
        the appended bytes): the record is appended to the partition chosen, so the
        count is the same, and the hot path makes one call instead of two.
        """
        ...


def _candidates(topic: str, cluster: Cluster) -> list[int]:
    available = cluster.available_partitions_for_topic(topic)
    parts = available or cluster.partitions_for_topic(topic)
    return [p.partition for p in parts]


class StickyPartitioner:
    """Uniform sticky partitioning: one partition per topic until ``batch_size`` bytes went to it.

    Sticking fills whole batches (fewer, larger requests); switching after a batch's worth
    of bytes, rather than when a new batch happens to open (KIP-480), keeps the spread
    uniform even when one broker is slower than the others (KIP-794).
    """

    def __init__(self, batch_size_bytes: int, rng: random.Random | None = None) -> None:
        self._batch_size_bytes = batch_size_bytes
        self._rng = rng or random.Random()
        self._lock = threading.Lock()
        self._sticky: dict[str, int] = {}
        self._produced_bytes: dict[str, int] = {}

    def partition(self, topic: str, cluster: Cluster, size_bytes: int) -> int:
        sticky = self._sticky.get(topic)
        if sticky is None:
            with self._lock:
                sticky = self._sticky.get(topic)
                if sticky is None:
                    sticky = self._next(topic, cluster, None)
        # Lock-free on the hot path: a race between two senders at worst moves on one
        # record early or late; only the switch itself takes the lock. The record that
        # completes a batch's worth still goes to ``sticky``; the next one moves on.
        produced = self._produced_bytes.get(topic, 0) + size_bytes
        if produced < self._batch_size_bytes:
            self._produced_bytes[topic] = produced
        else:
            with self._lock:
                if self._sticky.get(topic) == sticky:
                    self._next(topic, cluster, sticky)
        return sticky

    def _next(self, topic: str, cluster: Cluster, current: int | None) -> int:
        """Pick a new sticky partition (lock held): random among available, not ``current``."""
        candidates = _candidates(topic, cluster)
        if current is not None and len(candidates) > 1:
            candidates = [p for p in candidates if p != current]
        chosen = self._rng.choice(candidates)
        self._sticky[topic] = chosen
        self._produced_bytes[topic] = 0
        return chosen


class RoundRobinPartitioner:
    """Each keyless record to the next available partition of its topic, in turn."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counters: dict[str, int] = {}

    def partition(self, topic: str, cluster: Cluster, size_bytes: int) -> int:
        candidates = _candidates(topic, cluster)
        with self._lock:
            turn = self._counters.get(topic, 0)
            self._counters[topic] = turn + 1
        return candidates[turn % len(candidates)]
