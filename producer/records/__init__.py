"""Record batches, magic v2: building them on the hot path, reading them back.

- :mod:`~producer.records.builder`: :class:`RecordBatchBuilder` (Kafka's
  ``MemoryRecordsBuilder``), one per open batch in the accumulator.
- :mod:`~producer.records.batch`: the byte layout and :func:`decode_record_batches`
  (Kafka's ``DefaultRecordBatch``), used by tests, the fake broker and anything that
  must check what was written.
- :mod:`~producer.records.compression`: the four codecs with Kafka's framing.
- :mod:`~producer.records.varint`: table-driven zig-zag varints.

Pure functions over bytes: nothing here does I/O, and nothing imports
``producer.protocol`` (a Produce request carries a batch as an opaque ``records``
field).
"""

from producer.records.batch import (
    HEADER_SIZE_BYTES,
    Record,
    RecordBatch,
    TimestampType,
    decode_record_batches,
)
from producer.records.builder import Headers, RecordBatchBuilder, record_size_upper_bound_bytes
from producer.records.compression import CompressionType

__all__ = [
    "HEADER_SIZE_BYTES",
    "CompressionType",
    "Headers",
    "Record",
    "RecordBatch",
    "RecordBatchBuilder",
    "TimestampType",
    "decode_record_batches",
    "record_size_upper_bound_bytes",
]
