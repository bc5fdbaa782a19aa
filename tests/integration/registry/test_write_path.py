"""The registration write path on SQLite and PostgreSQL: the one-query reads it relies on,
and decisions made before the write lock on a snapshot that another process has since
made stale.

Two ``RegistryService`` objects on one database stand for two registry processes; their
cache watchers are off, so neither learns of the other's writes except through the
database itself (``StoreWriter.new_generation`` and the refusal check). Every case
first warms process A's cache with the subject, then lets B change it, then asks A.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from registry_service.errors import IncompatibleSchemaError, OperationNotPermittedError
from registry_service.service import RegistryService, SchemaRequest
from registry_service.settings import Settings
from registry_service.storage import GLOBAL_SCOPE, ConfigRecord, open_store


def avro(name: str, *fields: str) -> SchemaRequest:
    body = {"type": "record", "name": name, "fields": [{"name": f, "type": "int"} for f in fields]}
    return SchemaRequest(json.dumps(body))


@pytest.fixture
def two_processes(database_url: str) -> Iterator[tuple[RegistryService, RegistryService]]:
    services = []
    for _ in range(2):
        settings = Settings(database_url=database_url, cache_poll_interval_ms=0)
        service = RegistryService(open_store(settings.database_url), settings)
        service.start()
        services.append(service)
    yield services[0], services[1]
    for service in services:
        service.close()


def test_subject_state_reads_everything_a_registration_needs_in_one_query(
    database_url: str,
) -> None:
    store = open_store(Settings(database_url=database_url).database_url)
    try:
        with store.read() as tx:
            empty = tx.subject_state("s", "f" * 64)
        assert (empty.generation, empty.versions, empty.configs, empty.modes) == (0, [], {}, {})
        assert (empty.schema_id, empty.max_schema_id) == (None, 0)
        with store.write() as tx:
            assert tx.new_generation == 1
            tx.insert_schema(1, "AVRO", "a" * 64, "{}", ())
            tx.insert_schema(2, "AVRO", "b" * 64, "{}", ())
            tx.insert_version("s", 1, 1)
            tx.insert_version("s", 2, 2)
            tx.set_version_deleted("s", 1, True)
            tx.put_config(GLOBAL_SCOPE, ConfigRecord("FULL", None))
            tx.put_config("s", ConfigRecord(None, True))
            tx.put_mode("s", "READONLY")
        with store.write() as tx:
            assert tx.new_generation == 2
            assert tx.schema_id_and_max_id("b" * 64) == (2, 2)
            assert tx.schema_id_and_max_id("c" * 64) == (None, 2)
        with store.read() as tx:
            state = tx.subject_state("s", "a" * 64)
            other = tx.subject_state("t")
        assert state.generation == 2
        assert [(v.version, v.schema_id, v.deleted) for v in state.versions] == [
            (1, 1, True),
            (2, 2, False),
        ]
        assert state.configs == {
            GLOBAL_SCOPE: ConfigRecord("FULL", None),
            "s": ConfigRecord(None, True),
        }
        assert state.modes == {"s": "READONLY"}
        assert (state.schema_id, state.max_schema_id) == (1, 2)
        assert (other.versions, other.configs, other.modes) == (
            [],
            {GLOBAL_SCOPE: ConfigRecord("FULL", None)},
            {},
        )
        assert (other.schema_id, other.max_schema_id) == (None, 2)
    finally:
        store.close()


def test_a_version_written_elsewhere_since_the_snapshot_is_not_given_again(
    two_processes: tuple[RegistryService, RegistryService],
) -> None:
    a, b = two_processes
    a.put_config(None, "NONE", None)
    assert a.register("s", avro("V1", "a"))["version"] == 1  # A's cache now holds "s"
    assert b.register("s", avro("V2", "b"))["version"] == 2
    third = a.register("s", avro("V3", "c"))
    assert (third["version"], third["id"]) == (3, 3)
    assert a.list_versions("s") == [1, 2, 3]


def test_a_schema_registered_elsewhere_since_the_snapshot_keeps_its_id(
    two_processes: tuple[RegistryService, RegistryService],
) -> None:
    a, b = two_processes
    a.put_config(None, "NONE", None)
    a.register("s", avro("First", "a"))
    shared = avro("Shared", "x")
    from_b = b.register("t", shared)
    from_a = a.register("s", shared)
    assert from_a["id"] == from_b["id"] == 2
    assert from_a["version"] == 2
    # ...and registering it again where it already is writes nothing new
    assert b.register("s", shared) == from_a


def test_a_refusal_is_not_made_on_a_stale_cache(
    two_processes: tuple[RegistryService, RegistryService],
) -> None:
    a, b = two_processes
    a.register("s", avro("R", "a"))
    incompatible = avro("R", "a", "b")  # a new field without a default: not BACKWARD
    with pytest.raises(IncompatibleSchemaError):
        a.register("s", incompatible)
    b.put_config("s", "NONE", None)
    assert a.register("s", incompatible)["version"] == 2


def test_a_mode_set_elsewhere_since_the_snapshot_is_obeyed(
    two_processes: tuple[RegistryService, RegistryService],
) -> None:
    a, b = two_processes
    a.put_config("s", "NONE", None)  # so that A's snapshot alone would accept anything
    a.register("s", avro("R", "a"))
    b.put_mode("s", "READONLY")
    with pytest.raises(OperationNotPermittedError, match="read-only"):
        a.register("s", avro("R", "a", "b"))
    assert a.list_versions("s") == [1]


def test_a_compatibility_level_set_elsewhere_since_the_snapshot_is_obeyed(
    two_processes: tuple[RegistryService, RegistryService],
) -> None:
    a, b = two_processes
    a.put_config("s", "NONE", None)
    a.register("s", avro("R", "a"))
    b.put_config("s", "BACKWARD", None)
    with pytest.raises(IncompatibleSchemaError):
        a.register("s", avro("R", "a", "b"))


def test_own_registrations_keep_the_rest_of_the_cache(
    two_processes: tuple[RegistryService, RegistryService],
) -> None:
    a, b = two_processes
    a.put_config(None, "NONE", None)
    a.register("s", avro("S", "a"))
    a.register("t", avro("T", "a"))
    assert a.cache.get(("versions", "s")) != a.cache.get(("versions", "t"))
    cached_s = a.cache.get(("versions", "s"))
    a.register("t", avro("T", "a", "b"))  # a write that only changes "t"...
    assert a.cache.get(("versions", "s")) is cached_s  # ...leaves "s" cached
    assert [v.version for v in a.cache.get(("versions", "t"))] == [1, 2]
    b.register("u", avro("U", "a"))  # another process wrote: A's next write drops all
    a.register("t", avro("T", "a", "b", "c"))
    assert a.cache.get(("versions", "s")) is not cached_s
    assert [v.version for v in a.cache.get(("versions", "t"))] == [1, 2, 3]
