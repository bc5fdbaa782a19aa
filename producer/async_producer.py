"""AsyncProducer: the :class:`Producer` for asyncio code.

The same pipeline and sender thread; ``send()`` awaits the record's delivery instead of
returning a thread future. The one step of ``Producer.send`` that can block for long,
waiting for a topic's metadata, runs in the default executor the first time a topic is
seen; afterwards ``send()`` appends on the event loop's thread, which only blocks when
``buffer_memory`` is full (as the synchronous producer does, up to ``max_block_ms``).

The transactional calls are the same as :class:`Producer`'s, as coroutines: each waits
for the coordinator in the default executor, never on the event loop's thread.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterable, Mapping
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

    # ------------------------------------------------------------------ transactions

    async def init_transactions(self, timeout: float | None = None) -> None:
        await self._in_executor(self._producer.init_transactions, timeout)

    def begin_transaction(self) -> None:
        """Local only (no request): a plain method, as in the synchronous producer."""
        self._producer.begin_transaction()

    async def send_offsets_to_transaction(
        self,
        offsets: Mapping[Any, Any] | Iterable[Any],
        group_metadata: Any,
        timeout: float | None = None,
    ) -> None:
        await self._in_executor(
            self._producer.send_offsets_to_transaction, offsets, group_metadata, timeout
        )

    async def commit_transaction(self, timeout: float | None = None) -> None:
        await self._in_executor(self._producer.commit_transaction, timeout)

    async def abort_transaction(self, timeout: float | None = None) -> None:
        await self._in_executor(self._producer.abort_transaction, timeout)

    @contextlib.asynccontextmanager
    async def transaction(self, timeout: float | None = None) -> AsyncIterator[AsyncProducer]:
        """``async with producer.transaction(): ...``: commits, or aborts on an exception."""
        sync = self._producer.transaction(timeout)
        await self._in_executor(sync.__enter__)
        try:
            yield self
        except BaseException as exc:
            await self._in_executor(sync.__exit__, type(exc), exc, exc.__traceback__)
            raise
        await self._in_executor(sync.__exit__, None, None, None)

    async def _in_executor(self, call: Any, *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(None, call, *args)

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
