"""BufferPool: the buffer_memory bound, and batch-size buffers reused as Kafka does."""

from __future__ import annotations

import threading

import pytest

from producer.buffer_pool import BufferPool
from producer.errors import BufferExhaustedError

BATCH = 1024


def test_a_batch_size_buffer_given_back_is_handed_out_again() -> None:
    pool = BufferPool(4 * BATCH, BATCH)
    first = pool.allocate(BATCH, 0)
    assert len(first) == BATCH
    assert pool.available_bytes == 3 * BATCH
    pool.deallocate(first, BATCH)
    assert (pool.available_bytes, pool.free_buffers) == (4 * BATCH, 1)
    again = pool.allocate(BATCH, 0)
    assert again is first
    assert (pool.available_bytes, pool.free_buffers) == (3 * BATCH, 0)


def test_other_sizes_are_not_kept_and_trim_the_free_list_for_room() -> None:
    pool = BufferPool(4 * BATCH, BATCH)
    buffers = [pool.allocate(BATCH, 0) for _ in range(4)]
    for buffer in buffers:
        pool.deallocate(buffer, BATCH)
    assert pool.free_buffers == 4
    big = pool.allocate(3 * BATCH, 0)  # takes the room of three pooled buffers
    assert len(big) == 3 * BATCH
    assert (pool.available_bytes, pool.free_buffers) == (BATCH, 1)
    pool.deallocate(big, 3 * BATCH)
    assert (pool.available_bytes, pool.free_buffers) == (4 * BATCH, 1)


def test_the_total_is_a_bound_and_a_waiter_gets_a_returned_buffer() -> None:
    pool = BufferPool(2 * BATCH, BATCH)
    held = [pool.allocate(BATCH, 0), pool.allocate(BATCH, 0)]
    with pytest.raises(BufferExhaustedError, match="buffer_memory"):
        pool.allocate(BATCH, 0)
    got: list[bytearray] = []
    waiter = threading.Thread(target=lambda: got.append(pool.allocate(BATCH, 5_000)))
    waiter.start()
    while pool.queued == 0:
        threading.Event().wait(0.001)
    pool.deallocate(held[0], BATCH)
    waiter.join(5)
    assert got == [held[0]] and got[0] is held[0]
