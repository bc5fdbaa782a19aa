"""Record batches built by regcast, with every codec, read back by confluent-kafka.

The batches travel in Produce requests through regcast's NetworkClient to a real Tansu
broker; the judge is librdkafka's consumer with ``check.crcs`` on, never regcast's own
decoder. Covered: each codec, null and empty keys and values, unicode header keys and
null header values, explicit (also decreasing) timestamps, 10,000 records in one batch,
1 MiB values, and snappy in both framings (xerial, which regcast writes, and raw, which
librdkafka writes) so the choice in ``producer.records.compression`` rests on evidence.
"""

from __future__ import annotations

import struct
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import cramjam
import crc32c
import pytest
from confluent_kafka import Consumer, TopicPartition

from producer.errors import ProtocolError
from producer.protocol import SUPPORTED_VERSIONS, ApiKey
from producer.records import CompressionType, RecordBatchBuilder
from producer.records.batch import ATTRIBUTES_OFFSET, HEADER_SIZE_BYTES
from tests.conftest import KafkaBroker
from tests.integration.producer.test_network_tansu import (
    Consume,
    Driver,
    now_ms,
    partition_response,
    produce_request,
)
from tests.support.consume import ConsumedRecord
from tests.support.mock_cluster import MockCluster

CODECS = list(CompressionType)
CREATE_TIME = 1  # confluent_kafka.TIMESTAMP_CREATE_TIME

Row = tuple[int, bytes | None, bytes | None, list[tuple[str, bytes | None]]]


@pytest.fixture
def topic() -> str:
    return f"codec-{uuid.uuid4().hex[:8]}"


@dataclass
class Peer:
    """A real broker implementation to produce to, and how to make a topic on it."""

    name: str
    bootstrap: str
    create_topic: Callable[[str], object]


@pytest.fixture(params=["tansu", "librdkafka-mock"])
def peer(request: pytest.FixtureRequest) -> Peer:
    """Tansu, and librdkafka's mock cluster (which stores batches as they arrive)."""
    if request.param == "tansu":
        broker: KafkaBroker = request.getfixturevalue("kafka_broker")
        return Peer("tansu", broker.bootstrap, lambda name: broker.create_topic(name, partitions=1))
    cluster: MockCluster = request.getfixturevalue("kafka_cluster")
    return Peer(
        "librdkafka-mock",
        cluster.bootstrap_servers,
        lambda name: cluster.create_topic(name, partitions=1),
    )


@pytest.fixture
def driver(peer: Peer) -> Iterator[Driver]:
    d = Driver(peer.bootstrap)
    yield d
    d.close()


def build(rows: list[Row], compression: CompressionType) -> bytes:
    builder = RecordBatchBuilder(compression, 1 << 24, rows[0][0])
    for i, (timestamp_ms, key, value, headers) in enumerate(rows):
        assert builder.try_append(timestamp_ms, key, value, headers) == i
    return bytes(builder.build())


def produce_and_consume(
    peer: Peer,
    driver: Driver,
    topic: str,
    consume_all: Consume,
    batch: bytes,
    expected: int,
) -> list[ConsumedRecord]:
    peer.create_topic(topic)
    driver.topic_metadata(topic, 1)
    response = driver.call(produce_request(driver.leader(topic, 0), topic, 0, batch))
    assert partition_response(response)["error_code"] == 0
    return consume_all(peer.bootstrap, topic, expected=expected)


def as_rows(got: list[ConsumedRecord]) -> list[Row]:
    assert all(r.timestamp_type == CREATE_TIME for r in got)
    return [(r.timestamp_ms, r.key, r.value, r.headers) for r in got]


EDGE_ROWS: list[Row] = [
    (1_700_000_000_000, None, None, []),
    (1_700_000_000_005, b"", b"", []),
    (1_700_000_000_001, None, b"", [("ключ", b"v"), ("空", None)]),  # earlier than the max
    (1_699_999_999_000, b"", None, [("emoji-\U0001f600", b""), ("dup", b"1"), ("dup", b"2")]),
    (1_700_000_100_000, b"k\x00\xff", "ünïcode válue".encode(), [("h", b"\x00" * 300)]),
]


@pytest.mark.parametrize("codec", CODECS, ids=lambda c: c.name.lower())
def test_edge_records_read_back_exactly(
    peer: Peer,
    driver: Driver,
    topic: str,
    consume_all: Consume,
    codec: CompressionType,
) -> None:
    got = produce_and_consume(
        peer, driver, topic, consume_all, build(EDGE_ROWS, codec), len(EDGE_ROWS)
    )
    assert as_rows(got) == EDGE_ROWS


@pytest.mark.parametrize("codec", CODECS, ids=lambda c: c.name.lower())
def test_ten_thousand_records_in_one_batch(
    peer: Peer,
    driver: Driver,
    topic: str,
    consume_all: Consume,
    codec: CompressionType,
) -> None:
    now = int(time.time() * 1000)
    rows: list[Row] = [
        (
            now + i // 100,
            f"key-{i % 37}".encode(),
            f"value-{i}".encode() * 3,
            [("i", str(i).encode())],
        )
        for i in range(10_000)
    ]
    got = produce_and_consume(peer, driver, topic, consume_all, build(rows, codec), 10_000)
    assert [r.offset for r in got] == list(range(10_000))
    assert as_rows(got) == rows


@pytest.mark.parametrize("codec", CODECS, ids=lambda c: c.name.lower())
def test_one_mebibyte_values(
    peer: Peer,
    driver: Driver,
    topic: str,
    consume_all: Consume,
    codec: CompressionType,
) -> None:
    now = int(time.time() * 1000)
    incompressible = bytes(cramjam.snappy.compress_raw(uuid.uuid4().bytes * 70_000))[: 1 << 20]
    rows: list[Row] = [
        (now, b"random", incompressible, []),
        (now + 1, b"repetitive", b"abc" * ((1 << 20) // 3) + b"d", [("size", b"1MiB")]),
    ]
    got = produce_and_consume(peer, driver, topic, consume_all, build(rows, codec), 2)
    assert as_rows(got) == rows


def test_every_produce_version_reads_back(
    peer: Peer, driver: Driver, topic: str, consume_all: Consume
) -> None:
    """One Produce request per version regcast speaks (v3 up to v9, the first flexible
    one), each capped with ``max_version`` and answered at exactly that version.

    Known quirk: librdkafka's mock writes ``log_start_offset`` from Produce v6 on, but
    Kafka's schema has it from v5, so its v5 answers are 8 bytes short. regcast fails
    that one request with a ProtocolError (the record is stored all the same) and the
    next request goes out on a new connection.
    """
    peer.create_topic(topic)
    driver.topic_metadata(topic, 1)
    low, high = SUPPORTED_VERSIONS[ApiKey.PRODUCE]
    leader = driver.leader(topic, 0)
    driver.poll_until(lambda: driver.client.ready(leader, now_ms()))
    theirs = driver.client.api_versions(leader)
    assert theirs is not None and theirs[int(ApiKey.PRODUCE)][1] >= high
    now = int(time.time() * 1000)
    rows: list[Row] = []
    for version in range(low, high + 1):
        row: Row = (now + version, f"k{version}".encode(), f"v{version}".encode(), [("v", b"")])
        request = produce_request(leader, topic, 0, build([row], CompressionType.LZ4))
        request.max_version = version
        response = driver.call(request)
        assert response.api_version == version
        if peer.name == "librdkafka-mock" and version == 5:
            assert isinstance(response.error, ProtocolError), response
        else:
            assert partition_response(response)["error_code"] == 0, f"Produce v{version}"
        rows.append(row)
    assert as_rows(consume_all(peer.bootstrap, topic, expected=len(rows))) == rows


def reframe_as_raw_snappy(batch: bytes) -> bytes:
    """An uncompressed regcast batch rewritten as librdkafka writes snappy: one raw block."""
    payload = bytes(cramjam.snappy.compress_raw(batch[HEADER_SIZE_BYTES:]))
    header = bytearray(batch[:HEADER_SIZE_BYTES])
    (attributes,) = struct.unpack_from(">h", header, ATTRIBUTES_OFFSET)
    struct.pack_into(">h", header, ATTRIBUTES_OFFSET, attributes | int(CompressionType.SNAPPY))
    struct.pack_into(">i", header, 8, len(header) - 12 + len(payload))
    crc = crc32c.crc32c(payload, crc32c.crc32c(bytes(header[ATTRIBUTES_OFFSET:])))
    struct.pack_into(">I", header, 17, crc)
    return bytes(header) + payload


def test_raw_snappy_is_also_read_by_confluent_kafka(
    peer: Peer, driver: Driver, topic: str, consume_all: Consume
) -> None:
    """Both framings are valid on the wire; regcast's reader accepts both (unit tests)."""
    batch = reframe_as_raw_snappy(build(EDGE_ROWS, CompressionType.NONE))
    got = produce_and_consume(peer, driver, topic, consume_all, batch, len(EDGE_ROWS))
    assert as_rows(got) == EDGE_ROWS


def test_restamped_idempotent_batch_is_accepted_and_read_back(
    peer: Peer, driver: Driver, topic: str, consume_all: Consume
) -> None:
    """A batch re-stamped with other ids keeps a valid CRC (checked by the consumer)."""
    builder = RecordBatchBuilder(CompressionType.ZSTD, 1 << 20, 1_700_000_000_000)
    for i in range(100):
        builder.try_append(1_700_000_000_000 + i, None, f"r{i}".encode(), [])
    first = builder.build(producer_id=1, producer_epoch=0, base_sequence=0)
    restamped = builder.build()  # back to no producer id: accepted without InitProducerId
    assert restamped != first and restamped[HEADER_SIZE_BYTES:] == first[HEADER_SIZE_BYTES:]
    got = produce_and_consume(peer, driver, topic, consume_all, restamped, 100)
    assert [r.value for r in got] == [f"r{i}".encode() for i in range(100)]


def test_tansu_stores_batches_verbatim_so_the_consumer_judges_our_bytes(
    kafka_broker: KafkaBroker, topic: str
) -> None:
    """Why the read-backs above are evidence: Tansu neither re-encodes nor validates.

    A byte flipped inside a value (CRC left stale) comes back flipped when CRC checks
    are off, so confluent-kafka's consumer decodes exactly regcast's framing and, with
    ``check.crcs`` on, verifies regcast's CRC. (With ``check.crcs`` on, librdkafka
    2.16 aborts the process on such a batch instead of reporting it, so the corrupt
    batch is only ever read with checks off.)
    """
    driver = Driver(kafka_broker.bootstrap)
    try:
        batch = bytearray(build([(1_700_000_000_000, b"k", b"AAAA", [])], CompressionType.NONE))
        batch[-2] ^= 0x02  # the value's last byte: b"A" -> b"C"
        kafka_broker.create_topic(topic, partitions=1)
        driver.topic_metadata(topic, 1)
        response = driver.call(produce_request(driver.leader(topic, 0), topic, 0, bytes(batch)))
        assert partition_response(response)["error_code"] == 0
    finally:
        driver.close()
    consumer = Consumer(
        {
            "bootstrap.servers": kafka_broker.bootstrap,
            "group.id": f"verbatim-{topic}",
            "check.crcs": False,
            "log_level": 0,
        }
    )
    try:
        consumer.assign([TopicPartition(topic, 0, 0)])
        messages = consumer.consume(1, timeout=10)
    finally:
        consumer.close()
    assert [(m.error(), m.value()) for m in messages] == [(None, b"AAAC")]
