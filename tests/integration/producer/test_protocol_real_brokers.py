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


def _versions_for(conn: _Connection, *api_keys: ApiKey) -> dict[ApiKey, list[int]]:
    return {api_key: list(_common(conn, api_key)) for api_key in api_keys}


def test_tansu_runs_transactions_at_every_common_version(kafka_broker: KafkaBroker) -> None:
    """The transaction messages (FindCoordinator, InitProducerId with a transactional id,
    AddPartitionsToTxn, AddOffsetsToTxn, TxnOffsetCommit, EndTxn) against Tansu's real
    transaction coordinator: one transaction per round, each round at the next common
    version of every message, and the fencing a second InitProducerId does."""
    kafka_broker.create_topic("txn-codec", partitions=2)
    with _connect(kafka_broker.host, kafka_broker.port) as conn:
        [broker] = conn.call(ApiKey.METADATA, 1, {"topics": []})["brokers"]
        versions = _versions_for(
            conn,
            ApiKey.FIND_COORDINATOR,
            ApiKey.INIT_PRODUCER_ID,
            ApiKey.ADD_PARTITIONS_TO_TXN,
            ApiKey.ADD_OFFSETS_TO_TXN,
            ApiKey.TXN_OFFSET_COMMIT,
            ApiKey.END_TXN,
        )
        rounds = max(len(v) for v in versions.values())

        def at(api_key: ApiKey, round_no: int) -> int:
            return versions[api_key][min(round_no, len(versions[api_key]) - 1)]

        for round_no in range(rounds):
            txn_id, group = f"txn-codec-{round_no}", f"txn-codec-group-{round_no}"
            version = at(ApiKey.FIND_COORDINATOR, round_no)
            found = conn.call(
                ApiKey.FIND_COORDINATOR,
                version,
                {"key": txn_id, "key_type": 1, "coordinator_keys": [txn_id]},
            )
            coordinator = found["coordinators"][0] if version >= 4 else found
            assert (coordinator["error_code"], coordinator["node_id"]) == (
                0,
                broker["node_id"],
            ), f"FindCoordinator v{version}: {found}"

            version = max(3, at(ApiKey.INIT_PRODUCER_ID, round_no))  # Tansu: v3+ only
            init = conn.call(
                ApiKey.INIT_PRODUCER_ID,
                version,
                {"transactional_id": txn_id, "transaction_timeout_ms": 30_000},
            )
            assert init["error_code"] == 0, f"InitProducerId v{version}: {init}"
            producer = {
                "producer_id": init["producer_id"],
                "producer_epoch": init["producer_epoch"],
            }

            version = at(ApiKey.ADD_PARTITIONS_TO_TXN, round_no)
            added = conn.call(
                ApiKey.ADD_PARTITIONS_TO_TXN,
                version,
                {
                    "v3_and_below_transactional_id": txn_id,
                    "v3_and_below_producer_id": producer["producer_id"],
                    "v3_and_below_producer_epoch": producer["producer_epoch"],
                    "v3_and_below_topics": [{"name": "txn-codec", "partitions": [0, 1]}],
                },
            )
            [topic] = added["results_by_topic_v3_and_below"]
            assert topic["name"] == "txn-codec"
            assert sorted(
                (p["partition_index"], p["partition_error_code"])
                for p in topic["results_by_partition"]
            ) == [(0, 0), (1, 0)], f"AddPartitionsToTxn v{version}: {added}"

            version = at(ApiKey.ADD_OFFSETS_TO_TXN, round_no)
            offsets = conn.call(
                ApiKey.ADD_OFFSETS_TO_TXN,
                version,
                {"transactional_id": txn_id, **producer, "group_id": group},
            )
            assert offsets["error_code"] == 0, f"AddOffsetsToTxn v{version}: {offsets}"

            version = at(ApiKey.TXN_OFFSET_COMMIT, round_no)
            committed = conn.call(
                ApiKey.TXN_OFFSET_COMMIT,
                version,
                {
                    "transactional_id": txn_id,
                    "group_id": group,
                    **producer,
                    "topics": [
                        {
                            "name": "txn-codec",
                            "partitions": [
                                {"partition_index": 0, "committed_offset": 42 + round_no}
                            ],
                        }
                    ],
                },
            )
            assert [
                (t["name"], [(p["partition_index"], p["error_code"]) for p in t["partitions"]])
                for t in committed["topics"]
            ] == [("txn-codec", [(0, 0)])], f"TxnOffsetCommit v{version}: {committed}"

            version = at(ApiKey.END_TXN, round_no)
            ended = conn.call(
                ApiKey.END_TXN,
                version,
                {"transactional_id": txn_id, **producer, "committed": round_no % 2 == 0},
            )
            assert ended["error_code"] == 0, f"EndTxn v{version}: {ended}"

        # a second InitProducerId for the same id bumps the epoch: the first is fenced
        version = versions[ApiKey.INIT_PRODUCER_ID][-1]
        body = {"transactional_id": "txn-codec-0", "transaction_timeout_ms": 30_000}
        newer = conn.call(ApiKey.INIT_PRODUCER_ID, version, body)
        assert newer["error_code"] == 0
        stale = {"producer_id": newer["producer_id"], "producer_epoch": newer["producer_epoch"] - 1}
        version = versions[ApiKey.ADD_PARTITIONS_TO_TXN][-1]
        fenced = conn.call(
            ApiKey.ADD_PARTITIONS_TO_TXN,
            version,
            {
                "v3_and_below_transactional_id": "txn-codec-0",
                "v3_and_below_producer_id": stale["producer_id"],
                "v3_and_below_producer_epoch": stale["producer_epoch"],
                "v3_and_below_topics": [{"name": "txn-codec", "partitions": [0]}],
            },
        )
        [result] = fenced["results_by_topic_v3_and_below"][0]["results_by_partition"]
        assert result["partition_error_code"] in (47, 90), (
            fenced
        )  # INVALID_PRODUCER_EPOCH / PRODUCER_FENCED
