"""Primitive types: round trips, golden bytes from the protocol guide, hostile input."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from producer.errors import ProtocolError
from producer.protocol import primitives as p
from producer.protocol.primitives import Reader

INT8 = st.integers(-(2**7), 2**7 - 1)
INT16 = st.integers(-(2**15), 2**15 - 1)
INT32 = st.integers(-(2**31), 2**31 - 1)
INT64 = st.integers(-(2**63), 2**63 - 1)
UINT32 = st.integers(0, 2**32 - 1)
UINT64 = st.integers(0, 2**64 - 1)
SHORT_TEXT = st.text(max_size=40)
SHORT_BINARY = st.binary(max_size=64)

Writer = Callable[[bytearray, Any], None]
ReadFn = Callable[[Reader], Any]

# (name, writer, reader, strategy)
CASES: list[tuple[str, Writer, ReadFn, st.SearchStrategy[Any]]] = [
    ("int8", p.write_int8, Reader.read_int8, INT8),
    ("int16", p.write_int16, Reader.read_int16, INT16),
    ("uint16", p.write_uint16, Reader.read_uint16, st.integers(0, 2**16 - 1)),
    ("int32", p.write_int32, Reader.read_int32, INT32),
    ("uint32", p.write_uint32, Reader.read_uint32, UINT32),
    ("int64", p.write_int64, Reader.read_int64, INT64),
    ("float64", p.write_float64, Reader.read_float64, st.floats(allow_nan=False)),
    ("bool", p.write_bool, Reader.read_bool, st.booleans()),
    ("uuid", p.write_uuid, Reader.read_uuid, st.uuids()),
    ("unsigned_varint", p.write_unsigned_varint, Reader.read_unsigned_varint, UINT32),
    ("unsigned_varlong", p.write_unsigned_varlong, Reader.read_unsigned_varlong, UINT64),
    ("varint", p.write_varint, Reader.read_varint, INT32),
    ("varlong", p.write_varlong, Reader.read_varlong, INT64),
    ("string", p.write_string, Reader.read_string, SHORT_TEXT),
    (
        "nullable_string",
        p.write_nullable_string,
        Reader.read_nullable_string,
        st.none() | SHORT_TEXT,
    ),
    ("compact_string", p.write_compact_string, Reader.read_compact_string, SHORT_TEXT),
    (
        "compact_nullable_string",
        p.write_compact_nullable_string,
        Reader.read_compact_nullable_string,
        st.none() | SHORT_TEXT,
    ),
    ("bytes", p.write_bytes, Reader.read_bytes, SHORT_BINARY),
    (
        "nullable_bytes",
        p.write_nullable_bytes,
        Reader.read_nullable_bytes,
        st.none() | SHORT_BINARY,
    ),
    ("compact_bytes", p.write_compact_bytes, Reader.read_compact_bytes, SHORT_BINARY),
    (
        "compact_nullable_bytes",
        p.write_compact_nullable_bytes,
        Reader.read_compact_nullable_bytes,
        st.none() | SHORT_BINARY,
    ),
]


@pytest.mark.parametrize(("name", "write", "read", "values"), CASES, ids=[c[0] for c in CASES])
@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_round_trip_and_every_prefix_is_truncated(
    name: str, write: Writer, read: ReadFn, values: st.SearchStrategy[Any], data: st.DataObject
) -> None:
    value = data.draw(values)
    out = bytearray()
    write(out, value)
    encoded = bytes(out)
    reader = Reader(encoded)
    assert read(reader) == value
    reader.expect_end(name)
    # Fed one byte at a time, no prefix decodes: each one is a clean ProtocolError.
    for cut in range(len(encoded)):
        with pytest.raises(ProtocolError):
            read(Reader(encoded[:cut]))


@given(st.lists(INT32, max_size=20), st.booleans())
def test_arrays_round_trip(values: list[int], compact: bool) -> None:
    out = bytearray()
    (p.write_compact_array_length if compact else p.write_array_length)(out, len(values))
    for v in values:
        p.write_int32(out, v)
    reader = Reader(bytes(out))
    read_length = reader.read_compact_array_length if compact else reader.read_array_length
    count = read_length(False, 4)
    assert count == len(values)
    assert [reader.read_int32() for _ in range(count)] == values
    reader.expect_end("array")


def test_null_arrays() -> None:
    out = bytearray()
    p.write_array_length(out, None)
    p.write_compact_array_length(out, None)
    assert bytes(out) == b"\xff\xff\xff\xff\x00"
    reader = Reader(bytes(out))
    assert reader.read_array_length(True) is None
    assert reader.read_compact_array_length(True) is None
    with pytest.raises(ProtocolError, match="invalid array length -1"):
        Reader(bytes(out)).read_array_length(False)


# ---------------------------------------------------------------- golden bytes


@pytest.mark.parametrize(
    ("value", "encoded"),
    [
        (0, "00"),
        (1, "01"),
        (127, "7f"),
        (128, "8001"),
        (300, "ac02"),
        (16383, "ff7f"),
        (16384, "808001"),
        (2**32 - 1, "ffffffff0f"),
    ],
)
def test_unsigned_varint_golden(value: int, encoded: str) -> None:
    out = bytearray()
    p.write_unsigned_varint(out, value)
    assert out.hex() == encoded
    assert Reader(bytes.fromhex(encoded)).read_unsigned_varint() == value


@pytest.mark.parametrize(
    ("value", "encoded"),
    [(0, "00"), (-1, "01"), (1, "02"), (-2, "03"), (63, "7e"), (-64, "7f"), (64, "8001")],
)
def test_zigzag_varint_golden(value: int, encoded: str) -> None:
    out = bytearray()
    p.write_varint(out, value)
    assert out.hex() == encoded
    assert Reader(bytes.fromhex(encoded)).read_varint() == value
    long_out = bytearray()
    p.write_varlong(long_out, value)
    assert long_out.hex() == encoded


def test_string_golden() -> None:
    out = bytearray()
    p.write_string(out, "hé")
    p.write_nullable_string(out, None)
    p.write_compact_string(out, "ab")
    p.write_compact_nullable_string(out, None)
    p.write_compact_string(out, "")
    assert out.hex() == "000368c3a9" + "ffff" + "036162" + "00" + "01"


def test_uuid_golden() -> None:
    value = uuid.UUID("00112233-4455-6677-8899-aabbccddeeff")
    out = bytearray()
    p.write_uuid(out, value)
    assert out.hex() == "00112233445566778899aabbccddeeff"


def test_tagged_fields_golden_and_skipping() -> None:
    # two tagged fields: tag 0 (2 bytes), tag 5 (1 byte), then an int8 after the section
    raw = bytes.fromhex("02" + "00" + "02" + "abcd" + "05" + "01" + "ee" + "07")
    reader = Reader(raw)
    fields = reader.read_tagged_fields()
    assert [(tag, sub.read_raw(sub.remaining)) for tag, sub in fields] == [
        (0, b"\xab\xcd"),
        (5, b"\xee"),
    ]
    assert reader.read_int8() == 7


@given(st.dictionaries(UINT32, SHORT_BINARY, max_size=6))
def test_tagged_fields_round_trip_and_every_prefix_is_truncated(
    fields: dict[int, bytes],
) -> None:
    """A tag section as the protocol guide lays it out: count, then tag, size and bytes
    per field, tags ascending (what the codec's encoder writes for tagged fields)."""
    out = bytearray()
    p.write_unsigned_varint(out, len(fields))
    for tag in sorted(fields):
        p.write_unsigned_varint(out, tag)
        p.write_unsigned_varint(out, len(fields[tag]))  # the size itself, not size + 1
        out += fields[tag]
    encoded = bytes(out)
    reader = Reader(encoded)
    got = [(tag, sub.read_raw(sub.remaining)) for tag, sub in reader.read_tagged_fields()]
    reader.expect_end("tag section")
    assert got == sorted(fields.items())
    for cut in range(len(encoded)):
        with pytest.raises(ProtocolError):
            Reader(encoded[:cut]).read_tagged_fields()


# ---------------------------------------------------------------- hostile input


def test_varint_longer_than_five_bytes() -> None:
    with pytest.raises(ProtocolError, match="longer than 5 bytes"):
        Reader(b"\x80\x80\x80\x80\x80\x01").read_unsigned_varint()


def test_varint_above_32_bits() -> None:
    with pytest.raises(ProtocolError, match="exceeds 32 bits"):
        Reader(b"\xff\xff\xff\xff\x1f").read_unsigned_varint()


def test_varlong_longer_than_ten_bytes() -> None:
    with pytest.raises(ProtocolError, match="longer than 10 bytes"):
        Reader(b"\x80" * 10 + b"\x01").read_unsigned_varlong()


def test_negative_lengths() -> None:
    with pytest.raises(ProtocolError, match="invalid string length -2"):
        Reader(b"\xff\xfe").read_nullable_string()
    with pytest.raises(ProtocolError, match="invalid bytes length -7"):
        Reader(b"\xff\xff\xff\xf9").read_nullable_bytes()
    with pytest.raises(ProtocolError, match="invalid string length -1"):
        Reader(b"\xff\xff").read_string()
    with pytest.raises(ProtocolError, match="invalid compact string length -1"):
        Reader(b"\x00").read_compact_string()


def test_huge_lengths_fail_before_allocating() -> None:
    with pytest.raises(ProtocolError, match="truncated"):
        Reader(b"\x7f\xff\xff\xff" + b"x" * 10).read_bytes()
    with pytest.raises(ProtocolError, match="cannot fit"):
        Reader(b"\x7f\xff\xff\xff" + b"x" * 10).read_array_length(False, 4)
    with pytest.raises(ProtocolError, match="cannot fit"):
        Reader(b"\xff\xff\xff\xff\x0f").read_compact_array_length(False)
    with pytest.raises(ProtocolError, match="cannot fit"):
        Reader(b"\xff\xff\xff\xff\x0f").read_tagged_fields()


def test_invalid_utf8() -> None:
    with pytest.raises(ProtocolError, match="UTF-8"):
        Reader(b"\x00\x02\xc3\x28").read_string()


def test_tags_must_ascend() -> None:
    with pytest.raises(ProtocolError, match="must ascend"):
        Reader(bytes.fromhex("02" + "05" + "00" + "01" + "00")).read_tagged_fields()


def test_tagged_field_size_beyond_the_end() -> None:
    with pytest.raises(ProtocolError, match="truncated tagged field 0"):
        Reader(bytes.fromhex("01" + "00" + "09" + "abcd")).read_tagged_fields()


def test_trailing_bytes() -> None:
    reader = Reader(b"\x00\x01\x02")
    reader.read_int16()
    with pytest.raises(ProtocolError, match="1 unexpected trailing bytes"):
        reader.expect_end("test")


# ---------------------------------------------------------------- writer validation


@pytest.mark.parametrize(
    ("write", "value", "error"),
    [
        (p.write_unsigned_varint, -1, ValueError),
        (p.write_unsigned_varint, 2**32, ValueError),
        (p.write_varint, 2**31, ValueError),
        (p.write_varlong, -(2**63) - 1, ValueError),
        (p.write_string, "x" * 40_000, ValueError),
        (p.write_string, b"bytes", TypeError),
        (p.write_bytes, "text", TypeError),
        (p.write_bool, 1, TypeError),
        (p.write_uuid, "00112233-4455-6677-8899-aabbccddeeff", TypeError),
    ],
)
def test_writers_reject_values_the_type_cannot_hold(
    write: Writer, value: Any, error: type[Exception]
) -> None:
    with pytest.raises(error):
        write(bytearray(), value)
