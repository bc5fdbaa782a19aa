"""Our context and confluent-kafka's are interchangeable where serializers look at them."""

from __future__ import annotations

from confluent_kafka.schema_registry import dual_schema_id_deserializer
from confluent_kafka.schema_registry.common.serde import SchemaId
from confluent_kafka.serialization import MessageField as CkField

from serdes.context import MessageField, SerializationContext
from serdes.wire import encode_header


def test_message_field_values_match_confluent_kafka() -> None:
    assert {f.value for f in MessageField} == {f.value for f in CkField}
    for ours in MessageField:
        theirs = CkField(ours.value)
        assert ours == theirs
        assert str(ours) == str(theirs)


def test_confluent_kafka_checks_work_on_our_context() -> None:
    key_ctx = SerializationContext("orders", MessageField.KEY)
    value_ctx = SerializationContext("orders", MessageField.VALUE, headers=[("h", b"v")])
    # confluent-kafka compares ctx.field == MessageField.KEY and concatenates the topic
    assert key_ctx.field == CkField.KEY
    assert value_ctx.field != CkField.KEY
    assert key_ctx.topic + "-" + key_ctx.field == "orders-key"
    # and its id deserializer reads our headers (a list of tuples) and the payload prefix
    schema_id = SchemaId("AVRO")
    payload = dual_schema_id_deserializer(encode_header(12) + b"rest", value_ctx, schema_id)
    assert schema_id.id == 12
    assert payload.read() == b"rest"


def test_defaults() -> None:
    ctx = SerializationContext("t")
    assert ctx.field is MessageField.VALUE
    assert ctx.headers is None
