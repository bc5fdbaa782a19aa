"""librdkafka's in-process mock cluster, driven through its C API.

confluent-kafka only exposes the mock through ``test.mock.num.brokers``, which
auto-creates topics with 4 partitions and reports a controller that does not exist,
so admin clients cannot create topics on it. The librdkafka shared object bundled in
the confluent-kafka wheel exports the mock API itself (``rd_kafka_mock_*``); calling
it through ctypes gives tests what they need: topics with chosen partition counts and
leaders, brokers taken down and up, and the list of requests each broker received.
"""

from __future__ import annotations

import ctypes
import glob
import os
from dataclasses import dataclass

import confluent_kafka

_RD_KAFKA_PRODUCER = 0


def _load_librdkafka() -> ctypes.CDLL:
    libs_dir = os.path.join(
        os.path.dirname(os.path.dirname(confluent_kafka.__file__)), "confluent_kafka.libs"
    )
    candidates = sorted(glob.glob(os.path.join(libs_dir, "librdkafka*.so*")))
    if not candidates:
        raise RuntimeError(f"no librdkafka shared object under {libs_dir}")
    lib = ctypes.CDLL(candidates[0])
    vp, cp, i32, cint = ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int32, ctypes.c_int
    lib.rd_kafka_conf_new.restype = vp
    lib.rd_kafka_conf_set.argtypes = [vp, cp, cp, cp, ctypes.c_size_t]
    lib.rd_kafka_new.restype = vp
    lib.rd_kafka_new.argtypes = [cint, vp, cp, ctypes.c_size_t]
    lib.rd_kafka_destroy.argtypes = [vp]
    lib.rd_kafka_mock_cluster_new.restype = vp
    lib.rd_kafka_mock_cluster_new.argtypes = [vp, cint]
    lib.rd_kafka_mock_cluster_destroy.argtypes = [vp]
    lib.rd_kafka_mock_cluster_bootstraps.restype = cp
    lib.rd_kafka_mock_cluster_bootstraps.argtypes = [vp]
    lib.rd_kafka_mock_topic_create.argtypes = [vp, cp, cint, cint]
    lib.rd_kafka_mock_partition_set_leader.argtypes = [vp, cp, i32, i32]
    lib.rd_kafka_mock_broker_set_down.argtypes = [vp, i32]
    lib.rd_kafka_mock_broker_set_up.argtypes = [vp, i32]
    lib.rd_kafka_mock_push_request_errors_array.argtypes = [
        vp,
        ctypes.c_int16,
        ctypes.c_size_t,
        ctypes.POINTER(cint),
    ]
    lib.rd_kafka_mock_start_request_tracking.argtypes = [vp]
    lib.rd_kafka_mock_stop_request_tracking.argtypes = [vp]
    lib.rd_kafka_mock_clear_requests.argtypes = [vp]
    lib.rd_kafka_mock_get_requests.restype = ctypes.POINTER(vp)
    lib.rd_kafka_mock_get_requests.argtypes = [vp, ctypes.POINTER(ctypes.c_size_t)]
    lib.rd_kafka_mock_request_id.restype = i32
    lib.rd_kafka_mock_request_id.argtypes = [vp]
    lib.rd_kafka_mock_request_api_key.restype = ctypes.c_int16
    lib.rd_kafka_mock_request_api_key.argtypes = [vp]
    lib.rd_kafka_mock_request_destroy_array.argtypes = [ctypes.POINTER(vp), ctypes.c_size_t]
    return lib


_lib: ctypes.CDLL | None = None


def _librdkafka() -> ctypes.CDLL:
    global _lib
    if _lib is None:
        _lib = _load_librdkafka()
    return _lib


@dataclass(frozen=True, slots=True)
class MockRequest:
    """One request a mock broker received: which broker, which API."""

    broker_id: int
    api_key: int


class MockCluster:
    """A librdkafka mock cluster of ``num_brokers`` brokers (ids 1..N) on loopback."""

    def __init__(self, num_brokers: int = 3) -> None:
        lib = _librdkafka()
        errstr = ctypes.create_string_buffer(512)
        conf = lib.rd_kafka_conf_new()
        lib.rd_kafka_conf_set(conf, b"log_level", b"0", errstr, 512)
        self._rk = lib.rd_kafka_new(_RD_KAFKA_PRODUCER, conf, errstr, 512)
        if not self._rk:
            raise RuntimeError(f"rd_kafka_new failed: {errstr.value.decode()}")
        self._mcluster = lib.rd_kafka_mock_cluster_new(self._rk, num_brokers)
        if not self._mcluster:
            lib.rd_kafka_destroy(self._rk)
            raise RuntimeError("rd_kafka_mock_cluster_new failed")
        self.num_brokers = num_brokers
        self.bootstrap_servers: str = lib.rd_kafka_mock_cluster_bootstraps(self._mcluster).decode()

    @property
    def broker_ids(self) -> list[int]:
        return list(range(1, self.num_brokers + 1))

    def broker_address(self, broker_id: int) -> tuple[str, int]:
        host, port = self.bootstrap_servers.split(",")[broker_id - 1].rsplit(":", 1)
        return host, int(port)

    def create_topic(
        self,
        name: str,
        partitions: int,
        replication_factor: int = 3,
        leaders: dict[int, int] | None = None,
    ) -> dict[int, int]:
        """Create ``name``; leaders default to round-robin over brokers (p % N + 1).

        Returns the partition -> leader map that was set.
        """
        lib = _librdkafka()
        err = lib.rd_kafka_mock_topic_create(
            self._mcluster, name.encode(), partitions, min(replication_factor, self.num_brokers)
        )
        if err:
            raise RuntimeError(f"rd_kafka_mock_topic_create({name!r}) failed: error {err}")
        if leaders is None:
            leaders = {p: p % self.num_brokers + 1 for p in range(partitions)}
        for partition, leader in leaders.items():
            self.set_leader(name, partition, leader)
        return dict(leaders)

    def set_leader(self, topic: str, partition: int, broker_id: int) -> None:
        err = _librdkafka().rd_kafka_mock_partition_set_leader(
            self._mcluster, topic.encode(), partition, broker_id
        )
        if err:
            raise RuntimeError(f"set_leader({topic}[{partition}] -> {broker_id}): error {err}")

    def broker_down(self, broker_id: int) -> None:
        """Close the broker's connections and refuse new ones until broker_up."""
        _librdkafka().rd_kafka_mock_broker_set_down(self._mcluster, broker_id)

    def broker_up(self, broker_id: int) -> None:
        _librdkafka().rd_kafka_mock_broker_set_up(self._mcluster, broker_id)

    def push_request_errors(self, api_key: int, errors: list[int]) -> None:
        """The next len(errors) requests of ``api_key`` (to any broker) fail with these."""
        arr = (ctypes.c_int * len(errors))(*errors)
        _librdkafka().rd_kafka_mock_push_request_errors_array(
            self._mcluster, api_key, len(errors), arr
        )

    def start_request_tracking(self) -> None:
        _librdkafka().rd_kafka_mock_start_request_tracking(self._mcluster)

    def requests(self) -> list[MockRequest]:
        """Requests received since tracking started, in arrival order."""
        lib = _librdkafka()
        count = ctypes.c_size_t(0)
        array = lib.rd_kafka_mock_get_requests(self._mcluster, ctypes.byref(count))
        try:
            return [
                MockRequest(
                    lib.rd_kafka_mock_request_id(array[i]),
                    lib.rd_kafka_mock_request_api_key(array[i]),
                )
                for i in range(count.value)
            ]
        finally:
            if count.value:
                lib.rd_kafka_mock_request_destroy_array(array, count)

    def close(self) -> None:
        lib = _librdkafka()
        if self._mcluster:
            lib.rd_kafka_mock_cluster_destroy(self._mcluster)
            self._mcluster = None
        if self._rk:
            lib.rd_kafka_destroy(self._rk)
            self._rk = None
