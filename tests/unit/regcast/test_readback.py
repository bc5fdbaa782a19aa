"""Fetch v4 as regcast.readback writes and reads it: golden bytes, partial batches."""

from __future__ import annotations

import struct

import pytest

from producer.errors import ProtocolError
from producer.protocol import primitives as p
from producer.records import CompressionType, RecordBatchBuilder, decode_record_batches
from regcast.readback import (
    complete_batches_bytes,
    decode_fetch_response,
    encode_fetch_request,
)


def _batch(values: list[bytes], compression: CompressionType = CompressionType.NONE) -> bytes:
    builder = RecordBatchBuilder(compression, 1 << 20, 1_700_000_000_000)
    for value in values:
        assert builder.try_append(1_700_000_000_000, b"k", value) >= 0
    return bytes(builder.build())


def test_fetch_request_golden_bytes() -> None:
    request = encode_fetch_request(
        7, "rc", {("ab", 2): (5, 1024), ("ab", 0): (9, 64), ("c", 1): (0, 16)}, max_wait_ms=500
    )
    expected = (
        # header v1: api key 1, version 4, correlation id 7, client id "rc"
        b"\x00\x01" b"\x00\x04" b"\x00\x00\x00\x07" b"\x00\x02rc"
        # replica -1, max wait 500, min bytes 1, max bytes 0x7fffffff, isolation 0
        b"\xff\xff\xff\xff" b"\x00\x00\x01\xf4" b"\x00\x00\x00\x01" b"\x7f\xff\xff\xff" b"\x00"
        b"\x00\x00\x00\x02"  # two topics, in the order first seen
        b"\x00\x02ab" b"\x00\x00\x00\x02"
        b"\x00\x00\x00\x02" b"\x00\x00\x00\x00\x00\x00\x00\x05" b"\x00\x00\x04\x00"
        b"\x00\x00\x00\x00" b"\x00\x00\x00\x00\x00\x00\x00\x09" b"\x00\x00\x00\x40"
        b"\x00\x01c" b"\x00\x00\x00\x01"
        b"\x00\x00\x00\x01" b"\x00\x00\x00\x00\x00\x00\x00\x00" b"\x00\x00\x00\x10"
    )  # fmt: skip
    assert request == expected


def _response(correlation_id: int, parts: list[tuple[str, int, int, int, bytes | None]]) -> bytes:
    """A Fetch v4 response as a broker writes it (aborted transactions null)."""
    out = bytearray()
    p.write_int32(out, correlation_id)
    p.write_int32(out, 0)  # throttle
    topics: dict[str, list[tuple[int, int, int, bytes | None]]] = {}
    for topic, partition, error, high_watermark, records in parts:
        topics.setdefault(topic, []).append((partition, error, high_watermark, records))
    p.write_array_length(out, len(topics))
    for topic, entries in topics.items():
        p.write_string(out, topic)
        p.write_array_length(out, len(entries))
        for partition, error, high_watermark, records in entries:
            p.write_int32(out, partition)
            p.write_int16(out, error)
            p.write_int64(out, high_watermark)
            p.write_int64(out, high_watermark)  # last stable offset
            p.write_array_length(out, None)
            p.write_nullable_bytes(out, records)
    return bytes(out)


def test_fetch_response_decodes_partitions_and_record_sets() -> None:
    batch = _batch([b"one", b"two"], CompressionType.LZ4)
    payload = _response(9, [("t", 0, 0, 2, batch), ("t", 1, 1, -1, None), ("u", 3, 0, 0, b"")])
    correlation_id, parts = decode_fetch_response(payload)
    assert correlation_id == 9
    assert [(x.topic, x.partition, x.error_code, x.high_watermark) for x in parts] == [
        ("t", 0, 0, 2),
        ("t", 1, 1, -1),
        ("u", 3, 0, 0),
    ]
    (decoded,) = decode_record_batches(parts[0].records)
    assert [r.value for r in decoded.records] == [b"one", b"two"]
    assert parts[1].records == b"" and parts[2].records == b""


def test_fetch_response_with_aborted_transactions_is_skipped_over() -> None:
    out = bytearray()
    for value in (3, 0, 1):  # correlation id, throttle, one topic
        p.write_int32(out, value)
    p.write_string(out, "t")
    p.write_array_length(out, 1)
    p.write_int32(out, 0)
    p.write_int16(out, 0)
    p.write_int64(out, 10)
    p.write_int64(out, 10)
    p.write_array_length(out, 1)
    p.write_int64(out, 77)
    p.write_int64(out, 4)
    p.write_nullable_bytes(out, b"xyz")
    _, (part,) = decode_fetch_response(bytes(out))
    assert part.records == b"xyz" and part.high_watermark == 10


def test_truncated_response_is_a_protocol_error() -> None:
    payload = _response(1, [("t", 0, 0, 2, _batch([b"v"]))])
    with pytest.raises(ProtocolError):
        decode_fetch_response(payload[:-3])


def test_complete_batches_drops_a_partial_last_batch() -> None:
    first, second = _batch([b"a"]), _batch([b"b", b"c"], CompressionType.ZSTD)
    both = first + second
    assert complete_batches_bytes(both) == both
    for cut in (1, 11, 12, len(second) - 1):
        assert complete_batches_bytes(both[: len(first) + cut]) == first
    assert complete_batches_bytes(first[:11]) == b""
    assert complete_batches_bytes(b"") == b""
    # A negative length is never trusted.
    bogus = struct.pack(">qi", 0, -5) + b"\x00" * 20
    assert complete_batches_bytes(bogus) == b""
