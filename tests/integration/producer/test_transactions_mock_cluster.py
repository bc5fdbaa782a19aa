"""A transaction spanning several leaders, on librdkafka's mock cluster (3 brokers).

The mock accepts the transactional calls but neither fences nor filters aborted records
(and writes markers with CRC 0), so it is evidence only of the coordinator and
multi-leader flow: one FindCoordinator per coordinator, one AddPartitionsToTxn naming
partitions led by three brokers, Produce requests to each leader, EndTxn to the
coordinator. Isolation and fencing are shown on Tansu (test_transactions_tansu.py).
"""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter

import pytest

from producer import AsyncProducer, Producer
from producer.protocol import ApiKey
from tests.support.mock_cluster import MockCluster

pytestmark = pytest.mark.timeout(60)


def test_one_transaction_over_three_leaders(kafka_cluster: MockCluster) -> None:
    topic = f"txn-multi-{uuid.uuid4().hex[:8]}"
    leaders = kafka_cluster.create_topic(topic, 6)
    assert set(leaders.values()) == {1, 2, 3}
    producer = Producer(
        bootstrap_servers=kafka_cluster.bootstrap_servers,
        transactional_id=f"txn-multi-{uuid.uuid4().hex[:8]}",
    )
    try:
        producer.init_transactions(10)
        kafka_cluster.start_request_tracking()
        producer.begin_transaction()
        futures = [producer.send(topic, b"v%d" % i, partition=i % 6) for i in range(60)]
        producer.commit_transaction(10)
        assert all(future.exception(0) is None for future in futures)
        requests = kafka_cluster.requests()
    finally:
        producer.close(5)

    by_api = Counter(request.api_key for request in requests)
    assert by_api[ApiKey.ADD_PARTITIONS_TO_TXN] == 1  # all six partitions in one request
    assert by_api[ApiKey.END_TXN] == 1
    assert by_api[ApiKey.FIND_COORDINATOR] == 0  # the coordinator is known since init
    produce_brokers = {r.broker_id for r in requests if r.api_key == ApiKey.PRODUCE}
    assert produce_brokers == {1, 2, 3}
    [coordinator] = {
        r.broker_id for r in requests if r.api_key in (ApiKey.ADD_PARTITIONS_TO_TXN, ApiKey.END_TXN)
    }
    assert coordinator in {1, 2, 3}


def test_the_asyncio_face_runs_a_transaction(kafka_cluster: MockCluster) -> None:
    topic = f"txn-async-{uuid.uuid4().hex[:8]}"
    kafka_cluster.create_topic(topic, 3)

    async def main() -> list[int]:
        async with AsyncProducer(
            bootstrap_servers=kafka_cluster.bootstrap_servers,
            transactional_id=f"txn-async-{uuid.uuid4().hex[:8]}",
        ) as producer:
            await producer.init_transactions(10)
            async with producer.transaction():
                sent = [await producer.send(topic, b"a", partition=p) for p in range(3)]
            with pytest.raises(ValueError, match="no"):
                async with producer.transaction():
                    await producer.send(topic, b"b", partition=0)
                    raise ValueError("no")
            producer.begin_transaction()
            await producer.abort_transaction(10)
            return [metadata.partition for metadata in sent]

    kafka_cluster.start_request_tracking()
    assert asyncio.run(main()) == [0, 1, 2]
    ends = [r for r in kafka_cluster.requests() if r.api_key == ApiKey.END_TXN]
    assert len(ends) == 2  # commit, abort; the empty transaction sends none
