"""Each fixture is real: data goes in through one client and comes back out."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import psycopg
from confluent_kafka import Producer

from tests.conftest import KafkaBroker
from tests.support.consume import ConsumedRecord
from tests.support.mock_cluster import MockCluster


def test_kafka_broker_round_trips_records(
    kafka_broker: KafkaBroker, consume_all: Callable[..., list[ConsumedRecord]]
) -> None:
    kafka_broker.create_topic("fixture-check", partitions=3)
    producer = Producer({"bootstrap.servers": kafka_broker.bootstrap, "log_level": 0})
    for i in range(30):
        producer.produce(
            "fixture-check", key=f"k{i}".encode(), value=f"v{i}".encode(), headers=[("h", b"x")]
        )
    assert producer.flush(10) == 0

    records = consume_all(kafka_broker.bootstrap, "fixture-check", expected=30)

    assert sorted(r.value or b"" for r in records) == sorted(f"v{i}".encode() for i in range(30))
    assert {r.partition for r in records} <= {0, 1, 2}
    assert all(r.headers == [("h", b"x")] for r in records)


def test_kafka_cluster_has_three_brokers_leading_partitions(
    kafka_cluster: MockCluster, consume_all: Callable[..., list[ConsumedRecord]]
) -> None:
    leaders = kafka_cluster.create_topic("spread", partitions=12)
    producer = Producer({"bootstrap.servers": kafka_cluster.bootstrap_servers, "log_level": 0})
    metadata = producer.list_topics("spread", timeout=10)

    assert sorted(metadata.brokers) == [1, 2, 3]
    seen = {p.id: p.leader for p in metadata.topics["spread"].partitions.values()}
    assert seen == leaders
    assert set(seen.values()) == {1, 2, 3}

    for p in range(12):
        producer.produce("spread", value=f"p{p}".encode(), partition=p)
    assert producer.flush(10) == 0
    records = consume_all(kafka_cluster.bootstrap_servers, "spread", expected=12)
    assert sorted((r.partition, r.value) for r in records) == [
        (p, f"p{p}".encode()) for p in range(12)
    ]


def test_kafka_cluster_tracks_requests_per_broker(kafka_cluster: MockCluster) -> None:
    kafka_cluster.create_topic("tracked", partitions=3)
    kafka_cluster.start_request_tracking()
    producer = Producer(
        {"bootstrap.servers": kafka_cluster.bootstrap_servers, "linger.ms": 0, "log_level": 0}
    )
    for p in range(3):
        producer.produce("tracked", value=b"x", partition=p)
    assert producer.flush(10) == 0

    produce_by_broker = {r.broker_id for r in kafka_cluster.requests() if r.api_key == 0}
    assert produce_by_broker == {1, 2, 3}


def test_postgres_url_is_a_real_database(postgres_url: str) -> None:
    table = f"t_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(f"CREATE TABLE {table} (id int primary key, name text)")
        conn.execute(f"INSERT INTO {table} VALUES (1, 'regcast')")
    with psycopg.connect(postgres_url) as conn:
        row = conn.execute(f"SELECT name FROM {table} WHERE id = 1").fetchone()
    assert row == ("regcast",)
