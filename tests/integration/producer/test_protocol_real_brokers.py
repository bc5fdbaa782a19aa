"""The codec against real peers: every ApiVersions, Metadata and InitProducerId version
both sides speak, over a plain blocking socket (no NetworkClient involved).

A Tansu broker and librdkafka's 3-broker mock cluster each answer requests that
regcast's codec encodes; regcast's codec must decode every answer, and the answers must
say what the peer knows (all brokers, the topic we created, its partitions and leaders).
"""

from __future__ import annotations

import socket
import struct
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from producer.protocol import SUPPORTED_VERSIONS, ApiKey, decode_response, encode_request
from tests.conftest import KafkaBroker
from tests.support.mock_cluster import MockCluster

_SIZE = struct.Struct(">i")


class _Connection:
    """One blocking connection that sends a request and reads its response."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.correlation_id = 0

    def _read_exact(self, n: int) -> bytes:
        data = bytearray()
        while len(data) < n:
            chunk = self.sock.recv(n - len(data))
            assert chunk, "peer closed the connection"
            data += chunk
        return bytes(data)

    def call(self, api_key: ApiKey, version: int, body: dict[str, Any]) -> dict[str, Any]:
        self.correlation_id += 1
        payload = encode_request(api_key, version, self.correlation_id, "regcast-test", body)
        self.sock.sendall(_SIZE.pack(len(payload)) + payload)
        (size,) = _SIZE.unpack(self._read_exact(4))
        correlation_id, response = decode_response(api_key, version, self._read_exact(size))
        assert correlation_id == self.correlation_id
        return response


@contextmanager
def _connect(host: str, port: int) -> Iterator[_Connection]:
    with socket.create_connection((host, port), timeout=10) as sock:
        yield _Connection(sock)


def _common(conn: _Connection, api_key: ApiKey) -> range:
    versions = conn.call(ApiKey.API_VERSIONS, 0, {})
    theirs = {k["api_key"]: (k["min_version"], k["max_version"]) for k in versions["api_keys"]}
    ours = SUPPORTED_VERSIONS[api_key]
    low, high = max(ours[0], theirs[api_key][0]), min(ours[1], theirs[api_key][1])
    assert low <= high, f"no common {api_key.name} version: ours {ours}, theirs {theirs[api_key]}"
    return range(low, high + 1)


def _check_api_versions(conn: _Connection) -> None:
    for version in _common(conn, ApiKey.API_VERSIONS):
        body = conn.call(
            ApiKey.API_VERSIONS,
            version,
            {"client_software_name": "regcast", "client_software_version": "0.1.0"},
        )
        assert body["error_code"] == 0
        keys = {k["api_key"] for k in body["api_keys"]}
        assert {int(ApiKey.PRODUCE), int(ApiKey.METADATA), int(ApiKey.API_VERSIONS)} <= keys


def _check_metadata(
    conn: _Connection, topic: str, partitions: int, broker_ids: set[int]
) -> list[int]:
    versions = _common(conn, ApiKey.METADATA)
    for version in versions:
        body = conn.call(
            ApiKey.METADATA,
            version,
            {"topics": [{"name": topic}], "allow_auto_topic_creation": False},
        )
        assert {b["node_id"] for b in body["brokers"]} == broker_ids, f"v{version}"
        assert all(b["host"] and b["port"] > 0 for b in body["brokers"])
        [described] = body["topics"]
        assert (described["name"], described["error_code"]) == (topic, 0), f"v{version}"
        assert sorted(p["partition_index"] for p in described["partitions"]) == list(
            range(partitions)
        )
        assert all(p["leader_id"] in broker_ids for p in described["partitions"])
    return list(versions)


def test_tansu_answers_every_common_version(kafka_broker: KafkaBroker) -> None:
    kafka_broker.create_topic("codec-check", partitions=3)
    with _connect(kafka_broker.host, kafka_broker.port) as conn:
        _check_api_versions(conn)
        brokers = conn.call(ApiKey.METADATA, 1, {"topics": []})["brokers"]
        assert len(brokers) == 1
        versions = _check_metadata(conn, "codec-check", 3, {brokers[0]["node_id"]})
        assert max(versions) >= 9  # at least one flexible version exercised
        for version in _common(conn, ApiKey.INIT_PRODUCER_ID):
            body = conn.call(
                ApiKey.INIT_PRODUCER_ID,
                version,
                {"transactional_id": None, "transaction_timeout_ms": 60_000},
            )
            if version < 3:
                # Tansu answers v0-v2 (no producer id/epoch fields) with
                # UNKNOWN_SERVER_ERROR; the answer still has to decode.
                assert body["error_code"] in (0, -1), f"InitProducerId v{version}: {body}"
                continue
            assert body["error_code"] == 0, f"InitProducerId v{version}: {body}"
            assert body["producer_id"] >= 0


def test_mock_cluster_answers_every_common_version() -> None:
    cluster = MockCluster(num_brokers=3)
    try:
        cluster.create_topic("codec-check", partitions=4)
        host, port = cluster.broker_address(1)
        with _connect(host, port) as conn:
            _check_api_versions(conn)
            versions = _check_metadata(conn, "codec-check", 4, set(cluster.broker_ids))
            assert max(versions) >= 9
            for version in _common(conn, ApiKey.INIT_PRODUCER_ID):
                body = conn.call(
                    ApiKey.INIT_PRODUCER_ID,
                    version,
                    {"transactional_id": None, "transaction_timeout_ms": 60_000},
                )
                assert body["error_code"] == 0, f"InitProducerId v{version}: {body}"
    finally:
        cluster.close()
