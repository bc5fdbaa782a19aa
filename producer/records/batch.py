"""Record batch magic v2: the layout, and the reader (Kafka's ``DefaultRecordBatch``).

Layout of one batch (big-endian; offsets in bytes)::

     0  base_offset             int64   0 from a producer; the broker assigns offsets
     8  batch_length            int32   bytes after this field
    12  partition_leader_epoch  int32   -1 from a producer
    16  magic                   int8    2
    17  crc                     uint32  CRC-32C of bytes 21..end
    21  attributes              int16   bits 0-2 codec, 3 timestamp type,
                                        4 transactional, 5 control
    23  last_offset_delta       int32
    27  base_timestamp          int64   the first record's timestamp
    35  max_timestamp           int64
    43  producer_id             int64   -1 without idempotence
    51  producer_epoch          int16
    53  base_sequence           int32
    57  records_count           int32
    61  records ...                     compressed as one block when a codec is set

and of one record (varints are zig-zag, see :mod:`producer.records.varint`)::

    length varint | attributes int8 (0) | timestamp_delta varlong | offset_delta varint
    key_length varint (-1 = null) | key | value_length varint (-1 = null) | value
    header_count varint | per header: key_length varint | key (UTF-8)
                                      value_length varint (-1 = null) | value

The CRC sits *before* the fields it covers, so producer id, epoch and sequence can be
re-stamped on a finished batch by rewriting the header and recomputing one CRC over
the (already compressed) payload; see ``RecordBatchBuilder.build``.

The reader trusts nothing: every length is checked against the bytes that remain, the
CRC is verified before the payload is decompressed, and any inconsistency raises
:class:`~producer.errors.CorruptRecordError` (a :class:`~producer.errors.ProtocolError`).
"""

from __future__ import annotations

import enum
import struct
from dataclasses import dataclass

import crc32c

from producer.errors import CorruptRecordError
from producer.records.compression import CompressionType, decompress
from producer.records.varint import decode_varint

__all__ = [
    "ATTRIBUTES_OFFSET",
    "CONTROL_FLAG",
    "HEADER_SIZE_BYTES",
    "LOG_OVERHEAD_BYTES",
    "MAGIC",
    "TRANSACTIONAL_FLAG",
    "Record",
    "RecordBatch",
    "TimestampType",
    "decode_record_batches",
]

MAGIC = 2
HEADER_SIZE_BYTES = 61
"""Bytes before the first record."""
LOG_OVERHEAD_BYTES = 12
"""``base_offset`` and ``batch_length``: the bytes ``batch_length`` does not count."""
ATTRIBUTES_OFFSET = 21
"""Where the CRC-covered part of a batch starts."""

COMPRESSION_MASK = 0x07
TIMESTAMP_TYPE_FLAG = 0x08
TRANSACTIONAL_FLAG = 0x10
CONTROL_FLAG = 0x20

HEAD = struct.Struct(">qiibI")
"""base_offset, batch_length, partition_leader_epoch, magic, crc: bytes 0..20."""
TAIL = struct.Struct(">hiqqqhii")
"""attributes .. records_count: bytes 21..60, the start of the CRC-covered region."""
_LENGTH = struct.Struct(">qi")

_CODECS = {c.value: c for c in CompressionType}


class TimestampType(enum.IntEnum):
    """Bit 3 of the attributes: who set the records' timestamps."""

    CREATE_TIME = 0
    LOG_APPEND_TIME = 1


@dataclass(frozen=True, slots=True)
class Record:
    """One record as stored in a batch: offsets and timestamps relative to the batch."""

    offset_delta: int
    timestamp_delta: int
    key: bytes | None
    value: bytes | None
    headers: list[tuple[str, bytes | None]]


@dataclass(frozen=True, slots=True)
class RecordBatch:
    """A decoded, CRC-verified batch with its records decompressed."""

    base_offset: int
    partition_leader_epoch: int
    magic: int
    crc: int
    attributes: int
    compression: CompressionType
    timestamp_type: TimestampType
    is_transactional: bool
    is_control: bool
    last_offset_delta: int
    base_timestamp: int
    max_timestamp: int
    producer_id: int
    producer_epoch: int
    base_sequence: int
    records: list[Record]
    size_bytes: int
    """The batch's size on the wire, ``batch_length + 12``."""

    @property
    def last_offset(self) -> int:
        return self.base_offset + self.last_offset_delta

    def offset_of(self, record: Record) -> int:
        return self.base_offset + record.offset_delta

    def timestamp_of(self, record: Record) -> int:
        """The record's absolute timestamp (the batch's own for LogAppendTime)."""
        if self.timestamp_type is TimestampType.LOG_APPEND_TIME:
            return self.max_timestamp
        return self.base_timestamp + record.timestamp_delta


def decode_record_batches(data: bytes | bytearray | memoryview) -> list[RecordBatch]:
    """Every batch in ``data`` (the ``records`` field of a Produce or Fetch).

    Raises :class:`~producer.errors.CorruptRecordError` on a truncated batch, a magic
    other than 2, a CRC mismatch, a payload that does not decompress, or records that
    do not fill the batch exactly.
    """
    view = memoryview(data)
    if view.format != "B" or view.ndim != 1:
        view = view.cast("B")
    end = len(view)
    pos = 0
    batches: list[RecordBatch] = []
    while pos < end:
        if end - pos < LOG_OVERHEAD_BYTES:
            raise CorruptRecordError(
                f"record batch at byte {pos} truncated: {end - pos} bytes, "
                f"{LOG_OVERHEAD_BYTES} needed for its offset and length"
            )
        base_offset, batch_length = _LENGTH.unpack_from(view, pos)
        if batch_length < HEADER_SIZE_BYTES - LOG_OVERHEAD_BYTES:
            raise CorruptRecordError(
                f"record batch at byte {pos} declares {batch_length} bytes, less than "
                f"its {HEADER_SIZE_BYTES - LOG_OVERHEAD_BYTES}-byte header"
            )
        batch_end = pos + LOG_OVERHEAD_BYTES + batch_length
        if batch_end > end:
            raise CorruptRecordError(
                f"record batch at byte {pos} truncated: declares {batch_length} bytes, "
                f"{end - pos - LOG_OVERHEAD_BYTES} present"
            )
        batches.append(_decode_batch(view, pos, batch_end, base_offset))
        pos = batch_end
    return batches


def _decode_batch(view: memoryview, pos: int, batch_end: int, base_offset: int) -> RecordBatch:
    _, _, leader_epoch, magic, crc = HEAD.unpack_from(view, pos)
    if magic != MAGIC:
        raise CorruptRecordError(
            f"record batch at offset {base_offset} has magic {magic}; only magic 2 is supported"
        )
    actual_crc = crc32c.crc32c(view[pos + ATTRIBUTES_OFFSET : batch_end])
    if actual_crc != crc:
        raise CorruptRecordError(
            f"record batch at offset {base_offset} is corrupt: CRC-32C {actual_crc:#010x} "
            f"does not match the stored {crc:#010x}"
        )
    (
        attributes,
        last_offset_delta,
        base_timestamp,
        max_timestamp,
        producer_id,
        producer_epoch,
        base_sequence,
        records_count,
    ) = TAIL.unpack_from(view, pos + ATTRIBUTES_OFFSET)
    codec = _CODECS.get(attributes & COMPRESSION_MASK)
    if codec is None:
        raise CorruptRecordError(
            f"record batch at offset {base_offset} uses unknown compression codec "
            f"{attributes & COMPRESSION_MASK}"
        )
    payload = view[pos + HEADER_SIZE_BYTES : batch_end]
    body = bytes(payload) if codec is CompressionType.NONE else decompress(codec, payload)
    if records_count < 0 or records_count > len(body):
        raise CorruptRecordError(
            f"record batch at offset {base_offset} declares {records_count} records "
            f"in {len(body)} bytes"
        )
    return RecordBatch(
        base_offset=base_offset,
        partition_leader_epoch=leader_epoch,
        magic=magic,
        crc=crc,
        attributes=attributes,
        compression=codec,
        timestamp_type=TimestampType((attributes & TIMESTAMP_TYPE_FLAG) >> 3),
        is_transactional=bool(attributes & TRANSACTIONAL_FLAG),
        is_control=bool(attributes & CONTROL_FLAG),
        last_offset_delta=last_offset_delta,
        base_timestamp=base_timestamp,
        max_timestamp=max_timestamp,
        producer_id=producer_id,
        producer_epoch=producer_epoch,
        base_sequence=base_sequence,
        records=_decode_records(body, records_count, base_offset),
        size_bytes=batch_end - pos,
    )


def _decode_records(body: bytes, count: int, base_offset: int) -> list[Record]:
    records: list[Record] = []
    append = records.append
    end = len(body)
    pos = 0
    for _ in range(count):
        length, pos = decode_varint(body, pos, end)
        record_end = pos + length
        if length < 1 or record_end > end:
            raise CorruptRecordError(
                f"record in batch at offset {base_offset} declares {length} bytes, "
                f"{end - pos} remain"
            )
        pos += 1  # attributes: unused in v2
        timestamp_delta, pos = decode_varint(body, pos, record_end)
        offset_delta, pos = decode_varint(body, pos, record_end)
        key, pos = _read_bytes(body, pos, record_end, base_offset)
        value, pos = _read_bytes(body, pos, record_end, base_offset)
        header_count, pos = decode_varint(body, pos, record_end)
        if header_count < 0 or header_count > record_end - pos:
            raise CorruptRecordError(
                f"record in batch at offset {base_offset} declares {header_count} headers"
            )
        headers: list[tuple[str, bytes | None]] = []
        for _ in range(header_count):
            raw_key, pos = _read_bytes(body, pos, record_end, base_offset)
            if raw_key is None:
                raise CorruptRecordError(
                    f"record in batch at offset {base_offset} has a null header key"
                )
            try:
                header_key = raw_key.decode()
            except UnicodeDecodeError:
                raise CorruptRecordError(
                    f"record in batch at offset {base_offset} has a header key that is not UTF-8"
                ) from None
            header_value, pos = _read_bytes(body, pos, record_end, base_offset)
            headers.append((header_key, header_value))
        if pos != record_end:
            raise CorruptRecordError(
                f"record in batch at offset {base_offset} declares {length} bytes but its "
                f"fields take {length - (record_end - pos)}"
            )
        append(Record(offset_delta, timestamp_delta, key, value, headers))
    if pos != end:
        raise CorruptRecordError(
            f"batch at offset {base_offset} has {end - pos} bytes after its {count} records"
        )
    return records


def _read_bytes(body: bytes, pos: int, end: int, base_offset: int) -> tuple[bytes | None, int]:
    length, pos = decode_varint(body, pos, end)
    if length == -1:
        return None, pos
    if length < -1 or pos + length > end:
        raise CorruptRecordError(
            f"record in batch at offset {base_offset} declares a {length}-byte field, "
            f"{end - pos} bytes remain"
        )
    return body[pos : pos + length], pos + length
