"""A partition's log as record batches, with transactions' bits and markers made visible.

Tansu's Fetch never lists aborted transactions, so a ``read_committed`` consumer there
still returns aborted records; what a transaction did has to be read off the log itself
(issue 17). :func:`read_log` fetches every batch of a partition (READ_UNCOMMITTED, with
``regcast.readback``'s Fetch v4 codec and the producer's batch decoder, CRC checked) and
:func:`summarize` turns it into a list a test can compare::

    [("data", pid, epoch, ["a", "b"]), ("COMMIT", pid, epoch), ("data", ...), ("ABORT", ...)]

A control batch's single record has the key ``version int16, type int16`` (type 0 ABORT,
1 COMMIT: Kafka's ``ControlRecordType``) and the value ``version int16,
coordinator_epoch int32``. Test code only.
"""

from __future__ import annotations

import socket
import struct
import time
from typing import Any

from producer.records.batch import RecordBatch, decode_record_batches
from regcast.readback import complete_batches_bytes, decode_fetch_response, encode_fetch_request

_CONTROL_TYPES = {0: "ABORT", 1: "COMMIT"}
_SIZE = struct.Struct(">i")


def read_log(host: str, port: int, topic: str, partition: int = 0) -> list[RecordBatch]:
    """Every batch of ``topic``-``partition`` up to its end, data and control batches."""
    batches: list[RecordBatch] = []
    offset = 0
    with socket.create_connection((host, port), timeout=10) as sock:
        for correlation_id in range(1, 1_000):
            request = encode_fetch_request(
                correlation_id,
                "transaction-log",
                {(topic, partition): (offset, 4 * 1024 * 1024)},
                max_wait_ms=100,  # with 0, Tansu answers without the partition
            )
            sock.sendall(_SIZE.pack(len(request)) + request)
            (size,) = _SIZE.unpack(_read_exact(sock, 4))
            _, answered = decode_fetch_response(_read_exact(sock, size))
            if not answered:  # Tansu may answer a Fetch with no partition at all: again
                continue
            [fetched] = answered
            assert fetched.error_code == 0, f"fetch {topic}-{partition}: {fetched.error_code}"
            whole = complete_batches_bytes(fetched.records)
            if not whole:
                return batches
            for batch in decode_record_batches(whole):
                batches.append(batch)
                offset = batch.last_offset + 1
    raise AssertionError(f"{topic}-{partition}: the log did not end after 1,000 fetches")


def control_type(batch: RecordBatch) -> str:
    """``"COMMIT"`` or ``"ABORT"`` for a control batch."""
    assert batch.is_control and len(batch.records) == 1, batch
    key = batch.records[0].key
    assert key is not None and len(key) == 4, key
    _version, kind = struct.unpack(">hh", key)
    return _CONTROL_TYPES[kind]


def summarize(batches: list[RecordBatch]) -> list[tuple[Any, ...]]:
    """One tuple per batch: markers as (type, pid, epoch), data as ("data", pid, epoch,
    values); non-transactional data batches as ("plain", values)."""
    summary: list[tuple[Any, ...]] = []
    for batch in batches:
        if batch.is_control:
            summary.append((control_type(batch), batch.producer_id, batch.producer_epoch))
            continue
        values = [r.value.decode() if r.value is not None else None for r in batch.records]
        if batch.is_transactional:
            summary.append(("data", batch.producer_id, batch.producer_epoch, values))
        else:
            summary.append(("plain", values))
    return _merge_data(summary)


def wait_for_marker(host: str, port: int, topic: str, partition: int, count: int) -> None:
    """Wait until the partition holds ``count`` control batches (markers are written by
    the coordinator after EndTxn answers, not necessarily before)."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if sum(b.is_control for b in read_log(host, port, topic, partition)) >= count:
            return
        time.sleep(0.05)
    raise AssertionError(f"{topic}-{partition}: fewer than {count} markers after 10 s")


def _merge_data(summary: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """Adjacent data batches of the same producer and epoch as one entry: how a client
    splits a transaction into batches is its own business."""
    merged: list[tuple[Any, ...]] = []
    for entry in summary:
        if merged and entry[0] == "data" and merged[-1][:3] == entry[:3]:
            merged[-1] = (*entry[:3], merged[-1][3] + entry[3])
        elif merged and entry[0] == "plain" and merged[-1][0] == "plain":
            merged[-1] = ("plain", merged[-1][1] + entry[1])
        else:
            merged.append(entry)
    return merged


def _read_exact(sock: socket.socket, n: int) -> bytes:
    data = bytearray()
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        assert chunk, "the broker closed the connection"
        data += chunk
    return bytes(data)
