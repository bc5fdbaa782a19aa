"""Partitioning: Java's murmur2 bit for bit, sticky and round-robin spreading."""

from __future__ import annotations

import random
import subprocess
import sys
from collections import Counter

import pytest

from producer.metadata import BrokerNode, Cluster, PartitionInfo
from producer.partitioner import (
    RoundRobinPartitioner,
    StickyPartitioner,
    murmur2,
    partition_for_key,
)

# Expected values from Kafka's UtilsTest.testMurmur2 (Java ints, signed).
JAVA_MURMUR2 = {
    b"21": -973932308,
    b"foobar": -790332482,
    b"a-little-bit-long-string": -985981536,
    b"a-little-bit-longer-string": -1486304829,
    b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8": -58897971,
    b"abc": 479470107,
}


def _signed(value: int) -> int:
    return value - (1 << 32) if value >= 1 << 31 else value


@pytest.mark.parametrize(("key", "expected"), JAVA_MURMUR2.items())
def test_murmur2_matches_java(key: bytes, expected: int) -> None:
    assert _signed(murmur2(key)) == expected


def test_partition_for_key_uses_to_positive_modulo() -> None:
    for key, java in JAVA_MURMUR2.items():
        assert partition_for_key(key, 7) == (java & 0x7FFFFFFF) % 7


def test_empty_key_hashes() -> None:
    assert 0 <= partition_for_key(b"", 5) < 5


def _cluster(partitions: int, leaderless: frozenset[int] = frozenset()) -> Cluster:
    return Cluster(
        [BrokerNode(1, "h", 1)],
        [
            PartitionInfo("t", p, -1 if p in leaderless else 1, 0, (1,), (1,))
            for p in range(partitions)
        ],
    )


def test_sticky_stays_until_a_batch_worth_of_bytes_then_moves() -> None:
    cluster = _cluster(4)
    sticky = StickyPartitioner(batch_size_bytes=1000, rng=random.Random(7))
    first = sticky.partition("t", cluster, 100)
    for _ in range(9):  # the tenth record makes 1000 bytes and still goes to the first
        assert sticky.partition("t", cluster, 100) == first
    assert sticky.partition("t", cluster, 100) != first  # the next one moves on


def test_sticky_spreads_uniformly_over_many_batches() -> None:
    cluster = _cluster(4)
    sticky = StickyPartitioner(batch_size_bytes=100, rng=random.Random(1))
    counts: Counter[int] = Counter()
    for _ in range(4000):
        counts[sticky.partition("t", cluster, 50)] += 1
    assert set(counts) == {0, 1, 2, 3}
    assert min(counts.values()) > 700


def test_keyless_partitioners_skip_leaderless_partitions() -> None:
    cluster = _cluster(4, leaderless=frozenset({1, 2}))
    rr = RoundRobinPartitioner()
    assert {rr.partition("t", cluster, 10) for _ in range(10)} == {0, 3}
    sticky = StickyPartitioner(batch_size_bytes=10, rng=random.Random(3))
    seen = set()
    for _ in range(50):
        seen.add(sticky.partition("t", cluster, 10))
    assert seen == {0, 3}


def test_round_robin_cycles_in_order() -> None:
    cluster = _cluster(3)
    rr = RoundRobinPartitioner()
    assert [rr.partition("t", cluster, 1) for _ in range(7)] == [0, 1, 2, 0, 1, 2, 0]


_SIGNALS_WHILE_HASHING = """
import signal, time
from producer.partitioner import partition_for_key

class Stop(Exception):
    pass

def stop(signum, frame):
    raise Stop

signal.signal(signal.SIGALRM, stop)
key = bytes(range(256)) * 16
caught = 0
deadline = time.monotonic() + 30
while caught < 300 and time.monotonic() < deadline:
    try:
        # one shot, armed inside the try: the signal can only land in the hashing below
        # (a repeating timer could also fire between two tries, or during shutdown)
        signal.setitimer(signal.ITIMER_REAL, 0.001)  # the kernel's timing, not Python's
        while True:
            partition_for_key(key, 12)
    except Stop:
        caught += 1
print(caught)
"""


def test_a_signal_handler_raising_while_keys_are_hashed_gets_its_exception_through() -> None:
    """Ctrl-C or SIGTERM turned into an exception arriving mid-hash must surface as that
    exception. Compiled, murmur2 once multiplied ints past 2**30, which mypyc hands to
    CPython's big-int code; that runs the signal handler, and mypyc took the exception
    for an allocation failure and aborted the process ("fatal: out of memory")."""
    done = subprocess.run(
        [sys.executable, "-c", _SIGNALS_WHILE_HASHING], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert int(done.stdout) == 300
