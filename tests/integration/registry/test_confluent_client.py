"""confluent-kafka's SchemaRegistryClient, every method, against the registry under uvicorn.

The strongest evidence of compatibility: Confluent's own client, unchanged, talking HTTP
to ``uvicorn --factory registry_service.app:create_app``, once on a SQLite file, once
on PostgreSQL, and once on SQLite with HTTP Basic authentication on (``REGCAST_AUTH=basic``,
the client sending ``basic.auth.user.info``): one registry process per setup for this
module; tests keep to subjects of their own and put back any global setting they change.
Its Avro and Protobuf serializers and deserializers run through the same processes,
including Protobuf references fetched with ``format=serialized`` and GUID-framed Avro.
"""

from __future__ import annotations

import base64
import json
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from confluent_kafka.schema_registry import (
    AssociationCreateOrUpdateInfo,
    AssociationCreateOrUpdateRequest,
    ConfigCompatibilityLevel,
    Metadata,
    MetadataProperties,
    MetadataTags,
    Rule,
    RuleKind,
    RuleMode,
    RuleParams,
    RuleSet,
    Schema,
    SchemaReference,
    SchemaRegistryClient,
    SchemaRegistryError,
    ServerConfig,
    dual_schema_id_deserializer,
    header_schema_id_serializer,
)
from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
from confluent_kafka.schema_registry.protobuf import ProtobufDeserializer, ProtobufSerializer
from confluent_kafka.schema_registry.rules.cel.cel_executor import CelExecutor
from confluent_kafka.serialization import MessageField, SerializationContext, SerializationError
from google.protobuf import descriptor_pb2
from google.protobuf.timestamp_pb2 import Timestamp

from regcast.local_broker import stop_process
from tests.integration.registry.auth_support import PASSWORDS, write_users_file
from tests.integration.registry.conftest import reset_postgres
from tests.support.registry import serve_registry

PROTOS = Path(__file__).resolve().parents[1] / "serdes" / "protos"
if str(PROTOS) not in sys.path:
    sys.path.insert(0, str(PROTOS))
from regcast_demo import address_pb2, order_pb2  # noqa: E402


def record(name: str, *fields: dict[str, object]) -> str:
    return json.dumps(
        {"type": "record", "name": name, "namespace": "com.example", "fields": list(fields)}
    )


ID = {"name": "id", "type": "long"}
USER_V1 = record("User", ID)
USER_V2 = record("User", ID, {"name": "email", "type": "string", "default": ""})
USER_BAD = record("User", ID, {"name": "age", "type": "int"})  # no default: not BACKWARD
ADDRESS = record("Address", {"name": "street", "type": "string"})
CUSTOMER = record("Customer", {"name": "home", "type": "com.example.Address"})


_CREDENTIALS: dict[str, str] = {}
"""``basic.auth.user.info`` by registry URL, for the registry that has authentication on."""


@pytest.fixture(scope="module", params=["sqlite", "postgresql", "sqlite-basic-auth"])
def ck_registry(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """One registry process per setup for the whole module."""
    tmp = tmp_path_factory.mktemp(f"ck-{request.param}")
    settings: dict[str, str] = {}
    if request.param == "postgresql":
        database_url = request.getfixturevalue("postgres_url")
        reset_postgres(database_url)
    else:
        database_url = f"sqlite:///{tmp / 'registry.db'}"
    if request.param.endswith("basic-auth"):
        settings = {"auth": "basic", "auth_file": str(write_users_file(tmp / "users.json"))}
    process, url = serve_registry(database_url, tmp / "registry.log", **settings)
    if settings:
        _CREDENTIALS[url] = f"admin:{PASSWORDS['admin']}"
        anonymous = SchemaRegistryClient({"url": url, "max.retries": 0})
        with pytest.raises(SchemaRegistryError) as refused:  # authentication really is on
            anonymous.get_subjects()
        assert (refused.value.http_status_code, refused.value.error_code) == (401, 40101)
    try:
        yield url
    finally:
        _CREDENTIALS.pop(url, None)
        stop_process(process)


def client_config(url: str) -> dict[str, object]:
    config: dict[str, object] = {"url": url, "max.retries": 0}
    if url in _CREDENTIALS:
        config["basic.auth.user.info"] = _CREDENTIALS[url]
    return config


@pytest.fixture
def sr(ck_registry: str) -> Iterator[SchemaRegistryClient]:
    client = SchemaRegistryClient(client_config(ck_registry))
    try:
        yield client
    finally:
        client.close()


@pytest.fixture
def ns() -> str:
    """A prefix no other test's subjects have."""
    return f"t{uuid.uuid4().hex[:10]}-"


def fresh(url: str) -> SchemaRegistryClient:
    """A second client with empty caches, so answers come from the server."""
    return SchemaRegistryClient(client_config(url))


def code_of(exc: pytest.ExceptionInfo[SchemaRegistryError]) -> tuple[int, int]:
    return exc.value.http_status_code, exc.value.error_code


def test_register_read_back_and_look_up(
    sr: SchemaRegistryClient, ck_registry: str, ns: str
) -> None:
    users, accounts = f"{ns}users-value", f"{ns}accounts-value"
    first = sr.register_schema(users, Schema(USER_V1, "AVRO"))
    full = sr.register_schema_full_response(users, Schema(USER_V2, "AVRO"))
    second = full.schema_id
    assert second != first and full.version == 2 and full.guid
    other = fresh(ck_registry)
    assert other.register_schema(users, Schema(USER_V1, "AVRO")) == first
    assert other.register_schema(accounts, Schema(USER_V1, "AVRO")) == first
    assert other.get_versions(users) == [1, 2] and other.get_versions(accounts) == [1]

    schema = other.get_schema(first)
    assert schema.schema_type == "AVRO"
    assert json.loads(schema.schema_str) == json.loads(USER_V1)
    assert json.loads(other.get_schema(second, subject_name=users).schema_str) == json.loads(
        USER_V2
    )
    assert other.get_schema(first, fmt="serialized").schema_str == schema.schema_str
    by_guid = fresh(ck_registry).get_schema_by_guid(full.guid)
    assert json.loads(by_guid.schema_str) == json.loads(USER_V2)

    latest = other.get_latest_version(users)
    assert (latest.schema_id, latest.version, latest.subject) == (second, 2, users)
    assert latest.guid == full.guid
    assert other.get_version(users, 1).schema_id == first
    assert other.get_version(users, "latest").version == 2
    # no version carries metadata, so none matches (test_data_contracts.py has the rest)
    for wanted in ({}, {"owner": "team-a"}):
        with pytest.raises(SchemaRegistryError) as no_metadata:
            other.get_latest_with_metadata(users, wanted)
        assert code_of(no_metadata) == (404, 40403)

    assert other.get_subjects(subject_prefix=ns) == [accounts, users]
    assert other.get_subjects(subject_prefix=ns, offset=1, limit=1) == [users]
    # other tests of this module register the same content under subjects of their own
    mine = [s for s in other.get_subjects_by_schema_id(first) if s.startswith(ns)]
    assert mine == [accounts, users]
    versions = other.get_schema_versions(first)
    assert {(v.subject, v.version) for v in versions if v.subject.startswith(ns)} == {
        (accounts, 1),
        (users, 1),
    }
    assert set(other.get_schema_types()) >= {"AVRO", "PROTOBUF"}

    found = other.lookup_schema(users, Schema(USER_V2, "AVRO"))
    assert (found.schema_id, found.version, found.subject) == (second, 2, users)
    with pytest.raises(SchemaRegistryError) as missing:
        other.lookup_schema(users, Schema(USER_BAD, "AVRO"))
    assert code_of(missing) == (404, 40403)
    with pytest.raises(SchemaRegistryError) as unknown:
        other.get_version(f"{ns}nobody", 1)
    assert code_of(unknown) == (404, 40401)
    with pytest.raises(SchemaRegistryError) as no_version:
        other.get_version(users, 9)
    assert code_of(no_version) == (404, 40402)
    with pytest.raises(SchemaRegistryError) as no_id:
        other.get_schema(10**9)
    assert code_of(no_id) == (404, 40403)

    other.clear_latest_caches()
    other.clear_caches()
    assert other.get_latest_version(users).schema_id == second
    assert SchemaRegistryClient.new_client(other.config()).get_version(users, 1).version == 1
    other.close()


def test_compatibility_and_config(sr: SchemaRegistryClient, ns: str) -> None:
    subject = f"{ns}compat-value"
    sr.register_schema(subject, Schema(USER_V1, "AVRO"))
    assert sr.test_compatibility(subject, Schema(USER_V2, "AVRO")) is True
    assert sr.test_compatibility(subject, Schema(USER_BAD, "AVRO")) is False
    bad = Schema(USER_BAD, "AVRO")
    assert sr.test_compatibility(subject, bad, version=1, verbose=True) is False
    assert sr.test_compatibility_all_versions(subject, Schema(USER_V2, "AVRO")) is True
    assert sr.test_compatibility_all_versions(subject, Schema(USER_BAD, "AVRO")) is False
    with pytest.raises(SchemaRegistryError) as incompatible:
        sr.register_schema(subject, Schema(USER_BAD, "AVRO"))
    assert code_of(incompatible) == (409, 409)
    assert "age" in incompatible.value.error_message

    assert sr.get_compatibility() == "BACKWARD"
    with pytest.raises(SchemaRegistryError) as no_config:
        sr.get_compatibility(subject)
    assert code_of(no_config) == (404, 40408)
    sr.set_compatibility(subject, "NONE")
    assert sr.get_compatibility(subject) == "NONE"
    assert sr.register_schema(subject, Schema(USER_BAD, "AVRO")) > 0
    full = ServerConfig(compatibility=ConfigCompatibilityLevel.FULL)
    assert sr.set_config(subject, full)["compatibility"] == "FULL"  # the raw answer
    level = sr.get_config(subject).compatibility_level
    assert level == ConfigCompatibilityLevel.FULL
    assert sr.delete_config(subject).compatibility_level == ConfigCompatibilityLevel.FULL
    try:
        sr.set_compatibility(level="FULL_TRANSITIVE")
        assert sr.get_config().compatibility_level == ConfigCompatibilityLevel.FULL_TRANSITIVE
    finally:
        sr.set_compatibility(level="BACKWARD")
    with pytest.raises(SchemaRegistryError) as bad_level:
        sr.set_compatibility(level="SIDEWAYS")
    assert code_of(bad_level) == (422, 42203)


def test_delete_soft_and_permanent(sr: SchemaRegistryClient, ck_registry: str, ns: str) -> None:
    subject = f"{ns}del-value"
    first = sr.register_schema(subject, Schema(USER_V1, "AVRO"))
    sr.register_schema(subject, Schema(USER_V2, "AVRO"))
    assert sr.delete_version(subject, 2) == 2
    assert sr.get_versions(subject) == [1]
    assert sr.get_versions(subject, deleted=True) == [1, 2]
    assert sr.get_versions(subject, deleted_only=True) == [2]
    assert sr.get_version(subject, 2, deleted=True).version == 2
    with pytest.raises(SchemaRegistryError) as hidden:
        fresh(ck_registry).get_version(subject, 2)
    assert code_of(hidden) == (404, 40402)
    assert sr.delete_version(subject, 2, permanent=True) == 2
    with pytest.raises(SchemaRegistryError) as not_soft:
        sr.delete_subject(subject, permanent=True)
    assert code_of(not_soft) == (404, 40405)
    assert sr.delete_subject(subject) == [1]
    assert sr.get_subjects(subject_prefix=ns) == []
    assert sr.get_subjects(subject_prefix=ns, deleted=True) == [subject]
    assert sr.get_subjects(subject_prefix=ns, deleted_only=True) == [subject]
    assert subject not in sr.get_subjects_by_schema_id(first)
    assert subject in sr.get_subjects_by_schema_id(first, deleted=True)
    with pytest.raises(SchemaRegistryError) as twice:
        sr.delete_subject(subject)
    assert code_of(twice) == (404, 40404)
    assert sr.delete_subject(subject, permanent=True) == [1]
    assert fresh(ck_registry).get_subjects(subject_prefix=ns, deleted=True) == []
    # the content keeps its id; numbering restarts once nothing is left
    again = fresh(ck_registry).register_schema_full_response(subject, Schema(USER_V1, "AVRO"))
    assert (again.schema_id, again.version) == (first, 1)


def test_references(sr: SchemaRegistryClient, ns: str) -> None:
    address_subject, customer_subject = f"{ns}address", f"{ns}customer-value"
    address_id = sr.register_schema(address_subject, Schema(ADDRESS, "AVRO"))
    refs = [SchemaReference("com.example.Address", address_subject, 1)]
    customer_id = sr.register_schema(customer_subject, Schema(CUSTOMER, "AVRO", refs))
    assert customer_id != address_id
    fetched = sr.get_schema(customer_id)
    assert [(r.name, r.subject, r.version) for r in fetched.references] == [
        ("com.example.Address", address_subject, 1)
    ]
    assert sr.get_referenced_by(address_subject, 1) == [customer_id]
    assert sr.lookup_schema(customer_subject, Schema(CUSTOMER, "AVRO", refs)).version == 1
    with pytest.raises(SchemaRegistryError) as referenced:
        sr.delete_version(address_subject, 1)
    assert code_of(referenced) == (422, 42206)

    # Confluent's Avro serde resolves the reference itself and reads what it wrote.
    ctx = SerializationContext(f"{ns}customer", MessageField.VALUE)
    conf = {"auto.register.schemas": False, "use.latest.version": True}
    serializer = AvroSerializer(sr, schema_str=None, conf=conf)
    payload = serializer({"home": {"street": "Main St 1"}}, ctx)
    assert payload is not None and int.from_bytes(payload[1:5]) == customer_id
    reader = fresh(sr.config()["url"])
    assert AvroDeserializer(reader)(payload, ctx) == {"home": {"street": "Main St 1"}}


def test_data_contracts_and_use_latest_with_metadata(sr: SchemaRegistryClient, ns: str) -> None:
    """confluent-kafka's own client registers metadata and rule sets and reads them back,
    and its AvroSerializer with ``use.latest.with.metadata`` writes with the version
    whose metadata matches, as against Confluent's registry."""
    subject = f"{ns}contracts-value"

    def metadata(major: str) -> Metadata:
        return Metadata(
            MetadataTags({"User.id": ["PII"]}), MetadataProperties({"app.major": major}), []
        )

    rule = Rule(
        "idPositive",
        None,
        RuleKind.CONDITION,
        RuleMode.WRITE,
        "CEL",
        None,
        RuleParams({}),
        "message.id > 0",
        None,
        None,
        False,
    )
    one = sr.register_schema_full_response(
        subject, Schema(USER_V1, "AVRO", [], metadata("1"), RuleSet(None, [rule]))
    )
    two = sr.register_schema_full_response(
        subject, Schema(USER_V2, "AVRO", [], metadata("2"), None)
    )
    assert (one.version, two.version) == (1, 2)
    latest_one = fresh(sr.config()["url"]).get_latest_with_metadata(subject, {"app.major": "1"})
    assert (latest_one.schema_id, latest_one.version) == (one.schema_id, 1)
    assert latest_one.schema.metadata.properties.properties == {"app.major": "1"}
    assert latest_one.schema.rule_set.domain_rules[0].expr == "message.id > 0"
    # version 2 inherited the rule set of version 1 (Confluent's maybeSetMetadataRuleSet)
    assert fresh(sr.config()["url"]).get_version(subject, 2).schema.rule_set.domain_rules

    # confluent-kafka's own CEL executor runs the rule it read from regcast
    CelExecutor.register()
    ctx = SerializationContext(f"{ns}contracts", MessageField.VALUE)
    conf = {"auto.register.schemas": False, "use.latest.with.metadata": {"app.major": "1"}}
    serializer = AvroSerializer(sr, schema_str=None, conf=conf)
    payload = serializer({"id": 7}, ctx)
    assert payload is not None and int.from_bytes(payload[1:5]) == one.schema_id
    with pytest.raises(SerializationError) as refused:
        serializer({"id": -1}, ctx)
    assert "message.id > 0" in str(refused.value.__cause__)


def test_modes_and_contexts(sr: SchemaRegistryClient, ns: str) -> None:
    locked, other = f"{ns}locked", f"{ns}other"
    assert sr.get_global_mode() == "READWRITE"
    assert sr.update_mode(locked, "READONLY") == "READONLY"
    assert sr.get_mode(locked) == "READONLY"
    with pytest.raises(SchemaRegistryError) as readonly:
        sr.register_schema(locked, Schema(USER_V1, "AVRO"))
    assert code_of(readonly) == (422, 42205)
    assert sr.delete_mode(locked) == "READONLY"
    with pytest.raises(SchemaRegistryError) as no_mode:
        sr.get_mode(locked)
    assert code_of(no_mode) == (404, 40409)

    sr.register_schema(other, Schema(USER_V1, "AVRO"))
    try:
        assert sr.update_global_mode("READONLY") == "READONLY"
        assert sr.get_global_mode() == "READONLY"
        with pytest.raises(SchemaRegistryError) as global_readonly:
            sr.register_schema(f"{ns}third", Schema(USER_V2, "AVRO"))
        assert code_of(global_readonly) == (422, 42205)
        with pytest.raises(SchemaRegistryError) as not_empty:
            sr.update_global_mode("IMPORT")
        assert code_of(not_empty) == (422, 42205)
        assert sr.update_global_mode("IMPORT", force=True) == "IMPORT"
    finally:
        assert sr.update_global_mode("READWRITE") == "READWRITE"
    assert sr.get_contexts() == ["."]


def test_associations_are_answered_without_retries(sr: SchemaRegistryClient, ns: str) -> None:
    with pytest.raises(SchemaRegistryError) as none:
        sr.get_associations_by_resource_name(f"{ns}orders", "-", "topic", ["value"])
    assert code_of(none) == (404, 40410)
    request = AssociationCreateOrUpdateRequest(
        resource_name=f"{ns}orders",
        resource_namespace="-",
        resource_id=f"{ns}orders-id",
        resource_type="topic",
        associations=[AssociationCreateOrUpdateInfo(subject=f"{ns}orders-value")],
    )
    with pytest.raises(SchemaRegistryError) as create:
        sr.create_association(request)
    assert code_of(create) == (422, 42212)
    with pytest.raises(SchemaRegistryError) as delete:
        sr.delete_associations(f"{ns}orders-id")
    assert code_of(delete) == (404, 40410)


def test_avro_serde_default_strategy_and_guid_framing(
    sr: SchemaRegistryClient, ck_registry: str, ns: str
) -> None:
    """The default subject strategy first asks for associations; a 404 makes it fall back
    to ``{topic}-value``. Header framing carries the schema's GUID instead of its id."""
    ctx = SerializationContext(f"{ns}users", MessageField.VALUE)
    payload = AvroSerializer(sr, USER_V1)({"id": 42}, ctx)
    assert payload is not None and payload[0] == 0
    assert AvroDeserializer(fresh(ck_registry))(payload, ctx) == {"id": 42}
    assert sr.get_latest_version(f"{ns}users-value").schema_id == int.from_bytes(payload[1:5])

    conf = {"schema.id.serializer": header_schema_id_serializer}
    headered_ctx = SerializationContext(f"{ns}users", MessageField.VALUE, headers=[])
    value = {"id": 7, "email": "ada@example.com"}  # CKP refuses payloads of <= 5 bytes
    body = AvroSerializer(sr, USER_V2, conf=conf)(value, headered_ctx)
    [(name, header)] = headered_ctx.headers
    assert name == "__value_schema_id" and header[0] == 1 and len(header) == 17
    reader = AvroDeserializer(
        fresh(ck_registry), conf={"schema.id.deserializer": dual_schema_id_deserializer}
    )
    assert reader(body, headered_ctx) == value


def make_order() -> order_pb2.Order:
    order = order_pb2.Order(
        order_id=42,
        customer="Ada",
        shipping=address_pb2.Address(street="Main St 1", city="Berlin"),
        status=order_pb2.PAID,
        created=Timestamp(seconds=1_700_000_000),
    )
    order.lines.add(sku="A-1", quantity=2, unit_price=9.99)
    return order


def test_protobuf_serde_with_a_reference(
    sr: SchemaRegistryClient, ck_registry: str, ns: str
) -> None:
    """Confluent's Protobuf serializer registers the import as a reference (subject =
    import path) and the main file as a base64 descriptor; its deserializer fetches both
    with ``format=serialized`` and rebuilds the message."""
    ctx = SerializationContext(f"{ns}orders", MessageField.VALUE)
    message = make_order()
    payload = ProtobufSerializer(order_pb2.Order, sr)(message, ctx)
    assert payload is not None
    schema_id = int.from_bytes(payload[1:5])
    reader = ProtobufDeserializer(order_pb2.Order, schema_registry_client=fresh(ck_registry))
    assert reader(payload, ctx) == message

    reference = "regcast_demo/address.proto"
    stored = sr.get_schema(schema_id)
    assert stored.schema_type == "PROTOBUF" and "message Order" in stored.schema_str
    assert [(r.name, r.subject) for r in stored.references] == [(reference, reference)]
    serialized = fresh(ck_registry).get_schema(schema_id, fmt="serialized").schema_str
    descriptor = descriptor_pb2.FileDescriptorProto.FromString(base64.b64decode(serialized))
    assert [m.name for m in descriptor.message_type] == ["Order", "OrderKey"]
    assert reference in descriptor.dependency
    dep = fresh(ck_registry).get_version(reference, 1, fmt="serialized").schema.schema_str
    dep_descriptor = descriptor_pb2.FileDescriptorProto.FromString(base64.b64decode(dep))
    assert [m.name for m in dep_descriptor.message_type] == ["Address"]
