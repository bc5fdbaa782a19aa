"""A Kafka producer written from the wire protocol up, in the shape of Kafka's own.

Layers, lowest first (imports point downward only):

- ``producer.protocol``: sans-I/O codec: primitive types, message definitions as data,
  request/response headers, the error-code table. Bytes in, objects out.
- ``producer.records``: record batch v2 builder and reader, compression, CRC-32C.
- ``producer.network``: the only code that touches sockets: channels, the selector
  loop, ``NetworkClient`` with per-node in-flight deques.
- ``metadata``, ``partitioner``, ``batch``, ``buffer_pool``, ``accumulator``,
  ``idempotence``, ``sender``, ``config`` and ``producer`` (the facade users import),
  with ``async_producer`` on top for asyncio code.

``native`` says which of these run compiled to C (mypyc) and how to switch back to
plain Python.
"""

from importlib import metadata as _metadata
from typing import TYPE_CHECKING

# first: with REGCAST_PURE_PYTHON set, it makes the imports below load the .py sources
from producer import native  # noqa: F401
from producer.batch import RecordFuture, RecordMetadata
from producer.config import ProducerConfig
from producer.producer import Producer, SendContext

if TYPE_CHECKING:
    from producer.async_producer import AsyncProducer


try:
    __version__ = _metadata.version("regcast")  # one distribution holds all four packages
except _metadata.PackageNotFoundError:  # a source tree on sys.path, never installed
    __version__ = "0.0.0"


def __getattr__(name: str) -> object:
    # AsyncProducer on first use: asyncio (and the ssl module it loads) is about 9 MiB of
    # resident memory that a thread-based producer never needs
    if name == "AsyncProducer":
        from producer.async_producer import AsyncProducer

        return AsyncProducer
    raise AttributeError(f"module 'producer' has no attribute {name!r}")


__all__ = [
    "AsyncProducer",
    "Producer",
    "ProducerConfig",
    "RecordFuture",
    "RecordMetadata",
    "SendContext",
]
