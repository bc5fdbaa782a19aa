"""Confluent's wire format: framing only, no schemas, no I/O.

Theory of operation
-------------------
A registry-aware serializer does not embed its schema in each message; it prefixes the
payload with the id the registry gave that schema::

    byte 0      magic byte, always 0 (1 would mean a 16-byte GUID follows: not supported)
    bytes 1..4  schema id, unsigned 32-bit big-endian
    [Protobuf]  message-index array: which message of the .proto file the payload is
    payload     Avro binary (schemaless) or the Protobuf message bytes

The Protobuf message-index array is the path to the message inside its file: the index
among the file's top-level messages, then among that message's nested messages, and so
on (enums are not counted). It is written as zig-zag varints: the count, then each
index. The overwhelmingly common path ``[0]`` (first top-level message) is shortened to
the single byte ``0x00`` - a count of zero means ``[0]``. Examples: ``[0]`` -> ``00``,
``[1]`` -> ``02 02``, ``[0, 1]`` -> ``04 00 02``, ``[64]`` -> ``02 80 01``.

Decoding is strict: a wrong magic byte raises :class:`InvalidMagicByteError`, a buffer
that ends inside the header or the index array raises :class:`TruncatedFrameError`, an
index count over :data:`MAX_MESSAGE_INDEXES` or a negative index raises
:class:`FramingError`. An unknown schema id is the registry's business: the
deserializers turn the registry's 40403 into :class:`SchemaNotFoundError`.

Encoders are meant to run once per (serializer, subject): the serializers cache the
complete header bytes and only concatenate per record.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence

from serdes.errors import FramingError, InvalidMagicByteError, TruncatedFrameError

__all__ = [
    "HEADER_SIZE_BYTES",
    "MAGIC_BYTE",
    "MAX_MESSAGE_INDEXES",
    "MAX_SCHEMA_ID",
    "decode_header",
    "decode_message_indexes",
    "decode_zigzag_varint",
    "encode_header",
    "encode_message_indexes",
    "encode_unsigned_varint",
    "encode_zigzag_varint",
]

MAGIC_BYTE = 0
HEADER_SIZE_BYTES = 5
MAX_SCHEMA_ID = 0xFFFFFFFF
#: Same bound as confluent-kafka's reader: anything larger is garbage, not a real path.
MAX_MESSAGE_INDEXES = 100_000

_HEADER = struct.Struct(">bI")
_SCHEMA_ID = struct.Struct(">I")


def encode_header(schema_id: int) -> bytes:
    """The 5-byte prefix for ``schema_id``: magic byte 0 + 4-byte big-endian id."""
    if not 0 <= schema_id <= MAX_SCHEMA_ID:
        raise FramingError(f"schema id {schema_id} does not fit in 4 unsigned bytes")
    return _HEADER.pack(MAGIC_BYTE, schema_id)


def decode_header(data: bytes | bytearray | memoryview) -> int:
    """Return the schema id of a framed message; the payload starts at byte 5.

    Raises :class:`InvalidMagicByteError` or :class:`TruncatedFrameError`.
    """
    if len(data) < HEADER_SIZE_BYTES:
        raise TruncatedFrameError(
            f"frame is {len(data)} bytes, shorter than the 5-byte header "
            "(magic byte + schema id): not written by a schema-registry serializer"
        )
    if data[0] != MAGIC_BYTE:
        raise InvalidMagicByteError(
            f"invalid magic byte {data[0]} (expected 0): not written by a "
            "schema-registry serializer, or written with a schema GUID"
        )
    schema_id: int = _SCHEMA_ID.unpack_from(data, 1)[0]
    return schema_id


def encode_zigzag_varint(value: int) -> bytes:
    """Zig-zag then base-128 varint (Avro's ``long`` encoding), 64-bit range."""
    if not -(1 << 63) <= value < (1 << 63):
        raise FramingError(f"{value} does not fit in a 64-bit zig-zag varint")
    return encode_unsigned_varint((value << 1) ^ (value >> 63))


def encode_unsigned_varint(n: int) -> bytes:
    """Base-128 varint of ``n`` >= 0, low seven bits first (zig-zag already applied)."""
    out = bytearray()
    while n > 0x7F:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def decode_zigzag_varint(data: bytes | bytearray | memoryview, offset: int) -> tuple[int, int]:
    """Read one zig-zag varint at ``offset``; return ``(value, next_offset)``."""
    n = 0
    shift = 0
    end = len(data)
    while True:
        if offset >= end:
            raise TruncatedFrameError(
                "frame ends inside a varint of the Protobuf message-index array"
            )
        byte = data[offset]
        offset += 1
        n |= (byte & 0x7F) << shift
        if not byte & 0x80:
            break
        shift += 7
        if shift > 63:
            raise FramingError("varint in the Protobuf message-index array is longer than 10 bytes")
    return (n >> 1) ^ -(n & 1), offset


def encode_message_indexes(indexes: Sequence[int]) -> bytes:
    """Encode a Protobuf message-index path; ``[0]`` becomes the single byte ``00``."""
    if not indexes:
        raise FramingError("a message-index path has at least one element")
    if any(i < 0 for i in indexes):
        raise FramingError(f"message indexes cannot be negative: {list(indexes)}")
    if len(indexes) == 1 and indexes[0] == 0:
        return b"\x00"
    return encode_zigzag_varint(len(indexes)) + b"".join(encode_zigzag_varint(i) for i in indexes)


def decode_message_indexes(
    data: bytes | bytearray | memoryview, offset: int = HEADER_SIZE_BYTES
) -> tuple[tuple[int, ...], int]:
    """Read the message-index array at ``offset``; return ``(indexes, payload_offset)``.

    A count of 0 is the shortcut for ``(0,)``.
    """
    count, offset = decode_zigzag_varint(data, offset)
    if count == 0:
        return (0,), offset
    if not 0 < count <= MAX_MESSAGE_INDEXES:
        raise FramingError(
            f"invalid Protobuf message-index count {count} (expected 0..{MAX_MESSAGE_INDEXES})"
        )
    indexes = []
    for _ in range(count):
        index, offset = decode_zigzag_varint(data, offset)
        if index < 0:
            raise FramingError(f"negative Protobuf message index {index}")
        indexes.append(index)
    return tuple(indexes), offset
