"""Zig-zag varints: the lookup table agrees with the computed encoding everywhere."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from producer.errors import CorruptRecordError
from producer.records.varint import (
    SMALL_LIMIT,
    decode_varint,
    encode_varint,
    varint,
    varint_size,
)

int64 = st.integers(-(2**63), 2**63 - 1)


@given(value=int64 | st.integers(-SMALL_LIMIT - 2, SMALL_LIMIT + 2))
def test_round_trip_and_size(value: int) -> None:
    encoded = varint(value)
    assert encoded == encode_varint(value)
    assert len(encoded) == varint_size(value)
    assert decode_varint(encoded + b"\x7f", 0, len(encoded)) == (value, len(encoded))


def test_whole_table_matches_the_encoder() -> None:
    for value in range(-SMALL_LIMIT, SMALL_LIMIT):
        assert varint(value) == encode_varint(value)


@pytest.mark.parametrize(
    ("value", "encoded"),
    [(0, "00"), (-1, "01"), (1, "02"), (63, "7e"), (-64, "7f"), (64, "8001"), (300, "d804")],
)
def test_known_encodings(value: int, encoded: str) -> None:
    assert varint(value).hex() == encoded


def test_out_of_range_and_malformed() -> None:
    with pytest.raises(ValueError, match="int64"):
        encode_varint(2**63)
    with pytest.raises(CorruptRecordError, match="truncated"):
        decode_varint(b"\x80\x80", 0, 2)
    with pytest.raises(CorruptRecordError, match="longer than 10 bytes"):
        decode_varint(b"\xff" * 11, 0, 11)
