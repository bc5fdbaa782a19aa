"""Pure parts of serdes.protobuf: index paths and the registered schema text vs confluent-kafka."""

from __future__ import annotations

import base64

import pytest
from confluent_kafka.schema_registry.common.protobuf import (
    _create_index_array,
    _is_builtin,
    _schema_to_str,
)
from google.protobuf import descriptor_pb2, timestamp_pb2
from regcast_demo import address_pb2, order_pb2

from serdes.protobuf import (
    _decode_descriptor,
    _message_at,
    is_well_known_import,
    message_index_path,
    schema_string,
)

MESSAGES = [
    order_pb2.Order,
    order_pb2.OrderKey,
    order_pb2.Order.Line,
    order_pb2.Order.Line.Discount,
    address_pb2.Address,
    timestamp_pb2.Timestamp,
]


@pytest.mark.parametrize("cls", MESSAGES, ids=lambda c: c.DESCRIPTOR.full_name)
def test_index_path_matches_confluent_kafka(cls: type) -> None:
    assert list(message_index_path(cls.DESCRIPTOR)) == _create_index_array(cls.DESCRIPTOR)


def test_index_paths() -> None:
    assert message_index_path(order_pb2.Order.DESCRIPTOR) == (0,)
    assert message_index_path(order_pb2.OrderKey.DESCRIPTOR) == (1,)
    assert message_index_path(order_pb2.Order.Line.DESCRIPTOR) == (0, 0)
    assert message_index_path(order_pb2.Order.Line.Discount.DESCRIPTOR) == (0, 0, 0)


@pytest.mark.parametrize("cls", MESSAGES, ids=lambda c: c.DESCRIPTOR.full_name)
def test_index_path_resolves_back_to_the_message(cls: type) -> None:
    file_proto = descriptor_pb2.FileDescriptorProto.FromString(cls.DESCRIPTOR.file.serialized_pb)
    path = message_index_path(cls.DESCRIPTOR)
    assert _message_at(file_proto, path, count_map_entries=True) == cls.DESCRIPTOR.full_name


def test_index_path_resolves_when_map_entries_are_moved() -> None:
    """A registry rebuilding the descriptor from text may put ``AttributesEntry`` first.

    protoc lists Order's nested types as [Line, AttributesEntry]; regcast's registry
    (format=serialized) answered [AttributesEntry, Line]. Counting declared messages only
    (Confluent Java's way) still finds Line at [0, 0]; counting entries does not.
    """
    file_proto = descriptor_pb2.FileDescriptorProto.FromString(
        order_pb2.Order.DESCRIPTOR.file.serialized_pb
    )
    nested = file_proto.message_type[0].nested_type
    assert [m.name for m in nested] == ["Line", "AttributesEntry"]
    line, entry = descriptor_pb2.DescriptorProto(), descriptor_pb2.DescriptorProto()
    line.CopyFrom(nested[0])
    entry.CopyFrom(nested[1])
    del nested[:]
    nested.extend([entry, line])
    assert (
        _message_at(file_proto, (0, 0), count_map_entries=True)
        == "regcast.demo.Order.AttributesEntry"
    )
    assert _message_at(file_proto, (0, 0), count_map_entries=False) == "regcast.demo.Order.Line"
    assert _message_at(file_proto, (0, 0, 0), count_map_entries=False) == (
        "regcast.demo.Order.Line.Discount"
    )
    assert _message_at(file_proto, (0, 0, 0), count_map_entries=True) is None
    assert _message_at(file_proto, (5,), count_map_entries=False) is None


def test_schema_string_is_confluent_kafkas() -> None:
    file = order_pb2.Order.DESCRIPTOR.file
    assert schema_string(file) == _schema_to_str(file)
    decoded = _decode_descriptor(schema_string(file))
    assert decoded is not None
    assert decoded.name == "regcast_demo/order.proto"
    assert list(decoded.dependency) == [
        "google/protobuf/timestamp.proto",
        "regcast_demo/address.proto",
    ]


def test_text_schema_is_not_a_descriptor() -> None:
    assert _decode_descriptor('syntax = "proto3"; message A {}') is None
    assert _decode_descriptor(base64.b64encode(b"\xff\xff\xff").decode()) is None


@pytest.mark.parametrize(
    "path",
    [
        "google/protobuf/timestamp.proto",
        "google/type/date.proto",
        "confluent/meta.proto",
        "regcast_demo/address.proto",
        "google/other.proto",
    ],
)
def test_well_known_imports_match_confluent_kafka(path: str) -> None:
    assert is_well_known_import(path) == _is_builtin(path)
