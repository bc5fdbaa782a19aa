"""Building one record batch, record by record (Kafka's ``MemoryRecordsBuilder``).

Theory of operation
-------------------
The accumulator owns one :class:`RecordBatchBuilder` per open batch and calls
:meth:`~RecordBatchBuilder.try_append` for every record sent to its partition; that
call is the producer's hot loop, so it allocates as little as Python allows: the
varints come from a table (:mod:`producer.records.varint`), the record, its length
prefix first, is joined in one ``b"".join`` and copied into the batch's ``bytearray``
behind the 61-byte header room. No per-record objects survive the call.

The ``bytearray`` is normally handed in by the accumulator from its
:class:`~producer.buffer_pool.BufferPool`: one buffer of exactly the batch's reserved
size, written in place (never resized) and reused by a later batch once this one
completes, as in Kafka's producer. Without one, the builder grows its own.

Fullness follows Kafka: a record is refused (``-1``) when the uncompressed estimate
would pass ``batch_size_bytes``, except the first record, which is always accepted
(a record larger than ``batch.size`` gets a batch of its own; the producer rejects
records above ``max.request.size`` before they reach the builder, see
:func:`record_size_upper_bound_bytes`).

:meth:`~RecordBatchBuilder.build` closes the builder. Uncompressed, it writes the header
into the room left for it and returns a view of the buffer: no copy. Compressed, it
compresses the records section once and caches it. The header fields that idempotence
and transactions change (producer id, epoch, base sequence, the transactional bit) lie
inside the CRC-covered region but outside the compressed payload, so building again
with other ids (a batch re-sequenced after a retry, an epoch bump) packs a new 61-byte
header and recomputes one CRC-32C over the payload: hardware CRC at several GB/s, no
recompression.

Timestamps are CreateTime. ``base_timestamp`` is the first record's timestamp,
``max_timestamp`` the largest of all; deltas may be negative when the caller passes
an earlier timestamp later (the format allows it).

Not thread-safe: the accumulator serialises access with its per-partition deque lock,
and ``build`` runs on the sender thread once the batch has left the deque.
"""

from __future__ import annotations

from collections.abc import Sequence

import crc32c

from producer.records.batch import (
    HEAD,
    HEADER_SIZE_BYTES,
    LOG_OVERHEAD_BYTES,
    MAGIC,
    TAIL,
    TRANSACTIONAL_FLAG,
)
from producer.records.compression import CompressionType, compress
from producer.records.varint import _SMALL, SMALL_LIMIT, encode_varint, varint

__all__ = ["Headers", "RecordBatchBuilder", "record_size_upper_bound_bytes"]

_FIRST_GROWN_BYTES = 4096
"""Room a builder without a pooled buffer starts with; it doubles as needed."""
_CRC_START = HEAD.size  # the CRC covers everything after itself

Headers = Sequence[tuple[str, bytes | None]]

_NULL = _SMALL[-1]
_NO_HEADERS = b"\x00"
_ATTRIBUTES = b"\x00"
_EMPTY = b""
_MAX_RECORD_OVERHEAD_BYTES = 5 + 1 + 10 + 5 + 5 + 5 + 5
"""Widest length, attributes, timestamp delta (a varlong), offset delta, key length,
value length and header count a record can carry."""


def _encode_headers(headers: Headers) -> bytes:
    parts = [varint(len(headers))]
    append = parts.append
    for key, value in headers:
        raw_key = key.encode()
        append(varint(len(raw_key)))
        append(raw_key)
        if value is None:
            append(_NULL)
        else:
            append(varint(len(value)))
            append(value)
    return b"".join(parts)


def record_size_upper_bound_bytes(
    key: bytes | None, value: bytes | None, headers: Headers | None = None
) -> int:
    """An upper bound on a one-record batch holding this record, uncompressed.

    The producer compares it with ``max_request_size`` and ``buffer_memory`` before
    a record reaches any builder (Kafka's ``estimateSizeInBytesUpperBound``).
    """
    size = HEADER_SIZE_BYTES + _MAX_RECORD_OVERHEAD_BYTES
    size += len(key) if key is not None else 0
    size += len(value) if value is not None else 0
    if headers:
        size += len(_encode_headers(headers))
    return size


class RecordBatchBuilder:
    """Appends records to one batch and builds its wire bytes.

    ``batch_size_bytes`` bounds the uncompressed batch (header included) for every
    record but the first. ``first_timestamp_ms`` is the timestamp the first record is
    expected to carry; it only shows in a batch built empty.
    ``compression_level`` is passed to the codec (``None``: the codec's default).
    ``buffer``: where to write the batch (header included), at least
    ``batch_size_bytes`` long unless a first record is larger; None to grow one.
    """

    __slots__ = (
        "_base_timestamp_ms",
        "_buf",
        "_built",
        "_built_ids",
        "_closed",
        "_compression",
        "_compression_level",
        "_count",
        "_limit_bytes",
        "_max_timestamp_ms",
        "_payload",
        "_pos",
        "batch_size_bytes",
    )

    def __init__(
        self,
        compression: CompressionType,
        batch_size_bytes: int,
        first_timestamp_ms: int,
        *,
        compression_level: int | None = None,
        buffer: bytearray | None = None,
    ) -> None:
        self._compression = CompressionType(compression)
        self._compression_level = compression_level
        self.batch_size_bytes = batch_size_bytes
        self._limit_bytes = batch_size_bytes
        if buffer is None:
            buffer = bytearray(min(max(batch_size_bytes, HEADER_SIZE_BYTES), _FIRST_GROWN_BYTES))
        self._buf = buffer
        self._pos = HEADER_SIZE_BYTES
        self._count = 0
        self._base_timestamp_ms = first_timestamp_ms
        self._max_timestamp_ms = first_timestamp_ms
        self._closed = False
        self._payload: bytes | None = None  # compressed records, once built
        self._built: bytes | memoryview | None = None
        self._built_ids: tuple[int, int, int, bool] | None = None

    # ------------------------------------------------------------------ hot path

    def try_append(
        self,
        timestamp_ms: int,
        key: bytes | None,
        value: bytes | None,
        headers: Headers | None = None,
    ) -> int:
        """Append one record; its offset delta, or -1 if the batch is full or closed."""
        count = self._count
        if count:
            timestamp_delta = timestamp_ms - self._base_timestamp_ms
        elif self._closed:
            return -1
        else:
            timestamp_delta = 0
        small = _SMALL
        if -SMALL_LIMIT <= timestamp_delta < SMALL_LIMIT:
            timestamp_b = small[timestamp_delta]
        else:
            timestamp_b = encode_varint(timestamp_delta)
        if key is None:
            key_b = _NULL
            key = _EMPTY
        else:
            n = len(key)
            key_b = small[n] if n < SMALL_LIMIT else encode_varint(n)
        if value is None:
            value_b = _NULL
            value = _EMPTY
        else:
            n = len(value)
            value_b = small[n] if n < SMALL_LIMIT else encode_varint(n)
        offset_b = small[count] if count < SMALL_LIMIT else encode_varint(count)
        headers_b = _encode_headers(headers) if headers else _NO_HEADERS
        # the record's length is known before it is joined, so the length prefix goes
        # into the same join and the record into the buffer with one slice assignment
        n = (
            1
            + len(timestamp_b)
            + len(offset_b)
            + len(key_b)
            + len(key)
            + len(value_b)
            + len(value)
            + len(headers_b)
        )
        length_b = small[n] if n < SMALL_LIMIT else encode_varint(n)
        pos = self._pos
        end = pos + len(length_b) + n
        # close() sets the limit to -1, so a closed batch fails here for count > 0
        if count and end > self._limit_bytes:
            return -1
        buf = self._buf
        if end > len(buf):
            buf.extend(bytes(max(end, 2 * len(buf)) - len(buf)))
        buf[pos:end] = b"".join(
            (length_b, _ATTRIBUTES, timestamp_b, offset_b, key_b, key, value_b, value, headers_b)
        )
        self._pos = end
        if count == 0:
            self._base_timestamp_ms = self._max_timestamp_ms = timestamp_ms
        elif timestamp_ms > self._max_timestamp_ms:
            self._max_timestamp_ms = timestamp_ms
        self._count = count + 1
        return count

    # ---------------------------------------------------------------- inspection

    @property
    def compression(self) -> CompressionType:
        return self._compression

    @property
    def record_count(self) -> int:
        return self._count

    @property
    def estimated_size_bytes(self) -> int:
        """Uncompressed size of the batch so far, header included.

        What the accumulator charges against ``buffer_memory``; after :meth:`build` it
        stays the uncompressed figure (the records stay in the buffer, compressed or
        not), so releasing the batch gives back what was taken.
        """
        return self._pos

    @property
    def is_full(self) -> bool:
        """True once no further record can be appended (closed, or at the size limit)."""
        return self._closed or (self._count > 0 and self._pos >= self._limit_bytes)

    @property
    def buffer(self) -> bytearray:
        """The bytearray written in place (for the pool to reuse once the batch is done)."""
        return self._buf

    @property
    def is_closed(self) -> bool:
        return self._closed

    @property
    def base_timestamp_ms(self) -> int:
        return self._base_timestamp_ms

    @property
    def max_timestamp_ms(self) -> int:
        return self._max_timestamp_ms

    def close(self) -> None:
        """Refuse further appends (``try_append`` returns -1); building stays possible."""
        self._closed = True
        self._limit_bytes = -1

    # ------------------------------------------------------------------- output

    def build(
        self,
        producer_id: int = -1,
        producer_epoch: int = -1,
        base_sequence: int = -1,
        is_transactional: bool = False,
    ) -> bytes | memoryview:
        """The batch's wire bytes, stamped with these producer ids; closes the builder.

        Uncompressed, a view of the builder's buffer with the header written in place
        (valid until the buffer is reused for another batch); compressed, ``bytes``.
        Compression happens on the first call only. Later calls with the same ids return
        the same object; with other ids they re-stamp the header and the CRC.
        """
        ids = (producer_id, producer_epoch, base_sequence, is_transactional)
        if self._built is not None and ids == self._built_ids:
            return self._built
        self.close()
        buf, pos, count = self._buf, self._pos, self._count
        attributes = int(self._compression)
        if is_transactional:
            attributes |= TRANSACTIONAL_FLAG
        tail_fields = (
            attributes,
            count - 1,
            self._base_timestamp_ms,
            self._max_timestamp_ms,
            producer_id,
            producer_epoch,
            base_sequence,
            count,
        )
        built: bytes | memoryview
        if self._compression is CompressionType.NONE:
            TAIL.pack_into(buf, _CRC_START, *tail_fields)
            view = memoryview(buf)
            crc: int = crc32c.crc32c(view[_CRC_START:pos])
            HEAD.pack_into(buf, 0, 0, pos - LOG_OVERHEAD_BYTES, -1, MAGIC, crc)
            built = view[:pos]
        else:
            payload = self._payload
            if payload is None:
                records = buf[HEADER_SIZE_BYTES:pos]
                payload = compress(self._compression, records, self._compression_level)
                self._payload = payload
            tail = TAIL.pack(*tail_fields)
            crc = crc32c.crc32c(payload, crc32c.crc32c(tail))
            batch_length = HEADER_SIZE_BYTES - LOG_OVERHEAD_BYTES + len(payload)
            head = HEAD.pack(0, batch_length, -1, MAGIC, crc)
            built = b"".join((head, tail, payload))
        self._built = built
        self._built_ids = ids
        return built

    @property
    def size_bytes(self) -> int:
        """Size of the built batch on the wire (after compression); 0 before build."""
        return len(self._built) if self._built is not None else 0
