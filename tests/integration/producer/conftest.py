"""Fixtures of the transaction tests here: a fault proxy in front of Tansu, a topic.

Shared by ``test_fault_proxy_transactions.py`` (librdkafka under injected answers) and
``test_transactions_faults.py`` (regcast under the same answers); a test module that
defines its own ``proxy`` or ``topic`` fixture uses that one instead.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from tests.conftest import KafkaBroker
from tests.support.fault_proxy import FaultProxy


@pytest.fixture
def proxy(kafka_broker: KafkaBroker) -> Iterator[FaultProxy]:
    """The fault proxy in front of a fresh Tansu; it must have met no request it could
    not handle."""
    with FaultProxy.for_bootstrap(kafka_broker.bootstrap) as proxy:
        yield proxy
        assert proxy.errors == []


@pytest.fixture
def topic(kafka_broker: KafkaBroker) -> str:
    """A new one-partition topic on that Tansu."""
    name = f"txn-fault-{uuid.uuid4().hex[:8]}"
    kafka_broker.create_topic(name, partitions=1)
    return name
