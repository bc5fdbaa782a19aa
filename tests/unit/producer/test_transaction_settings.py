"""The transactional producer's settings, arguments and error classes (no broker)."""

from __future__ import annotations

import pytest

from producer import Producer, ProducerConfig
from producer.batch import TopicPartition
from producer.errors import (
    ConfigError,
    InvalidProducerEpochError,
    InvalidRecordError,
    ProducerFencedError,
    TransactionalIdAuthorizationFailedError,
)
from producer.protocol.error_codes import error_class
from producer.transaction_manager import ConsumerGroupMetadata, group_from, offsets_from


def test_a_transactional_id_turns_idempotence_on() -> None:
    config = ProducerConfig.from_settings(
        {"bootstrap_servers": "127.0.0.1:1", "transactional_id": "orders"}
    )
    assert config.enable_idempotence and config.transaction_timeout_ms == 60_000


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"enable_idempotence": False}, "needs idempotence"),
        ({"acks": 1}, r"transactional_id='orders' conflicts with acks=1"),
        ({"max_in_flight_requests_per_connection": 6}, "at most 5"),
        ({"retries": 0}, "retries=0"),
        ({"transaction_timeout_ms": 0}, "transaction_timeout_ms must be > 0"),
    ],
)
def test_contradicting_settings_raise(settings: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        ProducerConfig.from_settings(
            {"bootstrap_servers": "127.0.0.1:1", "transactional_id": "orders"} | settings
        )


@pytest.mark.parametrize("transactional_id", ["", 7])
def test_a_transactional_id_must_be_a_non_empty_str(transactional_id: object) -> None:
    with pytest.raises(ConfigError, match="transactional_id must be a non-empty str"):
        ProducerConfig.from_settings(
            {"bootstrap_servers": "127.0.0.1:1", "transactional_id": transactional_id}
        )


def test_transactional_calls_need_a_transactional_id() -> None:
    producer = Producer(bootstrap_servers="127.0.0.1:1")
    try:
        for call in (producer.init_transactions, producer.begin_transaction):
            with pytest.raises(ConfigError, match="set transactional_id"):
                call()
    finally:
        producer.close(0)


def test_the_fatal_classes_are_the_error_tables() -> None:
    assert error_class(90) is ProducerFencedError
    assert error_class(47) is InvalidProducerEpochError
    assert error_class(53) is TransactionalIdAuthorizationFailedError


class _ConfluentStyle:
    def __init__(self, topic: str, partition: int, offset: int) -> None:
        self.topic, self.partition, self.offset = topic, partition, offset


def test_offsets_come_as_a_mapping_or_as_consumer_positions() -> None:
    expected = {TopicPartition("in", 0): (5, None), TopicPartition("in", 1): (7, "m")}
    assert offsets_from({("in", 0): 5, ("in", 1): (7, "m")}) == expected
    assert offsets_from([_ConfluentStyle("in", 0, 5)]) == {TopicPartition("in", 0): (5, None)}


@pytest.mark.parametrize(
    ("offsets", "message"),
    [
        ({}, "at least one offset"),
        ({("in", 0): -1}, "int >= 0"),
        ({("in", -1): 3}, "partition >= 0"),
        ({("", 0): 3}, "topic name"),
        ([_ConfluentStyle("in", 0, -1001)], "int >= 0"),  # librdkafka's OFFSET_INVALID
    ],
)
def test_bad_offsets_are_refused(offsets: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        offsets_from(offsets)  # type: ignore[arg-type]


def test_send_offsets_refuses_bad_arguments_before_any_request() -> None:
    producer = Producer(bootstrap_servers="127.0.0.1:1", transactional_id="t")
    try:
        with pytest.raises(InvalidRecordError, match="at least one offset"):
            producer.send_offsets_to_transaction({}, "group")
    finally:
        producer.close(0)
    assert ConsumerGroupMetadata("g").generation_id == -1


class _KafkaPythonStyle:
    group_id, generation_id, member_id, group_instance_id = "g", 4, "member-1", None


def test_the_group_comes_as_an_id_or_as_group_metadata() -> None:
    assert group_from("g") == ConsumerGroupMetadata("g")
    assert group_from(_KafkaPythonStyle()) == ConsumerGroupMetadata("g", 4, "member-1")
    for bad, message in (("", "group id is empty"), (object(), "group_id is needed")):
        with pytest.raises(ValueError, match=message):
            group_from(bad)
