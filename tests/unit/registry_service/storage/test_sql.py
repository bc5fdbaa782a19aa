"""registry_service.storage.sql.WriterQueue: this process's writers go in one at a time,
oldest first, and a waiter that runs out of time leaves the queue. (The SQL itself runs
against real databases in tests/integration/registry.)"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from registry_service.storage.sql import WriterQueue


def wait_until(condition: Callable[[], bool], timeout_s: float = 5.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.001)


def test_writers_get_in_in_the_order_they_arrived() -> None:
    queue = WriterQueue()
    assert queue.acquire(1.0)
    order: list[int] = []

    def writer(n: int) -> None:
        assert queue.acquire(5.0)
        order.append(n)
        queue.release()

    threads = []
    for n in range(5):
        thread = threading.Thread(target=writer, args=(n,))
        thread.start()
        threads.append(thread)
        wait_until(lambda n=n: len(queue._waiting) == n + 1)  # queued before the next starts
    queue.release()
    for thread in threads:
        thread.join(5)
    assert order == [0, 1, 2, 3, 4]
    assert queue.acquire(0.0)  # free again


def test_release_hands_over_before_the_releasing_thread_can_return() -> None:
    queue = WriterQueue()
    assert queue.acquire(1.0)
    got_in = threading.Event()

    def waiter() -> None:
        assert queue.acquire(5.0)
        got_in.set()

    thread = threading.Thread(target=waiter)
    thread.start()
    wait_until(lambda: len(queue._waiting) == 1)
    queue.release()
    assert not queue.acquire(0.05)  # already the waiter's, though it may not have run yet
    thread.join(5)
    assert got_in.is_set()
    queue.release()


def test_a_waiter_that_times_out_leaves_the_queue() -> None:
    queue = WriterQueue()
    assert queue.acquire(1.0)
    assert not queue.acquire(0.01)
    assert not queue._waiting
    queue.release()
    assert queue.acquire(0.0)
