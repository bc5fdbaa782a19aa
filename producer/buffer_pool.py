"""BufferPool: the ``buffer_memory`` bound on record data held by the producer.

After Kafka's ``BufferPool``: each open batch takes its buffer here before it is
created and gives it back when it completes. Bytes held by batches can therefore never
exceed ``buffer_memory``; a ``send()`` that needs a new batch while the pool is empty
waits (up to ``max_block_ms``) for a batch to complete, then raises
:class:`BufferExhaustedError`. Waiters are served first come, first served, so a large
record cannot be starved by a stream of small ones.

Buffers of exactly ``poolable_bytes`` (the batch size) are kept on a free list when
given back and handed to the next batch, as Kafka does: a busy producer then writes
its batches into the same few hundred buffers over and over instead of asking the
allocator for a fresh 64 KiB per batch, which fragments the heap and made peak RSS
grow well past ``buffer_memory``. Other sizes (a record larger than the batch size)
are allocated for the one batch and dropped after it; the free list is trimmed when
they need the room. Memory on the free list counts as available.
"""

from __future__ import annotations

import threading
import time
from collections import deque

from producer.errors import BufferExhaustedError, ProducerClosedError

__all__ = ["BufferPool"]


class BufferPool:
    """Hands out batch buffers within a fixed total; thread-safe."""

    def __init__(self, total_bytes: int, poolable_bytes: int) -> None:
        self.total_bytes = total_bytes
        self.poolable_bytes = poolable_bytes
        self._available_bytes = total_bytes  # neither handed out nor on the free list
        self._free: list[bytearray] = []
        self._changed = threading.Condition()
        self._waiters: deque[object] = deque()
        self._closed = False

    @property
    def available_bytes(self) -> int:
        """Bytes a new batch could have: unallocated plus the free list."""
        return self._available_bytes + len(self._free) * self.poolable_bytes

    @property
    def free_buffers(self) -> int:
        return len(self._free)

    @property
    def queued(self) -> int:
        """Threads waiting for memory; the accumulator then drains batches without lingering."""
        return len(self._waiters)

    def allocate(self, size_bytes: int, max_time_ms: int) -> bytearray:
        """A buffer of ``size_bytes``, waiting up to ``max_time_ms`` for room (caller's
        thread). Its contents are whatever the previous batch left."""
        with self._changed:
            if self._closed:
                raise ProducerClosedError("the producer is closed: no new records are accepted")
            if not self._waiters and self.available_bytes >= size_bytes:
                buffer = self._take(size_bytes)
            else:
                buffer = self._wait_and_take(size_bytes, max_time_ms)
        return bytearray(size_bytes) if buffer is None else buffer

    def _wait_and_take(self, size_bytes: int, max_time_ms: int) -> bytearray | None:
        """``allocate`` when it must queue (lock held)."""
        ticket = object()
        self._waiters.append(ticket)
        deadline = time.monotonic() + max_time_ms / 1000
        try:
            while self._waiters[0] is not ticket or self.available_bytes < size_bytes:
                if self._closed:
                    raise ProducerClosedError("producer closed while send() waited for memory")
                remaining_s = deadline - time.monotonic()
                if remaining_s <= 0:
                    raise BufferExhaustedError(
                        f"could not reserve {size_bytes} bytes within max_block_ms="
                        f"{max_time_ms}: all {self.total_bytes} bytes of buffer_memory hold "
                        "undelivered records (is the broker slow or unreachable? raise "
                        "buffer_memory or max_block_ms, or slow down)"
                    )
                self._changed.wait(remaining_s)
            return self._take(size_bytes)
        finally:
            self._waiters.remove(ticket)
            self._changed.notify_all()

    def _take(self, size_bytes: int) -> bytearray | None:
        """A pooled buffer, or None after reserving ``size_bytes`` for a new one (lock
        held, room checked; the new one is allocated outside the lock)."""
        free = self._free
        if size_bytes == self.poolable_bytes and free:
            return free.pop()
        while self._available_bytes < size_bytes:
            self._available_bytes += len(free.pop())
        self._available_bytes -= size_bytes
        return None

    def deallocate(self, buffer: bytearray | None, size_bytes: int) -> None:
        """Give back a completed batch's buffer of ``size_bytes`` (any thread); None
        when there is no buffer to keep, only the bytes to count."""
        with self._changed:
            if buffer is not None and size_bytes == self.poolable_bytes == len(buffer):
                self._free.append(buffer)
            else:
                self._available_bytes += size_bytes
            self._changed.notify_all()

    def close(self) -> None:
        """Wake every waiter with :class:`ProducerClosedError`."""
        with self._changed:
            self._closed = True
            self._changed.notify_all()
