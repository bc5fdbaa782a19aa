"""Serdes throughput and size: regcast vs confluent-kafka vs fastavro by hand.

Run: ``.venv/bin/python -m benchmarks.bench_serdes [--records N] [--rounds R]
[--registry-url URL]``. Without ``--registry-url`` a regcast registry is started in a
subprocess on a temporary SQLite file (it is only used for the first record: after
that every serializer here works from its caches).

What is measured, for a typical 10-field record (long, string, double, int, boolean,
optional string, array<string>, map<string>, enum, timestamp):

- Avro serialize / deserialize, records/s:
  * ``fastavro by hand``: ``schemaless_writer`` into a ``BytesIO`` holding the 5-byte
    header (resp. ``schemaless_reader`` after seeking past it) - the practical ceiling;
  * regcast ``AvroSerializer`` with a dict, and with a dataclass;
  * confluent-kafka's ``AvroSerializer`` / ``AvroDeserializer``.
- Protobuf serialize / deserialize, records/s: header + ``SerializeToString`` by hand,
  regcast, confluent-kafka.
- Bytes per record: the framed message, and a single-record Avro container file (what
  embedding the schema in every message costs).

Each figure is the best of ``--rounds`` rounds of ``--records`` calls, rounds of the
contenders interleaved so background load hits all of them alike.
"""

from __future__ import annotations

import argparse
import datetime as dt
import enum
import io
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import fastavro
from confluent_kafka.schema_registry import SchemaRegistryClient as CkSchemaRegistryClient
from confluent_kafka.schema_registry import topic_subject_name_strategy as ck_topic_strategy
from confluent_kafka.schema_registry.avro import AvroDeserializer as CkAvroDeserializer
from confluent_kafka.schema_registry.avro import AvroSerializer as CkAvroSerializer
from confluent_kafka.schema_registry.protobuf import (
    ProtobufDeserializer as CkProtobufDeserializer,
)
from confluent_kafka.schema_registry.protobuf import ProtobufSerializer as CkProtobufSerializer
from confluent_kafka.serialization import MessageField as CkField
from confluent_kafka.serialization import SerializationContext as CkContext

from regcast.local_broker import free_port, wait_for_port
from serdes import (
    AvroDeserializer,
    AvroSerializer,
    MessageField,
    ProtobufDeserializer,
    ProtobufSerializer,
    SchemaRegistryClient,
    SerializationContext,
)
from serdes.wire import encode_header

PROTOS = Path(__file__).resolve().parents[1] / "tests" / "integration" / "serdes" / "protos"
sys.path.insert(0, str(PROTOS))
from regcast_demo import bench_pb2  # noqa: E402

SCHEMA = {
    "type": "record",
    "name": "BenchOrder",
    "namespace": "regcast.demo",
    "fields": [
        {"name": "id", "type": "long"},
        {"name": "customer", "type": "string"},
        {"name": "amount", "type": "double"},
        {"name": "quantity", "type": "int"},
        {"name": "active", "type": "boolean"},
        {"name": "note", "type": ["null", "string"], "default": None},
        {"name": "tags", "type": {"type": "array", "items": "string"}},
        {"name": "attrs", "type": {"type": "map", "values": "string"}},
        {
            "name": "status",
            "type": {"type": "enum", "name": "Status", "symbols": ["NEW", "PAID", "SHIPPED"]},
        },
        {"name": "created", "type": {"type": "long", "logicalType": "timestamp-millis"}},
    ],
}
SCHEMA_STR = json.dumps(SCHEMA)
CREATED = dt.datetime(2024, 5, 6, 7, 8, 9, 123000, tzinfo=dt.UTC)
RECORD: dict[str, Any] = {
    "id": 1234567890,
    "customer": "alice@example.com",
    "amount": 99.95,
    "quantity": 3,
    "active": True,
    "note": "gift wrap",
    "tags": ["priority", "web"],
    "attrs": {"channel": "web", "region": "eu-west"},
    "status": "PAID",
    "created": CREATED,
}


class Status(enum.Enum):
    NEW = 0
    PAID = 1
    SHIPPED = 2


@dataclass
class BenchOrder:
    __avro_namespace__ = "regcast.demo"

    id: int
    customer: str
    amount: float
    quantity: int
    active: bool
    note: str | None
    tags: list[str] = field(default_factory=list)
    attrs: dict[str, str] = field(default_factory=dict)
    status: Status = Status.NEW
    created: dt.datetime = CREATED


TYPED = BenchOrder(
    id=1234567890,
    customer="alice@example.com",
    amount=99.95,
    quantity=3,
    active=True,
    note="gift wrap",
    tags=["priority", "web"],
    attrs={"channel": "web", "region": "eu-west"},
    status=Status.PAID,
    created=CREATED,
)
PROTO = bench_pb2.BenchOrder(
    id=1234567890,
    customer="alice@example.com",
    amount=99.95,
    quantity=3,
    active=True,
    note="gift wrap",
    tags=["priority", "web"],
    attrs={"channel": "web", "region": "eu-west"},
    status=bench_pb2.BenchOrder.PAID,
    created_ms=int(CREATED.timestamp() * 1000),
)


@contextmanager
def registry(url: str | None) -> Iterator[str]:
    """Use ``url``, or start regcast's registry in a subprocess for the run."""
    if url:
        yield url
        return
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        log = open(Path(tmp) / "registry.log", "wb")  # noqa: SIM115 - closed below
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "--factory",
                "registry_service.app:create_app",
                "--port",
                str(port),
                "--log-level",
                "warning",
            ],
            env=dict(os.environ, REGCAST_DATABASE_URL=f"sqlite:///{tmp}/registry.db"),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            if not wait_for_port("127.0.0.1", port, 30):
                raise SystemExit("registry did not start: " + Path(tmp, "registry.log").read_text())
            yield f"http://127.0.0.1:{port}"
        finally:
            process.terminate()
            process.wait(timeout=10)
            log.close()


def best_rate(
    contenders: dict[str, Callable[[], Any]], records: int, rounds: int
) -> dict[str, float]:
    """Best records/s per contender over ``rounds`` interleaved rounds."""
    best = dict.fromkeys(contenders, 0.0)
    for _ in range(rounds):
        for name, fn in contenders.items():
            start = time.perf_counter()
            for _ in range(records):
                fn()
            elapsed = time.perf_counter() - start
            best[name] = max(best[name], records / elapsed)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--registry-url")
    args = parser.parse_args()

    with registry(args.registry_url) as url:
        client = SchemaRegistryClient(url)
        ck_client = CkSchemaRegistryClient({"url": url})
        topic = f"bench-{int(time.time())}"
        ctx = SerializationContext(topic, MessageField.VALUE)
        ck_ctx = CkContext(topic, CkField.VALUE)
        ck_conf = {"subject.name.strategy": ck_topic_strategy}

        # -- Avro ----------------------------------------------------------------------
        ours = AvroSerializer(client, SCHEMA_STR)
        ours_typed = AvroSerializer(client, SCHEMA_STR)
        theirs = CkAvroSerializer(ck_client, SCHEMA_STR, conf=ck_conf)
        framed = ours(RECORD, ctx)
        assert framed is not None
        assert theirs(RECORD, ck_ctx) == framed, "regcast and confluent-kafka bytes differ"
        assert ours_typed(TYPED, ctx) == framed, "dataclass path differs from dict path"
        schema_id = int.from_bytes(framed[1:5], "big")
        header = encode_header(schema_id)
        parsed = fastavro.parse_schema(SCHEMA)

        def by_hand() -> bytes:
            buffer = io.BytesIO()
            buffer.write(header)
            fastavro.schemaless_writer(buffer, parsed, RECORD)
            return buffer.getvalue()

        assert by_hand() == framed
        ser = best_rate(
            {
                "fastavro by hand (ceiling)": by_hand,
                "regcast AvroSerializer (dict)": lambda: ours(RECORD, ctx),
                "regcast AvroSerializer (dataclass)": lambda: ours_typed(TYPED, ctx),
                "confluent-kafka AvroSerializer": lambda: theirs(RECORD, ck_ctx),
            },
            args.records,
            args.rounds,
        )

        reader = AvroDeserializer(client)
        typed_reader = AvroDeserializer(client, model=BenchOrder)
        ck_reader = CkAvroDeserializer(ck_client, conf=ck_conf)
        assert reader(framed, ctx) == RECORD
        assert typed_reader(framed, ctx) == TYPED
        assert ck_reader(framed, ck_ctx) == RECORD

        def read_by_hand() -> Any:
            buffer = io.BytesIO(framed)
            buffer.seek(5)
            return fastavro.schemaless_reader(buffer, parsed, None)

        de = best_rate(
            {
                "fastavro by hand (ceiling)": read_by_hand,
                "regcast AvroDeserializer (dict)": lambda: reader(framed, ctx),
                "regcast AvroDeserializer (dataclass)": lambda: typed_reader(framed, ctx),
                "confluent-kafka AvroDeserializer": lambda: ck_reader(framed, ck_ctx),
            },
            args.records,
            args.rounds,
        )

        # -- Protobuf ------------------------------------------------------------------
        pb_topic = topic + "-pb"
        pb_ctx = SerializationContext(pb_topic, MessageField.VALUE)
        pb_ck_ctx = CkContext(pb_topic, CkField.VALUE)
        pb_ours = ProtobufSerializer(client, bench_pb2.BenchOrder)
        pb_theirs = CkProtobufSerializer(bench_pb2.BenchOrder, ck_client, conf=ck_conf)
        pb_framed = pb_ours(PROTO, pb_ctx)
        assert pb_framed is not None and pb_theirs(PROTO, pb_ck_ctx) == pb_framed
        pb_header = pb_framed[:6]

        pb_ser = best_rate(
            {
                "header + SerializeToString by hand": lambda: pb_header + PROTO.SerializeToString(),
                "regcast ProtobufSerializer": lambda: pb_ours(PROTO, pb_ctx),
                "confluent-kafka ProtobufSerializer": lambda: pb_theirs(PROTO, pb_ck_ctx),
            },
            args.records,
            args.rounds,
        )
        pb_reader = ProtobufDeserializer(client, bench_pb2.BenchOrder)
        pb_ck_reader = CkProtobufDeserializer(
            bench_pb2.BenchOrder, conf=ck_conf, schema_registry_client=ck_client
        )
        assert pb_reader(pb_framed, pb_ctx) == PROTO == pb_ck_reader(pb_framed, pb_ck_ctx)
        pb_de = best_rate(
            {
                "FromString by hand": lambda: bench_pb2.BenchOrder.FromString(pb_framed[6:]),
                "regcast ProtobufDeserializer": lambda: pb_reader(pb_framed, pb_ctx),
                "confluent-kafka ProtobufDeserializer": lambda: pb_ck_reader(pb_framed, pb_ck_ctx),
            },
            args.records,
            args.rounds,
        )

        # -- sizes ---------------------------------------------------------------------
        container = io.BytesIO()
        fastavro.writer(container, parsed, [RECORD], codec="null")
        container_size = len(container.getvalue())

        client.close()

    def table(title: str, rates: dict[str, float], base: str, base_label: str) -> None:
        print(f"\n{title}")
        print(f"  {'contender':44} {'records/s':>12} {'vs ' + base_label:>16}")
        for name, rate in rates.items():
            print(f"  {name:44} {rate:12,.0f} {rate / rates[base]:15.2f}x")

    print(f"serdes benchmark: {args.records:,} records x {args.rounds} rounds (best round)")
    table("Avro serialize", ser, "fastavro by hand (ceiling)", "ceiling")
    table("Avro deserialize", de, "fastavro by hand (ceiling)", "ceiling")
    table("Protobuf serialize", pb_ser, "confluent-kafka ProtobufSerializer", "confluent")
    table("Protobuf deserialize", pb_de, "confluent-kafka ProtobufDeserializer", "confluent")
    regcast_vs_ck = ser["regcast AvroSerializer (dict)"] / ser["confluent-kafka AvroSerializer"]
    print(f"\n  regcast AvroSerializer vs confluent-kafka's: {regcast_vs_ck:.2f}x")

    print("\nBytes per record")
    print(f"  {'Avro, 5-byte header + body (regcast = confluent)':52} {len(framed):6d}")
    print(f"  {'Avro, single-record container file (schema embedded)':52} {container_size:6d}")
    saved = 1 - len(framed) / container_size
    print(f"  {'  saved by the schema id':52} {saved:6.1%}")
    print(f"  {'Protobuf, 6-byte header + body':52} {len(pb_framed):6d}")

    print("\nTargets")
    avro_ratio = ser["regcast AvroSerializer (dict)"] / ser["fastavro by hand (ceiling)"]
    pb_ratio = pb_ser["regcast ProtobufSerializer"] / pb_ser["confluent-kafka ProtobufSerializer"]
    print(f"  regcast AvroSerializer / ceiling = {avro_ratio:.2f}x (target >= 0.85x)")
    print(f"  regcast ProtobufSerializer / confluent-kafka = {pb_ratio:.2f}x (target >= 1.3x)")


if __name__ == "__main__":
    main()
