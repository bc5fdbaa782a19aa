"""Framing: golden bytes from Confluent's format, round trips, and every way a frame breaks."""

from __future__ import annotations

import io

import pytest
from confluent_kafka.schema_registry.common.serde import SchemaId
from hypothesis import given
from hypothesis import strategies as st

from serdes.errors import FramingError, InvalidMagicByteError, TruncatedFrameError
from serdes.wire import (
    decode_header,
    decode_message_indexes,
    decode_zigzag_varint,
    encode_header,
    encode_message_indexes,
    encode_zigzag_varint,
)


@pytest.mark.parametrize(
    ("schema_id", "expected"),
    [
        (0, "0000000000"),
        (1, "0000000001"),
        (7, "0000000007"),
        (0x01020304, "0001020304"),
        (0xFFFFFFFF, "00ffffffff"),
    ],
)
def test_header_golden_bytes(schema_id: int, expected: str) -> None:
    assert encode_header(schema_id).hex() == expected
    assert decode_header(bytes.fromhex(expected) + b"payload") == schema_id


@pytest.mark.parametrize("schema_id", [-1, 1 << 32])
def test_header_rejects_ids_outside_u32(schema_id: int) -> None:
    with pytest.raises(FramingError, match="4 unsigned bytes"):
        encode_header(schema_id)


@pytest.mark.parametrize(
    ("indexes", "expected"),
    [
        ([0], "00"),
        ([1], "0202"),
        ([2], "0204"),
        ([0, 1], "040002"),
        ([64], "028001"),
        ([3, 0, 5], "0606000a"),
    ],
)
def test_message_index_golden_bytes(indexes: list[int], expected: str) -> None:
    assert encode_message_indexes(indexes).hex() == expected
    decoded, offset = decode_message_indexes(bytes.fromhex(expected) + b"\xff", 0)
    assert list(decoded) == indexes
    assert offset == len(expected) // 2


def test_full_protobuf_frame_example() -> None:
    # id 7, second top-level message, payload P: 00 00000007 02 02 P
    frame = encode_header(7) + encode_message_indexes([1]) + b"P"
    assert frame.hex() == "0000000007" + "0202" + b"P".hex()
    assert decode_header(frame) == 7
    indexes, offset = decode_message_indexes(frame)
    assert indexes == (1,)
    assert frame[offset:] == b"P"


@given(st.lists(st.integers(min_value=0, max_value=(1 << 31) - 1), min_size=1, max_size=20))
def test_message_indexes_match_confluent_kafka_encoder(indexes: list[int]) -> None:
    ours = encode_message_indexes(indexes)
    theirs = io.BytesIO()
    SchemaId._encode_varints(theirs, indexes, zigzag=True)
    assert ours == theirs.getvalue()
    # and confluent-kafka's reader reads ours
    assert SchemaId._read_index_array(io.BytesIO(ours), zigzag=True) == indexes
    assert list(decode_message_indexes(ours, 0)[0]) == indexes


@given(st.integers(min_value=-(1 << 63), max_value=(1 << 63) - 1))
def test_zigzag_round_trip(value: int) -> None:
    data = encode_zigzag_varint(value)
    assert decode_zigzag_varint(b"x" + data, 1) == (value, len(data) + 1)


@pytest.mark.parametrize(("value", "expected"), [(0, "00"), (-1, "01"), (1, "02"), (-64, "7f")])
def test_zigzag_golden(value: int, expected: str) -> None:
    assert encode_zigzag_varint(value).hex() == expected


def test_wrong_magic_byte_is_named() -> None:
    with pytest.raises(InvalidMagicByteError, match="invalid magic byte 1"):
        decode_header(b"\x01\x00\x00\x00\x01abc")
    # a plain JSON payload, the classic mistake
    with pytest.raises(InvalidMagicByteError, match="magic byte 123"):
        decode_header(b'{"a": 1}')


@pytest.mark.parametrize("size", [0, 1, 4])
def test_short_buffer(size: int) -> None:
    with pytest.raises(TruncatedFrameError, match=f"frame is {size} bytes"):
        decode_header(encode_header(1)[:size])


def test_header_only_frame_is_valid_framing() -> None:
    # an Avro record with no fields encodes to zero bytes: a 5-byte frame is legal framing
    assert decode_header(encode_header(9)) == 9


def test_every_truncation_of_an_index_array_fails_cleanly() -> None:
    data = encode_header(5) + encode_message_indexes([300, 2, 70000])
    for cut in range(5, len(data)):
        with pytest.raises(TruncatedFrameError):
            decode_message_indexes(data[:cut])
    assert decode_message_indexes(data) == ((300, 2, 70000), len(data))


def test_index_count_out_of_range() -> None:
    too_many = encode_zigzag_varint(100_001)
    with pytest.raises(FramingError, match="message-index count 100001"):
        decode_message_indexes(too_many, 0)
    with pytest.raises(FramingError, match="message-index count -1"):
        decode_message_indexes(encode_zigzag_varint(-1), 0)


def test_negative_index_rejected() -> None:
    with pytest.raises(FramingError, match="negative"):
        decode_message_indexes(encode_zigzag_varint(1) + encode_zigzag_varint(-3), 0)
    with pytest.raises(FramingError, match="negative"):
        encode_message_indexes([-1])
    with pytest.raises(FramingError, match="at least one"):
        encode_message_indexes([])


def test_overlong_varint_rejected() -> None:
    with pytest.raises(FramingError, match="longer than 10 bytes"):
        decode_zigzag_varint(b"\xff" * 11, 0)


def test_accepts_memoryview_and_bytearray() -> None:
    frame = encode_header(42) + encode_message_indexes([1, 2])
    for view in (memoryview(frame), bytearray(frame)):
        assert decode_header(view) == 42
        assert decode_message_indexes(view) == ((1, 2), len(frame))
