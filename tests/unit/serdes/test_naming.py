"""Subject name strategies agree with confluent-kafka's for both context types."""

from __future__ import annotations

import pytest
from confluent_kafka import schema_registry as ck
from confluent_kafka.serialization import MessageField as CkField
from confluent_kafka.serialization import SerializationContext as CkContext

from serdes.context import MessageField, SerializationContext
from serdes.errors import SerializationError
from serdes.naming import (
    record_subject_name_strategy,
    topic_record_subject_name_strategy,
    topic_subject_name_strategy,
)

CONTEXTS = [
    SerializationContext("orders", MessageField.VALUE),
    SerializationContext("orders", MessageField.KEY),
    SerializationContext("orders", "key"),
    CkContext("orders", CkField.VALUE),
    CkContext("orders", CkField.KEY),
]
PAIRS = [
    (topic_subject_name_strategy, ck.topic_subject_name_strategy),
    (record_subject_name_strategy, ck.record_subject_name_strategy),
    (topic_record_subject_name_strategy, ck.topic_record_subject_name_strategy),
]


@pytest.mark.parametrize("ctx", CONTEXTS)
@pytest.mark.parametrize(("ours", "theirs"), PAIRS)
def test_same_subject_as_confluent_kafka(ctx: object, ours: object, theirs: object) -> None:
    assert callable(ours) and callable(theirs)
    expected = theirs(ctx, "shop.Order")
    got = ours(ctx, "shop.Order")
    assert got == expected
    assert type(got) is str


def test_topic_strategy_values() -> None:
    assert topic_subject_name_strategy(SerializationContext("t", MessageField.KEY), None) == "t-key"
    assert topic_subject_name_strategy(CkContext("t", CkField.VALUE), "x") == "t-value"
    assert topic_record_subject_name_strategy(SerializationContext("t"), "a.B") == "t-a.B"
    assert record_subject_name_strategy(None, "a.B") == "a.B"


def test_missing_inputs_are_explained() -> None:
    with pytest.raises(SerializationError, match="needs a SerializationContext"):
        topic_subject_name_strategy(None, "a.B")
    with pytest.raises(SerializationError, match="needs a record name"):
        record_subject_name_strategy(None, None)
    with pytest.raises(SerializationError, match="needs a record name"):
        topic_record_subject_name_strategy(SerializationContext("t"), None)
