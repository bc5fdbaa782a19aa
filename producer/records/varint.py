"""Zig-zag varints as record batches v2 use them, tuned for the per-record hot path.

Theory of operation
-------------------
Every record carries at least six varints (length, timestamp delta, offset delta, key
length, value length, header count). Encoding one in a Python loop costs about a
microsecond, so the common values come from a table instead: ``_SMALL[n]`` is the
finished encoding of ``n`` for ``-SMALL_LIMIT <= n < SMALL_LIMIT``. The table is laid out
so that Python's negative indexing does the offset arithmetic: entries ``0..LIMIT-1``
hold ``0..LIMIT-1`` and entries ``LIMIT..2*LIMIT-1`` hold ``-LIMIT..-1``, so
``_SMALL[-1]`` is the encoding of -1. Values outside the range (a 1 MiB value's length,
a timestamp delta of hours) fall back to :func:`encode_varint`.

This module duplicates a few lines of ``producer.protocol.primitives`` on purpose:
``records`` sits beside ``protocol`` and must not import it (the layers stay separable),
and the table-driven encoder is specific to this hot path.

Decoding is bounds-checked and raises :class:`~producer.errors.CorruptRecordError`
instead of ``IndexError`` on truncated input.
"""

from __future__ import annotations

from producer.errors import CorruptRecordError

__all__ = [
    "SMALL_LIMIT",
    "decode_varint",
    "encode_varint",
    "varint",
    "varint_size",
]

SMALL_LIMIT = 1 << 14
"""Values in ``[-SMALL_LIMIT, SMALL_LIMIT)`` are encoded by table lookup."""

_INT64_MIN = -(1 << 63)
_INT64_MAX = (1 << 63) - 1


def encode_varint(value: int) -> bytes:
    """Zig-zag LEB128 encoding of a signed 64-bit ``value`` (Kafka's varint/varlong)."""
    if not _INT64_MIN <= value <= _INT64_MAX:
        raise ValueError(f"varint out of the int64 range: {value}")
    z = ((value << 1) ^ (value >> 63)) & 0xFFFFFFFFFFFFFFFF
    out = bytearray()
    while z > 0x7F:
        out.append((z & 0x7F) | 0x80)
        z >>= 7
    out.append(z)
    return bytes(out)


_SMALL: list[bytes] = [encode_varint(n) for n in range(SMALL_LIMIT)] + [
    encode_varint(n) for n in range(-SMALL_LIMIT, 0)
]


def varint(value: int) -> bytes:
    """Encoding of ``value``: a table lookup for small values, computed otherwise."""
    if -SMALL_LIMIT <= value < SMALL_LIMIT:
        return _SMALL[value]
    return encode_varint(value)


def varint_size(value: int) -> int:
    """Bytes :func:`varint` would write for ``value``, without building them."""
    z = ((value << 1) ^ (value >> 63)) & 0xFFFFFFFFFFFFFFFF
    size = 1
    while z > 0x7F:
        z >>= 7
        size += 1
    return size


def decode_varint(data: bytes | memoryview, pos: int, end: int) -> tuple[int, int]:
    """Read a zig-zag varint (up to 10 bytes) at ``pos``; return ``(value, next_pos)``.

    ``end`` bounds the read (the enclosing record's end, not the buffer's), so a
    varint can never run into the next record.
    """
    z = 0
    shift = 0
    while True:
        if pos >= end:
            raise CorruptRecordError("record batch truncated inside a varint")
        b = data[pos]
        pos += 1
        z |= (b & 0x7F) << shift
        if b < 0x80:
            return (z >> 1) ^ -(z & 1), pos
        shift += 7
        if shift >= 70:
            raise CorruptRecordError("varint longer than 10 bytes in a record batch")
