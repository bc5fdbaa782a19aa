"""Record batch v2: builder and reader round trips, golden bytes, hostile input.

Independent judges where they exist: aiokafka's Cython ``DefaultRecordBatchBuilder``
must produce the same bytes for uncompressed batches (and for the deterministic
codecs), aiokafka's reader must accept regcast's batches with a valid CRC for every
codec, and regcast's reader must accept aiokafka's. The broker-side judge
(confluent-kafka's consumer) lives in tests/integration/producer/test_produce_codecs.py.
"""

from __future__ import annotations

import contextlib
import struct
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import cramjam
import crc32c
import pytest
from aiokafka.record.default_records import DefaultRecordBatch as AioBatch
from aiokafka.record.default_records import DefaultRecordBatchBuilder as AioBuilder
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from producer.errors import ConfigError, CorruptRecordError, ProtocolError
from producer.records import (
    HEADER_SIZE_BYTES,
    CompressionType,
    Record,
    RecordBatchBuilder,
    TimestampType,
    decode_record_batches,
    record_size_upper_bound_bytes,
)
from producer.records import builder as builder_module
from producer.records.batch import ATTRIBUTES_OFFSET

CODECS = list(CompressionType)
codec_ids = pytest.mark.parametrize("codec", CODECS, ids=lambda c: c.name.lower())

Row = tuple[int, bytes | None, bytes | None, list[tuple[str, bytes | None]]]

BASE_MS = 1_700_000_000_000

maybe_bytes = st.none() | st.binary(max_size=300)
headers_st = st.lists(st.tuples(st.text(max_size=20), maybe_bytes), max_size=4)
rows_st = st.lists(
    st.tuples(
        st.integers(BASE_MS - 10**9, BASE_MS + 10**9) | st.integers(BASE_MS - 100, BASE_MS + 100),
        maybe_bytes,
        maybe_bytes,
        headers_st,
    ),
    min_size=1,
    max_size=60,
)
ROUND_TRIP = settings(max_examples=60, deadline=None)


def build(rows: Sequence[Row], codec: CompressionType = CompressionType.NONE, **ids: Any) -> bytes:
    builder = RecordBatchBuilder(codec, 1 << 30, rows[0][0])
    for i, (timestamp_ms, key, value, headers) in enumerate(rows):
        assert builder.try_append(timestamp_ms, key, value, headers) == i
    return builder.build(**ids)


def as_rows(data: bytes) -> list[Row]:
    rows: list[Row] = []
    for batch in decode_record_batches(data):
        rows.extend((batch.timestamp_of(r), r.key, r.value, r.headers) for r in batch.records)
    return rows


def restamp_header(batch: bytes, offset: int, fmt: str, value: int) -> bytes:
    """``batch`` with one header field changed and its CRC made valid again."""
    out = bytearray(batch)
    struct.pack_into(fmt, out, offset, value)
    struct.pack_into(">I", out, 17, crc32c.crc32c(bytes(out[ATTRIBUTES_OFFSET:])))
    return bytes(out)


# ------------------------------------------------------------------- round trips


@codec_ids
@ROUND_TRIP
@given(rows=rows_st)
def test_round_trip_every_codec(codec: CompressionType, rows: list[Row]) -> None:
    data = build(rows, codec)
    [batch] = decode_record_batches(data)
    assert batch.compression is codec
    assert batch.magic == 2
    assert batch.timestamp_type is TimestampType.CREATE_TIME
    assert batch.base_timestamp == rows[0][0]
    assert batch.max_timestamp == max(r[0] for r in rows)
    assert batch.last_offset_delta == len(rows) - 1
    assert [r.offset_delta for r in batch.records] == list(range(len(rows)))
    assert (batch.producer_id, batch.producer_epoch, batch.base_sequence) == (-1, -1, -1)
    assert batch.size_bytes == len(data)
    assert as_rows(data) == rows


@codec_ids
def test_many_records_and_large_values(codec: CompressionType) -> None:
    rows: list[Row] = [(BASE_MS + i, str(i).encode(), b"v" * (i % 50), []) for i in range(20_000)]
    rows.append((BASE_MS + 10**12, b"big", bytes(range(256)) * 4096, [("h" * 20_000, b"x")]))
    assert as_rows(build(rows, codec)) == rows


def test_edge_values_round_trip() -> None:
    rows: list[Row] = [
        (BASE_MS, None, None, []),
        (BASE_MS, b"", b"", [("", b""), ("", None)]),
        (BASE_MS - 2**40, None, b"", [("ключ-\U0001f600", None)]),
        (2**63 - 1, b"\x00", b"\xff", [("a", b"1"), ("a", b"2")]),
    ]
    assert as_rows(build(rows, CompressionType.ZSTD)) == rows


def test_concatenated_batches_decode_in_order() -> None:
    first = build([(BASE_MS, None, b"a", [])], CompressionType.GZIP)
    second = build([(BASE_MS + 1, b"k", b"b", [])], CompressionType.LZ4)
    assert as_rows(first + second) == [(BASE_MS, None, b"a", []), (BASE_MS + 1, b"k", b"b", [])]
    assert decode_record_batches(b"") == []


# ----------------------------------------------------------- golden bytes and peers

GOLDEN = bytes.fromhex(
    "00000000000000000000004effffffff02b0d98bbe0000000000010000018bcfe568000000018b"
    "cfe56807ffffffffffffffffffffffffffff0000000224000000066b65790a76616c756502026802"
    "3112000e02010002026e01"
)
GOLDEN_ROWS: list[Row] = [
    (BASE_MS, b"key", b"value", [("h", b"1")]),
    (BASE_MS + 7, None, b"", [("n", None)]),
]


def test_golden_batch_bytes_and_crc() -> None:
    assert build(GOLDEN_ROWS) == GOLDEN
    [batch] = decode_record_batches(GOLDEN)
    assert batch.crc == 0xB0D98BBE
    assert batch.records == [
        Record(0, 0, b"key", b"value", [("h", b"1")]),
        Record(1, 7, None, b"", [("n", None)]),
    ]


def aiokafka_build(rows: Sequence[Row], codec: CompressionType) -> bytes:
    builder = AioBuilder(2, int(codec), False, -1, -1, -1, 1 << 30)
    for i, (timestamp_ms, key, value, headers) in enumerate(rows):
        assert builder.append(i, timestamp_ms, key, value, list(headers)) is not None
    return bytes(builder.build())


def test_golden_batch_matches_aiokafka() -> None:
    assert aiokafka_build(GOLDEN_ROWS, CompressionType.NONE) == GOLDEN


@pytest.mark.parametrize(
    "codec",
    [CompressionType.NONE, CompressionType.SNAPPY, CompressionType.ZSTD],
    ids=lambda c: c.name.lower(),
)
@ROUND_TRIP
@given(rows=rows_st)
def test_same_bytes_as_aiokafka(codec: CompressionType, rows: list[Row]) -> None:
    """Deterministic codecs give identical batches (gzip stamps a time, lz4 frames vary)."""
    assert build(rows, codec) == aiokafka_build(rows, codec)


@codec_ids
@ROUND_TRIP
@given(rows=rows_st)
def test_aiokafka_reads_ours_and_we_read_theirs(codec: CompressionType, rows: list[Row]) -> None:
    theirs = AioBatch(build(rows, codec))
    assert theirs.validate_crc()
    assert theirs.compression_type == int(codec)
    assert [(r.timestamp, r.key, r.value, list(r.headers)) for r in theirs] == rows
    assert as_rows(aiokafka_build(rows, codec)) == rows


# ------------------------------------------------------------------ snappy framing


def test_snappy_is_written_with_xerial_framing() -> None:
    data = build([(BASE_MS, None, b"x" * 100_000, [])], CompressionType.SNAPPY)
    payload = data[HEADER_SIZE_BYTES:]
    assert payload[:16] == b"\x82SNAPPY\x00" + struct.pack(">ii", 1, 1)
    # 32 KiB blocks: a 100 kB record section takes four of them
    pos, blocks = 16, 0
    while pos < len(payload):
        (size,) = struct.unpack_from(">i", payload, pos)
        pos += 4 + size
        blocks += 1
    assert (pos, blocks) == (len(payload), 4)


def test_raw_snappy_as_librdkafka_writes_it_is_read() -> None:
    plain = build(GOLDEN_ROWS)
    payload = bytes(cramjam.snappy.compress_raw(plain[HEADER_SIZE_BYTES:]))
    header = bytearray(plain[:HEADER_SIZE_BYTES])
    struct.pack_into(">h", header, ATTRIBUTES_OFFSET, int(CompressionType.SNAPPY))
    struct.pack_into(">i", header, 8, HEADER_SIZE_BYTES - 12 + len(payload))
    raw = bytes(header) + payload
    raw = restamp_header(raw, ATTRIBUTES_OFFSET, ">h", int(CompressionType.SNAPPY))
    assert as_rows(raw) == GOLDEN_ROWS


# -------------------------------------------------------------- builder behaviour


def test_first_record_always_fits_then_the_batch_fills() -> None:
    builder = RecordBatchBuilder(CompressionType.NONE, 200, BASE_MS)
    assert builder.try_append(BASE_MS, None, b"x" * 1000, []) == 0  # larger than the batch
    assert builder.try_append(BASE_MS + 5, None, b"y", []) == -1
    assert builder.record_count == 1
    assert builder.max_timestamp_ms == BASE_MS  # a refused record leaves no trace
    assert builder.is_full

    builder = RecordBatchBuilder(CompressionType.NONE, 200, BASE_MS)
    offsets = []
    while (offset := builder.try_append(BASE_MS, None, b"z" * 20, None)) >= 0:
        offsets.append(offset)
        assert builder.estimated_size_bytes <= 200
    assert offsets == list(range(len(offsets))) and len(offsets) > 3
    assert len(builder.build()) == builder.estimated_size_bytes


def test_estimated_size_is_the_uncompressed_size() -> None:
    builder = RecordBatchBuilder(CompressionType.GZIP, 1 << 20, BASE_MS)
    assert builder.estimated_size_bytes == HEADER_SIZE_BYTES
    for i in range(100):
        builder.try_append(BASE_MS + i, b"k", b"a" * 100, [("h", b"v")])
    uncompressed = build([(BASE_MS + i, b"k", b"a" * 100, [("h", b"v")]) for i in range(100)])
    assert builder.estimated_size_bytes == len(uncompressed)
    data = builder.build()
    assert len(data) < len(uncompressed) // 5
    assert builder.estimated_size_bytes == len(uncompressed)  # what was charged is released
    assert builder.size_bytes == len(data)


def test_closed_or_built_builder_refuses_records() -> None:
    builder = RecordBatchBuilder(CompressionType.NONE, 1 << 20, BASE_MS)
    builder.try_append(BASE_MS, None, b"a", [])
    builder.close()
    assert builder.is_closed and builder.is_full
    assert builder.try_append(BASE_MS, None, b"b", []) == -1
    built = RecordBatchBuilder(CompressionType.NONE, 1 << 20, BASE_MS)
    built.try_append(BASE_MS, None, b"a", [])
    built.build()
    assert built.try_append(BASE_MS, None, b"b", []) == -1
    assert as_rows(builder.build()) == [(BASE_MS, None, b"a", [])]


def test_timestamps_base_is_first_record_and_max_is_largest() -> None:
    builder = RecordBatchBuilder(CompressionType.NONE, 1 << 20, 0)
    for timestamp_ms in (BASE_MS + 50, BASE_MS, BASE_MS + 100_000, BASE_MS + 99):
        builder.try_append(timestamp_ms, None, None, [])
    assert (builder.base_timestamp_ms, builder.max_timestamp_ms) == (
        BASE_MS + 50,
        BASE_MS + 100_000,
    )
    [batch] = decode_record_batches(builder.build())
    assert (batch.base_timestamp, batch.max_timestamp) == (BASE_MS + 50, BASE_MS + 100_000)
    assert [r.timestamp_delta for r in batch.records] == [0, -50, 99_950, 49]


@codec_ids
def test_restamping_ids_keeps_records_and_fixes_crc(
    codec: CompressionType, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[int] = []
    real_compress = builder_module.compress

    def counting_compress(*args: Any) -> bytes:
        calls.append(1)
        return real_compress(*args)

    monkeypatch.setattr(builder_module, "compress", counting_compress)
    builder = RecordBatchBuilder(codec, 1 << 20, BASE_MS)
    for i in range(50):
        builder.try_append(BASE_MS + i, None, f"r{i}".encode(), [("i", b"1")])

    # Uncompressed, build() re-stamps the builder's buffer in place and returns a view
    # of it, so each result is copied before the next build.
    built = builder.build()
    assert builder.build() is built
    plain = bytes(built)
    built = builder.build(producer_id=42, producer_epoch=3, base_sequence=1000)
    assert builder.build(producer_id=42, producer_epoch=3, base_sequence=1000) is built
    stamped = bytes(built)
    transactional = bytes(builder.build(42, 3, 1050, is_transactional=True))
    assert len(calls) == (0 if codec is CompressionType.NONE else 1)  # compressed once

    batches = [decode_record_batches(data)[0] for data in (plain, stamped, transactional)]
    assert [(b.producer_id, b.producer_epoch, b.base_sequence) for b in batches] == [
        (-1, -1, -1),
        (42, 3, 1000),
        (42, 3, 1050),
    ]
    assert [b.is_transactional for b in batches] == [False, False, True]
    assert len({b.crc for b in batches}) == 3
    assert batches[0].records == batches[1].records == batches[2].records
    assert plain[HEADER_SIZE_BYTES:] == stamped[HEADER_SIZE_BYTES:]
    assert AioBatch(transactional).validate_crc()


@ROUND_TRIP
@given(key=maybe_bytes, value=maybe_bytes, headers=headers_st)
def test_record_size_upper_bound_holds(
    key: bytes | None, value: bytes | None, headers: list[tuple[str, bytes | None]]
) -> None:
    builder = RecordBatchBuilder(CompressionType.NONE, 1, BASE_MS)
    builder.try_append(BASE_MS + 10**12, key, value, headers)
    assert len(builder.build()) <= record_size_upper_bound_bytes(key, value, headers)


def test_compression_type_from_name() -> None:
    assert CompressionType.from_name("none") is CompressionType.NONE
    assert CompressionType.from_name("GZIP") is CompressionType.GZIP
    assert CompressionType.from_name("Snappy") is CompressionType.SNAPPY
    assert CompressionType.from_name(" lz4 ") is CompressionType.LZ4
    assert CompressionType.from_name("zstd") is CompressionType.ZSTD
    with pytest.raises(ConfigError, match=r"compression_type 'brotli'.*gzip"):
        CompressionType.from_name("brotli")


# ------------------------------------------------------------------ hostile input

FUZZ = settings(
    max_examples=300,
    deadline=timedelta(milliseconds=250),
    suppress_health_check=[HealthCheck.too_slow],
)


@codec_ids
def test_every_truncation_is_a_protocol_error(codec: CompressionType) -> None:
    data = build([(BASE_MS, b"k", b"v" * 40, [("h", b"x")]), (BASE_MS, None, None, [])], codec)
    for cut in range(len(data)):
        with pytest.raises(ProtocolError):
            decode_record_batches(data[:cut] if cut else b"\x00")


@codec_ids
def test_every_flipped_bit_in_the_crc_region_is_caught(codec: CompressionType) -> None:
    data = build(GOLDEN_ROWS, codec)
    for pos in range(17, len(data)):
        corrupt = bytearray(data)
        corrupt[pos] ^= 0x01
        with pytest.raises(CorruptRecordError):
            decode_record_batches(bytes(corrupt))


@FUZZ
@given(data=st.binary(max_size=400))
def test_random_bytes_decode_or_raise_protocol_error(data: bytes) -> None:
    with contextlib.suppress(ProtocolError):
        decode_record_batches(data)


@FUZZ
@given(body=st.binary(max_size=300), count=st.integers(-2, 50), codec=st.sampled_from(CODECS))
def test_garbage_records_behind_a_valid_crc_raise_protocol_error(
    body: bytes, count: int, codec: CompressionType
) -> None:
    """A CRC only proves the bytes arrived as sent; the records may still be nonsense."""
    header = bytearray(GOLDEN[:HEADER_SIZE_BYTES])
    struct.pack_into(">i", header, 8, HEADER_SIZE_BYTES - 12 + len(body))
    struct.pack_into(">h", header, ATTRIBUTES_OFFSET, int(codec))
    struct.pack_into(">i", header, 57, count)
    data = restamp_header(bytes(header) + body, 57, ">i", count)
    try:
        batches = decode_record_batches(data)
    except ProtocolError:
        return
    assert len(batches[0].records) == count


@pytest.mark.parametrize(
    ("offset", "fmt", "value", "message"),
    [
        (16, ">b", 1, "magic 1"),
        (ATTRIBUTES_OFFSET, ">h", 6, "unknown compression codec 6"),
        (57, ">i", 1, "after its 1 records"),
        (57, ">i", 3, "truncated inside a varint"),
        (57, ">i", 10_000, "declares 10000 records"),
    ],
)
def test_inconsistent_header_fields(offset: int, fmt: str, value: int, message: str) -> None:
    data = restamp_header(GOLDEN, offset, fmt, value)
    with pytest.raises(CorruptRecordError, match=message):
        decode_record_batches(data)


def test_crc_mismatch_message_names_both_values() -> None:
    corrupt = bytearray(GOLDEN)
    corrupt[-1] ^= 0xFF
    with pytest.raises(CorruptRecordError, match=r"CRC-32C 0x[0-9a-f]{8} does not match"):
        decode_record_batches(bytes(corrupt))
