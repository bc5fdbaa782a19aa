"""BufferPool: the ``buffer_memory`` bound on record data held by the producer.

After Kafka's ``BufferPool``, as accounting only: Python cannot hand out pooled byte
buffers the way the JVM does, so each open batch *reserves* its size here before it is
created and gives it back when it completes. Bytes held by batches can therefore never
exceed ``buffer_memory``; a ``send()`` that needs a new batch while the pool is empty
waits (up to ``max_block_ms``) for a batch to complete, then raises
:class:`BufferExhaustedError`. Waiters are served first come, first served, so a large
record cannot be starved by a stream of small ones.
"""

from __future__ import annotations

import threading
import time
from collections import deque

from producer.errors import BufferExhaustedError, ProducerClosedError

__all__ = ["BufferPool"]


class BufferPool:
    """Reserves and releases byte counts against a fixed total; thread-safe."""

    def __init__(self, total_bytes: int) -> None:
        self.total_bytes = total_bytes
        self._available_bytes = total_bytes
        self._changed = threading.Condition()
        self._waiters: deque[object] = deque()
        self._closed = False

    @property
    def available_bytes(self) -> int:
        return self._available_bytes

    @property
    def queued(self) -> int:
        """Threads waiting for memory; the accumulator then drains batches without lingering."""
        return len(self._waiters)

    def allocate(self, size_bytes: int, max_time_ms: int) -> None:
        """Reserve ``size_bytes``, waiting up to ``max_time_ms`` for room (caller's thread)."""
        with self._changed:
            if self._closed:
                raise ProducerClosedError("the producer is closed: no new records are accepted")
            if not self._waiters and self._available_bytes >= size_bytes:
                self._available_bytes -= size_bytes
                return
            ticket = object()
            self._waiters.append(ticket)
            deadline = time.monotonic() + max_time_ms / 1000
            try:
                while self._waiters[0] is not ticket or self._available_bytes < size_bytes:
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
                self._available_bytes -= size_bytes
            finally:
                self._waiters.remove(ticket)
                self._changed.notify_all()

    def deallocate(self, size_bytes: int) -> None:
        """Give back what a completed batch reserved (any thread)."""
        with self._changed:
            self._available_bytes += size_bytes
            self._changed.notify_all()

    def close(self) -> None:
        """Wake every waiter with :class:`ProducerClosedError`."""
        with self._changed:
            self._closed = True
            self._changed.notify_all()
