"""Data contracts end to end on the real regcast registry, cross-checked with confluent-kafka.

Rules registered with a schema run in our serializers (WRITE) and deserializers (READ)
as in confluent-kafka's, whose CEL executors read our bytes and write the bytes we read;
``use_latest_with_metadata`` picks the version confluent-kafka picks.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from confluent_kafka.schema_registry import SchemaRegistryClient as CkSchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer as CkAvroDeserializer
from confluent_kafka.schema_registry.avro import AvroSerializer as CkAvroSerializer
from confluent_kafka.schema_registry.protobuf import (
    ProtobufDeserializer as CkProtobufDeserializer,
)
from confluent_kafka.schema_registry.rules.cel.cel_executor import CelExecutor as CkCelExecutor
from confluent_kafka.schema_registry.rules.cel.cel_field_executor import (
    CelFieldExecutor as CkCelFieldExecutor,
)
from confluent_kafka.serialization import MessageField as CkField
from confluent_kafka.serialization import SerializationContext as CkContext
from confluent_kafka.serialization import SerializationError as CkSerializationError
from regcast_demo import order_pb2

from serdes import (
    AvroDeserializer,
    AvroSerializer,
    Metadata,
    ProtobufDeserializer,
    ProtobufSerializer,
    Rule,
    RuleConditionError,
    RuleError,
    RuleKind,
    RuleMode,
    RuleSet,
    SchemaRegistryClient,
    SerializationContext,
)
from serdes.errors import SchemaNotFoundError
from tests.integration.serdes.test_protobuf_compat import make_order

USER = json.dumps(
    {
        "type": "record",
        "name": "User",
        "namespace": "acme",
        "fields": [
            {"name": "name", "type": "string"},
            {"name": "ssn", "type": "string"},
            {"name": "age", "type": "int"},
        ],
    }
)

SSN_LENGTH = Rule(
    name="ssnLength",
    kind=RuleKind.CONDITION,
    mode=RuleMode.WRITEREAD,
    type="CEL",
    expr="size(message.ssn) == 9",
)
MASK_PII = Rule(
    name="maskPii",
    kind=RuleKind.TRANSFORM,
    mode=RuleMode.WRITE,
    type="CEL_FIELD",
    tags=("PII",),
    expr="'*********'",
)
PII_TAGS = Metadata(tags={"acme.User.ssn": ("PII",)}, properties={"owner": "crm"})


@pytest.fixture(scope="module", autouse=True)
def confluent_cel_executors() -> None:
    """confluent-kafka runs rules only with its executors registered (process-wide)."""
    CkCelExecutor.register()  # type: ignore[no-untyped-call]
    CkCelFieldExecutor.register()  # type: ignore[no-untyped-call]


def user(ssn: str = "123456789", **kw: Any) -> dict[str, Any]:
    return {"name": "Ada", "ssn": ssn, "age": 36, **kw}


def contexts(topic: str) -> tuple[SerializationContext, CkContext]:
    return SerializationContext(topic), CkContext(topic, CkField.VALUE)


def test_our_serializer_enforces_write_rules_and_confluent_reads_the_result(
    client: SchemaRegistryClient, ck_client: CkSchemaRegistryClient, topic: str
) -> None:
    subject = f"{topic}-value"
    schema_id = client.register_schema(
        subject, USER, metadata=PII_TAGS, rule_set=RuleSet(domain_rules=(SSN_LENGTH, MASK_PII))
    )
    registered = client.get_latest_version(subject)
    assert registered.rule_set is not None and registered.metadata is not None
    assert [r.name for r in registered.rule_set.domain_rules] == ["ssnLength", "maskPii"]
    assert registered.metadata.tags == {"acme.User.ssn": ("PII",)}

    ctx, ck_ctx = contexts(topic)
    ours = AvroSerializer(client, use_latest_version=True)
    with pytest.raises(RuleConditionError) as refused:
        ours(user(ssn="12"), ctx)
    assert refused.value.rule_name == "ssnLength"
    assert "ssnLength" in str(refused.value) and subject in str(refused.value)

    record = user()
    data = ours(record, ctx)
    assert data is not None and int.from_bytes(data[1:5], "big") == schema_id
    assert record == user()  # the caller's dict is not changed by the transform
    theirs = CkAvroSerializer(
        ck_client, None, conf={"auto.register.schemas": False, "use.latest.version": True}
    )
    assert theirs(user(), ck_ctx) == data  # same rules, same bytes
    with pytest.raises(CkSerializationError):
        theirs(user(ssn="12"), ck_ctx)

    # confluent-kafka reads our bytes (its READ run of ssnLength passes on the mask)
    assert CkAvroDeserializer(ck_client)(data, ck_ctx) == user(ssn="*********")
    assert AvroDeserializer(client)(data, ctx) == user(ssn="*********")


def test_confluent_writes_with_rules_and_our_deserializer_runs_read_rules(
    client: SchemaRegistryClient, ck_client: CkSchemaRegistryClient, topic: str
) -> None:
    subject = f"{topic}-value"
    shout = Rule(
        name="shoutOnRead",
        kind=RuleKind.TRANSFORM,
        mode=RuleMode.READ,
        type="CEL_FIELD",
        expr="name == 'name' ; value + '!'",
    )
    adult = Rule(
        name="adultOnRead",
        kind=RuleKind.CONDITION,
        mode=RuleMode.READ,
        type="CEL",
        expr="message.age >= 18",
        doc="readers only see adults",
    )
    stamp = Rule(
        name="stampOnWrite",
        kind=RuleKind.TRANSFORM,
        mode=RuleMode.WRITE,
        type="CEL",
        expr="{'name': message.name + ' (w)', 'ssn': message.ssn, 'age': message.age}",
    )
    client.register_schema(subject, USER, rule_set=RuleSet(domain_rules=(stamp, shout, adult)))
    ctx, ck_ctx = contexts(topic)
    ck_ser = CkAvroSerializer(
        ck_client, None, conf={"auto.register.schemas": False, "use.latest.version": True}
    )
    their_bytes = ck_ser(user(), ck_ctx)
    minor_bytes = ck_ser(user(age=12), ck_ctx)
    ours_bytes = AvroSerializer(client, use_latest_version=True)(user(), ctx)
    assert ours_bytes == their_bytes  # the WRITE transform ran the same in both

    ours = AvroDeserializer(client)
    expected = user(name="Ada (w)!")
    assert ours(their_bytes, ctx) == expected
    assert CkAvroDeserializer(ck_client)(their_bytes, ck_ctx) == expected
    with pytest.raises(RuleConditionError, match="readers only see adults") as refused:
        ours(minor_bytes, ctx)
    assert refused.value.rule_name == "adultOnRead"
    with pytest.raises(CkSerializationError):
        CkAvroDeserializer(ck_client)(minor_bytes, ck_ctx)
    # with use_latest_version the latest schema's READ rules run too
    assert AvroDeserializer(client, use_latest_version=True)(their_bytes, ctx) == expected


def test_use_latest_with_metadata_picks_the_version_confluent_picks(
    client: SchemaRegistryClient, ck_client: CkSchemaRegistryClient, topic: str
) -> None:
    subject = f"{topic}-value"
    client.set_compatibility(subject, "NONE")
    ids = {}
    for major, extra in (
        ("1", []),
        ("2", [{"name": "email", "type": "string", "default": ""}]),
        ("3", [{"name": "phone", "type": "string", "default": ""}]),
    ):
        schema = json.loads(USER)
        schema["fields"] += extra
        ids[major] = client.register_schema(
            subject,
            json.dumps(schema),
            metadata=Metadata(properties={"app.major": major, "owner": "crm"}),
        )
    assert len(set(ids.values())) == 3
    ctx, ck_ctx = contexts(topic)
    for major in ("1", "2", "3"):
        wanted = {"app.major": major}
        ours = AvroSerializer(client, use_latest_with_metadata=wanted)(user(), ctx)
        theirs = CkAvroSerializer(
            ck_client,
            None,
            conf={"auto.register.schemas": False, "use.latest.with.metadata": wanted},
        )(user(), ck_ctx)
        assert ours is not None and int.from_bytes(ours[1:5], "big") == ids[major]
        assert ours == theirs
        assert client.get_latest_with_metadata(subject, wanted).version == int(major)

    # the deserializer reads into the chosen version, as confluent-kafka's does
    v1_bytes = AvroSerializer(client, use_latest_with_metadata={"app.major": "1"})(user(), ctx)
    wanted = {"app.major": "2", "owner": "crm"}
    ours_read = AvroDeserializer(client, use_latest_with_metadata=wanted)(v1_bytes, ctx)
    theirs_read = CkAvroDeserializer(ck_client, conf={"use.latest.with.metadata": wanted})(
        v1_bytes, ck_ctx
    )
    assert ours_read == theirs_read == {**user(), "email": ""}

    with pytest.raises(SchemaNotFoundError):
        AvroSerializer(client, use_latest_with_metadata={"app.major": "9"})(user(), ctx)


def test_latest_with_metadata_is_cached(
    client: SchemaRegistryClient, topic: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    subject = f"{topic}-value"
    client.register_schema(subject, USER, metadata=Metadata(properties={"app.major": "1"}))
    sent: list[str] = []
    real_send = client._send

    def counting(request: Any) -> Any:
        sent.append(request.path)
        return real_send(request)

    monkeypatch.setattr(client, "_send", counting)
    first = client.get_latest_with_metadata(subject, {"app.major": "1"})
    again = client.get_latest_with_metadata(subject, {"app.major": "1"})
    assert first == again and sent == [f"/subjects/{subject}/metadata"]


def test_dlq_action_is_refused_when_the_schema_is_resolved(
    client: SchemaRegistryClient, topic: str
) -> None:
    subject = f"{topic}-value"
    to_dlq = Rule(
        name="toDlq",
        kind=RuleKind.CONDITION,
        mode=RuleMode.WRITE,
        type="CEL",
        expr="message.age > 0",
        on_failure="DLQ",
    )
    client.register_schema(subject, USER, rule_set=RuleSet(domain_rules=(to_dlq,)))
    ctx, _ = contexts(topic)
    with pytest.raises(RuleError, match="DLQ is not supported"):
        AvroSerializer(client, use_latest_version=True)(user(), ctx)


def test_protobuf_rules_on_write_and_read(
    client: SchemaRegistryClient, ck_client: CkSchemaRegistryClient, topic: str
) -> None:
    ctx, ck_ctx = contexts(topic)
    subject = f"{topic}-value"
    ProtobufSerializer(client, order_pb2.Order)(make_order(), ctx)  # registers the file
    plain = client.get_latest_version(subject)
    positive = Rule(
        name="positiveId",
        kind=RuleKind.CONDITION,
        mode=RuleMode.WRITEREAD,
        type="CEL",
        expr="message.order_id > 0",
    )
    client.register_schema(
        subject,
        plain.schema.schema_str,
        "PROTOBUF",
        plain.schema.references,
        rule_set=RuleSet(domain_rules=(positive,)),
    )
    ours = ProtobufSerializer(client, order_pb2.Order, use_latest_version=True)
    with pytest.raises(RuleConditionError, match="positiveId"):
        ours(make_order(order_id=-5), ctx)
    data = ours(make_order(), ctx)
    assert data is not None
    ck_de = CkProtobufDeserializer(order_pb2.Order, conf={}, schema_registry_client=ck_client)
    assert ck_de(data, ck_ctx) == make_order()
    assert ProtobufDeserializer(client, order_pb2.Order)(data, ctx) == make_order()
    # a record framed with the rule set's schema id but written without running the
    # rules (by hand here) is refused on read by the writer schema's READ run
    prefix = data[: len(data) - len(make_order().SerializeToString())]
    bad = prefix + make_order(order_id=-5).SerializeToString()
    with pytest.raises(RuleConditionError, match="positiveId"):
        ProtobufDeserializer(client, order_pb2.Order)(bad, ctx)
    with pytest.raises(CkSerializationError):
        ck_de(bad, ck_ctx)
