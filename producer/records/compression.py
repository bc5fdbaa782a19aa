"""Compression codecs of record batches, each with the framing Kafka's clients expect.

Only the records section of a batch (everything after the 61-byte header) is
compressed; the codec id sits in the low three bits of the batch attributes. Every
codec runs in C (zlib, cramjam's snappy, lz4, zstandard); Python only slices buffers.

Framing, per codec (what the reference clients write and read):

- ``GZIP``: an RFC 1952 gzip member (Java's ``GZIPOutputStream``), not a bare zlib
  stream. The reader auto-detects gzip or zlib headers.
- ``SNAPPY``: Kafka's Java producer writes xerial snappy-java's *stream* framing: the
  16-byte header ``\\x82SNAPPY\\0``, int32 version 1, int32 compatible version 1, then
  blocks of ``int32 compressed length + raw snappy block``, each compressing up to
  32 KiB. librdkafka writes one raw snappy block instead and reads both; the Java
  reader falls back to raw snappy when the header is missing. regcast writes the
  xerial framing (what the Java producer writes, hence what every broker and client
  has always accepted) and reads both.
- ``LZ4``: the standard LZ4 frame format (magic v2 fixed the header-checksum bug of
  the v0/v1 era), 64 KiB independent blocks and no content size or checksum, as
  Java's ``KafkaLZ4BlockOutputStream`` writes; Java's reader cannot follow linked
  blocks, so independence is required, not a tuning choice.
- ``ZSTD``: one zstandard frame carrying its content size, so readers can size the
  output buffer at once.

Decompression failures of any kind surface as
:class:`~producer.errors.CorruptRecordError`: a batch whose CRC matched but whose
payload does not decompress is corrupt, whatever the codec library calls it.
"""

from __future__ import annotations

import enum
import struct
import threading
import zlib
from typing import TYPE_CHECKING

from producer.errors import ConfigError, CorruptRecordError

if TYPE_CHECKING:
    import zstandard

__all__ = ["CompressionType", "compress", "decompress"]

# cramjam, lz4 and zstandard are imported by the functions that use them: together
# about 2 MiB of resident memory that a producer without compression never needs.


class CompressionType(enum.IntEnum):
    """Codec ids as they appear in bits 0-2 of the batch attributes."""

    NONE = 0
    GZIP = 1
    SNAPPY = 2
    LZ4 = 3
    ZSTD = 4

    @classmethod
    def from_name(cls, name: str) -> CompressionType:
        """The codec for a ``compression.type`` value (``"none"``, ``"gzip"``, ...)."""
        try:
            return cls[name.strip().upper()]
        except (KeyError, AttributeError):
            valid = ", ".join(c.name.lower() for c in cls)
            raise ConfigError(
                f"compression_type {name!r} is not supported; use one of: {valid}"
            ) from None


# ---------------------------------------------------------------------------- snappy

_XERIAL_MAGIC = b"\x82SNAPPY\x00"
_XERIAL_HEADER = _XERIAL_MAGIC + struct.pack(">ii", 1, 1)
_XERIAL_BLOCK_BYTES = 32 * 1024
_INT32 = struct.Struct(">i")


def _snappy_compress(data: bytes | bytearray | memoryview) -> bytes:
    import cramjam

    view = memoryview(data)
    parts = [_XERIAL_HEADER]
    pack = _INT32.pack
    compress_raw = cramjam.snappy.compress_raw
    for start in range(0, len(view), _XERIAL_BLOCK_BYTES):
        block = bytes(compress_raw(view[start : start + _XERIAL_BLOCK_BYTES]))
        parts.append(pack(len(block)))
        parts.append(block)
    return b"".join(parts)


def _snappy_decompress(data: bytes | memoryview) -> bytes:
    import cramjam

    view = memoryview(data)
    decompress_raw = cramjam.snappy.decompress_raw
    if bytes(view[:8]) != _XERIAL_MAGIC:
        return bytes(decompress_raw(view))
    if len(view) < len(_XERIAL_HEADER):
        raise CorruptRecordError("snappy payload truncated inside the xerial header")
    parts: list[bytes] = []
    pos = len(_XERIAL_HEADER)
    end = len(view)
    while pos < end:
        if pos + 4 > end:
            raise CorruptRecordError("snappy payload truncated inside a block length")
        (size,) = _INT32.unpack_from(view, pos)
        pos += 4
        if size < 0 or pos + size > end:
            raise CorruptRecordError(
                f"snappy block of {size} bytes at {pos} overruns the {end}-byte payload"
            )
        parts.append(bytes(decompress_raw(view[pos : pos + size])))
        pos += size
    return b"".join(parts)


# ------------------------------------------------------------------------------ zstd

_zstd = threading.local()
"""zstandard contexts are not safe to share between threads; one pair per thread."""


def _zstd_compressor(level: int | None) -> zstandard.ZstdCompressor:
    key = 3 if level is None else level
    compressors: dict[int, zstandard.ZstdCompressor] | None = getattr(_zstd, "compressors", None)
    if compressors is None:
        compressors = _zstd.compressors = {}
    compressor = compressors.get(key)
    if compressor is None:
        import zstandard

        compressor = compressors[key] = zstandard.ZstdCompressor(level=key, write_content_size=True)
    return compressor


def _zstd_decompress(data: bytes | memoryview) -> bytes:
    # A stream decompressor grows its output with the data actually decoded, so a
    # forged content size in the frame header cannot make it allocate gigabytes.
    decompressor: zstandard.ZstdDecompressor | None = getattr(_zstd, "decompressor", None)
    if decompressor is None:
        import zstandard

        decompressor = _zstd.decompressor = zstandard.ZstdDecompressor()
    stream = decompressor.decompressobj()
    out: bytes = stream.decompress(data)
    if not stream.eof:
        raise CorruptRecordError("zstd payload truncated: the frame does not end")
    return out


# --------------------------------------------------------------------------- generic


def compress(codec: CompressionType, data: bytes | bytearray, level: int | None = None) -> bytes:
    """``data`` (a records section) compressed and framed for ``codec``.

    ``level`` is the codec's own level (``compression.gzip.level`` and friends);
    ``None`` means the codec's default, as Kafka's ``-1`` does.
    """
    if codec is CompressionType.GZIP:
        return zlib.compress(data, -1 if level is None else level, wbits=31)
    if codec is CompressionType.SNAPPY:
        return _snappy_compress(data)
    if codec is CompressionType.LZ4:
        import lz4.frame

        return lz4.frame.compress(  # type: ignore[no-any-return]
            data,
            compression_level=0 if level is None else level,
            block_size=lz4.frame.BLOCKSIZE_MAX64KB,
            block_linked=False,
            content_checksum=False,
            store_size=False,
        )
    if codec is CompressionType.ZSTD:
        # typed here: the build type-checks without zstandard's stubs (setup.py)
        framed: bytes = _zstd_compressor(level).compress(data)
        return framed
    return bytes(data)


def decompress(codec: CompressionType, data: bytes | memoryview) -> bytes:
    """The records section inside ``data``; raises ``CorruptRecordError`` if it is not."""
    try:
        if codec is CompressionType.GZIP:
            return zlib.decompress(data, wbits=47)  # 32 + 15: gzip or zlib header
        if codec is CompressionType.SNAPPY:
            return _snappy_decompress(data)
        if codec is CompressionType.LZ4:
            import lz4.frame

            return lz4.frame.decompress(data)  # type: ignore[no-any-return]
        if codec is CompressionType.ZSTD:
            return _zstd_decompress(data)
    except CorruptRecordError:
        raise
    except Exception as exc:  # every codec library has its own types (and MemoryError)
        raise CorruptRecordError(
            f"{codec.name.lower()} payload of {len(data)} bytes does not decompress: {exc}"
        ) from exc
    return bytes(data)
