"""Typed end to end: regcast Producer + AvroSerializer vs confluent-kafka's, records/s.

Run: ``.venv/bin/python -m benchmarks.bench_typed [--records N] [--rounds R]
[--acks 1,all] [--peers regcast,confluent-kafka] [--poll-every K] [--bootstrap HOST:PORT]
[--registry-url URL] [--profile PATH]``; or call :func:`run` for the figures as dicts.

What is measured: one record object in, framed Avro bytes on the broker, for the typical
10-field record of :mod:`benchmarks.bench_serdes` (``SCHEMA``/``RECORD``; a dict with a
``datetime`` for its timestamp-millis field), sent ``--records`` times:

- ``regcast``: ``producer.Producer(acks=..., linger_ms=5, batch_size=65536,
  value_serializer=serdes.AvroSerializer(client, schema))``, ``send(topic, value=record,
  on_delivery=cb)`` per record, then ``flush()``;
- ``confluent-kafka``: ``SerializingProducer({'value.serializer':
  confluent_kafka.schema_registry.avro.AvroSerializer(sr_client, schema_str),
  'linger.ms': 5, 'batch.size': 65536, 'acks': ...})``, ``produce(topic, value=record,
  on_delivery=cb)`` then ``poll(0)`` every ``--poll-every`` records (default 1: the idiom
  in confluent-kafka's examples), ``poll`` and retry on ``BufferError``, then ``flush()``.

Both sides: no keys, no compression, a fresh 1-partition topic per contender and round,
idempotence on for acks=all and off for acks=1 (regcast's default for acks=all is on,
librdkafka's off: set alike, as in :mod:`benchmarks.bench_producer`). Both serializers
register the schema under ``{topic}-value`` on a warm-up record before the clock starts;
the parent first checks that both write the same bytes for the record.

Setup: a regcast registry (``regcast serve``, :class:`regcast.local_registry.LocalRegistry`)
on a temporary SQLite file and a Tansu broker (:class:`regcast.local_broker.LocalBroker`),
both started here unless ``--registry-url`` / ``--bootstrap`` name others.

Each contender runs in its own subprocess (the same CPU for both; imports and memory
its own), rounds interleaved (regcast, confluent-kafka, regcast, ...) so background load
hits both alike; each figure is the best of ``--rounds``. The clock runs from the first
timed send until flush() returns. Delivered records are counted by the delivery callbacks
(never by the broker's offsets: Tansu's ListOffsets is off by one batch) and must equal
``--records``. ``peak RSS`` is the child's ``VmHWM`` (see
:func:`benchmarks.bench_producer.peak_rss_kib` for why not ``ru_maxrss``). MB/s counts the
framed value bytes (5-byte header + Avro body), 10^6 bytes per second.

``--profile PATH``: the regcast child runs its timed loop under pyinstrument
(``async_mode="disabled"``, main thread only: send() and the serializer, not the sender
thread) and writes the text report to ``PATH.acks-<acks>.txt``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from benchmarks.bench_producer import Tally, create_topic, peak_rss_kib, run_benchmark_child

PEERS = ("regcast", "confluent-kafka")
REFERENCE = "confluent-kafka"
LINGER_MS = 5
BATCH_SIZE_BYTES = 64 * 1024
TARGET = 1.2  # issue 6: regcast at least 1.2x confluent-kafka, typed end to end


# --------------------------------------------------------------------------- record codec
# The parent owns the record (from bench_serdes, which imports confluent-kafka's schema
# registry and the protobuf test messages); children get it as JSON so that each imports
# only its own contender's libraries and its peak RSS is its own.


def _encode_record(record: dict[str, Any]) -> str:
    def default(value: object) -> object:
        if isinstance(value, dt.datetime):
            return {"$datetime": value.isoformat()}
        raise TypeError(f"cannot pass {type(value).__name__} to the child")

    return json.dumps(record, default=default)


def _decode_record(text: str) -> dict[str, Any]:
    def hook(obj: dict[str, Any]) -> Any:
        if set(obj) == {"$datetime"}:
            return dt.datetime.fromisoformat(obj["$datetime"])
        return obj

    record: dict[str, Any] = json.loads(text, object_hook=hook)
    return record


# --------------------------------------------------------------------------- child side


def child_regcast(args: argparse.Namespace, record: dict[str, Any], tally: Tally) -> dict[str, Any]:
    from producer import Producer
    from serdes import AvroSerializer, SchemaRegistryClient

    client = SchemaRegistryClient(args.registry)
    p = Producer(
        bootstrap_servers=args.bootstrap,
        client_id="bench-typed-regcast",
        acks=args.acks,
        enable_idempotence=args.acks == "all",
        linger_ms=LINGER_MS,
        batch_size=BATCH_SIZE_BYTES,
        value_serializer=AvroSerializer(client, args.schema),
    )
    warm = p.send(args.topic, value=record).result(timeout=30)
    value_bytes = warm.serialized_value_size
    base = peak_rss_kib()

    profiler = None
    if args.profile:
        from pyinstrument import Profiler

        profiler = Profiler(interval=0.0005, async_mode="disabled")
        profiler.start()
    send, topic, on_delivery = p.send, args.topic, tally.report
    start = time.perf_counter()
    for _ in range(args.records):
        send(topic, value=record, on_delivery=on_delivery)
    sent_s = time.perf_counter() - start
    p.flush()
    seconds = time.perf_counter() - start
    if profiler is not None:
        profiler.stop()
        Path(args.profile).write_text(profiler.output_text(unicode=True, color=False))
    peak = peak_rss_kib()
    p.close()
    client.close()
    return {
        "seconds": seconds,
        "send_loop_s": sent_s,
        "value_bytes": value_bytes,
        "base_rss_kib": base,
        "peak_rss_kib": peak,
    }


def child_confluent(
    args: argparse.Namespace, record: dict[str, Any], tally: Tally
) -> dict[str, Any]:
    from confluent_kafka import SerializingProducer
    from confluent_kafka.schema_registry import SchemaRegistryClient
    from confluent_kafka.schema_registry.avro import AvroSerializer

    client = SchemaRegistryClient({"url": args.registry})
    p = SerializingProducer(
        {
            "bootstrap.servers": args.bootstrap,
            "client.id": "bench-typed-confluent",
            "acks": args.acks,
            "enable.idempotence": args.acks == "all",
            "linger.ms": LINGER_MS,
            "batch.size": BATCH_SIZE_BYTES,
            "compression.type": "none",
            "value.serializer": AvroSerializer(client, args.schema),
            "log_level": 0,
        }
    )
    sizes: list[int] = []

    def warm_up(err: object, msg: Any) -> None:
        if err is None:
            sizes.append(len(msg.value()))

    p.produce(args.topic, value=record, on_delivery=warm_up)
    if p.flush(30) != 0 or not sizes:
        raise RuntimeError("confluent-kafka: warm-up record not delivered")
    base = peak_rss_kib()

    produce, poll, topic, on_delivery = p.produce, p.poll, args.topic, tally.report
    every = args.poll_every
    start = time.perf_counter()
    for i in range(args.records):
        while True:
            try:
                produce(topic, value=record, on_delivery=on_delivery)
                break
            except BufferError:
                poll(0.01)
        if i % every == 0:
            poll(0)
    sent_s = time.perf_counter() - start
    p.flush()
    seconds = time.perf_counter() - start
    peak = peak_rss_kib()
    return {
        "seconds": seconds,
        "send_loop_s": sent_s,
        "value_bytes": sizes[0],
        "base_rss_kib": base,
        "peak_rss_kib": peak,
    }


CHILDREN = {"regcast": child_regcast, "confluent-kafka": child_confluent}


def child_main(args: argparse.Namespace) -> None:
    record = _decode_record(sys.stdin.read())
    tally = Tally()
    figures = CHILDREN[args.child](args, record, tally)
    figures.update(
        peer=args.child,
        delivered=tally.delivered,
        failed=tally.failed,
        first_error=tally.first_error,
    )
    print(json.dumps(figures), flush=True)


# --------------------------------------------------------------------------- parent side


@contextmanager
def peers(registry_url: str | None, bootstrap: str | None) -> Iterator[tuple[str, str]]:
    """(registry URL, bootstrap): the given ones, or a registry and a broker started here."""
    from regcast.local_broker import LocalBroker
    from regcast.local_registry import LocalRegistry

    with tempfile.TemporaryDirectory(prefix="bench-typed-") as tmp:
        registry_cm = LocalRegistry(Path(tmp)) if registry_url is None else None
        broker_cm = LocalBroker() if bootstrap is None else None
        try:
            if registry_cm is not None:
                registry_url = registry_cm.start().url
            if broker_cm is not None:
                bootstrap = broker_cm.start().bootstrap_servers
            assert registry_url is not None and bootstrap is not None
            yield registry_url, bootstrap
        finally:
            if broker_cm is not None:
                broker_cm.stop()
            if registry_cm is not None:
                registry_cm.stop()


def check_same_bytes(registry_url: str, schema: str, record: dict[str, Any]) -> int:
    """Both serializers frame the record identically; returns the framed size."""
    from confluent_kafka.schema_registry import SchemaRegistryClient as CkClient
    from confluent_kafka.schema_registry.avro import AvroSerializer as CkAvroSerializer
    from confluent_kafka.serialization import MessageField as CkField
    from confluent_kafka.serialization import SerializationContext as CkContext

    from serdes import AvroSerializer, SchemaRegistryClient, SerializationContext

    topic = f"bench-typed-check-{uuid.uuid4().hex[:6]}"
    with SchemaRegistryClient(registry_url) as client:
        ours = AvroSerializer(client, schema)(record, SerializationContext(topic, "value"))
    theirs = CkAvroSerializer(CkClient({"url": registry_url}), schema)(
        record, CkContext(topic, CkField.VALUE)
    )
    if ours is None or ours != theirs:
        raise RuntimeError("regcast and confluent-kafka frame the record differently")
    return len(ours)


def run_child(argv: Sequence[str], record_json: str) -> dict[str, Any]:
    return run_benchmark_child("benchmarks.bench_typed", argv, record_json)


def run(
    records: int = 100_000,
    rounds: int = 3,
    acks: Sequence[str] = ("1", "all"),
    peers_: Sequence[str] = PEERS,
    poll_every: int = 1,
    bootstrap: str | None = None,
    registry_url: str | None = None,
    profile: str | None = None,
) -> list[dict[str, Any]]:
    """One row per (acks, contender): the best round, with the ratio to confluent-kafka."""
    from benchmarks.bench_serdes import RECORD, SCHEMA_STR

    record_json = _encode_record(RECORD)
    rows: list[dict[str, Any]] = []
    with peers(registry_url, bootstrap) as (url, servers):
        check_same_bytes(url, SCHEMA_STR, RECORD)
        for acks_value in acks:
            best: dict[str, dict[str, Any]] = {}
            for round_no in range(rounds):
                for peer in peers_:
                    topic = f"bench-typed-{acks_value}-{peer}-{round_no}-{uuid.uuid4().hex[:6]}"
                    create_topic(servers, topic, 1)
                    argv = [
                        "--child",
                        peer,
                        "--bootstrap",
                        servers,
                        "--registry-url",
                        url,
                        "--schema",
                        SCHEMA_STR,
                        "--topic",
                        topic,
                        "--records",
                        str(records),
                        "--acks",
                        acks_value,
                        "--poll-every",
                        str(poll_every),
                    ]
                    if profile and peer == "regcast" and round_no == 0:
                        argv += ["--profile", f"{profile}.acks-{acks_value}.txt"]
                    figures = run_child(argv, record_json)
                    if figures["delivered"] != records or figures["failed"]:
                        raise RuntimeError(
                            f"{peer} (acks={acks_value}) delivered {figures['delivered']} of "
                            f"{records} (failed {figures['failed']}: {figures['first_error']})"
                        )
                    if peer not in best or figures["seconds"] < best[peer]["seconds"]:
                        best[peer] = figures
            reference = best.get(REFERENCE)
            for peer in peers_:
                figures = best[peer]
                rate = records / figures["seconds"]
                rows.append(
                    {
                        "acks": acks_value,
                        "idempotence": acks_value == "all",
                        "peer": peer,
                        "records": records,
                        "rounds": rounds,
                        "poll_every": poll_every,
                        "seconds": figures["seconds"],
                        "send_loop_s": figures["send_loop_s"],
                        "value_bytes": figures["value_bytes"],
                        "records_per_s": rate,
                        "mb_per_s": rate * figures["value_bytes"] / 1e6,
                        "base_rss_mib": figures["base_rss_kib"] / 1024,
                        "peak_rss_mib": figures["peak_rss_kib"] / 1024,
                        "vs_confluent": (
                            rate / (records / reference["seconds"]) if reference else float("nan")
                        ),
                    }
                )
    return rows


def print_table(rows: list[dict[str, Any]]) -> None:
    first = rows[0]
    print(
        f"typed end to end: {first['records']:,} records of the 10-field Avro record "
        f"({first['value_bytes']} B framed), best of {first['rounds']} rounds, linger.ms "
        f"{LINGER_MS}, batch size {BATCH_SIZE_BYTES // 1024} KiB, no compression, no keys, "
        f"1 partition, Tansu broker, regcast registry (SQLite); confluent-kafka polls every "
        f"{first['poll_every']} record(s)"
    )
    print(
        f"  {'acks':>4} {'idem':>4} {'contender':16} {'records/s':>11} {'MB/s':>7} "
        f"{'send loop':>10} {'base RSS':>9} {'peak RSS':>9} {'vs confluent':>13}"
    )
    for r in rows:
        print(
            f"  {r['acks']:>4} {'on' if r['idempotence'] else 'off':>4} {r['peer']:16} "
            f"{r['records_per_s']:11,.0f} {r['mb_per_s']:7.1f} {r['send_loop_s']:9.2f}s "
            f"{r['base_rss_mib']:7.1f}Mi {r['peak_rss_mib']:7.1f}Mi {r['vs_confluent']:12.2f}x"
        )
    print("\nTarget (issue 6): regcast / confluent-kafka >= 1.2x")
    for r in rows:
        if r["peer"] == "regcast":
            verdict = "met" if r["vs_confluent"] >= TARGET else "NOT met"
            print(f"  acks={r['acks']}: {r['vs_confluent']:.2f}x ({verdict})")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--acks", default="1,all")
    parser.add_argument("--peers", default=",".join(PEERS))
    parser.add_argument("--poll-every", type=int, default=1, help="confluent-kafka poll(0) cadence")
    parser.add_argument("--bootstrap")
    parser.add_argument("--registry-url")
    parser.add_argument("--profile", help="pyinstrument report path prefix (regcast child)")
    # child mode (one contender, one acks setting), used by run()
    parser.add_argument("--child", choices=PEERS, help=argparse.SUPPRESS)
    parser.add_argument("--topic", help=argparse.SUPPRESS)
    parser.add_argument("--schema", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.child:
        args.registry = args.registry_url
        child_main(args)
        return
    if args.poll_every < 1:
        parser.error("--poll-every must be >= 1")
    rows = run(
        records=args.records,
        rounds=args.rounds,
        acks=[a.strip() for a in args.acks.split(",") if a.strip()],
        peers_=[p.strip() for p in args.peers.split(",") if p.strip()],
        poll_every=args.poll_every,
        bootstrap=args.bootstrap,
        registry_url=args.registry_url,
        profile=args.profile,
    )
    print_table(rows)


if __name__ == "__main__":
    main()
