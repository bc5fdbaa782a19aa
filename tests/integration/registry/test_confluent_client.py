"""confluent-kafka's SchemaRegistryClient against the registry served by uvicorn.

The strongest evidence of compatibility: Confluent's own client, unchanged, talking HTTP
to ``uvicorn --factory registry_service.app:create_app`` (the ``registry_url`` fixture,
SQLite). Every client method a producer or an operator uses is driven at least once.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from confluent_kafka.schema_registry import (
    Schema,
    SchemaReference,
    SchemaRegistryClient,
    SchemaRegistryError,
)
from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
from confluent_kafka.serialization import MessageField, SerializationContext

from tests.conftest import _serve_registry
from tests.integration.registry.conftest import reset_postgres

USER_V1 = json.dumps(
    {
        "type": "record",
        "name": "User",
        "namespace": "com.example",
        "fields": [{"name": "id", "type": "long"}],
    }
)
USER_V2 = json.dumps(
    {
        "type": "record",
        "name": "User",
        "namespace": "com.example",
        "fields": [
            {"name": "id", "type": "long"},
            {"name": "email", "type": "string", "default": ""},
        ],
    }
)
USER_BAD = json.dumps(
    {
        "type": "record",
        "name": "User",
        "namespace": "com.example",
        "fields": [{"name": "id", "type": "long"}, {"name": "age", "type": "int"}],
    }
)
ADDRESS = json.dumps(
    {
        "type": "record",
        "name": "Address",
        "namespace": "com.example",
        "fields": [{"name": "street", "type": "string"}],
    }
)
CUSTOMER = json.dumps(
    {
        "type": "record",
        "name": "Customer",
        "namespace": "com.example",
        "fields": [{"name": "home", "type": "com.example.Address"}],
    }
)


@pytest.fixture(params=["sqlite", "postgresql"])
def registry_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The service under uvicorn: SQLite via the shared fixture, or on PostgreSQL."""
    if request.param == "sqlite":
        yield request.getfixturevalue("registry_url")
        return
    postgres_url: str = request.getfixturevalue("postgres_url")
    reset_postgres(postgres_url)
    process, url = _serve_registry(postgres_url, tmp_path / "registry.log")
    try:
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
def client(registry_url: str) -> Iterator[SchemaRegistryClient]:
    sr = SchemaRegistryClient({"url": registry_url, "max.retries": 0})
    try:
        yield sr
    finally:
        sr.close()


def fresh(registry_url: str) -> SchemaRegistryClient:
    """A second client with empty caches, so answers come from the server."""
    return SchemaRegistryClient({"url": registry_url, "max.retries": 0})


def test_register_get_latest_versions_lookup(
    client: SchemaRegistryClient, registry_url: str
) -> None:
    first = client.register_schema("users-value", Schema(USER_V1, "AVRO"))
    second = client.register_schema("users-value", Schema(USER_V2, "AVRO"))
    assert (first, second) == (1, 2)
    other = fresh(registry_url)
    assert other.register_schema("users-value", Schema(USER_V1, "AVRO")) == first
    assert other.register_schema("accounts-value", Schema(USER_V1, "AVRO")) == first

    schema = other.get_schema(first)
    assert schema.schema_type == "AVRO"
    assert json.loads(schema.schema_str) == json.loads(USER_V1)

    latest = other.get_latest_version("users-value")
    assert (latest.schema_id, latest.version, latest.subject) == (second, 2, "users-value")
    assert other.get_version("users-value", 1).schema_id == first
    assert other.get_versions("users-value") == [1, 2]
    assert other.get_subjects() == ["accounts-value", "users-value"]
    assert sorted(other.get_subjects_by_schema_id(first)) == ["accounts-value", "users-value"]
    assert {(v.subject, v.version) for v in other.get_schema_versions(first)} == {
        ("accounts-value", 1),
        ("users-value", 1),
    }
    assert set(other.get_schema_types()) >= {"AVRO", "PROTOBUF"}

    found = other.lookup_schema("users-value", Schema(USER_V2, "AVRO"))
    assert (found.schema_id, found.version) == (second, 2)
    with pytest.raises(SchemaRegistryError) as missing:
        other.lookup_schema("users-value", Schema(USER_BAD, "AVRO"))
    assert missing.value.error_code == 40403
    with pytest.raises(SchemaRegistryError) as unknown:
        other.get_version("nobody", 1)
    assert unknown.value.error_code == 40401


def test_compatibility_and_config(client: SchemaRegistryClient) -> None:
    client.register_schema("compat-value", Schema(USER_V1, "AVRO"))
    assert client.test_compatibility("compat-value", Schema(USER_V2, "AVRO")) is True
    assert client.test_compatibility("compat-value", Schema(USER_BAD, "AVRO")) is False
    assert client.test_compatibility_all_versions("compat-value", Schema(USER_V2, "AVRO"))
    with pytest.raises(SchemaRegistryError) as incompatible:
        client.register_schema("compat-value", Schema(USER_BAD, "AVRO"))
    assert incompatible.value.http_status_code == 409

    assert client.get_compatibility() == "BACKWARD"
    with pytest.raises(SchemaRegistryError) as no_config:
        client.get_compatibility("compat-value")
    assert no_config.value.error_code == 40408
    client.set_compatibility("compat-value", "NONE")
    assert client.get_compatibility("compat-value") == "NONE"
    assert client.register_schema("compat-value", Schema(USER_BAD, "AVRO")) > 0
    client.set_compatibility(level="FULL")
    assert client.get_config().compatibility_level is not None
    assert client.get_config().compatibility_level.value == "FULL"
    assert client.delete_config("compat-value").compatibility_level.value == "NONE"
    with pytest.raises(SchemaRegistryError) as bad_level:
        client.set_compatibility(level="SIDEWAYS")
    assert bad_level.value.error_code == 42203


def test_delete_soft_and_permanent(client: SchemaRegistryClient, registry_url: str) -> None:
    client.register_schema("del-value", Schema(USER_V1, "AVRO"))
    client.register_schema("del-value", Schema(USER_V2, "AVRO"))
    assert client.delete_version("del-value", 2) == 2
    assert client.get_versions("del-value") == [1]
    assert client.get_versions("del-value", deleted=True) == [1, 2]
    assert client.delete_version("del-value", 2, permanent=True) == 2
    with pytest.raises(SchemaRegistryError) as not_soft:
        client.delete_subject("del-value", permanent=True)
    assert not_soft.value.error_code == 40405
    assert client.delete_subject("del-value") == [1]
    assert client.get_subjects() == []
    assert client.get_subjects(deleted=True) == ["del-value"]
    with pytest.raises(SchemaRegistryError) as twice:
        client.delete_subject("del-value")
    assert twice.value.error_code == 40404
    assert client.delete_subject("del-value", permanent=True) == [1]
    assert fresh(registry_url).get_subjects(deleted=True) == []


def test_references(client: SchemaRegistryClient) -> None:
    address_id = client.register_schema("address", Schema(ADDRESS, "AVRO"))
    refs = [SchemaReference("com.example.Address", "address", 1)]
    customer_id = client.register_schema("customer-value", Schema(CUSTOMER, "AVRO", refs))
    assert customer_id != address_id
    fetched = client.get_schema(customer_id)
    assert [(r.name, r.subject, r.version) for r in fetched.references] == [
        ("com.example.Address", "address", 1)
    ]
    assert client.get_referenced_by("address", 1) == [customer_id]
    with pytest.raises(SchemaRegistryError) as referenced:
        client.delete_version("address", 1)
    assert referenced.value.error_code == 42206


def test_mode_and_contexts(client: SchemaRegistryClient) -> None:
    assert client.get_global_mode() == "READWRITE"
    assert client.update_mode("locked", "READONLY") == "READONLY"
    assert client.get_mode("locked") == "READONLY"
    with pytest.raises(SchemaRegistryError) as readonly:
        client.register_schema("locked", Schema(USER_V1, "AVRO"))
    assert readonly.value.error_code == 42205
    assert client.delete_mode("locked") == "READONLY"
    assert client.get_contexts() == ["."]


def test_avro_serializer_round_trip(client: SchemaRegistryClient, registry_url: str) -> None:
    """The default subject strategy first asks for associations; a 404 makes it fall back."""
    serializer = AvroSerializer(client, USER_V1)
    context = SerializationContext("users", MessageField.VALUE)
    payload = serializer({"id": 42}, context)
    assert payload is not None and payload[0] == 0
    deserializer = AvroDeserializer(fresh(registry_url))
    assert deserializer(payload, context) == {"id": 42}
    assert client.get_latest_version("users-value").schema_id == int.from_bytes(payload[1:5])
