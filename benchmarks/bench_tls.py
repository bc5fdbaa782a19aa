"""Producer throughput over TLS: regcast vs confluent-kafka (librdkafka), and TLS's cost.

Run: ``.venv/bin/python -m benchmarks.bench_tls [--records-a N] [--records-b N]
[--rounds R]``, or ``python -m benchmarks tls``; :func:`run` returns the rows.

Setup, all in one run on this machine:

- TLS: a Tansu broker behind a real OpenSSL server (``socat OPENSSL-LISTEN``, from
  :class:`tests.support.tls.TlsKafka`, certificates made by
  :func:`tests.support.tls.make_certificates`), Tansu advertising socat's port, so every
  connection a client opens is TLS (1.2+, the server's ECDSA P-256 certificate checked
  against the test CA, hostname included);
- plaintext: a second Tansu, started the same way, without the terminator.

Each peer runs in its own subprocess, the child mode of :mod:`benchmarks.bench_producer`
(same settings: linger 5 ms, 64 KiB batches, no compression, no keys, a pool of 1,000
distinct values; idempotence on for acks=all), regcast with
``Producer(security_protocol="SSL", ssl_cafile=...)`` and confluent-kafka with
``security.protocol=SSL`` / ``ssl.ca.location``. A fresh topic per peer, transport and
round; the best of ``--rounds`` rounds counts.

Nagle. regcast sets TCP_NODELAY on every socket; librdkafka leaves Nagle's algorithm on
unless ``socket.nagle.disable`` is set. Over TLS that matters a great deal: OpenSSL
writes a request as several TLS records, and with Nagle on the last segment waits for
the terminator's delayed ACK (the first run of this benchmark, 2026-12-07, had
librdkafka at 9.8k records/s over TLS against 64k in plaintext for scenario B). Like for
like, librdkafka runs here with ``socket.nagle.disable=true`` over both transports;
``--librdkafka-nagle`` runs it with its default instead.

- Scenario B: 1 KiB values, acks=all. Target: regcast >= 0.9x librdkafka over TLS.
- Scenario A: 100-byte values, acks=1, over TLS and over plaintext. Target: regcast's
  ratio to librdkafka over TLS no more than 10% below its plaintext ratio.

TLS cost per record (µs) is ``1/rate(TLS) - 1/rate(plaintext)`` for that peer and scenario:
the wall time TLS adds per record, encryption, the terminator's relay and the extra
context switches on a shared two-core machine together; it is not the cipher's cost alone.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.bench_producer import REFERENCE, SCENARIOS, run_child

ROOT = Path(__file__).resolve().parents[1]
PEERS = ("regcast", REFERENCE)


@dataclass(frozen=True, slots=True)
class Transport:
    name: str  # "TLS" or "plaintext"
    bootstrap: str
    ssl_cafile: str | None  # None for plaintext

    def child_args(self) -> list[str]:
        if self.ssl_cafile is None:
            return []
        return ["--security-protocol", "SSL", "--ssl-cafile", self.ssl_cafile]

    def admin_config(self) -> dict[str, Any]:
        config: dict[str, Any] = {"bootstrap.servers": self.bootstrap, "log_level": 0}
        if self.ssl_cafile is not None:
            config.update({"security.protocol": "SSL", "ssl.ca.location": self.ssl_cafile})
        return config


@contextmanager
def transports() -> Iterator[dict[str, Transport]]:
    """A TLS-fronted Tansu and a plain one, stopped on the way out."""
    sys.path.insert(0, str(ROOT))
    from regcast.local_broker import LocalBroker
    from tests.support.tls import TlsKafka, make_certificates

    with ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-tls-")))
        certs = make_certificates(workdir)
        tls = stack.enter_context(TlsKafka(certs))
        plain = stack.enter_context(LocalBroker())
        yield {
            "TLS": Transport("TLS", tls.bootstrap, str(certs.ca)),
            "plaintext": Transport("plaintext", plain.bootstrap_servers, None),
        }


def create_topic(transport: Transport, topic: str) -> None:
    from confluent_kafka.admin import AdminClient
    from confluent_kafka.cimpl import NewTopic

    admin = AdminClient(transport.admin_config())
    for future in admin.create_topics([NewTopic(topic, 1, 1)]).values():
        future.result(timeout=15)


def _best(
    transport: Transport,
    scenario_name: str,
    peer: str,
    records: int,
    rounds: int,
    nagle_off: bool = True,
) -> dict[str, Any]:
    scenario = SCENARIOS[scenario_name]
    best: dict[str, Any] | None = None
    for round_no in range(rounds):
        topic = (
            f"bench-tls-{scenario_name}-{transport.name}-{peer}-{round_no}-{uuid.uuid4().hex[:6]}"
        )
        create_topic(transport, topic)
        figures = run_child(
            [
                "--child", peer, "--bootstrap", transport.bootstrap, "--topic", topic,
                "--records", str(records), "--value-bytes", str(scenario.value_bytes),
                "--acks", scenario.acks, *transport.child_args(),
                *(["--nagle-off"] if nagle_off and peer == REFERENCE else []),
            ]
        )  # fmt: skip
        if figures["delivered"] != records:
            raise RuntimeError(
                f"{peer} over {transport.name} delivered {figures['delivered']} of {records} "
                f"(failed {figures['failed']}: {figures['first_error']})"
            )
        if best is None or figures["seconds"] < best["seconds"]:
            best = figures
    assert best is not None
    return best


def run(
    records_a: int = 300_000,
    records_b: int = 100_000,
    rounds: int = 2,
    librdkafka_nagle_off: bool = True,
) -> list[dict[str, Any]]:
    """One row per (scenario, transport, peer), with the ratio to librdkafka and TLS's cost.

    Rounds interleave nothing: for each scenario, each transport, each peer, ``rounds``
    runs back to back, the fastest kept.
    """
    rows: list[dict[str, Any]] = []
    with transports() as by_name:
        for scenario_name, records in (("B", records_b), ("A", records_a)):
            rates: dict[tuple[str, str], float] = {}
            figures_of: dict[tuple[str, str], dict[str, Any]] = {}
            for transport_name in ("TLS", "plaintext"):
                for peer in PEERS:
                    figures = _best(by_name[transport_name], scenario_name, peer, records, rounds)
                    rates[transport_name, peer] = records / figures["seconds"]
                    figures_of[transport_name, peer] = figures
            scenario = SCENARIOS[scenario_name]
            for transport_name in ("TLS", "plaintext"):
                for peer in PEERS:
                    rate = rates[transport_name, peer]
                    cost_us = (1 / rates["TLS", peer] - 1 / rates["plaintext", peer]) * 1e6
                    rows.append(
                        {
                            "scenario": scenario_name,
                            "value_bytes": scenario.value_bytes,
                            "acks": scenario.acks,
                            "transport": transport_name,
                            "peer": peer,
                            "records": records,
                            "records_per_s": rate,
                            "mb_per_s": rate * scenario.value_bytes / 1e6,
                            "peak_rss_mib": figures_of[transport_name, peer]["peak_rss_kib"] / 1024,
                            "vs_librdkafka": rate / rates[transport_name, REFERENCE],
                            "tls_cost_us_per_record": cost_us,
                        }
                    )
    return rows


def print_table(rows: list[dict[str, Any]], librdkafka_nagle_off: bool = True) -> None:
    print(
        "producer throughput over TLS (socat/OpenSSL in front of Tansu) and plaintext "
        "(a second Tansu), one partition, linger.ms 5, 64 KiB batches, no compression, "
        f"librdkafka socket.nagle.disable={'true' if librdkafka_nagle_off else 'false'}"
    )
    print(
        f"  {'scn':3} {'value':>6} {'acks':>4} {'transport':9} {'peer':16} {'records':>8} "
        f"{'records/s':>11} {'MB/s':>7} {'peak RSS':>9} {'vs librdkafka':>14} "
        f"{'TLS cost':>11}"
    )
    for r in rows:
        cost = f"{r['tls_cost_us_per_record']:8.2f} µs" if r["transport"] == "TLS" else ""
        print(
            f"  {r['scenario']:3} {r['value_bytes']:>5}B {r['acks']:>4} {r['transport']:9} "
            f"{r['peer']:16} {r['records']:8,} {r['records_per_s']:11,.0f} "
            f"{r['mb_per_s']:7.1f} {r['peak_rss_mib']:7.1f}Mi {r['vs_librdkafka']:13.2f}x "
            f"{cost:>11}"
        )
    by = {(r["scenario"], r["transport"], r["peer"]): r for r in rows}
    print("\nTargets (issue 15)")
    if ("B", "TLS", "regcast") in by:
        ratio = by["B", "TLS", "regcast"]["vs_librdkafka"]
        verdict = "met" if ratio >= 0.9 else "MISSED"
        print(f"  B over TLS: regcast / librdkafka = {ratio:.2f}x (>= 0.9x): {verdict}")
    if ("A", "TLS", "regcast") in by and ("A", "plaintext", "regcast") in by:
        tls = by["A", "TLS", "regcast"]["vs_librdkafka"]
        plain = by["A", "plaintext", "regcast"]["vs_librdkafka"]
        drop = 1 - tls / plain
        verdict = "met" if drop <= 0.10 else "MISSED"
        print(
            f"  A: ratio over TLS {tls:.2f}x vs plaintext {plain:.2f}x, "
            f"{100 * drop:+.1f}% below (<= 10%): {verdict}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--records-a", type=int, default=300_000)
    parser.add_argument("--records-b", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument(
        "--librdkafka-nagle",
        action="store_true",
        help="leave Nagle's algorithm on for librdkafka (its default)",
    )
    args = parser.parse_args()
    nagle_off = not args.librdkafka_nagle
    print_table(run(args.records_a, args.records_b, args.rounds, nagle_off), nagle_off)


if __name__ == "__main__":
    main()
