"""Record batch encoding throughput: regcast's builder per codec, against aiokafka's.

Run: ``.venv/bin/python -m benchmarks.bench_records [--records N] [--rounds R]
[--batch-size BYTES]``; or call :func:`run` for the figures as dicts.

What is measured: ``--records`` records (16-byte keys, 100-byte and 1 KiB JSON-like
values drawn from a pool of 1,000 distinct ones, so compressors see realistic
redundancy, no headers) appended to record batches of ``--batch-size`` bytes, each
batch built (compressed, CRC-32C'd) when the next record no longer fits. That is the
producer's per-record hot path (``try_append``) plus its per-batch cost (``build``),
without serialization or I/O.

Contenders: regcast's ``RecordBatchBuilder``, and aiokafka's Cython
``DefaultRecordBatchBuilder`` (C-accelerated, the fastest Python-hosted builder
available) as the reference point.

Figures: records/s, and MB/s of uncompressed batch bytes (what the records occupy
before compression, 1 MB = 10^6 bytes); ``wire/raw`` is the compressed size over the
uncompressed one. Each figure is the best of ``--rounds`` rounds, the contenders'
rounds interleaved so background load hits all of them alike.
"""

from __future__ import annotations

import argparse
import json
import random
import time
from collections.abc import Callable, Sequence
from typing import Any

from aiokafka.record.default_records import DefaultRecordBatchBuilder as AioBuilder

from producer.records import (
    HEADER_SIZE_BYTES,
    CompressionType,
    RecordBatchBuilder,
    decode_record_batches,
)

TIMESTAMP_MS = 1_700_000_000_000
VALUE_SIZES = (100, 1024)
POOL = 1000

Encoder = Callable[[Sequence[bytes], Sequence[bytes], CompressionType, int], tuple[int, int]]


def make_values(size: int, count: int = POOL, seed: int = 7) -> list[bytes]:
    """``count`` distinct JSON-like values of exactly ``size`` bytes."""
    rng = random.Random(seed)
    words = ["order", "customer", "amount", "status", "PAID", "NEW", "eu-west", "web", "sku"]
    values = []
    for i in range(count):
        fields: dict[str, Any] = {"id": i, "ts": TIMESTAMP_MS + rng.randrange(10**6)}
        while len(json.dumps(fields)) < size:
            fields[rng.choice(words) + str(rng.randrange(100))] = rng.choice(
                [rng.randrange(10**6), rng.choice(words), round(rng.random() * 1000, 2)]
            )
        values.append(json.dumps(fields).encode()[: size - 1] + b"}")
    return values


def regcast_encode(
    keys: Sequence[bytes], values: Sequence[bytes], codec: CompressionType, batch_size: int
) -> tuple[int, int]:
    """Encode every record; returns (uncompressed bytes, wire bytes)."""
    raw = wire = 0
    builder = RecordBatchBuilder(codec, batch_size, TIMESTAMP_MS)
    for key, value in zip(keys, values, strict=True):
        if builder.try_append(TIMESTAMP_MS, key, value, None) < 0:
            wire += len(builder.build())
            raw += builder.estimated_size_bytes
            builder = RecordBatchBuilder(codec, batch_size, TIMESTAMP_MS)
            builder.try_append(TIMESTAMP_MS, key, value, None)
    wire += len(builder.build())
    raw += builder.estimated_size_bytes
    return raw, wire


def aiokafka_encode(
    keys: Sequence[bytes], values: Sequence[bytes], codec: CompressionType, batch_size: int
) -> tuple[int, int]:
    """The same work with aiokafka's Cython builder; raw bytes are not reported by it."""
    wire = 0
    codec_id = int(codec)
    builder = AioBuilder(2, codec_id, False, -1, -1, -1, batch_size)
    offset = 0
    for key, value in zip(keys, values, strict=True):
        if builder.append(offset, TIMESTAMP_MS, key, value, []) is None:
            wire += len(builder.build())
            builder = AioBuilder(2, codec_id, False, -1, -1, -1, batch_size)
            offset = 0
            builder.append(offset, TIMESTAMP_MS, key, value, [])
        offset += 1
    wire += len(builder.build())
    return 0, wire


def check_round_trip(
    keys: Sequence[bytes], values: Sequence[bytes], codec: CompressionType
) -> None:
    """Measure nothing that does not decode: one batch of the sample, read back."""
    builder = RecordBatchBuilder(codec, 1 << 30, TIMESTAMP_MS)
    for key, value in zip(keys, values, strict=True):
        builder.try_append(TIMESTAMP_MS, key, value, None)
    [batch] = decode_record_batches(builder.build())
    assert [(r.key, r.value) for r in batch.records] == list(zip(keys, values, strict=True))


CONTENDERS: dict[str, Encoder] = {
    "regcast RecordBatchBuilder": regcast_encode,
    "aiokafka DefaultRecordBatchBuilder (Cython)": aiokafka_encode,
}


def run(
    records: int = 200_000,
    rounds: int = 3,
    batch_size_bytes: int = 16_384,
    value_sizes: Sequence[int] = VALUE_SIZES,
    codecs: Sequence[CompressionType] = tuple(CompressionType),
) -> list[dict[str, Any]]:
    """One row per (value size, codec, contender): best-round throughput figures."""
    keys_pool = [f"key-{i:012d}".encode() for i in range(POOL)]
    keys = [keys_pool[i % POOL] for i in range(records)]
    rows: list[dict[str, Any]] = []
    for size in value_sizes:
        pool = make_values(size)
        values = [pool[i % POOL] for i in range(records)]
        for codec in codecs:
            check_round_trip(keys[:500], values[:500], codec)
            best = dict.fromkeys(CONTENDERS, float("inf"))
            sizes: dict[str, tuple[int, int]] = {}
            for _ in range(rounds):
                for name, encode in CONTENDERS.items():
                    start = time.perf_counter()
                    sizes[name] = encode(keys, values, codec, batch_size_bytes)
                    best[name] = min(best[name], time.perf_counter() - start)
            raw_bytes = sizes["regcast RecordBatchBuilder"][0]
            for name, elapsed in best.items():
                wire_bytes = sizes[name][1]
                rows.append(
                    {
                        "value_bytes": size,
                        "codec": codec.name.lower(),
                        "contender": name,
                        "records": records,
                        "batch_size_bytes": batch_size_bytes,
                        "seconds": elapsed,
                        "records_per_s": records / elapsed,
                        "mb_per_s": raw_bytes / elapsed / 1e6,
                        "wire_ratio": wire_bytes / raw_bytes,
                    }
                )
    return rows


def print_table(rows: list[dict[str, Any]]) -> None:
    first = rows[0]
    print(
        f"record batch encoding: {first['records']:,} records per round, "
        f"batch.size {first['batch_size_bytes']:,} bytes (best round; "
        f"MB/s of uncompressed batch bytes, header {HEADER_SIZE_BYTES} B)"
    )
    header = f"  {'value':>6} {'codec':7} {'contender':44} {'records/s':>12} {'MB/s':>9}"
    print(header + f" {'wire/raw':>9} {'vs aiokafka':>12}")
    reference: dict[tuple[int, str], float] = {
        (r["value_bytes"], r["codec"]): r["records_per_s"]
        for r in rows
        if r["contender"].startswith("aiokafka")
    }
    for r in rows:
        ratio = r["records_per_s"] / reference[(r["value_bytes"], r["codec"])]
        print(
            f"  {r['value_bytes']:>5}B {r['codec']:7} {r['contender']:44} "
            f"{r['records_per_s']:12,.0f} {r['mb_per_s']:9,.1f} {r['wire_ratio']:9.2f} "
            f"{ratio:11.2f}x"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=16_384)
    args = parser.parse_args()
    print_table(run(args.records, args.rounds, args.batch_size))


if __name__ == "__main__":
    main()
