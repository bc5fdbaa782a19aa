"""Kafka's primitive wire types: a bounds-checked :class:`Reader` and ``write_*`` functions.

Theory of operation
-------------------
Encoding appends to a caller-owned ``bytearray`` (one buffer per request, no per-field
``bytes`` objects joined later). Decoding walks a :class:`Reader` over an immutable
``bytes`` payload with an explicit position and end; every read checks the bytes it needs
against the end first and raises :class:`~producer.errors.ProtocolError` when they are
missing, so a truncated or hostile payload can never surface as ``IndexError`` or
``struct.error``. Lengths read from the wire (strings, bytes, arrays, tagged fields) are
checked against the bytes that remain before anything is allocated: a 2 GiB length in a
40-byte frame fails at once instead of exhausting memory.

Encodings (Kafka protocol guide, "Protocol Primitive Types"):

- fixed-width big-endian ``int8/16/32/64``, ``uint16``, ``uint32``, ``float64``, ``bool``;
- ``unsigned varint`` (LEB128, at most 5 bytes for 32 bits) and the zig-zag ``varint``
  / ``varlong`` used inside record batches;
- ``string``/``bytes`` with an int16/int32 length (-1 for null) and their *compact*
  forms of flexible versions, with an unsigned varint of ``length + 1`` (0 for null);
- arrays with an int32 count (-1 for null) or a compact ``count + 1``;
- ``uuid`` as 16 raw bytes;
- the tagged-field section of flexible versions: a count, then ``tag``, ``size`` and
  ``size`` bytes per field, tags ascending.
"""

from __future__ import annotations

import struct
import uuid

from producer.errors import ProtocolError

__all__ = [
    "ZERO_UUID",
    "Reader",
    "write_array_length",
    "write_bool",
    "write_bytes",
    "write_compact_array_length",
    "write_compact_bytes",
    "write_compact_nullable_bytes",
    "write_compact_nullable_string",
    "write_compact_string",
    "write_float64",
    "write_int8",
    "write_int16",
    "write_int32",
    "write_int64",
    "write_nullable_bytes",
    "write_nullable_string",
    "write_string",
    "write_uint16",
    "write_uint32",
    "write_unsigned_varint",
    "write_unsigned_varlong",
    "write_uuid",
    "write_varint",
    "write_varlong",
    "zigzag_decode",
    "zigzag_encode",
]

ZERO_UUID = uuid.UUID(int=0)

_INT8 = struct.Struct(">b")
_INT16 = struct.Struct(">h")
_UINT16 = struct.Struct(">H")
_INT32 = struct.Struct(">i")
_UINT32 = struct.Struct(">I")
_INT64 = struct.Struct(">q")
_FLOAT64 = struct.Struct(">d")

_INT16_MAX = 0x7FFF
_INT32_MAX = 0x7FFFFFFF
_UINT32_MAX = 0xFFFFFFFF
_UINT64_MAX = 0xFFFFFFFFFFFFFFFF


# ---------------------------------------------------------------------- writers


def write_int8(out: bytearray, value: int) -> None:
    out += _INT8.pack(value)


def write_int16(out: bytearray, value: int) -> None:
    out += _INT16.pack(value)


def write_uint16(out: bytearray, value: int) -> None:
    out += _UINT16.pack(value)


def write_int32(out: bytearray, value: int) -> None:
    out += _INT32.pack(value)


def write_uint32(out: bytearray, value: int) -> None:
    out += _UINT32.pack(value)


def write_int64(out: bytearray, value: int) -> None:
    out += _INT64.pack(value)


def write_float64(out: bytearray, value: float) -> None:
    out += _FLOAT64.pack(value)


def write_bool(out: bytearray, value: bool) -> None:
    if not isinstance(value, bool):
        raise TypeError(f"bool expected, got {type(value).__name__}")
    out.append(1 if value else 0)


def write_unsigned_varint(out: bytearray, value: int) -> None:
    """LEB128 of a value in [0, 2**32); 1 byte below 128, at most 5."""
    if value < 0x80:
        if value < 0:
            raise ValueError(f"unsigned varint must be >= 0, got {value}")
        out.append(value)
        return
    if value > _UINT32_MAX:
        raise ValueError(f"unsigned varint must be < 2**32, got {value}")
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)


def write_unsigned_varlong(out: bytearray, value: int) -> None:
    """LEB128 of a value in [0, 2**64); at most 10 bytes."""
    if not 0 <= value <= _UINT64_MAX:
        raise ValueError(f"unsigned varlong must be in [0, 2**64), got {value}")
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)


def zigzag_encode(value: int, bits: int) -> int:
    """Map signed to unsigned so small magnitudes stay small: 0, -1, 1, -2 -> 0, 1, 2, 3."""
    return (value << 1) ^ (value >> (bits - 1))


def zigzag_decode(value: int) -> int:
    return (value >> 1) ^ -(value & 1)


def write_varint(out: bytearray, value: int) -> None:
    """Zig-zag varint of a signed 32-bit value (record lengths, deltas)."""
    if not -0x80000000 <= value <= _INT32_MAX:
        raise ValueError(f"varint must fit in 32 bits, got {value}")
    write_unsigned_varint(out, zigzag_encode(value, 32))


def write_varlong(out: bytearray, value: int) -> None:
    """Zig-zag varlong of a signed 64-bit value (record timestamp deltas)."""
    if not -0x8000000000000000 <= value <= 0x7FFFFFFFFFFFFFFF:
        raise ValueError(f"varlong must fit in 64 bits, got {value}")
    write_unsigned_varlong(out, zigzag_encode(value, 64))


def _utf8(value: str) -> bytes:
    if not isinstance(value, str):
        raise TypeError(f"str expected, got {type(value).__name__}")
    return value.encode("utf-8")


def write_string(out: bytearray, value: str) -> None:
    data = _utf8(value)
    if len(data) > _INT16_MAX:
        raise ValueError(f"string of {len(data)} bytes exceeds the int16 length limit")
    out += _INT16.pack(len(data))
    out += data


def write_nullable_string(out: bytearray, value: str | None) -> None:
    if value is None:
        out += b"\xff\xff"
    else:
        write_string(out, value)


def write_compact_string(out: bytearray, value: str) -> None:
    data = _utf8(value)
    if len(data) > _INT16_MAX:
        raise ValueError(f"string of {len(data)} bytes exceeds the int16 length limit")
    write_unsigned_varint(out, len(data) + 1)
    out += data


def write_compact_nullable_string(out: bytearray, value: str | None) -> None:
    if value is None:
        out.append(0)
    else:
        write_compact_string(out, value)


def _check_bytes(value: bytes | bytearray | memoryview) -> None:
    if not isinstance(value, bytes | bytearray | memoryview):
        raise TypeError(f"bytes expected, got {type(value).__name__}")


def write_bytes(out: bytearray, value: bytes | bytearray | memoryview) -> None:
    _check_bytes(value)
    out += _INT32.pack(len(value))
    out += value


def write_nullable_bytes(out: bytearray, value: bytes | bytearray | memoryview | None) -> None:
    if value is None:
        out += b"\xff\xff\xff\xff"
    else:
        write_bytes(out, value)


def write_compact_bytes(out: bytearray, value: bytes | bytearray | memoryview) -> None:
    _check_bytes(value)
    write_unsigned_varint(out, len(value) + 1)
    out += value


def write_compact_nullable_bytes(
    out: bytearray, value: bytes | bytearray | memoryview | None
) -> None:
    if value is None:
        out.append(0)
    else:
        write_compact_bytes(out, value)


def write_uuid(out: bytearray, value: uuid.UUID) -> None:
    if not isinstance(value, uuid.UUID):
        raise TypeError(f"uuid.UUID expected, got {type(value).__name__}")
    out += value.bytes


def write_array_length(out: bytearray, count: int | None) -> None:
    """int32 element count; None writes -1 (a null array)."""
    out += _INT32.pack(-1 if count is None else count)


def write_compact_array_length(out: bytearray, count: int | None) -> None:
    """Unsigned varint ``count + 1``; None writes 0 (a null array)."""
    write_unsigned_varint(out, 0 if count is None else count + 1)


# ---------------------------------------------------------------------- reader


class Reader:
    """A cursor over ``data[pos:end]`` whose every read is bounds-checked.

    All failures raise :class:`ProtocolError` naming what was being read and where.
    """

    __slots__ = ("_data", "_end", "_pos")

    def __init__(self, data: bytes, pos: int = 0, end: int | None = None) -> None:
        self._data = data
        self._pos = pos
        self._end = len(data) if end is None else end

    @property
    def position(self) -> int:
        return self._pos

    @property
    def remaining(self) -> int:
        return self._end - self._pos

    def _truncated(self, what: str, needed: int) -> ProtocolError:
        return ProtocolError(
            f"truncated {what} at byte {self._pos}: needs {needed} bytes, "
            f"{self._end - self._pos} remain"
        )

    def _take(self, n: int, what: str) -> int:
        pos = self._pos
        end = pos + n
        if end > self._end:
            raise self._truncated(what, n)
        self._pos = end
        return pos

    def expect_end(self, what: str) -> None:
        """Fail if bytes are left over (a payload longer than its schema says)."""
        if self._pos != self._end:
            raise ProtocolError(
                f"{self._end - self._pos} unexpected trailing bytes after {what} "
                f"(at byte {self._pos})"
            )

    # fixed width ---------------------------------------------------------

    def read_int8(self) -> int:
        value: int = _INT8.unpack_from(self._data, self._take(1, "int8"))[0]
        return value

    def read_int16(self) -> int:
        value: int = _INT16.unpack_from(self._data, self._take(2, "int16"))[0]
        return value

    def read_uint16(self) -> int:
        value: int = _UINT16.unpack_from(self._data, self._take(2, "uint16"))[0]
        return value

    def read_int32(self) -> int:
        value: int = _INT32.unpack_from(self._data, self._take(4, "int32"))[0]
        return value

    def read_uint32(self) -> int:
        value: int = _UINT32.unpack_from(self._data, self._take(4, "uint32"))[0]
        return value

    def read_int64(self) -> int:
        value: int = _INT64.unpack_from(self._data, self._take(8, "int64"))[0]
        return value

    def read_float64(self) -> float:
        value: float = _FLOAT64.unpack_from(self._data, self._take(8, "float64"))[0]
        return value

    def read_bool(self) -> bool:
        return self._data[self._take(1, "bool")] != 0

    def read_uuid(self) -> uuid.UUID:
        pos = self._take(16, "uuid")
        return uuid.UUID(bytes=self._data[pos : pos + 16])

    def read_raw(self, n: int, what: str = "bytes") -> bytes:
        if n < 0:
            raise ProtocolError(f"negative length {n} for {what} at byte {self._pos}")
        pos = self._take(n, what)
        return self._data[pos : pos + n]

    # variable width ------------------------------------------------------

    def read_unsigned_varint(self) -> int:
        return self._read_unsigned("unsigned varint", 5, 32)

    def read_unsigned_varlong(self) -> int:
        return self._read_unsigned("unsigned varlong", 10, 64)

    def _read_unsigned(self, what: str, max_bytes: int, bits: int) -> int:
        """A base-128 unsigned integer of at most ``max_bytes`` bytes and ``bits`` bits."""
        data = self._data
        pos = self._pos
        end = self._end
        max_shift = 7 * (max_bytes - 1)
        value = 0
        shift = 0
        while True:
            if pos >= end:
                raise self._truncated(what, pos - self._pos + 1)
            byte = data[pos]
            pos += 1
            value |= (byte & 0x7F) << shift
            if not byte & 0x80:
                break
            shift += 7
            if shift > max_shift:
                raise ProtocolError(f"{what} longer than {max_bytes} bytes at byte {self._pos}")
        if value >> bits:
            raise ProtocolError(f"{what} {value} exceeds {bits} bits at byte {self._pos}")
        self._pos = pos
        return value

    def read_varint(self) -> int:
        return zigzag_decode(self.read_unsigned_varint())

    def read_varlong(self) -> int:
        return zigzag_decode(self.read_unsigned_varlong())

    # strings and bytes ---------------------------------------------------

    def _decode_utf8(self, raw: bytes) -> str:
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ProtocolError(f"string is not valid UTF-8 (before byte {self._pos})") from exc

    def _length(self, length: int, nullable: bool, what: str) -> int | None:
        if length < 0:
            if length == -1 and nullable:
                return None
            raise ProtocolError(f"invalid {what} length {length} before byte {self._pos}")
        return length

    def read_nullable_string(self) -> str | None:
        length = self._length(self.read_int16(), True, "string")
        return None if length is None else self._decode_utf8(self.read_raw(length, "string"))

    def read_string(self) -> str:
        length = self._length(self.read_int16(), False, "string")
        assert length is not None
        return self._decode_utf8(self.read_raw(length, "string"))

    def read_compact_nullable_string(self) -> str | None:
        length = self._length(self.read_unsigned_varint() - 1, True, "compact string")
        return None if length is None else self._decode_utf8(self.read_raw(length, "string"))

    def read_compact_string(self) -> str:
        length = self._length(self.read_unsigned_varint() - 1, False, "compact string")
        assert length is not None
        return self._decode_utf8(self.read_raw(length, "string"))

    def read_nullable_bytes(self) -> bytes | None:
        length = self._length(self.read_int32(), True, "bytes")
        return None if length is None else self.read_raw(length)

    def read_bytes(self) -> bytes:
        length = self._length(self.read_int32(), False, "bytes")
        assert length is not None
        return self.read_raw(length)

    def read_compact_nullable_bytes(self) -> bytes | None:
        length = self._length(self.read_unsigned_varint() - 1, True, "compact bytes")
        return None if length is None else self.read_raw(length)

    def read_compact_bytes(self) -> bytes:
        length = self._length(self.read_unsigned_varint() - 1, False, "compact bytes")
        assert length is not None
        return self.read_raw(length)

    # arrays --------------------------------------------------------------

    def _check_count(self, count: int, min_element_bytes: int) -> int:
        # Each element takes at least one byte on the wire in every schema regcast
        # declares; never trust a count the remaining bytes cannot hold.
        if count * max(min_element_bytes, 1) > self._end - self._pos:
            raise ProtocolError(
                f"array of {count} elements (>= {max(min_element_bytes, 1)} bytes each) "
                f"cannot fit in the {self._end - self._pos} bytes left at byte {self._pos}"
            )
        return count

    def read_array_length(self, nullable: bool, min_element_bytes: int = 1) -> int | None:
        """int32 element count, checked against the remaining bytes; None for null."""
        count = self._length(self.read_int32(), nullable, "array")
        return None if count is None else self._check_count(count, min_element_bytes)

    def read_compact_array_length(self, nullable: bool, min_element_bytes: int = 1) -> int | None:
        count = self._length(self.read_unsigned_varint() - 1, nullable, "compact array")
        return None if count is None else self._check_count(count, min_element_bytes)

    # tagged fields -------------------------------------------------------

    def read_tagged_fields(self) -> list[tuple[int, Reader]]:
        """The tagged-field section: (tag, sub-reader over its value) per field.

        Tags must strictly ascend (Kafka writes them sorted and rejects duplicates).
        Callers decode the tags they know from the sub-reader and ignore the rest.
        """
        count = self.read_unsigned_varint()
        self._check_count(count, 2)
        fields: list[tuple[int, Reader]] = []
        previous = -1
        for _ in range(count):
            tag = self.read_unsigned_varint()
            if tag <= previous:
                raise ProtocolError(
                    f"tagged field {tag} after {previous}: tags must ascend (byte {self._pos})"
                )
            previous = tag
            size = self.read_unsigned_varint()
            start = self._take(size, f"tagged field {tag}")
            fields.append((tag, Reader(self._data, start, start + size)))
        return fields

    def skip_tagged_fields(self) -> None:
        self.read_tagged_fields()
