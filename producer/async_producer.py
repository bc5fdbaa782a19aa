"""AsyncProducer: the :class:`Producer` for asyncio code.

The same pipeline and sender thread; ``send()`` awaits the record's delivery instead of
returning a thread future. The one step of ``Producer.send`` that can block for long,
waiting for a topic's metadata, runs in the default executor the first time a topic is
seen; afterwards ``send()`` appends on the event loop's thread, which only blocks when
``buffer_memory`` is full (as the synchronous producer does, up to ``max_block_ms``).
"""

from __future__ import annotations

import asyncio
from typing import Any

from producer.batch import RecordFuture, RecordMetadata
from producer.producer import HeadersArg, Producer

__all__ = ["AsyncProducer"]


class AsyncProducer:
    """``async with AsyncProducer(...) as p: metadata = await p.send(topic, value)``."""

    def __init__(self, **settings: Any) -> None:
        self._producer = Producer(**settings)
        self._known_topics: set[str] = set()

    @property
    def producer(self) -> Producer:
        """The underlying thread-based producer (for metrics or sync calls)."""
        return self._producer

    async def send(
        self,
        topic: str,
        value: Any = None,
        key: Any = None,
        partition: int | None = None,
        timestamp_ms: int | None = None,
        headers: HeadersArg | None = None,
    ) -> RecordMetadata:
        """Queue one record and wait for its delivery; raises its delivery error."""
        if topic not in self._known_topics:
            await self.partitions_for(topic)
        return await self.send_nowait(topic, value, key, partition, timestamp_ms, headers)

    def send_nowait(
        self,
        topic: str,
        value: Any = None,
        key: Any = None,
        partition: int | None = None,
        timestamp_ms: int | None = None,
        headers: HeadersArg | None = None,
    ) -> asyncio.Future[RecordMetadata]:
        """Queue one record now; an asyncio future of its delivery (topic must be known).

        Use after one awaited :meth:`send` or :meth:`partitions_for` for the topic, when
        many records should be in flight at once.
        """
        loop = asyncio.get_running_loop()
        future = self._producer.send(topic, value, key, partition, timestamp_ms, headers)
        return _bridge(future, loop)

    async def partitions_for(self, topic: str) -> list[int]:
        loop = asyncio.get_running_loop()
        partitions = await loop.run_in_executor(None, self._producer.partitions_for, topic)
        self._known_topics.add(topic)
        return partitions

    async def flush(self, timeout: float | None = None) -> None:
        await asyncio.get_running_loop().run_in_executor(None, self._producer.flush, timeout)

    async def close(self, timeout: float | None = None) -> None:
        await asyncio.get_running_loop().run_in_executor(None, self._producer.close, timeout)

    async def __aenter__(self) -> AsyncProducer:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()


def _bridge(
    future: RecordFuture, loop: asyncio.AbstractEventLoop
) -> asyncio.Future[RecordMetadata]:
    result: asyncio.Future[RecordMetadata] = loop.create_future()

    def settle(done: RecordFuture) -> None:
        if result.done():
            return
        error = done.exception(0)
        if error is not None:
            result.set_exception(error)
        else:
            result.set_result(done.result(0))

    future.add_done_callback(lambda done: loop.call_soon_threadsafe(settle, done))
    return result
