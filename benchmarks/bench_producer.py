"""Producer throughput and memory: regcast vs confluent-kafka, aiokafka and kafka-python.

Run: ``.venv/bin/python -m benchmarks.bench_producer [--records N] [--rounds R]
[--scenarios A,B] [--peers regcast,confluent-kafka,...] [--partitions P]
[--bootstrap HOST:PORT] [--reports futures|callbacks] [--memory] [--profile PATH]``;
or call :func:`run` (and :func:`run_memory`) for the figures as dicts.

Setup: a Tansu broker started here (``regcast.local_broker``, in-memory log) unless
``--bootstrap`` names one; a fresh topic (``--partitions``, default 1) per peer and round.
Every peer gets the same settings: linger 5 ms, 64 KiB batches, no compression, no keys,
values from a pool of 1,000 distinct ones. Idempotence follows acks: off for acks=1, on
for acks=all (librdkafka's and aiokafka's defaults are off, Kafka 3.x's is on; this way
the comparison is like for like).

- Scenario A: 100-byte values, acks=1.
- Scenario B: 1 KiB values, acks=all.

Each peer runs in its own subprocess, so ``peak RSS`` (that process's high-water mark,
``VmHWM``; :func:`peak_rss_kib` says why not ``ru_maxrss``) is the peer's own,
interpreter and libraries included; ``base RSS`` is the peak after imports, connecting
and one warm-up record, before the timed run. The clock runs from the first timed send
until every delivery report is in (flush). MB/s is value payload (10^6 bytes) per
second.

Records are counted as delivered by their delivery reports, never by the broker's
offsets (Tansu's ListOffsets is not reliable for this):

- ``--reports futures`` (default): regcast, aiokafka and kafka-python keep every
  send()'s future and check each one after flush() has returned (flush returns only
  when all are done, so the check is outside the clock);
- ``--reports callbacks``: a callback per record (``on_delivery`` for regcast,
  ``add_done_callback`` / ``add_callback`` for aiokafka and kafka-python).

confluent-kafka has only ``on_delivery`` callbacks and uses them in both modes.

``--memory``: 2,000,000 records offered to a broker stalled by the fault proxy
(``tests/support/fault_proxy.py``), ``buffer_memory`` 8 MiB and ``max_block_ms`` 0, so
every send past a full buffer raises at once. The report shows peak RSS before and
after, against the buffer's size: memory must stay bounded by buffer_memory, not grow
with the records offered. confluent-kafka with ``queue.buffering.max.kbytes`` 8192 runs
alongside as the reference.

``--profile PATH``: the regcast child runs under pyinstrument (send() thread only) and
writes its text report to PATH.

The regcast and confluent-kafka children also take ``--security-protocol SSL
--ssl-cafile PEM`` (used by :mod:`benchmarks.bench_tls`, which runs them through a TLS
terminator), and the confluent-kafka child ``--nagle-off`` (``socket.nagle.disable``:
regcast always sets TCP_NODELAY).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PEERS = ("regcast", "confluent-kafka", "aiokafka", "kafka-python")
REFERENCE = "confluent-kafka"
POOL = 1000
LINGER_MS = 5
BATCH_SIZE_BYTES = 64 * 1024
CHILD_TIMEOUT_S = 900


@dataclass(frozen=True, slots=True)
class Scenario:
    name: str
    value_bytes: int
    acks: str  # "1" or "all"

    @property
    def idempotence(self) -> bool:
        return self.acks == "all"


SCENARIOS = {
    "A": Scenario("A", 100, "1"),
    "B": Scenario("B", 1024, "all"),
}


# --------------------------------------------------------------------------- child side


def make_values(size: int, count: int = POOL) -> list[bytes]:
    """``count`` distinct values of exactly ``size`` bytes."""
    return [(f"{i:06d}|".encode() + b"v" * size)[:size] for i in range(count)]


def peak_rss_kib() -> int:
    """This process's peak resident set size, KiB.

    ``VmHWM`` of the process's own address space. ``getrusage().ru_maxrss`` would be
    the same figure except that Linux carries the parent's high-water mark over
    fork/exec into it, so every child would start at the orchestrator's RSS; it is
    the fallback where /proc is missing.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux


class Tally:
    """Delivery reports, counted (callbacks run on one thread per client).

    ``report`` takes ``(err, metadata)`` too, so it can be an ``on_delivery`` callback
    itself (bench_typed passes it as one).
    """

    __slots__ = ("delivered", "failed", "first_error")

    def __init__(self) -> None:
        self.delivered = 0
        self.failed = 0
        self.first_error: str | None = None

    def report(self, err: object, _metadata: object = None) -> None:
        if err is None:
            self.delivered += 1
        else:
            self.failed += 1
            if self.first_error is None:
                self.first_error = repr(err)


def regcast_security(args: argparse.Namespace) -> dict[str, Any]:
    """The regcast producer's security settings from the child's arguments."""
    if args.security_protocol == "PLAINTEXT":
        return {}
    return {"security_protocol": args.security_protocol, "ssl_cafile": args.ssl_cafile}


def librdkafka_security(args: argparse.Namespace) -> dict[str, Any]:
    """The same settings in librdkafka's words (and Nagle off, as regcast has it, if asked)."""
    config: dict[str, Any] = {"socket.nagle.disable": True} if args.nagle_off else {}
    if args.security_protocol != "PLAINTEXT":
        config.update(
            {"security.protocol": args.security_protocol, "ssl.ca.location": args.ssl_cafile}
        )
    return config


def bench_regcast(args: argparse.Namespace, values: list[bytes], tally: Tally) -> dict[str, Any]:
    from producer import Producer

    p = Producer(
        bootstrap_servers=args.bootstrap,
        client_id="bench-regcast",
        acks=args.acks,
        enable_idempotence=args.acks == "all",
        linger_ms=LINGER_MS,
        batch_size=BATCH_SIZE_BYTES,
        **regcast_security(args),
    )
    p.send(args.topic, value=b"warm-up").result(timeout=30)
    base = peak_rss_kib()

    def on_delivery(err: object, meta: object) -> None:
        tally.report(err)

    profiler = None
    if args.profile:
        from pyinstrument import Profiler

        profiler = Profiler(interval=0.0005)
        profiler.start()
    send, topic, n = p.send, args.topic, len(values)
    futures: list[Any] = []
    start = time.perf_counter()
    if args.reports == "callbacks":
        for i in range(args.records):
            send(topic, value=values[i % n], on_delivery=on_delivery)
    else:
        keep = futures.append
        for i in range(args.records):
            keep(send(topic, value=values[i % n]))
    sent_s = time.perf_counter() - start
    p.flush()
    seconds = time.perf_counter() - start
    if profiler is not None:
        profiler.stop()
        Path(args.profile).write_text(profiler.output_text(unicode=True, color=False))
    peak = peak_rss_kib()
    for future in futures:  # flush() returned: every future is done
        tally.report(future.exception(timeout=0) if future.done() else "pending after flush")
    p.close()
    return {"seconds": seconds, "send_loop_s": sent_s, "base_rss_kib": base, "peak_rss_kib": peak}


def bench_confluent(args: argparse.Namespace, values: list[bytes], tally: Tally) -> dict[str, Any]:
    from confluent_kafka import Producer

    p = Producer(
        {
            "bootstrap.servers": args.bootstrap,
            "client.id": "bench-confluent",
            "acks": args.acks,
            "enable.idempotence": args.acks == "all",
            "linger.ms": LINGER_MS,
            "batch.size": BATCH_SIZE_BYTES,
            "compression.type": "none",
            "log_level": 0,
            **librdkafka_security(args),
        }
    )
    p.produce(args.topic, value=b"warm-up")
    if p.flush(30) != 0:
        raise RuntimeError("confluent-kafka: warm-up record not delivered")
    base = peak_rss_kib()

    def on_delivery(err: object, msg: object) -> None:
        tally.report(err)

    produce, poll, topic, n = p.produce, p.poll, args.topic, len(values)
    start = time.perf_counter()
    for i in range(args.records):
        while True:
            try:
                produce(topic, value=values[i % n], on_delivery=on_delivery)
                break
            except BufferError:
                poll(0.01)
        if i % 1000 == 0:
            poll(0)
    sent_s = time.perf_counter() - start
    p.flush()
    seconds = time.perf_counter() - start
    peak = peak_rss_kib()
    return {"seconds": seconds, "send_loop_s": sent_s, "base_rss_kib": base, "peak_rss_kib": peak}


def bench_aiokafka(args: argparse.Namespace, values: list[bytes], tally: Tally) -> dict[str, Any]:
    import asyncio

    from aiokafka import AIOKafkaProducer

    def done(fut: asyncio.Future[Any]) -> None:
        tally.report(fut.exception() if not fut.cancelled() else "cancelled")

    from aiokafka.errors import KafkaError as AioKafkaError

    def make(idempotence: bool) -> AIOKafkaProducer:
        return AIOKafkaProducer(
            bootstrap_servers=args.bootstrap,
            client_id="bench-aiokafka",
            acks="all" if args.acks == "all" else 1,
            enable_idempotence=idempotence,
            linger_ms=LINGER_MS,
            max_batch_size=BATCH_SIZE_BYTES,
        )

    async def main() -> dict[str, Any]:
        idempotence = args.acks == "all"
        p = make(idempotence)
        try:
            await p.start()
        except AioKafkaError:
            # aiokafka asks for a producer id with InitProducerId v0, which Tansu answers
            # with UNKNOWN_SERVER_ERROR: run without idempotence and say so.
            await p.stop()
            idempotence = False
            p = make(idempotence)
            await p.start()
        try:
            await (await p.send(args.topic, value=b"warm-up"))
            base = peak_rss_kib()
            send, topic, n = p.send, args.topic, len(values)
            futures: list[asyncio.Future[Any]] = []
            start = time.perf_counter()
            if args.reports == "callbacks":
                for i in range(args.records):
                    (await send(topic, value=values[i % n])).add_done_callback(done)
            else:
                keep = futures.append
                for i in range(args.records):
                    keep(await send(topic, value=values[i % n]))
            sent_s = time.perf_counter() - start
            await p.flush()
            seconds = time.perf_counter() - start
            peak = peak_rss_kib()
            for future in futures:
                if future.done():
                    done(future)
                else:
                    tally.report("pending after flush")
        finally:
            await p.stop()
        return {
            "seconds": seconds,
            "send_loop_s": sent_s,
            "base_rss_kib": base,
            "peak_rss_kib": peak,
            "idempotence": idempotence,
        }

    return asyncio.run(main())


def bench_kafka_python(
    args: argparse.Namespace, values: list[bytes], tally: Tally
) -> dict[str, Any]:
    from kafka import KafkaProducer

    p = KafkaProducer(
        bootstrap_servers=args.bootstrap,
        client_id="bench-kafka-python",
        acks="all" if args.acks == "all" else 1,
        enable_idempotence=args.acks == "all",
        linger_ms=LINGER_MS,
        batch_size=BATCH_SIZE_BYTES,
    )
    p.send(args.topic, value=b"warm-up").get(timeout=30)
    base = peak_rss_kib()

    def ok(_: object) -> None:
        tally.report(None)

    def failed(exc: object) -> None:
        tally.report(exc)

    send, topic, n = p.send, args.topic, len(values)
    futures: list[Any] = []
    start = time.perf_counter()
    if args.reports == "callbacks":
        for i in range(args.records):
            send(topic, value=values[i % n]).add_callback(ok).add_errback(failed)
    else:
        keep = futures.append
        for i in range(args.records):
            keep(send(topic, value=values[i % n]))
    sent_s = time.perf_counter() - start
    p.flush()
    seconds = time.perf_counter() - start
    peak = peak_rss_kib()
    for future in futures:
        if not future.is_done:
            tally.report("pending after flush")
        else:
            tally.report(None if future.succeeded() else future.exception)
    p.close()
    return {"seconds": seconds, "send_loop_s": sent_s, "base_rss_kib": base, "peak_rss_kib": peak}


CHILDREN: dict[str, Callable[[argparse.Namespace, list[bytes], Tally], dict[str, Any]]] = {
    "regcast": bench_regcast,
    "confluent-kafka": bench_confluent,
    "aiokafka": bench_aiokafka,
    "kafka-python": bench_kafka_python,
}


def child_throughput(args: argparse.Namespace) -> None:
    values = make_values(args.value_bytes)
    tally = Tally()
    figures = CHILDREN[args.child](args, values, tally)
    figures.setdefault("idempotence", args.acks == "all")
    figures.update(
        peer=args.child,
        delivered=tally.delivered,
        failed=tally.failed,
        first_error=tally.first_error,
    )
    print(json.dumps(figures), flush=True)


def child_memory(args: argparse.Namespace) -> None:
    """Offer ``--records`` records to a broker the parent stalls after ``READY``."""
    value = b"m" * args.value_bytes
    accepted = rejected = 0
    if args.child == "regcast":
        from producer import Producer
        from producer.errors import BufferExhaustedError, MetadataTimeoutError

        p = Producer(
            bootstrap_servers=args.bootstrap,
            acks=args.acks,
            buffer_memory=args.buffer_memory,
            batch_size=BATCH_SIZE_BYTES,
            linger_ms=LINGER_MS,
            max_block_ms=0,
        )
        deadline = time.monotonic() + 30
        while True:  # max_block_ms=0 holds for metadata too: ask until it is known
            try:
                p.send(args.topic, value=b"warm-up").result(timeout=30)
                break
            except MetadataTimeoutError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        base = peak_rss_kib()
        print("READY", flush=True)
        sys.stdin.readline()  # the parent has stalled the broker
        send, topic = p.send, args.topic
        start = time.perf_counter()
        for _ in range(args.records):
            try:
                send(topic, value=value)
                accepted += 1
            except BufferExhaustedError:
                rejected += 1
        seconds = time.perf_counter() - start
        peak = peak_rss_kib()
        metrics = {
            k: v for k, v in p.metrics().items() if isinstance(v, int | float) and "buffer" in k
        }
        print(
            json.dumps(
                {
                    "peer": "regcast",
                    "accepted": accepted,
                    "rejected": rejected,
                    "seconds": seconds,
                    "base_rss_kib": base,
                    "peak_rss_kib": peak,
                    "buffer_metrics": metrics,
                }
            ),
            flush=True,
        )
        p.close(timeout=0.5)
    else:
        from confluent_kafka import Producer as CkProducer

        ck = CkProducer(
            {
                "bootstrap.servers": args.bootstrap,
                "acks": args.acks,
                "linger.ms": LINGER_MS,
                "batch.size": BATCH_SIZE_BYTES,
                "queue.buffering.max.kbytes": args.buffer_memory // 1024,
                "queue.buffering.max.messages": 10_000_000,
                "log_level": 0,
            }
        )
        ck.produce(args.topic, value=b"warm-up")
        if ck.flush(30) != 0:
            raise RuntimeError("confluent-kafka: warm-up record not delivered")
        base = peak_rss_kib()
        print("READY", flush=True)
        sys.stdin.readline()
        produce, topic = ck.produce, args.topic
        start = time.perf_counter()
        for _ in range(args.records):
            try:
                produce(topic, value=value)
                accepted += 1
            except BufferError:
                rejected += 1
        seconds = time.perf_counter() - start
        peak = peak_rss_kib()
        print(
            json.dumps(
                {
                    "peer": "confluent-kafka",
                    "accepted": accepted,
                    "rejected": rejected,
                    "seconds": seconds,
                    "base_rss_kib": base,
                    "peak_rss_kib": peak,
                }
            ),
            flush=True,
        )
        ck.purge()
        ck.flush(0.5)
    os._exit(0)  # the broker is stalled: nothing more to wait for


# --------------------------------------------------------------------------- parent side


@contextmanager
def broker(bootstrap: str | None) -> Iterator[str]:
    if bootstrap:
        yield bootstrap
        return
    from regcast.local_broker import LocalBroker

    with LocalBroker() as local:
        yield local.bootstrap_servers


def create_topic(bootstrap: str, topic: str, partitions: int) -> None:
    from confluent_kafka.admin import AdminClient
    from confluent_kafka.cimpl import NewTopic  # where it is defined (and typed)

    admin = AdminClient({"bootstrap.servers": bootstrap, "log_level": 0})
    for future in admin.create_topics([NewTopic(topic, partitions, 1)]).values():
        future.result(timeout=15)


def child_command(args: Sequence[str]) -> list[str]:
    return [sys.executable, "-m", "benchmarks.bench_producer", *args]


def run_child(args: Sequence[str]) -> dict[str, Any]:
    return run_benchmark_child("benchmarks.bench_producer", args)


def run_benchmark_child(
    module: str, args: Sequence[str], input_text: str | None = None
) -> dict[str, Any]:
    """Run ``python -m module args`` and return the JSON object its last ``{`` line holds."""
    done = subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=ROOT,
        input=input_text,
        capture_output=True,
        text=True,
        timeout=CHILD_TIMEOUT_S,
        check=False,
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        raise RuntimeError(
            f"benchmark child {' '.join(args)} failed ({done.returncode}): "
            f"{done.stderr.strip()[-2000:]}"
        )
    result: dict[str, Any] = json.loads(lines[-1])
    return result


def run(
    records: int = 200_000,
    rounds: int = 1,
    scenarios: Sequence[str] = tuple(SCENARIOS),
    peers: Sequence[str] = PEERS,
    partitions: int = 1,
    bootstrap: str | None = None,
    profile: str | None = None,
    reports: str = "futures",
) -> list[dict[str, Any]]:
    """One row per (scenario, peer): the best round's figures, with ratios vs librdkafka."""
    rows: list[dict[str, Any]] = []
    with broker(bootstrap) as servers:
        for name in scenarios:
            scenario = SCENARIOS[name]
            best: dict[str, dict[str, Any]] = {}
            for round_no in range(rounds):
                for peer in peers:
                    topic = f"bench-{name}-{peer}-{round_no}-{uuid.uuid4().hex[:6]}"
                    create_topic(servers, topic, partitions)
                    argv = [
                        "--child",
                        peer,
                        "--bootstrap",
                        servers,
                        "--topic",
                        topic,
                        "--records",
                        str(records),
                        "--value-bytes",
                        str(scenario.value_bytes),
                        "--acks",
                        scenario.acks,
                        "--reports",
                        reports,
                    ]
                    if profile and peer == "regcast" and round_no == 0:
                        argv += ["--profile", f"{profile}.{name}.txt"]
                    figures = run_child(argv)
                    if figures["delivered"] != records:
                        raise RuntimeError(
                            f"{peer} delivered {figures['delivered']} of {records} "
                            f"(failed {figures['failed']}: {figures['first_error']})"
                        )
                    if peer not in best or figures["seconds"] < best[peer]["seconds"]:
                        best[peer] = figures
            reference = best.get(REFERENCE)
            for peer in peers:
                figures = best[peer]
                rate = records / figures["seconds"]
                row = {
                    "scenario": name,
                    "value_bytes": scenario.value_bytes,
                    "acks": scenario.acks,
                    "idempotence": figures["idempotence"],
                    "peer": peer,
                    "reports": reports,
                    "records": records,
                    "partitions": partitions,
                    "seconds": figures["seconds"],
                    "send_loop_s": figures["send_loop_s"],
                    "records_per_s": rate,
                    "mb_per_s": rate * scenario.value_bytes / 1e6,
                    "base_rss_mib": figures["base_rss_kib"] / 1024,
                    "peak_rss_mib": figures["peak_rss_kib"] / 1024,
                    "vs_librdkafka": (
                        rate / (records / reference["seconds"]) if reference else float("nan")
                    ),
                }
                rows.append(row)
    return rows


def run_memory(
    records: int = 2_000_000,
    buffer_memory: int = 8 * 1024 * 1024,
    value_bytes: int = 100,
    peers: Sequence[str] = ("regcast", "confluent-kafka"),
    bootstrap: str | None = None,
) -> list[dict[str, Any]]:
    """Peak RSS while ``records`` records are offered to a stalled broker."""
    sys.path.insert(0, str(ROOT))
    from tests.support.fault_proxy import FaultProxy

    rows = []
    with broker(bootstrap) as servers:
        for peer in peers:
            topic = f"bench-memory-{peer}-{uuid.uuid4().hex[:6]}"
            create_topic(servers, topic, 1)
            with FaultProxy.for_bootstrap(servers) as proxy:
                argv = [
                    "--child-memory",
                    "--child",
                    peer,
                    "--bootstrap",
                    proxy.bootstrap_servers,
                    "--topic",
                    topic,
                    "--records",
                    str(records),
                    "--value-bytes",
                    str(value_bytes),
                    "--buffer-memory",
                    str(buffer_memory),
                ]
                process = subprocess.Popen(
                    child_command(argv),
                    cwd=ROOT,
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                )
                assert process.stdin is not None and process.stdout is not None
                try:
                    line = process.stdout.readline()
                    if line.strip() != "READY":
                        process.kill()
                        _, err = process.communicate(timeout=10)
                        raise RuntimeError(f"memory child {peer}: {line!r} {err[-2000:]}")
                    proxy.stall()
                    process.stdin.write("GO\n")
                    process.stdin.flush()
                    out, err = process.communicate(timeout=CHILD_TIMEOUT_S)
                finally:
                    if process.poll() is None:
                        process.kill()
                        process.wait()
                    proxy.resume()
                lines = [x for x in out.splitlines() if x.startswith("{")]
                if not lines:
                    raise RuntimeError(f"memory child {peer} failed: {err.strip()[-2000:]}")
                figures = json.loads(lines[-1])
            rows.append(
                {
                    "peer": peer,
                    "records_offered": records,
                    "value_bytes": value_bytes,
                    "buffer_memory_mib": buffer_memory / 2**20,
                    "accepted": figures["accepted"],
                    "rejected": figures["rejected"],
                    "offered_mib": records * value_bytes / 2**20,
                    "accepted_mib": figures["accepted"] * value_bytes / 2**20,
                    "seconds": figures["seconds"],
                    "base_rss_mib": figures["base_rss_kib"] / 1024,
                    "peak_rss_mib": figures["peak_rss_kib"] / 1024,
                    "growth_mib": (figures["peak_rss_kib"] - figures["base_rss_kib"]) / 1024,
                    "buffer_metrics": figures.get("buffer_metrics", {}),
                }
            )
    return rows


def print_table(rows: list[dict[str, Any]]) -> None:
    first = rows[0]
    print(
        f"producer throughput: {first['records']:,} records, linger.ms {LINGER_MS}, "
        f"batch size {BATCH_SIZE_BYTES // 1024} KiB, no compression, no keys, "
        f"{first['partitions']} partition(s), Tansu broker, delivery reports by "
        f"{first['reports']}, regcast's hot path {_hot_path()}"
    )
    header = (
        f"  {'scn':3} {'value':>6} {'acks':>4} {'idem':>4} {'peer':16} {'records/s':>11} "
        f"{'MB/s':>7} {'base RSS':>9} {'peak RSS':>9} {'vs librdkafka':>14}"
    )
    print(header)
    for r in rows:
        print(
            f"  {r['scenario']:3} {r['value_bytes']:>5}B {r['acks']:>4} "
            f"{'on' if r['idempotence'] else 'off':>4} {r['peer']:16} "
            f"{r['records_per_s']:11,.0f} {r['mb_per_s']:7.1f} {r['base_rss_mib']:7.1f}Mi "
            f"{r['peak_rss_mib']:7.1f}Mi {_ratio(r['vs_librdkafka'])}"
        )
    print("\nTargets (issue 4)")
    by = {(r["scenario"], r["peer"]): r for r in rows}
    if ("A", "regcast") in by and ("A", REFERENCE) in by:
        print(f"  A: regcast / librdkafka = {by['A', 'regcast']['vs_librdkafka']:.2f}x (>= 0.5x)")
    if ("B", "regcast") in by and ("B", REFERENCE) in by:
        print(f"  B: regcast / librdkafka = {by['B', 'regcast']['vs_librdkafka']:.2f}x (>= 0.9x)")
    for name in ("A", "B"):
        if (name, "regcast") in by and (name, "aiokafka") in by:
            ours, theirs = by[name, "regcast"], by[name, "aiokafka"]
            print(
                f"  {name}: peak RSS regcast {ours['peak_rss_mib']:.1f} MiB vs aiokafka "
                f"{theirs['peak_rss_mib']:.1f} MiB (regcast must be no higher)"
            )


def _ratio(value: float) -> str:
    return f"{'n/a':>14}" if math.isnan(value) else f"{value:13.2f}x"


def _hot_path() -> str:
    """Which hot path the regcast children run (they inherit this environment)."""
    from producer import native

    return "compiled (mypyc)" if native.is_compiled() else "in plain Python"


def print_memory(rows: list[dict[str, Any]]) -> None:
    first = rows[0]
    print(
        f"\nmemory: {first['records_offered']:,} records of {first['value_bytes']} B "
        f"({first['offered_mib']:.0f} MiB) offered to a stalled broker, buffer "
        f"{first['buffer_memory_mib']:.0f} MiB, max_block_ms 0"
    )
    print(
        f"  {'peer':16} {'accepted':>9} {'rejected':>10} {'accepted MiB':>13} "
        f"{'base RSS':>9} {'peak RSS':>9} {'growth':>8} {'seconds':>8}"
    )
    for r in rows:
        print(
            f"  {r['peer']:16} {r['accepted']:9,} {r['rejected']:10,} {r['accepted_mib']:13.1f} "
            f"{r['base_rss_mib']:7.1f}Mi {r['peak_rss_mib']:7.1f}Mi {r['growth_mib']:6.1f}Mi "
            f"{r['seconds']:8.1f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--records", type=int, default=None)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--scenarios", default="A,B")
    parser.add_argument("--peers", default=",".join(PEERS))
    parser.add_argument("--partitions", type=int, default=1)
    parser.add_argument("--bootstrap")
    parser.add_argument("--memory", action="store_true", help="run the memory scenario only")
    parser.add_argument("--profile", help="pyinstrument report path prefix (regcast child)")
    parser.add_argument("--buffer-memory", type=int, default=8 * 1024 * 1024)
    parser.add_argument(
        "--reports",
        choices=("futures", "callbacks"),
        default="futures",
        help="count deliveries by futures kept and checked after flush (default), or "
        "by a callback per record (confluent-kafka always uses on_delivery)",
    )
    # child mode (one peer, one scenario), used by run() and run_memory()
    parser.add_argument("--child", choices=PEERS, help=argparse.SUPPRESS)
    parser.add_argument("--child-memory", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--topic", help=argparse.SUPPRESS)
    parser.add_argument("--value-bytes", type=int, default=100, help=argparse.SUPPRESS)
    parser.add_argument("--acks", default="1", help=argparse.SUPPRESS)
    parser.add_argument(
        "--security-protocol", choices=("PLAINTEXT", "SSL"), default="PLAINTEXT",
        help=argparse.SUPPRESS,
    )  # fmt: skip
    parser.add_argument("--ssl-cafile", help=argparse.SUPPRESS)
    parser.add_argument("--nagle-off", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.security_protocol != "PLAINTEXT" and args.child not in ("regcast", REFERENCE):
        parser.error("--security-protocol: only the regcast and confluent-kafka children")

    if args.child:
        if args.records is None:
            parser.error("--records is required in child mode")
        (child_memory if args.child_memory else child_throughput)(args)
        return
    if args.memory:
        rows = run_memory(
            records=args.records or 2_000_000,
            buffer_memory=args.buffer_memory,
            bootstrap=args.bootstrap,
        )
        print_memory(rows)
        return
    rows = run(
        records=args.records or 200_000,
        rounds=args.rounds,
        scenarios=[s.strip() for s in args.scenarios.split(",") if s.strip()],
        peers=[p.strip() for p in args.peers.split(",") if p.strip()],
        partitions=args.partitions,
        bootstrap=args.bootstrap,
        profile=args.profile,
        reports=args.reports,
    )
    print_table(rows)


if __name__ == "__main__":
    main()
